"""``manage.py run_privacy_checks``: run (or resume) the privacy checks now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from consent.services import privacy_checks_run
from customer360.choices import ActorChannel
from customer360.services import Actor


class Command(BaseCommand):
    help = "Run the privacy checks and store a report; resumes an unfinished run."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--new", action="store_true", help="Start a new run instead of resuming one."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = Actor.system("command:run_privacy_checks", ActorChannel.COMMAND)
        run = privacy_checks_run(actor=actor, resume=not options["new"])
        findings = run.findings.order_by("check_code", "subject")
        self.stdout.write(f"Privacy check run {run.pk} as of {run.as_of.isoformat()}: {run.status}")
        for finding in findings:
            self.stdout.write(
                f"  [{finding.severity}] {finding.check_code}: {finding.subject} ({finding.count})"
            )
        self.stdout.write(f"{len(findings)} findings.")
