"""The base layer: problem details for every error, unknown fields, size
limit, throttling, tokens limited to the client's scopes."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest
from django.test import Client, override_settings
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from customer360.api.choices import ApiScope
from customer360.choices import ActorChannel, AuditEventType
from customer360.models import ApiClient, AuditEvent
from customer360.services import Actor, api_client_save
from profiles.models import Interaction
from tests.api.conftest import Person

pytestmark = pytest.mark.django_db

Api = Callable[..., Client]
PROBLEM = "application/problem+json"


def assert_problem(response: object, status: int) -> dict[str, object]:
    assert response.status_code == status, response.content  # type: ignore[attr-defined]
    assert response["Content-Type"] == PROBLEM  # type: ignore[index]
    body = json.loads(response.content)  # type: ignore[attr-defined]
    assert body["status"] == status and body["title"] and body["type"].startswith("https://")
    return body  # type: ignore[no-any-return]


def test_unknown_path_and_wrong_method_answer_problem_details(
    api_for: Api, client_a: ApiClient
) -> None:
    api = api_for(client_a)
    assert_problem(api.get("/api/v1/no-such-thing/"), 404)
    assert_problem(api.delete("/api/v1/interactions/bulk/"), 405)
    assert_problem(api.get("/api/v1/interactions/bulk/"), 405)
    # An unsafe method on an unknown path: the 404, not CSRF's HTML page.
    assert_problem(Client(enforce_csrf_checks=True).delete("/api/v1/webhooks/x/"), 404)


def test_wrong_media_type_answers_415(api_for: Api, client_a: ApiClient) -> None:
    response = api_for(client_a).post(
        "/api/v1/interactions/bulk/", data="items=1", content_type="text/plain"
    )
    assert_problem(response, 415)


def test_malformed_json_answers_400(api_for: Api, client_a: ApiClient) -> None:
    response = api_for(client_a).post(
        "/api/v1/interactions/bulk/", data="{nope", content_type="application/json"
    )
    assert_problem(response, 400)


def test_unknown_fields_are_refused_naming_them(
    api_for: Api, client_a: ApiClient, consenting: Person
) -> None:
    response = api_for(client_a).post(
        "/api/v1/consents/",
        {"customer_number": consenting.customer.customer_number, "purpose": "partner_sharing",
         "channel": "partner", "status": "granted", "evidence_reference": "F-1",
         "colour": "blue"},
        content_type="application/json",
    )  # fmt: skip
    body = assert_problem(response, 400)
    assert body["errors"] == {"colour": ["Unknown field: it is not part of this resource."]}


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_oversized_body_answers_413_and_writes_nothing(
    api_for: Api, client_a: ApiClient, consenting: Person
) -> None:
    items = [{"external_id": f"E{n}", "source_key": "CRM-1", "channel": "partner",
              "direction": "inbound", "kind": "inquiry",
              "occurred_at": "2026-11-01T10:00:00+00:00"} for n in range(20)]  # fmt: skip
    response = api_for(client_a).post(
        "/api/v1/interactions/bulk/", {"items": items}, content_type="application/json"
    )
    assert_problem(response, 413)
    assert not Interaction.objects.exists()


def test_throttling_per_client_answers_429_with_retry_after(
    api_for: Api, client_a: ApiClient, client_b: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"client": "2/minute"})
    api = api_for(client_a)
    assert api.get("/api/v1/events/").status_code == 200
    assert api.get("/api/v1/events/").status_code == 200
    throttled = api.get("/api/v1/events/")
    assert_problem(throttled, 429)
    assert int(throttled["Retry-After"]) > 0
    # Another client has its own budget.
    assert api_for(client_b).get("/api/v1/events/").status_code == 200
    assert api_settings.DEFAULT_THROTTLE_RATES["client"]  # the real rate is configured


def token_request(client: ApiClient, scope: str | None = None, grant: str = "client_credentials"):  # type: ignore[no-untyped-def]
    credentials = f"{client.application.client_id}:partner-secret-for-tests"
    data = {"grant_type": grant}
    if scope is not None:
        data["scope"] = scope
    return Client().post(
        "/o/token/",
        data,
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(credentials.encode()).decode(),
    )


def test_token_carries_only_the_clients_scopes(client_a: ApiClient) -> None:
    client_a.scopes = [ApiScope.CONTEXT_READ, ApiScope.CONSENT_READ]
    client_a.save()

    default = token_request(client_a)
    asked = token_request(client_a, "context:read")
    too_much = token_request(client_a, "context:read records:write")

    assert default.status_code == 200, default.content
    assert sorted(default.json()["scope"].split()) == ["consent:read", "context:read"]
    assert default.json()["expires_in"] <= 600
    assert asked.json()["scope"] == "context:read"
    assert too_much.status_code == 400 and too_much.json()["error"] == "invalid_scope"


def test_inactive_client_and_other_grants_get_no_token(client_a: ApiClient) -> None:
    assert token_request(client_a, grant="password").status_code in (400, 401)
    client_a.is_active = False
    client_a.save()
    refused = token_request(client_a)
    assert refused.status_code in (400, 401)
    assert "access_token" not in refused.json()


def test_client_changes_are_audited(client_a: ApiClient, superuser: object) -> None:
    client_a.scopes = [ApiScope.CONTEXT_READ]
    api_client_save(
        client=client_a,
        actor=Actor(user=superuser, channel=ActorChannel.ADMIN),  # type: ignore[arg-type]
        reason="Partner contract reduced to reads",
    )
    event = AuditEvent.objects.get(event_type=AuditEventType.API_CLIENT_CHANGED)
    assert event.old["scopes"] == sorted(ApiScope.values)
    assert event.new["scopes"] == ["context:read"]
    assert client_a.history.first().history_change_reason.startswith("Partner contract")


def test_undeclared_methods_answer_405(api_for: Api, client_a: ApiClient) -> None:
    api = api_for(client_a)
    for method in ("trace", "put", "patch", "delete"):
        response = api.generic(method.upper(), "/api/v1/events/")
        assert_problem(response, 405)
        assert "GET" in response["Allow"]
