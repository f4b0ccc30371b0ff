"""Shared base models: timestamps, business audit events, number sequences."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from simple_history.models import HistoricalRecords

from .api.choices import ApiScope, DeliveryStatus
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


# --- partner API (issue 7) ---------------------------------------------------------------


def _scope_list_valid(value: object) -> None:
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise ValidationError("Scopes are a list of scope names.")
    unknown = sorted(set(value) - set(ApiScope.values))
    if unknown:
        raise ValidationError(f"Unknown scopes: {', '.join(unknown)}.")


class ApiClient(TimeStampedModel):
    """A partner or silo system calling the REST API: one per OAuth application.

    The application holds the credentials (client-credentials grant only);
    this row says which source system the client speaks for (its source keys
    are that system's keys, and only those are visible to it), which scopes
    its tokens may carry, and whether it may get tokens at all. The lenses it
    may read through are ``governance.Lens.applications``.
    """

    application = models.OneToOneField(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL,
        on_delete=models.PROTECT,
        related_name="api_client",
    )
    source_system = models.ForeignKey(
        "governance.SourceSystem",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="api_clients",
        help_text="The system whose source keys, records and interactions this client pushes.",
    )
    scopes = models.JSONField(
        default=list, blank=True, validators=[_scope_list_valid], help_text="Allowed scopes."
    )
    is_active = models.BooleanField(default=True)

    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"API client {self.application_id}"


class AccessLog(models.Model):
    """One read of personal data through the API: who (client), whom (customer),
    through which lens, when, in which request. Append-only; the privacy
    officer searches it in the admin."""

    accessed_at = models.DateTimeField(auto_now_add=True, db_index=True)
    application = models.ForeignKey(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    customer_number = models.CharField(max_length=16, db_index=True)
    lens_code = models.CharField(max_length=60, blank=True)
    lens_version = models.PositiveIntegerField(null=True, blank=True)
    endpoint = models.CharField(max_length=60)
    request_id = models.CharField(max_length=64, blank=True, db_index=True)

    class Meta:
        ordering = ["-accessed_at", "-id"]

    def __str__(self) -> str:
        return (
            f"{self.customer_number} by {self.application_id} at {self.accessed_at:%Y-%m-%d %H:%M}"
        )


class IdempotencyKey(models.Model):
    """The stored answer to one write request, by (client, Idempotency-Key): the
    same key with the same body gets the same answer without writing again."""

    application = models.ForeignKey(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    endpoint = models.CharField(max_length=200)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["application", "key"], name="idempotencykey_unique")
        ]

    def __str__(self) -> str:
        return f"{self.application_id}:{self.key}"


class WebhookSubscription(TimeStampedModel):
    """Where a partner client wants domain events pushed, signed with its secret."""

    application = models.ForeignKey(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL,
        on_delete=models.PROTECT,
        related_name="webhook_subscriptions",
    )
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=200, help_text="Key of the HMAC-SHA256 signature.")
    event_types = models.JSONField(
        default=list, help_text=f"Any of: {', '.join(DomainEventType.values)}."
    )
    is_active = models.BooleanField(default=True)

    history = HistoricalRecords(excluded_fields=["secret"])

    def __str__(self) -> str:
        return f"{self.application_id} -> {self.url}"

    def clean(self) -> None:
        if not isinstance(self.event_types, list) or not self.event_types:
            raise ValidationError({"event_types": "Name at least one event type."})
        unknown = sorted(set(map(str, self.event_types)) - set(DomainEventType.values))
        if unknown:
            raise ValidationError({"event_types": f"Unknown event types: {', '.join(unknown)}."})


class WebhookDelivery(models.Model):
    """One outbox event sent to one subscription: attempts, next try, outcome."""

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(OutboxEvent, on_delete=models.PROTECT, related_name="deliveries")
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event"], name="webhookdelivery_unique")
        ]

    def __str__(self) -> str:
        return f"event {self.event_id} -> subscription {self.subscription_id}: {self.status}"
