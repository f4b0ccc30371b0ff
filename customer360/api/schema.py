"""OpenAPI pieces every endpoint shares: the problem-details error body and the
OAuth2 security scheme with the scope each operation needs."""

from __future__ import annotations

from typing import Any

from drf_spectacular.contrib.django_oauth_toolkit import DjangoOAuthToolkitScheme
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import serializers

PROBLEM = "application/problem+json"


class ProblemSerializer(serializers.Serializer[Any]):
    """RFC 9457 problem details, as every error of the API is answered."""

    type = serializers.URLField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    instance = serializers.CharField(required=False)
    errors = serializers.DictField(
        child=serializers.JSONField(),
        required=False,
        help_text="Field name -> list of messages (for nested input, the nested structure).",
    )
    request_id = serializers.CharField()


def _problem(status_code: int, title: str, detail: str) -> OpenApiResponse:
    return OpenApiResponse(
        ProblemSerializer,
        description=title,
        examples=[
            OpenApiExample(
                title,
                value={
                    "type": "https://customer360.example.org/problems/"
                    + title.lower().replace(" ", "-"),
                    "title": title,
                    "status": status_code,
                    "detail": detail,
                    "request_id": "3f2c9a0d1b7e4c6f8a9b0c1d2e3f4a5b",
                },
                media_type=PROBLEM,
                response_only=True,
                status_codes=[str(status_code)],
            )
        ],
    )


PROBLEM_RESPONSES: dict[Any, OpenApiResponse] = {
    (code, PROBLEM): _problem(code, title, detail)
    for code, title, detail in (
        (400, "Bad Request", "The request has invalid fields."),
        (401, "Unauthorized", "Authentication credentials were not provided."),
        (403, "Forbidden", "The token lacks the scope this operation needs."),
        (404, "Not Found", "No customer with this number is available to you."),
        (405, "Method Not Allowed", 'Method "DELETE" not allowed.'),
        (406, "Not Acceptable", "Could not satisfy the request Accept header."),
        (409, "Conflict", "A concurrent request changed the same data; retry the request."),
        (413, "Content Too Large", "The request body is too large."),
        (415, "Unsupported Media Type", 'Unsupported media type "text/plain" in request.'),
        (422, "Unprocessable Content", "This Idempotency-Key was already used."),
        (429, "Too Many Requests", "Request was throttled. Expected available in 12 seconds."),
        (500, "Internal Server Error", "Internal error."),
    )
}


class ClientTokenScheme(DjangoOAuthToolkitScheme):
    """OpenAPI security of ``ClientTokenAuthentication``: the toolkit's OAuth2
    client-credentials scheme, and per operation the scope it needs."""

    target_class = "customer360.api.auth.ClientTokenAuthentication"
    name = "oauth2"

    def get_security_requirement(self, auto_schema: Any) -> Any:
        required_scope = getattr(auto_schema.view, "required_scope", None)
        scope = required_scope() if required_scope is not None else None
        return {self.name: [scope] if scope else []}
