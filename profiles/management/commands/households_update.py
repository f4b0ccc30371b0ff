"""``manage.py households_update [--reason TEXT]``.

Groups customers into households by the governed rules (same normalized
address and family name, shared phone) through
``profiles.identity.households.households_update``: idempotent, audited
(``households.updated``), refused while another householding run is running.
The same work runs as the Celery task ``profiles.households_update``.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from customer360.choices import ActorChannel
from customer360.services import Actor
from profiles.identity.households import households_update
from profiles.identity.runs import RunRefused


class Command(BaseCommand):
    help = "Update households from the governed householding rules."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reason", default="Households updated")

    def handle(self, *args: object, **options: object) -> None:
        actor = Actor.system("command:households_update", ActorChannel.COMMAND)
        try:
            run = households_update(actor=actor, reason=str(options["reason"]))
        except RunRefused as error:
            raise CommandError(f"refused: {' '.join(error.messages)}") from None
        self.stdout.write(f"run {run.pk}: {run.message}")
