# Insights: governed next-best-action rules and incompatibility rules (issue 8).
# Reserved so that work on several issues can proceed at once without two
# leaf migrations in one app; the issue fills in its own operations here.

import django.core.validators
import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("governance", "0004_quorum_matching_priority")]

    operations = [
        migrations.CreateModel(
            name="NbaRule",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("version", models.PositiveIntegerField(default=1)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("draft", "Draft"),
                            ("proposed", "Proposed"),
                            ("approved", "Approved"),
                            ("rejected", "Rejected"),
                            ("deprecated", "Deprecated"),
                        ],
                        default="draft",
                        max_length=12,
                    ),
                ),
                ("approved_at", models.DateTimeField(blank=True, null=True)),
                ("code", models.SlugField(max_length=60)),
                ("name", models.CharField(max_length=120)),
                ("description", models.TextField(blank=True)),
                (
                    "rank",
                    models.PositiveSmallIntegerField(
                        default=100,
                        help_text="Lower comes first.",
                        validators=[django.core.validators.MinValueValidator(1)],
                    ),
                ),
                (
                    "essential",
                    models.BooleanField(
                        default=False, help_text="Essential actions come before every offer."
                    ),
                ),
                (
                    "action_kind",
                    models.CharField(
                        choices=[
                            ("offer", "Offer"),
                            ("upsell", "Up-sell"),
                            ("cross_sell", "Cross-sell"),
                            ("cancellation", "Cancellation"),
                            ("retention_call", "Retention call"),
                            ("retention_offer", "Retention offer"),
                            ("collections_notice", "Collections notice"),
                            ("notice", "Service notice"),
                            ("consent_renewal", "Consent renewal"),
                        ],
                        max_length=20,
                    ),
                ),
                (
                    "flag_kind",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("churn_risk", "Churn risk"),
                            ("fraud_risk", "Fraud risk"),
                            ("upsell", "Up-sell option"),
                            ("mood", "Mood of recent interactions"),
                            ("complaint_record", "Complaint record"),
                            ("contact_frequency", "Contact frequency"),
                            ("lifecycle", "New / active / lost"),
                        ],
                        max_length=20,
                    ),
                ),
                (
                    "flag_min_score",
                    models.FloatField(
                        blank=True,
                        help_text="With a flag kind: the flag's score must be at least this.",
                        null=True,
                        validators=[
                            django.core.validators.MinValueValidator(0),
                            django.core.validators.MaxValueValidator(1),
                        ],
                    ),
                ),
                ("requires_open_complaint", models.BooleanField(default=False)),
                ("requires_consent_renewal", models.BooleanField(default=False)),
                (
                    "contact_reasons",
                    models.CharField(
                        blank=True,
                        help_text="Comma-separated words; one must occur in the stated reason for the contact.",
                        max_length=200,
                    ),
                ),
                (
                    "holds_line",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("motor", "Motor insurance"),
                            ("home", "Home insurance"),
                            ("life", "Life insurance"),
                            ("health", "Health insurance"),
                            ("travel", "Travel insurance"),
                            ("savings", "Savings"),
                            ("retail", "Online shop"),
                        ],
                        max_length=10,
                    ),
                ),
                (
                    "lacks_line",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("motor", "Motor insurance"),
                            ("home", "Home insurance"),
                            ("life", "Life insurance"),
                            ("health", "Health insurance"),
                            ("travel", "Travel insurance"),
                            ("savings", "Savings"),
                            ("retail", "Online shop"),
                        ],
                        max_length=10,
                    ),
                ),
                (
                    "explanation",
                    models.TextField(
                        help_text="Why, in plain words, shown to the agent. May use {flag_reason}."
                    ),
                ),
                (
                    "approved_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "channel",
                    models.ForeignKey(
                        blank=True,
                        help_text="Channel of the suggested action; empty: the channel of this contact.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="consent.channel",
                    ),
                ),
                (
                    "contact_channel",
                    models.ForeignKey(
                        blank=True,
                        help_text="Only when the customer contacts us through this channel.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="consent.channel",
                    ),
                ),
                (
                    "previous_version",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="governance.nbarule",
                    ),
                ),
                (
                    "proposed_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "purpose",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="consent.purpose",
                    ),
                ),
            ],
            options={
                "verbose_name": "next-best-action rule",
                "ordering": ["code", "-version"],
            },
        ),
        migrations.CreateModel(
            name="HistoricalNbaRule",
            fields=[
                (
                    "id",
                    models.BigIntegerField(
                        auto_created=True, blank=True, db_index=True, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(blank=True, db_index=True, editable=False)),
                ("updated_at", models.DateTimeField(blank=True, editable=False)),
                ("version", models.PositiveIntegerField(default=1)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("draft", "Draft"),
                            ("proposed", "Proposed"),
                            ("approved", "Approved"),
                            ("rejected", "Rejected"),
                            ("deprecated", "Deprecated"),
                        ],
                        default="draft",
                        max_length=12,
                    ),
                ),
                ("approved_at", models.DateTimeField(blank=True, null=True)),
                ("code", models.SlugField(max_length=60)),
                ("name", models.CharField(max_length=120)),
                ("description", models.TextField(blank=True)),
                (
                    "rank",
                    models.PositiveSmallIntegerField(
                        default=100,
                        help_text="Lower comes first.",
                        validators=[django.core.validators.MinValueValidator(1)],
                    ),
                ),
                (
                    "essential",
                    models.BooleanField(
                        default=False, help_text="Essential actions come before every offer."
                    ),
                ),
                (
                    "action_kind",
                    models.CharField(
                        choices=[
                            ("offer", "Offer"),
                            ("upsell", "Up-sell"),
                            ("cross_sell", "Cross-sell"),
                            ("cancellation", "Cancellation"),
                            ("retention_call", "Retention call"),
                            ("retention_offer", "Retention offer"),
                            ("collections_notice", "Collections notice"),
                            ("notice", "Service notice"),
                            ("consent_renewal", "Consent renewal"),
                        ],
                        max_length=20,
                    ),
                ),
                (
                    "flag_kind",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("churn_risk", "Churn risk"),
                            ("fraud_risk", "Fraud risk"),
                            ("upsell", "Up-sell option"),
                            ("mood", "Mood of recent interactions"),
                            ("complaint_record", "Complaint record"),
                            ("contact_frequency", "Contact frequency"),
                            ("lifecycle", "New / active / lost"),
                        ],
                        max_length=20,
                    ),
                ),
                (
                    "flag_min_score",
                    models.FloatField(
                        blank=True,
                        help_text="With a flag kind: the flag's score must be at least this.",
                        null=True,
                        validators=[
                            django.core.validators.MinValueValidator(0),
                            django.core.validators.MaxValueValidator(1),
                        ],
                    ),
                ),
                ("requires_open_complaint", models.BooleanField(default=False)),
                ("requires_consent_renewal", models.BooleanField(default=False)),
                (
                    "contact_reasons",
                    models.CharField(
                        blank=True,
                        help_text="Comma-separated words; one must occur in the stated reason for the contact.",
                        max_length=200,
                    ),
                ),
                (
                    "holds_line",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("motor", "Motor insurance"),
                            ("home", "Home insurance"),
                            ("life", "Life insurance"),
                            ("health", "Health insurance"),
                            ("travel", "Travel insurance"),
                            ("savings", "Savings"),
                            ("retail", "Online shop"),
                        ],
                        max_length=10,
                    ),
                ),
                (
                    "lacks_line",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("motor", "Motor insurance"),
                            ("home", "Home insurance"),
                            ("life", "Life insurance"),
                            ("health", "Health insurance"),
                            ("travel", "Travel insurance"),
                            ("savings", "Savings"),
                            ("retail", "Online shop"),
                        ],
                        max_length=10,
                    ),
                ),
                (
                    "explanation",
                    models.TextField(
                        help_text="Why, in plain words, shown to the agent. May use {flag_reason}."
                    ),
                ),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.TextField(null=True)),
                (
                    "history_type",
                    models.CharField(
                        choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1
                    ),
                ),
                (
                    "approved_by",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "channel",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        help_text="Channel of the suggested action; empty: the channel of this contact.",
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="consent.channel",
                    ),
                ),
                (
                    "contact_channel",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        help_text="Only when the customer contacts us through this channel.",
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="consent.channel",
                    ),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "proposed_by",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "purpose",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="consent.purpose",
                    ),
                ),
                (
                    "previous_version",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="governance.nbarule",
                    ),
                ),
            ],
            options={
                "verbose_name": "historical next-best-action rule",
                "verbose_name_plural": "historical next-best-action rules",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.AddConstraint(
            model_name="nbarule",
            constraint=models.UniqueConstraint(
                fields=("code", "version"), name="nbarule_unique_version"
            ),
        ),
        migrations.AddConstraint(
            model_name="nbarule",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "approved")),
                fields=("code",),
                name="nbarule_one_approved",
            ),
        ),
        migrations.AddConstraint(
            model_name="nbarule",
            constraint=models.CheckConstraint(
                condition=models.Q(("version__gte", 1)), name="nbarule_version_positive"
            ),
        ),
        migrations.AddConstraint(
            model_name="nbarule",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("approved_at__isnull", False), ("status", "approved")),
                    models.Q(("status", "approved"), _negated=True),
                    _connector="OR",
                ),
                name="nbarule_approved_has_time",
            ),
        ),
        migrations.AddConstraint(
            model_name="nbarule",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("flag_min_score__isnull", True),
                    models.Q(
                        ("flag_min_score__gte", 0),
                        ("flag_min_score__lte", 1),
                        models.Q(("flag_kind", ""), _negated=True),
                    ),
                    _connector="OR",
                ),
                name="nbarule_flag_score_needs_kind",
            ),
        ),
        migrations.AddConstraint(
            model_name="nbarule",
            constraint=models.CheckConstraint(
                condition=models.Q(("rank__gte", 1)), name="nbarule_rank_positive"
            ),
        ),
        migrations.AddConstraint(
            model_name="nbarule",
            constraint=models.CheckConstraint(
                condition=models.Q(("explanation", ""), _negated=True),
                name="nbarule_explanation_required",
            ),
        ),
    ]
