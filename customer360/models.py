"""Shared base models: timestamps, business audit events, number sequences."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models

from .choices import ActorChannel, AuditEventType, DomainEventType


class TimeStampedModel(models.Model):
    """Creation and last-change times for every row that changes."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class AuditEvent(models.Model):
    """One business event (consent given, merge, vote cast, ...): append-only.

    simple-history records row diffs; these rows record what happened in the
    business's words, with actor, subject, old and new values, reason and the
    request id. Written inside the same transaction as the change they
    describe. On PostgreSQL a trigger refuses UPDATE and DELETE.
    """

    occurred_at = models.DateTimeField(auto_now_add=True, db_index=True)
    event_type = models.CharField(max_length=64, choices=AuditEventType.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Who acted when it was not a person: "rule:auto-merge v3", "client:crm-42".
    actor_label = models.CharField(max_length=200, blank=True)
    channel = models.CharField(max_length=16, choices=ActorChannel.choices)
    subject_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    subject_id = models.CharField(max_length=64)
    # The customer number the event concerns, when it concerns one, so that a
    # data-subject export finds every event about a person with one lookup.
    customer_number = models.CharField(max_length=16, blank=True, db_index=True)
    old = models.JSONField(default=dict, blank=True)
    new = models.JSONField(default=dict, blank=True)
    reason = models.TextField()
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["subject_type", "subject_id", "-occurred_at"])]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(reason=""), name="auditevent_reason_required"
            ),
            models.CheckConstraint(
                condition=models.Q(actor__isnull=False) | ~models.Q(actor_label=""),
                name="auditevent_actor_required",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.subject_type.model}#{self.subject_id}"


class NumberSequence(models.Model):
    """A named counter from which human-readable numbers are allocated in blocks."""

    name = models.CharField(max_length=64, unique=True)
    last_value = models.BigIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(last_value__gte=0), name="numbersequence_nonnegative"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name}={self.last_value}"


class WorkerHeartbeat(models.Model):
    """Written by the ``worker_heartbeat`` task: proof that a worker runs tasks."""

    token = models.CharField(max_length=64, unique=True)
    hostname = models.CharField(max_length=200)
    seen_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.hostname} at {self.seen_at:%Y-%m-%d %H:%M:%S}"


class OutboxEvent(models.Model):
    """A domain event written in the same transaction as the change it announces
    (the transactional outbox): delivered afterwards to subscribed partner
    clients by webhook, and readable from the polling feed in ``id`` order.

    The payload carries identifiers and codes (customer numbers, purpose and
    channel codes, action ids), never personal data. Append-only.
    """

    occurred_at = models.DateTimeField(auto_now_add=True, db_index=True)
    event_type = models.CharField(max_length=32, choices=DomainEventType.choices)
    customer_number = models.CharField(max_length=16, blank=True, db_index=True)
    payload = models.JSONField(default=dict)
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["event_type", "id"])]

    def __str__(self) -> str:
        return f"{self.event_type} #{self.pk}"
