"""Customer admin: saves through the services, constant queries per page."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from customer360.choices import AuditEventType
from customer360.models import AuditEvent
from profiles.choices import LifecycleStatus
from profiles.models import Customer
from profiles.numbers import is_valid_customer_number
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:profiles_customer_changelist")


@pytest.mark.parametrize("rows", [1, 20])
def test_changelist_query_count_does_not_grow_with_rows(
    rows: int,
    superuser: User,
    admin_client_for: Callable[[User], Client],
    django_assert_num_queries: object,
) -> None:
    survivor = CustomerFactory()
    CustomerFactory.create_batch(
        rows - 1,
        merged_into=survivor,
        merged_at="2024-01-01T00:00Z",
        lifecycle_status=LifecycleStatus.MERGED,
    )
    client = admin_client_for(superuser)
    # session, user, one count (no second "full" count on a large table), the
    # page with merged_into joined, then the session save in a savepoint (3).
    with django_assert_num_queries(7):  # type: ignore[operator]
        response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert response.content.count(b'class="action-checkbox"') == 0  # no bulk delete action
    assert survivor.customer_number.encode() in response.content


def test_admin_change_goes_through_customer_update(
    steward: User, admin_client_for: Callable[[User], Client]
) -> None:
    customer = CustomerFactory(family_name="Smyth", given_name="Jon")
    url = reverse("admin:profiles_customer_change", args=[customer.pk])
    client = admin_client_for(steward)
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}
    data.update(family_name="Smith", change_reason="Typo fixed after a call")

    response = client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    customer.refresh_from_db()
    assert customer.family_name == "Smith"
    latest = customer.history.latest()
    assert latest.history_user == steward
    assert latest.history_change_reason == "Typo fixed after a call [admin]"
    event = AuditEvent.objects.get(event_type=AuditEventType.CUSTOMER_UPDATED)
    assert (event.actor, event.channel) == (steward, "admin")
    assert event.new["fields"] == ["family_name"]


def test_admin_change_requires_a_reason(
    steward: User, admin_client_for: Callable[[User], Client]
) -> None:
    customer = CustomerFactory(family_name="Smyth")
    url = reverse("admin:profiles_customer_change", args=[customer.pk])
    response = admin_client_for(steward).post(url, {"family_name": "Smith"})
    assert response.status_code == 200
    assert "change_reason" in response.context["adminform"].form.errors
    customer.refresh_from_db()
    assert customer.family_name == "Smyth"


def test_admin_add_allocates_a_number(
    superuser: User, admin_client_for: Callable[[User], Client]
) -> None:
    url = reverse("admin:profiles_customer_add")
    response = admin_client_for(superuser).post(
        url, {"given_name": "Grace", "family_name": "Hopper", "change_reason": "New customer"}
    )
    assert response.status_code == 302
    customer = Customer.objects.get(family_name="Hopper")
    assert is_valid_customer_number(customer.customer_number)
    assert customer.history.get().history_user == superuser
    assert AuditEvent.objects.filter(event_type=AuditEventType.CUSTOMER_CREATED).count() == 1


def test_history_page_shows_the_reason(
    superuser: User, admin_client_for: Callable[[User], Client]
) -> None:
    customer = CustomerFactory()
    customer.history.update(history_change_reason="Imported from billing [command]")
    url = reverse("admin:profiles_customer_history", args=[customer.pk])
    response = admin_client_for(superuser).get(url)
    assert response.status_code == 200
    assert b"Imported from billing [command]" in response.content
