"""Web screens of the consent app: consent capture on the card, data-subject requests.

Reads go through ``consent.selectors``; writes through ``consent.services``
(``consent_record``/``consent_withdraw``, the ``dsr_*`` workflow).
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.forms import ModelChoiceField
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from governance.choices import CardSection
from profiles.views import MergedAway, _lens_or_403, _page, visible_customer, web_actor

from .choices import ConsentStatus, RequestStatus
from .forms import AGENT_CAPTURE_METHODS, ConsentChangeForm, DsrActionForm
from .models import DataSubjectRequest
from .selectors import (
    OPEN_REQUEST_STATUSES,
    ConsentOverview,
    consent_effective,
    consent_overview,
)
from .services import (
    consent_record,
    consent_withdraw,
    dsr_assign,
    dsr_fulfil,
    dsr_reject,
    dsr_verify_identity,
)


def _consent_rows(overview: ConsentOverview) -> list[dict[str, Any]]:
    """Per purpose that needs consent: each outbound channel, allowed or not."""
    return [
        {
            "purpose": purpose,
            "cells": [
                (channel, overview.table.allows(purpose, channel)) for channel in overview.outbound
            ],
        }
        for purpose in overview.purposes
    ]


def _offer(form: ConsentChangeForm, overview: ConsentOverview) -> None:
    """The form's purpose and channel choices from the rows the panel read
    already (the same querysets), instead of a query each when rendered."""
    for name, objects in (("purpose", overview.purposes), ("channel", overview.channels)):
        field = cast(ModelChoiceField, form.fields[name])
        empty = [] if field.empty_label is None else [("", field.empty_label)]
        field.choices = [
            *empty,
            *((field.prepare_value(obj), field.label_from_instance(obj)) for obj in objects),
        ]


@login_required
@require_http_methods(["GET", "POST"])
def customer_consent_panel(request: HttpRequest, number: str) -> HttpResponse:
    """Consent per purpose and channel, renewal prompts, and recording a change.

    A change is posted twice: first the screen says exactly what will change
    (from what to what, effective when, with which evidence), then the
    confirmed post records it.
    """
    try:
        customer = visible_customer(request, number)
    except MergedAway as moved:
        return redirect("consent:customer-consent", number=moved.survivor)
    lens = _lens_or_403(request)
    if CardSection.CONSENT not in (lens.sections or []):
        raise Http404("This purpose does not show consent.")
    form = ConsentChangeForm(request.POST or None, auto_id="consent_%s")
    pending: dict[str, Any] | None = None
    status = 200
    if request.method == "POST":
        if not request.user.has_perm("consent.add_consentrecord"):
            raise Http404("No such screen.")
        if form.is_valid():
            data = form.cleaned_data
            current = consent_effective(
                customer=customer, purpose=data["purpose"], channel=data["channel"]
            )
            before = current.get_status_display() if current else "No statement"
            pending = {
                "purpose": data["purpose"],
                "channel": data["channel"],
                "before": before,
                "after": ConsentStatus(data["status"]).label,
                "evidence": data["evidence_reference"],
                "method": dict(AGENT_CAPTURE_METHODS)[data["capture_method"]],
            }
            if data["confirm"]:
                try:
                    _consent_change(request, customer, data)
                except ValidationError as error:
                    form.add_error(None, error)
                    status = 400
                    pending = None
                else:
                    messages.success(
                        request,
                        f"{pending['purpose'].name} by {pending['channel'].name}: "
                        f"{pending['before']} → {pending['after']}.",
                    )
                    if not getattr(request, "htmx", False):
                        return redirect("profiles:card", number=customer.customer_number)
                    form = ConsentChangeForm(auto_id="consent_%s")
                    pending = None
        else:
            status = 400
    overview = consent_overview(customer=customer)
    _offer(form, overview)
    response = _page(
        request,
        "consent/_consent_panel.html",
        {
            "customer": customer,
            "rows": _consent_rows(overview),
            "channels": overview.outbound,
            "renewals": overview.renewals,
            "form": form,
            "pending": pending,
            "may_change": request.user.has_perm("consent.add_consentrecord"),
        },
        "Consent",
    )
    response.status_code = status
    return response


def _consent_change(request: HttpRequest, customer: Any, data: dict[str, Any]) -> None:
    common = {
        "customer": customer,
        "purpose": data["purpose"],
        "channel": data["channel"],
        "capture_method": data["capture_method"],
        "captured_via": "phone",
        "actor": web_actor(request),
        "reason": "Stated by the customer during the contact",
        "evidence_reference": data["evidence_reference"],
        "user_agent": request.headers.get("User-Agent", "")[:200],
    }
    if data["status"] == ConsentStatus.WITHDRAWN:
        consent_withdraw(**common)
    else:
        consent_record(status=data["status"], **common)


# --- privacy officer ------------------------------------------------------------------


@login_required
@permission_required("consent.change_datasubjectrequest", raise_exception=True)
def dsr_list(request: HttpRequest) -> HttpResponse:
    """Data-subject requests, open ones by deadline; filter by status."""
    status = request.GET.get("status", "")
    requests = DataSubjectRequest.objects.select_related("customer", "assigned_to")
    if status in RequestStatus.values:
        requests = requests.filter(status=status)
    else:
        requests = requests.filter(status__in=OPEN_REQUEST_STATUSES)
    return render(
        request,
        "consent/dsr_list.html",
        {
            "requests": list(requests.order_by("due_at")[:200]),
            "status": status,
            "statuses": RequestStatus.choices,
        },
    )


@login_required
@permission_required("consent.change_datasubjectrequest", raise_exception=True)
@require_http_methods(["GET", "POST"])
def dsr_detail(request: HttpRequest, reference: str) -> HttpResponse:
    """One request: deadline, assignment, progress, and the next workflow step."""
    dsr = get_object_or_404(
        DataSubjectRequest.objects.select_related("customer", "assigned_to", "received_via"),
        reference=reference,
    )
    form = DsrActionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            action, reason = form.cleaned_data["action"], form.cleaned_data["reason"]
            actor = web_actor(request)
            try:
                if action == "assign_me":
                    dsr_assign(request=dsr, assignee=request.user, actor=actor, reason=reason)  # type: ignore[arg-type]
                elif action == "verify":
                    dsr_verify_identity(request=dsr, actor=actor, reason=reason)
                elif action == "fulfil":
                    dsr_fulfil(request=dsr, actor=actor, reason=reason)
                else:
                    dsr_reject(request=dsr, actor=actor, reason=reason)
            except ValidationError as error:
                form.add_error(None, error)
                status = 400
            else:
                messages.success(request, f"{dsr.reference}: {dict(form.ACTIONS)[action]}.")
                return redirect("consent:dsr-detail", reference=dsr.reference)
        else:
            status = 400
    response = render(
        request,
        "consent/dsr_detail.html",
        {
            "dsr": dsr,
            "form": form,
            "actions": DsrActionForm.ACTIONS,
            "is_open": dsr.status in OPEN_REQUEST_STATUSES,
        },
    )
    response.status_code = status
    return response
