"""Householding: grouping customers who live together, without merging them.

Governed rules (``HOUSEHOLD_RULES``): customers at the same normalized address
(postcode and street line) with the same family name, or sharing a phone
number, belong together; the groups are the connected components of those
links. ``households_update`` makes the stored households match the groups:

* a group keeps the household most of its members already share (so ids,
  and what people saw yesterday, stay stable), or gets a new one;
* members who left a group have their membership ended (``valid_to``), never
  deleted, so history shows who lived where when;
* households whose ``address_key`` is blank were made by a person and are not
  touched.

Privacy: the label holds only what every member has in common (the shared
family name, the shared locality), so nobody learns another member's details
from it; a household of people with different family names is labelled
"Household <number>". Idempotent: a second run changes nothing.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from customer360.choices import AuditEventType
from customer360.services import (
    Actor,
    audit_event_record,
    change_reason,
    model_bulk_update,
    model_save,
)

from ..choices import HouseholdRole
from ..models import Customer, Household, HouseholdMembership, ResolutionRun
from .choices import RunKind, RunStatus
from .normalize import (
    clean_text,
    normalize_address_line,
    normalize_family_name,
    normalize_postcode,
)
from .runs import run_open

HOUSEHOLD_RULES = ("same address and family name", "shared phone")
MAX_HOUSEHOLD_SIZE = 12  # a larger component is a shared switchboard, not a family


@dataclass(frozen=True, slots=True)
class _Person:
    pk: int
    family: str
    family_display: str
    address_key: str
    locality: str
    phone: str


def _people() -> list[_Person]:
    rows = Customer.objects.filter(merged_into__isnull=True).values_list(
        "pk", "family_name", "address_line1", "postcode", "locality", "phone"
    )
    people = []
    for pk, family, line1, postcode, locality, phone in rows.iterator(chunk_size=5000):
        address = normalize_address_line(line1) if line1 else ""
        code = normalize_postcode(postcode) if postcode else ""
        people.append(
            _Person(
                pk=pk,
                family=normalize_family_name(family) if family else "",
                family_display=family,
                address_key=f"{code}|{address}" if code and address else "",
                locality=clean_text(locality) if locality else "",
                phone=phone,
            )
        )
    return people


def household_groups(people: list[_Person]) -> list[list[_Person]]:
    """Connected components (two or more people) of the household rules."""
    parent = {p.pk: p.pk for p in people}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    links: dict[str, list[int]] = defaultdict(list)
    for person in people:
        if person.address_key and person.family:
            links[f"a:{person.address_key}|{person.family}"].append(person.pk)
        if person.phone:
            links[f"p:{person.phone}"].append(person.pk)
    for members in links.values():
        if len(members) > MAX_HOUSEHOLD_SIZE:
            continue
        root = find(members[0])
        for other in members[1:]:
            other_root = find(other)
            if other_root != root:
                parent[other_root] = root
    components: dict[int, list[_Person]] = defaultdict(list)
    for person in people:
        components[find(person.pk)].append(person)
    return [
        sorted(group, key=lambda p: p.pk)
        for group in components.values()
        if 2 <= len(group) <= MAX_HOUSEHOLD_SIZE
    ]


def _key_of(group: list[_Person]) -> str:
    if any(p.address_key for p in group):
        return Counter(p.address_key for p in group if p.address_key).most_common(1)[0][0]
    # A phone-only household: a digest, so the number itself is not repeated here.
    digest = hashlib.sha256(min(p.phone for p in group).encode()).hexdigest()[:16]
    return f"phone:{digest}"


def household_label(group: list[_Person]) -> str:
    """Only what all members share: their family name and locality, when common;
    empty when they share neither (the caller labels it by number)."""
    families = {p.family for p in group}
    localities = {p.locality for p in group}
    if len(families) == 1 and "" not in families:
        label = f"{group[0].family_display} household"
        if len(localities) == 1 and "" not in localities:
            label += f", {next(iter(localities)).title()}"
        return label
    return ""


@transaction.atomic
def households_update(*, actor: Actor, reason: str) -> ResolutionRun:
    """Bring the rule-made households in line with the rules; audited, idempotent."""
    run = run_open(kind=RunKind.HOUSEHOLDS, actor=actor, reason=reason)
    today = timezone.localdate()
    people = _people()
    groups = household_groups(people)

    current: dict[int, list[HouseholdMembership]] = defaultdict(list)
    memberships = HouseholdMembership.objects.filter(
        valid_to__isnull=True, household__address_key__gt=""
    ).select_related("household")
    for membership in memberships:
        current[membership.household_id].append(membership)
    household_of: dict[int, set[int]] = defaultdict(set)
    for household_id, rows in current.items():
        for row in rows:
            household_of[row.customer_id].add(household_id)

    created = added = ended = relabelled = 0
    taken: set[int] = set()
    to_add: list[HouseholdMembership] = []
    to_end: list[HouseholdMembership] = []
    for group in groups:
        pks = {p.pk for p in group}
        shares = Counter(h for pk in pks for h in household_of.get(pk, ()) if h not in taken)
        label = household_label(group)
        household: Household
        if shares:
            household_id = min(shares, key=lambda h: (-shares[h], h))
            household = Household.objects.get(pk=household_id)
        else:
            # Labelled by its number below when the members share nothing to show.
            household = Household(label=label or "Household", address_key=_key_of(group)[:200])
            model_save(household, actor=actor, reason=reason)
            created += 1
        # Nothing in common to show: the household's own number tells them apart.
        wanted = label or f"Household {household.pk}"
        if household.label != wanted:
            household.label = wanted
            model_save(household, actor=actor, reason=reason)
            relabelled += 1 if shares else 0
        taken.add(household.pk)
        present = {m.customer_id for m in current.get(household.pk, [])}
        for pk in sorted(pks - present):
            to_add.append(
                HouseholdMembership(
                    household=household, customer_id=pk, role=HouseholdRole.MEMBER, valid_from=today
                )
            )
        to_end += [m for m in current.get(household.pk, []) if m.customer_id not in pks]
    for household_id, rows in current.items():
        if household_id not in taken:
            to_end += rows  # the group dissolved
    for row in to_end:
        row.valid_to = max(today, row.valid_from)
    model_bulk_update(to_end, fields=["valid_to"], actor=actor, reason=reason)
    ended = len(to_end)
    for row in to_add:
        row.full_clean(exclude=["household", "customer"])
    bulk_create_with_history(
        to_add,
        HouseholdMembership,
        batch_size=500,
        default_user=actor.user,
        default_change_reason=change_reason(actor, reason),
    )
    added = len(to_add)

    run.status = RunStatus.DONE
    run.finished_at = timezone.now()
    run.records_total = run.records_done = len(people)
    run.message = (
        f"{len(groups)} household(s) from {len(people)} customer(s): {created} created, "
        f"{relabelled} relabelled, {added} membership(s) added, {ended} ended."
    )
    run.save(update_fields=["status", "finished_at", "records_total", "records_done", "message"])
    audit_event_record(
        event_type=AuditEventType.HOUSEHOLDS_UPDATED,
        actor=actor,
        subject=run,
        reason=reason,
        new={
            "rules": list(HOUSEHOLD_RULES),
            "households": len(groups),
            "created": created,
            "relabelled": relabelled,
            "memberships_added": added,
            "memberships_ended": ended,
        },
    )
    return run
