"""Fellegi-Sunter scoring: comparison levels, match weights, EM estimation.

Pure functions, no database. Each compared field has levels of agreement
(exact, close, different, missing). A level's match weight is
``log2(m / u)``: m is the probability of that level among true matches, u
among non-matches. A pair's match weight is the prior's log-odds plus the
sum of its fields' weights; its match probability is ``2^w / (1 + 2^w)``.
A missing value weighs nothing. The explanation of a pair is that sum, field
by field: the waterfall a steward reads.

``em_estimate`` learns m (and the prior) from the comparison patterns of
blocked pairs by expectation-maximisation, with u estimated beforehand from
random pairs (``u_from_random_pairs``), the way Splink does.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from rapidfuzz.distance import JaroWinkler, Levenshtein
from rapidfuzz.fuzz import token_sort_ratio

from .choices import MatchLevel
from .normalize import Features

EXACT, CLOSE, DIFFERENT, MISSING = (
    MatchLevel.EXACT.value,
    MatchLevel.CLOSE.value,
    MatchLevel.DIFFERENT.value,
    MatchLevel.MISSING.value,
)
SCORED_LEVELS = (EXACT, CLOSE, DIFFERENT)
PROBABILITY_FLOOR = 1e-6


def _given(a: Features, b: Features) -> str:
    if not a.given or not b.given:
        return MISSING
    if a.given == b.given:
        return EXACT
    if len(a.given) == 1 or len(b.given) == 1:
        return CLOSE if a.given[0] == b.given[0] else DIFFERENT
    if JaroWinkler.similarity(a.given, b.given) >= 0.88:
        return CLOSE
    return DIFFERENT


def _family(a: Features, b: Features) -> str:
    if not a.family or not b.family:
        return MISSING
    if a.family == b.family:
        return EXACT
    if JaroWinkler.similarity(a.family, b.family) >= 0.9 or (
        a.family_phonetic and a.family_phonetic == b.family_phonetic
    ):
        return CLOSE
    return DIFFERENT


def _dob(a: Features, b: Features) -> str:
    if not a.dob or not b.dob:
        return MISSING
    if a.dob == b.dob:
        return EXACT
    ya, ma, da = a.dob.split("-")
    yb, mb, db = b.dob.split("-")
    if ya == yb and ma == db and da == mb:
        return CLOSE  # day and month swapped
    if (ya == yb) + (ma == mb) + (da == db) == 2 or Levenshtein.distance(a.dob, b.dob) == 1:
        return CLOSE
    return DIFFERENT


def _email(a: Features, b: Features) -> str:
    if not a.email or not b.email:
        return MISSING
    if a.email == b.email:
        return EXACT
    if a.email_local == b.email_local or JaroWinkler.similarity(a.email, b.email) >= 0.95:
        return CLOSE
    return DIFFERENT


def _phone(a: Features, b: Features) -> str:
    if not a.phone or not b.phone:
        return MISSING
    if a.phone == b.phone:
        return EXACT
    if Levenshtein.distance(a.phone, b.phone) <= 1:
        return CLOSE
    return DIFFERENT


def _postcode(a: Features, b: Features) -> str:
    if not a.postcode or not b.postcode:
        return MISSING
    if a.postcode == b.postcode:
        return EXACT
    if a.postcode[:4] == b.postcode[:4] or Levenshtein.distance(a.postcode, b.postcode) <= 1:
        return CLOSE
    return DIFFERENT


def _address(a: Features, b: Features) -> str:
    if not a.address or not b.address:
        return MISSING
    if a.address == b.address:
        return EXACT
    if token_sort_ratio(a.address, b.address) >= 85:
        return CLOSE
    return DIFFERENT


def _national_id(a: Features, b: Features) -> str:
    if not a.national_id or not b.national_id:
        return MISSING
    if a.national_id == b.national_id:
        return EXACT
    if Levenshtein.distance(a.national_id, b.national_id) == 1:
        return CLOSE
    return DIFFERENT


# field -> (comparator, the Features attributes shown in the explanation)
COMPARISONS: dict[str, tuple[Callable[[Features, Features], str], str]] = {
    "given_name": (_given, "given"),
    "family_name": (_family, "family"),
    "date_of_birth": (_dob, "dob"),
    "email": (_email, "email"),
    "phone": (_phone, "phone"),
    "postcode": (_postcode, "postcode"),
    "address_line1": (_address, "address"),
    "national_id": (_national_id, "national_id"),
}
FIELDS = tuple(COMPARISONS)

# Documented starting parameters (the configured model, version 1): m among
# true matches, u among random non-matching pairs, per level.
DEFAULT_PARAMS: dict[str, Any] = {
    "prior": 0.05,
    "fields": {
        "given_name": {"m": [0.86, 0.1, 0.04], "u": [0.02, 0.03, 0.95]},
        "family_name": {"m": [0.88, 0.09, 0.03], "u": [0.01, 0.02, 0.97]},
        "date_of_birth": {"m": [0.9, 0.07, 0.03], "u": [0.003, 0.015, 0.982]},
        "email": {"m": [0.72, 0.13, 0.15], "u": [0.0005, 0.002, 0.9975]},
        "phone": {"m": [0.72, 0.1, 0.18], "u": [0.0005, 0.002, 0.9975]},
        "postcode": {"m": [0.8, 0.08, 0.12], "u": [0.01, 0.04, 0.95]},
        "address_line1": {"m": [0.75, 0.12, 0.13], "u": [0.005, 0.02, 0.975]},
        "national_id": {"m": [0.96, 0.02, 0.02], "u": [0.0001, 0.0005, 0.9994]},
    },
}


def params_as_levels(params: dict[str, Any]) -> dict[str, Any]:
    """``{"prior", "fields": {f: {"m": {level: p}, "u": {...}}}}`` from list form."""
    fields = {}
    for name, spec in params["fields"].items():
        fields[name] = {
            side: (
                dict(zip(SCORED_LEVELS, spec[side], strict=True))
                if isinstance(spec[side], list)
                else dict(spec[side])
            )
            for side in ("m", "u")
        }
    return {"prior": float(params["prior"]), "fields": fields}


@dataclass(frozen=True, slots=True)
class Weights:
    """Match weights per field and level, and the prior's log-odds."""

    prior_weight: float
    by_field: dict[str, dict[str, float]]

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Weights:
        levels = params_as_levels(params)
        prior = min(max(levels["prior"], PROBABILITY_FLOOR), 1 - PROBABILITY_FLOOR)
        by_field: dict[str, dict[str, float]] = {}
        for name, spec in levels["fields"].items():
            by_field[name] = {
                level: math.log2(
                    max(spec["m"][level], PROBABILITY_FLOOR)
                    / max(spec["u"][level], PROBABILITY_FLOOR)
                )
                for level in SCORED_LEVELS
            }
            by_field[name][MISSING] = 0.0
        return cls(prior_weight=math.log2(prior / (1 - prior)), by_field=by_field)


def _maybe_swapped(a: Features, b: Features) -> Features:
    """``b`` with given and family names exchanged when that is how they agree."""
    if (
        a.given
        and a.family
        and a.given != b.given
        and a.given == b.family
        and (a.family == b.given or a.family == b.family)
    ):
        return replace(b, given=b.family, family=b.given, given_initial=b.family[:1])
    return b


def compare(a: Features, b: Features) -> tuple[str, ...]:
    """The comparison pattern of a pair: one level per field, in ``FIELDS`` order."""
    b = _maybe_swapped(a, b)
    return tuple(COMPARISONS[name][0](a, b) for name in FIELDS)


@dataclass(frozen=True, slots=True)
class PairScore:
    """A pair's match weight, probability and the per-field waterfall."""

    match_weight: float
    probability: float
    explanation: list[dict[str, Any]]


def probability_of(weight: float) -> float:
    if weight > 60:
        return 1.0
    if weight < -60:
        return 0.0
    odds = 2.0**weight
    return odds / (1 + odds)


def score(a: Features, b: Features, weights: Weights) -> PairScore:
    """Score one pair; the explanation starts with the prior, then every field."""
    pattern = compare(a, b)
    b_shown = _maybe_swapped(a, b)
    total = weights.prior_weight
    explanation: list[dict[str, Any]] = [
        {"field": "prior", "level": "", "weight": round(weights.prior_weight, 3)}
    ]
    for name, level in zip(FIELDS, pattern, strict=True):
        weight = weights.by_field.get(name, {}).get(level, 0.0)
        total += weight
        attribute = COMPARISONS[name][1]
        explanation.append(
            {
                "field": name,
                "level": level,
                "weight": round(weight, 3),
                "left": getattr(a, attribute),
                "right": getattr(b_shown, attribute),
            }
        )
    return PairScore(
        match_weight=round(total, 3), probability=probability_of(total), explanation=explanation
    )


def pattern_probability(pattern: Sequence[str], weights: Weights) -> float:
    total = weights.prior_weight + sum(
        weights.by_field[name][level] for name, level in zip(FIELDS, pattern, strict=True)
    )
    return probability_of(total)


# --- estimation --------------------------------------------------------------


def u_from_random_pairs(
    features: Sequence[Features], *, pairs: int = 20000, seed: int = 1
) -> dict[str, dict[str, float]]:
    """u per field and level from random pairs (nearly all non-matches)."""
    rng = random.Random(seed)  # noqa: S311 - sampling, not secrets
    counts: dict[str, Counter[str]] = {name: Counter() for name in FIELDS}
    if len(features) < 2:
        return {}
    for _ in range(pairs):
        i, j = rng.sample(range(len(features)), 2)
        for name, level in zip(FIELDS, compare(features[i], features[j]), strict=True):
            if level != MISSING:
                counts[name][level] += 1
    u: dict[str, dict[str, float]] = {}
    for name, counter in counts.items():
        seen = sum(counter.values())
        if seen:
            # Add-one smoothing: a level never seen among random pairs is rare, not impossible.
            u[name] = {
                level: (counter[level] + 1) / (seen + len(SCORED_LEVELS)) for level in SCORED_LEVELS
            }
    return u


def em_estimate(
    patterns: Counter[tuple[str, ...]],
    *,
    start: dict[str, Any],
    fixed_u: dict[str, dict[str, float]] | None = None,
    fixed_prior: float | None = None,
    iterations: int = 40,
    tolerance: float = 1e-5,
) -> dict[str, Any]:
    """m (and u, unless fixed) and the prior, by EM over comparison patterns.

    ``patterns`` counts each distinct pattern among blocked pairs, so a
    million pairs cost as much as their few hundred distinct patterns.
    Returns parameters in level form (see ``params_as_levels``).
    """
    params = params_as_levels(start)
    if fixed_prior is not None:
        # With u fixed and the prior free, EM can call every blocked pair a
        # match and let m absorb the non-matches; a prior estimated outside
        # EM (as Splink does) keeps it honest.
        params["prior"] = fixed_prior
    if fixed_u:
        for name, u in fixed_u.items():
            params["fields"][name]["u"] = dict(u)
    for _ in range(iterations):
        weights = Weights.from_params(params)
        m_counts: dict[str, dict[str, float]] = {name: defaultdict(float) for name in FIELDS}
        u_counts: dict[str, dict[str, float]] = {name: defaultdict(float) for name in FIELDS}
        expected_matches = 0.0
        total = 0
        for pattern, count in patterns.items():
            p = pattern_probability(pattern, weights)
            expected_matches += p * count
            total += count
            for name, level in zip(FIELDS, pattern, strict=True):
                if level == MISSING:
                    continue
                m_counts[name][level] += p * count
                u_counts[name][level] += (1 - p) * count
        if total == 0:
            break
        change = 0.0
        if fixed_prior is None:
            new_prior = min(max(expected_matches / total, PROBABILITY_FLOOR), 1 - PROBABILITY_FLOOR)
            change = max(change, abs(new_prior - params["prior"]))
            params["prior"] = new_prior
        for name in FIELDS:
            sides: Iterable[tuple[str, dict[str, float]]] = [("m", m_counts[name])]
            if not fixed_u or name not in fixed_u:
                sides = [*sides, ("u", u_counts[name])]
            for side, counter in sides:
                seen = sum(counter.values())
                if seen <= 0:
                    continue
                for level in SCORED_LEVELS:
                    value = max(counter.get(level, 0.0) / seen, PROBABILITY_FLOOR)
                    change = max(change, abs(value - params["fields"][name][side][level]))
                    params["fields"][name][side][level] = value
        if change < tolerance:
            break
    return params
