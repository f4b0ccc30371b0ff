"""Tasks run in a real, separate Celery worker process, and only after commit."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from typing import Any
from unittest import mock

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction

from customer360.models import WorkerHeartbeat
from customer360.services import on_commit_delay
from customer360.tasks import worker_heartbeat

from .conftest import WorkerProcess, database_url, wait_for_heartbeat

pytestmark = pytest.mark.worker

TASK_TIMEOUT = 30.0


class RecordingTask:
    """Stands in for a Celery task: records ``delay`` calls instead of publishing."""

    def __init__(self) -> None:
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def delay(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append((args, kwargs))


@pytest.mark.django_db(transaction=True)
def test_worker_process_runs_the_task_and_writes_the_row(
    celery_worker_process: WorkerProcess,
) -> None:
    token = uuid.uuid4().hex

    worker_heartbeat.delay(token)

    assert wait_for_heartbeat(token, TASK_TIMEOUT), (
        f"the worker did not write the heartbeat; log:\n{celery_worker_process.log_path}"
    )
    beat = WorkerHeartbeat.objects.get(token=token)
    assert beat.hostname
    assert celery_worker_process.pid != os.getpid()
    assert celery_worker_process.proc.poll() is None


def _worker_backends() -> set[int]:
    """The PostgreSQL server processes of other clients of the test database."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        return {pid for (pid,) in cursor.fetchall()}


@pytest.mark.django_db(transaction=True)
def test_the_worker_keeps_its_database_connection_from_task_to_task(
    celery_worker_process: WorkerProcess,
) -> None:
    """Celery's Django fix-up closed every connection after each task, so each
    task started a new PostgreSQL server process; the worker now keeps its
    connection for the next task (``CELERY_DB_REUSE_MAX``, with Django's own
    ``CONN_MAX_AGE`` and health checks applied around each task). SQLite
    connections are not kept (``CONN_MAX_AGE`` 0): nothing to observe there
    but the tasks running."""
    seen: list[set[int]] = []
    for _ in range(3):
        token = uuid.uuid4().hex
        worker_heartbeat.delay(token)
        assert wait_for_heartbeat(token, TASK_TIMEOUT), "the worker did not run the task"
        if connection.vendor == "postgresql":
            time.sleep(0.5)  # the task's own end (task_postrun) has run by now
            seen.append(_worker_backends())
    if connection.vendor == "postgresql":
        assert len(seen[0]) == 1, f"the worker's connection after its task: {seen[0]}"
        assert seen[0] == seen[1] == seen[2]


@pytest.mark.django_db
def test_on_commit_delay_waits_for_the_commit(django_capture_on_commit_callbacks: Any) -> None:
    task = RecordingTask()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        on_commit_delay(task, 42, reason="test")
        assert task.calls == [], "enqueued while the transaction was still open"

    assert len(callbacks) == 1
    assert task.calls == [((42,), {"reason": "test"})]


@pytest.mark.django_db(transaction=True)
def test_on_commit_delay_never_enqueues_a_rolled_back_transaction() -> None:
    task = RecordingTask()

    with pytest.raises(RuntimeError), transaction.atomic():
        on_commit_delay(task, 1)
        raise RuntimeError("roll back")

    assert task.calls == []


@pytest.mark.django_db(transaction=True)
def test_on_commit_delay_enqueues_after_commit_and_the_worker_runs_it(
    celery_worker_process: WorkerProcess,
) -> None:
    token = uuid.uuid4().hex

    with mock.patch.object(worker_heartbeat, "delay", wraps=worker_heartbeat.delay) as delay:
        with transaction.atomic():
            on_commit_delay(worker_heartbeat, token)
            assert not delay.called, "enqueued while the transaction was still open"
        delay.assert_called_once_with(token)

    assert wait_for_heartbeat(token, TASK_TIMEOUT)


@pytest.mark.django_db(transaction=True)
def test_check_worker_succeeds_when_a_worker_runs(
    celery_worker_process: WorkerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("check_worker", "--timeout", str(TASK_TIMEOUT))

    assert "ran the heartbeat task" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_check_worker_fails_fast_without_a_worker(tmp_path: Any) -> None:
    # Same database, but an empty file-system broker no worker consumes from.
    env = {
        **os.environ,
        "CUSTOMER360_TESTING": "true",
        "DATABASE_URL": database_url(connection.settings_dict),
        "CELERY_BROKER_URL": "filesystem://",
        "CELERY_DATA_DIR": str(tmp_path / "no-worker-broker"),
    }
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "manage.py", "check_worker", "--timeout", "2", "--skip-checks"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    elapsed = time.monotonic() - started

    assert result.returncode != 0
    assert "no Celery worker ran the heartbeat task within 2s" in result.stderr
    assert elapsed < 20, f"check_worker took {elapsed:.1f}s to give up"
