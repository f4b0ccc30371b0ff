"""Consent merges most-restrictive-wins and splits back exactly on unmerge."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consent.choices import CaptureMethod, ConsentStatus
from consent.models import Channel, ConsentRecord, Purpose
from consent.selectors import consent_effective
from consent.services import consent_effective_states, consent_merge, consent_unmerge
from customer360.choices import AuditEventType
from customer360.models import AuditEvent
from customer360.services import Actor
from tests.factories import ConsentRecordFactory, CustomerFactory

pytestmark = pytest.mark.django_db
DAY = datetime.timedelta(days=1)
STATED = [ConsentStatus.GRANTED, ConsentStatus.DENIED, ConsentStatus.WITHDRAWN]
RANK = {ConsentStatus.WITHDRAWN: 0, ConsentStatus.DENIED: 1, ConsentStatus.GRANTED: 2}

statement = st.tuples(st.sampled_from(STATED), st.one_of(st.none(), st.integers(1, 400)))
# Per (purpose, channel) slot: the statements of one customer, oldest first.
ledger = st.lists(st.lists(statement, max_size=2), min_size=4, max_size=4)


def _expected(survivor: Any, merged: Any) -> Any:
    """The most restrictive of two states, written independently of the service."""
    if survivor is None or merged is None:
        return survivor or merged
    if RANK[survivor[0]] != RANK[merged[0]]:
        return min(survivor, merged, key=lambda s: RANK[s[0]])
    # ISO strings of one time zone sort like the moments; None is "never ends".
    far = "9999"
    if survivor[0] == ConsentStatus.GRANTED:
        return merged if (merged[1] or far) < (survivor[1] or far) else survivor
    return merged if (merged[1] or far) > (survivor[1] or far) else survivor


def _write(customer: Any, slots: list[list[tuple[str, int | None]]], keys: list[Any]) -> None:
    now = timezone.now()
    for (purpose, channel), statements in zip(keys, slots, strict=True):
        for age, (status, days) in enumerate(reversed(statements), start=1):
            ConsentRecordFactory(
                customer=customer,
                purpose=purpose,
                channel=channel,
                status=status,
                effective_from=now - age * DAY,
                effective_until=now + days * DAY if days else None,
            )


@pytest.fixture
def keys(db: None) -> list[tuple[Purpose, Channel]]:
    purposes = Purpose.objects.filter(code__in=["marketing", "analytics"]).order_by("code")
    channels = Channel.objects.filter(code__in=["email", "sms"]).order_by("code")
    return [(p, c) for p in purposes for c in channels]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(survivor_slots=ledger, merged_slots=ledger)
def test_merge_is_most_restrictive_and_unmerge_restores_exactly(
    keys: list[tuple[Purpose, Channel]],
    actor: Actor,
    survivor_slots: list[Any],
    merged_slots: list[Any],
) -> None:
    survivor, merged = CustomerFactory.create_batch(2)
    _write(survivor, survivor_slots, keys)
    _write(merged, merged_slots, keys)
    all_keys = [f"{p.pk}:{c.pk}" for p, c in keys]
    before_survivor = consent_effective_states(customer=survivor)
    before_merged = consent_effective_states(customer=merged)

    consent_merge(
        survivor=survivor, merged=merged, actor=actor, reason="Same person", merge_reference="M-1"
    )
    after = consent_effective_states(customer=survivor)
    for key in all_keys:
        assert after.get(key) == _expected(before_survivor.get(key), before_merged.get(key))

    consent_unmerge(
        survivor=survivor,
        split_off=merged,
        actor=actor,
        reason="Not the same",
        merge_reference="M-1",
    )
    restored_survivor = consent_effective_states(customer=survivor)
    restored_merged = consent_effective_states(customer=merged)
    for key in all_keys:
        assert restored_survivor.get(key) == before_survivor.get(key)
        assert restored_merged.get(key) == before_merged.get(key)


def test_withdrawal_beats_grant_and_is_marked_as_merge(
    state: Callable[..., ConsentRecord], actor: Actor, marketing: Purpose, email: Channel
) -> None:
    survivor, merged = CustomerFactory.create_batch(2)
    state(survivor, marketing, email)
    withdrawn = state(merged, marketing, email, status=ConsentStatus.WITHDRAWN)
    (derived,) = consent_merge(
        survivor=survivor, merged=merged, actor=actor, reason="Duplicate", merge_reference="MRG-9"
    )
    assert derived.customer == survivor
    assert derived.status == ConsentStatus.WITHDRAWN
    assert derived.capture_method == CaptureMethod.MERGE
    assert derived.evidence_reference == "merge:MRG-9"
    assert derived.captured_via == withdrawn.captured_via
    assert consent_effective(customer=survivor, purpose=marketing, channel=email) == derived
    event = AuditEvent.objects.get(event_type=AuditEventType.CONSENT_MERGED)
    assert event.new["merge_reference"] == "MRG-9"
    assert event.new["appended"] == [derived.pk]


def test_two_grants_keep_the_earlier_expiry(
    state: Callable[..., ConsentRecord], actor: Actor, marketing: Purpose, email: Channel
) -> None:
    survivor, merged = CustomerFactory.create_batch(2)
    now = timezone.now()
    state(survivor, marketing, email, effective_until=now + 300 * DAY)
    state(merged, marketing, email, effective_until=now + 30 * DAY)
    consent_merge(survivor=survivor, merged=merged, actor=actor, reason="Dup", merge_reference="R")
    effective = consent_effective(customer=survivor, purpose=marketing, channel=email)
    assert effective is not None
    assert effective.effective_until == now + 30 * DAY


def test_statement_after_the_merge_stays_in_force(
    state: Callable[..., ConsentRecord],
    actor: Actor,
    marketing: Purpose,
    email: Channel,
    sms: Channel,
) -> None:
    survivor, merged = CustomerFactory.create_batch(2)
    state(merged, marketing, email)
    state(merged, marketing, sms)
    consent_merge(survivor=survivor, merged=merged, actor=actor, reason="Dup", merge_reference="R")
    later = state(survivor, marketing, email, status=ConsentStatus.DENIED)
    consent_unmerge(
        survivor=survivor, split_off=merged, actor=actor, reason="Split", merge_reference="R"
    )
    # The genuine "no" given after the merge stays; the derived sms grant goes.
    assert consent_effective(customer=survivor, purpose=marketing, channel=email) == later
    assert consent_effective(customer=survivor, purpose=marketing, channel=sms) is None
    reset = ConsentRecord.objects.get(customer=survivor, channel=sms, status=ConsentStatus.RESET)
    assert reset.evidence_reference == "unmerge:R"
    # The split-off customer keeps its own grants.
    assert consent_effective(customer=merged, purpose=marketing, channel=email) is not None


def test_unmerge_needs_the_merge(actor: Actor) -> None:
    survivor, merged, stranger = CustomerFactory.create_batch(3)
    consent_merge(survivor=survivor, merged=merged, actor=actor, reason="Dup", merge_reference="R")
    for split_off, reference in ((merged, "other"), (stranger, "R")):
        with pytest.raises(ValidationError):
            consent_unmerge(
                survivor=survivor,
                split_off=split_off,
                actor=actor,
                reason="Split",
                merge_reference=reference,
            )
    assert not ConsentRecord.objects.exists()
