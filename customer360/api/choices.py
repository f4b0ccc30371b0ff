"""Choices of the partner API (issue 7): scopes and webhook delivery states."""

from django.db import models


class ApiScope(models.TextChoices):
    """What a partner client may do; a token carries a subset of its client's scopes."""

    CONTEXT_READ = "context:read", "Read purpose-filtered customer context"
    RECORDS_WRITE = "records:write", "Push source records"
    INTERACTIONS_WRITE = "interactions:write", "Push interactions"
    ACTIONS_PROPOSE = "actions:propose", "Propose outbound actions"
    CONSENT_READ = "consent:read", "Read consent"
    CONSENT_WRITE = "consent:write", "Capture consent"
    WEBHOOKS_MANAGE = "webhooks:manage", "Manage your webhook subscriptions"


class DeliveryStatus(models.TextChoices):
    """Where one webhook delivery stands."""

    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    DEAD_LETTERED = "dead_lettered", "Dead-lettered"
