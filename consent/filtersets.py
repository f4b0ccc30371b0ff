"""FilterSets of the consent app, shared by the API and the screens."""

from __future__ import annotations

import django_filters

from customer360.filters import UtcIsoDateTimeFilter

from .choices import CaptureMethod, ConsentStatus
from .models import ConsentRecord


class ConsentRecordFilterSet(django_filters.FilterSet):
    customer = django_filters.CharFilter(field_name="customer__customer_number")
    purpose = django_filters.CharFilter(field_name="purpose__code")
    channel = django_filters.CharFilter(field_name="channel__code")
    status = django_filters.MultipleChoiceFilter(choices=ConsentStatus.choices)
    capture_method = django_filters.ChoiceFilter(choices=CaptureMethod.choices)
    effective_after = UtcIsoDateTimeFilter(field_name="effective_from", lookup_expr="gte")
    expires_before = UtcIsoDateTimeFilter(field_name="effective_until", lookup_expr="lt")

    class Meta:
        model = ConsentRecord
        fields = ["customer", "purpose", "channel", "status", "capture_method"]
