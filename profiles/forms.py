"""Forms of the profiles app (the admin's for now; the agent screens add theirs)."""

from __future__ import annotations

from django import forms

from consent.models import Channel
from customer360.admin import ChangeReasonForm
from governance.models import Silo

from .choices import CaseKind, Direction, InteractionKind, Outcome
from .identity.review import DECISIONS
from .models import Customer
from .services import CUSTOMER_IDENTITY_FIELDS


class CustomerAdminForm(ChangeReasonForm):
    """Identity fields only: everything else on a customer has its own service."""

    class Meta:
        model = Customer
        fields = sorted(CUSTOMER_IDENTITY_FIELDS)


# --- agent and steward screens (issue 6) -------------------------------------------


# The mood an agent notes, stored as the interaction's sentiment (-1 .. 1).
MOODS = [
    ("", "Not noted"),
    ("-1", "Very unhappy"),
    ("-0.5", "Unhappy"),
    ("0", "Neutral"),
    ("0.5", "Happy"),
    ("1", "Very happy"),
]


class SearchForm(forms.Form):
    """The agent's one search box."""

    q = forms.CharField(
        label="Find a customer",
        max_length=200,
        required=False,
        help_text="Name, phone, e-mail, customer number or a silo's own key.",
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )


class InteractionLogForm(forms.Form):
    """What the agent records about a contact; an optional follow-up case."""

    channel = forms.ModelChoiceField(
        queryset=Channel.objects.filter(is_active=True).order_by("name"), to_field_name="code"
    )
    silo = forms.ModelChoiceField(
        label="Handled by",
        queryset=Silo.objects.filter(is_active=True).order_by("name"),
        to_field_name="code",
    )
    direction = forms.ChoiceField(choices=Direction.choices, initial=Direction.INBOUND)
    kind = forms.ChoiceField(label="What it was about", choices=InteractionKind.choices)
    outcome = forms.ChoiceField(choices=[("", "Not yet known"), *Outcome.choices], required=False)
    mood = forms.ChoiceField(label="Customer's mood", choices=MOODS, required=False)
    note = forms.CharField(
        max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    follow_up_kind = forms.ChoiceField(
        label="Open a follow-up case",
        choices=[("", "No follow-up case"), *CaseKind.choices],
        required=False,
    )
    follow_up_subject = forms.CharField(label="Case subject", max_length=200, required=False)

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("follow_up_kind") and not data.get("follow_up_subject", "").strip():
            self.add_error("follow_up_subject", "Say what the follow-up case is about.")
        if data.get("follow_up_subject", "").strip() and not data.get("follow_up_kind"):
            self.add_error("follow_up_kind", "Choose the kind of case to open.")
        return data

    def sentiment(self) -> float | None:
        mood = self.cleaned_data.get("mood")
        return float(mood) if mood not in (None, "") else None


class ReviewDecisionForm(forms.Form):
    """A steward's decision on a candidate pair."""

    decision = forms.ChoiceField(
        choices=[(d, d.replace("_", " ").capitalize()) for d in DECISIONS],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class UnmergeForm(forms.Form):
    """Why a merge is undone."""

    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
