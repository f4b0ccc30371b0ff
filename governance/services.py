"""Write services of the governance app."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q

from .roles import ROLE_PERMISSIONS, group_name


@transaction.atomic
def roles_sync() -> dict[str, Group]:
    """Create the role groups and give each exactly its listed permissions.

    Idempotent; run by ``seed_demo`` and by deployments after ``migrate``
    (``python manage.py sync_roles``). Fails loudly when a listed permission
    does not exist, so a renamed model cannot silently drop a right.
    """
    groups: dict[str, Group] = {}
    for role, wanted in ROLE_PERMISSIONS.items():
        query = Q()
        for name in wanted:
            app_label, codename = name.split(".")
            query |= Q(content_type__app_label=app_label, codename=codename)
        permissions = list(Permission.objects.filter(query))
        found = {f"{p.content_type.app_label}.{p.codename}" for p in permissions}
        missing = sorted(set(wanted) - found)
        if missing:
            raise LookupError(f"role {role}: unknown permissions {', '.join(missing)}")
        group, _ = Group.objects.get_or_create(name=group_name(role))
        group.permissions.set(permissions)
        groups[role] = group
    return groups
