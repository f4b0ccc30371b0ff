"""``manage.py apply_retention [--dry-run]``: enforce the fields' retention periods."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from consent.choices import RetentionAction
from consent.services import retention_apply
from customer360.choices import ActorChannel
from customer360.services import Actor


class Command(BaseCommand):
    help = (
        "Anonymize values past their field's retention period, or delete the records "
        "where the field definition says delete (or report with --dry-run)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Only report what would be done."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = Actor.system("command:apply_retention", ActorChannel.COMMAND)
        run = retention_apply(actor=actor, dry_run=options["dry_run"])
        verbs = {
            RetentionAction.ANONYMIZE: "would anonymize" if run.dry_run else "anonymized",
            RetentionAction.DELETE: "would delete" if run.dry_run else "deleted",
        }
        totals = dict.fromkeys(verbs, 0)
        for item in run.report:
            action = RetentionAction(item["action"])
            totals[action] += item["count"]
            self.stdout.write(
                f"{item['field']} in {item['model']}: {verbs[action]} {item['count']}"
            )
        summary = f"{verbs[RetentionAction.ANONYMIZE]} {totals[RetentionAction.ANONYMIZE]} values"
        if totals[RetentionAction.DELETE]:
            summary += f", {verbs[RetentionAction.DELETE]} {totals[RetentionAction.DELETE]} records"
        self.stdout.write(f"Retention run {run.pk}: {summary} in total.")
