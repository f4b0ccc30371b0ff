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
from dataclasses import dataclass, field, replace
from typing import Any

from rapidfuzz.distance import OSA, JaroWinkler, Levenshtein
from rapidfuzz.fuzz import ratio, token_sort_ratio

from .choices import MatchLevel
from .nicknames import formal_name, nickname_related
from .normalize import Features, phonetic

EXACT, CLOSE, DIFFERENT, MISSING = (
    MatchLevel.EXACT.value,
    MatchLevel.CLOSE.value,
    MatchLevel.DIFFERENT.value,
    MatchLevel.MISSING.value,
)
# Levels some fields have besides exact/close/different (plain strings, shown
# as they are in the explanation): a given name that is only an initial of the
# other, a date of birth that shares only the year, an address that shares
# only its postcode or only its street line.
INITIAL, YEAR, PARTIAL, POSTCODE = "initial", "year", "partial", "postcode"
SCORED_LEVELS = (EXACT, CLOSE, DIFFERENT)  # every field has these
PROBABILITY_FLOOR = 1e-6


def _given(a: Features, b: Features) -> str:
    """Exact (the same formal name: ``formal_name`` resolved our own table's
    nicknames before), close (a typo: Jaro-Winkler >= 0.88 or one edit; or one
    name a nickname of the other in the broader ``nicknames`` dataset, "Pete"
    and "Peter", weaker evidence than our table's one formal form), initial
    ("J" against "Jan"), different."""
    if not a.given or not b.given:
        return MISSING
    if a.given == b.given:
        return EXACT
    if len(a.given) == 1 or len(b.given) == 1:
        return INITIAL if a.given[0] == b.given[0] else DIFFERENT
    if (
        JaroWinkler.similarity(a.given, b.given) >= 0.88
        or Levenshtein.distance(a.given, b.given) <= 1
        or nickname_related(a.given, b.given)
        or nickname_related(a.given_full, b.given_full)
    ):
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
    """Exact; close (day and month swapped, one part or one digit wrong); year
    (the same year only); different."""
    if not a.dob or not b.dob:
        return MISSING
    if a.dob == b.dob:
        return EXACT
    ya, ma, da = a.dob.split("-")
    yb, mb, db = b.dob.split("-")
    if ya == yb and ma == db and da == mb:
        return CLOSE  # day and month swapped
    if (ya == yb) + (ma == mb) + (da == db) == 2 or OSA.distance(a.dob, b.dob) == 1:
        return CLOSE  # one part wrong, one digit wrong or two swapped
    if ya == yb:
        return YEAR
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
    if OSA.distance(a.phone, b.phone) <= 1:
        return CLOSE
    return DIFFERENT


def _postcode_level(a: Features, b: Features) -> str:
    if not a.postcode or not b.postcode:
        return MISSING
    if a.postcode == b.postcode:
        return EXACT
    if OSA.distance(a.postcode, b.postcode) <= 1:
        return CLOSE
    return DIFFERENT


def _line_level(a: Features, b: Features) -> str:
    if not a.address or not b.address:
        return MISSING
    if a.address == b.address:
        return EXACT
    if (
        token_sort_ratio(a.address, b.address) >= 85
        or ratio(a.address.replace(" ", ""), b.address.replace(" ", "")) >= 90
    ):
        return CLOSE  # a typo, a missing or an extra space
    return DIFFERENT


def _address(a: Features, b: Features) -> str:
    """Street line and postcode as one comparison: they say one thing (where the
    person lives), so counting both would count the same evidence twice.

    Exact: the line agrees and the postcode too (or is missing on a side);
    close: one agrees and the other nearly; partial: the line agrees but not
    the postcode, or the postcode agrees and the line is much alike; postcode:
    only the postcode agrees (neighbours); different.
    """
    line, postcode = _line_level(a, b), _postcode_level(a, b)
    if line == MISSING and postcode == MISSING:
        return MISSING
    if line == EXACT and postcode in (EXACT, MISSING):
        return EXACT
    if (line, postcode) in ((EXACT, CLOSE), (CLOSE, EXACT), (CLOSE, MISSING), (MISSING, EXACT)):
        return CLOSE
    if line in (EXACT, CLOSE) or (
        postcode == EXACT and line == DIFFERENT and token_sort_ratio(a.address, b.address) >= 60
    ):
        return PARTIAL
    if postcode == EXACT:
        return POSTCODE
    return DIFFERENT


def _national_id(a: Features, b: Features) -> str:
    if not a.national_id or not b.national_id:
        return MISSING
    if a.national_id == b.national_id:
        return EXACT
    if OSA.distance(a.national_id, b.national_id) == 1:
        return CLOSE  # one digit wrong, or two neighbours swapped
    return DIFFERENT


# field -> (comparator, the Features attributes shown in the explanation)
COMPARISONS: dict[str, tuple[Callable[[Features, Features], str], tuple[str, ...]]] = {
    "given_name": (_given, ("given",)),
    "family_name": (_family, ("family",)),
    "date_of_birth": (_dob, ("dob",)),
    "email": (_email, ("email",)),
    "phone": (_phone, ("phone",)),
    "address": (_address, ("address", "postcode")),
    "national_id": (_national_id, ("national_id",)),
}
FIELDS = tuple(COMPARISONS)
# The scored levels of each field, strongest agreement first.
LEVELS: dict[str, tuple[str, ...]] = {
    "given_name": (EXACT, CLOSE, INITIAL, DIFFERENT),
    "family_name": SCORED_LEVELS,
    "date_of_birth": (EXACT, CLOSE, YEAR, DIFFERENT),
    "email": SCORED_LEVELS,
    "phone": SCORED_LEVELS,
    "address": (EXACT, CLOSE, PARTIAL, POSTCODE, DIFFERENT),
    "national_id": SCORED_LEVELS,
}
# A stored model of an earlier version may lack a newer level or field: the
# level is then scored as this older one.
LEVEL_FALLBACK = {INITIAL: CLOSE, YEAR: DIFFERENT, PARTIAL: CLOSE, POSTCODE: DIFFERENT}
# Fields whose agreement is not independent of the address's: people living
# together share a family name far more often than two random people do.
# A family name agreeing at an agreeing address weighs
# log2(m / P(family agrees | same address, not a match)) instead of
# log2(m / u); the difference is shown as its own line of the explanation.

# Documented starting parameters (the configured model): per field, m among
# true matches and u among non-matching pairs, one value per level of
# ``LEVELS``. A given name that really differs (after nicknames, typos,
# initials and swaps are allowed for) is rare among true matches: it weighs
# more against a match than a shared date of birth weighs for one.
# ``at_same_address``: how often two different people at one address share
# a field's value (family name: relatives; date of birth: twins).
DEFAULT_PARAMS: dict[str, Any] = {
    "prior": 0.05,
    "fields": {
        "given_name": {"m": [0.9, 0.07, 0.028, 0.002], "u": [0.02, 0.02, 0.005, 0.955]},
        "family_name": {"m": [0.88, 0.09, 0.03], "u": [0.01, 0.02, 0.97]},
        "date_of_birth": {"m": [0.88, 0.07, 0.02, 0.03], "u": [0.003, 0.015, 0.012, 0.97]},
        "email": {"m": [0.72, 0.13, 0.15], "u": [0.0005, 0.002, 0.9975]},
        "phone": {"m": [0.72, 0.1, 0.18], "u": [0.0005, 0.002, 0.9975]},
        "address": {
            "m": [0.72, 0.08, 0.04, 0.01, 0.15],
            "u": [0.0005, 0.0005, 0.003, 0.02, 0.976],
        },
        "national_id": {"m": [0.96, 0.02, 0.02], "u": [0.0001, 0.0005, 0.9994]},
    },
    "at_same_address": {"family_name": 0.5, "date_of_birth": 0.01},
}
# The levels at which a field counts as shared for ``at_same_address``, and
# the address levels that count as the same address.
SHARED_LEVELS = {"family_name": (EXACT, CLOSE), "date_of_birth": (EXACT,)}
SAME_ADDRESS = (EXACT, CLOSE)
# Pseudo-pairs behind EM's estimate of ``at_same_address``: with few
# non-matching pairs at one address the estimate stays near u (no correction).
SHARED_SMOOTHING = 20.0
LEGACY_LEVELS = SCORED_LEVELS
# Fields of models stored before the address comparison joined street line
# and postcode: read as the address's (the line's values).
LEGACY_FIELDS = {"address_line1": "address"}


def _levels_of(name: str, spec: Any, default: Any) -> dict[str, float]:
    """One side (m or u) of a field by level. A stored model of an earlier
    version may lack a level: it is read as its ``LEVEL_FALLBACK``, else as
    the default."""
    stored: dict[str, Any]
    if isinstance(spec, list):
        keys = LEVELS[name] if len(spec) == len(LEVELS[name]) else LEGACY_LEVELS
        stored = dict(zip(keys, spec, strict=True))
    else:
        stored = dict(spec)
    defaults: dict[str, Any] = (
        dict(zip(LEVELS[name], default, strict=True)) if isinstance(default, list) else default
    )
    values: dict[str, float] = {}
    for level in LEVELS[name]:
        fallback = LEVEL_FALLBACK.get(level, "")
        values[level] = float(stored.get(level, stored.get(fallback, defaults[level])))
    return values


def params_as_levels(params: dict[str, Any]) -> dict[str, Any]:
    """``{"prior", "fields": {f: {"m": {level: p}, "u": {...}}}, "at_same_address"}``
    from list or level form; a field the stored model lacks comes from
    ``DEFAULT_PARAMS``."""
    stored = dict(params["fields"])
    for old, new in LEGACY_FIELDS.items():
        if old in stored and new not in stored:
            stored[new] = stored[old]
    fields = {}
    for name in FIELDS:
        default = DEFAULT_PARAMS["fields"][name]
        spec = stored.get(name, default)
        fields[name] = {side: _levels_of(name, spec[side], default[side]) for side in ("m", "u")}
    shared = {**DEFAULT_PARAMS["at_same_address"], **params.get("at_same_address", {})}
    return {"prior": float(params["prior"]), "fields": fields, "at_same_address": shared}


@dataclass(frozen=True, slots=True)
class Weights:
    """Match weights per field and level, the prior's log-odds, and the
    corrections for fields shared at one address (``at_same_address``)."""

    prior_weight: float
    by_field: dict[str, dict[str, float]]
    at_same_address: dict[str, float] = field(default_factory=dict)

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
                for level in LEVELS[name]
            }
            by_field[name][MISSING] = 0.0
        corrections = {}
        for name, share in levels["at_same_address"].items():
            u = sum(levels["fields"][name]["u"][level] for level in SHARED_LEVELS[name])
            # Never a bonus: sharing a value at one address is no rarer than anywhere.
            corrections[name] = min(0.0, math.log2(max(u, PROBABILITY_FLOOR) / max(share, u)))
        return cls(
            prior_weight=math.log2(prior / (1 - prior)),
            by_field=by_field,
            at_same_address=corrections,
        )

    def household_correction(self, pattern: Sequence[str]) -> list[tuple[str, float]]:
        """(field, weight) for each field the pair shares at one shared address."""
        if pattern[ADDRESS_INDEX] not in SAME_ADDRESS:
            return []
        return [
            (name, weight)
            for name, weight in self.at_same_address.items()
            if weight and pattern[FIELD_INDEX[name]] in SHARED_LEVELS[name]
        ]


FIELD_INDEX = {name: index for index, name in enumerate(FIELDS)}
ADDRESS_INDEX = FIELD_INDEX["address"]


def _names_agree(x: str, y: str) -> bool:
    return bool(x and y) and (x == y or JaroWinkler.similarity(x, y) >= 0.88)


def _maybe_swapped(a: Features, b: Features) -> Features:
    """``b`` with given and family names exchanged when that is how they agree,
    typos allowed: "Lars Geldens" against "Gelsens Lars"."""
    if not (a.given and a.family and b.given and b.family) or a.given == b.given:
        return b
    as_given = formal_name(b.family)
    swapped = _names_agree(a.given, as_given) and (
        _names_agree(a.family, b.given_full) or a.family == b.family
    )
    straight = _names_agree(a.given, b.given) and _names_agree(a.family, b.family)
    if swapped and not straight:
        return replace(
            b,
            given=as_given,
            given_initial=as_given[:1],
            given_full=b.family,
            family=b.given_full,
            family_phonetic=phonetic(b.given_full),
        )
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


def pair_weight(a: Features, b: Features, weights: Weights) -> float:
    """The match weight ``score`` gives a pair (unrounded), without its explanation:
    what comparing a record with every member of a cluster needs for all but the
    best pair."""
    pattern = compare(a, b)
    total = weights.prior_weight
    for name, level in zip(FIELDS, pattern, strict=True):
        total += weights.by_field.get(name, {}).get(level, 0.0)
    for _name, weight in weights.household_correction(pattern):
        total += weight
    return total


def score(a: Features, b: Features, weights: Weights) -> PairScore:
    """Score one pair; the explanation starts with the prior, then every field,
    then a line for each field shared at the same address (its correction)."""
    b_shown = _maybe_swapped(a, b)
    pattern = tuple(COMPARISONS[name][0](a, b_shown) for name in FIELDS)
    total = weights.prior_weight
    explanation: list[dict[str, Any]] = [
        {"field": "prior", "level": "", "weight": round(weights.prior_weight, 3)}
    ]
    for name, level in zip(FIELDS, pattern, strict=True):
        weight = weights.by_field.get(name, {}).get(level, 0.0)
        total += weight
        attributes = COMPARISONS[name][1]
        explanation.append(
            {
                "field": name,
                "level": level,
                "weight": round(weight, 3),
                "left": " ".join(v for v in (getattr(a, x) for x in attributes) if v),
                "right": " ".join(v for v in (getattr(b_shown, x) for x in attributes) if v),
            }
        )
    for name, weight in weights.household_correction(pattern):
        total += weight
        explanation.append(
            {"field": f"{name} at the same address", "level": "shared", "weight": round(weight, 3)}
        )
    return PairScore(
        match_weight=round(total, 3), probability=probability_of(total), explanation=explanation
    )


def pattern_weight(pattern: Sequence[str], weights: Weights) -> float:
    return (
        weights.prior_weight
        + sum(weights.by_field[name][level] for name, level in zip(FIELDS, pattern, strict=True))
        + sum(weight for _name, weight in weights.household_correction(pattern))
    )


def pattern_probability(pattern: Sequence[str], weights: Weights) -> float:
    return probability_of(pattern_weight(pattern, weights))


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
            levels = LEVELS[name]
            u[name] = {level: (counter[level] + 1) / (seen + len(levels)) for level in levels}
    return u


def em_estimate(
    patterns: Counter[tuple[str, ...]],
    *,
    start: dict[str, Any],
    fixed_u: dict[str, dict[str, float]] | None = None,
    fixed_prior: float | None = None,
    fixed_m: dict[str, dict[str, float]] | None = None,
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
    for name, m in (fixed_m or {}).items():
        params["fields"][name]["m"] = dict(m)
    for _ in range(iterations):
        weights = Weights.from_params(params)
        m_counts: dict[str, dict[str, float]] = {name: defaultdict(float) for name in FIELDS}
        u_counts: dict[str, dict[str, float]] = {name: defaultdict(float) for name in FIELDS}
        shared: dict[str, list[float]] = {name: [0.0, 0.0] for name in SHARED_LEVELS}
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
            if pattern[ADDRESS_INDEX] in SAME_ADDRESS:
                for name, levels in SHARED_LEVELS.items():
                    if pattern[FIELD_INDEX[name]] != MISSING:
                        shared[name][0] += (1 - p) * count * (pattern[FIELD_INDEX[name]] in levels)
                        shared[name][1] += (1 - p) * count
        if total == 0:
            break
        change = 0.0
        if fixed_prior is None:
            new_prior = min(max(expected_matches / total, PROBABILITY_FLOOR), 1 - PROBABILITY_FLOOR)
            change = max(change, abs(new_prior - params["prior"]))
            params["prior"] = new_prior
        for name in FIELDS:
            sides: Iterable[tuple[str, dict[str, float]]] = (
                [] if fixed_m and name in fixed_m else [("m", m_counts[name])]
            )
            if not fixed_u or name not in fixed_u:
                sides = [*sides, ("u", u_counts[name])]
            for side, counter in sides:
                seen = sum(counter.values())
                if seen <= 0:
                    continue
                for level in LEVELS[name]:
                    value = max(counter.get(level, 0.0) / seen, PROBABILITY_FLOOR)
                    change = max(change, abs(value - params["fields"][name][side][level]))
                    params["fields"][name][side][level] = value
        for name, (agreeing, seen) in shared.items():
            # Non-matches at one address that share the field, smoothed towards
            # "as often as anywhere" (u) when there are few such pairs.
            u = sum(params["fields"][name]["u"][level] for level in SHARED_LEVELS[name])
            value = (agreeing + SHARED_SMOOTHING * u) / (seen + SHARED_SMOOTHING)
            change = max(change, abs(value - params["at_same_address"][name]))
            params["at_same_address"][name] = value
        if change < tolerance:
            break
    return params
