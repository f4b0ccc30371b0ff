"""Consent: purposes, channels, the append-only consent ledger, privacy
notices and data-subject requests."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from customer360.models import TimeStampedModel

from .choices import (
    CaptureMethod,
    ConsentStatus,
    DoubleOptIn,
    LegalBasis,
    RequestKind,
    RequestStatus,
)


class Purpose(TimeStampedModel):
    """Why customer data is used: service, marketing, risk assessment, ...

    ``requires_consent`` is false where another legal basis (contract, legal
    obligation) allows the use without the customer's consent.
    """

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField()
    legal_basis = models.CharField(max_length=20, choices=LegalBasis.choices)
    requires_consent = models.BooleanField(default=True)
    is_active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(legal_basis=LegalBasis.CONSENT, requires_consent=True)
                | ~Q(legal_basis=LegalBasis.CONSENT),
                name="purpose_consent_basis_requires_consent",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Channel(TimeStampedModel):
    """A way to reach or hear from a customer: e-mail, SMS, phone, post, web, store."""

    code = models.SlugField(max_length=20, unique=True)
    name = models.CharField(max_length=60)
    is_outbound = models.BooleanField(
        default=True, help_text="Whether the company may contact customers through it."
    )
    is_active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PrivacyNotice(TimeStampedModel):
    """A versioned privacy notice; consents record the version the customer saw.

    A material change makes consents given under earlier versions due for renewal.
    """

    code = models.SlugField(max_length=40)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    text = models.TextField()
    purposes = models.ManyToManyField(Purpose, related_name="notices")
    published_at = models.DateTimeField()
    material_change = models.BooleanField(default=False)

    history = HistoricalRecords(m2m_fields=[purposes])

    class Meta:
        ordering = ["code", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["code", "version"], name="privacynotice_unique_version"
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="privacynotice_version_pos"),
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"


class ConsentRecord(models.Model):
    """One consent statement of a customer for a purpose through a channel.

    The ledger is append-only: a change is a new record; the effective consent
    for (customer, purpose, channel) is the latest record whose effective
    period covers the moment asked about.
    """

    customer = models.ForeignKey(
        "profiles.Customer", on_delete=models.PROTECT, related_name="consents"
    )
    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="consents")
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="consents")
    status = models.CharField(max_length=10, choices=ConsentStatus.choices)
    # Evidence: how, by whom and under which notice the statement was captured.
    capture_method = models.CharField(max_length=12, choices=CaptureMethod.choices)
    captured_via = models.ForeignKey(
        Channel, on_delete=models.PROTECT, related_name="+", help_text="Channel it came through."
    )
    captured_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    captured_by_client = models.ForeignKey(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    source_record = models.ForeignKey(
        "profiles.SourceRecord",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="consents",
        help_text="The source record the statement came with, so unmerge can split it back.",
    )
    captured_at = models.DateTimeField()
    effective_from = models.DateTimeField()
    effective_until = models.DateTimeField(null=True, blank=True)
    evidence_reference = models.CharField(
        max_length=200, blank=True, help_text="Form id, call-recording reference, letter scan."
    )
    notice = models.ForeignKey(
        PrivacyNotice, null=True, blank=True, on_delete=models.PROTECT, related_name="consents"
    )
    double_opt_in = models.CharField(
        max_length=12, choices=DoubleOptIn.choices, default=DoubleOptIn.NOT_REQUIRED
    )
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    reason = models.TextField(blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-effective_from", "-id"]
        indexes = [
            models.Index(
                fields=["customer", "purpose", "channel", "-effective_from"],
                name="consent_effective_lookup",
            ),
            models.Index(fields=["effective_until"], name="consent_expiry"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(effective_until__isnull=True)
                | Q(effective_until__gt=F("effective_from")),
                name="consentrecord_period_ordered",
            ),
            models.CheckConstraint(
                condition=Q(captured_by__isnull=False)
                | Q(captured_by_client__isnull=False)
                | Q(capture_method__in=[CaptureMethod.IMPORT, CaptureMethod.WEB_FORM]),
                name="consentrecord_capturer_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.purpose_id}/{self.channel_id}: {self.status}"


class DataSubjectRequest(TimeStampedModel):
    """A person's request under data-protection law: access, rectification,
    erasure, restriction or portability, with its deadline and workflow."""

    reference = models.CharField(max_length=20, unique=True)
    kind = models.CharField(max_length=14, choices=RequestKind.choices)
    status = models.CharField(
        max_length=12, choices=RequestStatus.choices, default=RequestStatus.RECEIVED
    )
    customer = models.ForeignKey(
        "profiles.Customer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="data_subject_requests",
    )
    received_via = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField()
    due_at = models.DateTimeField()
    extended_due_at = models.DateTimeField(null=True, blank=True)
    extension_reason = models.TextField(blank=True)
    identity_verified_at = models.DateTimeField(null=True, blank=True)
    identity_verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_data_subject_requests",
    )
    details = models.TextField(blank=True)
    progress = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(100)])
    completed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["due_at"]
        indexes = [models.Index(fields=["status", "due_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(due_at__gt=F("received_at")), name="dsr_due_after_received"
            ),
            models.CheckConstraint(
                condition=Q(extended_due_at__isnull=True)
                | (Q(extended_due_at__gt=F("due_at")) & ~Q(extension_reason="")),
                name="dsr_extension_later_with_reason",
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="dsr_progress_range"),
            models.CheckConstraint(
                condition=~Q(status=RequestStatus.COMPLETED)
                | (Q(completed_at__isnull=False) & Q(identity_verified_at__isnull=False)),
                name="dsr_completed_verified",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.get_kind_display()})"
