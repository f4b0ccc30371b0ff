"""On PostgreSQL, the consent ledger refuses DELETE and most UPDATEs at the database.

Forms and admin refuse changes too, but a trigger also stops a stray ORM
``update()``, a bulk job or a hand-typed SQL statement. UPDATE is allowed for
exactly these columns, which the product legitimately changes:

- ``customer_id``: identity resolution re-points rows at a merge or unmerge
  (and audits it there);
- ``ip_address`` and ``user_agent``: the web evidence that an erasure
  request anonymizes.

Every other column (a future one included: the comparison is over the whole
row minus those three) is refused. TRUNCATE is not guarded, like the audit
log's trigger: test databases are flushed with it.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION consent_consentrecord_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION USING
            MESSAGE = 'consent_consentrecord is append-only: DELETE refused',
            ERRCODE = 'insufficient_privilege';
    END IF;
    IF (to_jsonb(NEW) - 'customer_id' - 'ip_address' - 'user_agent')
        IS DISTINCT FROM (to_jsonb(OLD) - 'customer_id' - 'ip_address' - 'user_agent') THEN
        RAISE EXCEPTION USING
            MESSAGE = 'consent_consentrecord is append-only: UPDATE may change only '
                      'customer_id, ip_address and user_agent',
            ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER consent_consentrecord_append_only
    BEFORE UPDATE OR DELETE ON consent_consentrecord
    FOR EACH ROW EXECUTE FUNCTION consent_consentrecord_guard();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS consent_consentrecord_append_only ON consent_consentrecord;
DROP FUNCTION IF EXISTS consent_consentrecord_guard();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("consent", "0004_ledger_append_only_dsr_privacy_checks")]

    operations = [migrations.RunPython(forward, backward)]
