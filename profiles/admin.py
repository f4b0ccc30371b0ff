"""Admin of the profiles app.

Customers are changed through ``customer_create``/``customer_update``, so an
admin edit is validated, locked, audited and historised like any other.
Foreign keys to Customer use raw ids: there may be a million customers.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template import engines

from customer360.admin import REASON_FIELD, HistoryAdmin, ReadOnlyAdmin, ReadOnlyInline, admin_actor

from .forms import CustomerAdminForm
from .insights.report import conflicts_by_silo_pair_and_month
from .models import (
    BlockingKey,
    Case,
    ContactConflictReport,
    Customer,
    Flag,
    Holding,
    Household,
    HouseholdMembership,
    ImportRun,
    Interaction,
    MatchCandidate,
    MatchModel,
    MergeEvent,
    NotAMatch,
    OutboundAction,
    QuarantinedRow,
    Relationship,
    ResolutionBatch,
    ResolutionRun,
    SourceFormat,
    SourceRecord,
)
from .services import CUSTOMER_IDENTITY_FIELDS, customer_create, customer_update


@admin.register(Customer)
class CustomerAdmin(HistoryAdmin):
    form = CustomerAdminForm
    list_display = [
        "customer_number",
        "family_name",
        "given_name",
        "lifecycle_status",
        "merged_into",
        "country",
        "updated_at",
    ]
    list_filter = ["lifecycle_status", "is_restricted"]
    list_select_related = ["merged_into"]
    # Exact or prefix matches only: they use the indexes on a large table.
    search_fields = ["=customer_number", "^family_name", "=email", "=phone"]
    show_full_result_count = False
    autocomplete_fields = ["preferred_channel"]
    readonly_fields = [
        "customer_number",
        "lifecycle_status",
        "merged_into",
        "merged_at",
        "is_restricted",
        "lineage",
        "created_at",
        "updated_at",
    ]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        actor = admin_actor(request)
        reason = form.cleaned_data[REASON_FIELD]
        if change:
            saved = customer_update(
                customer=obj,
                actor=actor,
                reason=reason,
                changes={
                    name: form.cleaned_data[name]
                    for name in form.changed_data
                    if name in CUSTOMER_IDENTITY_FIELDS
                },
            )
        else:
            identity = {
                name: value
                for name, value in form.cleaned_data.items()
                if name in CUSTOMER_IDENTITY_FIELDS
            }
            saved = customer_create(actor=actor, reason=reason, **identity)
        # The admin logs and redirects with the form's instance: point it at
        # the row the service wrote.
        obj.pk = saved.pk
        obj.refresh_from_db()


@admin.register(SourceRecord)
class SourceRecordAdmin(HistoryAdmin):
    """Source records arrive through ingest only; the admin shows them."""

    list_display = ["source_system", "source_key", "customer", "received_at"]
    list_filter = ["source_system"]
    list_select_related = ["source_system", "customer"]
    search_fields = ["=source_key", "=customer__customer_number"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class HouseholdMembershipInline(ReadOnlyInline):
    model = HouseholdMembership
    raw_id_fields = ["customer"]


@admin.register(Household)
class HouseholdAdmin(HistoryAdmin):
    list_display = ["label", "address_key", "created_at"]
    search_fields = ["^label", "=address_key"]
    inlines = [HouseholdMembershipInline]


@admin.register(HouseholdMembership)
class HouseholdMembershipAdmin(HistoryAdmin):
    list_display = ["household", "customer", "role", "valid_from", "valid_to"]
    list_filter = ["role"]
    list_select_related = ["household", "customer"]
    raw_id_fields = ["household", "customer"]
    search_fields = ["=customer__customer_number", "^household__label"]


@admin.register(Relationship)
class RelationshipAdmin(HistoryAdmin):
    list_display = ["from_customer", "kind", "to_customer", "valid_from", "valid_to"]
    list_filter = ["kind"]
    list_select_related = ["from_customer", "to_customer"]
    raw_id_fields = ["from_customer", "to_customer"]
    autocomplete_fields = ["source_system"]
    search_fields = ["=from_customer__customer_number", "=to_customer__customer_number"]


@admin.register(Holding)
class HoldingAdmin(HistoryAdmin):
    list_display = [
        "reference",
        "product_name",
        "customer",
        "source_system",
        "line_of_business",
        "status",
        "start_date",
        "end_date",
    ]
    list_filter = ["line_of_business", "status", "source_system"]
    list_select_related = ["customer", "source_system"]
    raw_id_fields = ["customer", "source_record"]
    autocomplete_fields = ["source_system"]
    search_fields = ["=reference", "=customer__customer_number"]
    show_full_result_count = False


@admin.register(Interaction)
class InteractionAdmin(HistoryAdmin):
    list_display = ["occurred_at", "customer", "kind", "direction", "channel", "silo", "outcome"]
    list_filter = ["kind", "direction", "outcome", "silo", "channel"]
    list_select_related = ["customer", "channel", "silo"]
    raw_id_fields = ["customer", "source_record", "holding", "agent"]
    autocomplete_fields = ["silo", "source_system", "channel"]
    search_fields = ["=customer__customer_number", "=external_id", "=reference"]
    show_full_result_count = False


@admin.register(Case)
class CaseAdmin(HistoryAdmin):
    list_display = ["reference", "subject", "customer", "kind", "status", "priority", "opened_at"]
    list_filter = ["kind", "status", "priority", "silo"]
    list_select_related = ["customer"]
    raw_id_fields = ["customer", "source_record", "holding", "owner"]
    autocomplete_fields = ["silo"]
    search_fields = ["=reference", "=customer__customer_number"]
    show_full_result_count = False


@admin.register(Flag)
class FlagAdmin(ReadOnlyAdmin):
    """Flags are computed by tasks from their inputs; nobody sets one by hand."""

    list_display = ["customer", "kind", "score", "label", "computed_at"]
    list_filter = ["kind", "label"]
    list_select_related = ["customer"]
    search_fields = ["=customer__customer_number"]
    show_full_result_count = False


@admin.register(OutboundAction)
class OutboundActionAdmin(HistoryAdmin):
    """Outbound actions enter only through contact arbitration (``action_propose``:
    the API, the agent screens, campaign files), so the admin shows them and
    their block reasons but never adds or edits one past the checks."""

    list_display = ["scheduled_for", "customer", "kind", "silo", "purpose", "channel", "status"]
    list_filter = ["status", "kind", "silo", "purpose", "channel"]
    list_select_related = ["customer", "silo", "purpose", "channel"]
    raw_id_fields = ["customer", "holding", "proposed_by", "proposed_by_client"]
    autocomplete_fields = ["silo", "purpose", "channel"]
    search_fields = ["=customer__customer_number", "=external_id"]
    show_full_result_count = False
    readonly_fields = ["why_blocked"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Why blocked")
    def why_blocked(self, obj: Any) -> str:
        return " ".join(reason.get("message", "") for reason in obj.block_reasons or []) or "-"


_REPORT_TEMPLATE = """{% extends "admin/base_site.html" %}
{% block content %}
<p>Outbound actions blocked because they contradicted another silo's pending or recent
action (incompatibility rules), by the month they were proposed and the pair of silos.</p>
<table>
  <thead><tr><th>Month</th><th>Silo</th><th>Silo</th><th>Conflicts</th></tr></thead>
  <tbody>
  {% for row in rows %}
    <tr><td>{{ row.month }}</td><td>{{ row.silo_a }}</td><td>{{ row.silo_b }}</td>
        <td>{{ row.count }}</td></tr>
  {% empty %}
    <tr><td colspan="4">No conflict has been blocked.</td></tr>
  {% endfor %}
  </tbody>
</table>
{% endblock %}"""


@admin.register(ContactConflictReport)
class ContactConflictReportAdmin(ReadOnlyAdmin):
    """The committee's report of conflicts by silo pair and month (a proxy's list page)."""

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.has_perm("profiles.view_contactconflictreport"))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Contact conflicts by silo pair and month",
            "opts": self.model._meta,
            "rows": conflicts_by_silo_pair_and_month(),
        }
        html = engines["django"].from_string(_REPORT_TEMPLATE).render(context, request)
        return HttpResponse(html)


# --- identity resolution: written by its services and tasks, shown here -----------


@admin.register(SourceFormat)
class SourceFormatAdmin(ReadOnlyAdmin):
    list_display = ["source_system", "key_column", "encoding", "delimiter"]


@admin.register(ImportRun)
class ImportRunAdmin(ReadOnlyAdmin):
    list_display = ["pk", "source_system", "file_name", "status", "rows_total",
                    "rows_quarantined", "started_at"]  # fmt: skip
    list_filter = ["status", "source_system"]


@admin.register(QuarantinedRow)
class QuarantinedRowAdmin(ReadOnlyAdmin):
    list_display = ["import_run", "row_number", "field", "reason"]
    list_select_related = ["import_run"]


@admin.register(MatchModel)
class MatchModelAdmin(ReadOnlyAdmin):
    list_display = ["version", "method", "trained_at", "training_pairs"]


@admin.register(MatchCandidate)
class MatchCandidateAdmin(ReadOnlyAdmin):
    list_display = ["pk", "customer_a", "customer_b", "probability", "status", "model_version"]
    list_filter = ["status"]
    list_select_related = ["customer_a", "customer_b"]
    show_full_result_count = False


@admin.register(NotAMatch)
class NotAMatchAdmin(ReadOnlyAdmin):
    list_display = ["record_a", "record_b", "decided_by", "actor_label", "created_at"]


@admin.register(MergeEvent)
class MergeEventAdmin(ReadOnlyAdmin):
    list_display = ["pk", "survivor", "merged", "actor", "actor_label", "created_at", "undone_at"]
    list_select_related = ["survivor", "merged", "actor"]
    show_full_result_count = False


@admin.register(BlockingKey)
class BlockingKeyAdmin(ReadOnlyAdmin):
    list_display = ["record", "rule", "key"]
    list_filter = ["rule"]
    search_fields = ["=key"]
    show_full_result_count = False


@admin.register(ResolutionRun)
class ResolutionRunAdmin(ReadOnlyAdmin):
    list_display = ["pk", "kind", "status", "batches_done", "batches_total", "records_done",
                    "merges", "candidates", "started_at", "finished_at"]  # fmt: skip
    list_filter = ["kind", "status"]


@admin.register(ResolutionBatch)
class ResolutionBatchAdmin(ReadOnlyAdmin):
    list_display = ["run", "number", "done_at"]
    list_select_related = ["run"]
    show_full_result_count = False
