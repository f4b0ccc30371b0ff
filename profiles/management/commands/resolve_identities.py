"""``manage.py resolve_identities [--full] [--wait] [--batch-size N]``.

Starts a resolution run (``profiles.identity.runs.resolution_run_start``):
the unresolved source records (every record with ``--full``) are split into
batches and sent as one Celery group, so every running worker takes a share.
Refused, exit status non-zero, while another resolution run is running.
``--wait`` follows the run's progress (batches done / total) until it is done.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from customer360.management import command_actor
from profiles.identity.choices import RunStatus
from profiles.identity.runs import BATCH_SIZE, RunRefused, resolution_run_start
from profiles.models import ResolutionRun

LABEL = "command:resolve_identities"


class Command(BaseCommand):
    help = "Match unresolved (or, with --full, all) source records as a fan-out of Celery tasks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--full", action="store_true", help="Re-resolve every record.")
        parser.add_argument("--wait", action="store_true", help="Follow progress until done.")
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
        parser.add_argument("--timeout", type=float, default=3600.0, help="--wait limit, s.")
        parser.add_argument("--user", help="Username acting (default: the command).")
        parser.add_argument("--reason", default="Identity resolution run")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: object, **options: object) -> None:
        actor = command_actor(label=LABEL, username=str(options.get("user") or ""))
        batch_size = options["batch_size"]
        assert isinstance(batch_size, int)
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        try:
            run = resolution_run_start(
                full=bool(options["full"]),
                actor=actor,
                reason=str(options["reason"]),
                batch_size=batch_size,
            )
        except RunRefused as error:
            raise CommandError(f"refused: {' '.join(error.messages)}") from None
        self.stdout.write(
            f"run {run.pk}: {run.records_total} record(s) in {run.batches_total} batch(es)"
        )
        if options["wait"]:
            run = self._wait(run, float(str(options["timeout"])), bool(options["no_progress"]))
        if run.status == RunStatus.DONE:
            self.stdout.write(f"run {run.pk} done: {run.message}")

    def _wait(self, run: ResolutionRun, timeout: float, quiet: bool) -> ResolutionRun:
        deadline = time.monotonic() + timeout
        with tqdm(
            total=run.batches_total, unit="batch", desc="resolving", disable=quiet, file=self.stderr
        ) as bar:
            done = 0
            while True:
                run.refresh_from_db()
                bar.update(run.batches_done - done)
                done = run.batches_done
                if run.status != RunStatus.RUNNING:
                    break
                if time.monotonic() > deadline:
                    raise CommandError(
                        f"run {run.pk}: {run.batches_total - run.batches_done} batch(es) "
                        f"still running after {timeout:g}s"
                    )
                time.sleep(0.5)
        if run.status == RunStatus.FAILED:
            raise CommandError(f"run {run.pk} failed: {run.message}")
        return run
