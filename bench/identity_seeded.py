"""Matching accuracy on the seeded demo world, measured from outside.

On a throw-away PostgreSQL database: ``seed_demo --customers N`` (whose people
have records in several silos and, about 8% of them, a corrupted duplicate
record under a customer of its own), then pairwise precision and recall of
``export_identities`` against the seed's ground truth, before and after
``resolve_identities --full --wait`` run by a real worker (auto-merges
included: the script waits until no merge task is left). Then the database is
dropped.

    .venv/bin/python bench/identity_seeded.py --customers 2000

Needs ``createdb``/``dropdb`` reaching postgres@127.0.0.1:5432.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import tempfile
import time
from collections import defaultdict
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")


def pairs_of(groups: dict[str, list[tuple[str, str]]]) -> set[tuple[tuple[str, str], ...]]:
    return {
        tuple(sorted(pair))  # type: ignore[misc]
        for members in groups.values()
        for pair in combinations(members, 2)
    }


def accuracy(export: Path, truth: Path) -> tuple[float, float, int, int]:
    predicted: dict[str, list[tuple[str, str]]] = defaultdict(list)
    with export.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            predicted[row["customer_number"]].append((row["system"], row["source_key"]))
    true: dict[str, list[tuple[str, str]]] = defaultdict(list)
    with truth.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            true[row["person_id"]].append((row["system"], row["source_key"]))
    p, t = pairs_of(predicted), pairs_of(true)
    hits = len(p & t)
    return (hits / len(p) if p else 1.0, hits / len(t) if t else 1.0, len(p), len(t))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    database = f"identity_seeded_{os.getpid()}"
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
    truth = work / "ground_truth.csv"
    subprocess.run(["createdb", "-h", args.host, "-U", args.user, database], check=True)
    worker: subprocess.Popen[bytes] | None = None

    def manage(*command: str) -> None:
        subprocess.run([PYTHON, "manage.py", *command], cwd=ROOT, env=env, check=True)

    try:
        manage("migrate", "-v", "0")
        manage("seed_demo", "--customers", str(args.customers), "--truth-file", str(truth))
        manage("export_identities", str(work / "before.csv"))
        before = accuracy(work / "before.csv", truth)
        print(
            f"seeded, before matching: precision {before[0]:.4f}, recall {before[1]:.4f} "
            f"({before[2]} predicted / {before[3]} true pairs)",
            flush=True,
        )
        with (work / "worker.log").open("wb") as log:
            worker = subprocess.Popen(
                [
                    PYTHON,
                    "-m",
                    "celery",
                    "-A",
                    "customer360",
                    "worker",
                    "--pool=prefork",
                    "--concurrency=2",
                    "--loglevel=WARNING",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        started = time.perf_counter()
        manage("resolve_identities", "--full", "--wait", "--no-progress", "--timeout", "7200")
        # Auto-merges run as tasks of their own after the batches: wait for the queue to drain.
        queue = work / "broker" / "queue"
        while queue.exists() and any(queue.iterdir()):
            time.sleep(1)
        time.sleep(5)
        elapsed = time.perf_counter() - started
        manage("export_identities", str(work / "after.csv"))
        after = accuracy(work / "after.csv", truth)
        f1 = 2 * after[0] * after[1] / (after[0] + after[1]) if after[0] + after[1] else 0.0
        print(
            f"after resolve_identities --full ({elapsed:.0f} s): precision {after[0]:.4f}, "
            f"recall {after[1]:.4f}, F1 {f1:.4f} ({after[2]} predicted / {after[3]} true pairs)",
            flush=True,
        )
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
