"""Flags: computed in batches, each explaining itself (issue 8)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from customer360.services import Actor
from governance.choices import GovernanceStatus, LifecycleKind
from governance.services import governed_approve, governed_propose
from profiles.choices import (
    ActionKind,
    ActionStatus,
    CaseKind,
    CaseStatus,
    Direction,
    FlagKind,
    HoldingStatus,
    InteractionKind,
    LifecycleStatus,
    LineOfBusiness,
)
from profiles.insights import tasks
from profiles.insights.flags import (
    action_conflicts_for,
    flags_compute,
    flags_for,
    flags_stale_ids,
)
from profiles.models import Customer, Flag
from tests.factories import (
    CaseFactory,
    ChannelFactory,
    ContactConflictReportFactory,
    CustomerFactory,
    FlagFactory,
    HoldingFactory,
    HouseholdFactory,
    HouseholdMembershipFactory,
    InteractionFactory,
    LifecycleDefinitionFactory,
    OutboundActionFactory,
    SiloFactory,
)

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)
DAYS = datetime.timedelta(days=1)


def flags(customer: Customer) -> dict[str, Flag]:
    return {f.kind: f for f in Flag.objects.filter(customer=customer)}


@pytest.fixture
def definitions() -> dict[str, Any]:
    return {
        kind: LifecycleDefinitionFactory(
            kind=kind, window_days=days, version=1, status=GovernanceStatus.APPROVED,
            approved_at=NOW,
        )
        for kind, days in ((LifecycleKind.NEW, 90), (LifecycleKind.ACTIVE, 365),
                           (LifecycleKind.LOST, 540))
    }  # fmt: skip


def test_every_kind_is_computed_and_explains_itself(definitions: dict[str, Any]) -> None:
    unhappy = CustomerFactory(phone="+441234567890")
    HoldingFactory(customer=unhappy, line_of_business=LineOfBusiness.MOTOR,
                   start_date=(NOW - 40 * DAYS).date())  # fmt: skip
    HoldingFactory(customer=unhappy, line_of_business=LineOfBusiness.LIFE,
                   status=HoldingStatus.CANCELLED, start_date=(NOW - 60 * DAYS).date(),
                   end_date=(NOW - 20 * DAYS).date())  # fmt: skip
    for n, sentiment in enumerate([-0.9, -0.8, -0.7, -0.6, 0.7, 0.8]):
        InteractionFactory(customer=unhappy, sentiment=sentiment, occurred_at=NOW - n * 10 * DAYS)
    InteractionFactory(customer=unhappy, kind=InteractionKind.COMPLAINT, occurred_at=NOW - 2 * DAYS)
    CaseFactory(customer=unhappy, kind=CaseKind.COMPLAINT, status=CaseStatus.OPEN,
                opened_at=NOW - DAYS)  # fmt: skip
    # Shares the phone number with a stranger (not in their household).
    CustomerFactory(phone="+441234567890")
    # Someone else holds home insurance: it is the gap on offer.
    HoldingFactory(line_of_business=LineOfBusiness.HOME)
    HoldingFactory(line_of_business=LineOfBusiness.HOME)

    assert flags_compute(customer_ids=[unhappy.pk], now=NOW) == 1
    found = flags(unhappy)
    assert set(found) == set(FlagKind.values)
    for flag in found.values():
        assert flag.reason and 0 <= flag.score <= 1 and flag.computed_at == NOW

    churn = found[FlagKind.CHURN_RISK]
    assert churn.label == "high"
    assert "complaint" in churn.reason and "ended this year" in churn.reason
    assert "mood worsening" in churn.reason and "less than a year" in churn.reason
    assert "phone shared with 1 unrelated customer" in found[FlagKind.FRAUD_RISK].reason
    assert found[FlagKind.UPSELL].details["suggested_line"] == LineOfBusiness.HOME
    assert found[FlagKind.UPSELL].reason.startswith("Does not hold home insurance")
    assert found[FlagKind.MOOD].label == "unhappy"
    record = found[FlagKind.COMPLAINT_RECORD]
    assert record.details["open"] == 1 and record.details["last_year"] == 2
    lifecycle = found[FlagKind.LIFECYCLE]
    assert lifecycle.label == LifecycleStatus.NEW
    assert "definition v1" in lifecycle.reason
    assert lifecycle.definition_version == 1
    unhappy.refresh_from_db()
    assert unhappy.lifecycle_status == LifecycleStatus.NEW
    assert "lifecycle" in unhappy.history.first().history_change_reason.lower()


def test_a_household_gap_is_preferred_and_kept_private(definitions: dict[str, Any]) -> None:
    household = HouseholdFactory()
    alice, bob = CustomerFactory(), CustomerFactory()
    for person in (alice, bob):
        HouseholdMembershipFactory(household=household, customer=person)
    HoldingFactory(customer=alice, line_of_business=LineOfBusiness.MOTOR)
    HoldingFactory(customer=bob, line_of_business=LineOfBusiness.TRAVEL)
    for _ in range(3):
        HoldingFactory(line_of_business=LineOfBusiness.HOME)
    flags_compute(customer_ids=[alice.pk], now=NOW)
    upsell = flags(alice)[FlagKind.UPSELL]
    assert upsell.details["suggested_line"] == LineOfBusiness.TRAVEL
    assert "held within the household" in upsell.reason
    assert bob.given_name not in upsell.reason and bob.customer_number not in upsell.reason


def test_lost_and_prospect_under_the_definitions(definitions: dict[str, Any]) -> None:
    lost = CustomerFactory(lifecycle_status=LifecycleStatus.ACTIVE)
    HoldingFactory(customer=lost, status=HoldingStatus.LAPSED, start_date=datetime.date(2019, 1, 1),
                   end_date=datetime.date(2022, 1, 1))  # fmt: skip
    InteractionFactory(customer=lost, occurred_at=NOW - 600 * DAYS)
    prospect = CustomerFactory()
    flags_compute(customer_ids=[lost.pk, prospect.pk], now=NOW)
    assert flags(lost)[FlagKind.LIFECYCLE].label == LifecycleStatus.LOST
    assert "'lost customer' is 540 days (definition v1)" in flags(lost)[FlagKind.LIFECYCLE].reason
    assert flags(prospect)[FlagKind.LIFECYCLE].label == LifecycleStatus.PROSPECT
    lost.refresh_from_db()
    assert lost.lifecycle_status == LifecycleStatus.LOST


def test_a_new_lifecycle_definition_makes_flags_stale_and_recomputes_them(
    definitions: dict[str, Any],
    superuser: Any,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    customer = CustomerFactory()
    HoldingFactory(customer=customer, status=HoldingStatus.LAPSED,
                   start_date=datetime.date(2019, 1, 1),
                   end_date=datetime.date(2023, 1, 1))  # fmt: skip
    InteractionFactory(customer=customer, occurred_at=NOW - 400 * DAYS)
    flags_compute(customer_ids=[customer.pk], now=NOW)
    assert flags(customer)[FlagKind.LIFECYCLE].label == LifecycleStatus.ACTIVE
    assert list(flags_stale_ids(now=NOW)) == []
    assert list(flags_stale_ids(now=NOW, lifecycle_kind=LifecycleKind.LOST)) == []

    actor = Actor.system("test")
    proposal = governed_propose(item=definitions[LifecycleKind.LOST], actor=actor,
                                reason="Shorter", changes={"window_days": 300})  # fmt: skip
    enqueued: list[str] = []
    monkeypatch.setattr(tasks.flags_lifecycle_changed, "delay", enqueued.append)
    with django_capture_on_commit_callbacks(execute=True):
        governed_approve(item=proposal, actor=actor, reason="Committee vote")
    assert enqueued == [LifecycleKind.LOST]  # the approval itself asks for the recompute
    assert list(flags_stale_ids(now=NOW, lifecycle_kind=LifecycleKind.LOST)) == [customer.pk]

    sent: list[list[int]] = []
    monkeypatch.setattr(tasks.flags_compute_task, "delay", sent.append)
    assert tasks.flags_lifecycle_changed(LifecycleKind.LOST) == 1
    assert sent == [[customer.pk]]
    tasks.flags_compute_task(sent[0])
    lifecycle = flags(customer)[FlagKind.LIFECYCLE]
    assert lifecycle.label == LifecycleStatus.LOST
    assert lifecycle.details["versions"][LifecycleKind.LOST] == 2
    assert "300 days (definition v2)" in lifecycle.reason


def test_the_sweep_enqueues_missing_and_stale_flags_in_batches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fresh, old, missing = CustomerFactory(), CustomerFactory(), CustomerFactory()
    FlagFactory(customer=fresh, kind=FlagKind.LIFECYCLE, computed_at=timezone.now())
    FlagFactory(customer=old, kind=FlagKind.LIFECYCLE, computed_at=timezone.now() - 2 * DAYS)
    merged_into = CustomerFactory()
    FlagFactory(customer=merged_into, kind=FlagKind.LIFECYCLE, computed_at=timezone.now())
    Customer.objects.filter(pk=missing.pk).update()  # untouched: no flag at all
    sent: list[list[int]] = []
    monkeypatch.setattr(tasks.flags_compute_task, "delay", sent.append)
    monkeypatch.setattr(tasks, "SWEEP_BATCH", 1)
    assert tasks.flags_sweep() == 2
    assert sent == [[old.pk], [missing.pk]]


def test_flags_compute_uses_a_fixed_number_of_queries(
    definitions: dict[str, Any], django_assert_num_queries: Any
) -> None:
    def world(n: int) -> list[int]:
        ids = []
        for _ in range(n):
            customer = CustomerFactory()
            HoldingFactory(customer=customer)
            InteractionFactory(customer=customer, sentiment=0.2)
            OutboundActionFactory(customer=customer, status=ActionStatus.PENDING)
            ids.append(customer.pk)
        return ids

    small, large = world(2), world(8)
    # 14 reads, one upsert, and the lifecycle status change (read, update, history).
    with django_assert_num_queries(17):
        flags_compute(customer_ids=small, now=NOW)
    with django_assert_num_queries(17):
        flags_compute(customer_ids=large, now=NOW)
    # Nothing changed: the lifecycle status is not written again.
    with django_assert_num_queries(14):
        flags_compute(customer_ids=large, now=NOW)


def test_card_selectors(django_assert_num_queries: Any) -> None:
    customer = CustomerFactory()
    FlagFactory(customer=customer, kind=FlagKind.MOOD)
    FlagFactory(customer=customer, kind=FlagKind.CHURN_RISK)
    with django_assert_num_queries(1):
        assert [f.kind for f in flags_for(customer=customer)] == ["churn_risk", "mood"]

    other = OutboundActionFactory(customer=customer, kind=ActionKind.CANCELLATION,
                                  status=ActionStatus.PENDING)  # fmt: skip
    ContactConflictReportFactory(
        customer=customer,
        block_reasons=[{"code": "incompatible", "message": "Conflicts with risk.",
                        "conflicting_action_id": other.pk, "conflicting_silo": "risk"}],
    )  # fmt: skip
    with django_assert_num_queries(2):
        [conflict] = action_conflicts_for(customer=customer)
        assert conflict.reasons[0].message == "Conflicts with risk."
        assert conflict.conflicting == [other]
        assert conflict.conflicting[0].silo.name


def test_direction_is_used_for_contact_frequency(definitions: dict[str, Any]) -> None:
    customer = CustomerFactory()
    for n in range(3):
        InteractionFactory(customer=customer, direction=Direction.OUTBOUND,
                           occurred_at=NOW - n * DAYS)  # fmt: skip
    flags_compute(customer_ids=[customer.pk], now=NOW)
    frequency = flags(customer)[FlagKind.CONTACT_FREQUENCY]
    assert frequency.details["total"] == 3
    assert frequency.reason.startswith("3 outbound contact(s) in the last 30 days")


def test_new_interactions_and_cases_recompute_the_customers_flags(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    """Interactions and cases feed churn, mood, complaints and contact frequency:
    the services that write them ask for the customer's flags after commit."""
    from profiles.services import case_open, interaction_log

    customer, silo, channel = CustomerFactory(), SiloFactory(), ChannelFactory()
    sent: list[list[int]] = []
    monkeypatch.setattr(tasks.flags_compute_task, "delay", sent.append)
    actor = Actor.system("test")
    with django_capture_on_commit_callbacks(execute=True):
        interaction_log(customer=customer, silo=silo, channel=channel,
                        kind=InteractionKind.INQUIRY, actor=actor, reason="Call")  # fmt: skip
    assert sent == [[customer.pk]]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        case_open(customer=customer, silo=silo, kind=CaseKind.COMPLAINT,
                  subject="Late refund", actor=actor, reason="Call")  # fmt: skip
    assert len(callbacks) == 1
    assert sent == [[customer.pk], [customer.pk]]
