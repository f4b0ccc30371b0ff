"""Identity resolution end to end on PostgreSQL: import, resolve, memory, latency, accuracy.

On a throw-away database of its own (``c360_idb_bench_<pid>``, never ``c360_1m``):

1. migrates it, decides the baseline fields and declares a source system
   ``bench`` from a TOML declaration (mappings approved by an administrator),
   as ``load_source --approve`` does;
2. writes N synthetic rows to a CSV: people with one record each and, for a
   quarter of them, a second spelling (nickname, typo in the family name, no
   phone, a different e-mail), shuffled;
3. starts a real ``celery worker`` with W prefork processes on a private
   file-system broker, then runs ``manage.py import_records --system bench
   FILE``: each imported batch enqueues its on-arrival matching task
   (``profiles.source_records_match``, the set-based batch path) after its
   commit, so the worker resolves while the import goes on. Reported: the
   import's wall time, the time until every record is resolved, records/s.
   With ``--run`` the import runs alone (its tasks are dropped), then the
   worker starts and ``resolve_identities --wait`` resolves everything;
4. reads every worker process's peak resident memory (VmHWM);
5. pairwise precision/recall of the result (``manage.py export_identities``)
   against the synthetic truth;
6. times ``source_record_match`` of P more records, one at a time, against the
   resolved database (p50/p95/max in ms);
7. with ``--splink``, runs Splink 5 (DuckDB, ``bench/_splink.py``) on the same
   rows in the same run: its time and precision/recall/F1;
8. drops the database (unless ``--keep``).

    .venv/bin/python bench/identity_throughput.py --records 20000
    .venv/bin/python bench/identity_throughput.py --records 100000 --workers 2 --splink

Needs ``createdb``/``dropdb`` reaching postgres@127.0.0.1:5432.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from _worker import celery_worker

# No heartbeats, gossip or mingle: one worker, nothing to talk to.
WORKER_QUIET = ["--without-heartbeat", "--without-gossip", "--without-mingle",
                "--hostname=identity-bench@%h"]  # fmt: skip

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
        "phone": f"+316{rng.randint(10_000_000, 58_999_999)}",
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


COLUMNS = ("given_name", "family_name", "date_of_birth", "email", "phone", "address_line1",
           "postcode", "locality")  # fmt: skip
DECLARATION = """
[system]
code = "bench"
name = "Benchmark source"
silo = "bench"
key_label = "Key"
key_column = "source_key"
trust_rank = 10
""" + "".join(f'\n[[mappings]]\ncolumn = "{c}"\nfield = "{c}"\n' for c in COLUMNS)


def synthetic(count: int, seed: int) -> tuple[list[str], list[int]]:
    """CSV lines (shuffled) and, per key number, the person it belongs to: about
    80% first records, 20% second spellings. Lines keep memory small at 1M."""
    rng = random.Random(seed)
    lines: list[str] = []
    owner: list[int] = []
    n = 0
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="")

    def add(values: dict[str, str]) -> None:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([f"S{len(owner):08d}", *(values[c] for c in COLUMNS)])
        lines.append(buffer.getvalue())
        owner.append(n)

    while len(owner) < count:
        values = person(rng, n)
        add(values)
        if rng.random() < 0.25 and len(owner) < count:
            add(variant(rng, values))
        n += 1
    rng.shuffle(lines)
    return lines, owner


def as_values(line: str) -> dict[str, str]:
    key, *cells = next(csv.reader([line]))
    return {"key": key, **dict(zip(COLUMNS, cells, strict=True))}


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def declare_source(workdir: Path) -> None:
    """The baseline fields decided and the ``bench`` source declared and approved."""
    from django.contrib.auth.models import User
    from django.utils import timezone

    from customer360.choices import ActorChannel
    from customer360.services import Actor
    from governance.choices import DecisionStatus, GovernanceStatus
    from governance.models import FieldDefinition
    from profiles.identity.sources import source_declaration_load, source_declaration_parse
    from tests.factories import DataCollectionDecisionFactory, SiloFactory

    for definition in FieldDefinition.objects.filter(status=GovernanceStatus.APPROVED):
        DataCollectionDecisionFactory(
            field_definition=definition, status=DecisionStatus.APPROVED, decided_at=timezone.now()
        )
    SiloFactory(code="bench")
    admin = User.objects.create_superuser("bench-admin", "bench@example.org", "x")
    actor = Actor(user=admin, channel=ActorChannel.COMMAND)
    path = workdir / "bench.toml"
    path.write_text(DECLARATION, encoding="utf-8")
    source_declaration_load(
        declaration=source_declaration_parse(path),
        actor=actor,
        reason="Benchmark source",
        approver=actor,
    )


TICK = os.sysconf("SC_CLK_TCK")


def cpu_snapshot() -> tuple[float, float, dict[str, float]]:
    """Busy and idle CPU seconds of the machine so far (/proc/stat), and the CPU
    seconds of the live PostgreSQL and Celery processes (/proc/PID/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = (fields[3] + fields[4]) / TICK
    busy = (sum(fields[:8]) - fields[3] - fields[4]) / TICK
    groups: dict[str, float] = defaultdict(float)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        comm, rest = text[text.index("(") + 1 :].split(")", 1)
        ticks = rest.split()
        seconds = (int(ticks[11]) + int(ticks[12])) / TICK
        if comm.startswith("postgres") or b"postgres:" in cmdline[:20]:
            groups["PostgreSQL"] += seconds
        elif b"celery" in cmdline:
            groups["worker"] += seconds
    return busy, idle, groups


def cpu_report(before: tuple[float, float, dict[str, float]], children: float, n: int) -> str:
    """Where the machine's CPU went between ``before`` and now, per record."""
    busy, idle, groups = cpu_snapshot()
    used = busy - before[0]
    spent = {g: groups[g] - before[2].get(g, 0.0) for g in ("PostgreSQL", "worker")}
    spent["import"] = children
    spent["other"] = used - sum(spent.values())
    share = used / (used + idle - before[1])
    return (
        f"CPU busy {share:.0%} of {os.cpu_count()} cores; per record {used / n * 1000:.2f} ms: "
        + ", ".join(f"{g} {v / n * 1000:.2f}" for g, v in spent.items())
    )


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f}/{five:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--probe", type=int, default=300, help="Records timed one by one.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--splink", action="store_true", help="Splink on the same rows too.")
    parser.add_argument("--timeout", type=float, default=7200.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--run",
        action="store_true",
        help="Import with no worker, then resolve_identities --wait (instead of on arrival).",
    )
    parser.add_argument("--batch-size", type=int, default=1000, help="With --run.")
    parser.add_argument(
        "--template", help="Create the database from this migrated one (skips most of migrate)."
    )
    args = parser.parse_args()

    database = f"c360_idb_bench_{os.getpid()}"
    url = f"postgres://{args.user}@{args.host}:5432/{database}"
    workdir = Path(tempfile.mkdtemp(prefix="c360-idb-bench-"))
    env = {**os.environ, "DATABASE_URL": url, "CELERY_BROKER_URL": "filesystem://localhost/",
           "CELERY_DATA_DIR": str(workdir / "broker"), "CUSTOMER360_VAR_DIR": str(workdir),
           "CUSTOMER360_TESTING": "true", "CELERY_TASK_ALWAYS_EAGER": "false"}  # fmt: skip
    template = ["-T", args.template] if args.template else []
    subprocess.run(["createdb", "-h", args.host, "-U", args.user, *template, database], check=True)
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

        declare_source(workdir)
        started = time.perf_counter()
        lines, owner = synthetic(args.records + args.probe, args.seed)
        probe_lines, lines = lines[: args.probe], lines[args.probe :]
        data = workdir / "records.csv"
        with data.open("w", encoding="utf-8") as handle:
            handle.write(",".join(["source_key", *COLUMNS]) + "\n")
            for line in lines:
                handle.write(line + "\n")
        print(f"wrote {len(lines)} rows in {time.perf_counter() - started:.0f} s", flush=True)

        def start_worker() -> None:
            with (workdir / "worker.log").open("ab") as log:
                workers.append(
                    celery_worker(
                        concurrency=args.workers,
                        env=env,
                        log=log,
                        extra=WORKER_QUIET,
                    )
                )
            time.sleep(8)

        if not args.run:
            start_worker()  # matching on arrival, while the import goes on
        load_before = load()
        cpu_before = cpu_snapshot()
        children_before = os.times()
        started = time.perf_counter()
        subprocess.run(
            [PYTHON, "manage.py", "import_records", "--system", "bench", str(data),
             "--no-progress"],
            cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        imported = time.perf_counter() - started
        load_import = load()
        if args.run:
            # The import's on-arrival tasks are dropped; one resolution run does the work.
            for message in (workdir / "broker" / "queue").glob("*"):
                message.unlink()
            start_worker()
            started_run = time.perf_counter()
            subprocess.run(
                [PYTHON, "manage.py", "resolve_identities", "--wait", "--no-progress",
                 "--batch-size", str(args.batch_size), "--timeout", str(args.timeout)],
                cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
            total = imported + time.perf_counter() - started_run
        else:
            pending = SourceRecord.objects.filter(resolved_at__isnull=True)
            deadline = time.monotonic() + args.timeout
            while pending.exists():
                if time.monotonic() > deadline:
                    raise SystemExit(f"{pending.count()} records unresolved after the timeout")
                time.sleep(1)
            total = time.perf_counter() - started
        load_after = load()
        now_times = os.times()
        cpu = cpu_report(
            cpu_before,
            now_times.children_user + now_times.children_system
            - children_before.children_user - children_before.children_system,
            len(lines),
        )  # fmt: skip
        pids = [w.pid for w in workers]
        for w in workers:
            children = Path(f"/proc/{w.pid}/task/{w.pid}/children").read_text().split()
            pids += [int(c) for c in children]
        rss = [peak_rss_kib(pid) for pid in pids]
        print(
            f"import_records of {len(lines)} rows: {imported:.1f} s "
            f"({len(lines) / imported:.0f} rows/s); every record resolved after {total:.1f} s "
            f"(import + {total - imported:.1f} s"
            f"{' of resolve_identities --wait' if args.run else ', matching on arrival'}): "
            f"{len(lines) / total:.0f} records/s end to end "
            f"with {args.workers} worker process(es); load {load_before} -> {load_import} -> "
            f"{load_after}; worker peak RSS {max(rss) / 1024:.0f} MiB "
            f"(per process: {', '.join(f'{r / 1024:.0f}' for r in rss)} MiB); {cpu}",
            flush=True,
        )
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=60)
        workers.clear()

        from _splink import cluster_pairs, scores

        export = workdir / "identities.csv"
        subprocess.run(
            [PYTHON, "manage.py", "export_identities", str(export)], cwd=ROOT, env=env, check=True
        )
        by_customer: dict[str, list[str]] = defaultdict(list)
        with export.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                by_customer[row["customer_number"]].append(row["source_key"])
        keys = [as_values(line)["key"] for line in lines]
        by_person: dict[int, list[str]] = defaultdict(list)
        for key in keys:
            by_person[owner[int(key[1:])]].append(key)
        truth = cluster_pairs(by_person.values())
        ours = scores(cluster_pairs(by_customer.values()), truth)
        print(
            f"ours: precision {ours['precision']:.4f}, recall {ours['recall']:.4f}, "
            f"F1 {ours['f1']:.4f} ({len(truth)} true pairs, {ours['pairs']} predicted); "
            f"{len(by_customer)} customers for {len(by_person)} people",
            flush=True,
        )

        from governance.models import SourceSystem
        from profiles.identity.matching import source_record_match
        from profiles.identity.normalize import validate_canonical
        from profiles.models import Customer

        system = SourceSystem.objects.get(code="bench")
        timings = []
        for line in probe_lines:
            values = as_values(line)
            key = values.pop("key")
            raw = {c: v for c, v in values.items() if v}
            normalized, _problems = validate_canonical(raw)
            record = SourceRecord.objects.create(
                source_system=system, source_key=key, raw=raw, normalized=normalized,
                payload_hash=key,
            )  # fmt: skip
            started = time.perf_counter()
            source_record_match(record_id=record.pk)
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        p95 = timings[max(int(len(timings) * 0.95) - 1, 0)]
        print(
            f"single-record match against {Customer.objects.count()} customers "
            f"({len(lines)} records): p50 {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms, "
            f"max {timings[-1]:.1f} ms ({len(timings)} records); load {load()}",
            flush=True,
        )
        from django.db import connections

        connections.close_all()

        if args.splink:
            from _splink import splink_clusters

            from profiles.identity.config import DEFAULT_AUTO_MERGE_THRESHOLD

            rows = [as_values(line) for line in lines]
            started = time.perf_counter()
            clusters = splink_clusters(rows, DEFAULT_AUTO_MERGE_THRESHOLD)
            splink_time = time.perf_counter() - started
            theirs = scores(cluster_pairs(clusters), truth)
            print(
                f"splink: {splink_time:.1f} s ({len(rows) / splink_time:.0f} records/s), "
                f"precision {theirs['precision']:.4f}, recall {theirs['recall']:.4f}, "
                f"F1 {theirs['f1']:.4f}; ours end to end / splink = {total / splink_time:.2f}; "
                f"load {load()}",
                flush=True,
            )
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(timeout=60)
        if not args.keep:
            subprocess.run(
                ["dropdb", "-h", args.host, "-U", args.user, "--force", database], check=False
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
