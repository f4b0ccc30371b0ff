# Committee workflow: charter decisions, early close and withdrawal (issues 4 and 5).
# Reserved so that work on several issues can proceed at once without two
# leaf migrations in one app; the issue fills in its own operations here.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("governance", "0005_insights")]

    operations: list[migrations.operations.base.Operation] = []
