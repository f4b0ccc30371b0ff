"""Read selectors of the governance app."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from consent.models import Channel
from consent.selectors import consent_allows
from profiles.models import Customer

from .choices import CommitteeRole, DecisionKind, DecisionStatus, GovernanceStatus
from .models import (
    CommitteeMember,
    ContactRule,
    DataCollectionDecision,
    FieldDefinition,
    Lens,
    LifecycleDefinition,
    MatchingConfiguration,
    PriorityInteraction,
    Silo,
    SourceFieldMapping,
    SourceSystem,
    Vote,
)


def field_definitions_in_force() -> QuerySet[FieldDefinition]:
    """The approved version of every canonical field, by name."""
    return (
        FieldDefinition.objects.filter(status=GovernanceStatus.APPROVED)
        .select_related("owning_silo")
        .prefetch_related("purposes")
        .order_by("canonical_name")
    )


def field_definition_in_force(*, canonical_name: str) -> FieldDefinition | None:
    """The approved version of one canonical field, or None if none is in force."""
    return field_definitions_in_force().filter(canonical_name=canonical_name).first()


def field_definition_versions(*, canonical_name: str) -> QuerySet[FieldDefinition]:
    """Every version of one canonical field, newest first."""
    return FieldDefinition.objects.filter(canonical_name=canonical_name).order_by("-version")


def field_definitions_proposed() -> QuerySet[FieldDefinition]:
    """Proposals waiting for the committee, oldest first."""
    return (
        FieldDefinition.objects.filter(status=GovernanceStatus.PROPOSED)
        .select_related("owning_silo", "proposed_by", "previous_version")
        .order_by("created_at")
    )


# --- enforcement: collect only what was decided ---------------------------------


def _approved_collection_names() -> set[str]:
    """Canonical names an approved collect-field decision covers (any version)."""
    return set(
        DataCollectionDecision.objects.filter(
            kind=DecisionKind.COLLECT_FIELD, status=DecisionStatus.APPROVED
        ).values_list("field_definition__canonical_name", flat=True)
    )


def collection_allowed_fields(source_system: SourceSystem) -> set[str]:
    """Canonical fields ``source_system`` may deliver: in force and decided.

    A field is collected only while a version of its definition is approved
    (deprecating it stops collection) and an approved data-collection decision
    covers it. An inactive source system may deliver nothing.
    """
    if not source_system.is_active:
        return set()
    in_force = set(
        FieldDefinition.objects.filter(status=GovernanceStatus.APPROVED).values_list(
            "canonical_name", flat=True
        )
    )
    return in_force & _approved_collection_names()


def collection_refusals(*, source_system: SourceSystem, fields: Iterable[str]) -> dict[str, str]:
    """For each field ``source_system`` may not deliver, why (naming what is missing)."""
    wanted = sorted(set(fields))
    if not wanted:
        return {}
    if not source_system.is_active:
        return {name: f"{source_system.code} is not an active source system." for name in wanted}
    statuses: dict[str, set[str]] = {}
    for name, status in FieldDefinition.objects.filter(canonical_name__in=wanted).values_list(
        "canonical_name", "status"
    ):
        statuses.setdefault(name, set()).add(status)
    decided = _approved_collection_names()
    refusals: dict[str, str] = {}
    for name in wanted:
        known = statuses.get(name, set())
        if GovernanceStatus.APPROVED not in known:
            if GovernanceStatus.DEPRECATED in known:
                refusals[name] = (
                    f"{name} is deprecated: it is no longer collected and no approved "
                    "field definition is in force."
                )
            else:
                refusals[name] = (
                    f"{name} has no approved field definition and no approved "
                    "data-collection decision."
                )
        elif name not in decided:
            refusals[name] = (
                f"{name} is not covered by an approved data-collection decision "
                f"(kind '{DecisionKind.COLLECT_FIELD.label}')."
            )
    return refusals


def mapping_for_source(source_system: SourceSystem) -> QuerySet[SourceFieldMapping]:
    """The approved mappings of a source whose canonical field may be collected.

    The mapping's canonical field must have an approved definition in force
    (a mapping made to an earlier version follows the name) and be covered by
    an approved collect-field decision.
    """
    allowed = collection_allowed_fields(source_system)
    return (
        SourceFieldMapping.objects.filter(
            source_system=source_system,
            status=GovernanceStatus.APPROVED,
            field_definition__canonical_name__in=allowed,
        )
        .exclude(field_definition__status__in=[GovernanceStatus.REJECTED])
        .select_related("field_definition", "source_system")
        .order_by("source_field")
    )


# --- lenses: the one place that decides what a screen or endpoint shows ----------


class LensRefused(PermissionDenied):
    """The lens does not exist in an approved version, or the caller may not use it."""


@dataclass(frozen=True, slots=True)
class LensView:
    """What a lens shows of one customer's data: its fields, and counts only of the rest."""

    lens_code: str
    lens_version: int
    purpose: str
    sections: tuple[str, ...]
    fields: dict[str, object]
    hidden_count: int
    consent_blocked: bool


def lens_for(
    *,
    lens_code: str,
    user: User | AnonymousUser | None = None,
    application: Any = None,
) -> Lens:
    """The approved lens ``lens_code`` if ``user`` (through one of its groups) or
    ``application`` (an OAuth client) may use it; ``LensRefused`` otherwise.

    Exactly one of ``user`` and ``application`` is given. Superusers are not
    exempt: a lens is a purpose, and a purpose is never implied.
    """
    if (user is None) == (application is None):
        raise ValueError("lens_for needs a user or an application, not both")
    lens = (
        Lens.objects.filter(code=lens_code, status=GovernanceStatus.APPROVED)
        .select_related("purpose")
        .prefetch_related("fields")
        .first()
    )
    if lens is None:
        raise LensRefused(f"No approved lens '{lens_code}'.")
    if user is not None:
        if not user.is_authenticated or not user.is_active:
            raise LensRefused(f"The lens '{lens_code}' needs a signed-in user.")
        allowed = lens.roles.filter(pk__in=user.groups.values("pk")).exists()
    else:
        allowed = lens.applications.filter(pk=application.pk).exists()
    if not allowed:
        raise LensRefused(f"You may not use the lens '{lens_code}'.")
    return lens


def lens_field_names(lens: Lens) -> frozenset[str]:
    """The canonical names a lens shows (its fields, by name across versions)."""
    return frozenset(field.canonical_name for field in lens.fields.all())


def lens_project(
    *,
    lens: Lens,
    data: Mapping[str, object],
    customer: Customer | None = None,
    channel: Channel | None = None,
) -> LensView:
    """Only the lens's fields of ``data``, and the number of the others.

    When the lens's purpose needs consent and ``customer`` has not given it
    for ``channel`` (or either is missing), nothing is shown: every key is
    counted as hidden. Values outside the lens are never returned.
    """
    consent_blocked = False
    if lens.purpose.requires_consent:
        consent_blocked = (
            customer is None
            or channel is None
            or not consent_allows(customer=customer, purpose=lens.purpose, channel=channel)
        )
    names = lens_field_names(lens)
    shown = {} if consent_blocked else {k: v for k, v in data.items() if k in names}
    return LensView(
        lens_code=lens.code,
        lens_version=lens.version,
        purpose=lens.purpose.code,
        sections=() if consent_blocked else tuple(lens.sections or ()),
        fields=shown,
        hidden_count=len(data) - len(shown),
        consent_blocked=consent_blocked,
    )


# --- the committee's work lists and reports --------------------------------------


def decisions_pending_vote(*, user: User) -> QuerySet[DataCollectionDecision]:
    """Open decisions the user may still vote on: for a silo they are an active
    member of that has not voted, or as the assigned privacy officer."""
    today = timezone.localdate()
    silos = (
        CommitteeMember.objects.filter(
            user=user, role=CommitteeRole.MEMBER, active_from__lte=today, silo__is_active=True
        )
        .filter(Q(active_until__isnull=True) | Q(active_until__gte=today))
        .values("silo_id")
    )
    already = Vote.objects.filter(decision=OuterRef("pk")).filter(
        Q(member=user) | Q(silo__in=silos)
    )
    as_member = Q(Exists(silos)) & ~Q(Exists(already))
    as_officer = Q(privacy_officer=user) & ~Q(
        Exists(Vote.objects.filter(decision=OuterRef("pk"), member=user))
    )
    return (
        DataCollectionDecision.objects.filter(
            status=DecisionStatus.VOTING, voting_deadline__gt=timezone.now()
        )
        .filter(as_member | as_officer)
        .select_related("proposing_silo", "proposed_by")
        .order_by("voting_deadline", "pk")
    )


@dataclass(frozen=True, slots=True)
class SiloCoverage:
    """Which canonical fields one silo supplies through approved mappings."""

    silo: Silo
    fields: dict[str, list[str]]  # canonical name -> "system.column (transform)"


@dataclass(frozen=True, slots=True)
class CoverageConflict:
    """Two or more silos supplying one canonical field in different ways."""

    canonical_name: str
    variants: dict[str, list[str]]  # "transform args" -> silo names


@dataclass(frozen=True, slots=True)
class CoverageReport:
    canonical_names: list[str]
    silos: list[SiloCoverage]
    conflicts: list[CoverageConflict]


def coverage_report() -> CoverageReport:
    """Per silo, the canonical fields it supplies via approved mappings; and the
    fields two silos define differently (a different transform or arguments)."""
    mappings = (
        SourceFieldMapping.objects.filter(status=GovernanceStatus.APPROVED)
        .select_related("source_system__silo", "field_definition")
        .order_by("source_system__silo__name", "source_system__code", "source_field")
    )
    names = list(field_definitions_in_force().values_list("canonical_name", flat=True))
    by_silo: dict[int, SiloCoverage] = {
        silo.pk: SiloCoverage(silo=silo, fields={})
        for silo in Silo.objects.filter(is_active=True).order_by("name")
    }
    variants: dict[str, dict[str, set[str]]] = {}
    for mapping in mappings:
        silo = mapping.source_system.silo
        coverage = by_silo.setdefault(silo.pk, SiloCoverage(silo=silo, fields={}))
        name = mapping.field_definition.canonical_name
        coverage.fields.setdefault(name, []).append(
            f"{mapping.source_system.code}.{mapping.source_field} ({mapping.transform})"
        )
        args = json.dumps(mapping.transform_args, sort_keys=True)
        variant = mapping.transform + ("" if args == "{}" else f" {args}")
        variants.setdefault(name, {}).setdefault(variant, set()).add(silo.name)
    conflicts = [
        CoverageConflict(
            canonical_name=name,
            variants={variant: sorted(silos) for variant, silos in sorted(found.items())},
        )
        for name, found in sorted(variants.items())
        if len(found) > 1 and len(set().union(*found.values())) > 1
    ]
    return CoverageReport(canonical_names=names, silos=list(by_silo.values()), conflicts=conflicts)


def decisions_by_status_and_silo() -> list[dict[str, Any]]:
    """Counts of decisions per proposing silo and status, for the overview chart."""
    rows = (
        DataCollectionDecision.objects.values("proposing_silo__name", "status")
        .annotate(count=Count("pk"))
        .order_by("proposing_silo__name", "status")
    )
    return [dict(row) for row in rows]


def collected_fields_value_risk() -> list[dict[str, Any]]:
    """Each approved collect-field decision's value (priority) against privacy risk."""
    rows = (
        DataCollectionDecision.objects.filter(
            kind=DecisionKind.COLLECT_FIELD, status=DecisionStatus.APPROVED
        )
        .values("field_definition__canonical_name", "priority_score", "privacy_risk")
        .order_by("field_definition__canonical_name")
    )
    return [dict(row) for row in rows]


# --- governed definitions other parts use -----------------------------------------


def lifecycle_definition_in_force(*, kind: str) -> LifecycleDefinition | None:
    """The approved definition of 'new', 'active' or 'lost' customer; flags use it."""
    return LifecycleDefinition.objects.filter(kind=kind, status=GovernanceStatus.APPROVED).first()


def contact_rules_in_force() -> QuerySet[ContactRule]:
    """The approved contact rules contact arbitration checks every action against."""
    return (
        ContactRule.objects.filter(status=GovernanceStatus.APPROVED)
        .select_related("channel")
        .order_by("code")
    )


def matching_configuration_in_force(*, code: str = "default") -> MatchingConfiguration | None:
    """The approved matching thresholds identity resolution uses."""
    return MatchingConfiguration.objects.filter(code=code, status=GovernanceStatus.APPROVED).first()


def priority_interactions_in_force() -> QuerySet[PriorityInteraction]:
    """The governed top cross-silo interactions, by rank, with their required fields."""
    return (
        PriorityInteraction.objects.filter(status=GovernanceStatus.APPROVED)
        .prefetch_related("silos", "required_fields")
        .order_by("rank", "code")
    )
