"""Write services of the governance app."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NoReturn

from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from guardian.shortcuts import assign_perm, get_objects_for_user, remove_perm

from customer360.choices import AuditEventType
from customer360.services import Actor, audit_event_record, model_save, on_commit, on_commit_delay

from .choices import CommitteeRole, DecisionStatus, GovernanceStatus, VoteChoice
from .models import (
    CommitteeMember,
    ContactRule,
    DataCollectionDecision,
    FieldDefinition,
    GovernedVersion,
    Lens,
    LifecycleDefinition,
    MatchingConfiguration,
    NbaRule,
    PriorityInteraction,
    QuorumRule,
    Silo,
    SourceFieldMapping,
    SourceSystem,
    Vote,
)
from .roles import ROLE_PERMISSIONS, group_name

logger = logging.getLogger(__name__)


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


# --- membership: a steward's object rights follow their silo ----------------------

# Governed models a silo's stewards edit as drafts, with the path to the silo.
STEWARD_OWNED: tuple[tuple[type[GovernedVersion], str], ...] = (
    (FieldDefinition, "owning_silo"),
    (SourceFieldMapping, "source_system__silo"),
)
OPEN_GOVERNED_STATUSES = (GovernanceStatus.DRAFT, GovernanceStatus.PROPOSED)


@dataclass(frozen=True, slots=True)
class PermissionSync:
    """What ``steward_permissions_sync`` changed: object permissions granted and revoked."""

    granted: int = 0
    revoked: int = 0

    def __add__(self, other: PermissionSync) -> PermissionSync:
        return PermissionSync(self.granted + other.granted, self.revoked + other.revoked)


@transaction.atomic
def steward_permissions_sync(*, user: User, today: datetime.date | None = None) -> PermissionSync:
    """Make a user's object rights on drafts match the silos they steward today.

    A steward gets the change permission on every open draft and proposal
    (field definitions, mappings) of each silo they are an active steward
    of, including those created before they joined; they lose it on other
    silos' items once they left, except on versions they proposed
    themselves (a creator keeps the right to edit their own draft).
    Idempotent; the membership service calls it at every change and
    ``sync_roles`` (and the daily task) for everyone, so an end date in the
    future takes effect on its day.
    """
    silo_ids = set(
        _active_members(roles=[CommitteeRole.DATA_STEWARD], at=today)
        .filter(user=user)
        .values_list("silo_id", flat=True)
    )
    result = PermissionSync()
    for model, silo_path in STEWARD_OWNED:
        perm = _perm(model, "change")
        held = set(
            get_objects_for_user(
                user,
                perm,
                klass=model,
                use_groups=False,
                with_superuser=False,
                accept_global_perms=False,
            ).values_list("pk", flat=True)
        )
        grant = list(
            model._default_manager.filter(
                status__in=OPEN_GOVERNED_STATUSES, **{f"{silo_path}__in": silo_ids}
            ).exclude(pk__in=held)
        )
        revoke = list(
            model._default_manager.filter(pk__in=held)
            .exclude(**{f"{silo_path}__in": silo_ids})
            .exclude(proposed_by=user)
        )
        if grant:
            # One bulk insert; guardian accepts a queryset though its hint says Model.
            assign_perm(
                perm,
                user,
                model._default_manager.filter(pk__in=[i.pk for i in grant]),  # type: ignore[arg-type]
            )
        if revoke:
            remove_perm(perm, user, model._default_manager.filter(pk__in=[i.pk for i in revoke]))
        result += PermissionSync(len(grant), len(revoke))
    return result


def steward_permissions_sync_all(*, today: datetime.date | None = None) -> PermissionSync:
    """``steward_permissions_sync`` for everyone who is or was a data steward."""
    user_ids = (
        CommitteeMember.objects.filter(role=CommitteeRole.DATA_STEWARD)
        .values_list("user_id", flat=True)
        .distinct()
    )
    result = PermissionSync()
    for user in User.objects.filter(pk__in=list(user_ids)).order_by("pk"):
        result += steward_permissions_sync(user=user, today=today)
    return result


@transaction.atomic
def committee_member_save(*, member: CommitteeMember, actor: Actor, reason: str) -> CommitteeMember:
    """Add a committee role or change one (a steward joins a silo, or leaves it
    with an end date), and bring the object rights of the people concerned in
    line at once: a steward who joins gets their silo's existing drafts, one
    who left loses them."""
    previous_user_id = (
        CommitteeMember.objects.filter(pk=member.pk).values_list("user_id", flat=True).first()
        if member.pk
        else None
    )
    model_save(member, actor=actor, reason=reason)
    audit_event_record(
        event_type=AuditEventType.COMMITTEE_MEMBER_CHANGED,
        actor=actor,
        subject=member,
        reason=reason,
        new={
            "user": member.user_id,
            "silo": member.silo_id,
            "role": member.role,
            "active_from": member.active_from.isoformat(),
            "active_until": member.active_until.isoformat() if member.active_until else None,
        },
    )
    concerned = [member.user_id] + ([previous_user_id] if previous_user_id else [])
    for user in User.objects.filter(pk__in=concerned):
        steward_permissions_sync(user=user)
    return member


# --- refusals -------------------------------------------------------------------


def _refuse(action: str, subject: models.Model | None, actor: Actor, message: Any) -> NoReturn:
    """Log a refused attempt (ids only, never personal data) and raise it.

    The service's transaction rolls back, so nothing changes; the log line is
    the trace of the attempt.
    """
    logger.warning(
        "governance refused %s on %s#%s by user %s",
        action,
        subject._meta.label_lower if subject is not None else "-",
        subject.pk if subject is not None else "-",
        actor.user.pk if actor.user is not None else actor.label,
    )
    raise ValidationError(message)


def _deny(action: str, subject: models.Model | None, actor: Actor) -> NoReturn:
    logger.warning(
        "governance denied %s on %s#%s to user %s",
        action,
        subject._meta.label_lower if subject is not None else "-",
        subject.pk if subject is not None else "-",
        actor.user.pk if actor.user is not None else actor.label,
    )
    raise PermissionDenied(f"You may not {action.replace('_', ' ')}.")


def _perm(model: type[models.Model], action: str) -> str:
    return f"{model._meta.app_label}.{action}_{model._meta.model_name}"


def _has_perm(actor: Actor, perm: str, obj: models.Model | None = None) -> bool:
    """Whether the actor holds ``perm`` (on ``obj`` through guardian, when given).

    A named system actor (a migration, a seeding command) acts with the
    rights of the code that runs it.
    """
    if actor.user is None:
        return True
    user: Any = actor.user
    if not user.is_active:
        return False
    return bool(user.has_perm(perm) or (obj is not None and user.has_perm(perm, obj)))


def _audit_value(value: object) -> Any:
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, Iterable) and not isinstance(value, str):
        return sorted(_audit_value(item) for item in value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if not isinstance(value, (str, int, float, bool, type(None), dict)):
        return str(value)
    return value


# --- one versioning workflow for every governed model ---------------------------

GOVERNED_FIELDS: frozenset[str] = frozenset(
    {
        "id",
        "version",
        "status",
        "previous_version",
        "proposed_by",
        "approved_by",
        "approved_at",
        "created_at",
        "updated_at",
    }
)

# The fields that identify an item across its versions.
GOVERNED_KEYS: dict[type[GovernedVersion], tuple[str, ...]] = {
    FieldDefinition: ("canonical_name",),
    SourceFieldMapping: ("source_system", "source_field"),
    Lens: ("code",),
    LifecycleDefinition: ("kind",),
    ContactRule: ("code",),
    QuorumRule: ("code",),
    MatchingConfiguration: ("code",),
    PriorityInteraction: ("code",),
    NbaRule: ("code",),  # insights (issue 8)
}


def governed_changeable(model: type[GovernedVersion]) -> frozenset[str]:
    """The fields a proposal may change: everything but the key and the workflow."""
    names = {
        field.name
        for field in model._meta.get_fields()
        if (field.concrete or field.many_to_many)
        and not field.auto_created
        and getattr(field, "editable", False)
    }
    return frozenset(names - GOVERNED_FIELDS - set(GOVERNED_KEYS[model]))


def _m2m_names(model: type[GovernedVersion]) -> list[str]:
    return [field.name for field in model._meta.many_to_many]


# Fields of a field definition that a new version may change. The canonical
# name is the key that versions share; status, version and approval are set by
# the services below, never by a proposal.
FIELD_DEFINITION_CHANGEABLE: frozenset[str] = governed_changeable(FieldDefinition)


def _event_type(item: GovernedVersion, transition: str) -> AuditEventType:
    """The business event of a transition: field- and mapping-specific where
    the audit log has one, the generic governed-item event otherwise."""
    if transition == "rejected":
        return AuditEventType.GOVERNED_REJECTED
    if transition == "deprecated":
        return AuditEventType.GOVERNED_DEPRECATED
    if transition == "approved":
        if isinstance(item, FieldDefinition):
            return AuditEventType.FIELD_APPROVED
        if isinstance(item, SourceFieldMapping):
            return AuditEventType.MAPPING_APPROVED
        return AuditEventType.GOVERNED_APPROVED
    if isinstance(item, FieldDefinition):
        return AuditEventType.FIELD_PROPOSED
    return AuditEventType.GOVERNED_PROPOSED


def _lock_versions(item: GovernedVersion) -> list[GovernedVersion]:
    """Every version of the item, locked: proposals and approvals serialize."""
    model = type(item)
    key = {f"{name}": getattr(item, _attname(model, name)) for name in GOVERNED_KEYS[model]}
    key = {
        (f"{name}_id" if model._meta.get_field(name).is_relation else name): value
        for name, value in key.items()
    }
    return list(model._default_manager.select_for_update().filter(**key).order_by("version"))


def _attname(model: type[models.Model], name: str) -> str:
    return model._meta.get_field(name).attname  # type: ignore[union-attr]


def _can_edit(actor: Actor, item: GovernedVersion) -> bool:
    """Drafts and proposals: the chair (model permission) or an owner (object
    permission granted at creation: the creator and the owning silo's stewards)."""
    return _has_perm(actor, _perm(type(item), "change"), item)


def _can_decide(actor: Actor, item: GovernedVersion) -> bool:
    """Approval, rejection and deprecation record the committee's decision:
    a model-wide change right (the chair), never an object permission."""
    return _has_perm(actor, _perm(type(item), "change"))


def _owning_silo(item: GovernedVersion) -> Silo | None:
    if isinstance(item, FieldDefinition):
        return item.owning_silo
    if isinstance(item, SourceFieldMapping):
        return item.source_system.silo
    return None


def _check_targets(item: GovernedVersion, actor: Actor, *, approving: bool) -> None:
    """Rules on what a governed item points at; a mapping never feeds a retired field."""
    if isinstance(item, SourceFieldMapping):
        # Read the target's status from the database, never from a stale instance.
        target = FieldDefinition.objects.get(pk=item.field_definition_id)
        allowed = (
            {GovernanceStatus.APPROVED}
            if approving
            else {GovernanceStatus.DRAFT, GovernanceStatus.PROPOSED, GovernanceStatus.APPROVED}
        )
        if target.status not in allowed:
            _refuse(
                "map_field",
                item,
                actor,
                {
                    "field_definition": f"{target} is {target.get_status_display().lower()}; "
                    + (
                        "a mapping is approved only to an approved field definition."
                        if approving
                        else "map to the version in force."
                    )
                },
            )
    if approving and isinstance(item, (Lens, PriorityInteraction)):
        fields = item.fields.all() if isinstance(item, Lens) else item.required_fields.all()
        retired = sorted(f.canonical_name for f in fields if f.status != GovernanceStatus.APPROVED)
        if retired:
            _refuse(
                "approve",
                item,
                actor,
                f"{item} uses field definitions not in force: {', '.join(retired)}.",
            )


def _grant_owners(item: GovernedVersion, actor: Actor) -> None:
    """Object permission to edit a draft: its creator and its silo's stewards."""
    perm = _perm(type(item), "change")
    if actor.user is not None:
        assign_perm(perm, actor.user, item)
    silo = _owning_silo(item)
    if silo is None:
        return
    today = timezone.localdate()
    stewards = CommitteeMember.objects.filter(
        silo=silo, role=CommitteeRole.DATA_STEWARD, active_from__lte=today
    ).filter(Q(active_until__isnull=True) | Q(active_until__gte=today))
    for member in stewards.select_related("user"):
        assign_perm(perm, member.user, item)


def _copy_version[G: GovernedVersion](current: G, versions: list[Any]) -> G:
    """A new proposed version: the current one's values, version + 1, unapproved."""
    model = type(current)
    proposal = model(
        **{
            field.attname: getattr(current, field.attname)
            for field in model._meta.concrete_fields
            if field.attname not in {"id", "created_at", "updated_at"}
        }
    )
    proposal.version = max(v.version for v in versions) + 1
    proposal.status = GovernanceStatus.PROPOSED
    proposal.previous_version = current
    proposal.approved_by = None
    proposal.approved_at = None
    return proposal


@transaction.atomic
def governed_create[G: GovernedVersion](
    *, item: G, actor: Actor, reason: str, m2m: dict[str, Iterable[Any]] | None = None
) -> G:
    """Create version 1 of a new governed item, as a draft.

    Refused when the item's key already has versions (a change is a new
    version of it). The creator and, for field definitions and mappings, the
    owning silo's stewards get the object permission to edit the draft.
    """
    model = type(item)
    if not _has_perm(actor, _perm(model, "add")):
        _deny("add", None, actor)
    item.version = 1
    item.status = GovernanceStatus.DRAFT
    item.previous_version = None
    item.proposed_by = actor.user  # type: ignore[assignment]
    item.approved_by = None
    item.approved_at = None
    if _lock_versions(item):
        _refuse("add", None, actor, f"{item} already exists; propose a new version of it.")
    _check_targets(item, actor, approving=False)
    model_save(item, actor=actor, reason=reason)
    for name, values in (m2m or {}).items():
        getattr(item, name).set(values)
    _grant_owners(item, actor)
    return item


@transaction.atomic
def governed_propose[G: GovernedVersion](
    *,
    item: G,
    actor: Actor,
    reason: str,
    changes: dict[str, object],
    submit: bool = True,
) -> G:
    """Propose a change to a governed item; returns the version that carries it.

    A change to the approved version creates a new row, version + 1, status
    proposed, ``previous_version`` pointing at it: the approved one stays in
    force until its successor is approved. A draft or proposed version is
    changed in place and becomes proposed (stays a draft with
    ``submit=False``). Refused with a ``ValidationError`` for a field no
    proposal may change, for a deprecated or rejected version, and when a
    proposal for the item is already open (one open proposal at a time keeps
    approval unambiguous); with ``PermissionDenied`` without the right.
    """
    model = type(item)
    changeable = governed_changeable(model)
    unknown = sorted(set(changes) - changeable)
    if unknown:
        _refuse(
            "propose", item, actor, {n: f"{n} cannot be changed by a proposal." for n in unknown}
        )
    versions = _lock_versions(item)
    current = next(v for v in versions if v.pk == item.pk)
    m2m_names = _m2m_names(model)
    m2m_changes = {k: v for k, v in changes.items() if k in m2m_names}
    scalar_changes = {k: v for k, v in changes.items() if k not in m2m_names}
    old_m2m = {name: list(getattr(current, name).all()) for name in m2m_names}

    if current.status in (GovernanceStatus.DRAFT, GovernanceStatus.PROPOSED):
        if not _can_edit(actor, current):
            _deny("change", current, actor)
        proposal = current
        if submit:
            proposal.status = GovernanceStatus.PROPOSED
        proposal.proposed_by = actor.user  # type: ignore[assignment]
    elif current.status == GovernanceStatus.APPROVED:
        # A new version is a new row: proposing it needs the right to add.
        if not _has_perm(actor, _perm(model, "add")):
            _deny("propose", current, actor)
        open_proposals = [
            v
            for v in versions
            if v.status in (GovernanceStatus.PROPOSED, GovernanceStatus.DRAFT)
            and v.previous_version_id == current.pk  # type: ignore[attr-defined]
        ]
        if open_proposals:
            _refuse(
                "propose",
                current,
                actor,
                f"{open_proposals[0]} is already proposed; change that proposal instead.",
            )
        proposal = _copy_version(current, versions)
        proposal.proposed_by = actor.user  # type: ignore[assignment]
    elif current.pk == versions[-1].pk and not any(
        v.status in (GovernanceStatus.APPROVED, GovernanceStatus.PROPOSED, GovernanceStatus.DRAFT)
        for v in versions
    ):
        # Nothing is in force or open (every version was rejected or retired):
        # the newest version may be taken up again as a fresh proposal, with
        # no predecessor to supersede.
        if not _has_perm(actor, _perm(model, "add")):
            _deny("propose", current, actor)
        proposal = _copy_version(current, versions)
        proposal.previous_version = None
        proposal.proposed_by = actor.user  # type: ignore[assignment]
    else:
        _refuse(
            "propose",
            current,
            actor,
            f"{current} is {current.get_status_display().lower()}; "  # type: ignore[attr-defined]
            "propose a change to the version in force.",
        )

    old = {name: _audit_value(getattr(current, name)) for name in scalar_changes}
    for name, value in scalar_changes.items():
        setattr(proposal, name, value)
    _check_targets(proposal, actor, approving=False)
    model_save(proposal, actor=actor, reason=reason)
    for name in m2m_names:
        getattr(proposal, name).set(m2m_changes.get(name, old_m2m[name]))
    if proposal.pk != current.pk:
        _grant_owners(proposal, actor)
    audit_event_record(
        event_type=_event_type(proposal, "proposed"),
        actor=actor,
        subject=proposal,
        reason=reason,
        old={
            "version": current.version,
            **old,
            **{name: _audit_value(old_m2m[name]) for name in m2m_changes},
        },
        new={
            "transition": "proposed" if proposal.status == GovernanceStatus.PROPOSED else "edited",
            "model": model._meta.label_lower,
            "version": proposal.version,
            **{name: _audit_value(value) for name, value in scalar_changes.items()},
            **{name: _audit_value(value) for name, value in m2m_changes.items()},
        },
    )
    return proposal  # type: ignore[return-value]


def _transition_audit(
    item: GovernedVersion, actor: Actor, reason: str, transition: str, **new: Any
) -> None:
    audit_event_record(
        event_type=_event_type(item, transition),
        actor=actor,
        subject=item,
        reason=reason,
        new={"transition": transition, "model": item._meta.label_lower, **new},
    )


@transaction.atomic
def governed_submit[G: GovernedVersion](*, item: G, actor: Actor, reason: str) -> G:
    """Submit a draft to the committee: draft -> proposed."""
    return governed_propose(item=item, actor=actor, reason=reason, changes={}, submit=True)


@transaction.atomic
def governed_approve[G: GovernedVersion](*, item: G, actor: Actor, reason: str) -> G:
    """Approve a proposed version and put it in force.

    Refused unless it is proposed; unless its predecessor is the version in
    force (a proposal whose predecessor was deprecated or never approved
    cannot take over); for a mapping, unless its field definition is
    approved. The predecessor is deprecated in the same transaction, before
    the approval, because the database allows one approved version per item.
    """
    versions = {v.pk: v for v in _lock_versions(item)}
    proposal: Any = versions[item.pk]
    if not _can_decide(actor, proposal):
        _deny("approve", proposal, actor)
    if proposal.status != GovernanceStatus.PROPOSED:
        _refuse(
            "approve",
            proposal,
            actor,
            f"{proposal} is {proposal.get_status_display().lower()}; only a proposed "
            "version can be approved.",
        )
    in_force = next((v for v in versions.values() if v.status == GovernanceStatus.APPROVED), None)
    if proposal.previous_version_id is not None:
        predecessor = versions[proposal.previous_version_id]
        if predecessor.status != GovernanceStatus.APPROVED:
            _refuse(
                "approve",
                proposal,
                actor,
                f"{proposal} cannot be approved: its predecessor {predecessor} is not "
                "approved. Propose a new version of the version in force.",
            )
    elif in_force is not None:
        _refuse(
            "approve",
            proposal,
            actor,
            f"{proposal} cannot be approved: {in_force} is in force and is not its predecessor.",
        )
    _check_targets(proposal, actor, approving=True)
    if in_force is not None:
        in_force.status = GovernanceStatus.DEPRECATED
        model_save(in_force, actor=actor, reason=f"Superseded by v{proposal.version}: {reason}")
    proposal.status = GovernanceStatus.APPROVED
    proposal.approved_by = actor.user
    proposal.approved_at = timezone.now()
    model_save(proposal, actor=actor, reason=reason)
    audit_event_record(
        event_type=_event_type(proposal, "approved"),
        actor=actor,
        subject=proposal,
        reason=reason,
        old={"version_in_force": in_force.version if in_force else None},
        new={
            "transition": "approved",
            "model": proposal._meta.label_lower,
            "version_in_force": proposal.version,
        },
    )
    if isinstance(proposal, LifecycleDefinition):
        # Flags computed under the superseded definition are stale now. Imported
        # here because the insights package imports governance's selectors.
        from profiles.insights.tasks import flags_lifecycle_changed

        on_commit_delay(flags_lifecycle_changed, proposal.kind)
    return proposal  # type: ignore[no-any-return]


@transaction.atomic
def governed_reject[G: GovernedVersion](*, item: G, actor: Actor, reason: str) -> G:
    """Reject a proposed version; the last approved version stays in force."""
    versions = {v.pk: v for v in _lock_versions(item)}
    proposal: Any = versions[item.pk]
    if not _can_decide(actor, proposal):
        _deny("reject", proposal, actor)
    if proposal.status != GovernanceStatus.PROPOSED:
        _refuse(
            "reject",
            proposal,
            actor,
            f"{proposal} is {proposal.get_status_display().lower()}; only a proposed "
            "version can be rejected.",
        )
    proposal.status = GovernanceStatus.REJECTED
    model_save(proposal, actor=actor, reason=reason)
    _transition_audit(proposal, actor, reason, "rejected", version=proposal.version)
    return proposal  # type: ignore[no-any-return]


@transaction.atomic
def governed_deprecate[G: GovernedVersion](*, item: G, actor: Actor, reason: str) -> G:
    """Retire the version in force without a successor.

    For a field definition this stops its collection (no approved definition,
    no collection; see ``governance.selectors.collection_allowed_fields``) and
    its retention period then governs the values already held.
    """
    versions = {v.pk: v for v in _lock_versions(item)}
    current: Any = versions[item.pk]
    if not _can_decide(actor, current):
        _deny("deprecate", current, actor)
    if current.status != GovernanceStatus.APPROVED:
        _refuse(
            "deprecate",
            current,
            actor,
            f"{current} is {current.get_status_display().lower()}; only the version in "
            "force can be deprecated.",
        )
    current.status = GovernanceStatus.DEPRECATED
    model_save(current, actor=actor, reason=reason)
    extra = {}
    if isinstance(current, FieldDefinition):
        extra = {"collection": "stopped", "retention_days": current.retention_days}
    _transition_audit(current, actor, reason, "deprecated", version=current.version, **extra)
    return current  # type: ignore[no-any-return]


def field_definition_propose_version(
    *,
    definition: FieldDefinition,
    actor: Actor,
    reason: str,
    changes: dict[str, object],
) -> FieldDefinition:
    """Propose a change to a field definition (see ``governed_propose``)."""
    return governed_propose(item=definition, actor=actor, reason=reason, changes=changes)


def field_definition_approve(
    *, definition: FieldDefinition, actor: Actor, reason: str
) -> FieldDefinition:
    """Approve a proposed field definition (see ``governed_approve``)."""
    return governed_approve(item=definition, actor=actor, reason=reason)


# --- data-collection decisions and votes ----------------------------------------


@dataclass(frozen=True, slots=True)
class QuorumSettings:
    """The values of the quorum rule in force (or of the charter's defaults)."""

    min_turnout_percent: int = 50
    majority_percent: int = 50
    privacy_officer_approval_required: bool = True
    privacy_officer_veto: bool = True
    default_voting_days: int = 14

    @classmethod
    def in_force(cls) -> QuorumSettings:
        rule = QuorumRule.objects.filter(status=GovernanceStatus.APPROVED).order_by("code").first()
        if rule is None:
            return cls()
        return cls(
            min_turnout_percent=rule.min_turnout_percent,
            majority_percent=rule.majority_percent,
            privacy_officer_approval_required=rule.privacy_officer_approval_required,
            privacy_officer_veto=rule.privacy_officer_veto,
            default_voting_days=rule.default_voting_days,
        )


def _active_members(*, roles: Iterable[str], at: datetime.date | None = None) -> Any:
    today = at or timezone.localdate()
    return (
        CommitteeMember.objects.filter(role__in=list(roles), active_from__lte=today)
        .filter(Q(active_until__isnull=True) | Q(active_until__gte=today))
        .filter(Q(silo__isnull=True) | Q(silo__is_active=True))
    )


def voting_silo_ids() -> set[int]:
    """The silos that vote: active silos with an active committee member."""
    return set(_active_members(roles=[CommitteeRole.MEMBER]).values_list("silo_id", flat=True))


def _notify(*, subject: str, body: str, recipients: Iterable[str]) -> None:
    """Send one notification per recipient after commit (no address leaks to another)."""
    addresses = sorted({address for address in recipients if address})

    def send() -> None:
        for address in addresses:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [address])

    on_commit(send)


@transaction.atomic
def decision_create(
    *,
    actor: Actor,
    reason: str,
    kind: str,
    title: str,
    proposing_silo: Silo,
    purposes: Iterable[Any],
    rationale: str,
    business_value: int,
    actionability: int,
    cost: int,
    privacy_risk: int,
    privacy_impact_note: str = "",
    field_definition: FieldDefinition | None = None,
    source_system: SourceSystem | None = None,
    channel: Any = None,
) -> DataCollectionDecision:
    """Propose collecting a field, or opening a source or channel, as a draft."""
    if actor.user is None or not _has_perm(actor, _perm(DataCollectionDecision, "add")):
        _deny("propose_decision", None, actor)
    decision = DataCollectionDecision(
        kind=kind,
        title=title,
        field_definition=field_definition,
        source_system=source_system,
        channel=channel,
        rationale=rationale,
        business_value=business_value,
        actionability=actionability,
        cost=cost,
        privacy_risk=privacy_risk,
        privacy_impact_note=privacy_impact_note,
        proposed_by=actor.user,
        proposing_silo=proposing_silo,
    )
    if field_definition is not None and field_definition.status in (
        GovernanceStatus.DEPRECATED,
        GovernanceStatus.REJECTED,
    ):
        _refuse(
            "propose_decision",
            None,
            actor,
            {
                "field_definition": f"{field_definition} is retired; "
                "propose for the version in force."
            },
        )
    model_save(decision, actor=actor, reason=reason)
    decision.purposes.set(list(purposes))
    # The proposer may edit their draft and open its vote.
    assign_perm(_perm(DataCollectionDecision, "change"), actor.user, decision)
    audit_event_record(
        event_type=AuditEventType.DECISION_PROPOSED,
        actor=actor,
        subject=decision,
        reason=reason,
        new={"kind": kind, "title": title, "proposing_silo": proposing_silo.pk},
    )
    return decision


@transaction.atomic
def decision_open_voting(
    *,
    decision: DataCollectionDecision,
    actor: Actor,
    reason: str,
    privacy_officer: User,
    deadline: datetime.datetime | None = None,
) -> DataCollectionDecision:
    """Open the vote on a draft decision, assign its privacy officer, notify voters.

    The proposer (object permission) or the chair may open it. The privacy
    officer must hold the role; they get the object permission to veto this
    decision. Each silo's members get an e-mail once the vote is open.
    """
    decision = DataCollectionDecision.objects.select_for_update().get(pk=decision.pk)
    if not _has_perm(actor, _perm(DataCollectionDecision, "change"), decision):
        _deny("open_voting", decision, actor)
    if decision.status != DecisionStatus.DRAFT:
        _refuse(
            "open_voting",
            decision,
            actor,
            f"Voting can only open on a draft; this decision is "
            f"{decision.get_status_display().lower()}.",
        )
    if (
        not _active_members(roles=[CommitteeRole.PRIVACY_OFFICER])
        .filter(user=privacy_officer)
        .exists()
    ):
        _refuse("open_voting", decision, actor, {"privacy_officer": "Not a privacy officer."})
    now = timezone.now()
    deadline = deadline or now + datetime.timedelta(
        days=QuorumSettings.in_force().default_voting_days
    )
    if deadline <= now:
        _refuse("open_voting", decision, actor, {"voting_deadline": "Must be in the future."})
    decision.status = DecisionStatus.VOTING
    decision.voting_deadline = deadline
    decision.privacy_officer = privacy_officer  # type: ignore[assignment]
    model_save(decision, actor=actor, reason=reason)
    assign_perm(_perm(DataCollectionDecision, "veto"), privacy_officer, decision)
    audit_event_record(
        event_type=AuditEventType.DECISION_VOTING_OPENED,
        actor=actor,
        subject=decision,
        reason=reason,
        new={
            "status": decision.status,
            "voting_deadline": deadline.isoformat(),
            "privacy_officer": privacy_officer.pk,
            "priority_score": decision.business_value * decision.actionability
            - decision.cost
            - decision.privacy_risk,
        },
    )
    voters = _active_members(roles=[CommitteeRole.MEMBER]).select_related("user")
    _notify(
        subject=f"[customer360] Your vote is requested: {decision.title}",
        body=(
            f"The committee votes on '{decision.title}' until {deadline:%Y-%m-%d %H:%M %Z}.\n"
            "Cast your vote under 'My pending votes' in the governance admin."
        ),
        recipients=[m.user.email for m in voters] + [getattr(privacy_officer, "email", "")],
    )
    return decision


@transaction.atomic
def vote_cast(
    *,
    decision: DataCollectionDecision,
    actor: Actor,
    choice: str,
    comment: str = "",
    silo: Silo | None = None,
    now: datetime.datetime | None = None,
) -> Vote:
    """Record one committee member's vote, with its reason.

    A member votes for their silo; the assigned privacy officer votes without
    a silo. Refused (nothing written, the attempt logged): after the deadline
    or when voting is not open, a second vote by the same member or silo, a
    vote by someone who is neither an active member nor the assigned privacy
    officer, and an approval by the proposer of their own proposal.
    """
    now = now or timezone.now()
    if actor.user is None:
        _deny("vote", decision, actor)
    decision = DataCollectionDecision.objects.select_for_update().get(pk=decision.pk)
    if choice not in VoteChoice.values:
        _refuse("vote", decision, actor, {"choice": f"Unknown choice {choice!r}."})
    if decision.status != DecisionStatus.VOTING:
        _refuse(
            "vote",
            decision,
            actor,
            f"Voting is not open on this decision ({decision.get_status_display().lower()}).",
        )
    assert decision.voting_deadline is not None  # a database constraint while voting
    if now >= decision.voting_deadline:
        _refuse("vote", decision, actor, "Voting on this decision closed at its deadline.")
    user = actor.user
    is_privacy_officer = decision.privacy_officer_id == user.pk and user.has_perm(
        _perm(DataCollectionDecision, "veto"), decision
    )
    member_silos = list(
        _active_members(roles=[CommitteeRole.MEMBER])
        .filter(user=user)
        .values_list("silo_id", flat=True)
    )
    if is_privacy_officer:
        vote_silo_id = None
    elif silo is not None and silo.pk in member_silos:
        vote_silo_id = silo.pk
    elif silo is None and len(member_silos) == 1:
        vote_silo_id = member_silos[0]
    elif member_silos:
        _refuse("vote", decision, actor, {"silo": "Choose the silo you vote for."})
    else:
        _refuse(
            "vote",
            decision,
            actor,
            "Only an active committee member or the decision's privacy officer may vote.",
        )
    if not _has_perm(actor, _perm(Vote, "add")):
        _deny("vote", decision, actor)
    if choice == VoteChoice.APPROVE and decision.proposed_by_id == user.pk:
        _refuse("vote", decision, actor, "You cannot approve your own proposal.")
    existing = Vote.objects.filter(decision=decision)
    if existing.filter(member=user).exists():
        _refuse("vote", decision, actor, "You have already voted on this decision.")
    if vote_silo_id is not None and existing.filter(silo_id=vote_silo_id).exists():
        _refuse("vote", decision, actor, "Your silo has already voted on this decision.")
    vote = Vote(
        decision=decision, member=user, silo_id=vote_silo_id, choice=choice, comment=comment
    )
    model_save(vote, actor=actor, reason=comment or f"Voted {choice}")
    audit_event_record(
        event_type=AuditEventType.VOTE_CAST,
        actor=actor,
        subject=decision,
        reason=comment or f"Voted {choice}",
        new={"vote": vote.pk, "choice": choice, "silo": vote_silo_id},
    )
    return vote


@dataclass(frozen=True, slots=True)
class Tally:
    """The count of a decision's votes against the quorum rule, and the outcome."""

    approved: bool
    reason: str
    silos_voting: int
    silos_total: int
    approvals: int
    rejections: int
    abstentions: int
    privacy_officer_choice: str | None


def decision_tally(
    *, decision: DataCollectionDecision, rule: QuorumSettings | None = None
) -> Tally:
    """Apply the quorum rule to a decision's votes (no writes)."""
    rule = rule or QuorumSettings.in_force()
    votes = list(decision.votes.all())
    silo_votes = [v for v in votes if v.silo_id is not None]
    po_vote = next((v for v in votes if v.silo_id is None), None)
    approvals = sum(v.choice == VoteChoice.APPROVE for v in silo_votes)
    rejections = sum(v.choice == VoteChoice.REJECT for v in silo_votes)
    abstentions = sum(v.choice == VoteChoice.ABSTAIN for v in silo_votes)
    total = len(voting_silo_ids() | {v.silo_id for v in silo_votes})
    po_choice = po_vote.choice if po_vote else None

    def tally(approved: bool, reason: str) -> Tally:
        return Tally(
            approved, reason, len(silo_votes), total, approvals, rejections, abstentions, po_choice
        )

    if rule.privacy_officer_veto and po_choice == VoteChoice.REJECT:
        return tally(False, "Vetoed by the privacy officer.")
    if total == 0 or len(silo_votes) * 100 < rule.min_turnout_percent * total:
        return tally(
            False,
            f"Quorum not reached: {len(silo_votes)} of {total} silos voted, "
            f"{rule.min_turnout_percent}% needed.",
        )
    decisive = approvals + rejections
    if decisive == 0 or approvals * 100 <= rule.majority_percent * decisive:
        return tally(
            False,
            f"No majority: {approvals} approve, {rejections} reject, {abstentions} abstain.",
        )
    if rule.privacy_officer_approval_required and po_choice != VoteChoice.APPROVE:
        return tally(False, "The privacy officer did not approve.")
    return tally(
        True,
        f"Approved: {approvals} approve, {rejections} reject, {abstentions} abstain; "
        "privacy officer " + (po_choice or "did not vote") + ".",
    )


def _decide(
    locked: DataCollectionDecision,
    *,
    now: datetime.datetime,
    actor: Actor,
    early_reason: str = "",
) -> DataCollectionDecision:
    """Tally a locked, voting decision under the quorum rule and record the outcome."""
    result = decision_tally(decision=locked)
    reason = (
        f"Closed early by {actor.describe()}: {early_reason.rstrip('.')}. {result.reason}"
        if early_reason
        else result.reason
    )
    locked.status = DecisionStatus.APPROVED if result.approved else DecisionStatus.REJECTED
    locked.decided_at = now
    locked.decision_reason = reason
    model_save(locked, actor=actor, reason=reason)
    audit_event_record(
        event_type=AuditEventType.DECISION_DECIDED,
        actor=actor,
        subject=locked,
        reason=reason,
        old={"status": DecisionStatus.VOTING},
        new={
            "status": locked.status,
            "closed_early": bool(early_reason),
            "votes": [
                {"member": v.member_id, "silo": v.silo_id, "choice": v.choice, "comment": v.comment}
                for v in locked.votes.order_by("created_at", "pk")
            ],
        },
    )
    members = _active_members(roles=[CommitteeRole.MEMBER]).select_related("user")
    _notify(
        subject=f"[customer360] Decided: {locked.title} ({locked.get_status_display()})",
        body=f"'{locked.title}' was {locked.get_status_display().lower()}. {reason}",
        recipients=[m.user.email for m in members] + [locked.proposed_by.email],
    )
    return locked


@transaction.atomic
def decision_close(
    *, decision: DataCollectionDecision, now: datetime.datetime | None = None
) -> DataCollectionDecision:
    """Decide a decision whose vote has reached its deadline; idempotent.

    The row is locked and its status compared: a decision already decided,
    or not yet due, is returned unchanged. The decision, every vote and its
    reason go into the audit event; the proposer and the members are told.
    """
    now = now or timezone.now()
    locked = DataCollectionDecision.objects.select_for_update().get(pk=decision.pk)
    if locked.status != DecisionStatus.VOTING:
        return locked
    assert locked.voting_deadline is not None
    if now < locked.voting_deadline:
        return locked
    return _decide(locked, now=now, actor=Actor.system("rule:quorum"))


@transaction.atomic
def decision_close_early(
    *,
    decision: DataCollectionDecision,
    actor: Actor,
    reason: str,
    now: datetime.datetime | None = None,
) -> DataCollectionDecision:
    """The chair closes a vote before its deadline, with a reason.

    The votes cast so far are tallied under the quorum rule in force exactly
    as at the deadline: silos that have not voted count against the turnout,
    the privacy officer's veto and required approval still hold. Refused
    (nothing changed, the attempt logged) for anyone but the chair (the
    model-wide change right), without a reason, or when voting is not open
    or its deadline has already passed (then the ordinary close decides).
    """
    now = now or timezone.now()
    if not reason.strip():
        _refuse("close_early", decision, actor, {"reason": "Say why the vote closes early."})
    locked = DataCollectionDecision.objects.select_for_update().get(pk=decision.pk)
    if actor.user is None or not _has_perm(actor, _perm(DataCollectionDecision, "change")):
        _deny("close_early", locked, actor)
    if locked.status != DecisionStatus.VOTING:
        _refuse(
            "close_early",
            locked,
            actor,
            f"Only an open vote can be closed; this decision is "
            f"{locked.get_status_display().lower()}.",
        )
    assert locked.voting_deadline is not None
    if now >= locked.voting_deadline:
        _refuse("close_early", locked, actor, "The deadline has passed: the vote closes as due.")
    return _decide(locked, now=now, actor=actor, early_reason=reason.strip())


@transaction.atomic
def decision_withdraw(
    *,
    decision: DataCollectionDecision,
    actor: Actor,
    reason: str,
    now: datetime.datetime | None = None,
) -> DataCollectionDecision:
    """The proposer withdraws their proposal, as a draft or while the vote is open.

    Votes already cast stay recorded with the withdrawn decision. Refused
    (nothing changed, the attempt logged) for anyone but the proposer,
    without a reason, once decided or withdrawn, or after the deadline.
    Voters are told when the vote was open.
    """
    now = now or timezone.now()
    if not reason.strip():
        _refuse("withdraw", decision, actor, {"reason": "Say why the proposal is withdrawn."})
    locked = DataCollectionDecision.objects.select_for_update().get(pk=decision.pk)
    if actor.user is None or locked.proposed_by_id != actor.user.pk:
        _deny("withdraw", locked, actor)
    if locked.status not in (DecisionStatus.DRAFT, DecisionStatus.VOTING):
        _refuse(
            "withdraw",
            locked,
            actor,
            f"This decision is {locked.get_status_display().lower()}; it can no longer be "
            "withdrawn.",
        )
    if locked.status == DecisionStatus.VOTING:
        assert locked.voting_deadline is not None
        if now >= locked.voting_deadline:
            _refuse("withdraw", locked, actor, "The vote has reached its deadline.")
    old_status = locked.status
    locked.status = DecisionStatus.WITHDRAWN
    locked.decision_reason = f"Withdrawn by the proposer: {reason.strip()}"
    model_save(locked, actor=actor, reason=locked.decision_reason)
    audit_event_record(
        event_type=AuditEventType.DECISION_WITHDRAWN,
        actor=actor,
        subject=locked,
        reason=reason,
        old={"status": old_status},
        new={
            "status": locked.status,
            "withdrawn_at": now.isoformat(),
            "votes": [
                {"member": v.member_id, "silo": v.silo_id, "choice": v.choice, "comment": v.comment}
                for v in locked.votes.order_by("created_at", "pk")
            ],
        },
    )
    if old_status == DecisionStatus.VOTING:
        members = _active_members(roles=[CommitteeRole.MEMBER]).select_related("user")
        _notify(
            subject=f"[customer360] Withdrawn: {locked.title}",
            body=f"'{locked.title}' was withdrawn by its proposer; no vote is needed. "
            f"Why: {reason.strip()}",
            recipients=[m.user.email for m in members]
            + [getattr(locked.privacy_officer, "email", "")],
        )
    return locked


def decisions_close_due(*, now: datetime.datetime | None = None) -> int:
    """Close every decision past its deadline; returns how many were decided."""
    now = now or timezone.now()
    due = DataCollectionDecision.objects.filter(
        status=DecisionStatus.VOTING, voting_deadline__lte=now
    ).values_list("pk", flat=True)
    closed = 0
    for pk in list(due):
        decision = DataCollectionDecision.objects.get(pk=pk)
        if decision_close(decision=decision, now=now).decided_at == now:
            closed += 1
    return closed


# --- enforcement: collect only what was decided -----------------------------------


def collection_check(*, source_system: SourceSystem, fields: Iterable[str]) -> None:
    """Refuse canonical fields that no approved data-collection decision covers.

    Raises one ``ValidationError`` with an entry per refused field, naming the
    field and what is missing. Ingest quarantines or rejects on it; every
    write service calls it before storing source values.
    """
    from .selectors import collection_refusals

    refusals = collection_refusals(source_system=source_system, fields=fields)
    if refusals:
        raise ValidationError(refusals)
