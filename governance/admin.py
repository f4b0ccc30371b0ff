"""Admin of the governance app: where the committee works.

Governed items are versioned. Every write goes through ``governance.services``:
a new item is a draft (``governed_create``); saving a draft or a proposal
changes it in place; saving the version in force proposes its successor
(``governed_propose``) and leaves it in force; the actions submit, approve,
reject and deprecate, each after asking for the reason on a confirmation page
(the reason goes to the history and the audit event). On decisions, the chair
closes a vote early and the proposer withdraws, with a reason the same way.
A refusal is shown as an error message and changes nothing. Decisions are
voted on from "My pending votes"; the overview draws its charts as
server-rendered SVG.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from customer360.admin import REASON_FIELD, HistoryAdmin, ReadOnlyInline, admin_actor

from . import charts
from .choices import DecisionStatus, GovernanceStatus
from .forms import (
    ActionReasonForm,
    ContactRuleAdminForm,
    DataCollectionDecisionAdminForm,
    FieldDefinitionAdminForm,
    LensAdminForm,
    LifecycleDefinitionAdminForm,
    MatchingConfigurationAdminForm,
    OpenVotingForm,
    PriorityInteractionAdminForm,
    QuorumRuleAdminForm,
    SourceFieldMappingAdminForm,
    VoteForm,
)
from .models import (
    CommitteeMember,
    ContactRule,
    DataCollectionDecision,
    FieldDefinition,
    GovernedVersion,
    Lens,
    LifecycleDefinition,
    MatchingConfiguration,
    PriorityInteraction,
    QuorumRule,
    Silo,
    SourceFieldMapping,
    SourceSystem,
    Vote,
)
from .selectors import (
    collected_fields_value_risk,
    coverage_report,
    decisions_by_status_and_silo,
    decisions_pending_vote,
)
from .services import (
    committee_member_save,
    decision_close,
    decision_close_early,
    decision_create,
    decision_open_voting,
    decision_withdraw,
    governed_approve,
    governed_changeable,
    governed_create,
    governed_deprecate,
    governed_propose,
    governed_reject,
    governed_submit,
    vote_cast,
)

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

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # A steward joining or leaving a silo gains or loses its drafts at once.
        committee_member_save(
            member=obj, actor=admin_actor(request), reason=form.cleaned_data[REASON_FIELD]
        )


def _refusal_text(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error) or "You may not do this."


def _perm(model: type[Any], action: str) -> str:
    return f"{model._meta.app_label}.{action}_{model._meta.model_name}"


# The confirmation page of an action that needs a reason.
ACTION_REASON_TEMPLATE = "admin/governance/action_reason.html"


def reason_action(
    *, name: str, description: str, verb: str
) -> Callable[
    [Callable[[Any, HttpRequest, Any, str], bool]],
    Callable[[Any, HttpRequest, QuerySet[Any]], HttpResponse | None],
]:
    """Make ``run(modeladmin, request, item, reason) -> done`` an admin action that
    first asks for the reason on a confirmation page, then runs once per item.

    Nothing changes until the user confirms with a reason; each item is its
    own transaction (in the service), so a refusal, shown as an error, leaves
    that item unchanged and the others are still tried.
    """

    def decorate(
        run: Callable[[Any, HttpRequest, Any, str], bool],
    ) -> Callable[[Any, HttpRequest, QuerySet[Any]], HttpResponse | None]:
        def action(
            modeladmin: Any, request: HttpRequest, queryset: QuerySet[Any]
        ) -> HttpResponse | None:
            form = ActionReasonForm(request.POST if "apply" in request.POST else None)
            if not form.is_bound or not form.is_valid():
                opts = modeladmin.model._meta
                context = {
                    **modeladmin.admin_site.each_context(request),
                    "opts": opts,
                    "title": f"{description}: give the reason",
                    "question": f"{description}. The reason is recorded in the change "
                    "history and the audit log of each of these:",
                    "items": list(queryset.order_by("pk")),
                    "action": name,
                    "verb": verb.capitalize(),
                    "form": form,
                    "cancel_url": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
                }
                return TemplateResponse(request, ACTION_REASON_TEMPLATE, context)
            reason = form.cleaned_data["change_reason"]
            done = 0
            for item in queryset.order_by("pk"):
                try:
                    done += bool(run(modeladmin, request, item, reason))
                except (ValidationError, PermissionDenied) as error:
                    modeladmin.message_user(
                        request, f"{item}: {_refusal_text(error)}", messages.ERROR
                    )
            if done:
                modeladmin.message_user(request, f"{verb.capitalize()}: {done}.", messages.SUCCESS)
            return None

        action.__name__ = name
        return admin.action(description=description)(action)

    return decorate


def _governed_action(
    service: Callable[..., Any], verb: str, description: str
) -> Callable[[Any, HttpRequest, QuerySet[Any]], HttpResponse | None]:
    """An admin action that runs a versioning ``service`` on each selected version,
    with the reason the user gives on the confirmation page."""

    def run(modeladmin: Any, request: HttpRequest, item: Any, reason: str) -> bool:
        service(item=item, actor=admin_actor(request), reason=reason)
        return True

    return reason_action(name=f"{verb}_selected", description=description, verb=verb)(run)


class GovernedAdmin(HistoryAdmin):
    """A versioned, committee-approved item, edited only through the services."""

    readonly_fields = [*GOVERNED_READONLY, "compare_link"]
    actions = [
        _governed_action(governed_submit, "submitted", "Submit selected drafts for approval"),
        _governed_action(governed_approve, "approved", "Approve selected proposals"),
        _governed_action(governed_reject, "rejected", "Reject selected proposals"),
        _governed_action(governed_deprecate, "deprecated", "Deprecate selected versions"),
    ]

    def get_actions(
        self, request: HttpRequest, action_location: Any = ActionLocation.CHANGE_LIST
    ) -> dict[str, Any]:
        # Bypass HistoryAdmin's ``actions = None``; delete is never offered.
        actions = admin.ModelAdmin.get_actions(self, request, action_location)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description="Compare")
    def compare_link(self, obj: Any) -> str:
        if obj is None or obj.pk is None or obj.previous_version_id is None:
            return "First version"
        info = (obj._meta.app_label, obj._meta.model_name)
        return format_html(
            '<a href="{}">Differences from v{}</a>',
            reverse("admin:{}_{}_diff".format(*info), args=[obj.pk]),
            obj.previous_version.version,
        )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        user: Any = request.user
        model = self.model
        if obj is None:
            return bool(user.has_perm(_perm(model, "change")) or user.has_perm(_perm(model, "add")))
        if obj.status in (GovernanceStatus.DEPRECATED, GovernanceStatus.REJECTED):
            return False  # retired versions stay as they were
        if obj.status == GovernanceStatus.APPROVED:
            # Saving the version in force proposes its successor: a new row.
            return bool(user.has_perm(_perm(model, "add")))
        return bool(
            user.has_perm(_perm(model, "change")) or user.has_perm(_perm(model, "change"), obj)
        )

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        actor = admin_actor(request)
        reason = form.cleaned_data[REASON_FIELD]
        try:
            if not change:
                governed_create(item=obj, actor=actor, reason=reason)
                return
            stored = type(obj)._default_manager.get(pk=obj.pk)
            changeable = governed_changeable(type(obj))
            changes = {
                name: form.cleaned_data[name] for name in form.changed_data if name in changeable
            }
            obj._proposal = governed_propose(
                item=stored,
                actor=actor,
                reason=reason,
                changes=changes,
                submit=stored.status != GovernanceStatus.DRAFT,
            )
        except (ValidationError, PermissionDenied) as error:
            obj._refusal = _refusal_text(error)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # A change's many-to-many values were set by the service, on the right version.
        if getattr(form.instance, "_refusal", None) is None and not change:
            super().save_related(request, form, formsets, change)

    def _refused_response(self, request: HttpRequest, obj: Any) -> HttpResponse | None:
        refusal = getattr(obj, "_refusal", None)
        if refusal is None:
            return None
        self.message_user(request, f"Nothing was changed: {refusal}", messages.ERROR)
        return HttpResponseRedirect(request.path)

    def response_add(
        self, request: HttpRequest, obj: Any, post_url_continue: Any = None
    ) -> HttpResponse:
        return self._refused_response(request, obj) or super().response_add(
            request, obj, post_url_continue
        )

    def response_change(self, request: HttpRequest, obj: Any) -> HttpResponse:
        refused = self._refused_response(request, obj)
        if refused is not None:
            return refused
        proposal = getattr(obj, "_proposal", None)
        if proposal is None or proposal.pk == obj.pk:
            return super().response_change(request, obj)
        info = (obj._meta.app_label, obj._meta.model_name)
        self.message_user(
            request,
            f"Proposed {proposal}; version {obj.version} stays in force until it is approved.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:{}_{}_change".format(*info), args=[proposal.pk]))

    def get_urls(self) -> list[Any]:
        info = (self.model._meta.app_label, self.model._meta.model_name)
        return [
            path(
                "<int:pk>/diff/",
                self.admin_site.admin_view(self.diff_view),
                name="{}_{}_diff".format(*info),
            ),
            *super().get_urls(),
        ]

    def diff_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The differences between a version and its predecessor (or ``?against=<pk>``)."""
        item = get_object_or_404(self.model, pk=pk)
        if not self.has_view_or_change_permission(request, item):
            raise PermissionDenied
        against_pk = request.GET.get("against") or item.previous_version_id
        other = None
        if against_pk:
            other = get_object_or_404(self.model, pk=against_pk)
        rows = []
        for name in sorted(governed_changeable(self.model)):
            field = self.model._meta.get_field(name)
            new = _display(item, name, field)
            old = _display(other, name, field) if other is not None else ""
            rows.append(
                {"label": field.verbose_name, "old": old, "new": new, "changed": old != new}
            )
        versions = self.model._default_manager.filter(
            **{key: getattr(item, key) for key in _version_key(item)}
        ).order_by("-version")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Differences: {item}",
            "item": item,
            "other": other,
            "rows": rows,
            "versions": versions,
        }
        return TemplateResponse(request, "admin/governance/version_diff.html", context)


def _version_key(item: GovernedVersion) -> tuple[str, ...]:
    from .services import GOVERNED_KEYS

    return GOVERNED_KEYS[type(item)]


def _display(item: Any, name: str, field: Any) -> str:
    if field.many_to_many:
        return ", ".join(sorted(str(value) for value in getattr(item, name).all()))
    if getattr(field, "choices", None):
        return str(getattr(item, f"get_{name}_display")())
    value = getattr(item, name)
    return "" if value is None else str(value)


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


class VoteInline(ReadOnlyInline):
    model = Vote
    fields = ["member", "silo", "choice", "comment", "created_at"]
    readonly_fields = fields


@admin.register(QuorumRule)
class QuorumRuleAdmin(GovernedAdmin):
    form = QuorumRuleAdminForm
    list_display = [
        "code",
        "version",
        "status",
        "min_turnout_percent",
        "majority_percent",
        "privacy_officer_approval_required",
        "privacy_officer_veto",
    ]
    list_filter = ["status"]


@admin.register(MatchingConfiguration)
class MatchingConfigurationAdmin(GovernedAdmin):
    form = MatchingConfigurationAdminForm
    list_display = ["code", "version", "status", "auto_merge_threshold", "review_threshold"]
    list_filter = ["status"]


@admin.register(PriorityInteraction)
class PriorityInteractionAdmin(GovernedAdmin):
    form = PriorityInteractionAdminForm
    list_display = ["rank", "code", "name", "interaction_kind", "version", "status"]
    list_filter = ["status", "interaction_kind"]
    search_fields = ["code", "name"]
    filter_horizontal = ["silos", "required_fields"]


@admin.register(DataCollectionDecision)
class DataCollectionDecisionAdmin(HistoryAdmin):
    """Decisions by status and silo; voting and closing go through the services."""

    form = DataCollectionDecisionAdminForm
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
    autocomplete_fields = ["field_definition", "source_system", "channel", "proposing_silo"]
    filter_horizontal = ["purposes"]
    readonly_fields = [
        "status",
        "proposed_by",
        "privacy_officer",
        "voting_deadline",
        "decided_at",
        "decision_reason",
        "created_at",
        "updated_at",
    ]
    inlines = [VoteInline]
    actions = ["close_selected", "close_early_selected", "withdraw_selected"]

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        # A new proposal has no votes yet.
        return [] if obj is None else list(self.inlines)

    def get_actions(
        self, request: HttpRequest, action_location: Any = ActionLocation.CHANGE_LIST
    ) -> dict[str, Any]:
        actions = admin.ModelAdmin.get_actions(self, request, action_location)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="Decide selected decisions whose deadline has passed")
    def close_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        if not request.user.has_perm("governance.change_datacollectiondecision"):
            self.message_user(request, "Only the chair closes decisions.", messages.ERROR)
            return
        decided = 0
        for decision in queryset.order_by("pk"):
            closed = decision_close(decision=decision)
            if closed.status != decision.status:
                decided += 1
            else:
                self.message_user(
                    request, f"{decision}: not decided (not open or not due).", messages.WARNING
                )
        if decided:
            self.message_user(request, f"Decided: {decided}.", messages.SUCCESS)

    @staticmethod
    @reason_action(
        name="close_early_selected",
        description="Close the vote on selected decisions early (chair)",
        verb="closed early",
    )
    def close_early_selected(
        modeladmin: Any, request: HttpRequest, decision: Any, reason: str
    ) -> bool:
        decision_close_early(decision=decision, actor=admin_actor(request), reason=reason)
        return True

    @staticmethod
    @reason_action(
        name="withdraw_selected",
        description="Withdraw selected proposals (proposer)",
        verb="withdrawn",
    )
    def withdraw_selected(
        modeladmin: Any, request: HttpRequest, decision: Any, reason: str
    ) -> bool:
        decision_withdraw(decision=decision, actor=admin_actor(request), reason=reason)
        return True

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        user: Any = request.user
        perm = "governance.change_datacollectiondecision"
        if obj is None:
            return bool(user.has_perm(perm))
        # Only a draft is edited; voting and deciding happen through the services.
        return obj.status == DecisionStatus.DRAFT and bool(
            user.has_perm(perm) or user.has_perm(perm, obj)
        )

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        try:
            created = decision_create(
                actor=admin_actor(request),
                reason=data[REASON_FIELD],
                purposes=data["purposes"],
                **{
                    name: data.get(name)
                    for name in DataCollectionDecisionAdminForm.Meta.fields
                    if name not in ("purposes",) and data.get(name) is not None
                },
            )
        except (ValidationError, PermissionDenied) as error:
            obj._refusal = _refusal_text(error)
        else:
            obj.pk = created.pk
            obj._state.adding = False

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        if change:
            super().save_related(request, form, formsets, change)

    def response_add(
        self, request: HttpRequest, obj: Any, post_url_continue: Any = None
    ) -> HttpResponse:
        refusal = getattr(obj, "_refusal", None)
        if refusal is not None:
            self.message_user(request, f"Nothing was changed: {refusal}", messages.ERROR)
            return HttpResponseRedirect(request.path)
        return super().response_add(request, obj, post_url_continue)

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("pending-votes/", view(self.pending_votes_view), name="governance_pending_votes"),
            path("overview/", view(self.overview_view), name="governance_overview"),
            path("coverage/", view(self.coverage_view), name="governance_coverage"),
            path("<int:pk>/vote/", view(self.vote_view), name="governance_decision_vote"),
            path(
                "<int:pk>/open-voting/",
                view(self.open_voting_view),
                name="governance_decision_open_voting",
            ),
            *super().get_urls(),
        ]

    def _context(self, request: HttpRequest, title: str, **extra: Any) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            **extra,
        }

    def pending_votes_view(self, request: HttpRequest) -> HttpResponse:
        """My pending votes: open decisions the user may still vote on."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        decisions = list(decisions_pending_vote(user=request.user))  # type: ignore[arg-type]
        return TemplateResponse(
            request,
            "admin/governance/pending_votes.html",
            self._context(request, "My pending votes", decisions=decisions),
        )

    def vote_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        decision = get_object_or_404(
            DataCollectionDecision.objects.select_related("proposing_silo", "field_definition"),
            pk=pk,
        )
        if not self.has_view_permission(request, decision):
            raise PermissionDenied
        form = VoteForm(request.POST or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            try:
                vote_cast(
                    decision=decision,
                    actor=admin_actor(request),
                    choice=form.cleaned_data["choice"],
                    comment=form.cleaned_data["comment"],
                    silo=form.cleaned_data.get("silo"),
                )
            except (ValidationError, PermissionDenied) as error:
                self.message_user(
                    request, f"Your vote was not recorded: {_refusal_text(error)}", messages.ERROR
                )
            else:
                self.message_user(request, f"Your vote on '{decision}' is recorded.")
                return HttpResponseRedirect(reverse("admin:governance_pending_votes"))
        return TemplateResponse(
            request,
            "admin/governance/decision_form.html",
            self._context(request, f"Vote: {decision}", decision=decision, form=form),
        )

    def open_voting_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        decision = get_object_or_404(DataCollectionDecision, pk=pk)
        if not self.has_view_permission(request, decision):
            raise PermissionDenied
        form = OpenVotingForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                decision_open_voting(
                    decision=decision,
                    actor=admin_actor(request),
                    reason=form.cleaned_data[REASON_FIELD],
                    privacy_officer=form.cleaned_data["privacy_officer"],
                    deadline=form.cleaned_data["voting_deadline"],
                )
            except (ValidationError, PermissionDenied) as error:
                self.message_user(
                    request, f"Nothing was changed: {_refusal_text(error)}", messages.ERROR
                )
            else:
                self.message_user(request, f"Voting on '{decision}' is open.")
                return HttpResponseRedirect(
                    reverse("admin:governance_datacollectiondecision_change", args=[pk])
                )
        return TemplateResponse(
            request,
            "admin/governance/decision_form.html",
            self._context(request, f"Open voting: {decision}", decision=decision, form=form),
        )

    def overview_view(self, request: HttpRequest) -> HttpResponse:
        """The governance overview: pending votes, then the three charts."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        report = coverage_report()
        context = self._context(
            request,
            "Governance overview",
            pending=list(decisions_pending_vote(user=request.user)),  # type: ignore[arg-type]
            decisions_chart=charts.decisions_by_status_and_silo(decisions_by_status_and_silo()),
            coverage_chart=charts.coverage_by_silo(report),
            value_risk_chart=charts.value_against_risk(collected_fields_value_risk()),
        )
        return TemplateResponse(request, "admin/governance/overview.html", context)

    def coverage_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("governance.view_sourcefieldmapping"):
            raise PermissionDenied
        return TemplateResponse(
            request,
            "admin/governance/coverage.html",
            self._context(request, "Field coverage by silo", report=coverage_report()),
        )


@admin.register(Vote)
class VoteAdmin(HistoryAdmin):
    list_display = ["decision", "member", "silo", "choice", "created_at"]
    list_filter = ["choice", "silo"]
    list_select_related = ["decision", "member", "silo"]
    raw_id_fields = ["decision", "member"]
    autocomplete_fields = ["silo"]
    search_fields = ["decision__title"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Votes are cast from "My pending votes", through ``vote_cast``.
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A cast vote stands; a member changes their mind with a new decision round.
        return False


# --- insights: next-best-action rules (issue 8) ---------------------------------------
# Imports kept here so this section never touches the lines above.
from .forms import GovernedItemForm  # noqa: E402
from .models import NbaRule  # noqa: E402


class NbaRuleAdminForm(GovernedItemForm):
    version_key = ("code",)

    class Meta:
        model = NbaRule
        fields = [
            "code",
            "name",
            "description",
            "essential",
            "rank",
            "action_kind",
            "purpose",
            "channel",
            "flag_kind",
            "flag_min_score",
            "requires_open_complaint",
            "requires_consent_renewal",
            "contact_reasons",
            "contact_channel",
            "holds_line",
            "lacks_line",
            "explanation",
        ]


@admin.register(NbaRule)
class NbaRuleAdmin(GovernedAdmin):
    """Next-best-action rules: versioned and approved like every governed item,
    with the agents' accepted and declined counts of each version."""

    form = NbaRuleAdminForm
    list_display = [
        "code",
        "name",
        "version",
        "status",
        "essential",
        "rank",
        "action_kind",
        "purpose",
        "accepted_count",
        "declined_count",
    ]
    list_filter = ["status", "essential", "action_kind"]
    list_select_related = ["purpose"]
    search_fields = ["code", "name"]
    readonly_fields = [*GovernedAdmin.readonly_fields, "accepted_count", "declined_count"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        from profiles.insights.nba import nba_response_count_subquery

        return (
            super()
            .get_queryset(request)
            .annotate(
                accepted=nba_response_count_subquery(accepted=True),
                declined=nba_response_count_subquery(accepted=False),
            )
        )

    @admin.display(description="Accepted", ordering="accepted")
    def accepted_count(self, obj: Any) -> int:
        return int(getattr(obj, "accepted", 0) or 0)

    @admin.display(description="Declined", ordering="declined")
    def declined_count(self, obj: Any) -> int:
        return int(getattr(obj, "declined", 0) or 0)
