"""Server-rendered SVG charts for the governance overview.

The strict Content-Security-Policy allows no inline script and no chart
library from elsewhere, so each chart is computed here as shapes with
coordinates and drawn by the template as plain SVG elements (presentation
attributes only, no style attributes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .choices import DecisionStatus
from .selectors import CoverageReport

WIDTH = 640
LABEL_WIDTH = 160
ROW_HEIGHT = 28
BAR_HEIGHT = 18
PALETTE = {
    DecisionStatus.DRAFT: "#9aa5b1",
    DecisionStatus.VOTING: "#2f80ed",
    DecisionStatus.APPROVED: "#27ae60",
    DecisionStatus.REJECTED: "#eb5757",
    DecisionStatus.WITHDRAWN: "#bdbdbd",
}


@dataclass(frozen=True, slots=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    fill: str
    title: str


@dataclass(frozen=True, slots=True)
class Text:
    x: float
    y: float
    text: str
    anchor: str = "start"


@dataclass(slots=True)
class Chart:
    """A chart as SVG shapes: rectangles, circles (as ``Rect`` with equal sides
    and ``round``) and text; ``legend`` is (colour, label) pairs."""

    title: str
    width: int
    height: int
    rects: list[Rect] = field(default_factory=list)
    circles: list[Rect] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)
    empty: bool = False


def _scale(value: float, maximum: float) -> float:
    return 0 if maximum <= 0 else (WIDTH - LABEL_WIDTH - 40) * value / maximum


def decisions_by_status_and_silo(rows: Iterable[Mapping[str, Any]]) -> Chart:
    """One stacked bar per proposing silo, one segment per status."""
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        counts.setdefault(row["proposing_silo__name"], {})[row["status"]] = row["count"]
    chart = Chart("Decisions by status and silo", WIDTH, max(1, len(counts)) * ROW_HEIGHT + 20)
    chart.legend = [(PALETTE[status], status.label) for status in DecisionStatus]
    chart.empty = not counts
    maximum = max((sum(c.values()) for c in counts.values()), default=0)
    for index, (silo, by_status) in enumerate(sorted(counts.items())):
        y = index * ROW_HEIGHT + 10
        chart.texts.append(Text(LABEL_WIDTH - 8, y + 14, silo, "end"))
        x = float(LABEL_WIDTH)
        for status in DecisionStatus:
            count = by_status.get(status, 0)
            if not count:
                continue
            width = _scale(count, maximum)
            chart.rects.append(
                Rect(x, y, width, BAR_HEIGHT, PALETTE[status], f"{silo}: {count} {status.label}")
            )
            x += width
        chart.texts.append(Text(x + 6, y + 14, str(sum(by_status.values()))))
    return chart


def coverage_by_silo(report: CoverageReport) -> Chart:
    """Per silo, how many of the canonical fields in force it supplies."""
    total = len(report.canonical_names)
    chart = Chart(
        f"Field coverage by silo (of {total} canonical fields)",
        WIDTH,
        max(1, len(report.silos)) * ROW_HEIGHT + 20,
    )
    chart.empty = not report.silos
    for index, coverage in enumerate(report.silos):
        y = index * ROW_HEIGHT + 10
        supplied = len(set(coverage.fields) & set(report.canonical_names))
        chart.texts.append(Text(LABEL_WIDTH - 8, y + 14, coverage.silo.name, "end"))
        chart.rects.append(
            Rect(LABEL_WIDTH, y, _scale(total, total), BAR_HEIGHT, "#e0e0e0", f"{total} fields")
        )
        chart.rects.append(
            Rect(
                LABEL_WIDTH,
                y,
                _scale(supplied, total),
                BAR_HEIGHT,
                "#2f80ed",
                f"{coverage.silo.name}: {supplied} of {total}",
            )
        )
        chart.texts.append(Text(LABEL_WIDTH + 6, y + 14, f"{supplied}/{total}"))
    return chart


def value_against_risk(rows: Iterable[Mapping[str, Any]]) -> Chart:
    """Collected fields: priority score (value) up, privacy risk (1-5) right."""
    points = list(rows)
    height = 260
    chart = Chart("Value against privacy risk of collected fields", WIDTH, height)
    chart.empty = not points
    left, right, top, bottom = 60, WIDTH - 20, 20, height - 40
    low, high = -10, 25  # priority = value * actionability - cost - risk: -8..23
    chart.rects.append(Rect(left, top, right - left, bottom - top, "#fafafa", "plot area"))
    for risk in range(1, 6):
        x = left + (right - left) * (risk - 0.5) / 5
        chart.texts.append(Text(x, bottom + 18, str(risk), "middle"))
    chart.texts.append(Text((left + right) / 2, bottom + 34, "privacy risk", "middle"))
    for tick in (low, 0, 10, high):
        y = bottom - (bottom - top) * (tick - low) / (high - low)
        chart.texts.append(Text(left - 6, y + 4, str(tick), "end"))
    chart.texts.append(Text(8, top + 10, "value"))
    for point in points:
        risk = point["privacy_risk"]
        score = point["priority_score"]
        x = left + (right - left) * (risk - 0.5) / 5
        y = bottom - (bottom - top) * (score - low) / (high - low)
        name = point["field_definition__canonical_name"]
        chart.circles.append(Rect(x, y, 5, 5, "#27ae60", f"{name}: value {score}, risk {risk}"))
        chart.texts.append(Text(x + 8, y + 4, name))
    return chart
