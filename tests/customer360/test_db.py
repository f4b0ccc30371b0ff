"""The set-based SQL helpers: array literals and the one-parameter ``IN`` subqueries."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection

from customer360.db import array_literal, ids_subquery, values_subquery
from profiles.models import Customer
from tests.factories import CustomerFactory

AWKWARD = ["plain", 'with "quotes"', "back\\slash", "comma, brace {}", "", "NULL", "Zoë"]


def test_array_literal_quotes_every_string_and_keeps_null_and_numbers() -> None:
    assert array_literal([3, 1, None, True]) == "{3,1,NULL,true}"
    assert array_literal(['a"b', "c\\d", "NULL"]) == '{"a\\"b","c\\\\d","NULL"}'
    assert array_literal([datetime.date(1985, 12, 10)]) == '{"1985-12-10"}'
    # All ints, all strings (one join each) and empty, as the mixed path gives them.
    assert array_literal(n for n in (5, 7)) == "{5,7}"
    assert array_literal(["x", 'y"']) == '{"x","y\\""}'
    assert array_literal([]) == "{}"


@pytest.mark.django_db
def test_array_literal_round_trips_through_the_database() -> None:
    when = datetime.datetime(2026, 12, 1, 10, 30, 15, 123456, tzinfo=datetime.UTC)
    if connection.vendor != "postgresql":
        # SQLite reads a JSON list instead (values_subquery); the literal is PostgreSQL's.
        assert array_literal(AWKWARD).count('"') == 2 * len(AWKWARD) + 2
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT %s::text[], %s::bigint[], %s::timestamptz[]",
            [array_literal(AWKWARD), array_literal([1, None, 2**40]), array_literal([when])],
        )
        texts, numbers, times = cursor.fetchone()
    assert texts == AWKWARD
    assert numbers == [1, None, 2**40]
    assert times == [when]


@pytest.mark.django_db
def test_values_subquery_finds_awkward_values_and_ids() -> None:
    customers = CustomerFactory.create_batch(3)
    named = customers[0]
    named.family_name = 'O"Brien \\ {x}'
    named.save()
    found = Customer.objects.filter(
        family_name__in=values_subquery([named.family_name, "nobody"], sql_type="text")
    )
    assert list(found) == [named]
    ids = [c.pk for c in customers[1:]]
    assert (
        sorted(Customer.objects.filter(pk__in=ids_subquery(ids)).values_list("pk", flat=True))
        == ids
    )
