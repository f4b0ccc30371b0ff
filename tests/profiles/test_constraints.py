"""The database itself refuses rows that break the profiles invariants."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from profiles.choices import LifecycleStatus
from profiles.models import Customer
from tests.factories import (
    CustomerFactory,
    HoldingFactory,
    HouseholdMembershipFactory,
    InteractionFactory,
    RelationshipFactory,
)

pytestmark = pytest.mark.django_db


def _refused(make: Callable[[], Any]) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        make()


@pytest.mark.parametrize(
    "state",
    [
        {"merged_into": True, "merged_at": None, "lifecycle_status": LifecycleStatus.MERGED},
        {"merged_into": True, "merged_at": "now", "lifecycle_status": LifecycleStatus.ACTIVE},
        {"merged_into": None, "merged_at": "now", "lifecycle_status": LifecycleStatus.ACTIVE},
        {"merged_into": None, "merged_at": None, "lifecycle_status": LifecycleStatus.MERGED},
    ],
    ids=["no-time", "not-marked-merged", "time-without-survivor", "merged-without-survivor"],
)
def test_customer_merge_state_must_be_consistent(state: dict[str, Any]) -> None:
    survivor = CustomerFactory()
    _refused(
        lambda: CustomerFactory(
            merged_into=survivor if state["merged_into"] else None,
            merged_at=timezone.now() if state["merged_at"] else None,
            lifecycle_status=state["lifecycle_status"],
        )
    )


def test_consistent_merge_state_is_accepted() -> None:
    survivor = CustomerFactory()
    merged = CustomerFactory(
        merged_into=survivor, merged_at=timezone.now(), lifecycle_status=LifecycleStatus.MERGED
    )
    assert merged.merged_into == survivor


def test_customer_cannot_be_merged_into_itself() -> None:
    customer = CustomerFactory()
    _refused(
        lambda: Customer.objects.filter(pk=customer.pk).update(
            merged_into=customer, merged_at=timezone.now(), lifecycle_status=LifecycleStatus.MERGED
        )
    )


def test_customer_number_is_unique() -> None:
    customer = CustomerFactory()
    _refused(lambda: CustomerFactory(customer_number=customer.customer_number))


@pytest.mark.parametrize(
    ("valid_from", "valid_to"),
    [(datetime.date(2024, 5, 1), datetime.date(2024, 4, 30))],
)
def test_household_membership_period_ordered(
    valid_from: datetime.date, valid_to: datetime.date
) -> None:
    _refused(lambda: HouseholdMembershipFactory(valid_from=valid_from, valid_to=valid_to))


def test_one_current_membership_per_household() -> None:
    membership = HouseholdMembershipFactory()
    _refused(
        lambda: HouseholdMembershipFactory(
            household=membership.household, customer=membership.customer
        )
    )
    # A closed earlier membership of the same pair is history, not a conflict.
    HouseholdMembershipFactory(
        household=membership.household,
        customer=membership.customer,
        valid_from=datetime.date(2010, 1, 1),
        valid_to=datetime.date(2012, 1, 1),
    )


def test_relationship_not_to_self() -> None:
    customer = CustomerFactory()
    _refused(lambda: RelationshipFactory(from_customer=customer, to_customer=customer))


def test_relationship_one_current_per_kind() -> None:
    relationship = RelationshipFactory()
    _refused(
        lambda: RelationshipFactory(
            from_customer=relationship.from_customer, to_customer=relationship.to_customer
        )
    )


@pytest.mark.parametrize(
    "values",
    [
        {"start_date": datetime.date(2024, 1, 2), "end_date": datetime.date(2024, 1, 1)},
        {"annual_value": -1},
    ],
    ids=["end-before-start", "negative-value"],
)
def test_holding_constraints(values: dict[str, Any]) -> None:
    _refused(lambda: HoldingFactory(**values))


def test_holding_reference_unique_per_source() -> None:
    holding = HoldingFactory()
    _refused(
        lambda: HoldingFactory(source_system=holding.source_system, reference=holding.reference)
    )


@pytest.mark.parametrize("sentiment", [-1.01, 1.5])
def test_interaction_sentiment_range(sentiment: float) -> None:
    _refused(lambda: InteractionFactory(sentiment=sentiment))


@pytest.mark.parametrize("sentiment", [-1.0, 0.0, 1.0, None])
def test_interaction_sentiment_bounds_accepted(sentiment: float | None) -> None:
    assert InteractionFactory(sentiment=sentiment).pk


def test_interaction_amount_needs_currency() -> None:
    _refused(lambda: InteractionFactory(amount=10, currency=""))
