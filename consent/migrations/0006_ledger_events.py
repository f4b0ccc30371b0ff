# Consent and data-subject requests: fulfilment progress and worker retries (issue 5).
# Reserved so that work on several issues can proceed at once without two
# leaf migrations in one app; the issue fills in its own operations here.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("consent", "0005_consentrecord_append_only")]

    operations: list[migrations.operations.base.Operation] = []
