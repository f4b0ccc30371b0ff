"""Matching records to customers, and proposing duplicate customers: the model in
force, cluster scoring with its chain-safety rule, golden-record refresh.

``source_record_match`` runs when a record arrives or changes (a Celery task
enqueued after the import's commit) as a batch of one through the set-based
path, ``profiles.identity.bulk.source_records_resolve``, which

* links it to the customer it matches above the upper threshold against
  *every* record of that customer (chain safety: matching one record of a
  cluster is not enough), or else creates a new customer for it;
* proposes a ``MatchCandidate`` for each other customer scoring at least the
  lower threshold: for review, or merged automatically (after commit, by
  ``customer_merge_task``) when the two customers' records all agree.

Pairs a steward called "not a match" (``NotAMatch``) are never proposed again.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from customer360.choices import ActorChannel
from customer360.services import Actor, model_save

from ..models import Customer, MatchModel, SourceRecord
from .choices import ModelMethod
from .config import MatchSettings
from .golden import GOLDEN_FIELDS, survive, survivorship_rules
from .normalize import Features
from .scoring import DEFAULT_PARAMS, PairScore, Weights, pair_weight, probability_of, score

MATCH_ACTOR_LABEL = "rule:identity-resolution"


def matching_actor(model_version: int | None = None) -> Actor:
    label = MATCH_ACTOR_LABEL + (f" model v{model_version}" if model_version else "")
    return Actor.system(label, ActorChannel.TASK)


# --- the model in force --------------------------------------------------------


def match_model_current() -> MatchModel:
    """The highest model version; version 1 (configured defaults) when there is none."""
    model = MatchModel.objects.order_by("-version").first()
    if model is None:
        model, _ = MatchModel.objects.get_or_create(
            version=1,
            defaults={
                "method": ModelMethod.CONFIGURED,
                "params": DEFAULT_PARAMS,
                "notes": "Documented defaults (profiles.identity.scoring.DEFAULT_PARAMS).",
            },
        )
    return model


@lru_cache(maxsize=16)
def _weights(version: int) -> Weights:
    return Weights.from_params(MatchModel.objects.get(version=version).params)


def weights_for(model: MatchModel) -> Weights:
    return _weights(model.version)


# --- scoring clusters -------------------------------------------------------------


class ClusterScore:
    """The best pair between two sets of records (its weight and probability; its
    explanation, ``best``, made when first asked for: deciding needs only the
    numbers), and the worst pair's probability."""

    __slots__ = ("_best", "_pair", "_weights", "match_weight", "probability", "worst_probability")
    _best: PairScore | None
    _pair: tuple[Features, Features]
    _weights: Weights
    match_weight: float
    probability: float
    worst_probability: float

    def __init__(
        self,
        *,
        pair: tuple[Features, Features],
        weights: Weights,
        total: float,
        worst_probability: float,
    ) -> None:
        self._pair, self._weights, self._best = pair, weights, None
        self.match_weight = round(total, 3)  # as ``score`` gives them
        self.probability = probability_of(total)
        self.worst_probability = worst_probability

    @property
    def best(self) -> PairScore:
        if self._best is None:
            self._best = score(*self._pair, self._weights)
        return self._best


def cluster_score(
    left: Sequence[Features], right: Sequence[Features], weights: Weights
) -> ClusterScore | None:
    # Every pair's weight; the best pair is the first of equal rounded weights,
    # as comparing ``score``'s ``match_weight`` chose it.
    best: tuple[Features, Features] | None = None
    best_total = 0.0
    lowest = math.inf
    for a in left:
        for b in right:
            total = pair_weight(a, b, weights)
            lowest = min(lowest, total)
            if best is None or round(total, 3) > round(best_total, 3):
                best, best_total = (a, b), total
    if best is None:
        return None
    return ClusterScore(
        pair=best, weights=weights, total=best_total, worst_probability=probability_of(lowest)
    )


def is_auto_merge(result: ClusterScore, thresholds: MatchSettings) -> bool:
    """Chain safety: the best pair clears the upper threshold and no pair between
    the two clusters is below the lower one."""
    return (
        result.probability >= thresholds.auto_merge_threshold
        and result.worst_probability >= thresholds.review_threshold
    )


# --- golden records -----------------------------------------------------------------


def _golden_values(customer: Customer) -> tuple[dict[str, Any], dict[str, int]]:
    records = list(SourceRecord.objects.filter(customer=customer).select_related("source_system"))
    return survive(records, survivorship_rules())


def customer_golden_refresh(*, customer: Customer, actor: Actor, reason: str) -> bool:
    """Re-derive a customer's golden values and lineage; True when something changed.

    A customer without source records keeps its values (set by a person).
    """
    values, lineage = _golden_values(customer)
    if not lineage:
        return False
    lineage_text = {name: pk for name, pk in lineage.items()}
    changed = customer.lineage != lineage_text or any(
        getattr(customer, name) != values[name] for name in GOLDEN_FIELDS
    )
    if not changed:
        return False
    for name in GOLDEN_FIELDS:
        setattr(customer, name, values[name])
    customer.lineage = lineage_text
    model_save(customer, actor=actor, reason=reason)
    return True


# --- the service ----------------------------------------------------------------------------


def source_record_match(*, record_id: int, resolved_before: datetime.datetime | None = None) -> str:
    """Resolve one new or changed source record; returns what happened.

    A batch of one through the set-based path (``profiles.identity.bulk``):
    ``"linked"`` (to an existing customer), ``"created"`` (a new customer),
    ``"refreshed"`` (a changed record's customer re-derived) or ``"skipped"``
    (gone, or already resolved: the task is idempotent). With
    ``resolved_before`` (a full re-resolution run's start), a record resolved
    before that moment is matched again, one resolved since is skipped.
    """
    from .bulk import source_records_resolve

    outcomes = source_records_resolve(record_ids=[record_id], resolved_before=resolved_before)
    return outcomes[record_id]


def unresolved_record_ids(limit: int | None = None) -> list[int]:
    queryset = SourceRecord.objects.filter(resolved_at__isnull=True).order_by("pk")
    ids = queryset.values_list("pk", flat=True)
    return list(ids[:limit] if limit else ids)
