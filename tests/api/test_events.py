"""Domain events: the polling feed and webhooks (signature, retries with
backoff, dead letters), both limited to customers the client knows."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import http.server
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from customer360.api.choices import DeliveryStatus
from customer360.choices import AuditEventType, DomainEventType
from customer360.models import ApiClient, AuditEvent, OutboxEvent, WebhookDelivery
from customer360.services import (
    WEBHOOK_MAX_ATTEMPTS,
    event_publish,
    webhook_deliveries_create,
    webhook_delivery_attempt,
)
from customer360.tasks import webhook_event_dispatch
from tests.api.conftest import Person
from tests.factories import CustomerFactory, WebhookSubscriptionFactory

pytestmark = pytest.mark.django_db

Api = Callable[..., Client]


class Receiver(http.server.BaseHTTPRequestHandler):
    """A partner's webhook endpoint: records requests, answers ``status``."""

    received: list[tuple[dict[str, str], bytes]] = []
    status = 204

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[Receiver]]]:
    handler = type("Handler", (Receiver,), {"received": [], "status": 204})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", handler
    server.shutdown()
    server.server_close()


def merged_event(number: str) -> OutboxEvent:
    return event_publish(
        event_type=DomainEventType.CUSTOMER_MERGED,
        customer_number=number,
        payload={"survivor": number, "merged": "C900000000"},
    )


def test_feed_shows_only_events_about_the_clients_customers(
    api_for: Api,
    client_a: ApiClient,
    consenting: Person,
    django_assert_num_queries: Callable[..., Any],
) -> None:
    mine = merged_event(consenting.customer.customer_number)
    merged_event(CustomerFactory().customer_number)  # somebody else's customer
    api = api_for(client_a)

    with django_assert_num_queries(2):  # token with its client, events
        body = api.get("/api/v1/events/", {"after": 0}).json()
    later = api.get("/api/v1/events/", {"after": body["next_after"]}).json()
    bad = api.get("/api/v1/events/", {"after": "-1"})

    assert [e["id"] for e in body["events"]] == [mine.pk]
    assert body["events"][0]["payload"]["survivor"] == consenting.customer.customer_number
    assert body["next_after"] == mine.pk
    assert later == {"events": [], "next_after": mine.pk}
    assert bad.status_code == 400 and "after" in bad.json()["errors"]


def test_webhook_delivers_signed_events_only_to_clients_that_know_the_customer(
    client_a: ApiClient,
    client_b: ApiClient,
    consenting: Person,
    receiver: tuple[str, type[Receiver]],
) -> None:
    url, handler = receiver
    WebhookSubscriptionFactory(application=client_a.application, url=url, secret="s3cret")
    WebhookSubscriptionFactory(application=client_b.application, url=url, secret="other")
    event = merged_event(consenting.customer.customer_number)

    delivery_ids = webhook_deliveries_create(event_id=event.pk)
    assert len(delivery_ids) == 1  # client B's system does not know the customer
    assert webhook_delivery_attempt(delivery_id=delivery_ids[0]) == DeliveryStatus.DELIVERED

    ((headers, body),) = handler.received
    expected = hmac.new(
        b"s3cret", headers["X-C360-Timestamp"].encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    assert headers["X-C360-Signature"] == f"sha256={expected}"
    assert json.loads(body)["id"] == event.pk
    assert WebhookDelivery.objects.get().delivered_at is not None
    assert webhook_deliveries_create(event_id=event.pk) == []  # idempotent


def test_failed_deliveries_back_off_and_end_dead_lettered(
    client_a: ApiClient, consenting: Person, receiver: tuple[str, type[Receiver]]
) -> None:
    url, handler = receiver
    handler.status = 500
    WebhookSubscriptionFactory(application=client_a.application, url=url)
    (delivery_id,) = webhook_deliveries_create(
        event_id=merged_event(consenting.customer.customer_number).pk
    )

    assert webhook_delivery_attempt(delivery_id=delivery_id) == DeliveryStatus.PENDING
    delivery = WebhookDelivery.objects.get()
    first_wait = delivery.next_attempt_at - timezone.now()
    assert delivery.last_error == "HTTP 500" and delivery.attempts == 1
    # Not due yet: nothing is sent.
    assert webhook_delivery_attempt(delivery_id=delivery_id) == DeliveryStatus.PENDING
    assert len(handler.received) == 1
    for _ in range(WEBHOOK_MAX_ATTEMPTS - 1):
        WebhookDelivery.objects.update(next_attempt_at=timezone.now())
        status = webhook_delivery_attempt(delivery_id=delivery_id)
        if status == DeliveryStatus.PENDING:
            waited = WebhookDelivery.objects.get().next_attempt_at - timezone.now()
            assert waited > first_wait  # exponential backoff
    assert status == DeliveryStatus.DEAD_LETTERED
    assert len(handler.received) == WEBHOOK_MAX_ATTEMPTS
    audit = AuditEvent.objects.get(event_type=AuditEventType.WEBHOOK_DEAD_LETTERED)
    assert audit.customer_number == consenting.customer.customer_number
    assert webhook_delivery_attempt(delivery_id=delivery_id) is None


def test_event_publish_dispatches_after_commit(
    client_a: ApiClient,
    consenting: Person,
    receiver: tuple[str, type[Receiver]],
    django_capture_on_commit_callbacks: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, _ = receiver
    WebhookSubscriptionFactory(application=client_a.application, url=url)
    sent: list[int] = []
    monkeypatch.setattr(webhook_event_dispatch, "delay", lambda event_id: sent.append(event_id))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        event = merged_event(consenting.customer.customer_number)
    assert sent == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert sent == [event.pk]
    assert datetime.timedelta(0) <= timezone.now() - event.occurred_at
