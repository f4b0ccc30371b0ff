"""The project's own API endpoints: the polling feed of domain events, the
interactive documentation, and problem-details answers for unknown paths."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from ..models import ApiClient, OutboxEvent
from .base import ApiViewSet, problem_response
from .schema import PROBLEM_RESPONSES
from .selectors import events_for_client
from .serializers import EventFeedSerializer, OutboxEventSerializer

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


def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Unknown paths under /api/v1/ answer problem details too, not an HTML page."""
    return problem_response(request, 404, "No such endpoint.")
