"""Write services of the consent app.

The consent ledger is append-only: every statement is a new
``ConsentRecord``. What is in force for (customer, purpose, channel) at a
moment is read with ``consent.selectors.consent_effective``.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import AbstractApplication

from customer360.choices import AuditEventType
from customer360.services import Actor, audit_event_record, model_save
from profiles.models import Customer, SourceRecord

from .choices import CaptureMethod, ConsentStatus, DoubleOptIn
from .models import Channel, ConsentRecord, PrivacyNotice, Purpose
from .selectors import consent_effective


@transaction.atomic
def consent_record(
    *,
    customer: Customer,
    purpose: Purpose,
    channel: Channel,
    status: ConsentStatus | str,
    capture_method: CaptureMethod | str,
    captured_via: Channel,
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
    period it covers. ``effective_from`` defaults to now. Refused with a
    ``ValidationError`` when the purpose is inactive, or when the customer was
    merged into another (consent belongs on the survivor). The person acting
    is recorded as ``captured_by``; the audit event (consent.recorded, or
    consent.withdrawn for a withdrawal) holds the status in force before and
    after.
    """
    if not purpose.is_active:
        raise ValidationError({"purpose": f"Purpose {purpose.code} is not active."})
    # Lock the customer so that concurrent statements for one customer queue
    # up and each audit event's "old" status is the one really in force.
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    if locked.merged_into_id is not None:
        raise ValidationError(
            f"{locked.customer_number} was merged into another customer; "
            "record consent on the survivor."
        )
    now = timezone.now()
    effective_from = effective_from or now
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
    return record
