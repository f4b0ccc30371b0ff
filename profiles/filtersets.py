"""FilterSets of the profiles app, shared by the API and the screens."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from customer360.filters import UtcIsoDateTimeFilter

from .choices import Direction, InteractionKind, LifecycleStatus
from .models import Customer, Interaction


class CustomerFilterSet(django_filters.FilterSet):
    """Lookups that the indexes on Customer serve: exact or prefix matches."""

    customer_number = django_filters.CharFilter(lookup_expr="iexact")
    family_name = django_filters.CharFilter(lookup_expr="istartswith")
    email = django_filters.CharFilter(lookup_expr="iexact")
    phone = django_filters.CharFilter()
    postcode = django_filters.CharFilter(lookup_expr="iexact")
    lifecycle_status = django_filters.MultipleChoiceFilter(choices=LifecycleStatus.choices)
    updated_since = UtcIsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Customer
        fields = ["customer_number", "family_name", "email", "phone", "postcode", "country"]


class InteractionFilterSet(django_filters.FilterSet):
    customer = django_filters.CharFilter(field_name="customer__customer_number")
    kind = django_filters.MultipleChoiceFilter(choices=InteractionKind.choices)
    direction = django_filters.ChoiceFilter(choices=Direction.choices)
    silo = django_filters.CharFilter(field_name="silo__code")
    channel = django_filters.CharFilter(field_name="channel__code")
    occurred_after = UtcIsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = UtcIsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = Interaction
        fields = ["customer", "kind", "direction", "silo", "channel", "outcome"]


class PartnerCustomerFilterSet(django_filters.FilterSet):
    """What a partner client may filter its own customers by: its source key,
    the customer number, lifecycle status and change time; never personal
    data (searching by name or e-mail is the agents' screens' business)."""

    source_key = django_filters.CharFilter(method="filter_source_key")
    customer_number = django_filters.CharFilter(lookup_expr="iexact")
    lifecycle_status = django_filters.MultipleChoiceFilter(choices=LifecycleStatus.choices)
    updated_since = UtcIsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Customer
        fields = ["source_key", "customer_number", "lifecycle_status", "updated_since"]

    def filter_source_key(
        self, queryset: QuerySet[Customer], name: str, value: str
    ) -> QuerySet[Customer]:
        # The queryset is already the client's customers; its own key system is
        # the one the view's selector put on the request.
        system_id = getattr(self.request, "partner_source_system_id", None)
        return queryset.filter(
            source_records__source_system_id=system_id, source_records__source_key=value
        )
