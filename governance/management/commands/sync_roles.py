"""python manage.py sync_roles: create role groups with their permissions."""

from django.core.management.base import BaseCommand

from governance.services import roles_sync


class Command(BaseCommand):
    help = "Create or update the role groups (agent, data steward, ...) and their permissions."

    def handle(self, *args: object, **options: object) -> None:
        for role, group in roles_sync().items():
            self.stdout.write(f"{role}: group '{group.name}', {group.permissions.count()} perms")
