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


class CaptureMethod(models.TextChoices):
    """How a consent statement reached us."""

    WEB_FORM = "web_form", "Web form"
    CALL = "call", "Phone call (recorded)"
    IN_PERSON = "in_person", "In person"
    PAPER = "paper", "Paper form"
    PARTNER_API = "partner_api", "Partner system"
    EMAIL_REPLY = "email_reply", "E-mail reply"
    IMPORT = "import", "Import from a source system"


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
