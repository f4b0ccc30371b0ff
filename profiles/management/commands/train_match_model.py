"""``manage.py train_match_model [--max-records N] [--reason TEXT]``.

Estimates the Fellegi-Sunter parameters from the current source records by
EM (``profiles.identity.training.match_model_train``) and stores them as the
next ``MatchModel`` version, which matching uses from then on. Audited
(``match_model.trained``).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from customer360.management import command_actor
from profiles.identity.training import MAX_RECORDS, match_model_train

LABEL = "command:train_match_model"


class Command(BaseCommand):
    help = "Train a new match model version (EM) on the current source records."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--max-records", type=int, default=MAX_RECORDS)
        parser.add_argument("--user", help="Username acting (default: the command).")
        parser.add_argument("--reason", default="Match model retrained on current data")

    def handle(self, *args: object, **options: object) -> None:
        actor = command_actor(label=LABEL, username=str(options.get("user") or ""))
        max_records = options["max_records"]
        assert isinstance(max_records, int)
        try:
            model = match_model_train(
                actor=actor, reason=str(options["reason"]), max_records=max_records
            )
        except ValidationError as error:
            raise CommandError(f"refused: {' '.join(error.messages)}") from None
        self.stdout.write(f"match model v{model.version}: {model.notes}")
