# Partner API: clients, access log, idempotency keys, outbox, webhooks (issue 7).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("customer360", "0004_audit_event_types_insights_api_screens")]

    operations = [
        migrations.CreateModel(
            name="OutboxEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("occurred_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                (
                    "event_type",
                    models.CharField(
                        choices=[
                            ("customer.merged", "Customer merged"),
                            ("customer.unmerged", "Customer unmerged"),
                            ("consent.changed", "Consent changed"),
                            ("dsr.completed", "Data-subject request completed"),
                            ("action.blocked", "Outbound action blocked"),
                        ],
                        max_length=32,
                    ),
                ),
                ("customer_number", models.CharField(blank=True, db_index=True, max_length=16)),
                ("payload", models.JSONField(default=dict)),
                ("request_id", models.CharField(blank=True, max_length=64)),
            ],
            options={
                "ordering": ["id"],
                "indexes": [
                    models.Index(fields=["event_type", "id"], name="customer360_event_t_0a7b63_idx")
                ],
            },
        ),
    ]
