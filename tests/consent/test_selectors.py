"""Which consent is in force."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from consent.choices import ConsentStatus
from consent.models import Channel, Purpose
from consent.selectors import consent_allows, consent_effective
from tests.factories import ConsentRecordFactory, CustomerFactory

pytestmark = pytest.mark.django_db
NOW = timezone.now()
DAY = datetime.timedelta(days=1)


@pytest.fixture
def ledger() -> dict[str, object]:
    customer = CustomerFactory()
    marketing = Purpose.objects.get(code="marketing")
    email = Channel.objects.get(code="email")
    common = {"customer": customer, "purpose": marketing, "channel": email}
    granted = ConsentRecordFactory(**common, effective_from=NOW - 30 * DAY)
    # A withdrawal for ten days only (a campaign pause, say).
    paused = ConsentRecordFactory(
        **common,
        status=ConsentStatus.WITHDRAWN,
        effective_from=NOW - 10 * DAY,
        effective_until=NOW - 5 * DAY,
    )
    return {**common, "granted": granted, "paused": paused}


def test_latest_record_covering_the_moment_wins(ledger: dict[str, object]) -> None:
    key = {k: ledger[k] for k in ("customer", "purpose", "channel")}
    assert consent_effective(**key, at=NOW - 40 * DAY) is None  # type: ignore[arg-type]
    assert consent_effective(**key, at=NOW - 20 * DAY) == ledger["granted"]  # type: ignore[arg-type]
    assert consent_effective(**key, at=NOW - 7 * DAY) == ledger["paused"]  # type: ignore[arg-type]
    # The pause ended: the earlier grant covers the moment again.
    assert consent_effective(**key) == ledger["granted"]  # type: ignore[arg-type]


def test_same_start_later_record_wins(ledger: dict[str, object]) -> None:
    granted = ledger["granted"]
    later = ConsentRecordFactory(
        customer=ledger["customer"],
        purpose=ledger["purpose"],
        channel=ledger["channel"],
        status=ConsentStatus.DENIED,
        effective_from=granted.effective_from,  # type: ignore[attr-defined]
    )
    key = {k: ledger[k] for k in ("customer", "purpose", "channel")}
    assert consent_effective(**key, at=NOW - 20 * DAY) == later  # type: ignore[arg-type]


def test_consent_allows(ledger: dict[str, object]) -> None:
    customer = ledger["customer"]
    email = ledger["channel"]
    assert consent_allows(customer=customer, purpose=ledger["purpose"], channel=email)  # type: ignore[arg-type]
    assert not consent_allows(  # type: ignore[arg-type]
        customer=customer, purpose=ledger["purpose"], channel=email, at=NOW - 7 * DAY
    )
    # No statement at all: only purposes that need no consent are allowed.
    sms = Channel.objects.get(code="sms")
    assert not consent_allows(customer=customer, purpose=ledger["purpose"], channel=sms)  # type: ignore[arg-type]
    service = Purpose.objects.get(code="service")
    assert consent_allows(customer=customer, purpose=service, channel=sms)  # type: ignore[arg-type]
