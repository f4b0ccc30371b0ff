"""The consent ledger service."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from consent.choices import CaptureMethod, ConsentStatus
from consent.models import Channel, ConsentRecord, Purpose
from consent.services import consent_record
from customer360.choices import AuditEventType
from customer360.models import AuditEvent
from customer360.services import Actor
from profiles.choices import LifecycleStatus
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _record(actor: Actor, **overrides: object) -> ConsentRecord:
    values: dict[str, object] = {
        "customer": overrides.pop("customer", None) or CustomerFactory(),
        "purpose": Purpose.objects.get(code="marketing"),
        "channel": Channel.objects.get(code="sms"),
        "status": ConsentStatus.GRANTED,
        "capture_method": CaptureMethod.IN_PERSON,
        "captured_via": Channel.objects.get(code="store"),
        "actor": actor,
        "reason": "Signed at the counter",
        **overrides,
    }
    return consent_record(**values)  # type: ignore[arg-type]


def test_records_evidence_and_defaults(actor: Actor) -> None:
    before = timezone.now()
    record = _record(actor, evidence_reference="FORM-77")
    assert record.captured_by == actor.user
    assert record.reason == "Signed at the counter"
    assert record.evidence_reference == "FORM-77"
    assert before <= record.effective_from <= timezone.now()
    assert record.captured_at == record.effective_from
    event = AuditEvent.objects.get(event_type=AuditEventType.CONSENT_RECORDED)
    assert event.customer_number == record.customer.customer_number
    assert event.new["purpose"] == "marketing"
    assert event.new["channel"] == "sms"


def test_always_appends(actor: Actor) -> None:
    customer = CustomerFactory()
    for status in (ConsentStatus.GRANTED, ConsentStatus.DENIED, ConsentStatus.GRANTED):
        _record(actor, customer=customer, status=status)
    assert ConsentRecord.objects.filter(customer=customer).count() == 3


def test_withdrawal_is_its_own_event(actor: Actor) -> None:
    _record(actor, status=ConsentStatus.WITHDRAWN)
    assert AuditEvent.objects.get().event_type == AuditEventType.CONSENT_WITHDRAWN


def test_inactive_purpose_is_refused(actor: Actor) -> None:
    purpose = Purpose.objects.get(code="analytics")
    purpose.is_active = False
    purpose.save()
    with pytest.raises(ValidationError) as caught:
        _record(actor, purpose=purpose)
    assert "purpose" in caught.value.message_dict
    assert not ConsentRecord.objects.exists()


def test_period_order_is_validated_before_the_database(actor: Actor) -> None:
    start = timezone.now()
    with pytest.raises(ValidationError):
        _record(actor, effective_from=start, effective_until=start - datetime.timedelta(days=1))
    assert not AuditEvent.objects.exists()


def test_merged_away_customer_is_refused(actor: Actor) -> None:
    merged = CustomerFactory(
        merged_into=CustomerFactory(),
        merged_at=timezone.now(),
        lifecycle_status=LifecycleStatus.MERGED,
    )
    with pytest.raises(ValidationError):
        _record(actor, customer=merged)
