"""Serializers of the project's own API resources."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from ..models import OutboxEvent


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
