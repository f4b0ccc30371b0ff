"""Model instances from rows of prepared SQL statements (the API's hot paths).

``Model.from_db`` takes a partial row only in the model's own field order;
``ordered`` puts wanted column names in that order once, at import, so the
statement's SELECT list and the instance agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models


def ordered(model: type[models.Model], names: Iterable[str]) -> tuple[str, ...]:
    """``names`` (attribute names) in ``model``'s field order; unknown names fail."""
    wanted = set(names)
    found = tuple(f.attname for f in model._meta.concrete_fields if f.attname in wanted)
    missing = wanted - set(found)
    if missing:
        raise LookupError(f"{model.__name__} has no columns {sorted(missing)}")
    return found


def columns(model: type[models.Model], names: Sequence[str], alias: str) -> str:
    """The SELECT list of ``names`` (already ``ordered``) of a table aliased ``alias``."""
    return ", ".join(f"{alias}.{model._meta.get_field(n).column}" for n in names)


def instance[M: models.Model](model: type[M], names: Sequence[str], values: Sequence[Any]) -> M:
    """A model instance of a partial row whose ``values`` follow ``names``
    (already ``ordered``); the other fields are deferred, as with ``only()``."""
    return model.from_db(connection.alias, names, values)
