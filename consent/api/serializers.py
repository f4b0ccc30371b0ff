"""Serializers of the consent app: explicit fields, never ``__all__``."""

from __future__ import annotations

from rest_framework import serializers

from consent.choices import STATED_STATUSES
from consent.models import Channel, ConsentRecord, Purpose
from customer360.api.base import StrictSerializer


class PurposeSerializer(serializers.ModelSerializer[Purpose]):
    class Meta:
        model = Purpose
        fields = ["code", "name", "description", "legal_basis", "requires_consent", "is_active"]
        read_only_fields = fields


class ChannelSerializer(serializers.ModelSerializer[Channel]):
    class Meta:
        model = Channel
        fields = ["code", "name", "is_outbound"]
        read_only_fields = fields


class ConsentRecordSerializer(serializers.ModelSerializer[ConsentRecord]):
    """One ledger entry as read; writes go through ``consent_record``."""

    customer = serializers.SlugRelatedField(slug_field="customer_number", read_only=True)
    purpose = serializers.SlugRelatedField(slug_field="code", read_only=True)
    channel = serializers.SlugRelatedField(slug_field="code", read_only=True)
    captured_via = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = ConsentRecord
        fields = [
            "id",
            "customer",
            "purpose",
            "channel",
            "status",
            "capture_method",
            "captured_via",
            "captured_at",
            "effective_from",
            "effective_until",
            "evidence_reference",
            "double_opt_in",
            "recorded_at",
        ]
        read_only_fields = fields


class ConsentCaptureSerializer(StrictSerializer):
    """A consent statement a partner captured, with its evidence."""

    customer_number = serializers.CharField(max_length=16)
    purpose = serializers.SlugField(max_length=40)
    channel = serializers.SlugField(max_length=20)
    status = serializers.ChoiceField(choices=[(s.value, s.label) for s in STATED_STATUSES])
    evidence_reference = serializers.CharField(
        max_length=200, help_text="Where the proof is kept in your system (form id, recording)."
    )
    captured_at = serializers.DateTimeField(required=False)
    effective_until = serializers.DateTimeField(required=False, allow_null=True)
