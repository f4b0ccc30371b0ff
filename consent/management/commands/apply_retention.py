"""``manage.py apply_retention [--dry-run]``: enforce the fields' retention periods."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from consent.services import retention_apply
from customer360.choices import ActorChannel
from customer360.services import Actor


class Command(BaseCommand):
    help = "Anonymize values past their field's retention period (or report with --dry-run)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Only report what would be anonymized."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = Actor.system("command:apply_retention", ActorChannel.COMMAND)
        run = retention_apply(actor=actor, dry_run=options["dry_run"])
        verb = "would anonymize" if run.dry_run else "anonymized"
        for item in run.report:
            self.stdout.write(f"{item['field']} in {item['model']}: {verb} {item['count']}")
        total = sum(item["count"] for item in run.report)
        self.stdout.write(f"Retention run {run.pk}: {verb} {total} values in total.")
