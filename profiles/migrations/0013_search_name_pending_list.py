# Identity resolution at scale (issue 3): the name dictionary's trigram index
# (search_name_trgm, migration 0008) takes new names through GIN's pending
# list, bounded to 256 kB (about 750 names, 30 pages).
#
# 0008 built the index without the pending list because new names would be
# rare once a base is loaded. Identity resolution creates customers in bulk,
# and most of them bring a name the dictionary does not hold yet: without the
# list the trigger's insert updates the index entry by entry (some fifteen
# trigrams per name). With the list new names are appended, and merged into
# the index in bulk, sorted by trigram, once the list outgrows its limit.
#
# Measured 2026-12-03 on the 100k-record identity benchmark (85k names),
# PostgreSQL 15, 2 cores; PostgreSQL backend CPU per new customer row, COPY in
# batches of 100 / 1,000 rows, the list's merges included (median of 4 runs of
# 30,000 rows):
#
#   pending list off      163 / 130 us   (the trigger: 110 / 85 us)
#   256 kB                 85 /  72 us   (the trigger:  35 / 25 us)
#   1 MB / 4 MB (default)  77 /  67  and  76 / 63 us
#   no trigger at all      49 /  46 us
#
# The bound: until it is merged, every trigram index scan reads the whole
# list, once per spelling variant of the query. The name search of
# profiles/search.py (ten common and rare names and typos, 1,800 queries per
# state) with the list empty / full: p50 24.4 / 26.6 ms, p95 55.6 / 56.8 ms
# (list off: 25.6 ms, 55.9 ms); 30 pending pages add 0.7-1.1 ms per variant.
# At 1 MB a full list adds 6.6 ms to the p95 for hardly less insert cost; at
# the default 4 MB the planner costs the index above a sequential scan of the
# dictionary and the p95 becomes 415 ms.
#
# The list is merged by the insert that overflows it (that statement pays for
# the merge), by autovacuum and autoanalyze of profiles_search_name, and by
# gin_clean_pending_list(). Backward: the list off again, and merged (turning
# it off does not merge what it holds). PostgreSQL only, like 0008.

from django.db import migrations

INDEX = "search_name_trgm"
PENDING_LIST_LIMIT_KB = 256

FORWARD = [
    f"ALTER INDEX IF EXISTS {INDEX} "
    f"SET (fastupdate = on, gin_pending_list_limit = {PENDING_LIST_LIMIT_KB})",
]

BACKWARD = [
    f"ALTER INDEX IF EXISTS {INDEX} SET (fastupdate = off)",
    f"ALTER INDEX IF EXISTS {INDEX} RESET (gin_pending_list_limit)",
    f"SELECT gin_clean_pending_list(to_regclass('{INDEX}')) WHERE to_regclass('{INDEX}') IS NOT NULL",
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
    dependencies = [("profiles", "0012_identity_indexes")]

    operations: list[migrations.operations.base.Operation] = [
        migrations.RunPython(forward, backward, elidable=False),
    ]
