# Partner ingest at scale (issue 7): Interaction.customer loses Django's automatic
# index. The timeline index (customer, -occurred_at) starts with the customer and
# serves every look-up by customer, including the PROTECT check when a customer
# is deleted; the extra index was one more random page per ingested interaction.
#
# Only the index is dropped. AlterField would also drop and re-add the foreign key
# constraint, and re-adding it checks every row of the table (9 M on the 1M
# dataset) under a lock that blocks writes; the constraint does not change, so
# the state changes and the database only loses the index. The name is the one
# Django gave the index (the same on every database: a hash of table and column).

import django.db.models.deletion
from django.db import migrations, models

INDEX = "profiles_interaction_customer_id_583fb270"


class Migration(migrations.Migration):
    dependencies = [
        ("profiles", "0010_search_name_forget"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="interaction",
                    name="customer",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="interactions",
                        to="profiles.customer",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{INDEX}"',
                    reverse_sql=f'CREATE INDEX "{INDEX}" ON "profiles_interaction" ("customer_id")',
                ),
            ],
        ),
    ]
