# Partner API: clients, access log, idempotency keys, outbox, webhooks (issue 7).
# Reserved so that work on several issues can proceed at once without two
# leaf migrations in one app; the issue fills in its own operations here.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("customer360", "0004_audit_event_types_insights_api_screens")]

    operations: list[migrations.operations.base.Operation] = []
