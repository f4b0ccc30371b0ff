"""consent.changed domain events: in the outbox with the change, codes only, and only
where the statement in force changes (recording, withdrawing, merge, unmerge)."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from consent.choices import CaptureMethod, ConsentStatus
from consent.models import Channel, ConsentRecord, Purpose
from consent.services import consent_merge, consent_unmerge, consent_withdraw
from customer360.choices import DomainEventType
from customer360.models import OutboxEvent
from customer360.services import Actor
from tests.factories import ConsentRecordFactory, CustomerFactory

pytestmark = pytest.mark.django_db
DAY = datetime.timedelta(days=1)


def _events() -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(event_type=DomainEventType.CONSENT_CHANGED))


def test_recording_publishes_the_new_state_without_personal_data(
    state: Callable[..., ConsentRecord], marketing: Purpose, email: Channel
) -> None:
    customer = CustomerFactory(given_name="Ada", email="ada@example.org")
    until = timezone.now() + 300 * DAY

    record = state(customer, marketing, email, effective_until=until)

    (event,) = _events()
    assert event.customer_number == customer.customer_number
    assert event.payload == {
        "customer_number": customer.customer_number,
        "purpose": "marketing",
        "channel": "email",
        "status": ConsentStatus.GRANTED,
        "effective_from": record.effective_from.isoformat(),
        "effective_until": until.isoformat(),
    }
    assert "Ada" not in str(event.payload) and "example.org" not in str(event.payload)


def test_withdrawal_publishes_withdrawn(
    state: Callable[..., ConsentRecord],
    actor: Actor,
    marketing: Purpose,
    email: Channel,
    web: Channel,
) -> None:
    customer = CustomerFactory()
    state(customer, marketing, email)

    withdrawn = consent_withdraw(
        customer=customer,
        purpose=marketing,
        channel=email,
        captured_via=web,
        capture_method=CaptureMethod.WEB_FORM,
        actor=actor,
        reason="Unsubscribe link",
    )

    events = _events()
    assert [e.payload["status"] for e in events] == ["granted", "withdrawn"]
    assert events[-1].payload["effective_from"] == withdrawn.effective_from.isoformat()
    assert events[-1].payload["effective_until"] is None


def test_a_refused_statement_publishes_nothing(
    state: Callable[..., ConsentRecord], actor: Actor, marketing: Purpose, email: Channel
) -> None:
    customer = CustomerFactory()
    with pytest.raises(ValidationError):
        consent_withdraw(
            customer=customer,
            purpose=marketing,
            channel=email,
            captured_via="web",
            capture_method=CaptureMethod.WEB_FORM,
            actor=actor,
            reason="Never given",
        )
    with pytest.raises(ValidationError):
        state(customer, marketing, email, effective_until=timezone.now() - DAY)
    assert _events() == []


def test_a_rolled_back_statement_leaves_no_event(
    state: Callable[..., ConsentRecord], marketing: Purpose, email: Channel
) -> None:
    customer = CustomerFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        state(customer, marketing, email)
        raise RuntimeError("the caller's transaction fails later")
    assert _events() == []
    assert not ConsentRecord.objects.exists()


def test_merge_and_unmerge_publish_only_where_the_state_in_force_changes(
    actor: Actor, marketing: Purpose, email: Channel, sms: Channel
) -> None:
    survivor, merged = CustomerFactory(), CustomerFactory()
    earlier = timezone.now() - DAY
    # e-mail: granted vs withdrawn -> the survivor's state changes (withdrawn wins).
    ConsentRecordFactory(
        customer=survivor, purpose=marketing, channel=email, effective_from=earlier
    )
    ConsentRecordFactory(
        customer=merged,
        purpose=marketing,
        channel=email,
        status=ConsentStatus.WITHDRAWN,
        effective_from=earlier,
    )
    # sms: both granted without end -> nothing changes, nothing is announced.
    for customer in (survivor, merged):
        ConsentRecordFactory(
            customer=customer, purpose=marketing, channel=sms, effective_from=earlier
        )

    appended = consent_merge(
        survivor=survivor, merged=merged, actor=actor, reason="Same person", merge_reference="M-1"
    )

    (event,) = _events()
    assert len(appended) == 1
    assert event.customer_number == survivor.customer_number
    assert (event.payload["channel"], event.payload["status"]) == ("email", "withdrawn")

    restored = consent_unmerge(
        survivor=survivor,
        split_off=merged,
        actor=actor,
        reason="Not the same person",
        merge_reference="M-1",
    )

    later: list[Any] = _events()[1:]
    assert len(later) == len(restored) == 1
    assert later[0].customer_number == survivor.customer_number
    assert (later[0].payload["channel"], later[0].payload["status"]) == ("email", "granted")
