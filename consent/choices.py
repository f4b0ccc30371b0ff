"""Choices of the consent app."""

from django.db import models


class LegalBasis(models.TextChoices):
    CONSENT = "consent", "Consent"
    CONTRACT = "contract", "Contract"
    LEGAL_OBLIGATION = "legal_obligation", "Legal obligation"
    LEGITIMATE_INTEREST = "legitimate_interest", "Legitimate interest"
    VITAL_INTEREST = "vital_interest", "Vital interest"


class ConsentStatus(models.TextChoices):
    GRANTED = "granted", "Granted"
    DENIED = "denied", "Denied"
    WITHDRAWN = "withdrawn", "Withdrawn"
    # Written only by ``consent_unmerge``: "no statement in force any more".
    # An append-only ledger cannot delete the consent a merge derived, so the
    # split-back appends this marker; selectors read it as "no statement".
    RESET = "reset", "No statement (reset at unmerge)"


# Statuses a person can state; RESET is the ledger's own bookkeeping.
STATED_STATUSES = (ConsentStatus.GRANTED, ConsentStatus.DENIED, ConsentStatus.WITHDRAWN)

# Most restrictive first: at a merge, the first of these among the two
# customers' effective statements wins.
RESTRICTIVENESS = (ConsentStatus.WITHDRAWN, ConsentStatus.DENIED, ConsentStatus.GRANTED)


class CaptureMethod(models.TextChoices):
    """How a consent statement reached us."""

    WEB_FORM = "web_form", "Web form"
    CALL = "call", "Phone call (recorded)"
    IN_PERSON = "in_person", "In person"
    PAPER = "paper", "Paper form"
    PARTNER_API = "partner_api", "Partner system"
    EMAIL_REPLY = "email_reply", "E-mail reply"
    IMPORT = "import", "Import from a source system"
    MERGE = "merge", "Derived at a merge or unmerge"


class DoubleOptIn(models.TextChoices):
    NOT_REQUIRED = "not_required", "Not required"
    PENDING = "pending", "Confirmation pending"
    CONFIRMED = "confirmed", "Confirmed"


class RequestKind(models.TextChoices):
    ACCESS = "access", "Access / export"
    RECTIFICATION = "rectification", "Rectification"
    ERASURE = "erasure", "Erasure"
    RESTRICTION = "restriction", "Restriction of processing"
    PORTABILITY = "portability", "Portability"


class RequestStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    VERIFYING = "verifying", "Verifying identity"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    REJECTED = "rejected", "Rejected"


class PrivacyCheckStatus(models.TextChoices):
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


class PrivacyCheck(models.TextChoices):
    """The checks a privacy-check run performs, in this order."""

    CONSENT_EXPIRED = "consent_expired", "Consents expired in the last 30 days"
    CONSENT_RENEWAL_DUE = "consent_renewal_due", "Consents due for renewal"
    RETENTION_DUE = "retention_due", "Values past their retention period"
    UNAPPROVED_DATA = "unapproved_data", "Data stored without an approved collection decision"
    ACTIONS_WITHOUT_CONSENT = "actions_without_consent", "Actions queued without consent"
    DSR_AT_RISK = "dsr_at_risk", "Data-subject requests at risk of missing their deadline"


class Severity(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    HIGH = "high", "High"


class RetentionAction(models.TextChoices):
    ANONYMIZE = "anonymize", "Anonymize"
    DELETE = "delete", "Delete"


class ExportKind(models.TextChoices):
    ACCESS = "access", "Access (everything held)"
    PORTABILITY = "portability", "Portability (what the person provided)"
