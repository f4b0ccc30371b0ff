"""Fixtures for tests that need a real Celery worker process.

``celery_worker_process`` starts ``celery -A customer360 worker`` as a separate
process that shares the test database pytest-django created and the broker
the test process publishes to, so a test exercises the same path as
production: commit, publish, a different process consumes and writes.

With the file-system broker (the default) each module gets its own empty
broker folder, so tests never publish into the demo's ``var/celery`` queue
and never see messages from an earlier run. With Redis the worker uses the
same ``CELERY_BROKER_URL`` as the test process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from customer360.celery import app as celery_app
from customer360.models import WorkerHeartbeat
from customer360.tasks import worker_heartbeat

WORKER_START_TIMEOUT = 60.0
LOG_TAIL_LINES = 40


def database_url(settings_dict: dict[str, Any]) -> str:
    """A DATABASE_URL that points a child process at this process' (test) database."""
    engine = settings_dict["ENGINE"]
    name = str(settings_dict["NAME"])
    if engine == "django.db.backends.sqlite3":
        if name == ":memory:" or name.startswith("file:"):
            raise RuntimeError("a worker process cannot share an in-memory SQLite database")
        return f"sqlite:///{Path(name).resolve()}"
    if engine == "django.db.backends.postgresql":
        user = quote(settings_dict.get("USER") or "", safe="")
        password = quote(settings_dict.get("PASSWORD") or "", safe="")
        auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = settings_dict.get("HOST") or "localhost"
        port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
        return f"postgres://{auth}{host}{port}/{quote(name, safe='')}"
    raise RuntimeError(f"no worker support for database engine {engine}")


def filesystem_broker_options(folder: Path) -> dict[str, Any]:
    """Transport options of kombu's file-system broker rooted at ``folder`` (created)."""
    options: dict[str, Any] = {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "control_folder": str(folder / "control"),
        "processed_folder": str(folder / "processed"),
        "store_processed": False,
    }
    for key in ("data_folder_in", "control_folder", "processed_folder"):
        Path(options[key]).mkdir(parents=True, exist_ok=True)
    return options


def _reset_publisher_pools() -> None:
    # Celery caches broker connections; drop them so the next publish opens
    # a connection with the current broker settings.
    celery_app._pool = None  # type: ignore[attr-defined]
    celery_app.amqp._producer_pool = None  # type: ignore[attr-defined]


@contextmanager
def celery_broker(url: str, transport_options: dict[str, Any]) -> Iterator[None]:
    """Point this process' Celery publisher at another broker, then restore it."""
    saved = (celery_app.conf.broker_url, celery_app.conf.broker_transport_options)
    celery_app.conf.update(broker_url=url, broker_transport_options=transport_options)
    _reset_publisher_pools()
    try:
        yield
    finally:
        celery_app.conf.update(broker_url=saved[0], broker_transport_options=saved[1])
        _reset_publisher_pools()


def wait_for_heartbeat(
    token: str, timeout: float, proc: subprocess.Popen[bytes] | None = None
) -> bool:
    """Poll the database until the heartbeat row for ``token`` exists."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if WorkerHeartbeat.objects.filter(token=token).exists():
            return True
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(0.2)
    return False


def log_tail(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no worker log)"
    return "\n".join(lines[-LOG_TAIL_LINES:])


@dataclass
class WorkerProcess:
    """A running worker: its process, its log, and what a child needs to reach the same things."""

    proc: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str]

    @property
    def pid(self) -> int:
        return self.proc.pid


@pytest.fixture(scope="module")
def celery_worker_process(
    django_db_setup: None,
    django_db_blocker: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[WorkerProcess]:
    """A real ``celery worker`` process on the test database and the test broker.

    Tests that use it must be ``@pytest.mark.django_db(transaction=True)``:
    the worker only sees committed rows. Failing to start is a test error,
    never a skip.
    """
    workdir = tmp_path_factory.mktemp("celery-worker")
    log_path = workdir / "worker.log"
    broker_url = str(celery_app.conf.broker_url)

    env = dict(os.environ)
    env.update(
        CUSTOMER360_TESTING="true",
        DATABASE_URL=database_url(connection.settings_dict),
        CELERY_BROKER_URL=broker_url,
        CELERY_TASK_ALWAYS_EAGER="false",
        PYTHONUNBUFFERED="1",
    )
    if broker_url.startswith("filesystem://"):
        broker_dir = workdir / "broker"
        transport_options = filesystem_broker_options(broker_dir)
        env["CELERY_DATA_DIR"] = str(broker_dir)
    else:
        transport_options = dict(celery_app.conf.broker_transport_options or {})

    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "customer360",
        "worker",
        "--pool=solo",
        "--queues=celery",
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
        "--loglevel=INFO",
        f"--hostname=pytest-{uuid.uuid4().hex[:8]}@%h",
    ]
    with celery_broker(broker_url, transport_options), log_path.open("wb") as log:
        proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            command,
            cwd=settings.BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            token = f"ready-{uuid.uuid4().hex}"
            with django_db_blocker.unblock():
                worker_heartbeat.delay(token)
                ready = wait_for_heartbeat(token, WORKER_START_TIMEOUT, proc)
                # Leave the database as the tests expect to find it.
                WorkerHeartbeat.objects.filter(token=token).delete()
            if not ready:
                state = (
                    f"exited with code {proc.returncode}"
                    if proc.poll() is not None
                    else f"did not run a task within {WORKER_START_TIMEOUT:g}s"
                )
                pytest.fail(
                    f"the Celery worker {state} (broker {broker_url}).\n"
                    f"Worker log {log_path}:\n{log_tail(log_path)}",
                    pytrace=False,
                )
            yield WorkerProcess(proc=proc, log_path=log_path, env=env)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
