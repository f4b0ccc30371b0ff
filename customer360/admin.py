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
from .models import AuditEvent, NumberSequence, OutboxEvent, WorkerHeartbeat
from .services import Actor, model_save

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
