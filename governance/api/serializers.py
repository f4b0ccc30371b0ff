"""Serializers of the governance app: explicit fields, never ``__all__``."""

from __future__ import annotations

from rest_framework import serializers

from governance.models import FieldDefinition


class FieldDefinitionSerializer(serializers.ModelSerializer[FieldDefinition]):
    """A canonical field as partners map their columns to it."""

    owning_silo = serializers.SlugRelatedField(slug_field="code", read_only=True)
    purposes = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)

    class Meta:
        model = FieldDefinition
        fields = [
            "canonical_name",
            "version",
            "status",
            *FieldDefinition.CONTENT_FIELDS,
            "approved_at",
        ]
        read_only_fields = fields
