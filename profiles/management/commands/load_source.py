"""``manage.py load_source FILE.toml [--user NAME] [--approve]``.

Declares a source system and proposes its column mappings to the governance
committee (see ``profiles.identity.sources`` for the file format). With
``--approve`` the user named by ``--user`` (who needs the committee's right to
decide) approves them at once; the approval is audited.
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from customer360.management import command_actor
from profiles.identity.sources import DeclarationError, source_declaration_parse
from profiles.services import source_declaration_load


class Command(BaseCommand):
    help = "Declare a source system and its column mappings from a TOML file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--user", help="Username acting (required with --approve).")
        parser.add_argument(
            "--approve", action="store_true", help="Approve the mappings now, as --user."
        )
        parser.add_argument("--reason", default="Source declared from a file")

    def handle(self, *args: object, **options: object) -> None:
        path = options["file"]
        assert isinstance(path, Path)
        username = options.get("user")
        if options["approve"] and not username:
            raise CommandError("--approve needs --user: approvals are made by a named person")
        actor = command_actor(label="command:load_source", username=str(username or ""))
        try:
            declaration = source_declaration_parse(path)
            result = source_declaration_load(
                declaration=declaration,
                actor=actor,
                reason=str(options["reason"]),
                approver=actor if options["approve"] else None,
            )
        except DeclarationError as error:
            raise CommandError(str(error)) from None
        except ValidationError as error:
            messages = (
                [f"{k}: {'; '.join(v)}" for k, v in error.message_dict.items()]
                if hasattr(error, "error_dict")
                else error.messages
            )
            raise CommandError(f"{path}: " + " | ".join(messages)) from None
        except PermissionDenied as error:
            raise CommandError(f"{path}: {username} may not approve mappings ({error})") from None
        system = result.source_system
        self.stdout.write(
            f"{system.code}: {'created' if result.created else 'updated'}; "
            f"{len(result.proposed)} mapping(s) proposed, {len(result.approved)} approved, "
            f"{len(result.unchanged)} unchanged."
        )
