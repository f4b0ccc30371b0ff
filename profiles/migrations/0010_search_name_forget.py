# Agent screens (issue 6), privacy of the name dictionary of migration 0008:
# a name nobody bears any more leaves the dictionary. An erasure blanks the
# person's name (consent.services, data-subject requests); before this, the
# erased "given family" string stayed in profiles_search_name for good (with
# no customer id, but still personal data kept after an erasure).
#
# The row-level update trigger now also deletes the old name when no
# surviving customer bears it (looked up through customer_name_key), and a
# row-level delete trigger does the same for deleted customers. Two
# transactions renaming the last two bearers of one name at once may each
# still see the other's old row and leave the name behind (a string that
# finds nobody and names no customer); the pruning statement at the end of
# FORWARD removes such leftovers whenever it is run again.

from django.db import migrations

# Each function deletes the old name unless a surviving customer still bears
# it (the expression and predicate of customer_name_key: an index probe).
FORWARD = [
    """CREATE OR REPLACE FUNCTION profiles_search_name_renamed() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO profiles_search_name (name)
        VALUES (lower(NEW.given_name || ' ' || NEW.family_name))
        ON CONFLICT DO NOTHING;
        DELETE FROM profiles_search_name s
        WHERE s.name = lower(OLD.given_name || ' ' || OLD.family_name)
          AND NOT EXISTS (
              SELECT 1 FROM profiles_customer c
              WHERE lower(c.given_name || ' ' || c.family_name) = s.name
                AND c.merged_into_id IS NULL
          );
        RETURN NULL;
    END $$""",
    """CREATE OR REPLACE FUNCTION profiles_search_name_deleted() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM profiles_search_name s
        WHERE s.name = lower(OLD.given_name || ' ' || OLD.family_name)
          AND NOT EXISTS (
              SELECT 1 FROM profiles_customer c
              WHERE lower(c.given_name || ' ' || c.family_name) = s.name
                AND c.merged_into_id IS NULL
          );
        RETURN NULL;
    END $$""",
    "DROP TRIGGER IF EXISTS customer_search_name_delete ON profiles_customer",
    "CREATE TRIGGER customer_search_name_delete AFTER DELETE ON profiles_customer "
    "FOR EACH ROW EXECUTE FUNCTION profiles_search_name_deleted()",
    # Names already left behind (erasures before this migration).
    """DELETE FROM profiles_search_name s WHERE NOT EXISTS (
        SELECT 1 FROM profiles_customer c
        WHERE lower(c.given_name || ' ' || c.family_name) = s.name
          AND c.merged_into_id IS NULL)""",
]

BACKWARD = [
    "DROP TRIGGER IF EXISTS customer_search_name_delete ON profiles_customer",
    "DROP FUNCTION IF EXISTS profiles_search_name_deleted()",
    """CREATE OR REPLACE FUNCTION profiles_search_name_renamed() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO profiles_search_name (name)
        VALUES (lower(NEW.given_name || ' ' || NEW.family_name))
        ON CONFLICT DO NOTHING;
        RETURN NULL;
    END $$""",
]


def _run(statements: list[str], schema_editor) -> None:  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    _run(FORWARD, schema_editor)


def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    _run(BACKWARD, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("profiles", "0009_interaction_history_indexes")]

    operations: list[migrations.operations.base.Operation] = [
        migrations.RunPython(forward, backward, elidable=False),
    ]
