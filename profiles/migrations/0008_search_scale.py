# Agent screens: name search at 1M customers (issue 6).
#
# The name search (profiles/search.py) no longer runs its trigram search over
# the customer table: at a million customers a common name matched about
# 9,000 wide customer rows per query, each rechecked on the heap (p95 600 ms).
# It searches a dictionary of the distinct lower-case "given family" names
# instead (a fraction of the rows, each a few bytes, always in cache) and
# then fetches the customers of the best names through a B-tree on the same
# expression. PostgreSQL only, database-level only (no model state); SQLite
# (the embedded demo) scans names in process as before.
#
# * profiles_search_name: one row per distinct name ever given to a customer,
#   kept by triggers: a statement-level AFTER INSERT trigger (names sorted, so
#   two concurrent inserts take their locks in the same order) and a row-level
#   AFTER UPDATE trigger that fires only when a name changes. Names are never
#   removed: a name nobody bears any more finds no customer, which is harmless.
# * search_name_trgm: pg_trgm GIN index on the dictionary, without GIN's
#   pending list (fastupdate off): new names are rare once a base is loaded,
#   and a pending list is scanned in full by every search until it is merged.
# * customer_name_key: B-tree on the name expression of surviving customers,
#   plus extended statistics on the expression so the planner knows a name
#   has few bearers (statistics of a partial index are not used).
# * customer_name_trgm (migration 0005) is dropped: nothing reads it any more.
#
# Not atomic: the indexes on the customer table are built CONCURRENTLY so a
# large table stays writable. The triggers exist before the dictionary is
# filled, so a customer inserted meanwhile is not missed.

from django.db import migrations

NAME = "lower(given_name || ' ' || family_name)"

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE TABLE IF NOT EXISTS profiles_search_name (name text PRIMARY KEY)",
    """CREATE OR REPLACE FUNCTION profiles_search_name_inserted() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO profiles_search_name (name)
        SELECT DISTINCT lower(given_name || ' ' || family_name) FROM new_customers ORDER BY 1
        ON CONFLICT DO NOTHING;
        RETURN NULL;
    END $$""",
    """CREATE OR REPLACE FUNCTION profiles_search_name_renamed() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO profiles_search_name (name)
        VALUES (lower(NEW.given_name || ' ' || NEW.family_name))
        ON CONFLICT DO NOTHING;
        RETURN NULL;
    END $$""",
    "DROP TRIGGER IF EXISTS customer_search_name_insert ON profiles_customer",
    "CREATE TRIGGER customer_search_name_insert AFTER INSERT ON profiles_customer "
    "REFERENCING NEW TABLE AS new_customers "
    "FOR EACH STATEMENT EXECUTE FUNCTION profiles_search_name_inserted()",
    "DROP TRIGGER IF EXISTS customer_search_name_update ON profiles_customer",
    "CREATE TRIGGER customer_search_name_update "
    "AFTER UPDATE OF given_name, family_name ON profiles_customer FOR EACH ROW "
    "WHEN (lower(OLD.given_name || ' ' || OLD.family_name) "
    "IS DISTINCT FROM lower(NEW.given_name || ' ' || NEW.family_name)) "
    "EXECUTE FUNCTION profiles_search_name_renamed()",
    "INSERT INTO profiles_search_name (name) "
    "SELECT DISTINCT lower(given_name || ' ' || family_name) FROM profiles_customer "
    "ON CONFLICT DO NOTHING",
    "CREATE INDEX IF NOT EXISTS search_name_trgm ON profiles_search_name "
    "USING gin (name gin_trgm_ops) WITH (fastupdate = off)",
    f"CREATE INDEX CONCURRENTLY IF NOT EXISTS customer_name_key ON profiles_customer (({NAME})) "
    "WHERE merged_into_id IS NULL",
    f"CREATE STATISTICS IF NOT EXISTS customer_name_stats ON ({NAME}) FROM profiles_customer",
    "ANALYZE profiles_search_name",
    "ANALYZE profiles_customer",
    "DROP INDEX CONCURRENTLY IF EXISTS customer_name_trgm",
]

BACKWARD = [
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS customer_name_trgm ON profiles_customer "
    f"USING gin (({NAME}) gin_trgm_ops) WHERE merged_into_id IS NULL",
    "DROP STATISTICS IF EXISTS customer_name_stats",
    "DROP INDEX CONCURRENTLY IF EXISTS customer_name_key",
    "DROP TRIGGER IF EXISTS customer_search_name_update ON profiles_customer",
    "DROP TRIGGER IF EXISTS customer_search_name_insert ON profiles_customer",
    "DROP FUNCTION IF EXISTS profiles_search_name_renamed()",
    "DROP FUNCTION IF EXISTS profiles_search_name_inserted()",
    "DROP TABLE IF EXISTS profiles_search_name",
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
    atomic = False

    dependencies = [("profiles", "0007_identity_accuracy")]

    operations: list[migrations.operations.base.Operation] = [
        migrations.RunPython(forward, backward, elidable=False),
    ]
