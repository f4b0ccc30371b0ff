"""Write services of the governance app."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from customer360.choices import AuditEventType
from customer360.services import Actor, audit_event_record, model_save

from .choices import GovernanceStatus
from .models import FieldDefinition
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


# Fields of a field definition that a new version may change. The canonical
# name is the key that versions share; status, version and approval are set by
# the services below, never by a proposal.
FIELD_DEFINITION_CHANGEABLE: frozenset[str] = frozenset(
    {
        "label",
        "description",
        "examples",
        "data_type",
        "validation_rule",
        "validation_pattern",
        "sensitivity",
        "owning_silo",
        "retention_days",
        "survivorship_rule",
        "purposes",
    }
)


def _field_definition_check_changes(changes: dict[str, object]) -> None:
    unknown = sorted(set(changes) - FIELD_DEFINITION_CHANGEABLE)
    if unknown:
        raise ValidationError(
            {name: f"{name} cannot be changed by a proposal." for name in unknown}
        )


def _audit_value(value: object) -> Any:
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, Iterable) and not isinstance(value, str):
        return sorted(_audit_value(item) for item in value)
    return value


@transaction.atomic
def field_definition_propose_version(
    *,
    definition: FieldDefinition,
    actor: Actor,
    reason: str,
    changes: dict[str, object],
) -> FieldDefinition:
    """Propose a change to a field definition; returns the proposed version.

    A change to the approved definition creates a new row, version + 1, status
    proposed, ``previous_version`` pointing at it: the approved one stays in
    force until ``field_definition_approve`` approves its successor. A draft or
    proposed definition is changed in place and becomes (or stays) proposed.
    Refused with a ``ValidationError`` for a field no proposal may change, for
    a deprecated or rejected definition, and when a proposal for the name is
    already open (one open proposal at a time keeps approval unambiguous).
    """
    _field_definition_check_changes(changes)
    # Lock every version of this name: two concurrent proposals must not both
    # take version N + 1, and an approval must not run in between.
    versions = list(
        FieldDefinition.objects.select_for_update()
        .filter(canonical_name=definition.canonical_name)
        .order_by("version")
    )
    current = next(v for v in versions if v.pk == definition.pk)
    purposes = changes.get("purposes")
    scalar_changes = {k: v for k, v in changes.items() if k != "purposes"}

    if current.status in (GovernanceStatus.DRAFT, GovernanceStatus.PROPOSED):
        proposal = current
        old_purposes = list(proposal.purposes.all())
        old = {name: _audit_value(getattr(proposal, name)) for name in scalar_changes}
        proposal.status = GovernanceStatus.PROPOSED
        proposal.proposed_by = actor.user  # type: ignore[assignment]
    elif current.status == GovernanceStatus.APPROVED:
        open_proposals = [v for v in versions if v.status == GovernanceStatus.PROPOSED]
        if open_proposals:
            raise ValidationError(
                f"{current.canonical_name} v{open_proposals[0].version} is already proposed; "
                "change that proposal instead."
            )
        old_purposes = list(current.purposes.all())
        old = {name: _audit_value(getattr(current, name)) for name in scalar_changes}
        proposal = FieldDefinition(
            **{
                field.attname: getattr(current, field.attname)
                for field in FieldDefinition._meta.concrete_fields
                if field.attname not in {"id", "created_at", "updated_at"}
            }
        )
        proposal.version = max(v.version for v in versions) + 1
        proposal.status = GovernanceStatus.PROPOSED
        proposal.previous_version = current
        proposal.proposed_by = actor.user  # type: ignore[assignment]
        proposal.approved_by = None
        proposal.approved_at = None
    else:
        raise ValidationError(
            f"{current} is {current.get_status_display().lower()}; "
            "propose a change to the version in force."
        )

    for name, value in scalar_changes.items():
        setattr(proposal, name, value)
    model_save(proposal, actor=actor, reason=reason)
    proposal.purposes.set(purposes if purposes is not None else old_purposes)  # type: ignore[arg-type]
    audit_event_record(
        event_type=AuditEventType.FIELD_PROPOSED,
        actor=actor,
        subject=proposal,
        reason=reason,
        old={
            "version": current.version,
            **old,
            **({"purposes": _audit_value(old_purposes)} if purposes is not None else {}),
        },
        new={
            "version": proposal.version,
            **{name: _audit_value(value) for name, value in scalar_changes.items()},
            **({"purposes": _audit_value(purposes)} if purposes is not None else {}),
        },
    )
    return proposal


@transaction.atomic
def field_definition_approve(
    *, definition: FieldDefinition, actor: Actor, reason: str
) -> FieldDefinition:
    """Approve a proposed field definition and put it in force.

    The previously approved version of the same canonical name is deprecated
    in the same transaction, before the approval, because the database allows
    one approved version per name. Refused with a ``ValidationError`` unless
    the definition is proposed. Voting and permissions come with the
    committee workflow; this is the state change they end in.
    """
    versions = {
        v.pk: v
        for v in FieldDefinition.objects.select_for_update().filter(
            canonical_name=definition.canonical_name
        )
    }
    proposal = versions[definition.pk]
    if proposal.status != GovernanceStatus.PROPOSED:
        raise ValidationError(
            f"{proposal} is {proposal.get_status_display().lower()}; only a proposed "
            "version can be approved."
        )
    previous = next((v for v in versions.values() if v.status == GovernanceStatus.APPROVED), None)
    if previous is not None:
        previous.status = GovernanceStatus.DEPRECATED
        model_save(previous, actor=actor, reason=f"Superseded by v{proposal.version}: {reason}")
    proposal.status = GovernanceStatus.APPROVED
    proposal.approved_by = actor.user  # type: ignore[assignment]
    proposal.approved_at = timezone.now()
    model_save(proposal, actor=actor, reason=reason)
    audit_event_record(
        event_type=AuditEventType.FIELD_APPROVED,
        actor=actor,
        subject=proposal,
        reason=reason,
        old={"version_in_force": previous.version if previous else None},
        new={"version_in_force": proposal.version},
    )
    return proposal
