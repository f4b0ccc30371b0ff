"""Write services of the consent app.

The consent ledger is append-only: every statement is a new
``ConsentRecord``. What is in force for (customer, purpose, channel) at a
moment is read with ``consent.selectors.consent_effective`` (one customer) or
``consent_decisions`` (a list at once).

Also here: merge-aware consent (``consent_merge`` / ``consent_unmerge``), the
data-subject request workflow and its fulfilment, restriction of processing,
retention and the privacy checks.
"""

from __future__ import annotations

import datetime
import functools
import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from dateutil.relativedelta import relativedelta
from django.contrib.auth.models import User
from django.core import serializers
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.serializers.json import DjangoJSONEncoder
from django.db import OperationalError, connection, models, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm
from oauth2_provider.models import AbstractApplication

from customer360.choices import AuditEventType, DomainEventType
from customer360.models import AuditEvent
from customer360.services import (
    Actor,
    audit_event_record,
    event_publish,
    model_bulk_update,
    model_save,
    number_allocate,
    on_commit_delay,
)
from governance.choices import DecisionKind, DecisionStatus, GovernanceStatus
from governance.models import DataCollectionDecision, FieldDefinition, SourceFieldMapping
from governance.roles import group_name
from profiles.choices import PENDING_ACTION_STATUSES
from profiles.models import (
    Case,
    Customer,
    Flag,
    Holding,
    Household,
    HouseholdMembership,
    Interaction,
    OutboundAction,
    Relationship,
    SourceRecord,
)
from profiles.services import CUSTOMER_IDENTITY_FIELDS, customer_update

from .choices import (
    RESTRICTIVENESS,
    STATED_STATUSES,
    CaptureMethod,
    ConsentStatus,
    DoubleOptIn,
    ExportKind,
    PrivacyCheck,
    PrivacyCheckStatus,
    RequestKind,
    RequestStatus,
    RetentionAction,
    Severity,
)
from .models import (
    Channel,
    ConsentRecord,
    DataSubjectExport,
    DataSubjectRequest,
    PrivacyCheckRun,
    PrivacyFinding,
    PrivacyNotice,
    ProcessingRestriction,
    Purpose,
    RetentionRun,
)
from .selectors import (
    OPEN_REQUEST_STATUSES,
    RENEWAL_WINDOW,
    _newer_material_notice,
    consent_effective,
    consents_in_force,
    customer_identities,
    restriction_active_q,
)

# --- the ledger -----------------------------------------------------------------


def _resolve_purpose(purpose: Purpose | str) -> Purpose:
    if isinstance(purpose, Purpose):
        resolved: Purpose | None = purpose
    else:
        resolved = Purpose.objects.filter(code=purpose).first()
    if resolved is None:
        raise ValidationError({"purpose": f"Unknown purpose {purpose!r}."})
    if not resolved.is_active:
        raise ValidationError({"purpose": f"Purpose {resolved.code} is not active."})
    return resolved


def _resolve_channel(channel: Channel | str, field: str = "channel") -> Channel:
    if isinstance(channel, Channel):
        resolved: Channel | None = channel
    else:
        resolved = Channel.objects.filter(code=channel).first()
    if resolved is None:
        raise ValidationError({field: f"Unknown channel {channel!r}."})
    if not resolved.is_active:
        raise ValidationError({field: f"Channel {resolved.code} is not active."})
    return resolved


def _lock_survivor(customer: Customer) -> Customer:
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    if locked.merged_into_id is not None:
        raise ValidationError(
            f"{locked.customer_number} was merged into another customer; "
            "record consent on the survivor."
        )
    return locked


def _consent_changed_publish(record: ConsentRecord, customer_number: str) -> None:
    """Announce a new statement in force to partners, inside the write's transaction.

    Codes and dates only, never personal data. ``status`` is ``reset`` where
    an unmerge left no statement in force.
    """
    event_publish(
        event_type=DomainEventType.CONSENT_CHANGED,
        customer_number=customer_number,
        payload={
            "customer_number": customer_number,
            "purpose": record.purpose.code,
            "channel": record.channel.code,
            "status": record.status,
            "effective_from": record.effective_from.isoformat(),
            "effective_until": record.effective_until.isoformat()
            if record.effective_until
            else None,
        },
    )


@transaction.atomic
def consent_record(
    *,
    customer: Customer,
    purpose: Purpose | str,
    channel: Channel | str,
    status: ConsentStatus | str,
    capture_method: CaptureMethod | str,
    captured_via: Channel | str,
    actor: Actor,
    reason: str,
    effective_from: datetime.datetime | None = None,
    effective_until: datetime.datetime | None = None,
    evidence_reference: str = "",
    notice: PrivacyNotice | None = None,
    captured_at: datetime.datetime | None = None,
    captured_by_client: AbstractApplication | None = None,
    source_record: SourceRecord | None = None,
    double_opt_in: DoubleOptIn | str = DoubleOptIn.NOT_REQUIRED,
    ip_address: str | None = None,
    user_agent: str = "",
) -> ConsentRecord:
    """Append one consent statement to the ledger and audit it.

    Never changes an earlier record: a later statement supersedes it for the
    period it covers. ``purpose`` and ``channel`` may be given as codes.
    ``effective_from`` defaults to now. Refused with a ``ValidationError``
    (and nothing written) for an unknown or inactive purpose or channel, a
    status a person cannot state, an effective period out of order, or a
    customer merged into another (consent belongs on the survivor). The
    person acting is recorded as ``captured_by``; the audit event
    (consent.recorded, or consent.withdrawn for a withdrawal) holds the status
    in force before and after; a ``consent.changed`` domain event goes to the
    outbox in the same transaction (codes and dates, no personal data).
    """
    purpose = _resolve_purpose(purpose)
    channel = _resolve_channel(channel)
    captured_via = _resolve_channel(captured_via, "captured_via")
    if status not in STATED_STATUSES:
        raise ValidationError({"status": f"{status!r} is not a consent statement."})
    now = timezone.now()
    effective_from = effective_from or now
    if effective_until is not None and effective_until <= effective_from:
        raise ValidationError({"effective_until": "Consent must end after it starts."})
    # Lock the customer so that concurrent statements for one customer queue
    # up and each audit event's "old" status is the one really in force.
    locked = _lock_survivor(customer)
    previous = consent_effective(
        customer=locked, purpose=purpose, channel=channel, at=effective_from
    )
    record = ConsentRecord(
        customer=locked,
        purpose=purpose,
        channel=channel,
        status=status,
        capture_method=capture_method,
        captured_via=captured_via,
        captured_by=actor.user,  # type: ignore[misc]
        captured_by_client=captured_by_client,
        source_record=source_record,
        captured_at=captured_at or now,
        effective_from=effective_from,
        effective_until=effective_until,
        evidence_reference=evidence_reference,
        notice=notice,
        double_opt_in=double_opt_in,
        ip_address=ip_address,
        user_agent=user_agent,
        reason=reason,
    )
    model_save(record, actor=actor, reason=reason)
    withdrawn = record.status == ConsentStatus.WITHDRAWN
    audit_event_record(
        event_type=AuditEventType.CONSENT_WITHDRAWN
        if withdrawn
        else AuditEventType.CONSENT_RECORDED,
        actor=actor,
        subject=record,
        reason=reason,
        old={
            "status": previous.status if previous else None,
            "record": previous.pk if previous else None,
        },
        new={
            "purpose": purpose.code,
            "channel": channel.code,
            "status": record.status,
            "effective_from": record.effective_from.isoformat(),
            "effective_until": record.effective_until.isoformat()
            if record.effective_until
            else None,
            "capture_method": record.capture_method,
            "evidence_reference": record.evidence_reference,
        },
        customer_number=locked.customer_number,
    )
    _consent_changed_publish(record, locked.customer_number)
    return record


@transaction.atomic
def consent_withdraw(
    *,
    customer: Customer,
    purpose: Purpose | str,
    channel: Channel | str,
    captured_via: Channel | str,
    capture_method: CaptureMethod | str,
    actor: Actor,
    reason: str,
    evidence_reference: str = "",
    captured_by_client: AbstractApplication | None = None,
    ip_address: str | None = None,
    user_agent: str = "",
) -> ConsentRecord:
    """Withdraw the consent in force now: as easy as giving it, one call.

    Appends a ``withdrawn`` statement effective now with no end. Refused with
    a ``ValidationError`` (nothing written) when no granted consent is in
    force for the key: withdrawing what was never given is an error the
    caller should show, not a silent no-op.
    """
    purpose = _resolve_purpose(purpose)
    channel = _resolve_channel(channel)
    locked = _lock_survivor(customer)
    current = consent_effective(customer=locked, purpose=purpose, channel=channel)
    if current is None or current.status != ConsentStatus.GRANTED:
        raise ValidationError(
            f"{locked.customer_number} has no granted consent for "
            f"{purpose.code} by {channel.code} to withdraw."
        )
    return consent_record(
        customer=locked,
        purpose=purpose,
        channel=channel,
        status=ConsentStatus.WITHDRAWN,
        capture_method=capture_method,
        captured_via=captured_via,
        actor=actor,
        reason=reason,
        evidence_reference=evidence_reference,
        captured_by_client=captured_by_client,
        ip_address=ip_address,
        user_agent=user_agent,
    )


# --- merge-aware consent ---------------------------------------------------------

Key = tuple[int, int]  # (purpose_id, channel_id)
State = tuple[str, str | None] | None  # (status, effective_until iso) or no statement


def _key_text(key: Key) -> str:
    return f"{key[0]}:{key[1]}"


def _key_parse(text: str) -> Key:
    purpose_id, channel_id = text.split(":")
    return int(purpose_id), int(channel_id)


def _state(record: ConsentRecord | None) -> State:
    if record is None:
        return None
    until = record.effective_until.isoformat() if record.effective_until else None
    return (record.status, until)


def _ledger_keys(customer_ids: Iterable[int]) -> set[Key]:
    return set(
        ConsentRecord.objects.filter(customer_id__in=list(customer_ids))
        .values_list("purpose_id", "channel_id")
        .distinct()
    )


def _effective_by_key(customer: Customer, keys: Iterable[Key]) -> dict[Key, ConsentRecord | None]:
    purposes = {p.pk: p for p in Purpose.objects.all()}
    channels = {c.pk: c for c in Channel.objects.all()}
    return {
        key: consent_effective(
            customer=customer, purpose=purposes[key[0]], channel=channels[key[1]]
        )
        for key in keys
    }


def consent_effective_states(*, customer: Customer) -> dict[str, State]:
    """Every (purpose id:channel id) of the customer's ledger with the state in force.

    The comparison ``consent_merge``/``consent_unmerge`` work with: status and
    end of the statement in force, or None for no statement.
    """
    keys = _ledger_keys([customer.pk])
    return {
        _key_text(key): _state(record) for key, record in _effective_by_key(customer, keys).items()
    }


def _most_restrictive(
    left: ConsentRecord | None, right: ConsentRecord | None
) -> ConsentRecord | None:
    """Of two statements in force, the one that allows least (None: no statement).

    No statement does not restrict: the other side's statement stands.
    Withdrawn beats denied beats granted; of two grants the earlier end wins,
    of two refusals the later one (a refusal that lapses allows more). On a
    tie ``left`` (the survivor) stays.
    """
    if left is None or right is None:
        return left or right
    left_rank = RESTRICTIVENESS.index(ConsentStatus(left.status))
    right_rank = RESTRICTIVENESS.index(ConsentStatus(right.status))
    if left_rank != right_rank:
        return left if left_rank < right_rank else right
    far = datetime.datetime.max.replace(tzinfo=datetime.UTC)
    left_end = left.effective_until or far
    right_end = right.effective_until or far
    if left.status == ConsentStatus.GRANTED:
        return right if right_end < left_end else left
    return right if right_end > left_end else left


def _append_derived(
    *,
    customer: Customer,
    key: Key,
    template: ConsentRecord | None,
    evidence: str,
    actor: Actor,
    reason: str,
    now: datetime.datetime,
) -> ConsentRecord:
    """Append a merge-derived row copying ``template``'s statement (None: a reset)."""
    record = ConsentRecord(
        customer=customer,
        purpose_id=key[0],
        channel_id=key[1],
        status=template.status if template else ConsentStatus.RESET,
        capture_method=CaptureMethod.MERGE,
        captured_via_id=template.captured_via_id if template else key[1],
        captured_by=actor.user,
        captured_at=now,
        effective_from=now,
        effective_until=template.effective_until if template else None,
        evidence_reference=evidence[:200],
        notice_id=template.notice_id if template else None,
        double_opt_in=template.double_opt_in if template else DoubleOptIn.NOT_REQUIRED,
        reason=reason,
    )
    model_save(record, actor=actor, reason=reason)
    # Only called where the statement in force changes: partners hear of it.
    _consent_changed_publish(record, customer.customer_number)
    return record


@transaction.atomic
def consent_merge(
    *,
    survivor: Customer,
    merged: Customer,
    actor: Actor,
    reason: str,
    merge_reference: str,
) -> list[ConsentRecord]:
    """Give the survivor the most restrictive consent of the two customers.

    Contract for identity resolution: call inside the merge's transaction,
    before or after ``merged.merged_into`` is set, with a ``merge_reference``
    unique to this merge (the same one is passed to ``consent_unmerge``).
    For every (purpose, channel) in either ledger whose statements in force
    differ, appends to the survivor a ``merge``-derived record (evidence
    ``merge:<reference>``) with the most restrictive of the two: withdrawn
    beats denied beats granted, two grants keep the earlier end, two refusals
    the later one, and no statement restricts nothing. The merged customer's ledger is left as it
    is. One ``consent.merged`` audit event on the survivor holds a snapshot
    of both sides' statements in force, which makes ``consent_unmerge``
    exact. Returns the appended records.
    """
    if survivor.pk == merged.pk:
        raise ValidationError("A customer cannot be merged with itself.")
    if not merge_reference.strip():
        raise ValidationError({"merge_reference": "A merge needs its reference."})
    locked = {
        c.pk: c
        for c in Customer.objects.select_for_update()
        .filter(pk__in=[survivor.pk, merged.pk])
        .order_by("pk")
    }
    survivor, merged = locked[survivor.pk], locked[merged.pk]
    if survivor.merged_into_id is not None:
        raise ValidationError(f"{survivor.customer_number} is not a surviving customer.")
    now = timezone.now()
    keys = sorted(_ledger_keys([survivor.pk, merged.pk]))
    survivor_effective = _effective_by_key(survivor, keys)
    merged_effective = _effective_by_key(merged, keys)
    max_record_id = (
        ConsentRecord.objects.filter(customer_id__in=[survivor.pk, merged.pk])
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
        or 0
    )
    appended: list[ConsentRecord] = []
    for key in keys:
        current = survivor_effective[key]
        winner = _most_restrictive(current, merged_effective[key])
        if _state(winner) == _state(current):
            continue
        appended.append(
            _append_derived(
                customer=survivor,
                key=key,
                template=winner,
                evidence=f"merge:{merge_reference}",
                actor=actor,
                reason=reason,
                now=now,
            )
        )
    audit_event_record(
        event_type=AuditEventType.CONSENT_MERGED,
        actor=actor,
        subject=survivor,
        reason=reason,
        old={
            "survivor": {_key_text(k): _state(r) for k, r in survivor_effective.items()},
            "merged": {_key_text(k): _state(r) for k, r in merged_effective.items()},
        },
        new={
            "merge_reference": merge_reference,
            "merged_customer": merged.pk,
            "merged_number": merged.customer_number,
            "at": now.isoformat(),
            "max_record_id": max_record_id,
            "survivor_records": {
                _key_text(k): r.pk if r else None for k, r in survivor_effective.items()
            },
            "merged_records": {
                _key_text(k): r.pk if r else None for k, r in merged_effective.items()
            },
            "appended": [r.pk for r in appended],
        },
        customer_number=survivor.customer_number,
    )
    return appended


def _restore_side(
    *,
    customer: Customer,
    snapshot: dict[str, int | None],
    max_record_id: int,
    evidence: str,
    actor: Actor,
    reason: str,
    now: datetime.datetime,
) -> list[ConsentRecord]:
    later_keys = set(
        ConsentRecord.objects.filter(customer=customer, id__gt=max_record_id)
        .values_list("purpose_id", "channel_id")
        .distinct()
    )
    genuine_later = set(
        ConsentRecord.objects.filter(customer=customer, id__gt=max_record_id)
        .exclude(capture_method=CaptureMethod.MERGE)
        .values_list("purpose_id", "channel_id")
        .distinct()
    )
    keys = sorted({_key_parse(text) for text in snapshot} | later_keys)
    targets = ConsentRecord.objects.in_bulk([pk for pk in snapshot.values() if pk])
    current = _effective_by_key(customer, keys)
    restored: list[ConsentRecord] = []
    for key in keys:
        if key in genuine_later:
            continue  # the person spoke after the merge: that statement stays in force
        target_id = snapshot.get(_key_text(key))
        target = targets.get(target_id) if target_id else None
        if target is not None and target.effective_until and target.effective_until <= now:
            target = None  # it would have expired by now anyway
        if _state(target) == _state(current[key]):
            continue
        restored.append(
            _append_derived(
                customer=customer,
                key=key,
                template=target,
                evidence=evidence,
                actor=actor,
                reason=reason,
                now=now,
            )
        )
    return restored


@transaction.atomic
def consent_unmerge(
    *,
    survivor: Customer,
    split_off: Customer,
    actor: Actor,
    reason: str,
    merge_reference: str,
) -> list[ConsentRecord]:
    """Split consent back exactly as it was before the merge ``merge_reference``.

    Contract for identity resolution: call inside the unmerge's transaction,
    with the survivor and the customer split off that ``consent_merge`` got
    with the same reference (``ValidationError`` otherwise). On both sides,
    for every (purpose, channel), appends a ``merge``-derived record
    (evidence ``unmerge:<reference>``) wherever the statement in force differs
    from the one in force just before the merge, so that both customers again
    have exactly the statements they had (a ``reset`` row where there was
    none). Exception: where the person made a genuine statement on that
    customer after the merge, that statement stays in force. Returns the
    appended records.
    """
    event = (
        AuditEvent.objects.filter(
            event_type=AuditEventType.CONSENT_MERGED,
            subject_id=str(survivor.pk),
            new__merge_reference=merge_reference,
        )
        .order_by("-id")
        .first()
    )
    if event is None or event.new.get("merged_customer") != split_off.pk:
        raise ValidationError(
            {"merge_reference": f"No consent merge {merge_reference!r} of these customers."}
        )
    list(
        Customer.objects.select_for_update()
        .filter(pk__in=[survivor.pk, split_off.pk])
        .order_by("pk")
    )
    now = timezone.now()
    evidence = f"unmerge:{merge_reference}"
    max_record_id = int(event.new["max_record_id"])
    restored = _restore_side(
        customer=survivor,
        snapshot=event.new["survivor_records"],
        max_record_id=max_record_id,
        evidence=evidence,
        actor=actor,
        reason=reason,
        now=now,
    ) + _restore_side(
        customer=split_off,
        snapshot=event.new["merged_records"],
        max_record_id=max_record_id,
        evidence=evidence,
        actor=actor,
        reason=reason,
        now=now,
    )
    audit_event_record(
        event_type=AuditEventType.CONSENT_UNMERGED,
        actor=actor,
        subject=survivor,
        reason=reason,
        new={
            "merge_reference": merge_reference,
            "split_off": split_off.pk,
            "split_off_number": split_off.customer_number,
            "appended": [r.pk for r in restored],
        },
        customer_number=survivor.customer_number,
    )
    return restored


# --- restriction of processing --------------------------------------------------


@transaction.atomic
def processing_restriction_create(
    *,
    customer: Customer,
    actor: Actor,
    reason: str,
    request: DataSubjectRequest | None = None,
) -> ProcessingRestriction:
    """Restrict processing of a customer (and every identity merged with it).

    Idempotent per request: a second call for the same request returns the
    existing restriction. Returns the restriction of the surviving customer.
    """
    now = timezone.now()
    result: ProcessingRestriction | None = None
    for identity in customer_identities(customer=customer):
        existing = (
            ProcessingRestriction.objects.filter(customer=identity, request=request).first()
            if request is not None
            else None
        )
        restriction = existing or model_save(
            ProcessingRestriction(
                customer=identity, request=request, active_from=now, reason=reason
            ),
            actor=actor,
            reason=reason,
        )
        if existing is None:
            audit_event_record(
                event_type=AuditEventType.PROCESSING_RESTRICTED,
                actor=actor,
                subject=restriction,
                reason=reason,
                new={"request": request.reference if request else None},
                customer_number=identity.customer_number,
            )
        result = result or restriction
    assert result is not None  # customer_identities always holds the survivor
    return result


@transaction.atomic
def processing_restriction_lift(
    *, restriction: ProcessingRestriction, actor: Actor, reason: str
) -> ProcessingRestriction:
    """End a restriction of processing (the person agreed, or the dispute ended)."""
    locked = ProcessingRestriction.objects.select_for_update().get(pk=restriction.pk)
    if locked.lifted_at is not None:
        raise ValidationError("This restriction was already lifted.")
    locked.lifted_at = timezone.now()
    model_save(locked, actor=actor, reason=reason)
    audit_event_record(
        event_type=AuditEventType.PROCESSING_RESTRICTION_LIFTED,
        actor=actor,
        subject=locked,
        reason=reason,
        customer_number=locked.customer.customer_number,
    )
    return locked


# --- data-subject requests --------------------------------------------------------

# The law's deadline (one month) and the longest extension (two more months).
DSR_DEADLINE = relativedelta(months=1)
DSR_MAX_DEADLINE = relativedelta(months=3)
# Identity fields a rectification request may correct (foreign keys excluded).
RECTIFIABLE_FIELDS = CUSTOMER_IDENTITY_FIELDS - {"preferred_channel"}


def _lock_request(request: DataSubjectRequest) -> DataSubjectRequest:
    return DataSubjectRequest.objects.select_for_update().get(pk=request.pk)


def _require_open(request: DataSubjectRequest) -> None:
    if request.status not in OPEN_REQUEST_STATUSES:
        raise ValidationError(f"{request.reference} is {request.get_status_display().lower()}.")


def _request_event(
    request: DataSubjectRequest,
    event_type: AuditEventType,
    actor: Actor,
    reason: str,
    **new: Any,
) -> None:
    audit_event_record(
        event_type=event_type,
        actor=actor,
        subject=request,
        reason=reason,
        new={"reference": request.reference, "status": request.status, **new},
        customer_number=request.customer.customer_number if request.customer else "",
    )


@transaction.atomic
def dsr_receive(
    *,
    kind: RequestKind | str,
    received_via: Channel | str,
    actor: Actor,
    reason: str,
    customer: Customer | None = None,
    contact_email: str = "",
    details: str = "",
    changes: dict[str, Any] | None = None,
    received_at: datetime.datetime | None = None,
) -> DataSubjectRequest:
    """Register a data-subject request; the one-month deadline starts now.

    A rectification must say what to correct (``changes``: identity field
    name to value). The customer may be unknown until identity verification.
    """
    if kind not in RequestKind.values:
        raise ValidationError({"kind": f"Unknown request kind {kind!r}."})
    changes = changes or {}
    if kind == RequestKind.RECTIFICATION:
        unknown = sorted(set(changes) - RECTIFIABLE_FIELDS)
        if not changes or unknown:
            raise ValidationError(
                {"changes": f"A rectification needs identity fields to correct; not {unknown}."}
            )
    received_at = received_at or timezone.now()
    number = number_allocate(name="data_subject_request")[0]
    request = DataSubjectRequest(
        reference=f"DSR-{number}",
        kind=kind,
        customer=customer,
        received_via=_resolve_channel(received_via, "received_via"),
        received_at=received_at,
        due_at=received_at + DSR_DEADLINE,
        contact_email=contact_email,
        details=details,
        changes=changes,
    )
    model_save(request, actor=actor, reason=reason)
    _request_event(request, AuditEventType.DSR_RECEIVED, actor, reason, kind=request.kind)
    return request


@transaction.atomic
def dsr_assign(
    *, request: DataSubjectRequest, assignee: User, actor: Actor, reason: str
) -> DataSubjectRequest:
    """Assign a request to a privacy officer, who gets the object permission on it.

    The assignee must be in the Privacy officer group; a previous assignee
    loses the permission. A received request moves to "verifying".
    """
    if not assignee.groups.filter(name=group_name("privacy_officer")).exists():
        raise ValidationError({"assigned_to": f"{assignee} is not a privacy officer."})
    locked = _lock_request(request)
    _require_open(locked)
    previous = locked.assigned_to
    if previous is not None and previous.pk != assignee.pk:
        remove_perm("consent.change_datasubjectrequest", previous, locked)
    assign_perm("consent.change_datasubjectrequest", assignee, locked)
    locked.assigned_to = assignee
    if locked.status == RequestStatus.RECEIVED:
        locked.status = RequestStatus.VERIFYING
    model_save(locked, actor=actor, reason=reason)
    _request_event(
        locked,
        AuditEventType.DSR_ASSIGNED,
        actor,
        reason,
        assigned_to=assignee.pk,
        previous=previous.pk if previous else None,
    )
    return locked


@transaction.atomic
def dsr_verify_identity(
    *,
    request: DataSubjectRequest,
    actor: Actor,
    reason: str,
    customer: Customer | None = None,
) -> DataSubjectRequest:
    """Record that the requester proved to be the customer (how: ``reason``).

    Needs a person as actor. ``customer`` links the request when it came in
    without one. Nothing is fulfilled before this.
    """
    if actor.user is None:
        raise ValidationError("Identity is verified by a person.")
    locked = _lock_request(request)
    _require_open(locked)
    if locked.identity_verified_at is not None:
        raise ValidationError(f"{locked.reference}: identity already verified.")
    if customer is not None:
        locked.customer = customer
    if locked.customer is None:
        raise ValidationError({"customer": "Say which customer the requester proved to be."})
    locked.identity_verified_at = timezone.now()
    locked.identity_verified_by = actor.user
    if locked.status == RequestStatus.RECEIVED:
        locked.status = RequestStatus.VERIFYING
    model_save(locked, actor=actor, reason=reason)
    _request_event(locked, AuditEventType.DSR_IDENTITY_VERIFIED, actor, reason)
    return locked


@transaction.atomic
def dsr_extend(
    *,
    request: DataSubjectRequest,
    extended_due_at: datetime.datetime,
    actor: Actor,
    reason: str,
) -> DataSubjectRequest:
    """Extend the deadline (at most three months after receipt), telling the person.

    The reason is required and is sent, after commit, to the request's
    contact address, which must be known.
    """
    if not reason.strip():
        raise ValidationError({"extension_reason": "An extension needs a reason."})
    locked = _lock_request(request)
    _require_open(locked)
    if not locked.contact_email:
        raise ValidationError({"contact_email": "The person must be told: no contact address."})
    if extended_due_at <= locked.due_at:
        raise ValidationError({"extended_due_at": "An extension ends after the deadline."})
    if extended_due_at > locked.received_at + DSR_MAX_DEADLINE:
        raise ValidationError(
            {"extended_due_at": "At most three months after the request was received."}
        )
    old_due = locked.extended_due_at or locked.due_at
    locked.extended_due_at = extended_due_at
    locked.extension_reason = reason
    model_save(locked, actor=actor, reason=reason)
    _request_event(
        locked,
        AuditEventType.DSR_EXTENDED,
        actor,
        reason,
        old_due=old_due.isoformat(),
        extended_due_at=extended_due_at.isoformat(),
    )
    from .tasks import dsr_send_extension_notice

    on_commit_delay(dsr_send_extension_notice, locked.pk)
    return locked


def dsr_extension_notice_send(*, request_id: int) -> bool:
    """Send the extension e-mail of a request; False when there is nothing to send."""
    request = DataSubjectRequest.objects.filter(pk=request_id).first()
    if request is None or request.extended_due_at is None or not request.contact_email:
        return False
    send_mail(
        f"Your request {request.reference}: new deadline",
        (
            f"We need more time to answer your request {request.reference}.\n"
            f"We will answer by {request.extended_due_at:%d %B %Y}.\n"
            f"Why: {request.extension_reason}\n"
        ),
        None,
        [request.contact_email],
    )
    return True


@transaction.atomic
def dsr_fulfil(*, request: DataSubjectRequest, actor: Actor, reason: str) -> DataSubjectRequest:
    """Start fulfilment: refused unless the identity was verified.

    Moves the request to "in progress" and enqueues the fulfilment task once
    the transaction commits.
    """
    locked = _lock_request(request)
    _require_open(locked)
    if locked.identity_verified_at is None or locked.customer is None:
        raise ValidationError(f"{locked.reference}: verify the requester's identity first.")
    if locked.status == RequestStatus.IN_PROGRESS:
        raise ValidationError(f"{locked.reference} is already being fulfilled.")
    locked.status = RequestStatus.IN_PROGRESS
    locked.progress = 0
    model_save(locked, actor=actor, reason=reason)
    _request_event(locked, AuditEventType.DSR_FULFILMENT_STARTED, actor, reason)
    from .tasks import dsr_fulfil_task

    on_commit_delay(dsr_fulfil_task, locked.pk)
    return locked


@transaction.atomic
def dsr_reject(*, request: DataSubjectRequest, actor: Actor, reason: str) -> DataSubjectRequest:
    """Reject a request (manifestly unfounded, identity not proven), with the reason."""
    locked = _lock_request(request)
    _require_open(locked)
    locked.status = RequestStatus.REJECTED
    locked.outcome = reason
    locked.completed_at = timezone.now()
    model_save(locked, actor=actor, reason=reason)
    _request_event(locked, AuditEventType.DSR_REJECTED, actor, reason)
    return locked


def _dump(queryset: QuerySet[Any]) -> list[dict[str, Any]]:
    rows = serializers.serialize("python", queryset.order_by("pk"))
    return json.loads(json.dumps(rows, cls=DjangoJSONEncoder))  # type: ignore[no-any-return]


def _plain(rows: Iterable[Any]) -> list[dict[str, Any]]:
    return json.loads(json.dumps(list(rows), cls=DjangoJSONEncoder))  # type: ignore[no-any-return]


Section = tuple[str, Callable[[], list[dict[str, Any]]]]


def _export_everything(identities: list[Customer]) -> list[Section]:
    """Every table that holds something about the person, as (name, reader)."""
    ids = [c.pk for c in identities]
    numbers = [c.customer_number for c in identities]
    querysets: dict[str, QuerySet[Any]] = {
        "customers": Customer.objects.filter(pk__in=ids),
        "source_records": SourceRecord.objects.filter(customer_id__in=ids),
        "interactions": Interaction.objects.filter(customer_id__in=ids),
        "holdings": Holding.objects.filter(customer_id__in=ids),
        "cases": Case.objects.filter(customer_id__in=ids),
        "consents": ConsentRecord.objects.filter(customer_id__in=ids),
        "processing_restrictions": ProcessingRestriction.objects.filter(customer_id__in=ids),
        "household_memberships": HouseholdMembership.objects.filter(customer_id__in=ids),
        "relationships": Relationship.objects.filter(
            Q(from_customer_id__in=ids) | Q(to_customer_id__in=ids)
        ),
        "outbound_actions": OutboundAction.objects.filter(customer_id__in=ids),
        "flags": Flag.objects.filter(customer_id__in=ids),
        "data_subject_requests": DataSubjectRequest.objects.filter(customer_id__in=ids),
        "audit_events": AuditEvent.objects.filter(customer_number__in=numbers),
    }
    return [(name, functools.partial(_dump, queryset)) for name, queryset in querysets.items()]


def _export_provided(identities: list[Customer]) -> list[Section]:
    """What the person provided (portability), as (name, reader)."""
    ids = [c.pk for c in identities]
    fields = sorted(RECTIFIABLE_FIELDS)
    return [
        (
            "customers",
            lambda: _plain(Customer.objects.filter(pk__in=ids).order_by("pk").values(*fields)),
        ),
        (
            "source_records",
            lambda: _plain(
                SourceRecord.objects.filter(customer_id__in=ids)
                .order_by("pk")
                .values("source_system__code", "source_key", "raw", "received_at")
            ),
        ),
        (
            "consents",
            lambda: _plain(
                ConsentRecord.objects.filter(customer_id__in=ids)
                .exclude(capture_method=CaptureMethod.MERGE)
                .order_by("pk")
                .values(
                    "purpose__code",
                    "channel__code",
                    "status",
                    "effective_from",
                    "effective_until",
                    "captured_at",
                )
            ),
        ),
    ]


def _summary(request: DataSubjectRequest, identities: list[Customer], data: dict[str, Any]) -> str:
    lines = [
        f"Data held about you — request {request.reference}",
        f"Customer numbers: {', '.join(c.customer_number for c in identities)}",
        "",
    ]
    for customer in identities:
        lines.append(f"{customer.customer_number}: {customer.display_name or '(no name)'}")
        for name in sorted(RECTIFIABLE_FIELDS):
            value = getattr(customer, name)
            if value not in ("", None):
                lines.append(f"  {name.replace('_', ' ')}: {value}")
    lines.append("")
    lines.append("What we hold, by kind:")
    for section, rows in data.items():
        if section != "customers":
            lines.append(f"  {section.replace('_', ' ')}: {len(rows)}")
    return "\n".join(lines) + "\n"


# --- fulfilment: claimed by one task, progress per step, retried when transient ----------

# A claim older than this is taken over: its worker died without letting go.
DSR_CLAIM_LEASE = datetime.timedelta(minutes=30)
# PostgreSQL SQLSTATEs worth retrying: serialization failure, deadlock, lock not available.
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
TRANSIENT_MESSAGES = ("database is locked", "database table is locked", "deadlock detected")


class TransientDatabaseError(Exception):
    """A database error that a later attempt can overcome (deadlock, serialization
    failure, lock timeout, SQLite busy): the only kind the fulfilment task retries."""


def database_error_is_transient(error: OperationalError) -> bool:
    """Whether ``error`` is a deadlock, serialization failure or lock timeout.

    Anything else (a missing table, a lost connection string, a bug) is not
    retried: repeating it would only delay the failure that needs a person.
    """
    cause = error.__cause__
    code = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    if code in TRANSIENT_SQLSTATES:
        return True
    text = str(error).lower()
    return any(message in text for message in TRANSIENT_MESSAGES)


@dataclass
class FulfilmentProgress:
    """The progress a fulfilment run reports on its request, step by step.

    Each ``step`` is written at once (outside a transaction it is visible to
    the officer watching; inside the final one it lands with the result).
    Steps hold counts and table names, never personal data.
    """

    request_id: int
    worker: str
    steps: list[dict[str, Any]]
    percent: int = 0

    def step(self, percent: int, step: str, **detail: Any) -> None:
        self.percent = max(self.percent, min(percent, 100))
        self.steps.append({"step": step, "at": timezone.now().isoformat(), **detail})
        DataSubjectRequest.objects.filter(pk=self.request_id, claimed_by=self.worker).update(
            progress=self.percent, progress_steps=self.steps
        )

    def between(self, start: int, end: int, done: int, total: int) -> int:
        return start + (end - start) * done // max(total, 1)


def _dsr_claim(request_id: int, worker: str) -> DataSubjectRequest | None:
    """Claim an in-progress request for ``worker`` by compare-and-set; None when
    it is gone, not in progress (done, never started) or held by a live claim."""
    now = timezone.now()
    claimable = Q(claimed_by="") | Q(claimed_by=worker) | Q(claimed_at__lt=now - DSR_CLAIM_LEASE)
    claimed = (
        DataSubjectRequest.objects.filter(pk=request_id, status=RequestStatus.IN_PROGRESS)
        .filter(claimable)
        .update(claimed_by=worker, claimed_at=now, attempts=F("attempts") + 1)
    )
    if claimed != 1:
        return None
    return DataSubjectRequest.objects.select_related("customer").get(pk=request_id)


def _dsr_release(progress: FulfilmentProgress, error: BaseException, transient: bool) -> None:
    """Record a failed attempt and let go of the claim, so a retry (or a person) can act.

    The steps reported inside the rolled-back transaction did not happen: the
    list starts again from what was committed.
    """
    progress.steps = list(
        DataSubjectRequest.objects.filter(pk=progress.request_id)
        .values_list("progress_steps", flat=True)
        .first()
        or []
    )
    progress.steps.append(
        {
            "step": "failed",
            "at": timezone.now().isoformat(),
            "error": type(error).__name__,
            "transient": transient,
        }
    )
    DataSubjectRequest.objects.filter(pk=progress.request_id, claimed_by=progress.worker).update(
        progress_steps=progress.steps, claimed_by="", claimed_at=None
    )


def _export_prepare(
    request: DataSubjectRequest, identities: list[Customer], progress: FulfilmentProgress
) -> Callable[[DataSubjectRequest, Actor], str]:
    """Read every section, reporting each table; returns what stores the export."""
    if request.kind == RequestKind.PORTABILITY:
        kind, sections = ExportKind.PORTABILITY, _export_provided(identities)
    else:
        kind, sections = ExportKind.ACCESS, _export_everything(identities)
    data: dict[str, Any] = {}
    for done, (name, read) in enumerate(sections, start=1):
        data[name] = read()
        progress.step(
            progress.between(10, 90, done, len(sections)),
            "exported",
            table=name,
            rows=len(data[name]),
        )

    def store(locked: DataSubjectRequest, actor: Actor) -> str:
        DataSubjectExport.objects.update_or_create(
            request=locked,
            defaults={"kind": kind, "data": data, "summary": _summary(locked, identities, data)},
        )
        return f"Export of {len(identities)} identities ready."

    return store


ERASED_CUSTOMER_VALUES: dict[str, Any] = {
    "given_name": "",
    "middle_name": "",
    "family_name": "",
    "date_of_birth": None,
    "email": "",
    "phone": "",
    "address_line1": "",
    "address_line2": "",
    "locality": "",
    "region": "",
    "postcode": "",
    "lineage": {},
}
ERASED_TEXT = "[erased]"
# Shorter name parts are not searched for in household labels ("Li" would
# match "Lindqvist"); a label is compared word by word.
NAME_PART_MIN_LENGTH = 2


@dataclass(frozen=True, slots=True)
class ErasureTarget:
    """One table an erasure changes: what it would touch, and how it blanks it.

    ``apply`` runs inside the erasure's single transaction and returns how
    many rows it changed; the row history is scrubbed in the same step.
    """

    table: str
    queryset: QuerySet[Any]
    apply: Callable[[Actor, str], int]


def _household_labels_naming(identities: list[Customer]) -> QuerySet[Any]:
    """The households of these identities whose label contains one of their names."""
    names = {
        part.casefold()
        for customer in identities
        for value in (customer.given_name, customer.middle_name, customer.family_name)
        for part in value.replace("-", " ").split()
        if len(part) >= NAME_PART_MIN_LENGTH
    }
    household_ids = HouseholdMembership.objects.filter(
        customer_id__in=[c.pk for c in identities]
    ).values_list("household_id", flat=True)
    query = Q()
    for name in sorted(names):
        query |= Q(label__icontains=name)
    if not names:
        return Household.objects.none()
    candidates = Household.objects.filter(pk__in=household_ids).filter(query)
    # icontains finds "Ann" in "Hannover"; keep only labels naming a whole word.
    matching = [
        h.pk
        for h in candidates
        if names & {word.casefold() for word in h.label.replace("-", " ").split()}
    ]
    return Household.objects.filter(pk__in=matching)


def _erasure_targets(identities: list[Customer]) -> list[ErasureTarget]:
    """Every table an erasure of these identities changes, in the order it runs.

    Kept (what the law and the aggregates need): customer numbers, country,
    lifecycle; amounts, dates, kinds and channels of interactions, holdings
    and cases; the consent ledger's statements (proof) without IP address and
    user agent; the audit log. Row history is scrubbed of the same values.
    """
    ids = [c.pk for c in identities]
    customers = Customer.objects.filter(pk__in=ids)
    records = SourceRecord.objects.filter(customer_id__in=ids).exclude(raw={}, normalized={})
    interactions = Interaction.objects.filter(customer_id__in=ids).exclude(summary="")
    cases = Case.objects.filter(customer_id__in=ids).exclude(subject=ERASED_TEXT, description="")
    consents = ConsentRecord.objects.filter(customer_id__in=ids).filter(
        Q(ip_address__isnull=False) | ~Q(user_agent="")
    )
    households = _household_labels_naming(identities)
    exports = DataSubjectExport.objects.filter(request__customer_id__in=ids).exclude(
        summary=ERASED_TEXT
    )

    def erase_customers(actor: Actor, reason: str) -> int:
        rows = list(customers.select_for_update().order_by("pk"))
        for customer in rows:
            for name, value in ERASED_CUSTOMER_VALUES.items():
                setattr(customer, name, value)
            model_save(customer, actor=actor, reason=reason)
        # Row history keeps earlier values: scrub them too, or erasure is a pretence.
        Customer.history.model.objects.filter(id__in=ids).update(**ERASED_CUSTOMER_VALUES)  # type: ignore[attr-defined]
        return len(rows)

    def erase_records(actor: Actor, reason: str) -> int:
        rows = list(records.order_by("pk"))
        for record in rows:
            record.raw, record.normalized = {}, {}
        model_bulk_update(rows, fields=["raw", "normalized"], actor=actor, reason=reason)
        SourceRecord.history.model.objects.filter(customer_id__in=ids).update(  # type: ignore[attr-defined]
            raw={}, normalized={}
        )
        return len(rows)

    def erase_interactions(actor: Actor, reason: str) -> int:
        rows = list(interactions.order_by("pk"))
        for interaction in rows:
            interaction.summary = ""
        model_bulk_update(rows, fields=["summary"], actor=actor, reason=reason)
        Interaction.history.model.objects.filter(customer_id__in=ids).exclude(summary="").update(  # type: ignore[attr-defined]
            summary=""
        )
        return len(rows)

    def erase_cases(actor: Actor, reason: str) -> int:
        rows = list(cases.order_by("pk"))
        for case in rows:
            case.subject, case.description = ERASED_TEXT, ""
        model_bulk_update(rows, fields=["subject", "description"], actor=actor, reason=reason)
        Case.history.model.objects.filter(customer_id__in=ids).update(  # type: ignore[attr-defined]
            subject=ERASED_TEXT, description=""
        )
        return len(rows)

    def erase_consent_evidence(actor: Actor, reason: str) -> int:
        rows = list(consents.order_by("pk"))
        for consent in rows:
            consent.ip_address, consent.user_agent = None, ""
        model_bulk_update(rows, fields=["ip_address", "user_agent"], actor=actor, reason=reason)
        ConsentRecord.history.model.objects.filter(customer_id__in=ids).update(  # type: ignore[attr-defined]
            ip_address=None, user_agent=""
        )
        return len(rows)

    def relabel_households(actor: Actor, reason: str) -> int:
        # The other members still live there: the household stays, under a
        # label that names nobody.
        rows = list(households.order_by("pk"))
        for household in rows:
            household.label = f"Household {household.pk}"
        model_bulk_update(rows, fields=["label"], actor=actor, reason=reason)
        for household in rows:
            Household.history.model.objects.filter(id=household.pk).update(label=household.label)  # type: ignore[attr-defined]
        return len(rows)

    def erase_exports(actor: Actor, reason: str) -> int:
        return exports.update(data={}, summary=ERASED_TEXT)

    return [
        ErasureTarget("profiles.Customer", customers, erase_customers),
        ErasureTarget("profiles.SourceRecord", records, erase_records),
        ErasureTarget("profiles.Interaction", interactions, erase_interactions),
        ErasureTarget("profiles.Case", cases, erase_cases),
        ErasureTarget("consent.ConsentRecord", consents, erase_consent_evidence),
        ErasureTarget("profiles.Household", households, relabel_households),
        ErasureTarget("consent.DataSubjectExport", exports, erase_exports),
    ]


def _erasure_prepare(
    request: DataSubjectRequest, identities: list[Customer], progress: FulfilmentProgress
) -> Callable[[DataSubjectRequest, Actor], str]:
    """Count what each table holds (reported per table), then return the erasure
    itself, which runs in the completion's single transaction: a crash or a
    retry never leaves a half-erased person."""
    targets = _erasure_targets(identities)
    for done, target in enumerate(targets, start=1):
        progress.step(
            progress.between(10, 50, done, len(targets)),
            "planned",
            table=target.table,
            rows=target.queryset.count(),
        )

    def erase(locked: DataSubjectRequest, actor: Actor) -> str:
        reason = f"Erasure request {locked.reference}"
        changed: dict[str, int] = {}
        for done, target in enumerate(targets, start=1):
            changed[target.table] = target.apply(actor, reason)
            progress.step(
                progress.between(50, 95, done, len(targets)),
                "erased",
                table=target.table,
                rows=changed[target.table],
            )
        for customer in identities:
            audit_event_record(
                event_type=AuditEventType.CUSTOMER_ERASED,
                actor=actor,
                subject=customer,
                reason=reason,
                new={"request": locked.reference, "rows": changed},
                customer_number=customer.customer_number,
            )
        return (
            f"Erased {len(identities)} identities, "
            f"{changed['profiles.SourceRecord']} source records, "
            f"{changed['profiles.Interaction']} interaction summaries, "
            f"{changed['profiles.Case']} cases, "
            f"{changed['profiles.Household']} household labels."
        )

    return erase


def _restriction_prepare(
    request: DataSubjectRequest, identities: list[Customer], progress: FulfilmentProgress
) -> Callable[[DataSubjectRequest, Actor], str]:
    def restrict(locked: DataSubjectRequest, actor: Actor) -> str:
        processing_restriction_create(
            customer=identities[0],
            request=locked,
            actor=actor,
            reason=f"Restriction request {locked.reference}",
        )
        progress.step(95, "restricted", identities=len(identities))
        return "Processing restricted."

    return restrict


def _rectification_prepare(
    request: DataSubjectRequest, identities: list[Customer], progress: FulfilmentProgress
) -> Callable[[DataSubjectRequest, Actor], str]:
    def rectify(locked: DataSubjectRequest, actor: Actor) -> str:
        customer_update(
            customer=identities[0],
            actor=actor,
            reason=f"Rectification request {locked.reference}",
            changes=locked.changes,
        )
        progress.step(95, "rectified", fields=sorted(locked.changes))
        return f"Corrected: {', '.join(sorted(locked.changes))}."

    return rectify


Prepare = Callable[
    [DataSubjectRequest, list[Customer], FulfilmentProgress],
    Callable[[DataSubjectRequest, Actor], str],
]
FULFILMENT: dict[str, Prepare] = {
    RequestKind.ACCESS: _export_prepare,
    RequestKind.PORTABILITY: _export_prepare,
    RequestKind.ERASURE: _erasure_prepare,
    RequestKind.RESTRICTION: _restriction_prepare,
    RequestKind.RECTIFICATION: _rectification_prepare,
}


def dsr_fulfilment_run(*, request_id: int, worker: str = "") -> bool:
    """Carry out a request that ``dsr_fulfil`` started; what the task runs.

    Idempotent: returns False, doing nothing, when the request is gone, not
    in progress (already done, never started) or claimed by another live
    delivery. ``worker`` names the claim (the Celery task id, the same on
    every retry of one task); the claim is a compare-and-set on the row.

    Progress is reported per step on the request (identities found; each
    table exported, or counted before an erasure; each table erased), with
    a percentage. The change itself and the completion are one transaction
    under the request's row lock, so a crash leaves the request in progress
    with nothing half-done (a half-erased person cannot exist). A failure
    records a ``failed`` step and releases the claim; a transient database
    error (deadlock, serialization failure, lock timeout) is re-raised as
    ``TransientDatabaseError`` for the task to retry with backoff.
    """
    worker = worker or f"inline-{uuid.uuid4().hex}"
    try:
        request = _dsr_claim(request_id, worker)
    except OperationalError as error:
        if database_error_is_transient(error):
            raise TransientDatabaseError(str(error)) from error
        raise
    if request is None:
        return False
    progress = FulfilmentProgress(request_id, worker, list(request.progress_steps))
    try:
        return _dsr_fulfil_claimed(request, progress)
    except OperationalError as error:
        transient = database_error_is_transient(error)
        _dsr_release(progress, error, transient)
        if transient:
            raise TransientDatabaseError(str(error)) from error
        raise
    except Exception as error:
        _dsr_release(progress, error, False)
        raise


def _dsr_fulfil_claimed(request: DataSubjectRequest, progress: FulfilmentProgress) -> bool:
    actor = Actor.system(f"task:dsr-fulfil {request.pk}")
    progress.step(5, "started", attempt=request.attempts)
    identities = customer_identities(customer=request.customer)  # type: ignore[arg-type]
    progress.step(10, "identities", count=len(identities))
    finish = FULFILMENT[request.kind](request, identities, progress)
    with transaction.atomic():
        locked = (
            DataSubjectRequest.objects.select_for_update(of=("self",))
            .select_related("customer")
            .filter(pk=request.pk, status=RequestStatus.IN_PROGRESS, claimed_by=progress.worker)
            .first()
        )
        if locked is None:
            return False  # the claim was taken over after its lease ran out
        outcome = finish(locked, actor)
        progress.step(100, "completed")
        locked.status = RequestStatus.COMPLETED
        locked.progress = 100
        locked.progress_steps = progress.steps
        locked.claimed_by, locked.claimed_at = "", None
        locked.completed_at = timezone.now()
        locked.outcome = outcome
        model_save(locked, actor=actor, reason=f"Fulfilled: {outcome}")
        _request_event(locked, AuditEventType.DSR_COMPLETED, actor, outcome)
        survivor = identities[0]
        event_publish(
            event_type=DomainEventType.DSR_COMPLETED,
            customer_number=survivor.customer_number,
            payload={
                "reference": locked.reference,
                "kind": locked.kind,
                "customer_number": survivor.customer_number,
                "customer_numbers": [c.customer_number for c in identities],
                "completed_at": locked.completed_at.isoformat(),
            },
        )
    return True


# --- retention -------------------------------------------------------------------

# Canonical field whose retention period applies to interactions' free text.
INTERACTION_SUMMARY_FIELD = "interaction_summary"
RETENTION_CHUNK = 1000


@dataclass(frozen=True, slots=True)
class RetentionTarget:
    """Values of one field definition in one model that are past retention."""

    field: str
    model: str
    action: RetentionAction
    queryset: QuerySet[Any]
    apply: Callable[[list[Any]], list[str]]  # blanks the values; returns the changed fields


def _retention_targets(at: datetime.datetime) -> list[RetentionTarget]:
    targets: list[RetentionTarget] = []
    definitions = FieldDefinition.objects.filter(
        status=GovernanceStatus.APPROVED, retention_days__isnull=False
    ).order_by("canonical_name")
    for definition in definitions:
        name = definition.canonical_name
        cutoff = at - datetime.timedelta(days=definition.retention_days or 0)
        mapped = {
            (system_id, column)
            for system_id, column in SourceFieldMapping.objects.filter(
                field_definition__canonical_name=name, status=GovernanceStatus.APPROVED
            ).values_list("source_system_id", "source_field")
        }

        def strip(rows: list[Any], name: str = name, mapped: set[Any] = mapped) -> list[str]:
            for row in rows:
                row.normalized = {k: v for k, v in row.normalized.items() if k != name}
                row.raw = {
                    k: v for k, v in row.raw.items() if (row.source_system_id, k) not in mapped
                }
            return ["normalized", "raw"]

        targets.append(
            RetentionTarget(
                name,
                "profiles.SourceRecord",
                RetentionAction.ANONYMIZE,
                SourceRecord.objects.filter(received_at__lt=cutoff, normalized__has_key=name),
                strip,
            )
        )
        if name in RECTIFIABLE_FIELDS:
            empty = ERASED_CUSTOMER_VALUES.get(name, "")

            def blank(rows: list[Any], name: str = name, empty: Any = empty) -> list[str]:
                for row in rows:
                    setattr(row, name, empty)
                return [name]

            present = ~Q(**{f"{name}__isnull": True}) & ~Q(**{name: ""})
            if empty is None:
                present = Q(**{f"{name}__isnull": False})
            targets.append(
                RetentionTarget(
                    name,
                    "profiles.Customer",
                    RetentionAction.ANONYMIZE,
                    Customer.objects.filter(updated_at__lt=cutoff).filter(present),
                    blank,
                )
            )
        if name == INTERACTION_SUMMARY_FIELD and definition.retention_action == (
            RetentionAction.DELETE
        ):
            # The committee decided interactions themselves expire: the rows
            # go, only aggregate counts stay (see ``_deleted_aggregates``).
            targets.append(
                RetentionTarget(
                    name,
                    "profiles.Interaction",
                    RetentionAction.DELETE,
                    Interaction.objects.filter(occurred_at__lt=cutoff),
                    lambda rows: [],
                )
            )
        elif name == INTERACTION_SUMMARY_FIELD:

            def clear(rows: list[Any]) -> list[str]:
                for row in rows:
                    row.summary = ""
                return ["summary"]

            targets.append(
                RetentionTarget(
                    name,
                    "profiles.Interaction",
                    RetentionAction.ANONYMIZE,
                    Interaction.objects.filter(occurred_at__lt=cutoff).exclude(summary=""),
                    clear,
                )
            )
    return targets


# What a deleted interaction leaves behind: how many of a kind, through which
# channel, for which silo, in which month. No customer, no content.
AGGREGATE_KEYS = ("silo", "kind", "channel", "month")


def _deleted_aggregates(queryset: QuerySet[Any]) -> dict[tuple[str, ...], int]:
    """Counts of the interactions in ``queryset`` by silo, kind, channel and month."""
    rows = (
        queryset.annotate(month=TruncMonth("occurred_at"))
        .values("silo__code", "kind", "channel__code", "month")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts: dict[tuple[str, ...], int] = {}
    for row in rows:
        key = (row["silo__code"], row["kind"], row["channel__code"], f"{row['month']:%Y-%m}")
        counts[key] = counts.get(key, 0) + row["n"]
    return counts


def _aggregates_list(counts: dict[tuple[str, ...], int]) -> list[dict[str, Any]]:
    return [
        {**dict(zip(AGGREGATE_KEYS, key, strict=True)), "count": count}
        for key, count in sorted(counts.items())
    ]


def retention_report(*, at: datetime.datetime) -> list[dict[str, Any]]:
    """What applying retention at ``at`` would do: counts per field and model, and
    for deletions the aggregate counts that will remain of the deleted rows."""
    report = []
    for t in _retention_targets(at):
        item: dict[str, Any] = {
            "field": t.field,
            "model": t.model,
            "action": t.action,
            "count": t.queryset.count(),
        }
        if t.action == RetentionAction.DELETE:
            item["kept_counts"] = _aggregates_list(_deleted_aggregates(t.queryset))
        report.append(item)
    return report


def _retention_delete_chunk(target: RetentionTarget, counts: dict[tuple[str, ...], int]) -> int:
    """Delete one chunk of expired rows with their history; add them to ``counts``.

    The history of a deleted row is removed with it: what stays is the
    run's report and audit event with aggregate counts, never the content.
    """
    model = target.queryset.model
    with transaction.atomic():
        ids = list(
            target.queryset.select_for_update()
            .order_by("pk")
            .values_list("pk", flat=True)[:RETENTION_CHUNK]
        )
        if not ids:
            return 0
        chunk = model._default_manager.filter(pk__in=ids)
        for key, count in _deleted_aggregates(chunk).items():
            counts[key] = counts.get(key, 0) + count
        chunk.delete()
        model.history.model.objects.filter(id__in=ids).delete()  # type: ignore[attr-defined]
    return len(ids)


def retention_apply(
    *, actor: Actor, dry_run: bool, at: datetime.datetime | None = None
) -> RetentionRun:
    """Apply (or, with ``dry_run``, only report) every field's retention period.

    Values past retention are blanked, with row history written and the
    older history rows scrubbed of them, in chunks of one transaction each,
    so a large run makes progress and a rerun continues where it stopped
    (rows already blanked no longer match). Where the field definition's
    retention action is ``delete`` (interactions, through the
    ``interaction_summary`` definition), expired rows are deleted with their
    history; counts by silo, kind, channel and month are kept in the report
    and the audit event. The dry run's report and the real run's report
    agree for the same data and moment.
    """
    at = at or timezone.now()
    run = RetentionRun.objects.create(dry_run=dry_run, as_of=at, triggered_by=actor.describe())
    if dry_run:
        run.report = retention_report(at=at)
    else:
        reason = f"Retention period expired (run {run.pk})"
        report = []
        for target in _retention_targets(at):
            changed = 0
            model = target.queryset.model
            if target.action == RetentionAction.DELETE:
                counts: dict[tuple[str, ...], int] = {}
                while deleted := _retention_delete_chunk(target, counts):
                    changed += deleted
                report.append(
                    {
                        "field": target.field,
                        "model": target.model,
                        "action": target.action,
                        "count": changed,
                        "kept_counts": _aggregates_list(counts),
                    }
                )
                continue
            while True:
                with transaction.atomic():
                    rows = list(
                        target.queryset.select_for_update().order_by("pk")[:RETENTION_CHUNK]
                    )
                    if not rows:
                        break
                    fields = target.apply(rows)
                    model_bulk_update(rows, fields=fields, actor=actor, reason=reason)
                    _scrub_history(model, rows, fields)
                    changed += len(rows)
            report.append(
                {
                    "field": target.field,
                    "model": target.model,
                    "action": target.action,
                    "count": changed,
                }
            )
        run.report = report
        if any(item["count"] for item in report):
            audit_event_record(
                event_type=AuditEventType.RETENTION_APPLIED,
                actor=actor,
                subject=run,
                reason=reason,
                new={"report": report},
            )
    run.finished_at = timezone.now()
    run.save(update_fields=["report", "finished_at"])
    return run


def _scrub_history(model: type[models.Model], rows: list[Any], fields: list[str]) -> None:
    """Give the history rows of ``rows`` the (blanked) current values of ``fields``."""
    historical = model.history.model  # type: ignore[attr-defined]
    by_pk = {row.pk: row for row in rows}
    old = list(historical.objects.filter(id__in=list(by_pk)))
    for entry in old:
        row = by_pk[entry.id]
        for name in fields:
            setattr(entry, name, getattr(row, name))
    historical.objects.bulk_update(old, fields, batch_size=RETENTION_CHUNK)


# --- privacy checks -----------------------------------------------------------------

Finding = dict[str, Any]
SAMPLE_SIZE = 10
# A request due within this many days is "at risk".
DSR_RISK_WINDOW = datetime.timedelta(days=7)


def _group_findings(
    queryset: QuerySet[Any],
    *,
    group: tuple[str, ...],
    severity: Severity,
    sample_field: str,
    extra: dict[str, Any] | None = None,
) -> list[Finding]:
    """One finding per group: the count and a few sample ids (one query per group)."""
    findings = []
    for row in queryset.values(*group).annotate(n=Count("pk")).order_by(*group):
        filters = {name: row[name] for name in group}
        sample = list(
            queryset.filter(**filters)
            .order_by(sample_field)
            .values_list(sample_field, flat=True)
            .distinct()[:SAMPLE_SIZE]
        )
        findings.append(
            {
                "severity": severity,
                "subject": "/".join(str(row[name]) for name in group),
                "count": row["n"],
                "detail": {**filters, "sample": sample, **(extra or {})},
            }
        )
    return findings


def _check_consent_expired(at: datetime.datetime) -> list[Finding]:
    # Granted consents that ended in the last 30 days and that nothing replaced.
    replaced = ConsentRecord.objects.filter(
        customer_id=OuterRef("customer_id"),
        purpose_id=OuterRef("purpose_id"),
        channel_id=OuterRef("channel_id"),
        effective_from__lte=at,
    ).filter(Q(effective_until__isnull=True) | Q(effective_until__gt=at))
    expired = ConsentRecord.objects.filter(
        status=ConsentStatus.GRANTED,
        effective_until__gt=at - RENEWAL_WINDOW,
        effective_until__lte=at,
    ).exclude(Exists(replaced))
    return _group_findings(
        expired,
        group=("purpose__code", "channel__code"),
        severity=Severity.WARNING,
        sample_field="customer__customer_number",
    )


def _check_consent_renewal_due(at: datetime.datetime) -> list[Finding]:
    granted = consents_in_force(at=at).filter(status=ConsentStatus.GRANTED)
    expiring = granted.filter(effective_until__lte=at + RENEWAL_WINDOW)
    outdated = granted.filter(
        _newer_material_notice("purpose_id", "notice__version", "notice__code")
    )
    findings = _group_findings(
        expiring,
        group=("purpose__code", "channel__code"),
        severity=Severity.INFO,
        sample_field="customer__customer_number",
        extra={"why": "expires within 30 days"},
    )
    for finding in _group_findings(
        outdated,
        group=("purpose__code", "channel__code"),
        severity=Severity.WARNING,
        sample_field="customer__customer_number",
        extra={"why": "given under a notice version since changed materially"},
    ):
        finding["subject"] += " (notice changed)"
        findings.append(finding)
    return findings


def _check_retention_due(at: datetime.datetime) -> list[Finding]:
    return [
        {
            "severity": Severity.WARNING,
            "subject": f"{item['field']} in {item['model']}",
            "count": item["count"],
            "detail": item,
        }
        for item in retention_report(at=at)
        if item["count"]
    ]


def _json_key_counts() -> dict[str, int]:
    """How many source records hold each canonical key in ``normalized``; one query."""
    table = SourceRecord._meta.db_table
    if connection.vendor == "postgresql":
        sql = (
            f"SELECT key, count(*) FROM {table}, "  # noqa: S608 (table name from the model)
            "jsonb_object_keys(normalized) AS key GROUP BY key"
        )
    else:
        sql = f"SELECT j.key, count(*) FROM {table}, json_each({table}.normalized) j GROUP BY j.key"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return dict(cursor.fetchall())


def _check_unapproved_data(at: datetime.datetime) -> list[Finding]:
    approved = set(
        DataCollectionDecision.objects.filter(
            kind=DecisionKind.COLLECT_FIELD, status=DecisionStatus.APPROVED
        ).values_list("field_definition__canonical_name", flat=True)
    )
    findings: list[Finding] = []
    for key, count in sorted(_json_key_counts().items()):
        if key not in approved:
            findings.append(
                {
                    "severity": Severity.HIGH,
                    "subject": f"{key} in profiles.SourceRecord",
                    "count": count,
                    "detail": {"field": key, "model": "profiles.SourceRecord"},
                }
            )
    columns = sorted(RECTIFIABLE_FIELDS - approved)
    if columns:
        aggregates = {
            name: Count(
                "pk",
                filter=Q(**{f"{name}__isnull": False})
                if name == "date_of_birth"
                else ~Q(**{name: ""}),
            )
            for name in columns
        }
        counts = Customer.objects.filter(merged_into__isnull=True).aggregate(**aggregates)
        for name in columns:
            if counts[name]:
                findings.append(
                    {
                        "severity": Severity.HIGH,
                        "subject": f"{name} in profiles.Customer",
                        "count": counts[name],
                        "detail": {"field": name, "model": "profiles.Customer"},
                    }
                )
    return findings


def _check_actions_without_consent(at: datetime.datetime) -> list[Finding]:
    granted = consents_in_force(at=at).filter(
        customer_id=OuterRef("customer_id"),
        purpose_id=OuterRef("purpose_id"),
        channel_id=OuterRef("channel_id"),
        status=ConsentStatus.GRANTED,
    )
    restricted = ProcessingRestriction.objects.filter(customer_id=OuterRef("customer_id")).filter(
        restriction_active_q(at)
    )
    queued = OutboundAction.objects.filter(
        status__in=PENDING_ACTION_STATUSES, purpose__requires_consent=True
    ).filter(~Exists(granted) | Exists(restricted))
    return _group_findings(
        queued,
        group=("purpose__code", "channel__code"),
        severity=Severity.HIGH,
        sample_field="pk",
    )


def _check_dsr_at_risk(at: datetime.datetime) -> list[Finding]:
    findings = []
    requests = (
        DataSubjectRequest.objects.filter(status__in=OPEN_REQUEST_STATUSES)
        .filter(
            Q(extended_due_at__isnull=True, due_at__lte=at + DSR_RISK_WINDOW)
            | Q(extended_due_at__lte=at + DSR_RISK_WINDOW)
        )
        .order_by("reference")
    )
    for request in requests:
        due = request.extended_due_at or request.due_at
        findings.append(
            {
                "severity": Severity.HIGH if due <= at else Severity.WARNING,
                "subject": request.reference,
                "count": 1,
                "detail": {
                    "due": due.isoformat(),
                    "status": request.status,
                    "overdue": due <= at,
                    "assigned": request.assigned_to_id is not None,
                    "identity_verified": request.identity_verified_at is not None,
                },
            }
        )
    return findings


CHECKS: dict[str, Callable[[datetime.datetime], list[Finding]]] = {
    PrivacyCheck.CONSENT_EXPIRED: _check_consent_expired,
    PrivacyCheck.CONSENT_RENEWAL_DUE: _check_consent_renewal_due,
    PrivacyCheck.RETENTION_DUE: _check_retention_due,
    PrivacyCheck.UNAPPROVED_DATA: _check_unapproved_data,
    PrivacyCheck.ACTIONS_WITHOUT_CONSENT: _check_actions_without_consent,
    PrivacyCheck.DSR_AT_RISK: _check_dsr_at_risk,
}


def _privacy_check_step(run_id: int, code: str) -> None:
    """Compute one check of a run and mark it done, in one transaction."""
    with transaction.atomic():
        run = PrivacyCheckRun.objects.select_for_update().get(pk=run_id)
        if code in run.completed_checks:
            return
        findings = CHECKS[code](run.as_of)
        PrivacyFinding.objects.filter(run=run, check_code=code).delete()
        PrivacyFinding.objects.bulk_create(
            [PrivacyFinding(run=run, check_code=code, **finding) for finding in findings]
        )
        run.completed_checks = [*run.completed_checks, code]
        run.save(update_fields=["completed_checks"])


def privacy_checks_run(
    *, actor: Actor, resume: bool = True, at: datetime.datetime | None = None
) -> PrivacyCheckRun:
    """Run every privacy check and store the findings; resume an unfinished run.

    With ``resume`` (the default) an earlier run that did not finish (crash,
    worker lost, a failing check) is continued as of its own moment, skipping
    the checks it completed; otherwise a new run starts as of ``at`` (now).
    Each check's findings and its completion marker are written in one
    transaction, so rerunning a check never duplicates findings and the same
    state always gives the same findings. A failing check marks the run
    failed (resumable) and re-raises.
    """
    run = None
    if resume:
        run = (
            PrivacyCheckRun.objects.exclude(status=PrivacyCheckStatus.COMPLETED)
            .order_by("started_at")
            .first()
        )
    if run is None:
        run = PrivacyCheckRun.objects.create(
            as_of=at or timezone.now(), triggered_by=actor.describe()
        )
    elif run.status == PrivacyCheckStatus.FAILED:
        PrivacyCheckRun.objects.filter(pk=run.pk).update(status=PrivacyCheckStatus.RUNNING)
    try:
        for code in CHECKS:
            _privacy_check_step(run.pk, code)
    except Exception:
        PrivacyCheckRun.objects.filter(pk=run.pk).update(status=PrivacyCheckStatus.FAILED)
        raise
    with transaction.atomic():
        run = PrivacyCheckRun.objects.select_for_update().get(pk=run.pk)
        if run.status != PrivacyCheckStatus.COMPLETED:
            run.status = PrivacyCheckStatus.COMPLETED
            run.finished_at = timezone.now()
            run.save(update_fields=["status", "finished_at"])
    return run
