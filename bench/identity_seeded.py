"""Matching accuracy on the seeded demo world against Splink, side by side.

On a throw-away PostgreSQL database: ``seed_demo --customers N`` (whose people
have records in several silos and, about 8% of them, a corrupted duplicate
record under a customer of its own), then pairwise precision and recall of
``export_identities`` against the seed's ground truth, before and after
``resolve_identities --full --wait`` run by a real worker on a private
file-system broker (auto-merges included: the script waits until no merge
task is left). In the same run Splink 5 (``bench/_splink.py``, the setup the
FEBRL benchmark uses) clusters the same source records' canonical values.
Then the database is dropped.

    .venv/bin/python bench/identity_seeded.py --customers 2000
    .venv/bin/python bench/identity_seeded.py --customers 2000 --train  # EM model first

Needs ``createdb``/``dropdb`` reaching postgres@127.0.0.1:5432.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from _splink import cluster_pairs, scores, splink_clusters
from _worker import celery_worker

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
sys.path.insert(0, str(ROOT))
# Splink clusters at the upper threshold, as our matcher merges.
SPLINK_THRESHOLD = 0.99


def export_clusters(export: Path) -> list[list[str]]:
    """``system:source key`` of each record, grouped by customer number."""
    groups: dict[str, list[str]] = defaultdict(list)
    with export.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            groups[row["customer_number"]].append(f"{row['system']}:{row['source_key']}")
    return list(groups.values())


def truth_pairs(truth: Path) -> set[tuple[str, str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    with truth.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            groups[row["person_id"]].append(f"{row['system']}:{row['source_key']}")
    return cluster_pairs(groups.values())


def seeded_rows(env: dict[str, str]) -> list[dict[str, Any]]:
    """The seeded source records' canonical values, keyed ``system:source key``."""
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "customer360.settings")
    import django

    django.setup()
    from profiles.models import SourceRecord

    rows = SourceRecord.objects.order_by("pk").values_list(
        "source_system__code", "source_key", "normalized"
    )
    return [{"key": f"{code}:{key}", **values} for code, key, values in rows]


def line(name: str, result: dict[str, float], seconds: float | None) -> str:
    shown = "" if seconds is None else f"{seconds:.1f}"
    return (
        f"| {name} | {result['precision']:.4f} | {result['recall']:.4f} | {result['f1']:.4f} "
        f"| {result['pairs']} | {shown} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--database", default=f"c360_identity_seeded_{os.getpid()}")
    parser.add_argument("--train", action="store_true", help="train_match_model before resolving")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    database = args.database
    work = Path(tempfile.mkdtemp(prefix="identity-seeded-"))
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{args.user}@{args.host}:5432/{database}",
        "CELERY_BROKER_URL": "filesystem://localhost/",
        "CELERY_DATA_DIR": str(work / "broker"),
        "CUSTOMER360_VAR_DIR": str(work),
        "CUSTOMER360_TESTING": "true",
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    truth_file = work / "ground_truth.csv"
    subprocess.run(["createdb", "-h", args.host, "-U", args.user, database], check=True)
    worker: subprocess.Popen[bytes] | None = None

    def manage(*command: str) -> None:
        subprocess.run([PYTHON, "manage.py", *command], cwd=ROOT, env=env, check=True)

    try:
        manage("migrate", "-v", "0")
        manage("seed_demo", "--customers", str(args.customers), "--truth-file", str(truth_file))
        truth = truth_pairs(truth_file)
        manage("export_identities", str(work / "before.csv"))
        before = scores(cluster_pairs(export_clusters(work / "before.csv")), truth)
        print(f"seeded, before matching: {before}", flush=True)
        if args.train:
            manage("train_match_model", "--reason", "bench/identity_seeded.py")
        with (work / "worker.log").open("wb") as log:
            worker = celery_worker(concurrency=2, env=env, log=log)
        started = time.perf_counter()
        manage("resolve_identities", "--full", "--wait", "--no-progress", "--timeout", "7200")
        # Auto-merges run as tasks of their own after the batches: wait for the queue to drain.
        queue = work / "broker" / "queue"
        while queue.exists() and any(queue.iterdir()):
            time.sleep(1)
        time.sleep(5)
        elapsed = time.perf_counter() - started
        manage("export_identities", str(work / "after.csv"))
        after = scores(cluster_pairs(export_clusters(work / "after.csv")), truth)
        worker.terminate()
        worker.wait(timeout=60)
        worker = None
        rows = seeded_rows(env)
        started = time.perf_counter()
        splink = scores(cluster_pairs(splink_clusters(rows, SPLINK_THRESHOLD)), truth)
        splink_seconds = time.perf_counter() - started
        print(
            f"\nseeded world, {args.customers} customers, {len(rows)} source records, "
            f"{len(truth)} true pairs (ours: {'EM-trained' if args.train else 'configured'} "
            "model, resolve_identities --full with a real worker)\n"
        )
        print("| matcher | precision | recall | F1 | predicted pairs | seconds |")
        print("|---|---|---|---|---|---|")
        print(line("seeded, before matching", before, None))
        print(line("ours, after resolve_identities --full", after, elapsed))
        print(line("Splink 5 (duckdb), same records", splink, splink_seconds), flush=True)
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=60)
        if not args.keep:
            subprocess.run(
                ["dropdb", "-h", args.host, "-U", args.user, "--force", database], check=False
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
