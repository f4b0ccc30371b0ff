"""Merging two customers and undoing it exactly.

``customer_merge`` moves every row of the merged customer to the survivor
(source records, interactions, holdings, cases, outbound actions, household
memberships, relationships, flags), combines consent most-restrictive-wins
(``consent.services.consent_merge``), re-derives the survivor's golden record
and marks the merged customer ``merged_into`` the survivor, so its number
keeps resolving. A ``MergeEvent`` keeps who or what decided, the match
explanation and a snapshot: both customers' values and lineage, the ids of
the rows that were the merged customer's, and the rows that had to be ended
(a relationship between the two; a second membership of one household).

``customer_unmerge`` restores both from that snapshot, sends back every row
that was the merged customer's and every row that arrived since through one
of its source records, restores consent (``consent_unmerge``) and remembers
the pair as not a match.

Both lock the two customers in primary-key order, so two merges touching the
same customers queue instead of deadlocking.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from customer360.choices import AuditEventType, DomainEventType
from customer360.services import (
    Actor,
    audit_event_record,
    event_publish,
    model_bulk_update,
    model_save,
)

from ..choices import LifecycleStatus
from ..models import (
    Case,
    Customer,
    Flag,
    Holding,
    HouseholdMembership,
    Interaction,
    MatchCandidate,
    MergeEvent,
    NotAMatch,
    OutboundAction,
    Relationship,
    SourceRecord,
)
from .choices import OPEN_CANDIDATE_STATUSES, CandidateStatus
from .matching import customer_golden_refresh

# (model, foreign key to Customer) of every row that follows its customer.
MOVED: tuple[tuple[type[models.Model], str], ...] = (
    (SourceRecord, "customer"),
    (Interaction, "customer"),
    (Holding, "customer"),
    (Case, "customer"),
    (OutboundAction, "customer"),
    (HouseholdMembership, "customer"),
    (Relationship, "from_customer"),
    (Relationship, "to_customer"),
)
# Rows that name their source record: those arriving after a merge go back with it.
BY_SOURCE_RECORD: tuple[type[models.Model], ...] = (Interaction, Holding, Case)
SKIPPED_STATE = {"id", "created_at", "updated_at", "customer_number"}
FLAG_FIELDS = ("kind", "score", "label", "reason", "details", "computed_at", "definition_version")


def _key(model: type[models.Model], field: str) -> str:
    return f"{model._meta.label_lower}:{field}"


def customer_state(customer: Customer) -> dict[str, Any]:
    """A customer's stored values as JSON (what a snapshot keeps and unmerge restores)."""
    state: dict[str, Any] = {}
    for field in Customer._meta.concrete_fields:
        if field.name in SKIPPED_STATE:
            continue
        value = getattr(customer, field.attname)
        if isinstance(value, (datetime.date, datetime.datetime)):
            value = value.isoformat()
        state[field.attname] = value
    return state


def _state_apply(customer: Customer, state: dict[str, Any]) -> None:
    for field in Customer._meta.concrete_fields:
        if field.attname in state:
            setattr(customer, field.attname, field.to_python(state[field.attname]))


def _survivor_of(customer: Customer) -> Customer:
    """The customer ``customer`` stands for now: itself, or the end of its merge chain."""
    from ..selectors import customer_get_by_number

    current = customer_get_by_number(customer.customer_number)
    if current is None:  # pragma: no cover - a customer's own number always resolves
        raise ValidationError(f"{customer.customer_number} does not exist.")
    return current


def _lock_survivors(first: Customer, second: Customer) -> tuple[Customer, Customer]:
    """The two customers' current survivors, locked in primary-key order.

    A customer merged away since the merge was asked for (a candidate whose
    customer was absorbed by another merge) stands for its survivor, so a
    chain of merges goes through. Retried when a merge moves one of them
    between reading the chain and taking the lock.
    """
    for _attempt in range(5):
        survivor, merged = _lock_pair(_survivor_of(first), _survivor_of(second))
        if survivor.merged_into_id is None and merged.merged_into_id is None:
            return survivor, merged
    raise ValidationError("The customers keep being merged meanwhile; try again.")


def _lock_pair(first: Customer, second: Customer) -> tuple[Customer, Customer]:
    locked = {
        c.pk: c
        for c in Customer.objects.select_for_update()
        .filter(pk__in=[first.pk, second.pk])
        .order_by("pk")
    }
    return locked[first.pk], locked[second.pk]


def _repoint(rows: list[Any], field: str, to: Customer, actor: Actor, reason: str) -> None:
    for row in rows:
        setattr(row, field, to)
    model_bulk_update(rows, fields=[field], actor=actor, reason=reason)


def _end_rows(rows: list[Any], actor: Actor, reason: str) -> None:
    """End current rows that would clash once re-pointed (valid_to: today)."""
    today = timezone.localdate()
    for row in rows:
        row.valid_to = max(today, row.valid_from)
    model_bulk_update(rows, fields=["valid_to"], actor=actor, reason=reason)


@transaction.atomic
def customer_merge(
    *,
    survivor: Customer,
    merged: Customer,
    actor: Actor,
    reason: str,
    candidate: MatchCandidate | None = None,
) -> MergeEvent:
    """Merge ``merged`` into ``survivor``; returns the merge event.

    A customer merged away since stands for its survivor (merges chain:
    B into A, then A into C, or C into A, whichever was asked). Refused with
    a ``ValidationError`` for a customer merged with itself, or two that are
    one customer already.
    """
    from consent.services import consent_merge

    if survivor.pk == merged.pk:
        raise ValidationError("A customer cannot be merged with itself.")
    asked = (survivor.customer_number, merged.customer_number)
    survivor, merged = _lock_survivors(survivor, merged)
    if survivor.pk == merged.pk:
        raise ValidationError(
            f"{asked[1]} was already merged into {survivor.customer_number}: "
            f"{asked[0]} and {asked[1]} are one customer."
        )
    today = timezone.localdate()

    rows: dict[str, list[int]] = {}
    for model, field in MOVED:
        rows[_key(model, field)] = list(
            model._default_manager.filter(**{field: merged})
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    # Rows that would clash once re-pointed are ended first (and restored on unmerge).
    ended: dict[str, dict[str, str | None]] = {"relationship": {}, "householdmembership": {}}
    current_rel = Relationship.objects.filter(valid_to__isnull=True)
    clashing_relationships = list(
        current_rel.filter(from_customer=merged, to_customer=survivor)
        | current_rel.filter(from_customer=survivor, to_customer=merged)
    )
    survivor_links = set(
        current_rel.filter(from_customer=survivor).values_list("to_customer_id", "kind")
    )
    survivor_links_in = set(
        current_rel.filter(to_customer=survivor).values_list("from_customer_id", "kind")
    )
    clashing_relationships += [
        r
        for r in current_rel.filter(from_customer=merged).exclude(to_customer=survivor)
        if (r.to_customer_id, r.kind) in survivor_links
    ] + [
        r
        for r in current_rel.filter(to_customer=merged).exclude(from_customer=survivor)
        if (r.from_customer_id, r.kind) in survivor_links_in
    ]
    survivor_households = set(
        HouseholdMembership.objects.filter(customer=survivor, valid_to__isnull=True).values_list(
            "household_id", flat=True
        )
    )
    clashing_memberships = list(
        HouseholdMembership.objects.filter(
            customer=merged, valid_to__isnull=True, household_id__in=survivor_households
        )
    )
    for relationship in clashing_relationships:
        ended["relationship"][str(relationship.pk)] = None
    for membership in clashing_memberships:
        ended["householdmembership"][str(membership.pk)] = None
    survivor_kinds = set(Flag.objects.filter(customer=survivor).values_list("kind", flat=True))
    flags = list(Flag.objects.filter(customer=merged).order_by("pk"))
    snapshot = {
        "survivor": customer_state(survivor),
        "merged": customer_state(merged),
        "survivor_records": list(
            SourceRecord.objects.filter(customer=survivor)
            .order_by("pk")
            .values_list("pk", flat=True)
        ),
        "merged_records": rows[_key(SourceRecord, "customer")],
        "rows": rows,
        "ended": ended,
        "flags": [
            {
                "id": f.pk,
                **{
                    name: (v.isoformat() if isinstance(v, datetime.datetime) else v)
                    for name in FLAG_FIELDS
                    for v in [getattr(f, name)]
                },
            }
            for f in flags
        ],
    }
    event = MergeEvent(
        survivor=survivor,
        merged=merged,
        candidate=candidate,
        actor=actor.user,
        actor_label=actor.label,
        reason=reason,
        probability=candidate.probability if candidate else None,
        model_version=candidate.model_version if candidate else None,
        explanation=candidate.explanation if candidate else [],
        snapshot=snapshot,
    )
    event.full_clean(exclude=["survivor", "merged", "candidate", "actor", "undone_by"])
    event.save()

    _end_rows(clashing_relationships, actor, reason)
    _end_rows(clashing_memberships, actor, reason)
    self_links = {
        r.pk
        for r in clashing_relationships
        if {r.from_customer_id, r.to_customer_id} == {survivor.pk, merged.pk}
    }
    for model, field in MOVED:
        moving = list(
            model._default_manager.filter(**{field: merged}).exclude(
                pk__in=self_links if model is Relationship else []
            )
        )
        _repoint(moving, field, survivor, actor, reason)
    Flag.objects.filter(customer=merged).exclude(kind__in=survivor_kinds).update(customer=survivor)
    Flag.objects.filter(customer=merged).delete()  # derived: the survivor's own flag stands

    consent_merge(
        survivor=survivor,
        merged=merged,
        actor=actor,
        reason=reason,
        merge_reference=str(event.reference),
    )
    merged.merged_into = survivor
    merged.merged_at = timezone.now()
    merged.lifecycle_status = LifecycleStatus.MERGED
    model_save(merged, actor=actor, reason=reason)
    customer_golden_refresh(customer=survivor, actor=actor, reason=reason)

    if candidate is not None:
        candidate = MatchCandidate.objects.select_for_update().get(pk=candidate.pk)
        candidate.status = CandidateStatus.MERGED
        candidate.decided_by = actor.user
        candidate.decided_at = timezone.now()
        candidate.decision_reason = reason
        model_save(candidate, actor=actor, reason=reason)
    for stale in MatchCandidate.objects.filter(status__in=OPEN_CANDIDATE_STATUSES).filter(
        models.Q(customer_a=merged) | models.Q(customer_b=merged)
    ):
        stale.status = CandidateStatus.SUPERSEDED
        model_save(stale, actor=actor, reason=f"{merged.customer_number} was merged")
    audit_event_record(
        event_type=AuditEventType.CUSTOMER_MERGED,
        actor=actor,
        subject=survivor,
        reason=reason,
        old={"merged_number": merged.customer_number},
        new={
            "merge_event": event.pk,
            "survivor_number": survivor.customer_number,
            "probability": event.probability,
            "model_version": event.model_version,
            "explanation": event.explanation,
            "moved": {key: len(ids) for key, ids in rows.items()},
            "asked": list(asked),
            "today": today.isoformat(),
        },
        customer_number=survivor.customer_number,
    )
    # Partners keyed on the merged number learn where it went (numbers only).
    event_publish(
        event_type=DomainEventType.CUSTOMER_MERGED,
        customer_number=survivor.customer_number,
        payload={
            "survivor": survivor.customer_number,
            "merged": merged.customer_number,
            "merge_event": str(event.reference),
        },
    )
    return event


@transaction.atomic
def customer_unmerge(*, merge_event: MergeEvent, actor: Actor, reason: str) -> MergeEvent:
    """Undo a merge: both customers as they were, every row of the split-off
    customer's back with it, consent restored, the pair remembered as not a match.

    Merges are undone latest first, so each is undone exactly: refused when
    the merge was undone already, when the survivor has since been merged
    into a third customer, or when another customer was merged into the
    survivor after this merge (the message names the merge to undo first).
    """
    from consent.services import consent_unmerge

    event = MergeEvent.objects.select_for_update().get(pk=merge_event.pk)
    if event.undone_at is not None:
        raise ValidationError("This merge was undone already.")
    survivor, split_off = _lock_pair(event.survivor, event.merged)
    if survivor.merged_into_id is not None:
        raise ValidationError(
            f"{survivor.customer_number} was itself merged into "
            f"{_survivor_of(survivor).customer_number} since; undo that merge first."
        )
    later = (
        MergeEvent.objects.filter(survivor=survivor, undone_at__isnull=True, pk__gt=event.pk)
        .select_related("merged")
        .order_by("-pk")
        .first()
    )
    if later is not None:
        raise ValidationError(
            f"{later.merged.customer_number} was merged into {survivor.customer_number} after "
            f"this merge (merge {later.reference}); undo that merge first, so that each is "
            "undone exactly."
        )
    if split_off.merged_into_id != survivor.pk:
        raise ValidationError(f"{split_off.customer_number} is not merged into the survivor.")
    snapshot = event.snapshot
    merged_records = set(snapshot["merged_records"])

    for model, field in MOVED:
        ids = set(snapshot["rows"].get(_key(model, field), []))
        condition = models.Q(pk__in=ids)
        if model is SourceRecord:
            condition = models.Q(pk__in=merged_records)
        elif model in BY_SOURCE_RECORD:
            condition |= models.Q(source_record_id__in=merged_records)
        moving = list(model._default_manager.filter(condition, **{field: survivor}))
        _repoint(moving, field, split_off, actor, reason)
    for name, model in (
        ("relationship", Relationship),
        ("householdmembership", HouseholdMembership),
    ):
        ended = snapshot["ended"].get(name, {})
        rows: list[Any] = list(model._default_manager.filter(pk__in=[int(pk) for pk in ended]))
        for row in rows:
            value = ended[str(row.pk)]
            row.valid_to = datetime.date.fromisoformat(value) if value else None
        model_bulk_update(rows, fields=["valid_to"], actor=actor, reason=reason)
    for flag in snapshot["flags"]:
        values = {name: flag[name] for name in FLAG_FIELDS}
        values["computed_at"] = datetime.datetime.fromisoformat(values["computed_at"])
        existing = Flag.objects.filter(pk=flag["id"]).first()
        if existing is not None:
            Flag.objects.filter(pk=flag["id"]).update(customer=split_off, **values)
        else:
            Flag.objects.filter(customer=split_off, kind=values["kind"]).delete()
            Flag.objects.create(id=flag["id"], customer=split_off, **values)

    consent_unmerge(
        survivor=survivor,
        split_off=split_off,
        actor=actor,
        reason=reason,
        merge_reference=str(event.reference),
    )
    _state_apply(split_off, snapshot["merged"])
    model_save(split_off, actor=actor, reason=reason)
    current_records = set(
        SourceRecord.objects.filter(customer=survivor).values_list("pk", flat=True)
    )
    changed_since = SourceRecord.objects.filter(
        customer=survivor, received_at__gt=event.created_at
    ).exists()
    if changed_since or current_records != set(snapshot["survivor_records"]):
        # Things happened to the survivor since: derive its values afresh.
        customer_golden_refresh(customer=survivor, actor=actor, reason=reason)
    else:
        _state_apply(survivor, snapshot["survivor"])
        model_save(survivor, actor=actor, reason=reason)

    event.undone_at = timezone.now()
    event.undone_by = actor.user
    event.undone_label = actor.label
    event.undo_reason = reason
    event.save(update_fields=["undone_at", "undone_by", "undone_label", "undo_reason"])
    not_a_match_record(
        left=sorted(merged_records), right=sorted(current_records), actor=actor, reason=reason
    )
    if event.candidate_id is not None:
        candidate = MatchCandidate.objects.select_for_update().get(pk=event.candidate_id)
        candidate.status = CandidateStatus.NOT_A_MATCH
        candidate.decided_by = actor.user
        candidate.decided_at = timezone.now()
        candidate.decision_reason = reason
        model_save(candidate, actor=actor, reason=reason)
    audit_event_record(
        event_type=AuditEventType.CUSTOMER_UNMERGED,
        actor=actor,
        subject=survivor,
        reason=reason,
        old={"merge_event": event.pk, "survivor_number": survivor.customer_number},
        new={"split_off_number": split_off.customer_number},
        customer_number=survivor.customer_number,
    )
    event_publish(
        event_type=DomainEventType.CUSTOMER_UNMERGED,
        customer_number=survivor.customer_number,
        payload={
            "survivor": survivor.customer_number,
            "merged": split_off.customer_number,
            "merge_event": str(event.reference),
        },
    )
    return event


def not_a_match_record(*, left: list[int], right: list[int], actor: Actor, reason: str) -> int:
    """Remember every pair of records between two sets as not a match; returns new pairs."""
    pairs = {(min(a, b), max(a, b)) for a in left for b in right if a != b}
    if not pairs:
        return 0
    existing = set(
        NotAMatch.objects.filter(
            record_a_id__in={a for a, _ in pairs}, record_b_id__in={b for _, b in pairs}
        ).values_list("record_a_id", "record_b_id")
    )
    new = [
        NotAMatch(
            record_a_id=a,
            record_b_id=b,
            decided_by=actor.user,
            actor_label=actor.label,
            reason=reason,
        )
        for a, b in sorted(pairs - existing)
    ]
    NotAMatch.objects.bulk_create(new)
    return len(new)
