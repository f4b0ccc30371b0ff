"""Read selectors of the governance app."""

from __future__ import annotations

from django.db.models import QuerySet

from .choices import GovernanceStatus
from .models import FieldDefinition


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
