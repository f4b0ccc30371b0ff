"""Bulk upserts of interactions and source records: per-item results,
natural keys, Idempotency-Key, all-or-nothing, governed columns only."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from customer360.api.choices import ApiScope
from customer360.models import ApiClient, IdempotencyKey
from profiles.demo.bulk import COPY_MINIMUM
from profiles.models import Customer, ImportRun, Interaction, SourceRecord
from tests.api.conftest import Person
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

Api = Callable[..., Client]
INTERACTIONS = "/api/v1/interactions/bulk/"
RECORDS = "/api/v1/source-records/bulk/"


def call(external_id: str, **extra: Any) -> dict[str, Any]:
    item = {"external_id": external_id, "source_key": "CRM-1", "channel": "partner",
            "direction": "inbound", "kind": "inquiry",
            "occurred_at": "2026-11-01T10:00:00+00:00", "sentiment": 0.5}  # fmt: skip
    item.update(extra)
    return item


def post(api: Client, url: str, body: dict[str, Any], **headers: str) -> Any:
    return api.post(url, body, content_type="application/json", **headers)


def test_interactions_created_updated_unchanged_and_refused_per_item(
    api_for: Api, client_a: ApiClient, consenting: Person
) -> None:
    api = api_for(client_a)
    first = post(api, INTERACTIONS, {"items": [call("E1"), call("E2")]})
    second = post(api, INTERACTIONS, {"items": [
        call("E1"),
        call("E2", outcome="resolved"),
        call("E3", channel="pigeon"),
        call("E4", source_key="NOT-MINE"),
    ]})  # fmt: skip

    assert first.status_code == 200, first.content
    assert [r["status"] for r in first.json()["results"]] == ["created", "created"]
    results = second.json()["results"]
    assert [r["status"] for r in results] == ["unchanged", "updated", "refused", "refused"]
    assert set(results[2]["errors"]) == {"channel"}
    assert set(results[3]["errors"]) == {"source_key"}
    assert results[0]["customer_number"] == consenting.customer.customer_number
    stored = Interaction.objects.get(external_id="E2")
    assert (stored.outcome, stored.customer_id, stored.source_system_id) == (
        "resolved", consenting.customer.pk, client_a.source_system_id,
    )  # fmt: skip
    assert stored.history.count() == 2


def test_all_or_nothing_writes_nothing_when_one_item_fails(
    api_for: Api, client_a: ApiClient, consenting: Person
) -> None:
    response = post(
        api_for(client_a),
        INTERACTIONS,
        {"items": [call("E1"), call("E2", channel="pigeon")], "all_or_nothing": True},
    )

    assert response.status_code == 422
    assert response.json()["written"] is False
    assert [r["status"] for r in response.json()["results"]] == ["not_written", "refused"]
    assert not Interaction.objects.exists()


def test_idempotency_key_replays_the_answer_and_refuses_another_body(
    api_for: Api, client_a: ApiClient, consenting: Person
) -> None:
    api = api_for(client_a)
    body = {"items": [call("E1")]}
    first = post(api, INTERACTIONS, body, HTTP_IDEMPOTENCY_KEY="k-1")
    Interaction.objects.update(summary="changed since")
    replay = post(api, INTERACTIONS, body, HTTP_IDEMPOTENCY_KEY="k-1")
    other = post(api, INTERACTIONS, {"items": [call("E9")]}, HTTP_IDEMPOTENCY_KEY="k-1")

    assert replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"
    assert Interaction.objects.get().summary == "changed since"  # not written again
    assert other.status_code == 422
    assert other["Content-Type"] == "application/problem+json"
    assert not Interaction.objects.filter(external_id="E9").exists()
    assert IdempotencyKey.objects.count() == 1


def test_writes_need_the_scope_and_a_known_customer(
    api_for: Api, client_a: ApiClient, client_b: ApiClient, consenting: Person
) -> None:
    no_scope = post(
        api_for(client_a, [ApiScope.CONTEXT_READ]), INTERACTIONS, {"items": [call("E1")]}
    )
    item = call("E1", customer_number=consenting.customer.customer_number)
    del item["source_key"]
    by_number = post(api_for(client_b), INTERACTIONS, {"items": [item]})
    anonymous = Client().post(
        INTERACTIONS, {"items": [call("E1")]}, content_type="application/json"
    )

    assert no_scope.status_code == 403
    assert anonymous.status_code == 401
    # Client B's system has no record of this customer: refused, nothing written.
    assert by_number.json()["results"][0]["status"] == "refused"
    assert set(by_number.json()["results"][0]["errors"]) == {"customer_number"}
    assert not Interaction.objects.exists()


def test_more_than_a_thousand_items_are_refused(api_for: Api, client_a: ApiClient) -> None:
    response = post(
        api_for(client_a), INTERACTIONS, {"items": [call(f"E{n}") for n in range(1001)]}
    )
    assert response.status_code == 400
    assert "items" in response.json()["errors"]


def test_bulk_interactions_cost_a_fixed_number_of_queries(
    api_for: Api,
    client_a: ApiClient,
    consenting: Person,
    django_assert_num_queries: Callable[..., Any],
) -> None:
    api = api_for(client_a)
    # token with its client, source system, channels, records by key (with their
    # customers' numbers), existing interactions, insert + history insert, audit
    # event, and the savepoints of the request
    # and the service: the same for 1 or 1,000 items. From COPY_MINIMUM items on PostgreSQL the two
    # inserts are a COPY of the rows and an INSERT ... SELECT of their history rows, after one
    # statement reserving the ids.
    for size in (1, COPY_MINIMUM, 1000):
        items = [call(f"E{size}-{n}") for n in range(size)]
        copies = connection.vendor == "postgresql" and size >= COPY_MINIMUM
        with django_assert_num_queries(13 if copies else 12):
            response = post(api, INTERACTIONS, {"items": items})
        assert response.json()["counts"] == {"created": size}


@pytest.mark.parametrize("size", [1, COPY_MINIMUM])
def test_times_with_any_offset_are_stored_as_their_instant(
    api_for: Api, client_a: ApiClient, consenting: Person, size: int
) -> None:
    # ISO 8601 allows offsets PostgreSQL does not read (beyond 15:59); the year
    # 0001 at +01:00 is no instant Python or the database can hold.
    items = [call(f"T-{n}", occurred_at="2026-11-01T10:00:00+23:56") for n in range(size)]
    items.append(call("T-early", occurred_at="0001-01-01T00:30:00+01:00"))

    response = post(api_for(client_a), INTERACTIONS, {"items": items})

    assert response.status_code == 200, response.content
    assert response.json()["counts"] == {"created": size, "refused": 1}
    assert set(response.json()["results"][-1]["errors"]) == {"occurred_at"}
    assert set(Interaction.objects.values_list("occurred_at", flat=True)) == {
        datetime.datetime(2026, 10, 31, 10, 4, tzinfo=datetime.UTC)
    }


def test_bulk_interactions_write_a_history_row_each(
    api_for: Api, client_a: ApiClient, consenting: Person
) -> None:
    items = [call(f"H-{n}", summary=f"call {n}") for n in range(COPY_MINIMUM)]
    response = post(api_for(client_a), INTERACTIONS, {"items": items})

    assert response.json()["counts"] == {"created": COPY_MINIMUM}
    created = Interaction.objects.filter(external_id__startswith="H-")
    history = Interaction.history.filter(external_id__startswith="H-")  # type: ignore[attr-defined]
    assert history.count() == created.count() == COPY_MINIMUM
    assert set(history.values_list("history_type", flat=True)) == {"+"}
    assert {h.id: h.summary for h in history} == {i.pk: i.summary for i in created}
    (reason,) = set(history.values_list("history_change_reason", flat=True))
    assert reason.startswith("Pushed through the partner API")
    assert f"client:{client_a.application.client_id}" in reason
    assert {i.customer_id for i in created} == {consenting.customer.pk}


def test_source_records_refuse_ungoverned_columns_per_item_and_quarantine_bad_values(
    api_for: Api, client_a: ApiClient
) -> None:
    response = post(api_for(client_a), RECORDS, {"items": [
        {"source_key": "N-1", "columns": {"first_name": "ada", "last_name": "lovelace"}},
        {"source_key": "N-2", "columns": {"first_name": "bob", "shoe_size": "42"}},
        {"source_key": "N-3", "columns": {"birth_date": "31/02/1990"}},
    ]})  # fmt: skip

    results = response.json()["results"]
    assert response.status_code == 200, response.content
    assert [r["status"] for r in results] == ["created", "refused", "quarantined"]
    assert "columns.shoe_size" in results[1]["errors"]
    assert "columns.birth_date" in results[2]["errors"]
    assert SourceRecord.objects.get(source_key="N-1").normalized["given_name"] == "Ada"
    assert not SourceRecord.objects.filter(source_key="N-2").exists()
    assert ImportRun.objects.get().source_system_id == client_a.source_system_id


def test_source_records_update_unchanged_and_all_or_nothing(
    api_for: Api, client_a: ApiClient
) -> None:
    api = api_for(client_a)
    post(api, RECORDS, {"items": [{"source_key": "N-1", "columns": {"first_name": "ada"}}]})
    again = post(api, RECORDS, {"items": [
        {"source_key": "N-1", "columns": {"first_name": "ada"}},
        {"source_key": "N-2", "columns": {"first_name": "eve"}},
    ]})  # fmt: skip
    strict = post(api, RECORDS, {"all_or_nothing": True, "items": [
        {"source_key": "N-1", "columns": {"first_name": "adeline"}},
        {"source_key": "N-3", "columns": {"birth_date": "31/02/1990"}},
    ]})  # fmt: skip

    assert [r["status"] for r in again.json()["results"]] == ["unchanged", "created"]
    assert strict.status_code == 422
    assert [r["status"] for r in strict.json()["results"]] == ["not_written", "quarantined"]
    assert SourceRecord.objects.get(source_key="N-1").normalized["given_name"] == "Ada"
    assert not SourceRecord.objects.filter(source_key="N-3").exists()


def test_items_breaking_the_schema_refuse_the_request_naming_item_and_field(
    api_for: Api, client_a: ApiClient, consenting: Person
) -> None:
    api = api_for(client_a)
    bad_item = call("E2")
    del bad_item["occurred_at"]
    response = post(api, INTERACTIONS, {"items": [call("E1"), bad_item, call("E3", amount=12)]})
    records = post(api, RECORDS, {"items": [{"source_key": "N-1", "columns": {"first_name": 7}}]})

    assert response.status_code == 400
    assert response.json()["errors"]["items"] == {
        "1": {"occurred_at": ["This field is required."]},
        "2": {"amount": ['A decimal number as a string, e.g. "12.50".']},
    }
    assert records.status_code == 400
    assert not Interaction.objects.exists()
    assert not SourceRecord.objects.filter(source_key="N-1").exists()


def test_interactions_of_a_merged_away_customer_land_on_the_survivor(
    api_for: Api, client_a: ApiClient, consenting: Person
) -> None:
    survivor = CustomerFactory()
    Customer.objects.filter(pk=consenting.customer.pk).update(
        merged_into=survivor, merged_at=survivor.created_at, lifecycle_status="merged"
    )  # a record not yet re-pointed, as after a merge in progress
    by_key = call("M-1")
    by_number = call("M-2", customer_number=consenting.customer.customer_number)
    del by_number["source_key"]

    response = post(api_for(client_a), INTERACTIONS, {"items": [by_key, by_number]})

    assert response.status_code == 200, response.content
    assert [r["customer_number"] for r in response.json()["results"]] == [
        survivor.customer_number,
        survivor.customer_number,
    ]
    assert set(Interaction.objects.values_list("customer_id", flat=True)) == {survivor.pk}
