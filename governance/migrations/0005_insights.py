# Insights: governed next-best-action rules and incompatibility rules (issue 8).
# Reserved so that work on several issues can proceed at once without two
# leaf migrations in one app; the issue fills in its own operations here.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("governance", "0004_quorum_matching_priority")]

    operations: list[migrations.operations.base.Operation] = []
