# Identity resolution runs, match-model training and householding (issue 3).
# Reserved so that work on several issues can proceed at once without two
# leaf migrations in one app; the issue fills in its own operations here.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("profiles", "0002_identity_resolution")]

    operations: list[migrations.operations.base.Operation] = [
        migrations.CreateModel(
            name="ResolutionRun",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("resolve", "Resolve source records"),
                            ("households", "Update households"),
                        ],
                        max_length=12,
                    ),
                ),
                (
                    "full",
                    models.BooleanField(
                        default=False, help_text="Every record, not only unresolved ones."
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("running", "Running"),
                            ("done", "Done"),
                            ("failed", "Failed or abandoned"),
                        ],
                        default="running",
                        max_length=8,
                    ),
                ),
                ("actor_label", models.CharField(blank=True, max_length=200)),
                ("reason", models.TextField()),
                ("model_version", models.PositiveIntegerField(blank=True, null=True)),
                ("started_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "progressed_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, help_text="Last batch finished."
                    ),
                ),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("batches_total", models.PositiveIntegerField(default=0)),
                ("batches_done", models.PositiveIntegerField(default=0)),
                ("records_total", models.PositiveIntegerField(default=0)),
                ("records_done", models.PositiveIntegerField(default=0)),
                ("customers_created", models.PositiveIntegerField(default=0)),
                ("records_linked", models.PositiveIntegerField(default=0)),
                (
                    "candidates",
                    models.PositiveIntegerField(default=0, help_text="Pairs proposed meanwhile."),
                ),
                (
                    "merges",
                    models.PositiveIntegerField(default=0, help_text="Merges made meanwhile."),
                ),
                ("message", models.TextField(blank=True)),
                (
                    "actor",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={"ordering": ["-started_at", "-id"]},
        ),
        migrations.CreateModel(
            name="ResolutionBatch",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("number", models.PositiveIntegerField()),
                ("record_ids", models.JSONField(default=list)),
                (
                    "outcomes",
                    models.JSONField(blank=True, default=dict, help_text="Records per outcome."),
                ),
                ("done_at", models.DateTimeField(blank=True, null=True)),
                (
                    "run",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="batches",
                        to="profiles.resolutionrun",
                    ),
                ),
            ],
            options={"ordering": ["run", "number"]},
        ),
        migrations.AddConstraint(
            model_name="resolutionrun",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "running")),
                fields=("kind",),
                name="resolutionrun_one_running_per_kind",
            ),
        ),
        migrations.AddConstraint(
            model_name="resolutionrun",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("finished_at__isnull", True), ("status", "running")),
                    models.Q(
                        models.Q(("status", "running"), _negated=True),
                        ("finished_at__isnull", False),
                    ),
                    _connector="OR",
                ),
                name="resolutionrun_finished_has_time",
            ),
        ),
        migrations.AddConstraint(
            model_name="resolutionrun",
            constraint=models.CheckConstraint(
                condition=models.Q(("batches_done__lte", models.F("batches_total"))),
                name="resolutionrun_batches_done_le_total",
            ),
        ),
        migrations.AddConstraint(
            model_name="resolutionrun",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("actor__isnull", False),
                    models.Q(("actor_label", ""), _negated=True),
                    _connector="OR",
                ),
                name="resolutionrun_actor_required",
            ),
        ),
        migrations.AddConstraint(
            model_name="resolutionbatch",
            constraint=models.UniqueConstraint(
                fields=("run", "number"), name="resolutionbatch_unique_number"
            ),
        ),
    ]
