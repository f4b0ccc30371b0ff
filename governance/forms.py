"""Forms of the governance app (the admin's for now)."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from customer360.admin import ChangeReasonForm

from .choices import CommitteeRole, VoteChoice
from .models import (
    ContactRule,
    DataCollectionDecision,
    FieldDefinition,
    Lens,
    LifecycleDefinition,
    MatchingConfiguration,
    PriorityInteraction,
    QuorumRule,
    Silo,
    SourceFieldMapping,
)


class GovernedItemForm(ChangeReasonForm):
    """Adds a new governed item as version 1.

    A name that already has versions is refused here: a change to an existing
    item is a new version of it, not a second item with the same name.
    """

    version_key: ClassVar[tuple[str, ...]] = ()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.instance.pk is None and self.version_key:
            key = {name: cleaned.get(name) for name in self.version_key}
            if None not in key.values() and type(self.instance).objects.filter(**key).exists():
                raise ValidationError(
                    "This item already exists; change it to propose a new version."
                )
        return cleaned


class FieldDefinitionAdminForm(GovernedItemForm):
    version_key = ("canonical_name",)

    class Meta:
        model = FieldDefinition
        fields = ["canonical_name", *FieldDefinition.CONTENT_FIELDS]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None and "canonical_name" in self.fields:
            # The canonical name is what every version shares.
            self.fields["canonical_name"].disabled = True


class SourceFieldMappingAdminForm(GovernedItemForm):
    version_key = ("source_system", "source_field")

    class Meta:
        model = SourceFieldMapping
        fields = [
            "source_system",
            "source_field",
            "field_definition",
            "transform",
            "transform_args",
        ]


class LensAdminForm(GovernedItemForm):
    version_key = ("code",)

    class Meta:
        model = Lens
        fields = ["code", "name", "description", "purpose", "fields", "sections", "roles"]


class LifecycleDefinitionAdminForm(GovernedItemForm):
    version_key = ("kind",)

    class Meta:
        model = LifecycleDefinition
        fields = ["kind", "description", "window_days"]


class ContactRuleAdminForm(GovernedItemForm):
    version_key = ("code",)

    class Meta:
        model = ContactRule
        fields = [
            "code",
            "name",
            "kind",
            "scope",
            "channel",
            "max_contacts",
            "period_days",
            "action_kind",
            "incompatible_with",
            "same_holding_only",
            "description",
        ]


class QuorumRuleAdminForm(GovernedItemForm):
    version_key = ("code",)

    class Meta:
        model = QuorumRule
        fields = [
            "code",
            "min_turnout_percent",
            "majority_percent",
            "privacy_officer_approval_required",
            "privacy_officer_veto",
            "default_voting_days",
        ]


class MatchingConfigurationAdminForm(GovernedItemForm):
    version_key = ("code",)

    class Meta:
        model = MatchingConfiguration
        fields = ["code", "auto_merge_threshold", "review_threshold", "description"]


class PriorityInteractionAdminForm(GovernedItemForm):
    version_key = ("code",)

    class Meta:
        model = PriorityInteraction
        fields = [
            "code",
            "name",
            "interaction_kind",
            "rank",
            "silos",
            "required_fields",
            "description",
        ]


class DataCollectionDecisionAdminForm(ChangeReasonForm):
    """A proposal to collect a field or open a source or channel, with its scores."""

    class Meta:
        model = DataCollectionDecision
        fields = [
            "kind",
            "title",
            "field_definition",
            "source_system",
            "channel",
            "purposes",
            "rationale",
            "business_value",
            "actionability",
            "cost",
            "privacy_risk",
            "privacy_impact_note",
            "proposing_silo",
        ]


class VoteForm(forms.Form):
    """A committee member's vote: approve, reject or abstain, with a comment."""

    choice = forms.ChoiceField(choices=VoteChoice.choices, widget=forms.RadioSelect)
    # The vote's reason: required, it is recorded with the vote and in the audit log.
    comment = forms.CharField(label="Reason", widget=forms.Textarea(attrs={"rows": 3}))
    silo = forms.ModelChoiceField(
        queryset=Silo.objects.none(),
        required=False,
        help_text="Only if you represent more than one silo.",
    )

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if user is not None:
            self.fields["silo"].queryset = Silo.objects.filter(  # type: ignore[attr-defined]
                members__user=user, members__role=CommitteeRole.MEMBER
            ).distinct()


class ActionReasonForm(forms.Form):
    """The reason an admin action asks for on its confirmation page.

    Required: it becomes the history row's change reason and the audit
    event's reason of every item the action changes.
    """

    change_reason = forms.CharField(
        label="Reason",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why; stored in the change history and the audit log of each item.",
    )

    def clean_change_reason(self) -> str:
        reason = str(self.cleaned_data["change_reason"]).strip()
        if not reason:
            raise ValidationError("Give a reason.")
        return reason


class OpenVotingForm(forms.Form):
    """Opening the vote: who the privacy officer is, until when, and why."""

    privacy_officer = forms.ModelChoiceField(
        queryset=User.objects.filter(committee_roles__role=CommitteeRole.PRIVACY_OFFICER).distinct()
    )
    voting_deadline = forms.DateTimeField(
        required=False, help_text="Empty: the quorum rule's default voting period."
    )
    change_reason = forms.CharField(
        label="Reason for change", widget=forms.Textarea(attrs={"rows": 2})
    )
