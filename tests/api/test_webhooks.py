"""Partners' own webhook subscriptions: create (secret shown once), list, show,
delete; the permission matrix (anonymous, no scope, another client's
subscription) changes nothing; deleted subscriptions get no more deliveries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from customer360.api.choices import ApiScope, DeliveryStatus
from customer360.choices import AuditEventType, DomainEventType
from customer360.models import ApiClient, AuditEvent, OutboxEvent, WebhookDelivery
from customer360.models import WebhookSubscription as Subscription
from customer360.services import webhook_deliveries_create
from tests.api.conftest import Person
from tests.factories import WebhookSubscriptionFactory

pytestmark = pytest.mark.django_db

Api = Callable[..., Client]
URL = "/api/v1/webhooks/"
HOOK = "https://partner.example.com/hooks/c360"


def subscribe(api: Client, **body: Any) -> Any:
    body = {"url": HOOK, "event_types": [DomainEventType.CUSTOMER_MERGED], **body}
    return api.post(URL, body, content_type="application/json")


def test_create_shows_the_secret_once_and_list_never(api_for: Api, client_a: ApiClient) -> None:
    api = api_for(client_a)
    created = subscribe(api, event_types=["consent.changed", "customer.merged", "consent.changed"])

    assert created.status_code == 201, created.content
    body = created.json()
    stored = Subscription.objects.get()
    assert body["secret"] == stored.secret and len(stored.secret) >= 40
    assert stored.application_id == client_a.application_id and stored.is_active
    assert body["event_types"] == stored.event_types == ["consent.changed", "customer.merged"]
    listed = api.get(URL).json()["results"]
    shown = api.get(f"{URL}{stored.pk}/").json()
    assert [s["id"] for s in listed] == [stored.pk]
    assert "secret" not in listed[0] and "secret" not in shown
    event = AuditEvent.objects.get(event_type=AuditEventType.API_CLIENT_CHANGED)
    assert event.actor_label == f"client:{client_a.application.client_id}"
    assert stored.secret not in str(event.new) + str(stored.history.values())


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://partner.example.com/hook"}, "url"),
        ({"url": "https://127.0.0.1/hook"}, "url"),
        ({"url": "https://10.1.2.3/hook"}, "url"),
        ({"url": "https://[::1]/hook"}, "url"),
        ({"url": "https://localhost/hook"}, "url"),
        ({"url": "https://metadata.internal/hook"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"event_types": []}, "event_types"),
        ({"event_types": ["customer.deleted"]}, "event_types"),
        ({"event_types": "customer.merged"}, "event_types"),
        ({"secret": "mine"}, "secret"),
    ],
)
def test_invalid_subscriptions_are_refused_naming_the_field(
    api_for: Api, client_a: ApiClient, body: dict[str, Any], field: str
) -> None:
    response = subscribe(api_for(client_a), **body)

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Subscription.objects.exists()


def test_permission_matrix_denies_and_changes_nothing(
    api_for: Api, client_a: ApiClient, client_b: ApiClient
) -> None:
    theirs = WebhookSubscriptionFactory(application=client_b.application, url=HOOK)
    mine = WebhookSubscriptionFactory(application=client_a.application, url=HOOK)
    api = api_for(client_a)
    other = f"{URL}{theirs.pk}/"

    anonymous = [Client().get(URL), subscribe(Client()), Client().delete(f"{URL}{mine.pk}/")]
    no_scope = api_for(client_a, [ApiScope.CONTEXT_READ])
    denied = [no_scope.get(URL), subscribe(no_scope), no_scope.delete(f"{URL}{mine.pk}/")]
    listed = api.get(URL).json()["results"]

    assert all(r.status_code == 401 for r in anonymous)
    assert all(r.status_code == 403 for r in denied)
    assert [s["id"] for s in listed] == [mine.pk]
    assert api.get(other).status_code == 404
    assert api.delete(other).status_code == 404
    assert api.get(f"{URL}999999/").status_code == 404
    assert api.put(f"{URL}{mine.pk}/", {}, content_type="application/json").status_code == 405
    assert Subscription.objects.filter(is_active=True).count() == 2
    assert Subscription.objects.count() == 2


def test_delete_ends_deliveries_and_keeps_the_record(
    api_for: Api, client_a: ApiClient, consenting: Person
) -> None:
    api = api_for(client_a)
    subscription = Subscription.objects.get(pk=subscribe(api).json()["id"])
    event = OutboxEvent.objects.create(
        event_type=DomainEventType.CUSTOMER_MERGED,
        customer_number=consenting.customer.customer_number,
    )
    (pending,) = webhook_deliveries_create(event_id=event.pk)

    deleted = api.delete(f"{URL}{subscription.pk}/")

    assert deleted.status_code == 204
    subscription.refresh_from_db()
    assert not subscription.is_active
    assert WebhookDelivery.objects.get(pk=pending).status == DeliveryStatus.DEAD_LETTERED
    assert api.get(f"{URL}{subscription.pk}/").status_code == 404
    assert api.get(URL).json()["results"] == []
    later = OutboxEvent.objects.create(
        event_type=DomainEventType.CUSTOMER_MERGED,
        customer_number=consenting.customer.customer_number,
    )
    assert webhook_deliveries_create(event_id=later.pk) == []
    assert subscription.history.first().history_change_reason.startswith(  # type: ignore[attr-defined]
        "Deleted through the partner API"
    )


def test_list_query_count_is_fixed(
    api_for: Api, client_a: ApiClient, django_assert_num_queries: Callable[..., Any]
) -> None:
    for n in range(3):
        WebhookSubscriptionFactory(application=client_a.application, url=f"{HOOK}/{n}")
    api = api_for(client_a)
    with django_assert_num_queries(2):  # token with its client, the page
        assert len(api.get(URL).json()["results"]) == 3
