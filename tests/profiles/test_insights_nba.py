"""Next best action: governed rules applied to a contact's context (issue 8)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from consent.choices import ConsentStatus
from consent.models import Channel, Purpose
from customer360.choices import AuditEventType
from customer360.models import AuditEvent
from customer360.services import Actor
from governance.choices import GovernanceStatus
from profiles.choices import ActionKind, CaseKind, CaseStatus, FlagKind, LineOfBusiness
from profiles.insights.flags import flags_compute
from profiles.insights.nba import nba_respond, next_best_actions
from profiles.models import Flag
from tests.factories import (
    CaseFactory,
    ConsentRecordFactory,
    ContactRuleFactory,
    CustomerFactory,
    HoldingFactory,
    InteractionFactory,
    NbaRuleFactory,
    ProcessingRestrictionFactory,
)

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)
DAY = datetime.timedelta(days=1)


def rule(**kwargs: Any) -> Any:
    return NbaRuleFactory(status=GovernanceStatus.APPROVED, approved_at=NOW, **kwargs)


def channel(code: str) -> Channel:
    return Channel.objects.get(code=code)


def purpose(code: str) -> Purpose:
    return Purpose.objects.get(code=code)


def grant(customer: Any, purpose_code: str, channel_code: str, **kwargs: Any) -> None:
    ConsentRecordFactory(customer=customer, purpose=purpose(purpose_code),
                         channel=channel(channel_code), effective_from=NOW - 10 * DAY,
                         captured_at=NOW - 10 * DAY, **kwargs)  # fmt: skip


@pytest.fixture
def rules() -> dict[str, Any]:
    return {
        "complaint": rule(code="resolve-complaint", essential=True, rank=1,
                          action_kind=ActionKind.NOTICE, purpose=purpose("service"),
                          requires_open_complaint=True,
                          explanation="Resolve the open complaint before anything else."),
        "renew": rule(code="renew-consent", essential=True, rank=2,
                      action_kind=ActionKind.CONSENT_RENEWAL, purpose=purpose("service"),
                      requires_consent_renewal=True,
                      explanation="A consent expires soon: ask to renew it."),
        "home": rule(code="home-bundle", rank=10, action_kind=ActionKind.CROSS_SELL,
                     purpose=purpose("marketing"), holds_line=LineOfBusiness.MOTOR,
                     lacks_line=LineOfBusiness.HOME, flag_kind=FlagKind.UPSELL,
                     explanation="Offer home insurance: {flag_reason}"),
        "retain": rule(code="retention-call", rank=5, action_kind=ActionKind.RETENTION_CALL,
                       purpose=purpose("retention"), flag_kind=FlagKind.CHURN_RISK,
                       flag_min_score=0.6, channel=channel("phone"),
                       explanation="High churn risk: {flag_reason}"),
        "moving": rule(code="moving-home", rank=3, action_kind=ActionKind.OFFER,
                       purpose=purpose("marketing"), contact_reasons="move, moving, new address",
                       explanation="Moving: offer to carry the policies over."),
    }  # fmt: skip


def test_ranked_with_essential_first_and_explained(
    rules: dict[str, Any], django_assert_num_queries: Any
) -> None:
    customer = CustomerFactory()
    HoldingFactory(customer=customer, line_of_business=LineOfBusiness.MOTOR)
    HoldingFactory(line_of_business=LineOfBusiness.HOME)
    CaseFactory(customer=customer, kind=CaseKind.COMPLAINT, status=CaseStatus.OPEN,
                opened_at=NOW - 40 * DAY)  # fmt: skip
    grant(customer, "marketing", "phone")
    grant(customer, "marketing", "email", effective_until=NOW + 10 * DAY)
    flags_compute(customer_ids=[customer.pk], now=NOW)
    # The churn flag is set by hand to a high score.
    Flag.objects.filter(customer=customer, kind=FlagKind.CHURN_RISK).update(
        score=0.8, reason="Churn risk from: 2 complaint(s) in 180 days."
    )

    phone = channel("phone")
    with django_assert_num_queries(3):
        found = next_best_actions(
            customer=customer, contact_reason="I am moving house", channel=phone, at=NOW
        )
    assert [s.rule_code for s in found] == [
        "resolve-complaint",
        "renew-consent",
        "moving-home",
        "retention-call",
        "home-bundle",
    ]
    assert [s.essential for s in found] == [True, True, False, False, False]
    home = found[-1]
    assert home.explanation.startswith("Offer home insurance: Does not hold home insurance")
    assert (home.rule_version, home.action_kind, home.channel) == (1, "cross_sell", "phone")
    assert found[3].explanation == "High churn risk: Churn risk from: 2 complaint(s) in 180 days."
    # The stated reason matters.
    quiet = next_best_actions(customer=customer, contact_reason="billing", channel=channel("phone"))
    assert "moving-home" not in [s.rule_code for s in quiet]


def test_never_suggests_what_consent_forbids(rules: dict[str, Any]) -> None:
    customer = CustomerFactory()
    HoldingFactory(customer=customer, line_of_business=LineOfBusiness.MOTOR)
    HoldingFactory(line_of_business=LineOfBusiness.HOME)
    flags_compute(customer_ids=[customer.pk], now=NOW)
    codes = lambda **kw: [s.rule_code for s in next_best_actions(customer=customer, **kw)]  # noqa: E731
    # No marketing consent by phone: neither offer is shown.
    assert codes(channel=channel("phone"), contact_reason="moving") == []
    grant(customer, "marketing", "phone")
    assert codes(channel=channel("phone"), contact_reason="moving") == [
        "moving-home",
        "home-bundle",
    ]
    # Withdrawn: gone again. No channel: a consent purpose cannot be checked, so none.
    assert codes(contact_reason="moving") == []
    ConsentRecordFactory(customer=customer, purpose=purpose("marketing"), channel=channel("phone"),
                         status=ConsentStatus.WITHDRAWN)  # fmt: skip
    assert codes(channel=channel("phone"), contact_reason="moving") == []
    # A restriction of processing stops every consent purpose.
    grant(customer, "marketing", "sms")
    ProcessingRestrictionFactory(customer=customer, active_from=NOW - DAY)
    assert codes(channel=channel("sms"), contact_reason="moving") == []


def test_never_suggests_what_a_contact_rule_forbids(rules: dict[str, Any]) -> None:
    ContactRuleFactory(code="complaint-quiet", kind="quiet_period", max_contacts=None,
                       period_days=14, status=GovernanceStatus.APPROVED,
                       approved_at=NOW)  # fmt: skip
    customer = CustomerFactory()
    grant(customer, "marketing", "phone")
    InteractionFactory(customer=customer, kind="complaint", occurred_at=NOW - 2 * DAY)
    flags_compute(customer_ids=[customer.pk], now=NOW)
    # The offer is commercial: quiet period. The complaint has no open case.
    assert next_best_actions(customer=customer, channel=channel("phone"),
                             contact_reason="moving", at=NOW) == []  # fmt: skip
    later = next_best_actions(customer=customer, channel=channel("phone"),
                              contact_reason="moving", at=NOW + 13 * DAY)  # fmt: skip
    assert [s.rule_code for s in later] == ["moving-home"]


def test_accept_and_decline_are_recorded_per_rule(
    rules: dict[str, Any], admin_client_for: Any, superuser: Any
) -> None:
    customer = CustomerFactory()
    actor = Actor.system("test")
    nba_respond(customer=customer, rule_code="home-bundle", accepted=True, actor=actor)
    nba_respond(customer=customer, rule_code="home-bundle", accepted=True, actor=actor)
    event = nba_respond(customer=customer, rule_code="home-bundle", accepted=False, actor=actor,
                        reason="Customer not interested")  # fmt: skip
    assert event.event_type == AuditEventType.NBA_DECLINED
    assert event.new == {"rule_code": "home-bundle", "rule_version": 1, "accepted": False}
    assert event.customer_number == customer.customer_number
    assert AuditEvent.objects.filter(event_type=AuditEventType.NBA_ACCEPTED).count() == 2
    with pytest.raises(ValidationError):
        nba_respond(customer=customer, rule_code="nope", accepted=True, actor=actor)

    page = admin_client_for(superuser).get("/admin/governance/nbarule/")
    assert page.status_code == 200
    rows = {r.code: r for r in page.context["cl"].result_list}
    assert (rows["home-bundle"].accepted, rows["home-bundle"].declined) == (2, 1)
    assert (rows["renew-consent"].accepted, rows["renew-consent"].declined) == (0, 0)
