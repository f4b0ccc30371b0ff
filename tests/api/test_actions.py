"""Outbound action proposals and campaign checks through the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from customer360.api.choices import ApiScope
from customer360.models import ApiClient
from profiles.models import OutboundAction
from tests.api.conftest import Person
from tests.factories import ChannelFactory, CustomerFactory, PurposeFactory

pytestmark = pytest.mark.django_db

Api = Callable[..., Client]


@pytest.fixture
def marketing(db: None) -> None:
    PurposeFactory(code="marketing", requires_consent=True)
    ChannelFactory(code="email")


def proposal(number: str, **extra: Any) -> dict[str, Any]:
    body = {"customer_number": number, "kind": "upsell", "purpose": "marketing",
            "channel": "email", "scheduled_for": "2026-12-01T09:00:00+00:00",
            "summary": "Upgrade offer", "external_id": "MKT-1"}  # fmt: skip
    body.update(extra)
    return body


def test_proposal_without_consent_is_blocked_with_reasons(
    api_for: Api, client_a: ApiClient, silent: Person, marketing: None
) -> None:
    response = api_for(client_a).post(
        "/api/v1/actions/", proposal(silent.customer.customer_number),
        content_type="application/json",
    )  # fmt: skip

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["allowed"] is False and body["status"] == "blocked"
    assert body["reasons"] and all(r["code"] and r["message"] for r in body["reasons"])
    action = OutboundAction.objects.get(pk=body["action_id"])
    assert action.proposed_by_client_id == client_a.application_id


def test_proposal_denied_cases_record_nothing(
    api_for: Api, client_a: ApiClient, client_b: ApiClient, silent: Person, marketing: None
) -> None:
    body = proposal(silent.customer.customer_number)
    no_scope = api_for(client_a, [ApiScope.CONTEXT_READ]).post(
        "/api/v1/actions/", body, content_type="application/json"
    )
    stranger = api_for(client_b).post("/api/v1/actions/", body, content_type="application/json")

    assert no_scope.status_code == 403
    assert stranger.status_code == 404
    assert not OutboundAction.objects.exists()


def test_campaign_check_reports_unknown_customers_and_writes_nothing(
    api_for: Api, client_a: ApiClient, silent: Person, marketing: None
) -> None:
    contact = {k: v for k, v in proposal(silent.customer.customer_number).items()
               if k not in ("summary", "external_id")}  # fmt: skip
    stranger = dict(contact, customer_number=CustomerFactory().customer_number)
    response = api_for(client_a).post(
        "/api/v1/actions/campaign-check/", {"contacts": [contact, stranger]},
        content_type="application/json",
    )  # fmt: skip

    assert response.status_code == 200, response.content
    first, second = response.json()["verdicts"]
    assert first["allowed"] is False and first["reasons"]
    assert second["reasons"][0]["code"] == "unknown_customer"
    assert not OutboundAction.objects.exists()
