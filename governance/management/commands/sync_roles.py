"""python manage.py sync_roles: create role groups with their permissions, and bring
data stewards' object permissions on their silos' drafts in line with their memberships."""

from django.core.management.base import BaseCommand

from governance.services import roles_sync, steward_permissions_sync_all


class Command(BaseCommand):
    help = (
        "Create or update the role groups (agent, data steward, ...) and their permissions; "
        "give data stewards their silos' open drafts and take back those of silos they left."
    )

    def handle(self, *args: object, **options: object) -> None:
        for role, group in roles_sync().items():
            self.stdout.write(f"{role}: group '{group.name}', {group.permissions.count()} perms")
        result = steward_permissions_sync_all()
        self.stdout.write(
            f"data stewards: {result.granted} draft permissions granted, {result.revoked} revoked"
        )
