"""Identity resolution with real Celery workers: two at once on overlapping records,
``import_records --wait`` and ``resolve_identities --wait``.

Runs on whatever ``DATABASE_URL`` names: PostgreSQL in CI (advisory locks per
block, row locks, deadlocks retried), SQLite locally (IMMEDIATE transactions
serialize the two workers; "database is locked" is retried the same way).
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import time
import types
import uuid
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.core.management import call_command
from django.db import OperationalError, connection
from django.db.utils import DatabaseErrorWrapper

from customer360.celery import app as celery_app
from customer360.choices import ActorChannel
from customer360.models import WorkerHeartbeat
from customer360.services import Actor
from customer360.tasks import TRANSIENT, worker_heartbeat
from governance.models import FieldDefinition, SourceSystem
from profiles.identity.choices import RunStatus
from profiles.identity.runs import resolution_run_start
from profiles.models import Customer, ResolutionRun, SourceRecord
from profiles.tasks import resolution_batch_task, source_records_match
from tests.customer360.conftest import (
    WORKER_START_TIMEOUT,
    WorkerProcess,
    celery_broker,
    database_url,
    filesystem_broker_options,
    log_tail,
    wait_for_heartbeat,
)
from tests.factories import SourceRecordFactory

PERSONS = 12
VARIANTS = 3


@pytest.fixture
def two_workers(
    transactional_db: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[WorkerProcess]]:
    """Two workers on the test database and one broker: two processes (Redis),
    or two threads of one process (the file-system broker, see below).

    Each also listens on a queue of its own, so a heartbeat sent there proves
    that this very worker runs tasks before the test starts. Started afresh
    for every test: a transactional test's flush recreates content types under
    new ids, which a worker that outlived it would still have cached.
    """
    workdir = tmp_path_factory.mktemp("two-workers")
    broker_url = str(celery_app.conf.broker_url)
    env = {
        **os.environ,
        "CUSTOMER360_TESTING": "true",
        "DATABASE_URL": database_url(connection.settings_dict),
        "CELERY_BROKER_URL": broker_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "PYTHONUNBUFFERED": "1",
    }
    # kombu's file-system broker is not safe for two consuming processes (one
    # reads a message file the other is removing): there, one process runs two
    # worker threads, each with its own database connection, instead.
    processes, pool = 2, ["--pool=solo"]
    if broker_url.startswith("filesystem://"):
        transport_options = filesystem_broker_options(workdir / "broker")
        env["CELERY_DATA_DIR"] = str(workdir / "broker")
        processes, pool = 1, ["--pool=threads", "--concurrency=2"]
    else:
        transport_options = dict(celery_app.conf.broker_transport_options or {})
    workers: list[WorkerProcess] = []
    with celery_broker(broker_url, transport_options):
        try:
            for index in range(processes):
                log_path = workdir / f"worker{index}.log"
                queue = f"identity-{uuid.uuid4().hex[:8]}"
                with log_path.open("wb") as log:
                    proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                        [
                            sys.executable,
                            "-m",
                            "celery",
                            "-A",
                            "customer360",
                            "worker",
                            *pool,
                            f"--queues=celery,{queue}",
                            "--without-heartbeat",
                            "--without-gossip",
                            "--without-mingle",
                            "--loglevel=INFO",
                            f"--hostname=identity{index}-{uuid.uuid4().hex[:6]}@%h",
                        ],
                        cwd=settings.BASE_DIR,
                        env=env,
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                workers.append(WorkerProcess(proc=proc, log_path=log_path, env=env))
                token = f"ready-{uuid.uuid4().hex}"
                with django_db_blocker.unblock():
                    worker_heartbeat.apply_async(args=[token], queue=queue)
                    ready = wait_for_heartbeat(token, WORKER_START_TIMEOUT, proc)
                    WorkerHeartbeat.objects.filter(token=token).delete()
                if not ready:
                    pytest.fail(
                        f"worker {index} did not start (broker {broker_url}).\n"
                        f"{log_tail(log_path)}",
                        pytrace=False,
                    )
            yield workers
        finally:
            for worker in workers:
                worker.proc.terminate()
            for worker in workers:
                try:
                    worker.proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    worker.proc.kill()
                    worker.proc.wait(timeout=5)


def person(n: int, variant: int) -> dict[str, str]:
    """Three spellings of one person; all share the e-mail block, so no merge is needed."""
    given = ["Robert", "Bob", "Rob"][variant] if n % 2 else ["Elizabeth", "Liz", "Beth"][variant]
    return {
        "given_name": given,
        "family_name": f"Concurrent{n:02d}son",
        "date_of_birth": f"19{60 + n:02d}-04-1{variant}"
        if variant == 2
        else f"19{60 + n:02d}-04-10",
        "email": f"p{n}@example.org",
        "postcode": f"{2000 + n}CD",
        "phone": "" if variant else f"+3161234{n:04d}",
    }


def wait_until(condition: Any, timeout: float, workers: list[WorkerProcess]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        for worker in workers:
            assert worker.proc.poll() is None, log_tail(worker.log_path)
        time.sleep(0.3)
    logs = "\n".join(log_tail(w.log_path) for w in workers)
    pytest.fail(f"timed out after {timeout:g}s; worker logs:\n{logs}", pytrace=False)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_two_workers_resolve_overlapping_records_without_duplicates(
    two_workers: list[WorkerProcess],
) -> None:
    # Variant-major order: every batch holds spellings of people another batch also holds.
    records = [
        SourceRecordFactory(customer=None, normalized=person(n, variant))
        for variant in range(VARIANTS)
        for n in range(PERSONS)
    ]
    ids = [r.pk for r in records]
    actor = Actor.system("test:concurrency", ActorChannel.TASK)
    run = resolution_run_start(full=False, actor=actor, reason="Concurrency", batch_size=4)
    # The same records also arrive "on their own", in the opposite order, at the same time.
    for start in range(0, len(ids), 6):
        source_records_match.delay(record_ids=list(reversed(ids))[start : start + 6])

    wait_until(
        lambda: ResolutionRun.objects.get(pk=run.pk).status != RunStatus.RUNNING,
        180,
        two_workers,
    )
    run.refresh_from_db()
    assert run.status == RunStatus.DONE
    assert (run.batches_done, run.records_done) == (run.batches_total, len(ids))
    # Nothing lost, nothing duplicated: one customer per person, every record on it.
    assert SourceRecord.objects.filter(pk__in=ids).count() == len(ids)
    assert not SourceRecord.objects.filter(customer__isnull=True).exists()
    assert Customer.objects.count() == PERSONS
    for n in range(PERSONS):
        owners = set(
            SourceRecord.objects.filter(normalized__email=f"p{n}@example.org").values_list(
                "customer_id", flat=True
            )
        )
        assert len(owners) == 1, (n, owners)
    # Every worker process took a share of the batches.
    for worker in two_workers:
        assert "profiles.resolution_batch" in worker.log_path.read_text(errors="replace")
    # Re-running changes nothing: every record is resolved, the run has no batch.
    again = resolution_run_start(full=False, actor=actor, reason="Again", batch_size=4)
    assert (again.status, again.batches_total) == (RunStatus.DONE, 0)
    assert Customer.objects.count() == PERSONS


@pytest.fixture
def fields_decided(transactional_db: None, fields_decided: list[str]) -> list[str]:
    """The baseline vocabulary, installed again when a transactional test flushed it."""
    return fields_decided


@pytest.fixture
def transactional_db(transactional_db: None) -> None:
    # A transactional test empties every table afterwards, including the rows
    # migration governance.0002 installed; put them back for the next one.
    if not FieldDefinition.objects.exists():
        vocabulary = importlib.import_module("governance.migrations.0002_baseline_vocabulary")
        vocabulary.install(django_apps, None)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_import_records_wait_returns_once_matching_is_done(
    two_workers: list[WorkerProcess], crm: SourceSystem, tmp_path: Path
) -> None:
    path = tmp_path / "crm.csv"
    lines = ["customer_id,first_name,last_name,birth_date,email,mobile,street,zip,city"]
    for n in range(30):
        lines.append(
            f"C{n:03d},{['Ada', 'Grace', 'Alan'][n % 3]},Wait{n:02d}er,{1 + n % 28:02d}/"
            f"{1 + n % 12:02d}/19{50 + n},w{n}@example.org,06123{n:05d},{n} Mill Lane,"
            f"{1000 + 37 * n}AB,Delft"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = StringIO()
    call_command(
        "import_records", str(path), "--system", "crm", "--wait", "--no-progress",
        "--timeout", "180", stdout=out,
    )  # fmt: skip
    # On return, and not a moment later, every imported record is matched.
    assert SourceRecord.objects.filter(source_system=crm).count() == 30
    assert not SourceRecord.objects.filter(resolved_at__isnull=True).exists()
    assert Customer.objects.count() == 30
    assert "matching finished for 30 record(s)" in out.getvalue()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_resolve_identities_wait_follows_the_workers(two_workers: list[WorkerProcess]) -> None:
    for n in range(10):
        SourceRecordFactory(customer=None, normalized=person(n, 0))
    out = StringIO()
    call_command(
        "resolve_identities", "--wait", "--batch-size", "3", "--no-progress", "--timeout", "180",
        stdout=out,
    )  # fmt: skip
    run = ResolutionRun.objects.get()
    assert run.status == RunStatus.DONE and run.batches_done == run.batches_total == 4
    assert f"run {run.pk} done" in out.getvalue()
    assert Customer.objects.count() == 10


def test_deadlocks_and_serialization_failures_are_retried() -> None:
    """psycopg's deadlock and serialization errors reach tasks as OperationalError,
    which every identity task retries with backoff."""
    fake_connection = types.SimpleNamespace(Database=psycopg, errors_occurred=False)
    for error in (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure):
        with pytest.raises(OperationalError), DatabaseErrorWrapper(fake_connection):  # type: ignore[arg-type]
            raise error("conflict")
    for task in (source_records_match, resolution_batch_task):
        assert task.autoretry_for == TRANSIENT == (OperationalError,)
        assert task.retry_backoff and task.max_retries
