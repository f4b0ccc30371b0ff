# Committee workflow: charter decisions, early close and withdrawal (issues 4 and 5).
# Reserved so that work on several issues can proceed at once without two
# leaf migrations in one app; the issue fills in its own operations here.
#
# Early close and withdrawal need no schema change (DecisionStatus already has
# "withdrawn"); retention gains its governed action: anonymize or delete.

from django.db import migrations, models

RETENTION_ACTION = models.CharField(
    choices=[("anonymize", "Anonymize"), ("delete", "Delete")],
    default="anonymize",
    help_text="What happens past the retention period: the value is blanked, or (for "
    "interactions) the whole record is deleted, keeping aggregate counts only.",
    max_length=10,
)


class Migration(migrations.Migration):
    dependencies = [("governance", "0005_insights")]

    operations: list[migrations.operations.base.Operation] = [
        migrations.AddField(
            model_name="fielddefinition", name="retention_action", field=RETENTION_ACTION
        ),
        migrations.AddField(
            model_name="historicalfielddefinition",
            name="retention_action",
            field=RETENTION_ACTION.clone(),
        ),
    ]
