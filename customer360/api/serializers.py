"""Serializers of the project's own API resources."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from ..choices import DomainEventType
from ..models import OutboxEvent, WebhookSubscription
from .base import StrictSerializer


class OutboxEventSerializer(serializers.ModelSerializer[OutboxEvent]):
    """One domain event: ids and codes only, never personal data."""

    type = serializers.CharField(source="event_type")

    class Meta:
        model = OutboxEvent
        fields = ["id", "type", "occurred_at", "customer_number", "payload"]
        read_only_fields = fields


class EventFeedSerializer(serializers.Serializer[Any]):
    events = OutboxEventSerializer(many=True)
    next_after = serializers.IntegerField(help_text="Pass as `after` to get the next events.")


class WebhookSubscriptionSerializer(serializers.ModelSerializer[WebhookSubscription]):
    """A subscription as listed: never its secret."""

    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=DomainEventType.choices)
    )

    class Meta:
        model = WebhookSubscription
        fields = ["id", "url", "event_types", "created_at"]
        read_only_fields = fields


class WebhookSubscriptionCreatedSerializer(WebhookSubscriptionSerializer):
    """The answer to a subscription: the only time its signing secret is shown."""

    secret = serializers.CharField(
        help_text="Key of the HMAC-SHA256 signature of every delivery (X-C360-Signature). "
        "Shown only in this answer: keep it."
    )

    class Meta(WebhookSubscriptionSerializer.Meta):
        fields = [*WebhookSubscriptionSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookSubscriptionCreateSerializer(StrictSerializer):
    """What a partner sends to subscribe."""

    url = serializers.URLField(max_length=500, help_text="An https URL of a public host.")
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=DomainEventType.choices),
        min_length=1,
        max_length=len(DomainEventType.choices),
    )
