"""Admin base classes every app's admin uses, and the project's own models.

Every admin save goes through ``customer360.services.model_save`` (or an app
service), with the admin user as actor, channel ``admin`` and the reason typed
into the required "Reason for change" field, so the change history says who
changed what and why. Nothing is deleted through the admin: governed items
are deprecated by new versions, ledgers are append-only, and erasure is a
data-subject request.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from .choices import ActorChannel
from .models import (
    AccessLog,
    ApiClient,
    AuditEvent,
    IdempotencyKey,
    NumberSequence,
    OutboxEvent,
    WebhookDelivery,
    WebhookSubscription,
    WorkerHeartbeat,
)
from .services import Actor, api_client_save, model_save, webhook_subscription_save

admin.site.site_header = "customer360 governance"
admin.site.site_title = "customer360 governance"
admin.site.index_title = "Governance and data administration"

REASON_FIELD = "change_reason"


class ChangeReasonForm(forms.ModelForm):
    """A model form with the required "Reason for change" that history stores."""

    change_reason = forms.CharField(
        label="Reason for change",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why you make this change; it is stored in the change history.",
    )


def admin_actor(request: HttpRequest) -> Actor:
    """The acting admin user, as an Actor of the admin channel."""
    return Actor(user=request.user, channel=ActorChannel.ADMIN)  # type: ignore[arg-type]


class HistoryAdmin(SimpleHistoryAdmin):
    """Admin of a history-tracked model: saves through ``model_save`` with a reason."""

    form = ChangeReasonForm
    history_list_display = ["history_change_reason"]
    actions = None  # the only bulk action Django offers is delete, refused below

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # The reason comes last, and only where something can be saved: a
        # view-only page has nothing to give a reason for.
        fields = [name for name in super().get_fields(request, obj) if name != REASON_FIELD]
        if obj is None or self.has_change_permission(request, obj):
            fields.append(REASON_FIELD)
        return fields

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        model_save(obj, actor=admin_actor(request), reason=form.cleaned_data[REASON_FIELD])

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyMixin:
    """No add, change or delete through the admin, for anyone: view only."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Admin for rows nobody edits by hand: viewable with the view permission only."""

    actions = None


class ReadOnlyInline(ReadOnlyMixin, admin.TabularInline):
    """An inline that lists related rows without offering to edit them."""

    extra = 0


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The business audit log: append-only, so read-only for everyone."""

    list_display = [
        "occurred_at",
        "event_type",
        "subject_type",
        "subject_id",
        "customer_number",
        "actor",
        "actor_label",
        "channel",
    ]
    list_filter = ["event_type", "channel"]
    list_select_related = ["actor", "subject_type"]
    search_fields = ["=customer_number", "=subject_id", "=request_id"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False


@admin.register(NumberSequence)
class NumberSequenceAdmin(ReadOnlyAdmin):
    list_display = ["name", "last_value"]


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnlyAdmin):
    list_display = ["hostname", "token", "seen_at"]
    ordering = ["-seen_at"]


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdmin):
    """Domain events announced to partner systems: append-only, so read-only."""

    list_display = ["id", "occurred_at", "event_type", "customer_number"]
    list_filter = ["event_type"]
    search_fields = ["=customer_number", "=request_id"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False


# --- partner API (issue 7) -----------------------------------------------------------------


@admin.register(ApiClient)
class ApiClientAdmin(HistoryAdmin):
    """Partner clients: the source system each speaks for, its scopes, on or off.

    The credentials live in the OAuth application (django-oauth-toolkit's own
    admin, client-credentials grant); lenses a client may read through are
    chosen on the lens. Every change is audited API_CLIENT_CHANGED.
    """

    list_display = ["application", "source_system", "scopes", "is_active", "updated_at"]
    list_filter = ["is_active", "source_system"]
    list_select_related = ["application", "source_system"]
    search_fields = ["application__name", "application__client_id"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        api_client_save(
            client=obj, actor=admin_actor(request), reason=form.cleaned_data[REASON_FIELD]
        )


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(HistoryAdmin):
    """Where a partner's domain events are pushed; changes audited API_CLIENT_CHANGED."""

    list_display = ["application", "url", "event_types", "is_active"]
    list_filter = ["is_active"]
    list_select_related = ["application"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        webhook_subscription_save(
            subscription=obj, actor=admin_actor(request), reason=form.cleaned_data[REASON_FIELD]
        )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    """Deliveries of events to webhooks: attempts, next try, dead letters."""

    list_display = ["id", "event", "subscription", "status", "attempts", "next_attempt_at"]
    list_filter = ["status"]
    list_select_related = ["event", "subscription"]
    show_full_result_count = False


@admin.register(AccessLog)
class AccessLogAdmin(ReadOnlyAdmin):
    """Every read of personal data through the API, for the privacy officer:
    search by customer number or request id, filter by client, lens, endpoint."""

    list_display = [
        "accessed_at",
        "customer_number",
        "application",
        "lens_code",
        "lens_version",
        "endpoint",
        "request_id",
    ]
    list_filter = ["endpoint", "lens_code", "application"]
    list_select_related = ["application"]
    search_fields = ["=customer_number", "=request_id"]
    date_hierarchy = "accessed_at"
    show_full_result_count = False


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(ReadOnlyAdmin):
    """Stored answers to retried writes (Idempotency-Key)."""

    list_display = ["created_at", "application", "key", "endpoint", "response_status"]
    list_select_related = ["application"]
    search_fields = ["=key"]
    show_full_result_count = False
