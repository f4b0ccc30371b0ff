"""Serializers of the profiles app: explicit fields, never ``__all__``."""

from __future__ import annotations

from rest_framework import serializers

from profiles.models import Customer


class CustomerReferenceSerializer(serializers.ModelSerializer[Customer]):
    """How other resources point at a customer: by number, with no personal data."""

    class Meta:
        model = Customer
        fields = ["customer_number", "lifecycle_status"]
        read_only_fields = fields
