# Insights: flags, next best action, contact arbitration (issue 8).
# Reserved so that work on several issues can proceed at once without two
# leaf migrations in one app; the issue fills in its own operations here.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("profiles", "0003_identity_runs")]

    operations: list[migrations.operations.base.Operation] = [
        # The committee's conflict report in the admin: a proxy, no table.
        migrations.CreateModel(
            name="ContactConflictReport",
            fields=[],
            options={
                "verbose_name": "contact conflict report",
                "verbose_name_plural": "contact conflict reports",
                "proxy": True,
                "indexes": [],
                "constraints": [],
            },
            bases=("profiles.outboundaction",),
        ),
    ]
