"""Profile identity resolution in process: CPU per record of the import and of the
matching, split between Python and the PostgreSQL backend, the statements that
cost the server most, and a cProfile of the hottest functions.

Runs against a database that ``identity_throughput.py --keep`` left resolved (its
``bench`` source system declared): imports N new synthetic rows with no worker
(their on-arrival tasks are dropped), then resolves them in this process as the
on-arrival task would (``source_records_resolve_in_chunks``). Needs the
``pg_stat_statements`` extension in that database (``shared_preload_libraries``)
for the statement table; without it, only the CPU split is shown.

    .venv/bin/python bench/identity_profile.py --database-url postgres://postgres@127.0.0.1:5432/c360_idb_bench_1234
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

from api_profile import backend_cpu
from identity_throughput import COLUMNS, ROOT, as_values, synthetic


def statements(cursor, top: int) -> list[tuple[float, int, int, str]]:
    cursor.execute(
        "SELECT total_exec_time, calls, rows, query FROM pg_stat_statements"
        " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " ORDER BY total_exec_time DESC LIMIT %s",
        [top],
    )
    return cursor.fetchall()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=os.getpid(), help="New people each run.")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--no-cprofile", action="store_true")
    parser.add_argument("--chunk", type=int, default=0, help="Records per transaction.")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="c360-idb-profile-"))
    os.environ.update(
        DATABASE_URL=args.database_url,
        CELERY_BROKER_URL="filesystem://localhost/",
        CELERY_DATA_DIR=str(workdir / "broker"),
        CUSTOMER360_VAR_DIR=str(workdir),
        CUSTOMER360_TESTING="true",
        CELERY_TASK_ALWAYS_EAGER="false",
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "customer360.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import DatabaseError, connection

    from customer360.choices import ActorChannel
    from customer360.services import Actor
    from governance.models import SourceSystem
    from profiles.identity.bulk import source_records_resolve_in_chunks
    from profiles.identity.ingest import RawRow, source_records_import
    from profiles.models import SourceRecord

    lines, _owner = synthetic(args.records, args.seed)
    tag = f"P{os.getpid()}-"
    rows = []
    for number, line in enumerate(lines, start=2):
        values = as_values(line)
        key = tag + values.pop("key")
        rows.append(RawRow(line=number, values={"source_key": key, **values}))
    columns = dict.fromkeys(["source_key", *COLUMNS], 1)
    system = SourceSystem.objects.get(code="bench")
    actor = Actor.system("command:identity_profile", ActorChannel.COMMAND)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
        try:
            cursor.execute("SELECT pg_stat_statements_reset()")
            has_statements = True
        except DatabaseError:  # the extension is optional
            has_statements = False

    def phase(name: str, work) -> None:
        profiler = cProfile.Profile(time.process_time)
        cpu, wall, server = time.process_time(), time.perf_counter(), backend_cpu(backend)
        if args.no_cprofile:
            work()
        else:
            profiler.enable()
            work()
            profiler.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        server = backend_cpu(backend) - server
        n = len(rows)
        print(
            f"\n== {name} of {n} records: wall {wall:.1f} s; Python CPU {cpu / n * 1000:.3f} ms"
            f" and PostgreSQL backend CPU {server / n * 1000:.3f} ms per record"
            f"{' (Python under cProfile)' if not args.no_cprofile else ''}"
        )
        if has_statements:
            with connection.cursor() as cursor:
                for total, calls, count, query in statements(cursor, args.top):
                    print(
                        f"  {total / n * 1000:7.1f} us/record {calls:6d} calls {count:8d} rows  "
                        + " ".join(query.split())[:150]
                    )
                cursor.execute("SELECT pg_stat_statements_reset()")
        if not args.no_cprofile:
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats("cumulative").print_stats(args.top)
            stats.sort_stats("tottime").print_stats(args.top)
            print(out.getvalue())

    phase(
        "import",
        lambda: source_records_import(
            source_system=system,
            columns=columns,
            rows=rows,
            file_name="identity_profile",
            file_format="csv",
            actor=actor,
            reason="identity_profile",
        ),
    )
    ids = list(
        SourceRecord.objects.filter(source_key__startswith=tag, resolved_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    # The on-arrival tasks get each import batch's ids; resolve them the same way.
    batches = [ids[i : i + 500] for i in range(0, len(ids), 500)]
    chunk = {"chunk": args.chunk} if args.chunk else {}
    phase(
        "resolve",
        lambda: [source_records_resolve_in_chunks(record_ids=b, **chunk) for b in batches],
    )


if __name__ == "__main__":
    main()
