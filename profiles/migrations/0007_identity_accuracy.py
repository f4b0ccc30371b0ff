# Identity resolution accuracy: scoring, survivorship and merge fixes (issue 3).
# Reserved so that work on several issues can proceed at once without two
# leaf migrations in one app; the issue fills in its own operations here.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("profiles", "0006_identity_bulk")]

    operations: list[migrations.operations.base.Operation] = []
