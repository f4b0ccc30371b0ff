"""Read selectors of the profiles app."""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser, Permission, User
from django.db.models import CharField, Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Cast
from django.utils import timezone
from guardian.models import GroupObjectPermission, UserObjectPermission

from governance.choices import GovernanceStatus
from governance.models import Lens

from .choices import (
    OPEN_CASE_STATUSES,
    CaseKind,
    CaseStatus,
    HouseholdRole,
    InteractionKind,
    Outcome,
    RelationshipKind,
)
from .models import (
    Case,
    Customer,
    Flag,
    Holding,
    HouseholdMembership,
    Interaction,
    Relationship,
    SourceRecord,
)
from .numbers import is_valid_customer_number

# Merges chain (A into B, later B into C); a longer chain than this means
# corrupt data, which must fail loudly rather than loop.
MAX_MERGE_CHAIN = 50

# Golden-record values a lens may show, by canonical field name: the card, the
# review queue and the partner context endpoint all choose from these.
LENS_ATTRIBUTES = (
    "given_name", "middle_name", "family_name", "date_of_birth", "email", "phone",
    "address_line1", "address_line2", "locality", "region", "postcode", "country", "language",
)  # fmt: skip


def customer_lens_data(customer: Customer) -> dict[str, object]:
    """The golden record's values a lens chooses from (``lens_project`` filters them)."""
    return {name: getattr(customer, name) for name in LENS_ATTRIBUTES}


def customer_get_by_number(number: str, *, fields: Sequence[str] = ()) -> Customer | None:
    """The customer a number stands for, following merges to the survivor.

    A number merged away keeps resolving: agents read old numbers from letters
    and cards. Returns None for an unknown or malformed number. With ``fields``
    only those columns are loaded (hot paths such as the partner API).
    """
    number = number.strip().upper()
    if not is_valid_customer_number(number):
        return None
    customers = Customer.objects.only("merged_into", *fields) if fields else Customer.objects
    customer = customers.filter(customer_number=number).first()
    seen: set[int] = set()
    while customer is not None and customer.merged_into_id is not None:
        seen.add(customer.pk)
        if len(seen) > MAX_MERGE_CHAIN or customer.merged_into_id in seen:
            raise RuntimeError(f"merge chain of {number} does not end in a survivor")
        customer = customers.get(pk=customer.merged_into_id)
    return customer


def source_record_identities() -> Iterator[tuple[str, str, str]]:
    """(system code, source key, customer number) of every source record.

    The contract by which matching quality is measured from outside: a record
    of a merged-away customer reports the survivor's number (merges move
    records, and any straggler is followed to its survivor); an unresolved
    record reports an empty number.
    """
    survivors: dict[int, str] = {}

    def survivor_number(customer: Customer) -> str:
        if customer.merged_into_id is None:
            return customer.customer_number
        if customer.pk not in survivors:
            resolved = customer_get_by_number(customer.customer_number)
            survivors[customer.pk] = resolved.customer_number if resolved else ""
        return survivors[customer.pk]

    records = (
        SourceRecord.objects.select_related("source_system", "customer")
        .order_by("source_system__code", "source_key")
        .only(
            "source_key",
            "source_system__code",
            "customer__customer_number",
            "customer__merged_into",
        )
    )
    for record in records.iterator(chunk_size=5000):
        number = survivor_number(record.customer) if record.customer is not None else ""
        yield record.source_system.code, record.source_key, number


# --- agent screens: visibility, the context card and its timeline (issue 6) ----------


def customer_list(*, user: User | AnonymousUser) -> QuerySet[Customer]:
    """Surviving customers ``user`` may see, as one lazy query (no permission look-ups first).

    Needs the ``profiles.view_customer`` permission (directly or through a
    group). Restricted customers (employees, protected persons) only with that
    permission on the object (django-guardian, granted by
    ``restricted_access_grant``), or for superusers. The checks are
    ``EXISTS`` subqueries of the customer query itself, so a screen pays one
    query for "may see it, and here it is", and an invisible customer is
    indistinguishable from a missing one (404, never 403).
    """
    if not user.is_authenticated or not user.is_active:
        return Customer.objects.none()
    customers = Customer.objects.filter(merged_into__isnull=True)
    if user.is_superuser:
        return customers
    view = Permission.objects.filter(content_type__app_label="profiles", codename="view_customer")
    may_view = view.filter(Q(user=user) | Q(group__user=user))
    object_pk = Cast(OuterRef("pk"), output_field=CharField())
    granted = Exists(
        UserObjectPermission.objects.filter(user=user, permission__in=view, object_pk=object_pk)
    ) | Exists(
        GroupObjectPermission.objects.filter(
            group__user=user, permission__in=view, object_pk=object_pk
        )
    )
    return customers.filter(Exists(may_view)).filter(Q(is_restricted=False) | granted)


def lenses_for_user(*, user: User | AnonymousUser) -> QuerySet[Lens]:
    """Approved lenses (purposes of a call) one of the user's groups may use."""
    if not user.is_authenticated:
        return Lens.objects.none()
    return (
        Lens.objects.filter(status=GovernanceStatus.APPROVED, roles__user=user)
        .select_related("purpose")
        .distinct()
        .order_by("name")
    )


@dataclass(frozen=True, slots=True)
class Related:
    """A household member or linked customer as the card lists them.

    A restricted profile is named only by its relation, never by name or number.
    """

    customer_number: str
    name: str
    relation: str
    household: str
    restricted: bool


# Relationships whose label does not read as "this customer is <label> them".
_OUTGOING_RELATION = {
    RelationshipKind.SPOUSE: "Spouse",
    RelationshipKind.REFERRER: "Referred by this customer",
}


def customer_people(*, customer: Customer) -> tuple[str, list[Related]]:
    """The customer's current household (label) and the people around them, one query.

    One ``UNION ALL`` of the household's current members and the current
    relationships in both directions.
    """
    households = HouseholdMembership.objects.filter(
        customer=customer, valid_to__isnull=True
    ).values("household_id")
    members = (
        HouseholdMembership.objects.filter(household_id__in=households, valid_to__isnull=True)
        .order_by()
        .values_list(
            "customer_id",
            "customer__customer_number",
            "customer__given_name",
            "customer__family_name",
            "customer__is_restricted",
            "role",
            "household__label",
            Value("household"),
        )
    )
    outgoing = (
        Relationship.objects.filter(from_customer=customer, valid_to__isnull=True)
        .order_by()
        .values_list(
            "to_customer_id",
            "to_customer__customer_number",
            "to_customer__given_name",
            "to_customer__family_name",
            "to_customer__is_restricted",
            "kind",
            Value(""),
            Value("out"),
        )
    )
    incoming = (
        Relationship.objects.filter(to_customer=customer, valid_to__isnull=True)
        .order_by()
        .values_list(
            "from_customer_id",
            "from_customer__customer_number",
            "from_customer__given_name",
            "from_customer__family_name",
            "from_customer__is_restricted",
            "kind",
            Value(""),
            Value("in"),
        )
    )
    household_label = ""
    people: list[Related] = []
    roles = dict(HouseholdRole.choices)
    kinds = dict(RelationshipKind.choices)
    for pk, number, given, family, restricted, code, label, source in members.union(
        outgoing, incoming, all=True
    ).order_by():
        if source == "household":
            household_label = household_label or label
            if pk == customer.pk:
                continue
            relation = f"{roles.get(code, code)} (household)"
        elif source == "out":
            # Read from this customer's side: "Spouse", "Referred by this customer",
            # "this customer is guarantor for them".
            relation = _OUTGOING_RELATION.get(code) or (
                f"this customer is {kinds.get(code, code).lower()} them"
            )
        else:
            relation = kinds.get(code, code)
        people.append(
            Related(
                customer_number="" if restricted else number,
                name="Restricted profile" if restricted else f"{given} {family}".strip(),
                relation=relation,
                household=label,
                restricted=restricted,
            )
        )
    return household_label, people


@dataclass(frozen=True, slots=True)
class ActivityItem:
    """An open case or a recent order, delivery or return, for "current activity"."""

    at: datetime.datetime
    source: str
    kind: str
    silo: str
    title: str
    status: str
    reference: str


ACTIVITY_KINDS = (InteractionKind.ORDER, InteractionKind.DELIVERY, InteractionKind.RETURN)
ACTIVITY_WINDOW = datetime.timedelta(days=90)
ACTIVITY_LIMIT = 12


def customer_activity(
    *, customer: Customer, at: datetime.datetime | None = None
) -> list[ActivityItem]:
    """Open cases and complaints, and orders, deliveries and returns of the last
    90 days, newest first, in one ``UNION ALL`` query."""
    at = at or timezone.now()
    cases = (
        Case.objects.filter(customer=customer, status__in=OPEN_CASE_STATUSES)
        .order_by()
        .values_list(
            "opened_at", Value("case"), "kind", "silo__name", "subject", "status", "reference"
        )
    )
    recent = (
        Interaction.objects.filter(
            customer=customer, kind__in=ACTIVITY_KINDS, occurred_at__gte=at - ACTIVITY_WINDOW
        )
        .order_by()
        .values_list(
            "occurred_at",
            Value("interaction"),
            "kind",
            "silo__name",
            "summary",
            "outcome",
            "reference",
        )
    )
    labels = {**dict(CaseKind.choices), **dict(InteractionKind.choices)}
    statuses = {**dict(CaseStatus.choices), **dict(Outcome.choices)}
    rows = cases.union(recent, all=True).order_by("-opened_at")[:ACTIVITY_LIMIT]
    return [
        ActivityItem(
            at=when,
            source=source,
            kind=labels.get(kind, kind),
            silo=silo,
            title=title,
            status=statuses.get(status, status),
            reference=reference,
        )
        for when, source, kind, silo, title, status, reference in rows
    ]


def customer_holdings(*, customer: Customer) -> list[Holding]:
    """Products and services held, current first (value section)."""
    return list(
        Holding.objects.filter(customer=customer)
        .select_related("source_system")
        .order_by("end_date", "-start_date")
    )


def customer_flags(*, customer: Customer) -> list[Flag]:
    """The customer's current flags with their reasons, highest score first."""
    return list(Flag.objects.filter(customer=customer).order_by("-score", "kind"))


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One line of the cross-silo timeline: an interaction or a case."""

    at: datetime.datetime
    source: str
    kind: str
    silo: str
    channel: str
    title: str
    status: str
    reference: str


TIMELINE_PAGE = 20


def customer_timeline(
    *,
    customer: Customer,
    silo: str = "",
    channel: str = "",
    kind: str = "",
    page: int = 1,
    per_page: int = TIMELINE_PAGE,
) -> tuple[list[TimelineEntry], bool]:
    """One page of the customer's interactions and cases across every silo and
    channel, newest first, and whether there is an older page.

    One query whatever the history's length: a ``UNION ALL`` of both, limited
    to one row more than the page (no count). Filters are codes: a silo, a
    channel (cases have none, so a channel filter shows interactions only),
    an interaction or case kind.
    """
    page = max(page, 1)
    interactions = Interaction.objects.filter(customer=customer).order_by()
    cases = Case.objects.filter(customer=customer).order_by()
    if silo:
        interactions = interactions.filter(silo__code=silo)
        cases = cases.filter(silo__code=silo)
    if kind:
        interactions = interactions.filter(kind=kind)
        cases = cases.filter(kind=kind)
    if channel:
        interactions = interactions.filter(channel__code=channel)
    rows_of_interactions: QuerySet[Any] = interactions.values_list(
        "occurred_at",
        Value("interaction"),
        "kind",
        "silo__name",
        "channel__name",
        "summary",
        "outcome",
        "reference",
    )
    # Cases have no channel: a channel filter shows interactions only.
    combined = rows_of_interactions
    if not channel:
        combined = rows_of_interactions.union(
            cases.values_list(
                "opened_at",
                Value("case"),
                "kind",
                "silo__name",
                Value(""),
                "subject",
                "status",
                "reference",
            ),
            all=True,
        )
    start = (page - 1) * per_page
    rows = list(combined.order_by("-occurred_at")[start : start + per_page + 1])
    labels = {**dict(CaseKind.choices), **dict(InteractionKind.choices)}
    statuses = {**dict(CaseStatus.choices), **dict(Outcome.choices)}
    entries = [
        TimelineEntry(
            at=when,
            source=source,
            kind=labels.get(code, code),
            silo=silo_name,
            channel=channel_name or "",
            title=title or "",
            status=statuses.get(status, status or ""),
            reference=reference or "",
        )
        for when, source, code, silo_name, channel_name, title, status, reference in rows[:per_page]
    ]
    return entries, len(rows) > per_page
