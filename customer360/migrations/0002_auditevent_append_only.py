"""On PostgreSQL, the audit log refuses UPDATE and DELETE at the database.

Forms and admin are read-only too, but a trigger also stops a stray ORM
``update()`` or a hand-typed SQL statement.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION customer360_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = TG_TABLE_NAME || ' is append-only: ' || TG_OP || ' refused',
        ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER customer360_auditevent_append_only
    BEFORE UPDATE OR DELETE ON customer360_auditevent
    FOR EACH ROW EXECUTE FUNCTION customer360_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS customer360_auditevent_append_only ON customer360_auditevent;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("customer360", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
