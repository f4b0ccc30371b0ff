"""Governance: silos, source systems, the one nomenclature, and what the
committee decided to collect and how it may be shown and used.

Every governed item is versioned: a change to an approved item is a new
proposed version; the approved one stays in force until its successor is
approved. At most one approved version of an item exists at a time, which the
database enforces.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from consent.choices import RetentionAction
from customer360.models import TimeStampedModel
from profiles.choices import ActionKind, FlagKind, InteractionKind, LineOfBusiness

if TYPE_CHECKING:
    from oauth2_provider.models import Application

from .choices import (
    CardSection,
    CommitteeRole,
    ContactRuleKind,
    ContactScope,
    DataType,
    DecisionKind,
    DecisionStatus,
    GovernanceStatus,
    LifecycleKind,
    Sensitivity,
    SurvivorshipRule,
    Transform,
    VoteChoice,
)


class Silo(TimeStampedModel):
    """A business unit with its own customer data: marketing, risk, billing..."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SourceSystem(TimeStampedModel):
    """A silo's system of record, with its own customer keys.

    ``trust_rank`` orders sources for the "most trusted source" survivorship
    rule: 1 is the most trusted.
    """

    silo = models.ForeignKey(Silo, on_delete=models.PROTECT, related_name="source_systems")
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    key_label = models.CharField(
        max_length=80, help_text="What the silo calls its customer key, e.g. 'Policyholder no.'"
    )
    trust_rank = models.PositiveSmallIntegerField(
        default=50, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    is_active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["trust_rank", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(trust_rank__gte=1, trust_rank__lte=100),
                name="sourcesystem_trust_rank_range",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class CommitteeMember(TimeStampedModel):
    """A person's role on the committee or in operations, for one silo.

    The privacy officer and the chair may have no silo.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="committee_roles"
    )
    silo = models.ForeignKey(
        Silo, null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    role = models.CharField(max_length=20, choices=CommitteeRole.choices)
    active_from = models.DateField()
    active_until = models.DateField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["silo__name", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "silo", "role"],
                condition=Q(silo__isnull=False),
                name="committeemember_unique_silo_role",
            ),
            models.UniqueConstraint(
                fields=["user", "role"],
                condition=Q(silo__isnull=True),
                name="committeemember_unique_global_role",
            ),
            models.CheckConstraint(
                condition=Q(active_until__isnull=True) | Q(active_until__gte=F("active_from")),
                name="committeemember_dates_ordered",
            ),
            models.CheckConstraint(
                condition=~Q(role__in=[CommitteeRole.MEMBER, CommitteeRole.DATA_STEWARD])
                | Q(silo__isnull=False),
                name="committeemember_silo_roles_have_silo",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} ({self.silo or 'all silos'})"


class GovernedVersion(TimeStampedModel):
    """Fields every versioned, committee-approved item carries."""

    version = models.PositiveIntegerField(default=1)
    status = models.CharField(
        max_length=12, choices=GovernanceStatus.choices, default=GovernanceStatus.DRAFT
    )
    previous_version = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


def version_constraints(prefix: str, key: str) -> list[models.BaseConstraint]:
    """Unique (key, version), one approved version per key, version >= 1."""
    return [
        models.UniqueConstraint(fields=[key, "version"], name=f"{prefix}_unique_version"),
        models.UniqueConstraint(
            fields=[key],
            condition=Q(status=GovernanceStatus.APPROVED),
            name=f"{prefix}_one_approved",
        ),
        models.CheckConstraint(condition=Q(version__gte=1), name=f"{prefix}_version_positive"),
        models.CheckConstraint(
            condition=Q(status=GovernanceStatus.APPROVED, approved_at__isnull=False)
            | ~Q(status=GovernanceStatus.APPROVED),
            name=f"{prefix}_approved_has_time",
        ),
    ]


class FieldDefinition(GovernedVersion):
    """One canonical field of the shared nomenclature, in one version."""

    canonical_name = models.SlugField(max_length=60)
    label = models.CharField(max_length=120)
    description = models.TextField()
    examples = models.TextField(blank=True)
    data_type = models.CharField(max_length=12, choices=DataType.choices)
    validation_rule = models.TextField(
        blank=True,
        help_text="Human-readable rule, e.g. how a middle initial is treated.",
    )
    validation_pattern = models.CharField(
        max_length=300, blank=True, help_text="Optional regular expression a value must match."
    )
    sensitivity = models.CharField(max_length=10, choices=Sensitivity.choices)
    owning_silo = models.ForeignKey(
        Silo, on_delete=models.PROTECT, related_name="field_definitions"
    )
    purposes = models.ManyToManyField(
        "consent.Purpose", blank=True, related_name="field_definitions"
    )
    retention_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Days a value is kept after its last use; empty: no limit."
    )
    retention_action = models.CharField(
        max_length=10,
        choices=RetentionAction.choices,
        default=RetentionAction.ANONYMIZE,
        help_text="What happens past the retention period: the value is blanked, or (for "
        "interactions) the whole record is deleted, keeping aggregate counts only.",
    )
    survivorship_rule = models.CharField(
        max_length=16, choices=SurvivorshipRule.choices, default=SurvivorshipRule.MOST_TRUSTED
    )

    history = HistoricalRecords(m2m_fields=[purposes])

    # What a version says about the field (beside its name and workflow state):
    # the admin form edits these, the API shows them.
    CONTENT_FIELDS = (
        "label",
        "description",
        "examples",
        "data_type",
        "validation_rule",
        "validation_pattern",
        "sensitivity",
        "owning_silo",
        "purposes",
        "retention_days",
        "retention_action",
        "survivorship_rule",
    )

    class Meta:
        ordering = ["canonical_name", "-version"]
        constraints = [
            *version_constraints("fielddefinition", "canonical_name"),
            models.CheckConstraint(
                condition=Q(retention_days__isnull=True) | Q(retention_days__gte=1),
                name="fielddefinition_retention_positive",
            ),
        ]
        indexes = [models.Index(fields=["status", "owning_silo"])]

    def __str__(self) -> str:
        return f"{self.canonical_name} v{self.version} ({self.get_status_display()})"


class SourceFieldMapping(GovernedVersion):
    """A source system's column mapped to a canonical field, with a transform."""

    source_system = models.ForeignKey(
        SourceSystem, on_delete=models.PROTECT, related_name="field_mappings"
    )
    source_field = models.CharField(max_length=120)
    field_definition = models.ForeignKey(
        FieldDefinition, on_delete=models.PROTECT, related_name="mappings"
    )
    transform = models.CharField(max_length=16, choices=Transform.choices, default=Transform.NONE)
    transform_args = models.JSONField(default=dict, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["source_system", "source_field", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["source_system", "source_field", "version"],
                name="sourcefieldmapping_unique_version",
            ),
            models.UniqueConstraint(
                fields=["source_system", "source_field"],
                condition=Q(status=GovernanceStatus.APPROVED),
                name="sourcefieldmapping_one_approved",
            ),
            models.CheckConstraint(
                condition=Q(version__gte=1), name="sourcefieldmapping_version_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source_system.code}.{self.source_field} -> {self.field_definition}"


class DataCollectionDecision(TimeStampedModel):
    """A proposal to collect a field, or open a source or channel, for purposes.

    The data value framework scores it: business value, actionability, cost
    and privacy risk (1-5 each) give the priority score, computed by the
    database so that it can be sorted on and never disagrees with its inputs.
    """

    kind = models.CharField(max_length=16, choices=DecisionKind.choices)
    title = models.CharField(max_length=200)
    field_definition = models.ForeignKey(
        FieldDefinition,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="collection_decisions",
    )
    source_system = models.ForeignKey(
        SourceSystem,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="collection_decisions",
    )
    channel = models.ForeignKey(
        "consent.Channel",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="collection_decisions",
    )
    purposes = models.ManyToManyField("consent.Purpose", related_name="collection_decisions")
    rationale = models.TextField()
    business_value = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    actionability = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    cost = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    privacy_risk = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    priority_score = models.GeneratedField(
        expression=F("business_value") * F("actionability") - F("cost") - F("privacy_risk"),
        output_field=models.IntegerField(),
        db_persist=True,
    )
    privacy_impact_note = models.TextField(blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    proposing_silo = models.ForeignKey(Silo, on_delete=models.PROTECT, related_name="+")
    privacy_officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField(
        max_length=10, choices=DecisionStatus.choices, default=DecisionStatus.DRAFT
    )
    voting_deadline = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    history = HistoricalRecords(m2m_fields=[purposes])

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "proposing_silo"])]
        # Granted per decision (django-guardian) to the privacy officer assigned to it.
        permissions = [("veto_datacollectiondecision", "Can veto a data-collection decision")]
        constraints = [
            *[
                models.CheckConstraint(
                    condition=Q(**{f"{name}__gte": 1, f"{name}__lte": 5}),
                    name=f"decision_{name}_range",
                )
                for name in ("business_value", "actionability", "cost", "privacy_risk")
            ],
            models.CheckConstraint(
                condition=Q(kind=DecisionKind.COLLECT_FIELD, field_definition__isnull=False)
                | Q(kind=DecisionKind.OPEN_SOURCE, source_system__isnull=False)
                | Q(kind=DecisionKind.OPEN_CHANNEL, channel__isnull=False),
                name="decision_kind_has_subject",
            ),
            models.CheckConstraint(
                condition=(
                    Q(status__in=[DecisionStatus.APPROVED, DecisionStatus.REJECTED])
                    & Q(decided_at__isnull=False)
                )
                | (
                    ~Q(status__in=[DecisionStatus.APPROVED, DecisionStatus.REJECTED])
                    & Q(decided_at__isnull=True)
                ),
                name="decision_decided_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status=DecisionStatus.VOTING) | Q(voting_deadline__isnull=False),
                name="decision_voting_has_deadline",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Vote(TimeStampedModel):
    """One committee member's vote on a decision, with its reason."""

    decision = models.ForeignKey(
        DataCollectionDecision, on_delete=models.PROTECT, related_name="votes"
    )
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    silo = models.ForeignKey(
        Silo,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="votes",
        help_text="The silo voted for; empty for the privacy officer.",
    )
    choice = models.CharField(max_length=8, choices=VoteChoice.choices)
    comment = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["decision", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["decision", "member"], name="vote_one_per_member"),
            models.UniqueConstraint(
                fields=["decision", "silo"],
                condition=Q(silo__isnull=False),
                name="vote_one_per_silo",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} {self.choice} on {self.decision_id}"


class Lens(GovernedVersion):
    """A named, purpose-bound view of a customer: the fields and card sections
    a job needs, and who may use it. Screens and the API show customer data
    only through a lens."""

    code = models.SlugField(max_length=60)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    purpose = models.ForeignKey("consent.Purpose", on_delete=models.PROTECT, related_name="lenses")
    fields = models.ManyToManyField(FieldDefinition, related_name="lenses")
    sections = models.JSONField(
        default=list, help_text=f"Card sections shown: {', '.join(CardSection.values)}."
    )
    roles = models.ManyToManyField("auth.Group", blank=True, related_name="lenses")
    # The partner clients (django-oauth-toolkit applications) that may use it.
    applications: models.ManyToManyField[Application, Any] = models.ManyToManyField(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, blank=True, related_name="lenses"
    )

    history = HistoricalRecords(m2m_fields=[fields, roles])

    class Meta:
        ordering = ["code", "-version"]
        verbose_name_plural = "lenses"
        constraints = version_constraints("lens", "code")

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        unknown = sorted(set(self.sections or []) - set(CardSection.values))
        if unknown:
            raise ValidationError({"sections": f"Unknown card sections: {', '.join(unknown)}."})

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class LifecycleDefinition(GovernedVersion):
    """What 'new', 'active' and 'lost' customer mean, in days; used by flags."""

    kind = models.CharField(max_length=8, choices=LifecycleKind.choices)
    description = models.TextField()
    window_days = models.PositiveIntegerField(
        help_text="new: first holding within N days; lost: no active holding and no "
        "interaction for N days; active: an interaction within N days."
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["kind", "-version"]
        constraints = [
            *version_constraints("lifecycledefinition", "kind"),
            models.CheckConstraint(
                condition=Q(window_days__gte=1), name="lifecycledefinition_window_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} v{self.version}"


class ContactRule(GovernedVersion):
    """A rule every outbound action is checked against: a frequency cap, a
    quiet period after a complaint, or a pair of incompatible action kinds."""

    code = models.SlugField(max_length=60)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=ContactRuleKind.choices)
    scope = models.CharField(
        max_length=10, choices=ContactScope.choices, default=ContactScope.CUSTOMER
    )
    channel = models.ForeignKey(
        "consent.Channel", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    max_contacts = models.PositiveIntegerField(null=True, blank=True)
    period_days = models.PositiveIntegerField()
    action_kind = models.CharField(max_length=20, choices=ActionKind.choices, blank=True)
    incompatible_with = models.CharField(max_length=20, choices=ActionKind.choices, blank=True)
    same_holding_only = models.BooleanField(default=True)
    description = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["code", "-version"]
        constraints = [
            *version_constraints("contactrule", "code"),
            models.CheckConstraint(
                condition=Q(period_days__gte=1), name="contactrule_period_positive"
            ),
            models.CheckConstraint(
                condition=~Q(kind=ContactRuleKind.FREQUENCY_CAP)
                | Q(max_contacts__isnull=False, max_contacts__gte=1),
                name="contactrule_cap_has_max",
            ),
            models.CheckConstraint(
                condition=~Q(kind=ContactRuleKind.INCOMPATIBLE)
                | (~Q(action_kind="") & ~Q(incompatible_with="")),
                name="contactrule_incompatible_has_pair",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class QuorumRule(GovernedVersion):
    """When a vote on a data-collection decision carries: configuration, governed.

    The approved version is in force; with none approved the defaults below
    (the committee's charter) apply. Abstentions count towards turnout but not
    towards the majority: a decision carries when at least
    ``min_turnout_percent`` of the silos with an active member voted, more than
    ``majority_percent`` of the silos that voted approve or reject approved,
    and (if required) the assigned privacy officer approved. A rejection by the
    privacy officer vetoes the decision when ``privacy_officer_veto`` is set.
    """

    code = models.SlugField(max_length=40, default="default")
    min_turnout_percent = models.PositiveSmallIntegerField(
        default=50, validators=[MaxValueValidator(100)]
    )
    majority_percent = models.PositiveSmallIntegerField(
        default=50, validators=[MinValueValidator(1), MaxValueValidator(99)]
    )
    privacy_officer_approval_required = models.BooleanField(default=True)
    privacy_officer_veto = models.BooleanField(default=True)
    default_voting_days = models.PositiveSmallIntegerField(
        default=14, validators=[MinValueValidator(1)]
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["code", "-version"]
        constraints = [
            *version_constraints("quorumrule", "code"),
            models.CheckConstraint(
                condition=Q(min_turnout_percent__lte=100), name="quorumrule_turnout_range"
            ),
            models.CheckConstraint(
                condition=Q(majority_percent__gte=1, majority_percent__lte=99),
                name="quorumrule_majority_range",
            ),
            models.CheckConstraint(
                condition=Q(default_voting_days__gte=1), name="quorumrule_days_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"Quorum rule {self.code} v{self.version}"


class MatchingConfiguration(GovernedVersion):
    """Thresholds identity resolution uses: a match score at or above
    ``auto_merge_threshold`` merges automatically, one at or above
    ``review_threshold`` goes to a data steward, anything lower is a new customer."""

    code = models.SlugField(max_length=40, default="default")
    auto_merge_threshold = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
    )
    review_threshold = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
    )
    description = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["code", "-version"]
        constraints = [
            *version_constraints("matchingconfiguration", "code"),
            models.CheckConstraint(
                condition=Q(review_threshold__gte=0)
                & Q(review_threshold__lt=F("auto_merge_threshold"))
                & Q(auto_merge_threshold__lte=1),
                name="matchingconfiguration_thresholds_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"Matching {self.code} v{self.version}"


class PriorityInteraction(GovernedVersion):
    """One of the top cross-silo interaction types and the fields it must capture."""

    code = models.SlugField(max_length=60)
    name = models.CharField(max_length=120)
    interaction_kind = models.CharField(max_length=20, choices=InteractionKind.choices)
    rank = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    silos = models.ManyToManyField(Silo, related_name="priority_interactions")
    required_fields = models.ManyToManyField(
        FieldDefinition, blank=True, related_name="priority_interactions"
    )
    description = models.TextField(blank=True)

    history = HistoricalRecords(m2m_fields=[silos, required_fields])

    class Meta:
        ordering = ["rank", "code", "-version"]
        constraints = [
            *version_constraints("priorityinteraction", "code"),
            models.CheckConstraint(
                condition=Q(rank__gte=1), name="priorityinteraction_rank_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rank}. {self.name} v{self.version}"


# --- insights: governed next-best-action rules (issue 8) ----------------------------------


class NbaRule(GovernedVersion):
    """A next-best-action rule: when the context of a contact matches its
    conditions, suggest ``action_kind`` for ``purpose``, with ``explanation``.

    Every condition left empty matches anything; all given ones must hold.
    Essential rules (resolve a complaint, renew a consent) come before any
    offer; within each group, lower ``rank`` first. A suggestion that the
    customer's consent or a contact rule forbids is never shown (see
    ``profiles.insights.nba.next_best_actions``).
    """

    code = models.SlugField(max_length=60)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    rank = models.PositiveSmallIntegerField(
        default=100, validators=[MinValueValidator(1)], help_text="Lower comes first."
    )
    essential = models.BooleanField(
        default=False, help_text="Essential actions come before every offer."
    )
    action_kind = models.CharField(max_length=20, choices=ActionKind.choices)
    purpose = models.ForeignKey("consent.Purpose", on_delete=models.PROTECT, related_name="+")
    channel = models.ForeignKey(
        "consent.Channel",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Channel of the suggested action; empty: the channel of this contact.",
    )
    flag_kind = models.CharField(max_length=20, choices=FlagKind.choices, blank=True)
    flag_min_score = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="With a flag kind: the flag's score must be at least this.",
    )
    requires_open_complaint = models.BooleanField(default=False)
    requires_consent_renewal = models.BooleanField(default=False)
    contact_reasons = models.CharField(
        max_length=200,
        blank=True,
        help_text="Comma-separated words; one must occur in the stated reason for the contact.",
    )
    contact_channel = models.ForeignKey(
        "consent.Channel",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Only when the customer contacts us through this channel.",
    )
    holds_line = models.CharField(max_length=10, choices=LineOfBusiness.choices, blank=True)
    lacks_line = models.CharField(max_length=10, choices=LineOfBusiness.choices, blank=True)
    explanation = models.TextField(
        help_text="Why, in plain words, shown to the agent. May use {flag_reason}."
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["code", "-version"]
        verbose_name = "next-best-action rule"
        constraints = [
            *version_constraints("nbarule", "code"),
            models.CheckConstraint(
                condition=Q(flag_min_score__isnull=True)
                | (Q(flag_min_score__gte=0, flag_min_score__lte=1) & ~Q(flag_kind="")),
                name="nbarule_flag_score_needs_kind",
            ),
            models.CheckConstraint(condition=Q(rank__gte=1), name="nbarule_rank_positive"),
            models.CheckConstraint(
                condition=~Q(explanation=""), name="nbarule_explanation_required"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"
