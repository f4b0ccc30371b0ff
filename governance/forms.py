"""Forms of the governance app (the admin's for now)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.exceptions import ValidationError

from customer360.admin import ChangeReasonForm

from .models import ContactRule, FieldDefinition, Lens, LifecycleDefinition, SourceFieldMapping


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
        fields = [
            "canonical_name",
            "label",
            "description",
            "examples",
            "data_type",
            "validation_rule",
            "validation_pattern",
            "sensitivity",
            "owning_silo",
            "purposes",
            "retention_days",
            "survivorship_rule",
        ]

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
