"""Database helpers shared by the apps' set-based services and selectors."""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.db import connection
from django.db.models.expressions import RawSQL

# What ``values_subquery`` may cast to (the cast is part of the SQL text).
_ARRAY_CASTS = {"bigint": "SELECT unnest(%s::bigint[])", "text": "SELECT unnest(%s::text[])"}


def values_subquery(values: Iterable[int] | Iterable[str], *, sql_type: str = "bigint") -> RawSQL:
    """``field__in=values_subquery(values)``: any number of values as one bound
    parameter (an array on PostgreSQL, a JSON list on SQLite), never one
    placeholder per value: for a 1,000-item request, adapting and planning
    1,000 placeholders cost more than the index look-ups themselves."""
    unique = sorted(set(values))  # type: ignore[type-var]
    if connection.vendor == "postgresql":
        return RawSQL(_ARRAY_CASTS[sql_type], [unique])  # noqa: S611 (a fixed cast, values bound)
    return RawSQL("SELECT value FROM json_each(%s)", [json.dumps(unique)])


def ids_subquery(ids: Iterable[int]) -> RawSQL:
    """``pk__in=ids_subquery(ids)``: any number of ids as one parameter."""
    return values_subquery(ids, sql_type="bigint")
