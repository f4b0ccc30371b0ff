# Identity resolution runs, match-model training and householding (issue 3).
# Reserved so that work on several issues can proceed at once without two
# leaf migrations in one app; the issue fills in its own operations here.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("profiles", "0002_identity_resolution")]

    operations: list[migrations.operations.base.Operation] = []
