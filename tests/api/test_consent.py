"""Consent through the API: capture with evidence, the ledger of own customers only."""

from __future__ import annotations

import datetime
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


def test_time_filters_take_any_iso_offset_as_its_instant(
    api_for: Api, client_a: ApiClient, consenting: Person
) -> None:
    """PostgreSQL reads no offset beyond 15:59; the filter compares the UTC instant
    (a list request with "+23:56" was a 500), and a time outside the years 1-9999
    in UTC is a 400."""
    api = api_for(client_a, [ApiScope.CONSENT_READ])
    record = ConsentRecord.objects.get(customer=consenting.customer)
    before = record.effective_from - datetime.timedelta(minutes=1)
    far_east = before.astimezone(datetime.timezone(datetime.timedelta(hours=23, minutes=56)))
    after = record.effective_from + datetime.timedelta(minutes=1)

    as_utc = api.get(URL, {"effective_after": before.isoformat()})
    as_far_east = api.get(URL, {"effective_after": far_east.isoformat()})
    later = api.get(URL, {"effective_after": after.isoformat()})
    out_of_range = api.get(URL, {"effective_after": "0001-01-01T00:00:00+23:56"})

    assert "+23:56" in far_east.isoformat()
    assert as_utc.status_code == as_far_east.status_code == later.status_code == 200
    assert as_far_east.json()["results"] == as_utc.json()["results"] != []
    assert later.json()["results"] == []
    assert out_of_range.status_code == 400
