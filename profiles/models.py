"""Profiles: golden customers, the source records behind them, households,
relationships, and what the silos know of each customer (interactions,
holdings, cases, flags, outbound actions).

Rows that come from a silo keep a link to the ``SourceRecord`` they arrived
with, so that an unmerge can send them back to the customer they belong to.
"""

from __future__ import annotations

import datetime
import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from customer360.models import TimeStampedModel

from .choices import (
    ActionKind,
    ActionStatus,
    CaseKind,
    CasePriority,
    CaseStatus,
    Direction,
    FlagKind,
    HoldingStatus,
    HouseholdRole,
    InteractionKind,
    LifecycleStatus,
    LineOfBusiness,
    Outcome,
    RelationshipKind,
)
from .identity.choices import (
    OPEN_CANDIDATE_STATUSES,
    CandidateStatus,
    ImportFormat,
    ImportStatus,
    ModelMethod,
    RunKind,
    RunStatus,
)
from .numbers import validate_customer_number

AGE_BANDS = ((18, "under 18"), (25, "18-24"), (35, "25-34"), (50, "35-49"), (65, "50-64"))


class Customer(TimeStampedModel):
    """The golden record of one person, under one customer number for all silos.

    Values are derived from the linked source records by each field
    definition's survivorship rule; ``lineage`` says, per canonical field, the
    id of the source record the value came from. A customer merged into
    another keeps its row and number, with ``merged_into`` pointing at the
    survivor, so the old number still resolves.
    """

    customer_number = models.CharField(
        max_length=10, unique=True, validators=[validate_customer_number]
    )
    lifecycle_status = models.CharField(
        max_length=10, choices=LifecycleStatus.choices, default=LifecycleStatus.PROSPECT
    )
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_from"
    )
    merged_at = models.DateTimeField(null=True, blank=True)
    given_name = models.CharField(max_length=100, blank=True)
    middle_name = models.CharField(max_length=100, blank=True)
    family_name = models.CharField(max_length=100, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=20, blank=True, help_text="E.164")
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    locality = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    language = models.CharField(max_length=8, blank=True, help_text="BCP 47, e.g. en, fr-BE")
    preferred_channel = models.ForeignKey(
        "consent.Channel", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    is_restricted = models.BooleanField(
        default=False,
        help_text="Employees and protected persons: visible only to agents given access.",
    )
    lineage = models.JSONField(default=dict, blank=True)

    # Identity resolution writes a history row per new or re-derived customer:
    # the history table keeps the indexes something reads (by id, date, user).
    history = HistoricalRecords(
        no_db_index=["created_at", "customer_number", "merged_into", "preferred_channel"]
    )

    class Meta:
        ordering = ["customer_number"]
        indexes = [
            models.Index(fields=["family_name", "given_name"], name="customer_name"),
            models.Index(fields=["email"], name="customer_email"),
            models.Index(fields=["phone"], name="customer_phone"),
            models.Index(fields=["postcode", "family_name"], name="customer_postcode_name"),
            models.Index(fields=["date_of_birth"], name="customer_dob"),
            models.Index(fields=["lifecycle_status"], name="customer_lifecycle"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(merged_into=F("pk")), name="customer_not_merged_into_self"
            ),
            models.CheckConstraint(
                condition=(
                    Q(merged_into__isnull=True)
                    & Q(merged_at__isnull=True)
                    & ~Q(lifecycle_status=LifecycleStatus.MERGED)
                )
                | (
                    Q(merged_into__isnull=False)
                    & Q(merged_at__isnull=False)
                    & Q(lifecycle_status=LifecycleStatus.MERGED)
                ),
                name="customer_merge_state_consistent",
            ),
        ]

    def __str__(self) -> str:
        return self.customer_number

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.given_name, self.middle_name, self.family_name) if p)

    def age_band(self, today: datetime.date | None = None) -> str:
        """The age band (never the exact age) that the context card shows."""
        if self.date_of_birth is None:
            return ""
        today = today or timezone.localdate()
        dob = self.date_of_birth
        age = today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))
        for limit, label in AGE_BANDS:
            if age < limit:
                return label
        return "65+"


class SourceRecord(TimeStampedModel):
    """A silo's own record of a person, keyed by (source system, source key).

    ``raw`` keeps the payload as received (only governed columns); ``normalized``
    holds canonical field values after mapping and normalization, which
    matching compares. ``payload_hash`` lets a re-import of an unchanged row
    change nothing.
    """

    # Every index here is paid twice per imported record (its insert, then the
    # update that links it to a customer), so there are no redundant ones: the
    # unique (source_system, source_key) and "sourcerecord_customer" indexes
    # serve the look-ups by system and by customer, and nothing reads records
    # by creation time.
    created_at = models.DateTimeField(auto_now_add=True)
    source_system = models.ForeignKey(
        "governance.SourceSystem", on_delete=models.PROTECT, related_name="records", db_index=False
    )
    source_key = models.CharField(max_length=100)
    customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="source_records",
        db_index=False,
        help_text="Empty only until identity resolution has linked the record.",
    )
    raw = models.JSONField(default=dict)
    normalized = models.JSONField(default=dict)
    payload_hash = models.CharField(max_length=64)
    received_at = models.DateTimeField(default=timezone.now)
    import_run = models.ForeignKey(
        "ImportRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="records",
        help_text="The import that last created or changed the record.",
    )
    resolved_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When matching last ran on the record's current values; empty: waiting.",
    )

    # The history table keeps the indexes something reads: by id (a record's
    # history), by customer (erasure), by date and by user.
    history = HistoricalRecords(
        no_db_index=["created_at", "source_system", "import_run", "resolved_at"]
    )

    class Meta:
        ordering = ["source_system", "source_key"]
        indexes = [
            models.Index(fields=["customer"], name="sourcerecord_customer"),
            # Only the records waiting for matching: linking a record removes it
            # from this index instead of adding an entry to a full-table one.
            models.Index(
                fields=["id"], condition=Q(resolved_at__isnull=True), name="sourcerecord_pending"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["source_system", "source_key"], name="sourcerecord_unique_key"
            ),
            models.CheckConstraint(condition=~Q(source_key=""), name="sourcerecord_key_required"),
        ]

    def __str__(self) -> str:
        return f"{self.source_system_id}:{self.source_key}"


class Household(TimeStampedModel):
    """People who live together or share an address, without merging them.

    Members see nothing of one another through the household.
    """

    label = models.CharField(max_length=200, help_text="E.g. the family name and locality.")
    address_key = models.CharField(
        max_length=200, blank=True, db_index=True, help_text="Normalized address it groups."
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["label"]

    def __str__(self) -> str:
        return self.label


class HouseholdMembership(TimeStampedModel):
    """A customer's membership of a household, with role and validity period."""

    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="memberships")
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="household_memberships"
    )
    role = models.CharField(max_length=10, choices=HouseholdRole.choices)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["household", "role"]
        indexes = [models.Index(fields=["customer", "valid_to"], name="membership_customer")]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                name="membership_period_ordered",
            ),
            models.UniqueConstraint(
                fields=["household", "customer"],
                condition=Q(valid_to__isnull=True),
                name="membership_one_current_per_household",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} in {self.household_id} ({self.role})"


class Relationship(TimeStampedModel):
    """A typed, directed link between two customers: A is <kind> of B."""

    from_customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="relationships_from"
    )
    to_customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="relationships_to"
    )
    kind = models.CharField(max_length=20, choices=RelationshipKind.choices)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    source_system = models.ForeignKey(
        "governance.SourceSystem",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["from_customer", "kind"]
        indexes = [models.Index(fields=["to_customer", "kind"], name="relationship_to")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(from_customer=F("to_customer")), name="relationship_not_self"
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                name="relationship_period_ordered",
            ),
            models.UniqueConstraint(
                fields=["from_customer", "to_customer", "kind"],
                condition=Q(valid_to__isnull=True),
                name="relationship_one_current",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_customer_id} {self.kind} {self.to_customer_id}"


class Holding(TimeStampedModel):
    """A product or service the customer holds (a policy, an account, a subscription)."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="holdings")
    source_record = models.ForeignKey(
        SourceRecord, null=True, blank=True, on_delete=models.PROTECT, related_name="holdings"
    )
    source_system = models.ForeignKey(
        "governance.SourceSystem", on_delete=models.PROTECT, related_name="holdings"
    )
    reference = models.CharField(max_length=60, help_text="The silo's number, e.g. a policy no.")
    product_code = models.CharField(max_length=40)
    product_name = models.CharField(max_length=120)
    line_of_business = models.CharField(max_length=10, choices=LineOfBusiness.choices)
    status = models.CharField(max_length=10, choices=HoldingStatus.choices)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    annual_value = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="EUR")

    history = HistoricalRecords()

    class Meta:
        ordering = ["-start_date"]
        indexes = [models.Index(fields=["customer", "status"], name="holding_customer_status")]
        constraints = [
            models.UniqueConstraint(
                fields=["source_system", "reference"], name="holding_unique_reference"
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="holding_period_ordered",
            ),
            models.CheckConstraint(
                condition=Q(annual_value__gte=0), name="holding_value_nonnegative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_name} {self.reference}"


class Interaction(TimeStampedModel):
    """One contact or transaction with the customer in any silo and channel.

    ``(source_system, external_id)`` is the natural key that makes ingest
    idempotent; interactions logged in customer360 itself have no source system.
    """

    # No index of its own: the timeline index (customer, -occurred_at) starts with
    # the customer and serves every look-up by customer (the timeline, merges,
    # erasure, the PROTECT check when a customer is deleted); a second index on
    # 9 M rows was one more random page written per ingested interaction.
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="interactions", db_index=False
    )
    source_record = models.ForeignKey(
        SourceRecord, null=True, blank=True, on_delete=models.PROTECT, related_name="interactions"
    )
    silo = models.ForeignKey("governance.Silo", on_delete=models.PROTECT, related_name="+")
    source_system = models.ForeignKey(
        "governance.SourceSystem", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    external_id = models.CharField(max_length=100, blank=True)
    channel = models.ForeignKey("consent.Channel", on_delete=models.PROTECT, related_name="+")
    direction = models.CharField(max_length=8, choices=Direction.choices)
    kind = models.CharField(max_length=12, choices=InteractionKind.choices)
    occurred_at = models.DateTimeField()
    summary = models.TextField(blank=True)
    sentiment = models.FloatField(
        null=True, blank=True, help_text="From -1 (very unhappy) to 1 (very happy)."
    )
    outcome = models.CharField(max_length=12, choices=Outcome.choices, blank=True)
    reference = models.CharField(max_length=60, blank=True, help_text="Order no., letter id...")
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    holding = models.ForeignKey(
        Holding, null=True, blank=True, on_delete=models.PROTECT, related_name="interactions"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    # The history table grows as fast as the timeline (bulk partner ingest
    # writes a history row per interaction): only the indexes something reads
    # are kept (by id, by customer for erasure, by date, by user); each of the
    # others cost the ingest its share of every insert.
    history = HistoricalRecords(
        no_db_index=[
            "created_at",
            "source_record",
            "silo",
            "source_system",
            "channel",
            "holding",
            "agent",
        ]
    )

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-occurred_at"], name="interaction_timeline"),
            models.Index(fields=["customer", "kind", "-occurred_at"], name="interaction_kind"),
            models.Index(fields=["occurred_at"], name="interaction_occurred"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["source_system", "external_id"],
                condition=~Q(external_id=""),
                name="interaction_unique_external_id",
            ),
            models.CheckConstraint(
                condition=Q(sentiment__isnull=True) | Q(sentiment__gte=-1, sentiment__lte=1),
                name="interaction_sentiment_range",
            ),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | ~Q(currency=""),
                name="interaction_amount_has_currency",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.occurred_at:%Y-%m-%d} ({self.customer_id})"


class Case(TimeStampedModel):
    """A complaint, request or claim that stays open until resolved."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="cases")
    source_record = models.ForeignKey(
        SourceRecord, null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    silo = models.ForeignKey("governance.Silo", on_delete=models.PROTECT, related_name="+")
    reference = models.CharField(max_length=30, unique=True)
    kind = models.CharField(max_length=16, choices=CaseKind.choices)
    subject = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    priority = models.CharField(
        max_length=8, choices=CasePriority.choices, default=CasePriority.NORMAL
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_cases",
    )
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    holding = models.ForeignKey(
        Holding, null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-opened_at"]
        indexes = [models.Index(fields=["customer", "status"], name="case_customer_status")]
        constraints = [
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True) | Q(closed_at__gte=F("opened_at")),
                name="case_period_ordered",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[CaseStatus.RESOLVED, CaseStatus.CLOSED])
                | Q(closed_at__isnull=True),
                name="case_open_not_closed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.subject}"


class Flag(models.Model):
    """A computed signal about a customer, with its score and plain-words reason.

    One current flag per customer and kind; recomputation replaces it. Flags are
    derived data, so they keep no history of their own: the inputs do.
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="flags")
    kind = models.CharField(max_length=20, choices=FlagKind.choices)
    score = models.FloatField(help_text="From 0 to 1.")
    label = models.CharField(max_length=60, blank=True, help_text="E.g. 'high', 'lost'.")
    reason = models.TextField()
    details = models.JSONField(default=dict, blank=True)
    computed_at = models.DateTimeField()
    definition_version = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["customer", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "kind"], name="flag_one_per_kind"),
            models.CheckConstraint(
                condition=Q(score__gte=0, score__lte=1), name="flag_score_range"
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="flag_reason_required"),
        ]
        indexes = [models.Index(fields=["kind", "-score"], name="flag_kind_score")]

    def __str__(self) -> str:
        return f"{self.kind}={self.score:.2f} ({self.customer_id})"


class OutboundAction(TimeStampedModel):
    """An action a silo intends to take towards a customer: an offer, an
    up-sell, a cancellation letter, a retention call. Every one passes
    contact arbitration before it goes out; a blocked one keeps its reasons."""

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="outbound_actions"
    )
    silo = models.ForeignKey("governance.Silo", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=ActionKind.choices)
    purpose = models.ForeignKey("consent.Purpose", on_delete=models.PROTECT, related_name="+")
    channel = models.ForeignKey("consent.Channel", on_delete=models.PROTECT, related_name="+")
    holding = models.ForeignKey(
        Holding, null=True, blank=True, on_delete=models.PROTECT, related_name="outbound_actions"
    )
    status = models.CharField(
        max_length=10, choices=ActionStatus.choices, default=ActionStatus.PROPOSED
    )
    scheduled_for = models.DateTimeField()
    summary = models.CharField(max_length=200)
    block_reasons = models.JSONField(default=list, blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    proposed_by_client = models.ForeignKey(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    external_id = models.CharField(max_length=100, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-scheduled_for"]
        indexes = [
            models.Index(fields=["customer", "status", "scheduled_for"], name="action_pending"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=ActionStatus.BLOCKED) | ~Q(block_reasons=[]),
                name="action_blocked_has_reason",
            ),
            models.UniqueConstraint(
                fields=["silo", "external_id"],
                condition=~Q(external_id=""),
                name="action_unique_external_id",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.customer_id} ({self.status})"


# --- identity resolution ----------------------------------------------------------


class SourceFormat(TimeStampedModel):
    """How a source system's files look: which column holds its key, the
    encoding and the CSV delimiter. Declared with the source (``load_source``)."""

    source_system = models.OneToOneField(
        "governance.SourceSystem", on_delete=models.PROTECT, related_name="file_format"
    )
    key_column = models.CharField(max_length=120)
    encoding = models.CharField(max_length=40, default="utf-8")
    delimiter = models.CharField(max_length=1, default=",")

    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"{self.source_system_id}: key {self.key_column}"


class ImportRun(models.Model):
    """One import of a file (or an API batch) of one source system, with its counts.

    Operational record, not business data: it keeps no history. Rows refused
    for invalid values are kept as ``QuarantinedRow``s of the run.
    """

    source_system = models.ForeignKey(
        "governance.SourceSystem", on_delete=models.PROTECT, related_name="import_runs"
    )
    file_name = models.CharField(max_length=500)
    file_format = models.CharField(max_length=8, choices=ImportFormat.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    status = models.CharField(
        max_length=10, choices=ImportStatus.choices, default=ImportStatus.RUNNING
    )
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows_total = models.PositiveIntegerField(default=0)
    rows_created = models.PositiveIntegerField(default=0)
    rows_updated = models.PositiveIntegerField(default=0)
    rows_unchanged = models.PositiveIntegerField(default=0)
    rows_quarantined = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status=ImportStatus.RUNNING, finished_at__isnull=True)
                | (~Q(status=ImportStatus.RUNNING) & Q(finished_at__isnull=False)),
                name="importrun_finished_has_time",
            )
        ]

    def __str__(self) -> str:
        return f"import {self.pk} of {self.file_name} ({self.status})"


class QuarantinedRow(models.Model):
    """A row an import refused for an invalid value: row number, field and reason."""

    import_run = models.ForeignKey(
        ImportRun, on_delete=models.CASCADE, related_name="quarantined_rows"
    )
    row_number = models.PositiveIntegerField(help_text="Line of the file (CSV: header is 1).")
    field = models.CharField(max_length=120, blank=True, help_text="The source column.")
    reason = models.TextField()
    raw = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["import_run", "row_number"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="quarantinedrow_reason_required")
        ]

    def __str__(self) -> str:
        return f"row {self.row_number} {self.field}: {self.reason}"


class BlockingKey(models.Model):
    """One blocking key of a source record under one rule.

    Records that share a (rule, key) are compared; matching one new record is
    an index lookup on (rule, key). Derived data, rebuilt when the record changes.
    """

    # Indexed through the unique (record, rule, key) constraint, which leads
    # with it. No database foreign key: a record's five or so keys would each
    # check (and share-lock) the record at commit, the largest part of writing
    # them; the ORM still deletes them with the record (CASCADE), and a key
    # left pointing at nothing is never matched (members are read through
    # their records).
    record = models.ForeignKey(
        SourceRecord,
        on_delete=models.CASCADE,
        related_name="blocking_keys",
        db_index=False,
        db_constraint=False,
    )
    rule = models.CharField(max_length=24)
    key = models.CharField(max_length=200)

    class Meta:
        indexes = [models.Index(fields=["rule", "key"], name="blockingkey_lookup")]
        constraints = [
            models.UniqueConstraint(
                fields=["record", "rule", "key"], name="blockingkey_unique_per_record"
            )
        ]

    def __str__(self) -> str:
        return f"{self.rule}={self.key} ({self.record_id})"


class MatchModel(models.Model):
    """A version of the Fellegi-Sunter parameters: m and u per field and level.

    ``params`` is ``{"prior": float, "fields": {field: {"m": {level: p},
    "u": {level: p}}}}``. The highest version is in force; older ones stay so
    that every decision can name the model it was made with.
    """

    version = models.PositiveIntegerField(unique=True)
    method = models.CharField(max_length=12, choices=ModelMethod.choices)
    params = models.JSONField()
    trained_at = models.DateTimeField(default=timezone.now)
    training_pairs = models.PositiveIntegerField(default=0)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"match model v{self.version} ({self.method})"


class MatchCandidate(TimeStampedModel):
    """Two customers that may be one person, with the score and its explanation.

    The pair is ordered (``customer_a`` has the lower id) so that one open
    candidate exists per pair. ``explanation`` is the weight waterfall a
    steward reads: ``[{"field", "level", "weight", "left", "right"}]``.
    """

    record = models.ForeignKey(
        SourceRecord,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The record whose arrival or change proposed the pair.",
    )
    customer_a = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    customer_b = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    probability = models.FloatField()
    match_weight = models.FloatField()
    explanation = models.JSONField(default=list, blank=True)
    model_version = models.PositiveIntegerField()
    status = models.CharField(
        max_length=12, choices=CandidateStatus.choices, default=CandidateStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-probability", "id"]
        indexes = [models.Index(fields=["status", "-probability"], name="candidate_queue")]
        constraints = [
            models.CheckConstraint(
                condition=Q(customer_a__lt=F("customer_b")), name="candidate_pair_ordered"
            ),
            models.CheckConstraint(
                condition=Q(probability__gte=0, probability__lte=1),
                name="candidate_probability_range",
            ),
            models.UniqueConstraint(
                fields=["customer_a", "customer_b"],
                condition=Q(status__in=OPEN_CANDIDATE_STATUSES),
                name="candidate_one_open_per_pair",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_a_id}~{self.customer_b_id} p={self.probability:.3f} ({self.status})"


class NotAMatch(models.Model):
    """Two source records a steward said are different people: never proposed again."""

    record_a = models.ForeignKey(SourceRecord, on_delete=models.CASCADE, related_name="+")
    record_b = models.ForeignKey(SourceRecord, on_delete=models.CASCADE, related_name="+")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    reason = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(record_a__lt=F("record_b")), name="notamatch_pair_ordered"
            ),
            models.UniqueConstraint(fields=["record_a", "record_b"], name="notamatch_unique_pair"),
        ]
        indexes = [models.Index(fields=["record_b"], name="notamatch_record_b")]

    def __str__(self) -> str:
        return f"{self.record_a_id} is not {self.record_b_id}"


class MergeEvent(models.Model):
    """One merge of ``merged`` into ``survivor``: who or what decided, why, and
    a snapshot of both customers and of the merged customer's rows from which
    ``customer_unmerge`` restores the state exactly."""

    reference = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    survivor = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="merges_survived")
    merged = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="merges_undergone")
    candidate = models.ForeignKey(
        MatchCandidate, null=True, blank=True, on_delete=models.PROTECT, related_name="merges"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    reason = models.TextField()
    probability = models.FloatField(null=True, blank=True)
    model_version = models.PositiveIntegerField(null=True, blank=True)
    explanation = models.JSONField(default=list, blank=True)
    snapshot = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    undone_label = models.CharField(max_length=200, blank=True)
    undo_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(survivor=F("merged")), name="mergeevent_not_self"),
            models.CheckConstraint(
                condition=Q(actor__isnull=False) | ~Q(actor_label=""),
                name="mergeevent_actor_required",
            ),
            models.UniqueConstraint(
                fields=["merged"],
                condition=Q(undone_at__isnull=True),
                name="mergeevent_one_active_per_merged",
            ),
        ]

    def __str__(self) -> str:
        return f"merge {self.merged_id} into {self.survivor_id}"


# --- identity resolution runs and householding (issue 3) -----------------------------------
# (each issue adds its models directly below its own marker)


class ResolutionRun(models.Model):
    """One run of identity resolution (or of householding) over many records.

    ``resolve_identities`` fans the work out as a Celery group of
    ``ResolutionBatch`` tasks; each finished batch adds its counts here, and
    the batch that finishes last closes the run. At most one run of a kind is
    running at a time (a partial unique index), so a second concurrent start
    is refused by the database, not by a check-then-act.
    """

    kind = models.CharField(max_length=12, choices=RunKind.choices)
    full = models.BooleanField(default=False, help_text="Every record, not only unresolved ones.")
    status = models.CharField(max_length=8, choices=RunStatus.choices, default=RunStatus.RUNNING)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    reason = models.TextField()
    model_version = models.PositiveIntegerField(null=True, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    progressed_at = models.DateTimeField(default=timezone.now, help_text="Last batch finished.")
    finished_at = models.DateTimeField(null=True, blank=True)
    batches_total = models.PositiveIntegerField(default=0)
    batches_done = models.PositiveIntegerField(default=0)
    records_total = models.PositiveIntegerField(default=0)
    records_done = models.PositiveIntegerField(default=0)
    customers_created = models.PositiveIntegerField(default=0)
    records_linked = models.PositiveIntegerField(default=0)
    candidates = models.PositiveIntegerField(default=0, help_text="Pairs proposed meanwhile.")
    merges = models.PositiveIntegerField(default=0, help_text="Merges made meanwhile.")
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(status=RunStatus.RUNNING),
                name="resolutionrun_one_running_per_kind",
            ),
            models.CheckConstraint(
                condition=Q(status=RunStatus.RUNNING, finished_at__isnull=True)
                | (~Q(status=RunStatus.RUNNING) & Q(finished_at__isnull=False)),
                name="resolutionrun_finished_has_time",
            ),
            models.CheckConstraint(
                condition=Q(batches_done__lte=F("batches_total")),
                name="resolutionrun_batches_done_le_total",
            ),
            models.CheckConstraint(
                condition=Q(actor__isnull=False) | ~Q(actor_label=""),
                name="resolutionrun_actor_required",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} run {self.pk} ({self.status})"


class ResolutionBatch(models.Model):
    """One Celery task's share of a run: the ids of the records it resolves.

    ``done_at`` is claimed with a compare-and-set, so a batch that is
    delivered twice (a retry, a lost acknowledgement) is counted once.
    """

    run = models.ForeignKey(ResolutionRun, on_delete=models.CASCADE, related_name="batches")
    number = models.PositiveIntegerField()
    record_ids = models.JSONField(default=list)
    outcomes = models.JSONField(default=dict, blank=True, help_text="Records per outcome.")
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "number"]
        constraints = [
            models.UniqueConstraint(fields=["run", "number"], name="resolutionbatch_unique_number")
        ]

    def __str__(self) -> str:
        return f"batch {self.number} of run {self.run_id}"


# --- insights: flags, next best action, contact arbitration (issue 8) ----------------------
# (each issue adds its models directly below its own marker)


class ContactConflictReport(OutboundAction):
    """The committee's report: actions blocked for contradicting another silo's,
    counted by silo pair and month. A read-only proxy, so the admin lists it."""

    class Meta:
        proxy = True
        verbose_name = "contact conflict report"
        verbose_name_plural = "contact conflict reports"


# --- agent screens: search and restricted access (issue 6) ---------------------------------
# (each issue adds its models directly below its own marker)
