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

from customer360.admin import REASON_FIELD, HistoryAdmin, admin_actor

from .forms import CONSENT_STATEMENT_FIELDS, ConsentRecordAdminForm
from .models import Channel, ConsentRecord, DataSubjectRequest, PrivacyNotice, Purpose
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
