"""Customer lookup and the context endpoint: lens fields, consent, access log,
the permission matrix and exact query counts."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from consent.models import Channel
from customer360.api.choices import ApiScope
from customer360.models import AccessLog, ApiClient
from governance.models import Lens
from governance.selectors import lens_project
from profiles.api.selectors import partner_context
from profiles.models import Customer
from profiles.selectors import customer_lens_data
from tests.api.conftest import Person
from tests.factories import CustomerFactory, SourceRecordFactory

pytestmark = pytest.mark.django_db

Api = Callable[..., Client]


def context_url(number: str) -> str:
    return f"/api/v1/customers/{number}/context/"


def test_context_shows_only_the_lens_fields_and_logs_the_read(
    api_for: Api, client_a: ApiClient, lens: Lens, consenting: Person
) -> None:
    response = api_for(client_a).get(context_url(consenting.customer.customer_number))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["data"] == {"given_name": "Ada", "family_name": "Lovelace", "postcode": "1011AB"}
    assert body["lens"] == "partner-claims" and body["purpose"] == "partner_sharing"
    log = AccessLog.objects.get()
    assert (log.application_id, log.customer_number, log.lens_code, log.endpoint) == (
        client_a.application_id,
        consenting.customer.customer_number,
        "partner-claims",
        "customers.context",
    )
    assert log.request_id == response["X-Request-ID"]


def test_context_without_consent_answers_like_a_customer_that_does_not_exist(
    api_for: Api, client_a: ApiClient, lens: Lens, silent: Person
) -> None:
    api = api_for(client_a)
    no_consent = api.get(context_url(silent.customer.customer_number))
    unknown = api.get(context_url("C999999999"))
    malformed = api.get(context_url("nonsense"))

    assert no_consent.status_code == unknown.status_code == malformed.status_code == 404
    assert no_consent["Content-Type"] == "application/problem+json"
    strip = lambda r: {k: v for k, v in r.json().items() if k not in ("instance", "request_id")}  # noqa: E731
    assert strip(no_consent) == strip(unknown) == strip(malformed)
    assert not AccessLog.objects.exists()


def test_context_permission_matrix_denies_and_changes_nothing(
    api_for: Api, client_a: ApiClient, client_b: ApiClient, lens: Lens, consenting: Person
) -> None:
    url = context_url(consenting.customer.customer_number)
    anonymous = Client().get(url)
    no_scope = api_for(client_a, [ApiScope.CONSENT_READ]).get(url)
    other_lens = api_for(client_a).get(url + "?lens=service-call")
    other_client = api_for(client_b).get(url)  # no lens bound to client B
    client_a.is_active = False
    client_a.save()
    switched_off = api_for(client_a).get(url)

    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"].startswith("Bearer")
    assert no_scope.status_code == 403
    assert other_lens.status_code == 403
    assert other_client.status_code == 403
    assert switched_off.status_code == 403
    for response in (anonymous, no_scope, other_lens, other_client, switched_off):
        assert response["Content-Type"] == "application/problem+json"
    assert not AccessLog.objects.exists()


def test_context_of_a_merged_away_number_answers_with_the_survivor(
    api_for: Api, client_a: ApiClient, lens: Lens, consenting: Person
) -> None:
    merged = CustomerFactory()
    Customer.objects.filter(pk=merged.pk).update(
        merged_into=consenting.customer, merged_at=consenting.customer.created_at,
        lifecycle_status="merged",
    )  # fmt: skip

    response = api_for(client_a).get(context_url(merged.customer_number))

    assert response.status_code == 200
    assert response.json()["customer_number"] == consenting.customer.customer_number


def test_context_query_count_is_fixed(
    api_for: Api,
    client_a: ApiClient,
    lens: Lens,
    consenting: Person,
    django_assert_num_queries: Callable[..., object],
) -> None:
    api = api_for(client_a)
    url = context_url(consenting.customer.customer_number)
    # token with its client; lens (purpose, fields, partner channel) with the customer
    # (merges followed); consent; the access log row
    with django_assert_num_queries(4):  # type: ignore[attr-defined]
        assert api.get(url).status_code == 200


def test_context_read_agrees_with_lens_project(
    client_a: ApiClient, lens: Lens, consenting: Person, silent: Person, partner_channel: Channel
) -> None:
    restricted = CustomerFactory(is_restricted=True)
    for customer in (consenting.customer, silent.customer, restricted):
        found_lens, found = partner_context(
            application_id=client_a.application_id, lens_code=None, number=customer.customer_number
        )
        expected = lens_project(
            lens=lens, data=customer_lens_data(customer), customer=customer, channel=partner_channel
        )
        assert (found_lens.code, found_lens.version) == (lens.code, lens.version)
        if expected.consent_blocked or customer.is_restricted:
            assert found is None
        else:
            assert found is not None and found[1] == expected
            assert found[0].pk == customer.pk
    assert partner_context(application_id=client_a.application_id, lens_code=None,
                           number="C999999999")[1] is None  # fmt: skip


def test_lookup_by_number_and_by_own_source_key(
    api_for: Api, client_a: ApiClient, consenting: Person
) -> None:
    api = api_for(client_a)
    by_number = api.get(f"/api/v1/customers/{consenting.customer.customer_number}/")
    by_key = api.get("/api/v1/customers/", {"source_key": "CRM-1"})

    assert by_number.status_code == 200
    assert by_number.json() == {
        "customer_number": consenting.customer.customer_number,
        "lifecycle_status": consenting.customer.lifecycle_status,
        "source_keys": ["CRM-1"],
        "requested_number": consenting.customer.customer_number,
        "merged_into": None,
    }
    assert [c["customer_number"] for c in by_key.json()["results"]] == [
        consenting.customer.customer_number
    ]
    assert AccessLog.objects.filter(endpoint__startswith="customers.").count() == 2


def test_merged_away_number_answers_with_the_survivor(
    api_for: Api, client_a: ApiClient, consenting: Person
) -> None:
    merged = CustomerFactory()
    Customer.objects.filter(pk=merged.pk).update(
        merged_into=consenting.customer, merged_at=consenting.customer.created_at,
        lifecycle_status="merged",
    )  # fmt: skip

    body = api_for(client_a).get(f"/api/v1/customers/{merged.customer_number}/").json()

    assert body["customer_number"] == consenting.customer.customer_number
    assert body["requested_number"] == merged.customer_number
    assert body["merged_into"] == consenting.customer.customer_number


def test_other_clients_keys_and_customers_are_invisible(
    api_for: Api, client_a: ApiClient, client_b: ApiClient, consenting: Person
) -> None:
    theirs = SourceRecordFactory(source_system=client_b.source_system, source_key="B-1")
    api = api_for(client_a)

    assert api.get("/api/v1/customers/", {"source_key": "B-1"}).json()["results"] == []
    assert api.get(f"/api/v1/customers/{theirs.customer.customer_number}/").status_code == 404
    listed = [c["customer_number"] for c in api.get("/api/v1/customers/").json()["results"]]
    assert listed == [consenting.customer.customer_number]
    # Client B sees its own customer, and none of A's keys.
    b_body = api_for(client_b).get(f"/api/v1/customers/{theirs.customer.customer_number}/").json()
    assert b_body["source_keys"] == ["B-1"]


def test_list_query_count_does_not_grow_with_the_page(
    api_for: Api,
    client_a: ApiClient,
    django_assert_num_queries: Callable[..., object],
) -> None:
    for n in range(5):
        SourceRecordFactory(source_system=client_a.source_system, source_key=f"CRM-{n}")
    api = api_for(client_a)
    # token with its client, customers page, their own records (prefetch), access log
    with django_assert_num_queries(4):  # type: ignore[attr-defined]
        response = api.get("/api/v1/customers/")
    assert len(response.json()["results"]) == 5


def test_etag_answers_304_when_nothing_changed(
    api_for: Api, client_a: ApiClient, consenting: Person
) -> None:
    api = api_for(client_a)
    url = f"/api/v1/customers/{consenting.customer.customer_number}/"
    first = api.get(url)
    again = api.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    other = api.get(url, HTTP_IF_NONE_MATCH='"something-else"')

    assert first.status_code == 200 and first["ETag"]
    assert again.status_code == 304 and again.content == b""
    assert other.status_code == 200
