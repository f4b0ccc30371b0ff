"""Admin of the governance app: where the committee works.

Governed items are versioned. An approved (or retired) version is read-only
here; a field definition in force is changed by saving its form, which
proposes a new version through ``field_definition_propose_version`` and leaves
the approved one in force. Approval, voting and the versioning of the other
governed items come with the committee workflow.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from customer360.admin import REASON_FIELD, HistoryAdmin, admin_actor

from .choices import GovernanceStatus
from .forms import (
    ContactRuleAdminForm,
    FieldDefinitionAdminForm,
    LensAdminForm,
    LifecycleDefinitionAdminForm,
    SourceFieldMappingAdminForm,
)
from .models import (
    CommitteeMember,
    ContactRule,
    DataCollectionDecision,
    FieldDefinition,
    Lens,
    LifecycleDefinition,
    Silo,
    SourceFieldMapping,
    SourceSystem,
    Vote,
)
from .services import FIELD_DEFINITION_CHANGEABLE, field_definition_propose_version

GOVERNED_READONLY = [
    "version",
    "status",
    "previous_version",
    "proposed_by",
    "approved_by",
    "approved_at",
    "created_at",
    "updated_at",
]
# Versions that are, or were, in force: history, never edited.
FROZEN_STATUSES = {
    GovernanceStatus.APPROVED,
    GovernanceStatus.DEPRECATED,
    GovernanceStatus.REJECTED,
}


@admin.register(Silo)
class SiloAdmin(HistoryAdmin):
    list_display = ["code", "name", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["code", "name"]


@admin.register(SourceSystem)
class SourceSystemAdmin(HistoryAdmin):
    list_display = ["code", "name", "silo", "trust_rank", "is_active"]
    list_filter = ["is_active", "silo"]
    list_select_related = ["silo"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["silo"]


@admin.register(CommitteeMember)
class CommitteeMemberAdmin(HistoryAdmin):
    list_display = ["user", "role", "silo", "active_from", "active_until"]
    list_filter = ["role", "silo"]
    list_select_related = ["user", "silo"]
    raw_id_fields = ["user"]
    autocomplete_fields = ["silo"]
    search_fields = ["user__username", "user__last_name"]


class GovernedAdmin(HistoryAdmin):
    """A versioned, committee-approved item: new items start as drafts."""

    readonly_fields = GOVERNED_READONLY

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.status in FROZEN_STATUSES:
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change:
            obj.version = 1
            obj.status = GovernanceStatus.DRAFT
            obj.proposed_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(FieldDefinition)
class FieldDefinitionAdmin(GovernedAdmin):
    form = FieldDefinitionAdminForm
    list_display = [
        "canonical_name",
        "version",
        "status",
        "label",
        "data_type",
        "sensitivity",
        "owning_silo",
        "approved_at",
    ]
    list_filter = ["status", "sensitivity", "data_type", "owning_silo"]
    list_select_related = ["owning_silo"]
    search_fields = ["canonical_name", "label"]
    autocomplete_fields = ["owning_silo"]
    filter_horizontal = ["purposes"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The version in force is edited by proposing its successor; retired
        # versions stay as they were.
        if obj is not None and obj.status in (
            GovernanceStatus.DEPRECATED,
            GovernanceStatus.REJECTED,
        ):
            return False
        return HistoryAdmin.has_change_permission(self, request, obj)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            return
        stored = FieldDefinition.objects.get(pk=obj.pk)
        changes = {
            name: form.cleaned_data[name]
            for name in form.changed_data
            if name in FIELD_DEFINITION_CHANGEABLE
        }
        proposal = field_definition_propose_version(
            definition=stored,
            actor=admin_actor(request),
            reason=form.cleaned_data[REASON_FIELD],
            changes=changes,
        )
        # Remembered for save_related and response_change below.
        obj._proposal = proposal

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # Purposes were set by the proposal service, on the proposed version.
        if getattr(form.instance, "_proposal", None) is None:
            super().save_related(request, form, formsets, change)

    def response_change(self, request: HttpRequest, obj: Any) -> HttpResponse:
        proposal = getattr(obj, "_proposal", None)
        if proposal is None or proposal.pk == obj.pk:
            return super().response_change(request, obj)
        self.message_user(
            request,
            f"Proposed {proposal}; version {obj.version} stays in force until it is approved.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(
            reverse("admin:governance_fielddefinition_change", args=[proposal.pk])
        )


@admin.register(SourceFieldMapping)
class SourceFieldMappingAdmin(GovernedAdmin):
    form = SourceFieldMappingAdminForm
    list_display = ["source_system", "source_field", "field_definition", "version", "status"]
    list_filter = ["status", "source_system", "transform"]
    list_select_related = ["source_system", "field_definition"]
    search_fields = ["source_field", "field_definition__canonical_name"]
    autocomplete_fields = ["source_system", "field_definition"]


@admin.register(Lens)
class LensAdmin(GovernedAdmin):
    form = LensAdminForm
    list_display = ["code", "name", "version", "status", "purpose"]
    list_filter = ["status", "purpose"]
    list_select_related = ["purpose"]
    search_fields = ["code", "name"]
    filter_horizontal = ["fields", "roles"]


@admin.register(LifecycleDefinition)
class LifecycleDefinitionAdmin(GovernedAdmin):
    form = LifecycleDefinitionAdminForm
    list_display = ["kind", "version", "status", "window_days", "approved_at"]
    list_filter = ["status", "kind"]


@admin.register(ContactRule)
class ContactRuleAdmin(GovernedAdmin):
    form = ContactRuleAdminForm
    list_display = ["code", "name", "version", "status", "kind", "channel", "period_days"]
    list_filter = ["status", "kind"]
    list_select_related = ["channel"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["channel"]


class VoteInline(admin.TabularInline):
    model = Vote
    extra = 0
    fields = ["member", "silo", "choice", "comment", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(DataCollectionDecision)
class DataCollectionDecisionAdmin(HistoryAdmin):
    list_display = [
        "title",
        "kind",
        "status",
        "priority_score",
        "proposing_silo",
        "voting_deadline",
        "decided_at",
    ]
    list_filter = ["status", "kind", "proposing_silo"]
    list_select_related = ["proposing_silo"]
    search_fields = ["title"]
    raw_id_fields = ["proposed_by", "privacy_officer"]
    autocomplete_fields = ["field_definition", "source_system", "channel", "proposing_silo"]
    filter_horizontal = ["purposes"]
    readonly_fields = ["status", "decided_at", "decision_reason", "created_at", "updated_at"]
    inlines = [VoteInline]


@admin.register(Vote)
class VoteAdmin(HistoryAdmin):
    list_display = ["decision", "member", "silo", "choice", "created_at"]
    list_filter = ["choice", "silo"]
    list_select_related = ["decision", "member", "silo"]
    raw_id_fields = ["decision", "member"]
    autocomplete_fields = ["silo"]
    search_fields = ["decision__title"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A cast vote stands; a member changes their mind with a new decision round.
        if obj is not None:
            return False
        return super().has_change_permission(request, obj)
