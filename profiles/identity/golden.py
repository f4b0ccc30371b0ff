"""The golden record: values derived from source records by survivorship.

For each golden field, the approved field definition's survivorship rule
picks one source record's value: ``most_trusted`` (lowest
``SourceSystem.trust_rank``), ``most_recent`` (latest ``received_at``) or
``most_complete`` (longest value). Ties go to the earlier record (lower id),
so the result does not depend on query order. ``lineage`` maps each field to
the id of the record its value came from.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Protocol

from django.core.exceptions import ValidationError

from governance.choices import GovernanceStatus, SurvivorshipRule
from governance.models import FieldDefinition, SourceSystem

from ..models import Customer

GOLDEN_FIELDS = (
    "given_name", "middle_name", "family_name", "date_of_birth", "email", "phone",
    "address_line1", "address_line2", "locality", "region", "postcode", "country",
)  # fmt: skip


def survivorship_rules() -> dict[str, str]:
    """The survivorship rule of every golden field in force (default: most trusted)."""
    rules = dict(
        FieldDefinition.objects.filter(
            canonical_name__in=GOLDEN_FIELDS, status=GovernanceStatus.APPROVED
        ).values_list("canonical_name", "survivorship_rule")
    )
    return {name: rules.get(name, SurvivorshipRule.MOST_TRUSTED) for name in GOLDEN_FIELDS}


@lru_cache(maxsize=131072)  # pure: the same value cleans the same way every time
def _clean_value(name: str, value: str) -> Any:
    """The value as the Customer field stores it, or None when it does not fit."""
    field = Customer._meta.get_field(name)
    try:
        if name == "date_of_birth":
            return datetime.date.fromisoformat(value)
        if name == "country":
            value = value.strip().upper()
        return field.clean(value, None)  # type: ignore[union-attr]
    except (ValidationError, ValueError):
        return None


class Survivor(Protocol):
    """What survivorship reads of a record: a ``SourceRecord``, or a plain row of
    one (``bulk.MemberRow``)."""

    @property
    def id(self) -> int: ...
    @property
    def normalized(self) -> Any: ...
    @property
    def received_at(self) -> datetime.datetime: ...
    @property
    def source_system(self) -> SourceSystem: ...


def survive(
    records: Sequence[Survivor], rules: dict[str, str]
) -> tuple[dict[str, Any], dict[str, int]]:
    """Golden values and lineage from ``records`` (with ``source_system`` loaded)."""
    ordered = sorted(records, key=lambda r: r.id)
    values: dict[str, Any] = {}
    lineage: dict[str, int] = {}
    for name in GOLDEN_FIELDS:
        rule = rules.get(name, SurvivorshipRule.MOST_TRUSTED)
        best: Survivor | None = None
        best_value: Any = None
        for record in ordered:
            raw_value = record.normalized.get(name)
            if not raw_value:
                continue
            value = _clean_value(name, str(raw_value))
            if value in (None, ""):
                continue
            if best is None:
                best, best_value = record, value
                continue
            if rule == SurvivorshipRule.MOST_RECENT:
                better = record.received_at > best.received_at
            elif rule == SurvivorshipRule.MOST_COMPLETE:
                better = len(str(value)) > len(str(best_value))
            else:
                better = record.source_system.trust_rank < best.source_system.trust_rank
            if better:
                best, best_value = record, value
        values[name] = best_value if best is not None else (None if name == "date_of_birth" else "")
        if best is not None:
            lineage[name] = best.id
    return values, lineage
