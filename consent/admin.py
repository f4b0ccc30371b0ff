"""Admin of the consent app.

The consent ledger is append-only: the admin adds statements through
``consent_record`` and refuses to change or delete any.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from customer360.admin import REASON_FIELD, HistoryAdmin, ReadOnlyAdmin, admin_actor

from .forms import CONSENT_STATEMENT_FIELDS, ConsentRecordAdminForm
from .models import (
    Channel,
    ConsentRecord,
    DataSubjectExport,
    DataSubjectRequest,
    PrivacyCheckRun,
    PrivacyFinding,
    PrivacyNotice,
    ProcessingRestriction,
    Purpose,
    RetentionRun,
)
from .services import consent_record


@admin.register(Purpose)
class PurposeAdmin(HistoryAdmin):
    list_display = ["code", "name", "legal_basis", "requires_consent", "is_active"]
    list_filter = ["legal_basis", "requires_consent", "is_active"]
    search_fields = ["code", "name"]


@admin.register(Channel)
class ChannelAdmin(HistoryAdmin):
    list_display = ["code", "name", "is_outbound"]
    list_filter = ["is_outbound"]
    search_fields = ["code", "name"]


@admin.register(PrivacyNotice)
class PrivacyNoticeAdmin(HistoryAdmin):
    list_display = ["code", "version", "title", "published_at", "material_change"]
    list_filter = ["material_change"]
    search_fields = ["code", "title"]
    filter_horizontal = ["purposes"]


@admin.register(ConsentRecord)
class ConsentRecordAdmin(HistoryAdmin):
    form = ConsentRecordAdminForm
    list_display = [
        "customer",
        "purpose",
        "channel",
        "status",
        "effective_from",
        "effective_until",
        "capture_method",
        "captured_via",
        "captured_by",
    ]
    list_filter = ["status", "purpose", "channel", "capture_method"]
    list_select_related = ["customer", "purpose", "channel", "captured_via", "captured_by"]
    raw_id_fields = ["customer"]
    autocomplete_fields = ["notice"]
    search_fields = ["=customer__customer_number", "=evidence_reference"]
    show_full_result_count = False
    readonly_fields = [
        *CONSENT_STATEMENT_FIELDS,
        "captured_at",
        "captured_by",
        "captured_by_client",
        "source_record",
        "ip_address",
        "user_agent",
        "reason",
        "recorded_at",
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # The add form takes a statement; a saved statement is never edited.
        if obj is None:
            return []
        return self.readonly_fields

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"effective_from": timezone.now(), **super().get_changeform_initial_data(request)}

    def formfield_for_foreignkey(
        self, db_field: models.ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> Any:
        if db_field.name == "purpose":
            # Consent is recorded for active purposes only (the service refuses others).
            kwargs["queryset"] = Purpose.objects.filter(is_active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        data = form.cleaned_data
        record = consent_record(
            actor=admin_actor(request),
            reason=data[REASON_FIELD],
            **{name: data[name] for name in CONSENT_STATEMENT_FIELDS if name in data},
        )
        # The admin logs and redirects with the form's instance: point it at
        # the row the service wrote.
        obj.pk = record.pk
        obj.refresh_from_db()


@admin.register(DataSubjectRequest)
class DataSubjectRequestAdmin(HistoryAdmin):
    list_display = [
        "reference",
        "kind",
        "status",
        "customer",
        "received_at",
        "due_at",
        "assigned_to",
        "progress",
    ]
    list_filter = ["kind", "status", "received_via"]
    list_select_related = ["customer", "assigned_to"]
    raw_id_fields = ["customer", "identity_verified_by", "assigned_to"]
    search_fields = ["=reference", "=customer__customer_number"]
    # The workflow moves only through the dsr_* services (verification,
    # assignment with its object permission, extension with the e-mail to
    # the person, fulfilment by the task): never by editing these here.
    readonly_fields = [
        "reference",
        "status",
        "due_at",
        "extended_due_at",
        "extension_reason",
        "identity_verified_at",
        "identity_verified_by",
        "assigned_to",
        "progress",
        "progress_report",
        "attempts",
        "completed_at",
        "outcome",
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [] if obj is None else self.readonly_fields

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        # The task's claim and raw step list are shown as the progress report.
        return ["progress_steps", "claimed_by", "claimed_at"]

    @admin.display(description="Fulfilment steps")
    def progress_report(self, obj: DataSubjectRequest) -> str:
        """What the fulfilment task did so far, one line per step (counts only)."""
        if not obj.progress_steps:
            return "Not started."
        return format_html(
            "<ol>{}</ol>",
            format_html_join(
                "",
                "<li>{} {}{}</li>",
                (
                    (
                        step.get("at", "")[:19].replace("T", " "),
                        step["step"],
                        _step_detail(step),
                    )
                    for step in obj.progress_steps
                ),
            ),
        )


def _step_detail(step: dict[str, Any]) -> str:
    # Sorted: PostgreSQL's jsonb does not keep the keys' order.
    detail = {k: step[k] for k in sorted(step) if k not in ("step", "at")}
    return (": " + ", ".join(f"{k} {v}" for k, v in detail.items())) if detail else ""


class PrivacyFindingInline(admin.TabularInline):
    """A run's findings, read-only: checks write them, nobody edits them."""

    model = PrivacyFinding
    fields = ["check_code", "severity", "subject", "count", "detail"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PrivacyCheckRun)
class PrivacyCheckRunAdmin(ReadOnlyAdmin):
    """The privacy-check reports, with their findings; written by the checks only."""

    list_display = ["as_of", "status", "started_at", "finished_at", "finding_count"]
    list_filter = ["status"]
    readonly_fields = [
        "as_of",
        "status",
        "started_at",
        "finished_at",
        "completed_checks",
        "triggered_by",
    ]
    inlines = [PrivacyFindingInline]

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[PrivacyCheckRun]:
        return super().get_queryset(request).annotate(_finding_count=models.Count("findings"))

    @admin.display(description="Findings", ordering="_finding_count")
    def finding_count(self, obj: Any) -> int:
        return int(obj._finding_count)


@admin.register(PrivacyFinding)
class PrivacyFindingAdmin(ReadOnlyAdmin):
    """Findings across runs, to filter by check and severity."""

    list_display = ["run", "check_code", "severity", "subject", "count"]
    list_filter = ["check_code", "severity"]
    list_select_related = ["run"]
    search_fields = ["subject"]


@admin.register(RetentionRun)
class RetentionRunAdmin(ReadOnlyAdmin):
    list_display = ["as_of", "dry_run", "started_at", "finished_at", "triggered_by"]
    list_filter = ["dry_run"]
    readonly_fields = ["dry_run", "as_of", "started_at", "finished_at", "report", "triggered_by"]


@admin.register(ProcessingRestriction)
class ProcessingRestrictionAdmin(ReadOnlyAdmin):
    list_display = ["customer", "request", "active_from", "lifted_at"]
    list_select_related = ["customer", "request"]
    raw_id_fields = ["customer", "request"]
    search_fields = ["=customer__customer_number", "=request__reference"]


@admin.register(DataSubjectExport)
class DataSubjectExportAdmin(ReadOnlyAdmin):
    list_display = ["request", "kind", "created_at"]
    list_select_related = ["request"]
    readonly_fields = ["request", "kind", "summary", "data", "created_at"]
