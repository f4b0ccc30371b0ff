"""Reads of the project's own API tables, restricted to the calling client."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from ..models import ApiClient, OutboxEvent, WebhookSubscription


def events_for_client(*, client: ApiClient, after: int = 0) -> QuerySet[OutboxEvent]:
    """Outbox events after ``after`` that the client may learn of, oldest first.

    The same rule as webhook delivery (``customer360.services.event_visible_to``):
    an event about a customer is visible only when one of the client's source
    records links to that customer; an event about no customer is visible to
    every client.
    """
    from profiles.models import SourceRecord

    linked = SourceRecord.objects.filter(
        source_system_id=client.source_system_id,
        customer__customer_number=OuterRef("customer_number"),
    )
    visible = Q(customer_number="")
    if client.source_system_id is not None:
        visible |= Q(Exists(linked))
    return OutboxEvent.objects.filter(pk__gt=after).filter(visible).order_by("pk")


def webhook_subscriptions_for_client(*, client: ApiClient) -> QuerySet[WebhookSubscription]:
    """The client's own active webhook subscriptions (ended ones stay as records,
    unseen through the API)."""
    return WebhookSubscription.objects.filter(application_id=client.application_id, is_active=True)
