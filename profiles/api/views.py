"""REST API views of the profiles app, on the project's one base viewset.

Querysets come from ``profiles.api.selectors`` (restricted to the calling
client), writes from ``profiles.services``; every read of a customer is
recorded in the access log.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from customer360.api.base import ApiViewSet, client_actor, idempotent
from customer360.api.choices import ApiScope
from customer360.api.schema import PROBLEM_RESPONSES
from customer360.models import AccessLog, ApiClient
from customer360.services import access_log_record
from governance.selectors import LensRefused

from ..filtersets import PartnerCustomerFilterSet
from ..models import Customer, Holding, Interaction, OutboundAction, SourceRecord
from ..services import ItemResult, interactions_upsert, source_records_upsert
from .selectors import customer_for_client, customers_for_client, partner_context
from .serializers import (
    ActionProposalSerializer,
    ActionVerdictSerializer,
    BulkResultSerializer,
    CampaignCheckSerializer,
    CampaignResultSerializer,
    ContextSerializer,
    InteractionBulkDocSerializer,
    InteractionBulkSerializer,
    PartnerCustomerSerializer,
    SourceRecordBulkSerializer,
    interaction_item_errors,
)

NOT_FOUND = "No customer with this number is available to you."


def bulk_answer(results: list[ItemResult]) -> tuple[int, dict[str, Any]]:
    """200 when something could be written as asked; 422 when all-or-nothing
    refused the batch (``written`` false, the reasons per item)."""
    counts = Counter(r.status for r in results)
    written = counts["not_written"] == 0
    body = {
        "written": written,
        "counts": dict(sorted(counts.items())),
        # Field by field rather than dataclasses.asdict, which deep-copies every value.
        "results": [
            {"index": r.index, "key": r.key, "status": r.status,
             "customer_number": r.customer_number, "errors": r.errors}
            for r in results
        ],
    }  # fmt: skip
    return (200 if written else 422), body


CUSTOMER_EXAMPLE = OpenApiExample(
    "A customer",
    value={
        "customer_number": "C100000017",
        "lifecycle_status": "active",
        "source_keys": ["POL-88213"],
        "requested_number": "C100000025",
        "merged_into": "C100000017",
    },
    response_only=True,
)


def bulk_write(
    request: Request,
    client: ApiClient,
    data: dict[str, Any],
    *,
    upsert: Callable[..., list[ItemResult]],
    endpoint: str,
) -> Response:
    """One bulk upsert for the client's own source system, idempotent by key."""
    source_system = client.source_system
    if source_system is None:
        raise exceptions.PermissionDenied("Your client speaks for no source system.")

    def write() -> tuple[int, dict[str, Any]]:
        return bulk_answer(
            upsert(
                source_system=source_system,
                items=data["items"],
                actor=client_actor(client),
                reason="Pushed through the partner API",
                all_or_nothing=data["all_or_nothing"],
            )
        )

    return idempotent(request, endpoint=endpoint, handler=write)


@extend_schema_view(
    list=extend_schema(
        summary="Your customers",
        description="Surviving customers one of your source records links to, newest first. "
        "Filter by your own `source_key` to look a customer up by your key.",
        responses={200: PartnerCustomerSerializer(many=True), **PROBLEM_RESPONSES},
        examples=[CUSTOMER_EXAMPLE],
    ),
    retrieve=extend_schema(
        summary="A customer by number",
        description="A merged-away number answers with the survivor: `merged_into` holds the "
        "survivor's number and `requested_number` the number asked for. Numbers of customers "
        "none of your records link to answer 404.",
        responses={200: PartnerCustomerSerializer, **PROBLEM_RESPONSES},
        examples=[CUSTOMER_EXAMPLE],
    ),
)
class CustomerViewSet(ApiViewSet):
    """Customers linked to the client's source system, and their context."""

    schema_model = Customer

    scopes = {
        "list": ApiScope.CONTEXT_READ,
        "retrieve": ApiScope.CONTEXT_READ,
        "context": ApiScope.CONTEXT_READ,
    }
    serializer_class = PartnerCustomerSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = PartnerCustomerFilterSet
    lookup_field = "customer_number"
    extra_query_params = {"context": ("lens",)}
    single_params = ("lens",)
    lookup_value_regex = "[A-Za-z0-9]{1,16}"

    def client_queryset(self, client: ApiClient) -> Any:
        self.request.partner_source_system_id = client.source_system_id  # type: ignore[attr-defined]
        return customers_for_client(client=client)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        assert page is not None
        AccessLog.objects.bulk_create(
            [
                AccessLog(
                    application_id=self.client.application_id,
                    customer_number=customer.customer_number,
                    endpoint="customers.list",
                    request_id=getattr(request, "request_id", ""),
                )
                for customer in page
            ]
        )
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        resolved = customer_for_client(client=self.client, number=kwargs["customer_number"])
        if resolved is None:
            raise exceptions.NotFound(NOT_FOUND)
        access_log_record(
            application_id=self.client.application_id,
            customer_number=resolved.customer.customer_number,
            endpoint="customers.retrieve",
        )
        serializer = self.get_serializer(
            resolved.customer,
            context={
                **self.get_serializer_context(),
                "requested_number": resolved.requested_number,
            },
        )
        return Response(serializer.data)

    @extend_schema(
        summary="A customer's context through your lens",
        description="Only the fields of the lens, and only when the customer's consent covers "
        "the lens's purpose (channel `partner`). A customer without that consent answers "
        "exactly like a number that does not exist (404). Every answer is recorded in the "
        "access log.",
        parameters=[
            OpenApiParameter(
                "lens",
                OpenApiTypes.STR,
                description="Lens code; may be left out when your client has exactly one lens.",
            )
        ],
        responses={200: ContextSerializer, **PROBLEM_RESPONSES},
        examples=[
            OpenApiExample(
                "Context",
                value={
                    "customer_number": "C100000017",
                    "lifecycle_status": "active",
                    "lens": "partner-claims",
                    "lens_version": 1,
                    "purpose": "partner_sharing",
                    "sections": ["identity", "activity", "value"],
                    "data": {"given_name": "Ada", "family_name": "Lovelace", "postcode": "1000"},
                },
                response_only=True,
            )
        ],
        filters=False,
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def context(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            lens, found = partner_context(
                application_id=self.client.application_id,
                lens_code=request.query_params.get("lens"),
                number=kwargs["customer_number"],
            )
        except LensRefused as refused:
            raise exceptions.PermissionDenied(str(refused)) from None
        if found is None:
            raise exceptions.NotFound(NOT_FOUND)
        customer, view = found
        access_log_record(
            application_id=self.client.application_id,
            customer_number=customer.customer_number,
            endpoint="customers.context",
            lens_code=lens.code,
            lens_version=lens.version,
        )
        return Response(
            {
                "customer_number": customer.customer_number,
                "lifecycle_status": customer.lifecycle_status,
                "lens": view.lens_code,
                "lens_version": view.lens_version,
                "purpose": view.purpose,
                "sections": list(view.sections),
                "data": view.fields,
            }
        )


BULK_DESCRIPTION = (
    "Up to 1,000 items. Send an `Idempotency-Key` header to make a retry safe: the same key "
    "with the same body answers the stored response and writes nothing; the same key with "
    "another body answers 422. Each item gets a result: created, updated, unchanged, "
    "quarantined (with the reason) or refused (naming the fields). With `all_or_nothing` "
    "one failed item writes nothing (422, every other item `not_written`)."
)
IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description="A unique key per logical request (e.g. a UUID), at most 200 characters.",
)
BULK_RESULT_EXAMPLE = OpenApiExample(
    "Per-item results",
    value={
        "written": True,
        "counts": {"created": 1, "refused": 1},
        "results": [
            {"index": 0, "key": "K-1", "status": "created", "customer_number": "", "errors": {}},
            {
                "index": 1,
                "key": "K-2",
                "status": "refused",
                "customer_number": "",
                "errors": {"columns.shoe_size": ["No approved mapping of 'shoe_size'."]},
            },
        ],
    },
    response_only=True,
)


class SourceRecordViewSet(ApiViewSet):
    """Bulk upsert of the client's own source records."""

    schema_model = SourceRecord

    scopes = {"bulk": ApiScope.RECORDS_WRITE}
    serializer_class = SourceRecordBulkSerializer

    def client_queryset(self, client: ApiClient) -> Any:
        return customers_for_client(client=client).none()

    @extend_schema(
        summary="Create or update your source records",
        description=BULK_DESCRIPTION,
        parameters=[IDEMPOTENCY_HEADER],
        request=SourceRecordBulkSerializer,
        responses={
            200: BulkResultSerializer,
            422: OpenApiResponse(BulkResultSerializer, description="all_or_nothing refused"),
            **PROBLEM_RESPONSES,
        },
        examples=[
            OpenApiExample(
                "Two records",
                value={
                    "items": [
                        {"source_key": "K-1", "columns": {"first_name": "Ada"}},
                        {"source_key": "K-2", "columns": {"shoe_size": "42"}},
                    ],
                    "all_or_nothing": False,
                },
                request_only=True,
            ),
            BULK_RESULT_EXAMPLE,
        ],
    )
    @action(detail=False, methods=["post"])
    def bulk(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = SourceRecordBulkSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return bulk_write(
            request, self.client, serializer.validated_data,
            upsert=source_records_upsert, endpoint="source-records.bulk",
        )  # fmt: skip


class InteractionViewSet(ApiViewSet):
    """Bulk upsert of the client's interactions by (source system, external id)."""

    schema_model = Interaction

    scopes = {"bulk": ApiScope.INTERACTIONS_WRITE}
    serializer_class = InteractionBulkSerializer

    def client_queryset(self, client: ApiClient) -> Any:
        return customers_for_client(client=client).none()

    @extend_schema(
        summary="Create or update your interactions",
        description=BULK_DESCRIPTION
        + " The natural key is your `external_id`; name the customer by your `source_key` or "
        "by a `customer_number` one of your records links to.",
        parameters=[IDEMPOTENCY_HEADER],
        request=InteractionBulkDocSerializer,
        responses={
            200: BulkResultSerializer,
            422: OpenApiResponse(BulkResultSerializer, description="all_or_nothing refused"),
            **PROBLEM_RESPONSES,
        },
        examples=[
            OpenApiExample(
                "One call",
                value={
                    "items": [
                        {
                            "external_id": "CALL-2026-0001",
                            "source_key": "POL-88213",
                            "channel": "phone",
                            "direction": "inbound",
                            "kind": "inquiry",
                            "occurred_at": "2026-11-20T09:30:00+00:00",
                            "outcome": "resolved",
                            "sentiment": 0.4,
                        }
                    ],
                    "all_or_nothing": False,
                },
                request_only=True,
            ),
            BULK_RESULT_EXAMPLE,
        ],
    )
    @action(detail=False, methods=["post"])
    def bulk(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = InteractionBulkSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        shape = {
            str(index): problems
            for index, item in enumerate(serializer.validated_data["items"])
            if (problems := interaction_item_errors(item))
        }
        if shape:
            raise exceptions.ValidationError({"items": shape})
        return bulk_write(
            request, self.client, serializer.validated_data,
            upsert=interactions_upsert, endpoint="interactions.bulk",
        )  # fmt: skip


def _reasons(reasons: list[Any]) -> list[dict[str, Any]]:
    return [reason.as_json() for reason in reasons]


class ActionViewSet(ApiViewSet):
    """Outbound actions a silo proposes, arbitrated against consent, the
    contact rules and the other silos' actions (``profiles.insights.arbitration``)."""

    schema_model = OutboundAction
    scopes = {"create": ApiScope.ACTIONS_PROPOSE, "campaign_check": ApiScope.ACTIONS_PROPOSE}
    serializer_class = ActionProposalSerializer

    def client_queryset(self, client: ApiClient) -> Any:
        if client.source_system is None:
            return OutboundAction.objects.none()
        return OutboundAction.objects.filter(silo_id=client.source_system.silo_id)

    def _silo(self) -> Any:
        if self.client.source_system is None:
            raise exceptions.PermissionDenied("Your client speaks for no source system.")
        return self.client.source_system.silo

    @extend_schema(
        summary="Propose an outbound action",
        description="The action is recorded and arbitrated: `allowed`, or blocked with the "
        "reasons (consent, another silo's pending action, a frequency cap, a quiet period). "
        "Only for customers one of your records links to. Repeating an `external_id` answers "
        "the action already recorded.",
        request=ActionProposalSerializer,
        responses={201: ActionVerdictSerializer, **PROBLEM_RESPONSES},
        examples=[
            OpenApiExample(
                "An up-sell letter",
                value={
                    "customer_number": "C100000017",
                    "kind": "upsell",
                    "purpose": "marketing",
                    "channel": "post",
                    "scheduled_for": "2026-12-01T09:00:00+00:00",
                    "summary": "Home insurance upgrade offer",
                    "external_id": "MKT-2026-0042",
                },
                request_only=True,
            ),
            OpenApiExample(
                "Blocked",
                value={
                    "action_id": 311,
                    "status": "blocked",
                    "allowed": False,
                    "reasons": [
                        {
                            "code": "conflict",
                            "message": "Risk has a cancellation pending for this customer.",
                            "rule_code": "",
                            "rule_version": None,
                            "conflicting_action_id": 297,
                            "conflicting_silo": "risk",
                        }
                    ],
                },
                response_only=True,
            ),
        ],
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        from profiles.insights.arbitration import action_propose

        silo = self._silo()
        serializer = ActionProposalSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        resolved = customer_for_client(client=self.client, number=data["customer_number"])
        if resolved is None:
            raise exceptions.NotFound(NOT_FOUND)
        holding = None
        if data.get("holding_reference"):
            holding = Holding.objects.filter(
                customer=resolved.customer, reference=data["holding_reference"]
            ).first()
            if holding is None:
                raise exceptions.ValidationError(
                    {"holding_reference": ["No holding of this customer has this reference."]}
                )
        result = action_propose(
            customer=resolved.customer,
            silo=silo,
            kind=data["kind"],
            purpose=data["purpose"],
            channel=data["channel"],
            scheduled_for=data["scheduled_for"],
            summary=data["summary"],
            actor=client_actor(self.client),
            holding=holding,
            external_id=data.get("external_id", ""),
            proposed_by_client=self.client.application,
        )
        return Response(
            {
                "action_id": result.action.pk,
                "status": result.action.status,
                "allowed": result.allowed,
                "reasons": _reasons(result.reasons),
            },
            status=201,
        )

    @extend_schema(
        summary="Check a campaign before it goes out",
        description="For each planned contact, allowed or blocked with the reasons; nothing is "
        "written. Customers none of your records link to are reported as unknown.",
        request=CampaignCheckSerializer,
        responses={200: CampaignResultSerializer, **PROBLEM_RESPONSES},
        examples=[
            OpenApiExample(
                "Two contacts",
                value={
                    "contacts": [
                        {
                            "customer_number": "C100000017",
                            "kind": "offer",
                            "purpose": "marketing",
                            "channel": "email",
                            "scheduled_for": "2026-12-01T09:00:00+00:00",
                        }
                    ]
                },
                request_only=True,
            ),
            OpenApiExample(
                "Verdicts",
                value={
                    "verdicts": [
                        {
                            "index": 0,
                            "customer_number": "C100000017",
                            "allowed": True,
                            "reasons": [],
                        }
                    ]
                },
                response_only=True,
            ),
        ],
    )
    @action(detail=False, methods=["post"], url_path="campaign-check")
    def campaign_check(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        from profiles.insights.arbitration import CampaignContact, campaign_check

        silo = self._silo()
        serializer = CampaignCheckSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contacts = serializer.validated_data["contacts"]
        numbers = {c["customer_number"].strip().upper() for c in contacts}
        known = set(
            customers_for_client(client=self.client)
            .filter(customer_number__in=numbers)
            .values_list("customer_number", flat=True)
        )
        checked = [
            (index, CampaignContact(
                customer_number=c["customer_number"].strip().upper(), kind=c["kind"],
                purpose=c["purpose"], channel=c["channel"], scheduled_for=c["scheduled_for"],
                holding_reference=c.get("holding_reference", ""), line=index + 1,
            ))
            for index, c in enumerate(contacts)
            if c["customer_number"].strip().upper() in known
        ]  # fmt: skip
        verdicts = {
            index: verdict
            for (index, _), verdict in zip(
                checked, campaign_check(silo=silo, contacts=[c for _, c in checked]), strict=True
            )
        }
        unknown = [{"code": "unknown_customer", "message": NOT_FOUND, "rule_code": "",
                    "rule_version": None, "conflicting_action_id": None,
                    "conflicting_silo": ""}]  # fmt: skip
        return Response(
            {
                "verdicts": [
                    {
                        "index": index,
                        "customer_number": c["customer_number"],
                        "allowed": verdicts[index].allowed if index in verdicts else False,
                        "reasons": _reasons(verdicts[index].reasons)
                        if index in verdicts
                        else unknown,
                    }
                    for index, c in enumerate(contacts)
                ]
            }
        )
