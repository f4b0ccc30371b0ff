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
    GOVERNED_PROPOSED = "governed.proposed", "Governed item proposed"
    GOVERNED_APPROVED = "governed.approved", "Governed item approved"
    GOVERNED_REJECTED = "governed.rejected", "Governed item version rejected"
    GOVERNED_DEPRECATED = "governed.deprecated", "Governed item deprecated"
    DECISION_VOTING_OPENED = "decision.voting_opened", "Collection decision opened for voting"
    DSR_RECEIVED = "dsr.received", "Data-subject request received"
    CONSENT_MERGED = "consent.merged", "Consent merged (most restrictive wins)"
    CONSENT_UNMERGED = "consent.unmerged", "Consent split back at unmerge"
    DSR_ASSIGNED = "dsr.assigned", "Data-subject request assigned"
    DSR_IDENTITY_VERIFIED = "dsr.identity_verified", "Data-subject identity verified"
    DSR_EXTENDED = "dsr.extended", "Data-subject request deadline extended"
    DSR_FULFILMENT_STARTED = "dsr.fulfilment_started", "Data-subject request fulfilment started"
    DSR_COMPLETED = "dsr.completed", "Data-subject request completed"
    DSR_REJECTED = "dsr.rejected", "Data-subject request rejected"
    CUSTOMER_ERASED = "customer.erased", "Customer's personal data erased"
    PROCESSING_RESTRICTED = "processing.restricted", "Processing restricted"
    PROCESSING_RESTRICTION_LIFTED = "processing.lifted", "Processing restriction lifted"
    RETENTION_APPLIED = "retention.applied", "Retention periods applied"
    DEMO_SEEDED = "demo.seeded", "Demo data seeded"
    SOURCE_DECLARED = "source.declared", "Source system declared from a file"
    RECORDS_IMPORTED = "records.imported", "Source records imported"
    MATCH_DECIDED = "customer.match_decided", "Duplicate match decided by a steward"
