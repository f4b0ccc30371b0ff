"""The fast effective-consent check, restriction of processing and renewal prompts."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from consent.choices import ConsentStatus
from consent.models import Channel, ConsentRecord, ProcessingRestriction, Purpose
from consent.selectors import (
    consent_allows,
    consent_decisions,
    consent_renewals_due,
    consent_renewals_due_batch,
    consent_table,
)
from consent.services import processing_restriction_create, processing_restriction_lift
from customer360.services import Actor
from tests.factories import ConsentRecordFactory, CustomerFactory, PrivacyNoticeFactory

pytestmark = pytest.mark.django_db
NOW = timezone.now()
DAY = datetime.timedelta(days=1)


@pytest.fixture
def ledger(marketing: Purpose, email: Channel) -> dict[str, Any]:
    """Customers in every interesting state for marketing by e-mail."""
    key = {"purpose": marketing, "channel": email}
    granted, denied, withdrawn, expired, none, future = CustomerFactory.create_batch(6)
    ConsentRecordFactory(customer=granted, **key, effective_from=NOW - 10 * DAY)
    ConsentRecordFactory(customer=denied, **key, status=ConsentStatus.DENIED)
    ConsentRecordFactory(customer=withdrawn, **key, effective_from=NOW - 10 * DAY)
    ConsentRecordFactory(
        customer=withdrawn, **key, status=ConsentStatus.WITHDRAWN, effective_from=NOW - DAY
    )
    ConsentRecordFactory(
        customer=expired, **key, effective_from=NOW - 10 * DAY, effective_until=NOW - DAY
    )
    ConsentRecordFactory(customer=future, **key, effective_from=NOW + DAY)
    # Another purpose and channel never leak into the answer.
    ConsentRecordFactory(customer=none, purpose=marketing, channel=Channel.objects.get(code="sms"))
    return {
        "granted": granted,
        "denied": denied,
        "withdrawn": withdrawn,
        "expired": expired,
        "none": none,
        "future": future,
    }


def test_batch_decisions_in_one_query(
    ledger: dict[str, Any],
    marketing: Purpose,
    email: Channel,
    django_assert_num_queries: Any,
) -> None:
    ids = [customer.pk for customer in ledger.values()]
    with django_assert_num_queries(1):
        decisions = consent_decisions(customer_ids=ids, purpose=marketing, channel=email, at=NOW)
    assert decisions == {customer.pk: name == "granted" for name, customer in ledger.items()}
    # Later, the future grant is in force.
    later = consent_decisions(customer_ids=ids, purpose=marketing, channel=email, at=NOW + 2 * DAY)
    assert later[ledger["future"].pk]


def test_single_check_is_one_query_and_agrees(
    ledger: dict[str, Any], marketing: Purpose, email: Channel, django_assert_num_queries: Any
) -> None:
    for name, customer in ledger.items():
        with django_assert_num_queries(1):
            allowed = consent_allows(customer=customer, purpose=marketing, channel=email, at=NOW)
        assert allowed == (name == "granted"), name


def test_purpose_without_consent_needs_no_query(
    ledger: dict[str, Any], email: Channel, django_assert_num_queries: Any
) -> None:
    service = Purpose.objects.get(code="service")
    with django_assert_num_queries(0):
        decisions = consent_decisions(
            customer_ids=[c.pk for c in ledger.values()], purpose=service, channel=email
        )
    assert all(decisions.values())


def test_restriction_stops_consent_purposes_only(
    ledger: dict[str, Any], marketing: Purpose, email: Channel, actor: Actor
) -> None:
    customer = ledger["granted"]
    restriction = processing_restriction_create(
        customer=customer, actor=actor, reason="Accuracy contested"
    )
    assert not consent_allows(customer=customer, purpose=marketing, channel=email)
    assert consent_allows(
        customer=customer, purpose=Purpose.objects.get(code="billing"), channel=email
    )
    assert ConsentRecord.objects.filter(customer=customer).count() == 1  # nothing deleted
    processing_restriction_lift(restriction=restriction, actor=actor, reason="Resolved")
    assert consent_allows(customer=customer, purpose=marketing, channel=email)
    assert ProcessingRestriction.objects.get().lifted_at is not None


def test_renewal_due_when_expiring_within_30_days(
    state: Callable[..., ConsentRecord], marketing: Purpose, email: Channel, sms: Channel
) -> None:
    customer = CustomerFactory()
    soon = state(customer, marketing, email, effective_until=NOW + 20 * DAY)
    state(customer, marketing, sms, effective_until=NOW + 60 * DAY)
    due = consent_renewals_due(customer=customer)
    assert [(d.record_id, d.expiring, d.notice_outdated) for d in due] == [(soon.pk, True, False)]
    # Once expired it stops counting on its own: no prompt, no consent.
    assert consent_renewals_due(customer=customer, at=NOW + 25 * DAY) == []
    assert not consent_allows(
        customer=customer, purpose=marketing, channel=email, at=NOW + 25 * DAY
    )


def test_renewal_due_after_material_notice_change(
    state: Callable[..., ConsentRecord],
    marketing: Purpose,
    email: Channel,
    sms: Channel,
    django_assert_num_queries: Any,
) -> None:
    notice = PrivacyNoticeFactory(code="marketing-notice", version=1, purposes=[marketing])
    first, second = CustomerFactory.create_batch(2)
    old = state(first, marketing, email, notice=notice)
    PrivacyNoticeFactory(code="marketing-notice", version=2, purposes=[marketing])  # editorial
    current = state(second, marketing, sms, notice=notice)
    assert consent_renewals_due(customer=first) == []
    PrivacyNoticeFactory(
        code="marketing-notice", version=3, material_change=True, purposes=[marketing]
    )
    with django_assert_num_queries(1):
        due = consent_renewals_due_batch(customer_ids=[first.pk, second.pk])
    assert [d.record_id for d in due[first.pk]] == [old.pk]
    assert [d.record_id for d in due[second.pk]] == [current.pk]
    assert due[first.pk][0].notice_outdated and not due[first.pk][0].expiring
    # Renewing under the new version clears the prompt.
    state(
        first,
        marketing,
        email,
        notice=PrivacyNoticeFactory(code="marketing-notice", version=4, purposes=[marketing]),
    )
    assert consent_renewals_due(customer=first) == []


def test_consent_table_agrees_with_every_single_check(
    ledger: dict[str, Any], actor: Actor, django_assert_num_queries: Any
) -> None:
    processing_restriction_create(customer=ledger["denied"], actor=actor, reason="Contested")
    purposes, channels = list(Purpose.objects.all()), list(Channel.objects.all())
    for name, customer in ledger.items():
        with django_assert_num_queries(1):
            table = consent_table(customer=customer, at=NOW)
        for purpose in purposes:
            for channel in channels:
                expected = consent_allows(
                    customer=customer, purpose=purpose, channel=channel, at=NOW
                )
                assert table.allows(purpose, channel) == expected, (name, purpose, channel)


def test_consent_table_honours_restriction(
    state: Callable[..., ConsentRecord], actor: Actor, marketing: Purpose, email: Channel
) -> None:
    customer = CustomerFactory()
    state(customer, marketing, email)
    assert consent_table(customer=customer).allows(marketing, email)
    processing_restriction_create(customer=customer, actor=actor, reason="Contested")
    table = consent_table(customer=customer)
    assert not table.allows(marketing, email)
    assert table.allows(Purpose.objects.get(code="service"), email)
