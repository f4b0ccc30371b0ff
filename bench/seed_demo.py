"""Benchmark ``manage.py seed_demo`` on a fresh PostgreSQL database.

Creates a throw-away database, migrates it, runs ``seed_demo --customers N``
in a child process, and reports wall time, the child's peak RSS, rows per
table and ``pg_database_size``; then drops the database and prints a
markdown snippet for ``docs/benchmarks.md``.

    .venv/bin/python bench/seed_demo.py                 # 100,000 customers
    .venv/bin/python bench/seed_demo.py --customers 2000 --keep

Needs ``psql``, ``createdb`` and ``dropdb`` reaching the server (default
postgres@127.0.0.1:5432, trust auth).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"


def psql(args: argparse.Namespace, database: str, sql: str) -> str:
    result = subprocess.run(
        ["psql", "-h", args.host, "-p", str(args.port), "-U", args.user, "-d", database,
         "-XAtq", "-c", sql],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return result.stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--database", default=f"c360_seed_bench_{os.getpid()}")
    parser.add_argument("--keep", action="store_true", help="Do not drop the database.")
    args = parser.parse_args()

    server = ["-h", args.host, "-p", str(args.port), "-U", args.user]
    subprocess.run(["createdb", *server, args.database], check=True)
    var_dir = tempfile.mkdtemp(prefix="c360-bench-")
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{args.user}@{args.host}:{args.port}/{args.database}",
        # Production-like settings (DEBUG off), with throw-away values.
        "DEBUG": "false",
        "SECRET_KEY": "bench-" + "k" * 50,
        "ALLOWED_HOSTS": "localhost",
        "CUSTOMER360_VAR_DIR": var_dir,
        # DEBUG off means SMTP; no mail server runs here, and the scenario's
        # after-commit mails to both silos would end the seed with an error.
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    try:
        subprocess.run([str(PYTHON), "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        command = [
            str(PYTHON), "manage.py", "seed_demo", f"--customers={args.customers}",
            f"--seed={args.seed}", f"--batch-size={args.batch_size}",
        ]  # fmt: skip
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        started = time.perf_counter()
        seeded = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        if seeded.returncode:
            sys.stderr.write(seeded.stdout + seeded.stderr)
            return seeded.returncode
        if peak_kib == before:
            sys.stderr.write("note: the migrate step's peak RSS was higher than seed_demo's\n")

        psql(args, args.database, "ANALYZE")
        rows = psql(
            args,
            args.database,
            "SELECT relname, n_live_tup FROM pg_stat_user_tables "
            "WHERE n_live_tup > 0 ORDER BY n_live_tup DESC, relname",
        )
        size = int(psql(args, args.database, "SELECT pg_database_size(current_database())"))
        total_rows = 0
        table_lines = []
        for line in rows.splitlines():
            name, count = line.split("|")
            total_rows += int(count)
            table_lines.append(f"| `{name}` | {int(count):,} |")
    finally:
        if not args.keep:
            subprocess.run(["dropdb", *server, "--if-exists", args.database], check=True)
            shutil.rmtree(var_dir, ignore_errors=True)

    print(f"### seed_demo --customers {args.customers:,} (PostgreSQL)\n")
    print(f"Command: `.venv/bin/python bench/seed_demo.py --customers {args.customers}`\n")
    print("| measure | value |\n|---|---|")
    print(f"| wall time | {wall:.0f} s ({wall / 60:.1f} min) |")
    print(f"| people per second | {args.customers / wall:,.0f} |")
    print(f"| peak RSS of seed_demo | {peak_kib / 1024:.0f} MiB |")
    print(f"| database size | {size / 1024**2:,.0f} MiB |")
    print(f"| rows, all tables (estimate after ANALYZE) | {total_rows:,} |\n")
    print("| table | rows |\n|---|---|")
    print("\n".join(table_lines))
    print("\nseed_demo output:\n\n```")
    summary = seeded.stdout.split("Demo logins")[0].strip()
    print("\n".join(line for line in summary.splitlines() if "Ground truth" not in line))
    print("```")
    return 0


if __name__ == "__main__":
    sys.exit(main())
