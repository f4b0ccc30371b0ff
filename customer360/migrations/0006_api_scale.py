# Partner API: throughput, idempotency-key expiry, webhook subscriptions (issue 7).
# Reserved so that work on several issues can proceed at once without two
# leaf migrations in one app; the issue fills in its own operations here.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("customer360", "0005_api")]

    operations: list[migrations.operations.base.Operation] = []
