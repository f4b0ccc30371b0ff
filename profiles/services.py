"""Write services of the profiles app.

Every change to a customer goes through here, so that it is validated, locked,
recorded in the row history (actor and reason) and, where it means something to
the business, in the audit log.
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from customer360.choices import AuditEventType
from customer360.db import values_subquery
from customer360.services import (
    Actor,
    audit_event_record,
    change_reason,
    model_bulk_update,
    model_save,
    number_allocate,
    on_commit_delay,
)

from .choices import Direction, InteractionKind, Outcome
from .demo.bulk import insert_values_with_history
from .models import Case, Customer, Interaction, QuarantinedRow, SourceRecord
from .numbers import customer_numbers_allocate


def _flags_recompute(customer_ids: Sequence[int]) -> None:
    """After commit, recompute the flags of customers whose interactions or cases
    changed (churn, mood, complaints, contact frequency depend on them).
    Imported late: the insights package imports this app's models and services."""
    from .insights.tasks import flags_compute_task

    if customer_ids:
        on_commit_delay(flags_compute_task, sorted(set(customer_ids)))


# The golden record's identity fields a person (agent, steward, admin) may set
# directly. Lifecycle status, merge state, lineage and restriction are derived
# or owned by their own services (merge, flags, access control).
CUSTOMER_IDENTITY_FIELDS: frozenset[str] = frozenset(
    {
        "given_name",
        "middle_name",
        "family_name",
        "date_of_birth",
        "email",
        "phone",
        "address_line1",
        "address_line2",
        "locality",
        "region",
        "postcode",
        "country",
        "language",
        "preferred_channel",
    }
)


def _check_identity_fields(names: set[str]) -> None:
    unknown = sorted(names - CUSTOMER_IDENTITY_FIELDS)
    if unknown:
        raise ValidationError(
            {name: f"{name} is not an identity field that can be set here." for name in unknown}
        )


def _audit_value(value: object) -> Any:
    """A JSON-safe form of a field value for the audit log's old/new."""
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    return value


@transaction.atomic
def customer_create(
    *,
    actor: Actor,
    reason: str,
    lineage: dict[str, int] | None = None,
    source_record_id: int | None = None,
    **identity: Any,
) -> Customer:
    """Create a golden customer under a freshly allocated customer number.

    ``identity`` holds identity fields only (see ``CUSTOMER_IDENTITY_FIELDS``);
    anything else is refused with a ``ValidationError`` naming the field. The
    audit event lists the fields set, not their values: the row history
    already holds the values. A customer derived from a source record (identity
    resolution) passes its ``lineage`` and the record's id, which the event names.
    """
    _check_identity_fields(set(identity))
    customer = Customer(
        customer_number=customer_numbers_allocate(1)[0], lineage=lineage or {}, **identity
    )
    model_save(customer, actor=actor, reason=reason)
    new: dict[str, Any] = {
        "fields": sorted(name for name, value in identity.items() if value not in ("", None))
    }
    if source_record_id is not None:
        new["source_record"] = source_record_id
    audit_event_record(
        event_type=AuditEventType.CUSTOMER_CREATED,
        actor=actor,
        subject=customer,
        reason=reason,
        new=new,
        customer_number=customer.customer_number,
    )
    return customer


@transaction.atomic
def customer_update(
    *, customer: Customer, actor: Actor, reason: str, changes: dict[str, object]
) -> Customer:
    """Change identity fields of a customer; returns the saved customer.

    Only fields in ``CUSTOMER_IDENTITY_FIELDS`` may change; any other name is
    refused with a ``ValidationError`` naming it. A customer merged into
    another is read-only: changes belong on the survivor. Fields whose value
    does not actually change are ignored; when nothing changes nothing is
    written. The audit event holds old and new values: acceptable inside the
    database's audit log, which is why they must never be logged.
    """
    _check_identity_fields(set(changes))
    # Lock the row so that two concurrent edits cannot each compute "old"
    # from the same state and silently overwrite each other.
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    if locked.merged_into_id is not None:
        raise ValidationError(
            f"{locked.customer_number} was merged into another customer; change the survivor."
        )
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for name, value in changes.items():
        before = getattr(locked, name)
        if before == value:
            continue
        old[name] = _audit_value(before)
        new[name] = _audit_value(value)
        setattr(locked, name, value)
    if not new:
        return locked
    model_save(locked, actor=actor, reason=reason)
    audit_event_record(
        event_type=AuditEventType.CUSTOMER_UPDATED,
        actor=actor,
        subject=locked,
        reason=reason,
        old={"fields": sorted(old), "values": old},
        new={"fields": sorted(new), "values": new},
        customer_number=locked.customer_number,
    )
    return locked


# --- identity resolution: one entry point for screens, API, tasks and commands -----

from .identity.ingest import ImportRefused, source_records_import, source_records_import_file  # noqa: E402
from .identity.matching import customer_golden_refresh, source_record_match  # noqa: E402
from .identity.merge import customer_merge, customer_unmerge  # noqa: E402
from .identity.review import candidate_decide, candidate_undo  # noqa: E402
from .identity.sources import source_declaration_load  # noqa: E402

__all__ = [
    "CUSTOMER_IDENTITY_FIELDS",
    "ImportRefused",
    "candidate_decide",
    "candidate_undo",
    "customer_create",
    "customer_golden_refresh",
    "customer_merge",
    "customer_unmerge",
    "customer_update",
    "source_declaration_load",
    "source_record_match",
    "source_records_import",
    "source_records_import_file",
]


# --- agent screens: interactions, cases, restricted access (issue 6) ---------------

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from consent.models import Channel
    from governance.models import Silo


@transaction.atomic
def case_open(
    *,
    customer: Customer,
    silo: Silo,
    kind: str,
    subject: str,
    actor: Actor,
    reason: str,
    description: str = "",
    priority: str = "normal",
) -> Case:
    """Open a case (complaint, request, claim) for a surviving customer.

    The reference comes from the ``case`` number sequence, so two agents
    opening cases at once never collide. Audited as ``case.opened`` (kind and
    reference only: the subject may hold personal details).
    """
    locked = _lock_surviving(customer)
    number = number_allocate(name="case")[0]
    case = Case(
        customer=locked,
        silo=silo,
        reference=f"CASE-{number}",
        kind=kind,
        subject=subject,
        description=description,
        priority=priority,
        owner=actor.user,
        opened_at=timezone.now(),
    )
    model_save(case, actor=actor, reason=reason)
    audit_event_record(
        event_type=AuditEventType.CASE_OPENED,
        actor=actor,
        subject=case,
        reason=reason,
        new={"reference": case.reference, "kind": case.kind, "silo": silo.code},
        customer_number=locked.customer_number,
    )
    _flags_recompute([locked.pk])
    return case


def _lock_surviving(customer: Customer) -> Customer:
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    if locked.merged_into_id is not None:
        raise ValidationError(
            f"{locked.customer_number} was merged into another customer; act on the survivor."
        )
    return locked


@transaction.atomic
def interaction_log(
    *,
    customer: Customer,
    silo: Silo,
    channel: Channel,
    kind: str,
    actor: Actor,
    reason: str,
    direction: str = "inbound",
    outcome: str = "",
    sentiment: float | None = None,
    summary: str = "",
    occurred_at: datetime.datetime | None = None,
    follow_up_subject: str = "",
    follow_up_kind: str = "",
) -> Interaction:
    """Log one contact with the customer from the agent's screen.

    ``sentiment`` is the mood the agent noted (-1 very unhappy .. 1 very
    happy). With ``follow_up_subject`` a case of ``follow_up_kind`` is opened
    in the same transaction (``case_open``), so an interaction never claims a
    follow-up that does not exist. Audited as ``interaction.logged`` with
    kind, channel, outcome and the case reference, never the note.
    """
    locked = _lock_surviving(customer)
    interaction = Interaction(
        customer=locked,
        silo=silo,
        channel=channel,
        direction=direction,
        kind=kind,
        occurred_at=occurred_at or timezone.now(),
        summary=summary,
        sentiment=sentiment,
        outcome=outcome,
        agent=actor.user,
    )
    model_save(interaction, actor=actor, reason=reason)
    case: Case | None = None
    if follow_up_subject.strip():
        if not follow_up_kind:
            raise ValidationError({"follow_up_kind": "Say what kind of case to open."})
        case = case_open(
            customer=locked,
            silo=silo,
            kind=follow_up_kind,
            subject=follow_up_subject.strip(),
            actor=actor,
            reason=reason,
        )
    audit_event_record(
        event_type=AuditEventType.INTERACTION_LOGGED,
        actor=actor,
        subject=interaction,
        reason=reason,
        new={
            "kind": interaction.kind,
            "channel": channel.code,
            "outcome": interaction.outcome,
            "case": case.reference if case is not None else None,
        },
        customer_number=locked.customer_number,
    )
    _flags_recompute([locked.pk])
    return interaction


RESTRICTED_VIEW_PERMISSION = "profiles.view_customer"


@transaction.atomic
def restricted_access_grant(*, customer: Customer, user: User, actor: Actor, reason: str) -> None:
    """Let ``user`` see a restricted customer (employee, protected person).

    An object permission (django-guardian) on that one customer, which
    ``profiles.selectors.customer_list`` honours; audited as
    ``restricted.granted`` naming the user. Refused for an unrestricted
    customer (nothing to grant) and without a reason.
    """
    from guardian.shortcuts import assign_perm

    if not reason.strip():
        raise ValidationError({"reason": "Access to a restricted profile needs a reason."})
    locked = _lock_surviving(customer)
    if not locked.is_restricted:
        raise ValidationError(f"{locked.customer_number} is not a restricted profile.")
    assign_perm(RESTRICTED_VIEW_PERMISSION, user, locked)
    audit_event_record(
        event_type=AuditEventType.RESTRICTED_ACCESS_GRANTED,
        actor=actor,
        subject=locked,
        reason=reason,
        new={"user": user.pk},
        customer_number=locked.customer_number,
    )


@transaction.atomic
def restricted_access_revoke(*, customer: Customer, user: User, actor: Actor, reason: str) -> None:
    """Take back ``user``'s access to a restricted customer; audited ``restricted.revoked``."""
    from guardian.shortcuts import remove_perm

    if not reason.strip():
        raise ValidationError({"reason": "Revoking access needs a reason."})
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    remove_perm(RESTRICTED_VIEW_PERMISSION, user, locked)
    audit_event_record(
        event_type=AuditEventType.RESTRICTED_ACCESS_REVOKED,
        actor=actor,
        subject=locked,
        reason=reason,
        old={"user": user.pk},
        customer_number=locked.customer_number,
    )


# --- partner API: bulk upserts of source records and interactions (issue 7) ----------------

from .identity.ingest import RawRow, key_column_of  # noqa: E402

if TYPE_CHECKING:
    from governance.models import SourceSystem

BULK_MAX_ITEMS = 1000


@dataclass(slots=True)
class ItemResult:
    """What became of one item of a bulk request: ``created``, ``updated``,
    ``unchanged``, ``quarantined`` (kept aside with a reason), ``refused``
    (invalid or not allowed, naming the fields) or ``not_written`` (valid, but
    another item failed in all-or-nothing mode)."""

    index: int
    key: str
    status: str
    customer_number: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)


def _refuse(result: ItemResult, name: str, message: str) -> None:
    result.status = "refused"
    result.errors.setdefault(name, []).append(message)


def _not_written(results: list[ItemResult]) -> list[ItemResult]:
    for result in results:
        if result.status != "refused":
            result.status = "not_written"
    return results


def source_records_upsert(
    *,
    source_system: SourceSystem,
    items: Sequence[Mapping[str, Any]],
    actor: Actor,
    reason: str,
    all_or_nothing: bool = False,
) -> list[ItemResult]:
    """Create or update a partner's source records, one result per item.

    Each item is ``{"source_key": ..., "columns": {column: value}}`` in the
    source system's own column names. A column without an approved mapping,
    or whose canonical field no approved data-collection decision covers
    (``governance.selectors.collection_refusals``), refuses its item naming
    the column; the rest go through ``source_records_import`` (the service the
    import command uses), whose value checks quarantine an item with a reason.
    With ``all_or_nothing`` any refused or quarantined item writes nothing.
    """
    from governance.models import SourceFieldMapping
    from governance.selectors import collection_refusals

    key_column = key_column_of(source_system)
    mappings = {
        m.source_field: m.field_definition.canonical_name
        for m in SourceFieldMapping.objects.filter(
            source_system=source_system, status="approved"
        ).select_related("field_definition")
    }
    refusals = collection_refusals(source_system=source_system, fields=set(mappings.values()))
    results: list[ItemResult] = []
    rows: list[RawRow] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        key = str(item.get("source_key") or "").strip()
        result = ItemResult(index=index, key=key, status="")
        results.append(result)
        if key in seen:
            _refuse(result, "source_key", f"Repeats item {seen[key]} of this request.")
            continue
        seen[key] = index
        values: dict[str, str] = {}
        for column, value in (item.get("columns") or {}).items():
            canonical = mappings.get(column)
            if column == key_column:
                _refuse(result, f"columns.{column}", "The source key goes in source_key.")
            elif canonical is None:
                _refuse(
                    result,
                    f"columns.{column}",
                    f"No approved mapping of {column!r} for {source_system.code}.",
                )
            elif canonical in refusals:
                _refuse(result, f"columns.{column}", refusals[canonical])
            else:
                values[column] = "" if value is None else str(value)
        if result.status != "refused":
            values[key_column] = key
            # The import numbers rows from 1, like lines of a file: row n is item n - 1.
            rows.append(RawRow(line=index + 1, values=values))
    if all_or_nothing and any(r.status == "refused" for r in results):
        return _not_written(results)
    by_line = {row.line: results[row.line - 1] for row in rows}
    before = dict(
        SourceRecord.objects.filter(
            source_system=source_system, source_key__in=[r.key for r in by_line.values()]
        ).values_list("source_key", "payload_hash")
    )
    columns = {column: 1 for row in rows for column in row.values} or {key_column: 1}
    with transaction.atomic():
        run = source_records_import(
            source_system=source_system,
            columns=columns,
            rows=rows,
            file_name=f"api:{source_system.code}",
            file_format="jsonl",
            actor=actor,
            reason=reason,
            batch_size=BULK_MAX_ITEMS,
        )
        for line, column, why in QuarantinedRow.objects.filter(import_run=run).values_list(
            "row_number", "field", "reason"
        ):
            result = by_line[line]
            result.status = "quarantined"
            result.errors.setdefault(f"columns.{column}", []).append(why)
        if all_or_nothing and any(r.status == "quarantined" for r in results):
            transaction.set_rollback(True)
            for result in results:
                if result.status not in ("refused", "quarantined"):
                    result.status = "not_written"
            return results
        after = dict(
            SourceRecord.objects.filter(
                source_system=source_system, source_key__in=[r.key for r in by_line.values()]
            )
            .select_related("customer")
            .values_list("source_key", "payload_hash")
        )
    for result in by_line.values():
        if result.status:
            continue
        if result.key not in before:
            result.status = "created"
        elif before[result.key] != after.get(result.key):
            result.status = "updated"
        else:
            result.status = "unchanged"
    return results


_INTERACTION_FIELDS = frozenset(
    {
        "external_id",
        "source_key",
        "customer_number",
        "channel",
        "direction",
        "kind",
        "occurred_at",
        "summary",
        "sentiment",
        "outcome",
        "reference",
        "amount",
        "currency",
    }
)
_INTERACTION_WRITABLE = [
    "customer",
    "source_record",
    "channel",
    "direction",
    "kind",
    "occurred_at",
    "summary",
    "sentiment",
    "outcome",
    "reference",
    "amount",
    "currency",
]


# Built once: TextChoices.values makes a new list on every access.
_INTERACTION_CHOICES = (
    ("direction", frozenset(Direction.values), True),
    ("kind", frozenset(InteractionKind.values), True),
    ("outcome", frozenset(Outcome.values), False),
)


def _text(item: Mapping[str, Any], name: str, result: ItemResult, max_length: int) -> str:
    value = item.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        _refuse(result, name, "Must be a string.")
        return ""
    if len(value) > max_length:
        _refuse(result, name, f"At most {max_length} characters.")
    return value


def _interaction_values(
    item: Mapping[str, Any], result: ItemResult, channels: Mapping[str, int]
) -> dict[str, Any]:
    """Check one item's fields; refusals land on ``result`` naming the field."""
    for name in sorted(set(item) - _INTERACTION_FIELDS):
        _refuse(result, name, "Unknown field.")
    values: dict[str, Any] = {}
    channel = item.get("channel")
    if channel not in channels:
        _refuse(result, "channel", f"Unknown or inactive channel {channel!r}.")
    values["channel_id"] = channels.get(channel)  # type: ignore[arg-type]
    for name, allowed, required in _INTERACTION_CHOICES:
        value = item.get(name) or ""
        if (value or required) and value not in allowed:
            _refuse(result, name, f"One of: {', '.join(sorted(allowed))}.")
        values[name] = value
    occurred = item.get("occurred_at")
    parsed = None
    if isinstance(occurred, str):
        try:
            parsed = datetime.datetime.fromisoformat(occurred)
        except ValueError:
            parsed = None
    if parsed is not None and parsed.tzinfo is not None:
        # The same instant in UTC: PostgreSQL reads no offset beyond 15:59 ("+23:56"
        # is ISO 8601 and Python's, and failed the whole request with a 500).
        try:
            parsed = parsed.astimezone(datetime.UTC)
        except OverflowError:  # before year 1 or after 9999 in UTC
            parsed = None
    if parsed is None or parsed.tzinfo is None:
        _refuse(result, "occurred_at", "An ISO 8601 date and time with a time zone.")
    values["occurred_at"] = parsed
    values["summary"] = _text(item, "summary", result, 2000)
    values["reference"] = _text(item, "reference", result, 60)
    values["currency"] = _text(item, "currency", result, 3).upper()
    sentiment = item.get("sentiment")
    if sentiment is not None and (
        isinstance(sentiment, bool)
        or not isinstance(sentiment, int | float)
        or not -1 <= sentiment <= 1
    ):
        _refuse(result, "sentiment", "A number from -1 to 1.")
        sentiment = None
    values["sentiment"] = None if sentiment is None else float(sentiment)
    amount = item.get("amount")
    values["amount"] = None
    if amount is not None:
        try:
            values["amount"] = decimal.Decimal(str(amount)).quantize(decimal.Decimal("0.01"))
            if abs(values["amount"]) >= 10**10:
                raise decimal.InvalidOperation
        except decimal.InvalidOperation:
            _refuse(result, "amount", "A decimal number with at most 10 digits before the point.")
            values["amount"] = None
        if len(values["currency"]) != 3:
            _refuse(result, "currency", "An amount needs its ISO 4217 currency.")
    return values


@transaction.atomic
def interactions_upsert(
    *,
    source_system: SourceSystem,
    items: Sequence[Mapping[str, Any]],
    actor: Actor,
    reason: str,
    all_or_nothing: bool = False,
) -> list[ItemResult]:
    """Create or update a partner's interactions by their natural key (the
    client's source system + ``external_id``), one result per item.

    The customer is named by the system's own ``source_key`` or by a
    ``customer_number`` that one of the system's records links to (a system
    never writes about customers it does not know); a merged-away customer's
    interactions land on the survivor. An item repeating its content is
    ``unchanged`` and writes nothing. Each field is checked here, once, so
    that 1,000 items cost a few queries: a bulk insert of the new ones as
    values (binary COPY on PostgreSQL, no model instances:
    ``profiles.demo.bulk.insert_values_with_history``) and a bulk update, both
    with their history rows, and one audit event for the batch. With
    ``all_or_nothing`` a refused item writes nothing at all.
    """
    from consent.models import Channel

    channels = dict(Channel.objects.filter(is_active=True).values_list("code", "pk"))
    results: list[ItemResult] = []
    prepared: list[tuple[ItemResult, dict[str, Any], str, str]] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        external_id = item.get("external_id")
        result = ItemResult(index=index, key=str(external_id or ""), status="")
        results.append(result)
        if not isinstance(external_id, str) or not external_id.strip():
            _refuse(result, "external_id", "Required: the interaction's id in your system.")
        elif len(external_id) > 100:
            _refuse(result, "external_id", "At most 100 characters.")
        elif external_id in seen:
            _refuse(result, "external_id", f"Repeats item {seen[external_id]} of this request.")
        else:
            seen[external_id] = index
        source_key = item.get("source_key") or ""
        number = item.get("customer_number") or ""
        if bool(source_key) == bool(number):
            _refuse(result, "source_key", "Name the customer by source_key or customer_number.")
        values = _interaction_values(item, result, channels)
        prepared.append((result, values, str(source_key), str(number)))

    keys = {key for _, _, key, _ in prepared if key}
    numbers = {number for _, _, _, number in prepared if number}
    # (record id, customer id, number) of the system's records named by key: the
    # customer is the record's, or its survivor when it was merged away. Unordered:
    # the model's ordering would sort 1,000 rows by a join for nothing.
    records = SourceRecord.objects.filter(
        source_system=source_system, source_key__in=values_subquery(keys, sql_type="text")
    ).order_by().values_list("source_key", "pk", "customer_id", "customer__customer_number",
                             "customer__merged_into_id",
                             "customer__merged_into__customer_number")  # fmt: skip
    by_key = {
        key: (record_id, survivor_id or customer_id, survivor_number or number)
        for key, record_id, customer_id, number, survivor_id, survivor_number in records
    }
    # (customer id, number) of the numbers given, likewise the survivor's.
    by_number: dict[str, tuple[int, str]] = {}
    if numbers:
        for number, customer_id, survivor_id, survivor_number in (
            Customer.objects.filter(customer_number__in=values_subquery(numbers, sql_type="text"))
            .filter(
                models.Exists(
                    SourceRecord.objects.filter(
                        source_system=source_system, customer_id=models.OuterRef("merged_into_id")
                    )
                )
                | models.Exists(
                    SourceRecord.objects.filter(
                        source_system=source_system, customer_id=models.OuterRef("pk")
                    )
                )
            )
            .order_by()
            .values_list("customer_number", "pk", "merged_into_id", "merged_into__customer_number")
        ):
            by_number[number] = (survivor_id or customer_id, survivor_number or number)
    numbers_of: dict[int, str] = {}
    for result, values, key, number in prepared:
        if result.status == "refused":
            continue
        if key:
            found = by_key.get(key)
            if found is None or found[1] is None:
                _refuse(result, "source_key", "No linked record of yours has this source key.")
                continue
            values["source_record_id"], values["customer_id"], known_number = found
        elif number:
            known = by_number.get(number)
            if known is None:
                _refuse(result, "customer_number", "No customer of yours has this number.")
                continue
            values["source_record_id"] = None
            values["customer_id"], known_number = known
        numbers_of[values["customer_id"]] = known_number
    if all_or_nothing and any(r.status == "refused" for r in results):
        return _not_written(results)
    existing = {
        i.external_id: i
        # Unordered, and with the partial unique index's own condition spelled out,
        # so that PostgreSQL reads that index instead of the timeline.
        for i in Interaction.objects.filter(
            source_system=source_system, external_id__in=values_subquery(seen, sql_type="text")
        )
        .exclude(external_id="")
        .order_by()
    }
    # New interactions stay {attname: value} rows (see insert_values_with_history).
    new: list[dict[str, Any]] = []
    changed: list[Interaction] = []
    for result, values, _key, _number in prepared:
        if result.status == "refused":
            continue
        result.customer_number = numbers_of.get(values["customer_id"], "")
        interaction = existing.get(result.key)
        if interaction is None:
            values["silo_id"] = source_system.silo_id
            values["source_system_id"] = source_system.pk
            values["external_id"] = result.key
            new.append(values)
            result.status = "created"
            continue
        names = [n + "_id" if n in ("customer", "source_record", "channel") else n
                 for n in _INTERACTION_WRITABLE]  # fmt: skip
        if all(getattr(interaction, n) == values[n] for n in names):
            result.status = "unchanged"
            continue
        for n in names:
            setattr(interaction, n, values[n])
        changed.append(interaction)
        result.status = "updated"
    if new:
        # COPY of the rows and their "created" history rows on PostgreSQL (building
        # Django's multi-row INSERTs cost three quarters of a 1,000-item request,
        # then building the model instances for COPY half of what remained).
        insert_values_with_history(
            Interaction, new, user=actor.user, reason=change_reason(actor, reason)
        )
    if changed:
        model_bulk_update(changed, fields=_INTERACTION_WRITABLE, actor=actor, reason=reason)
    if new or changed:
        audit_event_record(
            event_type=AuditEventType.INTERACTION_LOGGED,
            actor=actor,
            subject=source_system,
            reason=reason,
            new={"source_system": source_system.code, "created": len(new),
                 "updated": len(changed)},
        )  # fmt: skip
        _flags_recompute([*(row["customer_id"] for row in new), *(i.customer_id for i in changed)])
    return results
