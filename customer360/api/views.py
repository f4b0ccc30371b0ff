"""The project's own API endpoints: the polling feed of domain events, the
interactive documentation, and problem-details answers for unknown paths."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, mixins
from rest_framework.request import Request
from rest_framework.response import Response

from ..models import ApiClient, OutboxEvent, WebhookSubscription
from ..services import webhook_subscription_create, webhook_subscription_deactivate
from .base import ApiViewSet, client_actor, problem_response
from .choices import ApiScope
from .schema import PROBLEM_RESPONSES
from .selectors import events_for_client, webhook_subscriptions_for_client
from .serializers import (
    EventFeedSerializer,
    OutboxEventSerializer,
    WebhookSubscriptionCreatedSerializer,
    WebhookSubscriptionCreateSerializer,
    WebhookSubscriptionSerializer,
)

FEED_MAX = 500


class EventViewSet(ApiViewSet):
    """Domain events for clients that cannot receive webhooks."""

    schema_model = OutboxEvent

    serializer_class = OutboxEventSerializer
    pagination_class = None  # type: ignore[assignment]
    extra_query_params = {"feed": ("after", "limit")}
    single_params = ("after", "limit")

    def client_queryset(self, client: ApiClient) -> Any:
        return events_for_client(client=client)

    @extend_schema(
        summary="Poll domain events",
        description="Events after the id you pass as `after` (0 at first), oldest first: "
        "customer.merged, customer.unmerged, consent.changed, dsr.completed, action.blocked. "
        "You see events about customers one of your records links to. Keep `next_after` and "
        "pass it next time; the same events are also pushed to your webhooks.",
        parameters=[
            OpenApiParameter("after", OpenApiTypes.INT, description="Last event id you have."),
            OpenApiParameter("limit", OpenApiTypes.INT, description=f"At most {FEED_MAX}."),
        ],
        responses={200: EventFeedSerializer, **PROBLEM_RESPONSES},
        examples=[
            OpenApiExample(
                "One merge",
                value={
                    "events": [
                        {
                            "id": 812,
                            "type": "customer.merged",
                            "occurred_at": "2026-11-20T09:30:00Z",
                            "customer_number": "C100000017",
                            "payload": {"survivor": "C100000017", "merged": "C100000025"},
                        }
                    ],
                    "next_after": 812,
                },
                response_only=True,
            )
        ],
    )
    def feed(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        errors: dict[str, list[str]] = {}
        values: dict[str, int] = {}
        for name, default, high in (("after", 0, 2**62), ("limit", 100, FEED_MAX)):
            raw = request.query_params.get(name, str(default))
            if not raw.isdigit() or not (0 if name == "after" else 1) <= int(raw) <= high:
                errors[name] = [f"A whole number from {0 if name == 'after' else 1} to {high}."]
            else:
                values[name] = int(raw)
        if errors:
            raise exceptions.ValidationError(errors)
        events = list(
            events_for_client(client=self.client, after=values["after"])[: values["limit"]]
        )
        return Response(
            {
                "events": OutboxEventSerializer(events, many=True).data,
                "next_after": events[-1].pk if events else values["after"],
            }
        )


SUBSCRIPTION_EXAMPLE = OpenApiExample(
    "A subscription",
    value={
        "id": 7,
        "url": "https://partner.example.com/hooks/c360",
        "event_types": ["consent.changed", "customer.merged"],
        "created_at": "2026-11-20T09:30:00Z",
    },
    response_only=True,
)
SUBSCRIPTION_NOT_FOUND = "No subscription of yours has this id."


@extend_schema_view(
    list=extend_schema(
        summary="Your webhook subscriptions",
        description="Your active subscriptions, newest first; never their secrets.",
        responses={200: WebhookSubscriptionSerializer(many=True), **PROBLEM_RESPONSES},
        examples=[SUBSCRIPTION_EXAMPLE],
    ),
    retrieve=extend_schema(
        summary="One of your webhook subscriptions",
        responses={200: WebhookSubscriptionSerializer, **PROBLEM_RESPONSES},
        examples=[SUBSCRIPTION_EXAMPLE],
    ),
    create=extend_schema(
        summary="Subscribe a URL to events",
        description="Events of the chosen types about customers one of your records links "
        "to are POSTed to `url` (https, a public host), signed with HMAC-SHA256 over "
        '`"{X-C360-Timestamp}.{body}"` in `X-C360-Signature: sha256=<hex>`. The answer '
        "holds the signing `secret`: it is shown only this once.",
        request=WebhookSubscriptionCreateSerializer,
        responses={201: WebhookSubscriptionCreatedSerializer, **PROBLEM_RESPONSES},
        examples=[
            OpenApiExample(
                "Consent and merges",
                value={
                    "url": "https://partner.example.com/hooks/c360",
                    "event_types": ["consent.changed", "customer.merged"],
                },
                request_only=True,
            ),
            OpenApiExample(
                "Subscribed",
                value={
                    **SUBSCRIPTION_EXAMPLE.value,
                    "secret": "kq3V0c1mXH2yq9l8m1C6fJrJ1i0l3lq4-2aS1nFh5uE",
                },
                response_only=True,
            ),
        ],
    ),
    destroy=extend_schema(
        summary="End a webhook subscription",
        description="No further deliveries; pending ones are not sent.",
        responses={204: None, **PROBLEM_RESPONSES},
    ),
)
class WebhookSubscriptionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    ApiViewSet,
):
    """A client's own webhook subscriptions: another client's are never listed,
    shown or changed (they answer 404, like ids that do not exist)."""

    schema_model = WebhookSubscription
    scopes = {
        "list": ApiScope.WEBHOOKS_MANAGE,
        "retrieve": ApiScope.WEBHOOKS_MANAGE,
        "create": ApiScope.WEBHOOKS_MANAGE,
        "destroy": ApiScope.WEBHOOKS_MANAGE,
    }
    serializer_class = WebhookSubscriptionSerializer
    lookup_value_regex = "[0-9]{1,18}"

    def client_queryset(self, client: ApiClient) -> Any:
        return webhook_subscriptions_for_client(client=client)

    def get_object(self) -> WebhookSubscription:
        try:
            return super().get_object()  # type: ignore[no-any-return]
        except Http404:
            raise exceptions.NotFound(SUBSCRIPTION_NOT_FOUND) from None

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = WebhookSubscriptionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscription = webhook_subscription_create(
            application_id=self.client.application_id,
            url=serializer.validated_data["url"],
            event_types=serializer.validated_data["event_types"],
            actor=client_actor(self.client),
            reason="Subscribed through the partner API",
        )
        return Response(WebhookSubscriptionCreatedSerializer(subscription).data, status=201)

    def perform_destroy(self, instance: WebhookSubscription) -> None:
        webhook_subscription_deactivate(
            subscription=instance,
            actor=client_actor(self.client),
            reason="Deleted through the partner API",
        )


@csrf_exempt  # it changes nothing; an unsafe method must get the 404, not CSRF's HTML 403
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Unknown paths under /api/v1/ answer problem details too, not an HTML page."""
    return problem_response(request, 404, "No such endpoint.")
