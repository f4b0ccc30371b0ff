"""Training the Fellegi-Sunter model on the current data (EM), as Splink does.

``match_model_train`` reads the source records' canonical values (at most
``max_records``, spread evenly over the table), estimates u from random
pairs, counts the comparison patterns of the pairs the blocking rules would
compare, runs EM for m and the prior starting from the model in force, and
stores the result as the next ``MatchModel`` version. Matching uses the
highest version from then on (``matching.match_model_current``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from itertools import combinations
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from customer360.choices import AuditEventType
from customer360.services import Actor, audit_event_record

from ..models import MatchModel, SourceRecord
from .blocking import MAX_BLOCK_SIZE, blocking_keys
from .choices import ModelMethod
from .matching import match_model_current
from .normalize import Features, match_features
from .scoring import (
    DEFAULT_PARAMS,
    EXACT,
    FIELDS,
    compare,
    em_estimate,
    params_as_levels,
    u_from_random_pairs,
)

MAX_RECORDS = 200_000
MIN_RECORDS = 10
# Pairs compared per block at most: a block's first members say what it holds.
MAX_PAIRS_PER_BLOCK = 2_000
# Combinations that, agreeing exactly, all but prove a match; they find about
# this share of the true matches (FEBRL and the seeded data: 0.6-0.8).
DETERMINISTIC_RULES = (
    ("national_id",),
    ("email", "family_name"),
    ("phone", "family_name"),
    ("given_name", "family_name", "date_of_birth"),
)
DETERMINISTIC_RECALL = 0.7
# Fields whose m stays as configured (DEFAULT_PARAMS) instead of being learned.
# The names: the blocking rules choose pairs by them (family name + postcode,
# date of birth + initials), so among blocked pairs their agreement is
# selected for, not observed (Splink, too, leaves a training rule's own
# fields out of EM); and in data with households blocked pairs hold many
# relatives at one address, whom EM, free to, makes its match class, learning
# that a given-name disagreement is common among matches. How names of one
# person differ (nicknames, typos, initials and swaps aside) is known, not learned.
CONFIGURED_M_FIELDS = ("given_name", "family_name")


def training_features(max_records: int) -> list[Features]:
    """Features of up to ``max_records`` records, every n-th by primary key."""
    total = SourceRecord.objects.count()
    step = max(1, -(-total // max_records))
    features: list[Features] = []
    rows = SourceRecord.objects.order_by("pk").values_list("pk", "normalized")
    for index, (_pk, normalized) in enumerate(rows.iterator(chunk_size=5000)):
        if index % step == 0:
            features.append(match_features(normalized))
    return features


def blocked_patterns(features: list[Features]) -> Counter[tuple[str, ...]]:
    """Comparison patterns of the pairs the blocking rules compare (each pair once)."""
    blocks: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, feature in enumerate(features):
        for key in blocking_keys(feature):
            blocks[key].append(index)
    seen: set[tuple[int, int]] = set()
    patterns: Counter[tuple[str, ...]] = Counter()
    for members in blocks.values():
        if len(members) < 2 or len(members) > MAX_BLOCK_SIZE:
            continue
        for count, (i, j) in enumerate(combinations(members, 2)):
            if count >= MAX_PAIRS_PER_BLOCK:
                break
            if (i, j) in seen:
                continue
            seen.add((i, j))
            patterns[compare(features[i], features[j])] += 1
    return patterns


def blocked_prior(patterns: Counter[tuple[str, ...]]) -> float:
    """The share of blocked pairs that match, estimated deterministically as
    Splink does: pairs that agree exactly on a near-unique combination, over
    an assumed recall of those rules (``DETERMINISTIC_RECALL``)."""
    index = {name: i for i, name in enumerate(FIELDS)}
    sure = 0
    for pattern, count in patterns.items():
        if any(all(pattern[index[f]] == EXACT for f in rule) for rule in DETERMINISTIC_RULES):
            sure += count
    total = sum(patterns.values())
    share = sure / DETERMINISTIC_RECALL / total if total else 0.0
    return min(max(share, 1e-4), 0.5)


def estimate_params(
    features: list[Features], *, start: dict[str, Any], random_pairs: int = 20_000
) -> tuple[dict[str, Any], Counter[tuple[str, ...]]]:
    """The EM estimate of a model from records' features (pure: no database),
    and the blocked pairs' patterns it learned from: u from random pairs,
    the prior from deterministic rules, m by EM (``CONFIGURED_M_FIELDS`` kept
    as configured). What ``match_model_train`` stores and the accuracy
    benchmark scores with."""
    u = u_from_random_pairs(features, pairs=random_pairs)
    patterns = blocked_patterns(features)
    if not patterns:
        return {}, patterns
    configured = params_as_levels(DEFAULT_PARAMS)["fields"]
    params = em_estimate(
        patterns,
        start=start,
        fixed_u=u,
        fixed_prior=blocked_prior(patterns),
        fixed_m={name: configured[name]["m"] for name in CONFIGURED_M_FIELDS},
    )
    return params, patterns


@transaction.atomic
def match_model_train(
    *, actor: Actor, reason: str, max_records: int = MAX_RECORDS, random_pairs: int = 20_000
) -> MatchModel:
    """Estimate a new model version from the current records (EM); audited."""
    if max_records < MIN_RECORDS:
        raise ValidationError({"max_records": f"Train on at least {MIN_RECORDS} records."})
    features = training_features(max_records)
    if len(features) < MIN_RECORDS:
        raise ValidationError(
            f"Only {len(features)} source record(s): at least {MIN_RECORDS} are needed to train."
        )
    start = match_model_current()
    params, patterns = estimate_params(features, start=start.params, random_pairs=random_pairs)
    if not patterns:
        raise ValidationError("No two records share a block: there is nothing to learn from.")
    # Lock the table's versions so two trainings cannot take the same number.
    latest = MatchModel.objects.select_for_update().aggregate(v=Max("version"))["v"] or 0
    pairs = sum(patterns.values())
    model = MatchModel(
        version=latest + 1,
        method=ModelMethod.EM,
        params=params,
        training_pairs=pairs,
        notes=(
            f"EM from v{start.version} on {len(features)} record(s), {pairs} blocked pair(s) "
            f"({len(patterns)} distinct patterns); u from {random_pairs} random pairs; "
            f"fields {', '.join(FIELDS)}; m of {', '.join(CONFIGURED_M_FIELDS)} as configured. "
            f"{reason}"
        ),
    )
    model.full_clean()
    model.save()
    audit_event_record(
        event_type=AuditEventType.MATCH_MODEL_TRAINED,
        actor=actor,
        subject=model,
        reason=reason,
        old={"version": start.version},
        new={
            "version": model.version,
            "records": len(features),
            "training_pairs": pairs,
            "prior": round(params["prior"], 6),
        },
    )
    return model
