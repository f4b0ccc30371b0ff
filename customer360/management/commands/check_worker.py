"""python manage.py check_worker: prove that a Celery worker is running tasks.

Enqueues ``worker_heartbeat`` with a fresh token and waits for the row the
task writes. Used by ``bin/demo`` before it says the demo is ready, and by
operators after a deploy. Exits non-zero when no worker ran the task in time.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from kombu.exceptions import OperationalError
from kombu.utils.url import maybe_sanitize_url

from customer360.celery import app
from customer360.models import WorkerHeartbeat
from customer360.tasks import worker_heartbeat

POLL_SECONDS = 0.25


def describe_broker() -> str:
    """The broker URL without its password; the folder for the file-system broker."""
    url = str(app.conf.broker_url)
    if url.startswith("filesystem://"):
        folder = (app.conf.broker_transport_options or {}).get("data_folder_in", "?")
        return f"{url} in {folder}"
    return str(maybe_sanitize_url(url))


class Command(BaseCommand):
    help = "Enqueue a heartbeat task and wait until a Celery worker has run it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--timeout",
            type=float,
            default=30.0,
            help="Seconds to wait for a worker to run the task (default 30).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        timeout: float = options["timeout"]
        if timeout <= 0:
            raise CommandError("--timeout must be positive")
        token = uuid.uuid4().hex
        broker = describe_broker()
        try:
            # The message expires with the wait, so a worker started hours
            # later does not run a heartbeat nobody is waiting for.
            worker_heartbeat.apply_async(args=(token,), expires=timeout)
        except OperationalError as exc:
            raise CommandError(f"cannot reach the Celery broker {broker}: {exc}") from exc

        started = time.monotonic()
        deadline = started + timeout
        while time.monotonic() < deadline:
            beat = WorkerHeartbeat.objects.filter(token=token).first()
            if beat is not None:
                elapsed = time.monotonic() - started
                self.stdout.write(
                    self.style.SUCCESS(
                        f"worker {beat.hostname} ran the heartbeat task in {elapsed:.1f}s"
                    )
                )
                return
            time.sleep(POLL_SECONDS)
        raise CommandError(
            f"no Celery worker ran the heartbeat task within {timeout:g}s (broker {broker}). "
            "Start one with: celery -A customer360 worker --pool=solo"
        )
