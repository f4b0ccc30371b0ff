"""The committee's conflict report: blocked contradictions by silo pair and month."""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass

from django.utils import timezone

from governance.models import Silo

from ..choices import ActionStatus, BlockCode
from ..models import OutboundAction


@dataclass(frozen=True, slots=True)
class ConflictCount:
    """How many actions of one silo pair were blocked as contradictory in one month."""

    month: str  # YYYY-MM, of the blocked action's proposal
    silo_a: str
    silo_b: str
    count: int


def conflicts_by_silo_pair_and_month(
    *, since: datetime.datetime | None = None
) -> list[ConflictCount]:
    """Conflict counts, newest month first, then by pair; two queries.

    A pair is unordered (marketing/risk counts both ways) and named by silo
    name; an action blocked by conflicts with two silos counts once per pair.
    """
    names = dict(Silo.objects.values_list("code", "name"))
    rows = OutboundAction.objects.filter(status=ActionStatus.BLOCKED)
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    counts: Counter[tuple[str, str, str]] = Counter()
    for created_at, silo_code, reasons in rows.values_list(
        "created_at", "silo__code", "block_reasons"
    ).iterator(chunk_size=2000):
        month = timezone.localtime(created_at).strftime("%Y-%m")
        others = {
            r.get("conflicting_silo")
            for r in reasons
            if r.get("code") == BlockCode.INCOMPATIBLE and r.get("conflicting_silo")
        }
        for other in others:
            a, b = sorted((names.get(silo_code, silo_code), names.get(other, other)))
            counts[(month, a, b)] += 1
    return [
        ConflictCount(month=month, silo_a=a, silo_b=b, count=n)
        for (month, a, b), n in sorted(
            counts.items(),
            key=lambda item: (-int(item[0][0].replace("-", "")), item[0][1], item[0][2]),
        )
    ]
