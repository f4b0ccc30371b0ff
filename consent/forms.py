"""Forms of the consent app (the admin's for now; the agent screens add theirs)."""

from __future__ import annotations

from django import forms

from customer360.admin import ChangeReasonForm

from .choices import CaptureMethod, ConsentStatus, RequestStatus
from .models import Channel, ConsentRecord, Purpose

# What a person states and the evidence for it; who captured it and when are
# set by ``consent_record`` from the request.
CONSENT_STATEMENT_FIELDS = [
    "customer",
    "purpose",
    "channel",
    "status",
    "capture_method",
    "captured_via",
    "effective_from",
    "effective_until",
    "evidence_reference",
    "notice",
    "double_opt_in",
]


class ConsentRecordAdminForm(ChangeReasonForm):
    """A new consent statement; the reason is stored on the record and in history."""

    class Meta:
        model = ConsentRecord
        fields = CONSENT_STATEMENT_FIELDS


# --- agent and privacy-officer screens (issue 6) ----------------------------------


AGENT_CAPTURE_METHODS = [
    (m.value, m.label)
    for m in (CaptureMethod.CALL, CaptureMethod.IN_PERSON, CaptureMethod.EMAIL_REPLY)
]


class ConsentChangeForm(forms.Form):
    """A consent statement the customer makes during a call, with its evidence.

    Submitted twice: first without ``confirm`` (the screen then says exactly
    what will change), then with it.
    """

    purpose = forms.ModelChoiceField(
        queryset=Purpose.objects.filter(is_active=True, requires_consent=True).order_by("name"),
        to_field_name="code",
    )
    channel = forms.ModelChoiceField(
        queryset=Channel.objects.filter(is_active=True).order_by("name"), to_field_name="code"
    )
    status = forms.ChoiceField(
        label="The customer",
        choices=[
            (ConsentStatus.GRANTED.value, "Gives consent"),
            (ConsentStatus.WITHDRAWN.value, "Withdraws consent"),
            (ConsentStatus.DENIED.value, "Refuses consent"),
        ],
    )
    capture_method = forms.ChoiceField(
        label="How", choices=AGENT_CAPTURE_METHODS, initial=CaptureMethod.CALL.value
    )
    evidence_reference = forms.CharField(
        label="Evidence",
        max_length=200,
        help_text="E.g. the call recording id.",
    )
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)


class DsrActionForm(forms.Form):
    """One step of a data-subject request's workflow, with its reason."""

    ACTIONS = [
        ("assign_me", "Assign to me"),
        ("verify", "Identity verified"),
        ("fulfil", "Start fulfilment"),
        ("reject", "Reject"),
    ]
    action = forms.ChoiceField(choices=ACTIONS, widget=forms.HiddenInput)
    reason = forms.CharField(max_length=500, widget=forms.TextInput())


OPEN_STATUS_CHOICES = [("", "Open"), *RequestStatus.choices]
