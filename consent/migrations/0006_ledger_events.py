# Consent and data-subject requests: fulfilment progress and worker retries (issue 5).
# Reserved so that work on several issues can proceed at once without two
# leaf migrations in one app; the issue fills in its own operations here.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("consent", "0005_consentrecord_append_only")]

    operations: list[migrations.operations.base.Operation] = [
        # Progress is operational state written while the task runs: kept out
        # of the request's row history (see DataSubjectRequest.history).
        migrations.RemoveField(model_name="historicaldatasubjectrequest", name="progress"),
        migrations.AddField(
            model_name="datasubjectrequest",
            name="attempts",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="datasubjectrequest",
            name="claimed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="datasubjectrequest",
            name="claimed_by",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="datasubjectrequest",
            name="progress_steps",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddConstraint(
            model_name="datasubjectrequest",
            constraint=models.CheckConstraint(
                condition=models.Q(("claimed_at__isnull", True), ("claimed_by", ""))
                | models.Q(
                    models.Q(("claimed_by", ""), _negated=True), ("claimed_at__isnull", False)
                ),
                name="dsr_claim_has_time",
            ),
        ),
    ]
