"""Database helpers shared by the apps' set-based services and selectors."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.db import connection
from django.db.models.expressions import RawSQL

# What ``values_subquery`` may cast to (the cast is part of the SQL text).
_ARRAY_CASTS = {"bigint": "SELECT unnest(%s::bigint[])", "text": "SELECT unnest(%s::text[])"}


def array_literal(values: Iterable[Any]) -> str:
    """A PostgreSQL array literal (``'{1,2}'``, ``'{"a","b\\"c"}'``) of ints, strings,
    dates and times (``None`` is ``NULL``), to bind as one parameter and cast
    (``%s::bigint[]``): psycopg's client-side adaptation of a Python list quotes
    element by element, which cost a 1,000-record batch more than its look-ups."""
    items = list(values)
    kinds = {type(value) for value in items}
    # One pass with no per-element tests for the usual arrays (all ids, all texts).
    if kinds <= {int}:
        return "{" + ",".join(map(str, items)) + "}"
    if kinds <= {str}:
        return '{"' + '","'.join(v.replace("\\", "\\\\").replace('"', '\\"') for v in items) + '"}'
    parts: list[str] = []
    append = parts.append
    for value in items:
        kind = type(value)
        if kind is int:
            append(str(value))
        elif kind is str:
            append('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"')
        elif value is None:
            append("NULL")
        elif kind is bool:
            append("true" if value else "false")
        elif isinstance(value, int):
            append(str(int(value)))
        else:
            text = value.isoformat() if hasattr(value, "isoformat") else str(value)
            append('"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "{" + ",".join(parts) + "}"


def values_subquery(values: Iterable[int] | Iterable[str], *, sql_type: str = "bigint") -> RawSQL:
    """``field__in=values_subquery(values)``: any number of values as one bound
    parameter (an array on PostgreSQL, a JSON list on SQLite), never one
    placeholder per value: for a 1,000-item request, adapting and planning
    1,000 placeholders cost more than the index look-ups themselves."""
    unique = sorted(set(values))  # type: ignore[type-var]
    if connection.vendor == "postgresql":
        return RawSQL(_ARRAY_CASTS[sql_type], [array_literal(unique)])  # noqa: S611 (a fixed cast, values bound)
    return RawSQL("SELECT value FROM json_each(%s)", [json.dumps(unique)])


def ids_subquery(ids: Iterable[int]) -> RawSQL:
    """``pk__in=ids_subquery(ids)``: any number of ids as one parameter."""
    return values_subquery(ids, sql_type="bigint")
