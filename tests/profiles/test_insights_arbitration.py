"""Contact arbitration: action_propose and campaign_check (issue 8)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from consent.choices import ConsentStatus
from consent.models import Channel, Purpose
from customer360.choices import AuditEventType, DomainEventType
from customer360.models import AuditEvent, OutboxEvent
from customer360.services import Actor
from governance.choices import CommitteeRole, ContactRuleKind, ContactScope, GovernanceStatus
from profiles.choices import ActionKind, ActionStatus, BlockCode, CaseKind, InteractionKind
from profiles.insights.arbitration import CampaignContact, action_propose, campaign_check
from profiles.models import OutboundAction
from tests.factories import (
    CaseFactory,
    CommitteeMemberFactory,
    ConsentRecordFactory,
    ContactRuleFactory,
    CustomerFactory,
    HoldingFactory,
    HouseholdFactory,
    HouseholdMembershipFactory,
    InteractionFactory,
    OutboundActionFactory,
    SiloFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def approved(**kwargs: Any) -> Any:
    return ContactRuleFactory(
        status=GovernanceStatus.APPROVED, approved_at=timezone.now(), **kwargs
    )


@pytest.fixture
def when() -> datetime.datetime:
    return timezone.now().replace(microsecond=0) + 3 * DAY


@pytest.fixture
def silos() -> dict[str, Any]:
    found = {code: SiloFactory(code=code, name=code.title()) for code in ("marketing", "risk")}
    for code, silo in found.items():
        CommitteeMemberFactory(
            user=UserFactory(username=f"member-{code}", email=f"member-{code}@example.org"),
            silo=silo,
            role=CommitteeRole.MEMBER,
            active_from=datetime.date(2020, 1, 1),
        )
    return found


def grant(customer: Any, purpose: str, channel: str, **kwargs: Any) -> None:
    ConsentRecordFactory(
        customer=customer,
        purpose=Purpose.objects.get(code=purpose),
        channel=Channel.objects.get(code=channel),
        effective_from=timezone.now() - 30 * DAY,
        captured_at=timezone.now() - 30 * DAY,
        **kwargs,
    )


def propose(customer: Any, silo: Any, kind: str, purpose: str, when: Any, **kw: Any) -> Any:
    return action_propose(
        customer=customer,
        silo=silo,
        kind=kind,
        purpose=purpose,
        channel=kw.pop("channel", "post"),
        scheduled_for=when,
        summary=f"{kind} letter",
        actor=kw.pop("actor", Actor.system("test")),
        **kw,
    )


def test_the_articles_scenario_blocks_the_later_letter_and_tells_both_silos(
    silos: dict[str, Any], when: datetime.datetime, django_capture_on_commit_callbacks: Any
) -> None:
    """Marketing's up-sell, then risk's cancellation of the same motor policy, same day."""
    approved(
        code="upsell-vs-cancellation",
        kind=ContactRuleKind.INCOMPATIBLE,
        max_contacts=None,
        action_kind=ActionKind.UPSELL,
        incompatible_with=ActionKind.CANCELLATION,
        period_days=30,
        same_holding_only=True,
    )
    customer = CustomerFactory()
    policy = HoldingFactory(customer=customer, reference="MOT-1")
    grant(customer, "marketing", "post")

    with django_capture_on_commit_callbacks(execute=True):
        first = propose(customer, silos["marketing"], ActionKind.UPSELL, "marketing", when,
                        holding=policy)  # fmt: skip
    assert first.allowed and first.action.status == ActionStatus.PENDING
    assert mail.outbox == []

    with django_capture_on_commit_callbacks(execute=True):
        later = propose(customer, silos["risk"], ActionKind.CANCELLATION, "risk", when,
                        holding=policy)  # fmt: skip

    assert not later.allowed
    later.action.refresh_from_db()
    assert later.action.status == ActionStatus.BLOCKED
    [reason] = later.reasons
    assert reason.code == BlockCode.INCOMPATIBLE
    assert reason.conflicting_action_id == first.action.pk
    assert reason.rule_code == "upsell-vs-cancellation"
    assert "Marketing's pending up-sell of MOT-1" in reason.message
    assert later.action.block_reasons[0]["code"] == BlockCode.INCOMPATIBLE
    # The first letter is untouched.
    first.action.refresh_from_db()
    assert first.action.status == ActionStatus.PENDING

    # Both silos told: one mail to each silo's member, and the outbox event.
    assert sorted(m.to[0] for m in mail.outbox) == [
        "member-marketing@example.org",
        "member-risk@example.org",
    ]
    assert "blocked" in mail.outbox[0].subject
    assert customer.given_name not in mail.outbox[0].body
    event = OutboxEvent.objects.get(event_type=DomainEventType.ACTION_BLOCKED)
    assert event.payload["silos"] == ["marketing", "risk"]
    assert event.payload["conflicting_action_ids"] == [first.action.pk]
    assert event.customer_number == customer.customer_number
    audit = AuditEvent.objects.get(event_type=AuditEventType.ACTION_BLOCKED)
    assert audit.subject_id == str(later.action.pk)
    assert AuditEvent.objects.filter(event_type=AuditEventType.ACTION_PROPOSED).count() == 1


def test_incompatibility_needs_another_silo_and_the_same_holding(
    silos: dict[str, Any], when: datetime.datetime
) -> None:
    approved(
        kind=ContactRuleKind.INCOMPATIBLE,
        max_contacts=None,
        action_kind=ActionKind.RETENTION_OFFER,
        incompatible_with=ActionKind.COLLECTIONS_NOTICE,
        period_days=10,
        same_holding_only=True,
    )
    customer = CustomerFactory()
    one, two = HoldingFactory(customer=customer), HoldingFactory(customer=customer)
    propose(customer, silos["risk"], ActionKind.COLLECTIONS_NOTICE, "billing", when, holding=one)
    # Same silo: not a contradiction between silos.
    assert propose(customer, silos["risk"], ActionKind.RETENTION_OFFER, "retention", when,
                   holding=one).allowed  # fmt: skip
    # Another holding: no conflict.
    assert propose(customer, silos["marketing"], ActionKind.RETENTION_OFFER, "retention", when,
                   holding=two).allowed  # fmt: skip
    # Outside the period: no conflict.
    assert propose(customer, silos["marketing"], ActionKind.RETENTION_OFFER, "retention",
                   when + 11 * DAY, holding=one).allowed  # fmt: skip
    blocked = propose(customer, silos["marketing"], ActionKind.RETENTION_OFFER, "retention",
                      when + 10 * DAY, holding=one)  # fmt: skip
    assert [r.code for r in blocked.reasons] == [BlockCode.INCOMPATIBLE]


def test_consent_is_checked_for_the_purpose_channel_and_time(
    silos: dict[str, Any], when: datetime.datetime
) -> None:
    customer = CustomerFactory()
    result = propose(customer, silos["marketing"], ActionKind.OFFER, "marketing", when,
                     channel="email")  # fmt: skip
    assert [r.code for r in result.reasons] == [BlockCode.NO_CONSENT]
    assert "no consent" in result.reasons[0].message

    # Granted, but it expires before the letter goes out.
    grant(customer, "marketing", "email", effective_until=when - DAY)
    result = propose(customer, silos["marketing"], ActionKind.OFFER, "marketing", when,
                     channel="email")  # fmt: skip
    assert not result.allowed
    assert propose(customer, silos["marketing"], ActionKind.OFFER, "marketing", when - 2 * DAY,
                   channel="email").allowed  # fmt: skip

    # Withdrawn later: says so.
    grant(customer, "marketing", "sms")
    ConsentRecordFactory(
        customer=customer,
        purpose=Purpose.objects.get(code="marketing"),
        channel=Channel.objects.get(code="sms"),
        status=ConsentStatus.WITHDRAWN,
    )
    result = propose(customer, silos["marketing"], ActionKind.OFFER, "marketing", when,
                     channel="sms")  # fmt: skip
    assert "withdrew" in result.reasons[0].message

    # A purpose with another legal basis needs none.
    assert propose(customer, silos["risk"], ActionKind.NOTICE, "service", when).allowed


def test_a_closed_channel_blocks(silos: dict[str, Any], when: datetime.datetime) -> None:
    result = propose(CustomerFactory(), silos["risk"], ActionKind.NOTICE, "service", when,
                     channel="web")  # fmt: skip
    assert [r.code for r in result.reasons] == [BlockCode.CHANNEL_CLOSED]


def test_frequency_cap_per_customer_and_per_household(
    silos: dict[str, Any], when: datetime.datetime
) -> None:
    approved(code="post-cap", max_contacts=2, period_days=30,
             channel=Channel.objects.get(code="post"))  # fmt: skip
    approved(code="household-cap", scope=ContactScope.HOUSEHOLD, max_contacts=3, period_days=30)
    household = HouseholdFactory()
    alice, bob = CustomerFactory(), CustomerFactory()
    for person in (alice, bob):
        HouseholdMembershipFactory(household=household, customer=person)

    assert propose(alice, silos["risk"], ActionKind.NOTICE, "service", when).allowed
    assert propose(alice, silos["risk"], ActionKind.NOTICE, "service", when + DAY).allowed
    capped = propose(alice, silos["risk"], ActionKind.NOTICE, "service", when + 2 * DAY)
    assert [r.rule_code for r in capped.reasons] == ["post-cap"]
    assert "at most 2 contacts by post per customer in 30 days" in capped.reasons[0].message
    # Another channel is not under the post cap; the household has 3 now.
    assert propose(
        alice, silos["risk"], ActionKind.NOTICE, "service", when, channel="phone"
    ).allowed
    household_capped = propose(bob, silos["risk"], ActionKind.NOTICE, "service", when,
                               channel="phone")  # fmt: skip
    assert [r.rule_code for r in household_capped.reasons] == ["household-cap"]
    # Far enough away, the cap is free again.
    assert propose(alice, silos["risk"], ActionKind.NOTICE, "service", when + 31 * DAY).allowed
    # Blocked actions do not count as contacts.
    assert OutboundAction.objects.filter(status=ActionStatus.BLOCKED).count() == 2


def test_quiet_period_after_a_complaint_stops_commercial_contact_only(
    silos: dict[str, Any], when: datetime.datetime
) -> None:
    approved(code="complaint-quiet", kind=ContactRuleKind.QUIET_PERIOD, max_contacts=None,
             period_days=14)  # fmt: skip
    customer = CustomerFactory()
    grant(customer, "marketing", "post")
    InteractionFactory(customer=customer, kind=InteractionKind.COMPLAINT,
                       occurred_at=when - 5 * DAY)  # fmt: skip
    quiet = propose(customer, silos["marketing"], ActionKind.UPSELL, "marketing", when)
    assert [r.code for r in quiet.reasons] == [BlockCode.QUIET_PERIOD]
    assert "no commercial contact until" in quiet.reasons[0].message
    assert propose(customer, silos["risk"], ActionKind.CANCELLATION, "risk", when).allowed
    assert propose(customer, silos["marketing"], ActionKind.UPSELL, "marketing",
                   when + 10 * DAY).allowed  # fmt: skip

    other = CustomerFactory()
    grant(other, "marketing", "post")
    CaseFactory(customer=other, kind=CaseKind.COMPLAINT, opened_at=when - DAY)
    assert not propose(other, silos["marketing"], ActionKind.OFFER, "marketing", when).allowed


def test_bad_input_is_refused_and_nothing_written(
    silos: dict[str, Any], when: datetime.datetime
) -> None:
    customer = CustomerFactory()
    with pytest.raises(ValidationError) as error:
        propose(customer, silos["risk"], "bribe", "risk", when)
    assert "kind" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        propose(customer, silos["risk"], ActionKind.NOTICE, "nope", when)
    assert "purpose" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        propose(customer, silos["risk"], ActionKind.NOTICE, "risk", when,
                holding=HoldingFactory())  # fmt: skip
    assert "holding" in error.value.message_dict
    with pytest.raises(ValidationError):
        propose(customer, silos["risk"], ActionKind.NOTICE, "risk", when.replace(tzinfo=None))
    assert not OutboundAction.objects.exists()


def test_a_repeated_external_id_returns_the_recorded_action(
    silos: dict[str, Any], when: datetime.datetime
) -> None:
    customer = CustomerFactory()
    first = propose(customer, silos["risk"], ActionKind.NOTICE, "risk", when, external_id="X-1")
    again = propose(customer, silos["risk"], ActionKind.NOTICE, "risk", when, external_id="X-1")
    assert again.action.pk == first.action.pk and again.allowed
    assert OutboundAction.objects.count() == 1


def test_campaign_check_verdicts_and_constant_queries(
    silos: dict[str, Any], when: datetime.datetime, django_assert_num_queries: Any
) -> None:
    approved(code="post-cap", max_contacts=1, period_days=30)
    approved(
        code="upsell-vs-cancellation",
        kind=ContactRuleKind.INCOMPATIBLE,
        max_contacts=None,
        action_kind=ActionKind.UPSELL,
        incompatible_with=ActionKind.CANCELLATION,
        period_days=30,
    )
    customers = CustomerFactory.create_batch(6)
    for customer in customers[:4]:
        grant(customer, "marketing", "post")
    policy = HoldingFactory(customer=customers[0], reference="MOT-9")
    OutboundActionFactory(customer=customers[1], silo=silos["risk"], kind=ActionKind.NOTICE,
                          purpose=Purpose.objects.get(code="service"),
                          channel=Channel.objects.get(code="post"),
                          status=ActionStatus.PENDING, scheduled_for=when)  # fmt: skip

    def contact(customer: Any, **kw: Any) -> CampaignContact:
        return CampaignContact(
            customer_number=customer if isinstance(customer, str) else customer.customer_number,
            kind=kw.pop("kind", ActionKind.UPSELL),
            purpose="marketing",
            channel="post",
            scheduled_for=when,
            **kw,
        )

    contacts = [
        contact(customers[0], holding_reference="MOT-9"),  # allowed
        contact(customers[1]),  # capped by risk's notice
        contact(customers[2]),  # allowed
        contact(customers[2]),  # capped by the line above
        contact(customers[4]),  # no consent
        contact("C999999999"),  # unknown
        contact(customers[3], holding_reference="NOPE"),  # unknown holding
    ]
    with django_assert_num_queries(12):
        verdicts = campaign_check(silo=silos["marketing"], contacts=contacts)
    assert [v.allowed for v in verdicts] == [True, False, True, False, False, False, False]
    assert [v.reasons[0].code for v in verdicts if not v.allowed] == [
        BlockCode.FREQUENCY_CAP,
        BlockCode.FREQUENCY_CAP,
        BlockCode.NO_CONSENT,
        BlockCode.UNKNOWN_CUSTOMER,
        BlockCode.UNKNOWN_HOLDING,
    ]
    # Same number of queries for a list ten times as long.
    many = [contact(c) for c in customers] * 10
    with django_assert_num_queries(11):  # no holding reference: no holding query
        assert len(campaign_check(silo=silos["marketing"], contacts=many)) == 60
    assert policy.pk  # the holding was looked up by reference
    assert not OutboundAction.objects.filter(silo=silos["marketing"]).exists()


def test_campaign_check_refuses_unknown_codes_naming_the_line(silos: dict[str, Any]) -> None:
    bad = CampaignContact(customer_number="C1", kind="upsell", purpose="spam", channel="post",
                          scheduled_for=timezone.now(), line=7)  # fmt: skip
    with pytest.raises(ValidationError) as error:
        campaign_check(silo=silos["marketing"], contacts=[bad])
    assert error.value.messages == ["line 7, purpose: unknown or inactive purpose 'spam'."]


def test_the_nightly_rearbitration_blocks_what_a_later_complaint_forbids(
    silos: dict[str, Any], when: datetime.datetime
) -> None:
    from profiles.insights.tasks import actions_rearbitrate_due

    approved(code="complaint-quiet", kind=ContactRuleKind.QUIET_PERIOD, max_contacts=None,
             period_days=14)  # fmt: skip
    customer = CustomerFactory()
    grant(customer, "marketing", "post")
    offer = propose(customer, silos["marketing"], ActionKind.OFFER, "marketing", when - DAY)
    notice = propose(customer, silos["risk"], ActionKind.NOTICE, "service", when - DAY)
    far = propose(customer, silos["marketing"], ActionKind.OFFER, "marketing", when + 20 * DAY)
    assert offer.allowed and notice.allowed and far.allowed
    # The customer complains after the offer was allowed.
    InteractionFactory(customer=customer, kind=InteractionKind.COMPLAINT,
                       occurred_at=timezone.now())  # fmt: skip

    assert actions_rearbitrate_due() == 1
    statuses = dict(OutboundAction.objects.values_list("pk", "status"))
    assert statuses == {
        offer.action.pk: ActionStatus.BLOCKED,  # commercial, inside the quiet period
        notice.action.pk: ActionStatus.PENDING,  # not commercial
        far.action.pk: ActionStatus.PENDING,  # not due within the next days
    }
    offer.action.refresh_from_db()
    assert offer.action.block_reasons[0]["code"] == BlockCode.QUIET_PERIOD
    assert AuditEvent.objects.filter(
        event_type=AuditEventType.ACTION_BLOCKED, subject_id=str(offer.action.pk)
    ).exists()
    assert actions_rearbitrate_due() == 0  # idempotent
