"""consent_overview: the panel's one read agrees with consent_table and consent_renewals_due."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from consent.choices import ConsentStatus
from consent.models import Channel, ConsentRecord, Purpose
from consent.selectors import consent_overview, consent_renewals_due, consent_table
from consent.services import processing_restriction_create
from customer360.services import Actor
from profiles.models import Customer
from tests.factories import ConsentRecordFactory, CustomerFactory, PrivacyNoticeFactory

pytestmark = pytest.mark.django_db
NOW = timezone.now()
DAY = datetime.timedelta(days=1)


@pytest.fixture
def customers(
    state: Callable[..., ConsentRecord],
    actor: Actor,
    marketing: Purpose,
    email: Channel,
    sms: Channel,
) -> list[Customer]:
    """Ledgers with superseded, expiring, outdated-notice, reset and restricted statements."""
    notice = PrivacyNoticeFactory(code="marketing-notice", version=1, purposes=[marketing])
    long_history, expiring, outdated, reset, restricted, empty = CustomerFactory.create_batch(6)
    for n in range(30):
        ConsentRecordFactory(
            customer=long_history,
            purpose=marketing,
            channel=email,
            status=ConsentStatus.GRANTED if n % 2 else ConsentStatus.WITHDRAWN,
            effective_from=NOW - (40 - n) * DAY,
        )
    state(expiring, marketing, email, effective_until=NOW + 20 * DAY)
    state(expiring, marketing, sms, effective_until=NOW + 60 * DAY)
    state(outdated, marketing, sms, notice=notice)
    PrivacyNoticeFactory(
        code="marketing-notice", version=2, material_change=True, purposes=[marketing]
    )
    state(reset, marketing, email, effective_until=NOW + 10 * DAY)
    ConsentRecordFactory(
        customer=reset, purpose=marketing, channel=email, status=ConsentStatus.RESET,
        effective_from=NOW - DAY,
    )  # fmt: skip
    state(restricted, marketing, email, effective_until=NOW + 5 * DAY)
    processing_restriction_create(customer=restricted, actor=actor, reason="Contested")
    return [long_history, expiring, outdated, reset, restricted, empty]


@pytest.mark.parametrize("days", [0, 25])
def test_overview_agrees_with_the_table_and_the_renewals_in_three_queries(
    customers: list[Customer], days: int, django_assert_num_queries: Callable[..., Any]
) -> None:
    at = NOW + days * DAY
    purposes, channels = list(Purpose.objects.all()), list(Channel.objects.all())
    for customer in customers:
        with django_assert_num_queries(3):
            overview = consent_overview(customer=customer, at=at)
        table = consent_table(customer=customer, at=at)
        for purpose in purposes:
            for channel in channels:
                assert overview.table.allows(purpose, channel) == table.allows(purpose, channel)
        assert overview.renewals == consent_renewals_due(customer=customer, at=at)


def test_overview_lists_consent_purposes_and_active_channels_by_name(
    customers: list[Customer],
) -> None:
    overview = consent_overview(customer=customers[0])

    assert overview.purposes == list(
        Purpose.objects.filter(is_active=True, requires_consent=True).order_by("name")
    )
    assert overview.channels == list(Channel.objects.filter(is_active=True).order_by("name"))
    assert overview.outbound == [channel for channel in overview.channels if channel.is_outbound]
    # Something to compare: the scenario has prompts of both kinds.
    kinds = {
        (due.expiring, due.notice_outdated)
        for customer in customers
        for due in consent_overview(customer=customer).renewals
    }
    assert {(True, False), (False, True)} <= kinds
