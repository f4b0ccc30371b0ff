"""profiles.demo.bulk: rows given as values are written exactly as model instances
would be, each with its "created" history row (COPY on PostgreSQL from
COPY_MINIMUM rows on, simple-history's bulk path otherwise)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import models
from django.utils import timezone

from profiles.choices import Direction, InteractionKind, Outcome
from profiles.demo.bulk import (
    COPY_MINIMUM,
    insert_values_with_history,
    insert_with_history,
    reserve_ids,
)
from profiles.models import Interaction, SourceRecord
from tests.factories import (
    ChannelFactory,
    CustomerFactory,
    SourceRecordFactory,
    SourceSystemFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
N = COPY_MINIMUM  # enough rows for the COPY path on PostgreSQL
OCCURRED = datetime.datetime(2026, 11, 20, 9, 30, tzinfo=datetime.UTC)


def columns(obj: models.Model, *, leave_out: set[str] = frozenset()) -> dict[str, Any]:  # type: ignore[assignment]
    return {
        f.attname: getattr(obj, f.attname)
        for f in obj._meta.concrete_fields
        if f.attname not in leave_out
    }


def history_of(model: type[models.Model], ids: list[int]) -> dict[int, Any]:
    return {h.id: h for h in model.history.filter(id__in=ids)}  # type: ignore[attr-defined]


def test_values_are_written_as_model_instances_would_be_with_their_history() -> None:
    user = UserFactory()
    system = SourceSystemFactory()
    record = SourceRecordFactory(source_system=system)
    channel = ChannelFactory(code="phone")
    given = {
        "customer_id": record.customer_id,
        "source_record_id": record.pk,
        "silo_id": system.silo_id,
        "source_system_id": system.pk,
        "channel_id": channel.pk,
        "direction": Direction.INBOUND,
        "kind": InteractionKind.COMPLAINT,
        "occurred_at": OCCURRED,
        "summary": "Late delivery",
        "sentiment": -0.25,
        "outcome": Outcome.RESOLVED,
        "amount": Decimal("12.50"),
        "currency": "EUR",
    }
    started = timezone.now()

    ids = insert_values_with_history(
        Interaction,
        [{**given, "external_id": f"V-{n}"} for n in range(N)],
        user=user,
        reason="as values",
    )
    objs = insert_with_history(
        Interaction,
        [Interaction(**given, external_id=f"O-{n}") for n in range(N)],
        user=user,
        reason="as instances",
    )

    # The ids come back in the rows' order, taken from the table's sequence.
    stored = list(Interaction.objects.filter(pk__in=ids).order_by("pk"))
    assert ids == [i.pk for i in stored]
    assert [i.external_id for i in stored] == [f"V-{n}" for n in range(N)]
    # Column for column what the instances gave (holding and agent left out: None).
    leave_out = {"id", "external_id", "created_at", "updated_at"}
    by_instances = {tuple(columns(o, leave_out=leave_out).items()) for o in objs}
    assert {tuple(columns(i, leave_out=leave_out).items()) for i in stored} == by_instances
    assert (stored[0].holding_id, stored[0].agent_id) == (None, None)
    assert all(i.created_at >= started and i.updated_at >= started for i in stored)
    # One "created" history row each, the row's values, with the user and reason.
    for written, reason in ((stored, "as values"), (objs, "as instances")):
        history = history_of(Interaction, [i.pk for i in written])
        assert len(history) == N
        for row in written:
            h = history[row.pk]
            assert (h.history_type, h.history_user_id, h.history_change_reason) == (
                "+", user.pk, reason,
            )  # fmt: skip
            assert columns(h, leave_out={"id"}).items() >= columns(row, leave_out={"id"}).items()


def test_left_out_fields_take_their_defaults_and_given_times_of_creation_are_replaced() -> None:
    system = SourceSystemFactory()
    long_ago = datetime.datetime(2001, 1, 1, tzinfo=datetime.UTC)
    given_ids = reserve_ids(SourceRecord, 2)
    started = timezone.now()

    ids = insert_values_with_history(
        SourceRecord,
        [
            {
                "source_system_id": system.pk,
                "source_key": f"D-{n}",
                "payload_hash": "h",
                "raw": {"name": f"person {n}", "tags": [n]},
                "created_at": long_ago,  # auto_now_add: replaced, as save() would
                **({"id": given_ids[n]} if n < 2 else {}),
            }
            for n in range(N)
        ],
        user=None,
        reason="defaults",
    )

    stored = list(SourceRecord.objects.filter(pk__in=ids).order_by("source_key"))
    assert ids[:2] == given_ids
    assert len(stored) == N
    assert {r.source_key: r.raw for r in stored} == {
        f"D-{n}": {"name": f"person {n}", "tags": [n]} for n in range(N)
    }
    assert {(r.customer_id, r.import_run_id, r.resolved_at) for r in stored} == {(None, None, None)}
    assert {type(r.normalized) for r in stored} == {dict}
    assert all(r.normalized == {} for r in stored)
    assert all(r.received_at >= started and r.created_at >= started for r in stored)
    history = history_of(SourceRecord, ids)
    assert {h.history_user_id for h in history.values()} == {None}
    assert all(history[r.pk].raw == r.raw for r in stored)


def test_a_name_that_is_not_a_column_writes_nothing() -> None:
    customer = CustomerFactory()
    with pytest.raises(TypeError, match="no_such_column"):
        insert_values_with_history(
            Interaction,
            [{"customer_id": customer.pk, "no_such_column": 1}] * N,
            user=None,
            reason="bad",
        )
    assert not Interaction.objects.exists()
