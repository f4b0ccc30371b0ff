# Numbers from PostgreSQL sequences (customer360.services.number_allocate): a
# sequence hands out numbers without a row lock held until commit. Each
# sequence starts after its NumberSequence row's last value, so no number is
# handed out twice; going back writes the sequences' positions into the rows.

from django.db import migrations

# As customer360.services.NUMBER_SEQUENCES was when this migration was written.
SEQUENCES = {"customer_number": 10_000_000, "case": 10_000_000, "data_subject_request": 10_000_000}


def sequences_create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    NumberSequence = apps.get_model("customer360", "NumberSequence")
    rows = dict(NumberSequence.objects.values_list("name", "last_value"))
    quote = schema_editor.quote_name
    for name, first in SEQUENCES.items():
        start = max(first, rows.get(name, first - 1) + 1)
        schema_editor.execute(
            f"CREATE SEQUENCE IF NOT EXISTS {quote('customer360_number_' + name)} "
            f"AS bigint START WITH {int(start)}"
        )


def sequences_drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    NumberSequence = apps.get_model("customer360", "NumberSequence")
    quote = schema_editor.quote_name
    with schema_editor.connection.cursor() as cursor:
        for name in SEQUENCES:
            sequence = "customer360_number_" + name
            query = "SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM "
            cursor.execute(query + quote(sequence))
            (last_value,) = cursor.fetchone()
            NumberSequence.objects.update_or_create(name=name, defaults={"last_value": last_value})
            schema_editor.execute(f"DROP SEQUENCE {quote(sequence)}")


class Migration(migrations.Migration):
    dependencies = [("customer360", "0006_api_scale")]

    operations = [migrations.RunPython(sequences_create, sequences_drop, elidable=False)]
