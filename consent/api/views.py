"""REST API views of the consent app, on the project's one base viewset.

Partners read the ledger of the customers their records link to and capture
consent through ``consent.services.consent_record`` (capture method
``partner_api``, the client recorded as ``captured_by_client``).
"""

from __future__ import annotations

from typing import Any

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from consent.choices import CaptureMethod
from consent.models import ConsentRecord
from consent.services import consent_record
from customer360.api.base import ApiViewSet, client_actor, idempotent
from customer360.api.choices import ApiScope
from customer360.api.schema import PROBLEM_RESPONSES
from customer360.models import AccessLog, ApiClient
from profiles.api.selectors import PARTNER_CHANNEL, customer_for_client, customers_for_client
from profiles.api.views import IDEMPOTENCY_HEADER, NOT_FOUND

from ..filtersets import ConsentRecordFilterSet
from .serializers import ConsentCaptureSerializer, ConsentRecordSerializer

RECORD_EXAMPLE = OpenApiExample(
    "A statement",
    value={
        "id": 41,
        "customer": "C100000017",
        "purpose": "partner_sharing",
        "channel": "partner",
        "status": "granted",
        "capture_method": "partner_api",
        "captured_via": "partner",
        "captured_at": "2026-11-20T09:30:00Z",
        "effective_from": "2026-11-20T09:30:00Z",
        "effective_until": None,
        "evidence_reference": "FORM-2026-7781",
        "double_opt_in": "not_required",
        "recorded_at": "2026-11-20T09:30:01Z",
    },
    response_only=True,
)


@extend_schema_view(
    list=extend_schema(
        summary="Consent ledger of your customers",
        description="Statements of customers one of your records links to, newest first; "
        "filter by `customer` (number), `purpose`, `channel`, `status`.",
        responses={200: ConsentRecordSerializer(many=True), **PROBLEM_RESPONSES},
        examples=[RECORD_EXAMPLE],
    ),
    create=extend_schema(
        summary="Capture consent",
        description="Appends a statement to the ledger with your evidence reference; you are "
        "recorded as the capturing client. Safe to retry with an `Idempotency-Key`.",
        parameters=[IDEMPOTENCY_HEADER],
        request=ConsentCaptureSerializer,
        responses={201: ConsentRecordSerializer, **PROBLEM_RESPONSES},
        examples=[
            OpenApiExample(
                "Granted",
                value={
                    "customer_number": "C100000017",
                    "purpose": "partner_sharing",
                    "channel": "partner",
                    "status": "granted",
                    "evidence_reference": "FORM-2026-7781",
                },
                request_only=True,
            ),
            RECORD_EXAMPLE,
        ],
    ),
)
class ConsentViewSet(ApiViewSet):
    """The consent ledger, as a partner may read and extend it."""

    schema_model = ConsentRecord

    scopes = {"list": ApiScope.CONSENT_READ, "create": ApiScope.CONSENT_WRITE}
    serializer_class = ConsentRecordSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ConsentRecordFilterSet

    def client_queryset(self, client: ApiClient) -> Any:
        return ConsentRecord.objects.filter(
            customer__in=customers_for_client(client=client).values("pk")
        ).select_related("customer", "purpose", "channel", "captured_via")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        assert page is not None
        numbers = sorted({record.customer.customer_number for record in page})
        AccessLog.objects.bulk_create(
            [
                AccessLog(
                    application_id=self.client.application_id,
                    customer_number=number,
                    endpoint="consents.list",
                    request_id=getattr(request, "request_id", ""),
                )
                for number in numbers
            ]
        )
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        client = self.client
        serializer = ConsentCaptureSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data

        def write() -> tuple[int, dict[str, Any]]:
            resolved = customer_for_client(client=client, number=data["customer_number"])
            if resolved is None:
                raise exceptions.NotFound(NOT_FOUND)
            record = consent_record(
                customer=resolved.customer,
                purpose=data["purpose"],
                channel=data["channel"],
                status=data["status"],
                capture_method=CaptureMethod.PARTNER_API,
                captured_via=PARTNER_CHANNEL,
                actor=client_actor(client),
                reason="Captured by a partner system",
                evidence_reference=data["evidence_reference"],
                captured_at=data.get("captured_at"),
                effective_until=data.get("effective_until"),
                captured_by_client=client.application,
            )
            record = self.get_queryset().get(pk=record.pk)
            return 201, dict(ConsentRecordSerializer(record).data)

        return idempotent(request, endpoint="consents.create", handler=write)
