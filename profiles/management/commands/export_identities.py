"""``manage.py export_identities FILE``: one CSV row per source record.

Columns, exactly and in this order: ``system,source_key,customer_number``.
A merged-away customer's records report the survivor's number. This file is
the stable contract by which matching quality is measured from outside.
"""

from __future__ import annotations

import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser

from profiles.selectors import source_record_identities

COLUMNS = ("system", "source_key", "customer_number")


class Command(BaseCommand):
    help = "Export system, source key and customer number of every source record."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: object, **options: object) -> None:
        path = options["file"]
        assert isinstance(path, Path)
        count = 0
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            for row in source_record_identities():
                writer.writerow(row)
                count += 1
        self.stdout.write(f"{path}: {count} source record(s)")
