# Agent screens: search and restricted-profile access (issue 6).
# Reserved so that work on several issues can proceed at once without two
# leaf migrations in one app; the issue fills in its own operations here.
#
# The search indexes (profiles/search.py). They are database-level only (no
# model state), because one is PostgreSQL-specific:
# * customer_name_trgm: pg_trgm GIN index on the lower-case "given family" name
#   of surviving customers, for typo-tolerant, order-free name search;
# * sourcerecord_key_search: any silo's own key, whichever system it is from
#   (the unique index leads with the source system).
# Restricted-profile access needs no table: it is a django-guardian object
# permission granted by profiles.services.restricted_access_grant.

from django.db import migrations

NAME_INDEX_SQL = (
    "CREATE INDEX IF NOT EXISTS customer_name_trgm ON profiles_customer "
    "USING gin ((lower(given_name || ' ' || family_name)) gin_trgm_ops) "
    "WHERE merged_into_id IS NULL"
)


def create_search_indexes(apps, schema_editor):  # type: ignore[no-untyped-def]
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "CREATE INDEX IF NOT EXISTS sourcerecord_key_search "
            "ON profiles_sourcerecord (source_key)"
        )
        if schema_editor.connection.vendor == "postgresql":
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            cursor.execute(NAME_INDEX_SQL)


def drop_search_indexes(apps, schema_editor):  # type: ignore[no-untyped-def]
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("DROP INDEX IF EXISTS sourcerecord_key_search")
        if schema_editor.connection.vendor == "postgresql":
            cursor.execute("DROP INDEX IF EXISTS customer_name_trgm")


class Migration(migrations.Migration):
    dependencies = [("profiles", "0004_insights")]

    operations: list[migrations.operations.base.Operation] = [
        migrations.RunPython(create_search_indexes, drop_search_indexes, elidable=False),
    ]
