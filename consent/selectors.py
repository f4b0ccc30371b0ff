"""Read selectors of the consent app.

The effective consent of (customer, purpose, channel) at a moment is the
latest ledger record (by effective start, then id) whose effective period
covers the moment. A ``reset`` record (written by ``consent_unmerge``) in
force means "no statement". An active ``ProcessingRestriction`` stops every
purpose that needs consent.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from profiles.models import Customer

from .choices import ConsentStatus, RequestStatus
from .models import (
    Channel,
    ConsentRecord,
    DataSubjectRequest,
    PrivacyNotice,
    ProcessingRestriction,
    Purpose,
)

# A consent expiring within this many days surfaces as a renewal prompt.
RENEWAL_WINDOW = datetime.timedelta(days=30)
OPEN_REQUEST_STATUSES = (RequestStatus.RECEIVED, RequestStatus.VERIFYING, RequestStatus.IN_PROGRESS)


def _covering(at: datetime.datetime) -> Q:
    return Q(effective_from__lte=at) & (Q(effective_until__isnull=True) | Q(effective_until__gt=at))


def consent_effective(
    *,
    customer: Customer,
    purpose: Purpose,
    channel: Channel,
    at: datetime.datetime | None = None,
) -> ConsentRecord | None:
    """The statement in force at ``at`` (default now), or None if there is none.

    That is the latest record (by effective start, then by id, so a later
    statement with the same start wins) whose effective period covers ``at``;
    a ``reset`` record in force (see ``consent_unmerge``) means none.
    """
    at = at or timezone.now()
    record = (
        ConsentRecord.objects.filter(customer=customer, purpose=purpose, channel=channel)
        .filter(_covering(at))
        .order_by("-effective_from", "-id")
        .first()
    )
    if record is None or record.status == ConsentStatus.RESET:
        return None
    return record


def restriction_active_q(at: datetime.datetime) -> Q:
    """Restrictions in force at ``at``."""
    return Q(active_from__lte=at) & (Q(lifted_at__isnull=True) | Q(lifted_at__gt=at))


def consent_decisions(
    *,
    customer_ids: Iterable[int],
    purpose: Purpose,
    channel: Channel,
    at: datetime.datetime | None = None,
) -> dict[int, bool]:
    """Whether ``purpose`` may use ``channel`` at ``at``, for each customer id.

    One query for the whole list (none when the purpose needs no consent): the
    latest covering ledger row per customer, via ``DISTINCT ON`` on
    PostgreSQL and a ``ROW_NUMBER()`` window elsewhere, both served by the
    ``consent_effective_lookup`` index, with an active processing restriction
    joined in as ``EXISTS``. A customer with no row, a non-granted row or an
    active restriction gets False.
    """
    ids = list(dict.fromkeys(customer_ids))
    if not purpose.requires_consent:
        return dict.fromkeys(ids, True)
    decisions = dict.fromkeys(ids, False)
    if not ids:
        return decisions
    at = at or timezone.now()
    rows = (
        ConsentRecord.objects.filter(customer_id__in=ids, purpose=purpose, channel=channel)
        .filter(_covering(at))
        .annotate(
            restricted=Exists(
                ProcessingRestriction.objects.filter(customer_id=OuterRef("customer_id")).filter(
                    restriction_active_q(at)
                )
            )
        )
    )
    if connection.vendor == "postgresql":
        latest = rows.order_by("customer_id", "-effective_from", "-id").distinct("customer_id")
    else:
        latest = rows.annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("customer_id")],
                order_by=[F("effective_from").desc(), F("id").desc()],
            )
        ).filter(rank=1)
    for customer_id, status, restricted in latest.values_list(
        "customer_id", "status", "restricted"
    ):
        decisions[customer_id] = status == ConsentStatus.GRANTED and not restricted
    return decisions


def consent_allows(
    *,
    customer: Customer,
    purpose: Purpose,
    channel: Channel,
    at: datetime.datetime | None = None,
) -> bool:
    """Whether ``purpose`` may use ``channel`` for this customer at ``at``.

    A purpose with another legal basis (contract, legal obligation) needs no
    consent; one that requires consent needs a granted statement in force and
    no active processing restriction. At most one query, and a prepared SQL
    statement rather than a compiled queryset: building the ORM query cost
    ten times the database's own work, and this check sits on every read
    path (same rules as ``consent_decisions``, tested to agree with it).
    """
    if not purpose.requires_consent:
        return True
    at = at or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_SINGLE_CHECK_SQL, [customer.pk, at, at, customer.pk, purpose.pk,
                                           channel.pk, at, at])  # fmt: skip
        row = cursor.fetchone()
    return row is not None and row[0] == ConsentStatus.GRANTED and not row[1]


_SINGLE_CHECK_SQL = f"""
    SELECT c.status, EXISTS (
        SELECT 1 FROM {ProcessingRestriction._meta.db_table} r
        WHERE r.customer_id = %s AND r.active_from <= %s
          AND (r.lifted_at IS NULL OR r.lifted_at > %s))
    FROM {ConsentRecord._meta.db_table} c
    WHERE c.customer_id = %s AND c.purpose_id = %s AND c.channel_id = %s
      AND c.effective_from <= %s AND (c.effective_until IS NULL OR c.effective_until > %s)
    ORDER BY c.effective_from DESC, c.id DESC
    LIMIT 1
"""  # noqa: S608 (table names from the models; values are parameters)


@dataclass(frozen=True, slots=True)
class ConsentTable:
    """One customer's consent decisions at a moment, for every purpose and channel.

    Built with one query by ``consent_table``; each ``allows`` is then a set
    lookup in process (microseconds), which suits the context card and the
    contact arbitration that ask about many (purpose, channel) pairs.
    """

    granted: frozenset[tuple[int, int]]
    restricted: bool

    def allows(self, purpose: Purpose, channel: Channel) -> bool:
        if not purpose.requires_consent:
            return True
        return not self.restricted and (purpose.pk, channel.pk) in self.granted


def consent_table(*, customer: Customer, at: datetime.datetime | None = None) -> ConsentTable:
    """Every decision of one customer at ``at`` (default now), in one query.

    Same rules as ``consent_decisions``: per (purpose, channel) the latest
    covering statement counts (``reset`` meaning none), and an active
    restriction stops every purpose that needs consent.
    """
    rows = _ledger_rows(
        customer, at or timezone.now(), "purpose_id", "channel_id", "status", "restricted"
    )
    return _table_of(rows)


def _ledger_rows(
    customer: Customer, at: datetime.datetime, *fields: str, **annotations: Any
) -> list[tuple[Any, ...]]:
    """``fields`` of one customer's ledger rows covering ``at``, each key's
    effective statement first; ``restricted`` says whether an active
    restriction covers the customer."""
    return list(
        ConsentRecord.objects.filter(customer=customer)
        .filter(_covering(at))
        .annotate(
            restricted=Exists(
                ProcessingRestriction.objects.filter(customer_id=customer.pk).filter(
                    restriction_active_q(at)
                )
            ),
            **annotations,
        )
        .order_by("purpose_id", "channel_id", "-effective_from", "-id")
        .values_list(*fields)
    )


def _table_of(rows: Iterable[tuple[int, int, str, bool]]) -> ConsentTable:
    """The table from covering ledger rows (purpose id, channel id, status,
    restricted), each key's effective statement first."""
    seen: set[tuple[int, int]] = set()
    granted: set[tuple[int, int]] = set()
    restricted = False
    for purpose_id, channel_id, status, is_restricted in rows:
        restricted = restricted or is_restricted
        key = (purpose_id, channel_id)
        if key in seen:
            continue
        seen.add(key)
        if status == ConsentStatus.GRANTED:
            granted.add(key)
    return ConsentTable(granted=frozenset(granted), restricted=restricted)


def processing_restricted(*, customer: Customer, at: datetime.datetime | None = None) -> bool:
    """Whether an active restriction of processing covers the customer at ``at``."""
    at = at or timezone.now()
    return (
        ProcessingRestriction.objects.filter(customer=customer)
        .filter(restriction_active_q(at))
        .exists()
    )


def consent_ledger(*, customer: Customer) -> QuerySet[ConsentRecord]:
    """Every statement of one customer, newest first, ready for a list."""
    return ConsentRecord.objects.filter(customer=customer).select_related(
        "purpose", "channel", "captured_via", "captured_by", "notice"
    )


def purposes_active() -> QuerySet[Purpose]:
    """Purposes consent may be recorded for."""
    return Purpose.objects.filter(is_active=True)


@dataclass(frozen=True, slots=True)
class RenewalDue:
    """A granted consent in force that needs renewing, and why."""

    customer_id: int
    purpose_code: str
    channel_code: str
    record_id: int
    effective_until: datetime.datetime | None
    expiring: bool
    notice_outdated: bool


def _newer_material_notice(purpose_ref: str, version_ref: str, code_ref: str) -> Exists:
    """A material-change notice for the record's purpose newer than the one it was given under."""
    return Exists(
        PrivacyNotice.objects.filter(
            purposes=OuterRef(purpose_ref),
            material_change=True,
            code=OuterRef(code_ref),
            version__gt=OuterRef(version_ref),
        )
    )


def consents_in_force(*, at: datetime.datetime) -> QuerySet[ConsentRecord]:
    """Ledger rows that are the effective statement of their key at ``at``.

    Set-based: a row covering ``at`` with no later-starting (or same start,
    higher id) row of the same key that also covers ``at``.
    """
    superseded = (
        ConsentRecord.objects.filter(
            customer_id=OuterRef("customer_id"),
            purpose_id=OuterRef("purpose_id"),
            channel_id=OuterRef("channel_id"),
        )
        .filter(_covering(at))
        .filter(
            Q(effective_from__gt=OuterRef("effective_from"))
            | Q(effective_from=OuterRef("effective_from"), id__gt=OuterRef("id"))
        )
    )
    return ConsentRecord.objects.filter(_covering(at)).exclude(Exists(superseded))


def consent_renewals_due_batch(
    *, customer_ids: Iterable[int], at: datetime.datetime | None = None
) -> dict[int, list[RenewalDue]]:
    """Renewal prompts for each customer id, in one query.

    A granted consent in force is due for renewal when it expires within 30
    days, or when it was given under a notice version older than a later
    material-change version of that notice covering its purpose. Derived on
    read, never stored.
    """
    ids = list(dict.fromkeys(customer_ids))
    at = at or timezone.now()
    result: dict[int, list[RenewalDue]] = {customer_id: [] for customer_id in ids}
    if not ids:
        return result
    rows = (
        consents_in_force(at=at)
        .filter(customer_id__in=ids, status=ConsentStatus.GRANTED)
        .annotate(
            notice_outdated=_newer_material_notice("purpose_id", "notice__version", "notice__code")
        )
        .filter(Q(effective_until__lte=at + RENEWAL_WINDOW) | Q(notice_outdated=True))
        .order_by("customer_id", "purpose__code", "channel__code")
        .values_list(
            "customer_id",
            "purpose__code",
            "channel__code",
            "id",
            "effective_until",
            "notice_outdated",
        )
    )
    for customer_id, purpose_code, channel_code, record_id, until, outdated in rows:
        result[customer_id].append(
            _renewal(customer_id, purpose_code, channel_code, record_id, until, outdated, at)
        )
    return result


def _renewal(
    customer_id: int,
    purpose_code: str,
    channel_code: str,
    record_id: int,
    until: datetime.datetime | None,
    outdated: bool | None,
    at: datetime.datetime,
) -> RenewalDue:
    return RenewalDue(
        customer_id=customer_id,
        purpose_code=purpose_code,
        channel_code=channel_code,
        record_id=record_id,
        effective_until=until,
        expiring=until is not None and until <= at + RENEWAL_WINDOW,
        notice_outdated=bool(outdated),
    )


def consent_renewals_due(
    *, customer: Customer, at: datetime.datetime | None = None
) -> list[RenewalDue]:
    """Renewal prompts of one customer (agent card, API); one query."""
    return consent_renewals_due_batch(customer_ids=[customer.pk], at=at)[customer.pk]


@dataclass(frozen=True, slots=True)
class ConsentOverview:
    """What the card's consent panel shows of one customer, read in three queries.

    ``purposes``: active purposes that need consent, by name; ``channels``:
    active channels, by name (``outbound`` are those a purpose may contact
    through); ``table`` and ``renewals`` are what ``consent_table`` and
    ``consent_renewals_due`` return, from one read of the ledger.
    """

    purposes: list[Purpose]
    channels: list[Channel]
    table: ConsentTable
    renewals: list[RenewalDue]

    @property
    def outbound(self) -> list[Channel]:
        return [channel for channel in self.channels if channel.is_outbound]


def consent_overview(*, customer: Customer, at: datetime.datetime | None = None) -> ConsentOverview:
    """Purposes, channels, decisions and renewal prompts of one customer at ``at``.

    Three queries whatever the ledger's length: the purposes, the channels,
    and the ledger rows covering ``at`` (with whether a newer material notice
    outdates each), from which both the table (same rules as
    ``consent_table``) and the renewals (same rules as
    ``consent_renewals_due``: the effective statement of a key, granted,
    expiring within the window or given under an outdated notice) are made.
    """
    at = at or timezone.now()
    purposes = list(Purpose.objects.filter(is_active=True, requires_consent=True).order_by("name"))
    channels = list(Channel.objects.filter(is_active=True).order_by("name"))
    rows = _ledger_rows(
        customer,
        at,
        "purpose_id",
        "channel_id",
        "status",
        "restricted",
        "id",
        "effective_until",
        "notice_outdated",
        "purpose__code",
        "channel__code",
        notice_outdated=_newer_material_notice("purpose_id", "notice__version", "notice__code"),
    )
    renewals: list[RenewalDue] = []
    seen: set[tuple[int, int]] = set()
    for purpose_id, channel_id, status, _, pk, until, outdated, purpose_code, channel_code in rows:
        if (purpose_id, channel_id) in seen:
            continue
        seen.add((purpose_id, channel_id))
        due = _renewal(customer.pk, purpose_code, channel_code, pk, until, outdated, at)
        if status == ConsentStatus.GRANTED and (due.expiring or due.notice_outdated):
            renewals.append(due)
    renewals.sort(key=lambda due: (due.purpose_code, due.channel_code))
    return ConsentOverview(
        purposes=purposes,
        channels=channels,
        table=_table_of(row[:4] for row in rows),
        renewals=renewals,
    )


def customer_identities(*, customer: Customer) -> list[Customer]:
    """The surviving customer of ``customer`` and every customer merged into it.

    Follows ``merged_into`` up to the survivor, then ``merged_from`` down
    level by level (one query per level of merge chain).
    """
    root = customer
    seen: set[int] = set()
    while root.merged_into_id is not None:
        if root.pk in seen:
            raise RuntimeError(f"merge chain of {customer.customer_number} loops")
        seen.add(root.pk)
        root = Customer.objects.get(pk=root.merged_into_id)
    identities = [root]
    frontier = [root.pk]
    while frontier:
        level = list(Customer.objects.filter(merged_into_id__in=frontier).order_by("pk"))
        identities.extend(level)
        frontier = [c.pk for c in level if c.pk not in seen]
        seen.update(frontier)
    return identities


def data_subject_requests_open() -> QuerySet[DataSubjectRequest]:
    """Requests not yet completed or rejected, most urgent first."""
    return DataSubjectRequest.objects.filter(status__in=OPEN_REQUEST_STATUSES).order_by("due_at")
