"""``manage.py check_campaign --silo CODE FILE [--output OUT.csv]``.

Checks a silo's planned contact list against consent and the contact rules
(``profiles.insights.arbitration.campaign_check``) without writing anything,
and prints one row per contact: allowed or blocked, with the reasons. A bad
file exits non-zero naming the file, the line and the field.
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance.models import Silo
from profiles.insights.arbitration import campaign_check
from profiles.insights.campaign import CampaignFileError, campaign_contacts_read


class Command(BaseCommand):
    help = "Check a campaign's contact list (CSV) against consent and the contact rules."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--silo", required=True, help="Code of the silo sending it.")
        parser.add_argument("--output", type=Path, help="Write the verdicts here (CSV).")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        silo = Silo.objects.filter(code=options["silo"], is_active=True).first()
        if silo is None:
            raise CommandError(f"unknown or inactive silo '{options['silo']}'")
        try:
            contacts = campaign_contacts_read(path)
        except CampaignFileError as error:
            raise CommandError(str(error)) from error
        started = time.perf_counter()
        try:
            verdicts = campaign_check(silo=silo, contacts=contacts)
        except ValidationError as error:
            raise CommandError(f"{path.name}, " + "; ".join(error.messages)) from error
        elapsed = time.perf_counter() - started

        out = options.get("output")
        handle = out.open("w", newline="", encoding="utf-8") if out else None
        try:
            writer = csv.writer(handle or self.stdout)
            writer.writerow(["line", "customer_number", "verdict", "codes", "reasons"])
            for verdict in verdicts:
                writer.writerow(
                    [
                        verdict.contact.line,
                        verdict.contact.customer_number,
                        "allowed" if verdict.allowed else "blocked",
                        " ".join(r.code for r in verdict.reasons),
                        " | ".join(r.message for r in verdict.reasons),
                    ]
                )
        finally:
            if handle is not None:
                handle.close()
        allowed = sum(1 for v in verdicts if v.allowed)
        sys.stderr.write(
            f"{len(verdicts)} contacts: {allowed} allowed, {len(verdicts) - allowed} blocked "
            f"({elapsed:.2f} s).\n"
        )
