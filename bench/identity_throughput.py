"""Identity resolution throughput, single-record latency and worker memory on PostgreSQL.

On a throw-away database of its own (never ``c360_1m``), this script

1. migrates it and inserts N synthetic source records, unresolved: people
   with one record each and, for a quarter of them, a second spelling
   (nickname, typo in the family name, no phone, a different e-mail);
2. starts a real ``celery worker`` with W prefork processes on a private
   file-system broker (no shared Redis queue another run could drain) and
   runs ``manage.py resolve_identities --wait``: wall time and records/s;
3. reads every worker process's peak resident memory (VmHWM) before stopping it;
4. measures pairwise precision/recall of the result through
   ``manage.py export_identities`` against the synthetic truth;
5. times ``source_record_match`` of P more records, one at a time, against the
   resolved database (p50/p95/max in ms);
6. drops the database (unless ``--keep``).

    .venv/bin/python bench/identity_throughput.py --records 20000
    .venv/bin/python bench/identity_throughput.py --records 100000 --workers 2

Needs ``createdb``/``dropdb`` reaching postgres@127.0.0.1:5432.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GIVEN = ["Robert", "Elizabeth", "William", "Margaret", "James", "Catherine", "Thomas", "Anna",
         "Peter", "Sophie", "Michael", "Emma", "David", "Laura", "Richard", "Julia"]  # fmt: skip
NICK = {"Robert": "Bob", "Elizabeth": "Liz", "William": "Bill", "Margaret": "Maggie",
        "James": "Jim", "Catherine": "Kate", "Thomas": "Tom", "Peter": "Pete"}  # fmt: skip
STREETS = ["High Street", "Church Road", "Station Road", "Mill Lane", "Park Avenue", "Kerkstraat"]


def person(rng: random.Random, n: int) -> dict[str, str]:
    family = "".join(rng.choice("bcdfghklmnprstvw") + rng.choice("aeiou") for _ in range(3))
    return {
        "given_name": rng.choice(GIVEN),
        "family_name": family.title() + rng.choice(["son", "er", "man", "s", ""]),
        "date_of_birth": (
            f"{rng.randint(1940, 2004)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        ),
        "email": f"p{n}.{family}@example.org",
        "phone": f"+316{rng.randint(10_000_000, 99_999_999)}",
        "address_line1": f"{rng.randint(1, 300)} {rng.choice(STREETS)}",
        "postcode": f"{rng.randint(1000, 9999)}{rng.choice('ABCDEFGH')}{rng.choice('JKLMNPRS')}",
        "locality": rng.choice(["Amsterdam", "Utrecht", "Delft", "Leiden", "Haarlem"]),
    }


def variant(rng: random.Random, values: dict[str, str]) -> dict[str, str]:
    copy = dict(values)
    copy["given_name"] = NICK.get(copy["given_name"], copy["given_name"])
    if rng.random() < 0.3:
        family = copy["family_name"]
        i = rng.randrange(1, len(family))
        copy["family_name"] = family[:i] + family[i + 1 :]
    copy["phone"] = ""
    if rng.random() < 0.5:
        copy["email"] = copy["email"].replace("@", ".home@")
    return copy


def synthetic(count: int, seed: int) -> list[tuple[str, int, dict[str, str]]]:
    """(source key, person, values): about 80% first records, 20% second spellings."""
    rng = random.Random(seed)
    rows: list[tuple[str, int, dict[str, str]]] = []
    n = 0
    while len(rows) < count:
        values = person(rng, n)
        rows.append((f"S{len(rows):08d}", n, values))
        if rng.random() < 0.25 and len(rows) < count:
            rows.append((f"S{len(rows):08d}", n, variant(rng, values)))
        n += 1
    rng.shuffle(rows)
    return rows


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--probe", type=int, default=300, help="Records timed one by one.")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    database = f"identity_bench_{os.getpid()}"
    url = f"postgres://{args.user}@{args.host}:5432/{database}"
    broker_dir = Path(tempfile.mkdtemp(prefix="identity-bench-broker-"))
    env = {**os.environ, "DATABASE_URL": url, "CELERY_BROKER_URL": "filesystem://localhost/",
           "CELERY_DATA_DIR": str(broker_dir),
           "CUSTOMER360_TESTING": "true", "CELERY_TASK_ALWAYS_EAGER": "false"}  # fmt: skip
    subprocess.run(["createdb", "-h", args.host, "-U", args.user, database], check=True)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        started = time.perf_counter()
        subprocess.run([PYTHON, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        print(f"migrated in {time.perf_counter() - started:.0f} s", flush=True)
        os.environ.update(env)
        sys.path.insert(0, str(ROOT))
        os.environ["DJANGO_SETTINGS_MODULE"] = "customer360.settings"
        import django

        django.setup()
        from profiles.models import SourceRecord
        from tests.factories import SourceSystemFactory

        system = SourceSystemFactory(code="bench")
        rows = synthetic(args.records + args.probe, args.seed)
        probe_rows, rows = rows[: args.probe], rows[args.probe :]
        started = time.perf_counter()
        SourceRecord.objects.bulk_create(
            [
                SourceRecord(
                    source_system=system,
                    source_key=key,
                    raw=values,
                    normalized=values,
                    payload_hash=key,
                )
                for key, _n, values in rows
            ],
            batch_size=5000,
        )
        print(f"inserted {len(rows)} records in {time.perf_counter() - started:.0f} s", flush=True)

        logs = Path(tempfile.mkdtemp(prefix="identity-bench-"))
        with (logs / "worker.log").open("wb") as log:
            workers.append(
                subprocess.Popen(
                    [
                        PYTHON,
                        "-m",
                        "celery",
                        "-A",
                        "customer360",
                        "worker",
                        "--pool=prefork",
                        f"--concurrency={args.workers}",
                        "--loglevel=WARNING",
                        "--hostname=identity-bench@%h",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        time.sleep(5)
        load_before = os.getloadavg()
        started = time.perf_counter()
        subprocess.run(
            [
                PYTHON,
                "manage.py",
                "resolve_identities",
                "--wait",
                "--no-progress",
                "--batch-size",
                str(args.batch_size),
                "--timeout",
                "7200",
            ],
            cwd=ROOT,
            env=env,
            check=True,
        )
        elapsed = time.perf_counter() - started
        load_after = os.getloadavg()
        pids = [w.pid for w in workers]
        for w in workers:
            children = Path(f"/proc/{w.pid}/task/{w.pid}/children").read_text().split()
            pids += [int(c) for c in children]
        rss = [peak_rss_kib(pid) for pid in pids]
        print(
            f"resolved {len(rows)} records in {elapsed:.1f} s with {args.workers} worker(s): "
            f"{len(rows) / elapsed:.0f} records/s; load {load_before[0]:.1f} -> "
            f"{load_after[0]:.1f}; worker peak RSS {max(rss) / 1024:.0f} MiB "
            f"(per process: {', '.join(f'{r / 1024:.0f}' for r in rss)} MiB)",
            flush=True,
        )
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
        workers.clear()

        export = logs / "identities.csv"
        subprocess.run(
            [PYTHON, "manage.py", "export_identities", str(export)], cwd=ROOT, env=env, check=True
        )
        by_customer: dict[str, list[str]] = defaultdict(list)
        with export.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                by_customer[row["customer_number"]].append(row["source_key"])
        predicted = {
            tuple(sorted(p)) for keys in by_customer.values() for p in combinations(keys, 2)
        }
        by_person: dict[int, list[str]] = defaultdict(list)
        for key, n, _values in rows:
            by_person[n].append(key)
        truth = {tuple(sorted(p)) for keys in by_person.values() for p in combinations(keys, 2)}
        hits = len(predicted & truth)
        precision = hits / len(predicted) if predicted else 1.0
        recall = hits / len(truth) if truth else 1.0
        print(
            f"pairwise precision {precision:.4f}, recall {recall:.4f} "
            f"({len(truth)} true pairs, {len(predicted)} predicted); "
            f"{len(by_customer)} customers for {len(by_person)} people",
            flush=True,
        )

        from profiles.identity.matching import source_record_match

        timings = []
        for key, _n, values in probe_rows:
            record = SourceRecord.objects.create(
                source_system=system, source_key=key, raw=values, normalized=values,
                payload_hash=key,
            )  # fmt: skip
            started = time.perf_counter()
            source_record_match(record_id=record.pk)
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        p95 = timings[int(len(timings) * 0.95) - 1]
        print(
            f"single-record match against {len(rows)} records: p50 "
            f"{statistics.median(timings):.1f} ms, p95 {p95:.1f} ms, max {timings[-1]:.1f} ms "
            f"({len(timings)} records)",
            flush=True,
        )
        from django.db import connections

        connections.close_all()
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(timeout=30)
        if not args.keep:
            subprocess.run(
                ["dropdb", "-h", args.host, "-U", args.user, "--force", database], check=False
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
