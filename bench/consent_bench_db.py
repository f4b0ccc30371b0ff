"""Shared helpers of the consent benchmarks: a throw-away PostgreSQL database.

``bench/consent_check.py`` and ``bench/consent_privacy_checks.py`` create a database,
migrate it, fill it with ``INSERT ... SELECT generate_series`` (fast: no
Python per row), measure, and drop it. Needs ``psql``, ``createdb`` and
``dropdb`` reaching the server (default postgres@127.0.0.1:5432, trust auth).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"


def add_server_arguments(parser: argparse.ArgumentParser, prefix: str) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--database", default=f"{prefix}_{os.getpid()}")
    parser.add_argument("--keep", action="store_true", help="Do not drop the database.")


def server(args: argparse.Namespace) -> list[str]:
    return ["-h", args.host, "-p", str(args.port), "-U", args.user]


def psql(args: argparse.Namespace, sql: str) -> str:
    result = subprocess.run(
        ["psql", *server(args), "-d", args.database, "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql],
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout.strip()


def timed_sql(args: argparse.Namespace, label: str, sql: str) -> None:
    started = time.perf_counter()
    psql(args, sql)
    print(f"  {label}: {time.perf_counter() - started:.1f} s", flush=True)


def django_env(args: argparse.Namespace) -> dict[str, str]:
    """Production-like settings (DEBUG off) with throw-away values."""
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{args.user}@{args.host}:{args.port}/{args.database}",
        "DEBUG": "false",
        "SECRET_KEY": "bench-" + "k" * 50,
        "ALLOWED_HOSTS": "localhost",
        "CUSTOMER360_VAR_DIR": tempfile.mkdtemp(prefix="c360-bench-"),
        "LOG_LEVEL": "WARNING",
    }


def create_and_migrate(args: argparse.Namespace) -> dict[str, str]:
    subprocess.run(["createdb", *server(args), args.database], check=True)
    env = django_env(args)
    subprocess.run([str(PYTHON), "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    return env


def drop(args: argparse.Namespace) -> None:
    if not args.keep:
        subprocess.run(
            ["dropdb", *server(args), "--if-exists", "--force", args.database], check=True
        )


def customers_sql(count: int, prefix: str = "B") -> str:
    """``count`` surviving customers with identity values, numbers ``<prefix>000000001``..."""
    return f"""
        INSERT INTO profiles_customer (
            created_at, updated_at, customer_number, lifecycle_status, given_name, middle_name,
            family_name, email, phone, address_line1, address_line2, locality, region, postcode,
            country, language, is_restricted, lineage, date_of_birth)
        SELECT now(), now() - (g % 900) * interval '1 day', '{prefix}' || lpad(g::text, 9, '0'),
               'active', 'Given' || g, '', 'Family' || g, 'p' || g || '@example.org',
               '+44' || (7000000000 + g), g || ' High Street', '', 'Town', '', 'AB1 2CD', 'GB',
               'en', false, '{{}}', date '1950-01-01' + (g % 20000)
        FROM generate_series(1, {count}) AS g
    """


def machine() -> str:
    cpu = "unknown"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}"
