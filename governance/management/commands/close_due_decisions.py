"""python manage.py close_due_decisions: decide votes past their deadline."""

from django.core.management.base import BaseCommand

from governance.services import decisions_close_due


class Command(BaseCommand):
    help = "Decide every data-collection decision whose voting deadline has passed."

    def handle(self, *args: object, **options: object) -> None:
        closed = decisions_close_due()
        self.stdout.write(f"{closed} decision(s) decided")
