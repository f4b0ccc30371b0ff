"""FilterSets of the governance app, shared by the API and the screens."""

from __future__ import annotations

import django_filters

from .choices import DataType, GovernanceStatus, Sensitivity
from .models import FieldDefinition


class FieldDefinitionFilterSet(django_filters.FilterSet):
    canonical_name = django_filters.CharFilter()
    status = django_filters.MultipleChoiceFilter(choices=GovernanceStatus.choices)
    data_type = django_filters.ChoiceFilter(choices=DataType.choices)
    sensitivity = django_filters.MultipleChoiceFilter(choices=Sensitivity.choices)
    owning_silo = django_filters.CharFilter(field_name="owning_silo__code")
    purpose = django_filters.CharFilter(field_name="purposes__code", distinct=True)

    class Meta:
        model = FieldDefinition
        fields = ["canonical_name", "status", "data_type", "sensitivity", "owning_silo"]
