"""``manage.py import_records --system CODE FILE [--wait]``.

Imports a CSV or JSON Lines file of one source system through
``source_records_import`` (see ``profiles.identity.ingest``): a refused file
exits non-zero with a message naming file, line and field, and nothing is
imported; rows with invalid values are quarantined and listed in the report.
``--wait`` returns once matching has resolved every record the file created
or changed.
"""

from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from customer360.management import command_actor
from profiles.identity.ingest import ImportRefused
from profiles.models import ImportRun, QuarantinedRow, SourceRecord
from profiles.services import source_records_import_file

REPORT_ROWS = 50


class Command(BaseCommand):
    help = "Import source records from a CSV or JSON Lines file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--system", required=True, help="Source system code.")
        parser.add_argument("--user", help="Username acting (default: the command).")
        parser.add_argument("--reason", default="Records imported from a file")
        parser.add_argument("--wait", action="store_true", help="Wait until matched.")
        parser.add_argument("--timeout", type=float, default=3600.0, help="--wait limit, s.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: object, **options: object) -> None:
        path = options["file"]
        assert isinstance(path, Path)
        actor = command_actor(
            label="command:import_records", username=str(options.get("user") or "")
        )
        quiet = bool(options["no_progress"])
        bar: tqdm | None = None

        def start(total: int) -> None:
            nonlocal bar
            bar = tqdm(total=total, unit="row", disable=quiet, file=self.stderr)

        def progress(count: int) -> None:
            if bar is not None:
                bar.update(count)

        try:
            run = source_records_import_file(
                path=path,
                system_code=str(options["system"]),
                actor=actor,
                reason=str(options["reason"]),
                on_start=start,
                on_progress=progress,
            )
        except ImportRefused as error:
            raise CommandError(f"refused, nothing imported: {error}") from None
        finally:
            if bar is not None:
                bar.close()
        self._report(run)
        if options["wait"]:
            self._wait(run, float(options["timeout"]), quiet)

    def _report(self, run: ImportRun) -> None:
        self.stdout.write(f"{run.file_name}: {run.message}")
        rows = QuarantinedRow.objects.filter(import_run=run).order_by("row_number")
        for row in rows[:REPORT_ROWS]:
            self.stdout.write(f"  line {row.row_number}, {row.field}: {row.reason}")
        if run.rows_quarantined > REPORT_ROWS:
            self.stdout.write(
                f"  ... and {run.rows_quarantined - REPORT_ROWS} more (import {run.pk})"
            )

    def _wait(self, run: ImportRun, timeout: float, quiet: bool) -> None:
        pending = SourceRecord.objects.filter(import_run=run, resolved_at__isnull=True)
        total = pending.count()
        deadline = time.monotonic() + timeout
        with tqdm(
            total=total, unit="record", desc="matching", disable=quiet, file=self.stderr
        ) as bar:
            left = total
            while left:
                if time.monotonic() > deadline:
                    raise CommandError(
                        f"{left} record(s) still waiting for matching after {timeout:g}s"
                    )
                time.sleep(0.5)
                now_left = pending.count()
                bar.update(left - now_left)
                left = now_left
        self.stdout.write(f"matching finished for {total} record(s)")
