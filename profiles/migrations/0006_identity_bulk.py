# Identity resolution at scale: set-based batch resolution (issue 3).
# Reserved so that work on several issues can proceed at once without two
# leaf migrations in one app; the issue fills in its own operations here.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("profiles", "0005_screens")]

    operations: list[migrations.operations.base.Operation] = []
