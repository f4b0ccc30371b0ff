"""Choices shared by every app."""

from django.db import models


class ActorChannel(models.TextChoices):
    """Where a change came from."""

    WEB = "web", "Web screen"
    ADMIN = "admin", "Admin"
    API = "api", "REST API"
    TASK = "task", "Background task"
    COMMAND = "command", "Management command"


class AuditEventType(models.TextChoices):
    """Business events recorded in the audit log."""

    CUSTOMER_CREATED = "customer.created", "Customer created"
    CUSTOMER_UPDATED = "customer.updated", "Customer updated"
    CUSTOMER_MERGED = "customer.merged", "Customers merged"
    CUSTOMER_UNMERGED = "customer.unmerged", "Customers unmerged"
    CONSENT_RECORDED = "consent.recorded", "Consent recorded"
    CONSENT_WITHDRAWN = "consent.withdrawn", "Consent withdrawn"
    FIELD_PROPOSED = "field.proposed", "Field definition proposed"
    FIELD_APPROVED = "field.approved", "Field definition approved"
    FIELD_CHANGED = "field.changed", "Field definition changed"
    DECISION_PROPOSED = "decision.proposed", "Collection decision proposed"
    DECISION_DECIDED = "decision.decided", "Collection decision decided"
    VOTE_CAST = "vote.cast", "Vote cast"
    MAPPING_APPROVED = "mapping.approved", "Source field mapping approved"
    DSR_RECEIVED = "dsr.received", "Data-subject request received"
    DEMO_SEEDED = "demo.seeded", "Demo data seeded"
