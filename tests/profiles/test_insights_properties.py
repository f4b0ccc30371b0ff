"""Property tests: no allowed action ever violates consent, a cap or a quiet period.

Random ledgers, complaints and sequences of proposals go through
``action_propose``; the invariants are then checked from the database with
independent code (the consent selector, plain counting over windows).
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consent.choices import ConsentStatus
from consent.models import Channel, Purpose
from consent.selectors import consent_allows
from customer360.services import Actor
from governance.choices import ContactRuleKind, ContactScope, GovernanceStatus
from profiles.choices import COMMERCIAL_ACTION_KINDS, ActionKind, ActionStatus, InteractionKind
from profiles.insights.arbitration import CampaignContact, action_propose, campaign_check
from profiles.models import OutboundAction
from tests.factories import (
    ConsentRecordFactory,
    ContactRuleFactory,
    CustomerFactory,
    HouseholdFactory,
    HouseholdMembershipFactory,
    InteractionFactory,
    SiloFactory,
)

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
CAP_DAYS, CAP_MAX = 10, 2  # post, per customer
HOUSEHOLD_DAYS, HOUSEHOLD_MAX = 10, 3  # any channel, per household
QUIET_DAYS = 7
KINDS = [ActionKind.UPSELL, ActionKind.CANCELLATION, ActionKind.OFFER, ActionKind.NOTICE]
PURPOSES = ["marketing", "service", "retention"]
CHANNELS = ["post", "email", "phone"]

proposal = st.tuples(
    st.integers(0, 1),  # customer
    st.integers(0, 1),  # silo
    st.sampled_from(KINDS),
    st.sampled_from(PURPOSES),
    st.sampled_from(CHANNELS),
    st.integers(0, 30),  # day
)
consent = st.tuples(
    st.integers(0, 1),
    st.sampled_from(CHANNELS),
    st.sampled_from([ConsentStatus.GRANTED, ConsentStatus.WITHDRAWN]),
    st.integers(-5, 25),  # starts (days from the base)
    st.one_of(st.none(), st.integers(1, 30)),  # lasts
)
complaint = st.tuples(st.integers(0, 1), st.integers(-10, 30))


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    now = timezone.now()
    approved = {"status": GovernanceStatus.APPROVED, "approved_at": now}
    ContactRuleFactory(
        code="post-cap",
        channel=Channel.objects.get(code="post"),
        max_contacts=CAP_MAX,
        period_days=CAP_DAYS,
        **approved,
    )
    ContactRuleFactory(
        code="household-cap",
        scope=ContactScope.HOUSEHOLD,
        max_contacts=HOUSEHOLD_MAX,
        period_days=HOUSEHOLD_DAYS,
        **approved,
    )
    ContactRuleFactory(
        code="quiet",
        kind=ContactRuleKind.QUIET_PERIOD,
        max_contacts=None,
        period_days=QUIET_DAYS,
        **approved,
    )
    ContactRuleFactory(code="upsell-vs-cancel", kind=ContactRuleKind.INCOMPATIBLE,
                       max_contacts=None, action_kind=ActionKind.UPSELL,
                       incompatible_with=ActionKind.CANCELLATION, period_days=30,
                       same_holding_only=False, **approved)  # fmt: skip
    return {
        "base": now.replace(microsecond=0) + DAY,
        "silos": [SiloFactory(code="marketing"), SiloFactory(code="risk")],
        "purposes": {p.code: p for p in Purpose.objects.filter(code__in=PURPOSES)},
        "channels": {c.code: c for c in Channel.objects.filter(code__in=CHANNELS)},
    }


def _setup(world: dict[str, Any], consents: list[Any], complaints: list[Any]) -> list[Any]:
    base = world["base"]
    household = HouseholdFactory()
    people = CustomerFactory.create_batch(2)
    for person in people:
        HouseholdMembershipFactory(household=household, customer=person)
    for who, channel, status, start, lasts in consents:
        ConsentRecordFactory(
            customer=people[who],
            purpose=world["purposes"]["marketing"],
            channel=world["channels"][channel],
            status=status,
            effective_from=base + start * DAY,
            effective_until=base + (start + lasts) * DAY if lasts else None,
        )
    for who, day in complaints:
        InteractionFactory(customer=people[who], kind=InteractionKind.COMPLAINT,
                           occurred_at=base + day * DAY - datetime.timedelta(hours=1))  # fmt: skip
    return people


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    proposals=st.lists(proposal, min_size=1, max_size=14),
    consents=st.lists(consent, max_size=5),
    complaints=st.lists(complaint, max_size=2),
)
def test_no_allowed_action_violates_consent_a_cap_or_a_quiet_period(
    world: dict[str, Any], proposals: list[Any], consents: list[Any], complaints: list[Any]
) -> None:
    base = world["base"]
    people = _setup(world, consents, complaints)
    actor = Actor.system("property test")
    for who, silo, kind, purpose, channel, day in proposals:
        result = action_propose(
            customer=people[who], silo=world["silos"][silo], kind=kind,
            purpose=world["purposes"][purpose], channel=world["channels"][channel],
            scheduled_for=base + day * DAY, summary="generated", actor=actor,
        )  # fmt: skip
        # Every block explains itself.
        assert result.allowed == (result.action.status == ActionStatus.PENDING)
        assert result.allowed or all(r.code and r.message for r in result.reasons)

    allowed = list(
        OutboundAction.objects.filter(customer__in=people, status=ActionStatus.PENDING)
        .select_related("purpose", "channel")
        .order_by("scheduled_for")
    )
    post = world["channels"]["post"]
    for action in allowed:
        at = action.scheduled_for
        # Consent, by the consent app's own selector.
        assert consent_allows(
            customer=action.customer, purpose=action.purpose, channel=action.channel, at=at
        )
        # Caps: no window of one period starting at an allowed action holds too many.
        mine_by_post = [
            a for a in allowed
            if a.customer_id == action.customer_id and a.channel_id == post.pk
            and at <= a.scheduled_for < at + CAP_DAYS * DAY
        ]  # fmt: skip
        if action.channel_id == post.pk:
            assert len(mine_by_post) <= CAP_MAX
        household = [a for a in allowed if at <= a.scheduled_for < at + HOUSEHOLD_DAYS * DAY]
        assert len(household) <= HOUSEHOLD_MAX
        # Quiet period: no commercial action within the days after a complaint.
        if action.kind in COMMERCIAL_ACTION_KINDS:
            mine = people.index(action.customer)
            for who, day in complaints:
                moment = base + day * DAY - datetime.timedelta(hours=1)
                if who == mine:
                    assert not (at - QUIET_DAYS * DAY <= moment <= at)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    proposals=st.lists(proposal, min_size=1, max_size=12),
    consents=st.lists(consent, max_size=5),
    complaints=st.lists(complaint, max_size=2),
)
def test_campaign_check_agrees_with_proposing_one_by_one(
    world: dict[str, Any], proposals: list[Any], consents: list[Any], complaints: list[Any]
) -> None:
    """A campaign's verdicts are those the same contacts would get through the service."""
    base = world["base"]
    people = _setup(world, consents, complaints)
    silo = world["silos"][0]
    contacts = [
        CampaignContact(customer_number=people[who].customer_number, kind=kind, purpose=purpose,
                        channel=channel, scheduled_for=base + day * DAY)
        for who, _silo, kind, purpose, channel, day in proposals
    ]  # fmt: skip
    verdicts = campaign_check(silo=silo, contacts=contacts)
    actor = Actor.system("property test")
    for contact, verdict in zip(contacts, verdicts, strict=True):
        result = action_propose(
            customer=people[[p.customer_number for p in people].index(contact.customer_number)],
            silo=silo, kind=contact.kind, purpose=contact.purpose, channel=contact.channel,
            scheduled_for=contact.scheduled_for, summary="generated", actor=actor,
        )  # fmt: skip
        assert verdict.allowed == result.allowed
        assert [r.code for r in verdict.reasons] == [r.code for r in result.reasons]
