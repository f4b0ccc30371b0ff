"""Consent through the API: capture with evidence, the ledger of own customers only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from consent.choices import CaptureMethod, ConsentStatus
from consent.models import ConsentRecord
from customer360.api.choices import ApiScope
from customer360.models import AccessLog, ApiClient
from tests.api.conftest import Person
from tests.factories import SourceRecordFactory

pytestmark = pytest.mark.django_db

Api = Callable[..., Client]
URL = "/api/v1/consents/"


def capture(customer_number: str, **extra: Any) -> dict[str, Any]:
    body = {"customer_number": customer_number, "purpose": "partner_sharing",
            "channel": "partner", "status": "granted", "evidence_reference": "FORM-7"}  # fmt: skip
    body.update(extra)
    return body


def test_partner_captures_consent_with_evidence(
    api_for: Api, client_a: ApiClient, silent: Person
) -> None:
    response = api_for(client_a).post(
        URL, capture(silent.customer.customer_number), content_type="application/json"
    )

    assert response.status_code == 201, response.content
    record = ConsentRecord.objects.get(customer=silent.customer)
    assert (record.status, record.capture_method, record.evidence_reference) == (
        ConsentStatus.GRANTED, CaptureMethod.PARTNER_API, "FORM-7",
    )  # fmt: skip
    assert record.captured_by_client_id == client_a.application_id
    assert response.json()["id"] == record.pk


def test_consent_capture_denied_cases_write_nothing(
    api_for: Api, client_a: ApiClient, client_b: ApiClient, silent: Person
) -> None:
    body = capture(silent.customer.customer_number)
    read_only = api_for(client_a, [ApiScope.CONSENT_READ]).post(
        URL, body, content_type="application/json"
    )
    other_client = api_for(client_b).post(URL, body, content_type="application/json")
    bad_purpose = api_for(client_a).post(
        URL, capture(silent.customer.customer_number, purpose="nope"),
        content_type="application/json",
    )  # fmt: skip

    assert read_only.status_code == 403
    assert other_client.status_code == 404
    assert bad_purpose.status_code == 400 and "purpose" in bad_purpose.json()["errors"]
    assert not ConsentRecord.objects.filter(customer=silent.customer).exists()


def test_ledger_lists_only_own_customers_and_logs_the_read(
    api_for: Api,
    client_a: ApiClient,
    client_b: ApiClient,
    consenting: Person,
    django_assert_num_queries: Callable[..., Any],
) -> None:
    SourceRecordFactory(source_system=client_b.source_system, customer=consenting.customer)
    api_a = api_for(client_a, [ApiScope.CONSENT_READ])
    # token with its client, page of records with customer/purpose/channel, access log
    with django_assert_num_queries(3):
        listed = api_a.get(URL, {"customer": consenting.customer.customer_number})
    no_scope = api_for(client_a, [ApiScope.CONTEXT_READ]).get(URL)

    assert [r["customer"] for r in listed.json()["results"]] == [
        consenting.customer.customer_number
    ]
    assert no_scope.status_code == 403
    assert AccessLog.objects.get().endpoint == "consents.list"
