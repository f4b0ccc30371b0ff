"""Customer selectors."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.utils import timezone
from guardian.shortcuts import assign_perm

from profiles.choices import LifecycleStatus
from profiles.models import Customer
from profiles.selectors import customer_get_by_number, customer_list
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _merge(loser: Customer, survivor: Customer) -> None:
    loser.merged_into = survivor
    loser.merged_at = timezone.now()
    loser.lifecycle_status = LifecycleStatus.MERGED
    loser.save()


def test_get_by_number_returns_the_customer() -> None:
    customer = CustomerFactory()
    assert customer_get_by_number(customer.customer_number) == customer
    assert customer_get_by_number(f" {customer.customer_number.lower()} ") == customer


def test_get_by_number_follows_the_merge_chain_to_the_survivor() -> None:
    first, second, survivor = CustomerFactory(), CustomerFactory(), CustomerFactory()
    _merge(second, survivor)
    _merge(first, second)  # first -> second -> survivor

    assert customer_get_by_number(first.customer_number) == survivor
    assert customer_get_by_number(second.customer_number) == survivor


@pytest.mark.parametrize("number", ["C100000018", "nonsense", "", "C999999997"])
def test_get_by_number_unknown_or_malformed(number: str) -> None:
    assert customer_get_by_number(number) is None


def test_customer_list_restricts(agent: User, superuser: User) -> None:
    plain = CustomerFactory()
    restricted = CustomerFactory(is_restricted=True)
    survivor = CustomerFactory()
    merged = CustomerFactory()
    _merge(merged, survivor)

    assert set(customer_list(user=AnonymousUser())) == set()
    assert set(customer_list(user=agent)) == {plain, survivor}
    assert set(customer_list(user=superuser)) == {plain, restricted, survivor}
    assign_perm("profiles.view_customer", agent, restricted)
    agent = User.objects.get(pk=agent.pk)  # drop the permission cache
    assert set(customer_list(user=agent)) == {plain, restricted, survivor}
