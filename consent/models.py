"""Consent: purposes, channels, the append-only consent ledger, privacy
notices and data-subject requests."""

from __future__ import annotations

from typing import Any

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
    ExportKind,
    LegalBasis,
    PrivacyCheck,
    PrivacyCheckStatus,
    RequestKind,
    RequestStatus,
    Severity,
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


class ConsentRecordQuerySet(models.QuerySet["ConsentRecord"]):
    """The ORM side of the append-only ledger (the trigger guards PostgreSQL itself).

    ``delete()`` is refused; ``update()`` only for the columns the database
    lets change (see ``ConsentRecord``).
    """

    UPDATABLE = frozenset({"customer", "customer_id", "ip_address", "user_agent"})

    def update(self, **kwargs: Any) -> int:
        refused = sorted(set(kwargs) - self.UPDATABLE)
        if refused:
            raise AppendOnlyError(f"the consent ledger is append-only: cannot update {refused}")
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("the consent ledger is append-only: cannot delete")


class AppendOnlyError(Exception):
    """A change or deletion of an append-only row was attempted."""


class ConsentRecord(models.Model):
    """One consent statement of a customer for a purpose through a channel.

    The ledger is append-only: a change is a new record; the effective consent
    for (customer, purpose, channel) is the latest record whose effective
    period covers the moment asked about.

    On PostgreSQL a trigger (migration 0005) refuses DELETE, and refuses
    UPDATE of every column except ``customer_id`` (identity resolution
    re-points rows at a merge or unmerge, audited there) and the web evidence
    ``ip_address`` / ``user_agent`` (blanked by an erasure request).
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

    objects = ConsentRecordQuerySet.as_manager()
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
                | Q(
                    capture_method__in=[
                        CaptureMethod.IMPORT,
                        CaptureMethod.WEB_FORM,
                        CaptureMethod.MERGE,
                    ]
                ),
                name="consentrecord_capturer_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.purpose_id}/{self.channel_id}: {self.status}"

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("the consent ledger is append-only: cannot delete")


# Written by the fulfilment task with ``QuerySet.update`` as it goes; kept out
# of the request's row history (see ``DataSubjectRequest.history``).
FULFILMENT_STATE_FIELDS = ["progress", "progress_steps", "claimed_by", "claimed_at", "attempts"]


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
    contact_email = models.EmailField(
        blank=True, help_text="Where the person is told about extensions and the outcome."
    )
    changes = models.JSONField(
        default=dict,
        blank=True,
        help_text="Rectification only: identity field name to corrected value.",
    )
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
    # What fulfilment did so far, step by step (identities found, each table
    # planned or processed with its row count, failures): counts and table
    # names only, never the data itself, so the admin can show it.
    progress_steps = models.JSONField(default=list, blank=True)
    # The fulfilment task that holds the request, claimed by compare-and-set
    # so that two deliveries of the task never work on it at once.
    claimed_by = models.CharField(max_length=64, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    completed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.TextField(blank=True)

    # Progress and the task's claim are operational state written while the
    # task runs, not changes of the request: the status changes around them
    # carry the history.
    history = HistoricalRecords(excluded_fields=FULFILMENT_STATE_FIELDS)

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
                condition=Q(claimed_by="", claimed_at__isnull=True)
                | (~Q(claimed_by="") & Q(claimed_at__isnull=False)),
                name="dsr_claim_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status=RequestStatus.COMPLETED)
                | (Q(completed_at__isnull=False) & Q(identity_verified_at__isnull=False)),
                name="dsr_completed_verified",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.get_kind_display()})"


class ProcessingRestriction(models.Model):
    """A restriction of processing (GDPR art. 18) of one customer.

    While active (``lifted_at`` empty), no purpose that needs consent may use
    the customer's data: ``consent_decisions`` / ``consent_allows`` say no.
    Nothing is deleted. Purposes with another legal basis are not affected.
    """

    customer = models.ForeignKey(
        "profiles.Customer", on_delete=models.PROTECT, related_name="processing_restrictions"
    )
    request = models.ForeignKey(
        DataSubjectRequest,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="restrictions",
    )
    active_from = models.DateTimeField()
    lifted_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField()

    history = HistoricalRecords()

    class Meta:
        ordering = ["-active_from"]
        indexes = [models.Index(fields=["customer", "lifted_at"], name="restriction_active")]
        constraints = [
            models.CheckConstraint(
                condition=Q(lifted_at__isnull=True) | Q(lifted_at__gte=F("active_from")),
                name="restriction_period_ordered",
            ),
            models.UniqueConstraint(
                fields=["customer", "request"],
                condition=Q(request__isnull=False),
                name="restriction_one_per_request",
            ),
        ]

    def __str__(self) -> str:
        return f"restriction of {self.customer_id} from {self.active_from:%Y-%m-%d}"


class DataSubjectExport(models.Model):
    """The result of an access or portability request: JSON and a summary.

    ``data`` is the machine-readable export; ``summary`` the human-readable
    text sent with it. Written once by the fulfilment task.
    """

    request = models.OneToOneField(
        DataSubjectRequest, on_delete=models.PROTECT, related_name="export"
    )
    kind = models.CharField(max_length=12, choices=ExportKind.choices)
    data = models.JSONField()
    summary = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"export of {self.request_id}"


class RetentionRun(models.Model):
    """One application (or dry run) of the retention periods, with its report.

    ``report`` lists, per field definition and model, how many values were
    (or would be) anonymized.
    """

    dry_run = models.BooleanField()
    as_of = models.DateTimeField()
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    report = models.JSONField(default=list, blank=True)
    triggered_by = models.CharField(max_length=200)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"retention {'dry run ' if self.dry_run else ''}as of {self.as_of:%Y-%m-%d %H:%M}"


class PrivacyCheckRun(models.Model):
    """One run of the privacy checks, with its findings.

    Every check is computed as of ``as_of`` and marked done in
    ``completed_checks`` in the same transaction that stores its findings, so
    an interrupted run resumes with the checks it had not finished.
    """

    as_of = models.DateTimeField()
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=PrivacyCheckStatus.choices, default=PrivacyCheckStatus.RUNNING
    )
    completed_checks = models.JSONField(default=list, blank=True)
    triggered_by = models.CharField(max_length=200)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=PrivacyCheckStatus.COMPLETED) | Q(finished_at__isnull=False),
                name="privacycheckrun_completed_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"privacy checks as of {self.as_of:%Y-%m-%d %H:%M} ({self.status})"


class PrivacyFinding(models.Model):
    """One finding of a privacy check: what, how serious, about which subject.

    Subjects are groups where a check can match millions of rows (all expired
    marketing/e-mail consents are one finding with a count and sample ids).
    """

    run = models.ForeignKey(PrivacyCheckRun, on_delete=models.CASCADE, related_name="findings")
    check_code = models.CharField(max_length=30, choices=PrivacyCheck.choices)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    subject = models.CharField(max_length=200)
    count = models.PositiveBigIntegerField()
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["run", "check_code", "subject"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "check_code", "subject"], name="privacyfinding_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.check_code}: {self.subject} ({self.count})"
