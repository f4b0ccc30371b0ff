# Agent screens: name search at 1M customers (issue 6).
# Reserved so that work on several issues can proceed at once without two
# leaf migrations in one app; the issue fills in its own operations here.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("profiles", "0007_identity_accuracy")]

    operations: list[migrations.operations.base.Operation] = []
