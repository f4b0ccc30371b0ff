"""Matching records to customers, and proposing duplicate customers.

``source_record_match`` runs when a record arrives or changes (a Celery task
enqueued after the import's commit): it writes the record's blocking keys,
scores it against the records of every customer it shares a block with, and

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
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from customer360.choices import ActorChannel
from customer360.services import Actor, model_save, on_commit_delay

from ..models import BlockingKey, Customer, MatchCandidate, MatchModel, NotAMatch, SourceRecord
from .blocking import MAX_BLOCK_SIZE, blocking_keys
from .choices import OPEN_CANDIDATE_STATUSES, ModelMethod
from .config import MatchSettings, match_settings
from .golden import GOLDEN_FIELDS, survive, survivorship_rules
from .normalize import Features, match_features
from .scoring import DEFAULT_PARAMS, PairScore, Weights, score

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


# --- blocking -------------------------------------------------------------------


def _lock_blocks(keys: Sequence[tuple[str, str]]) -> None:
    """Serialize matching of records that share a block (PostgreSQL advisory locks,
    taken in one order so two workers never deadlock on them). SQLite's
    IMMEDIATE transactions serialize every writer already."""
    if connection.vendor != "postgresql" or not keys:
        return
    ids = sorted(
        {
            int.from_bytes(hashlib.sha1(f"{r}|{k}".encode()).digest()[:8], "big", signed=True)  # noqa: S324
            for r, k in keys
        }
    )
    with connection.cursor() as cursor:
        for lock_id in ids:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock_id])


def blocking_keys_write(record: SourceRecord, keys: Sequence[tuple[str, str]]) -> None:
    """Replace the record's blocking keys (derived data, no history)."""
    current = set(BlockingKey.objects.filter(record=record).values_list("rule", "key"))
    wanted = set(keys)
    if current == wanted:
        return
    stale = current - wanted
    if stale:
        condition = Q()
        for rule, key in stale:
            condition |= Q(rule=rule, key=key)
        BlockingKey.objects.filter(record=record).filter(condition).delete()
    BlockingKey.objects.bulk_create(
        [BlockingKey(record=record, rule=rule, key=key) for rule, key in sorted(wanted - current)]
    )


def candidate_record_ids(record_id: int, keys: Sequence[tuple[str, str]]) -> set[int]:
    """Ids of records sharing a block with the record; oversized blocks are skipped."""
    if not keys:
        return set()
    condition = Q()
    for rule, key in keys:
        condition |= Q(rule=rule, key=key)
    blocks: dict[tuple[str, str], list[int]] = defaultdict(list)
    for rule, key, other in BlockingKey.objects.filter(condition).values_list(
        "rule", "key", "record_id"
    ):
        if other != record_id:
            blocks[(rule, key)].append(other)
    found: set[int] = set()
    for members in blocks.values():
        if len(members) <= MAX_BLOCK_SIZE:
            found.update(members)
    return found


def not_a_match_ids(record_ids: Iterable[int]) -> set[int]:
    """Records any of ``record_ids`` was declared not to match."""
    ids = list(record_ids)
    pairs = NotAMatch.objects.filter(Q(record_a_id__in=ids) | Q(record_b_id__in=ids)).values_list(
        "record_a_id", "record_b_id"
    )
    return {b if a in ids else a for a, b in pairs}


# --- scoring clusters -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClusterScore:
    """The best pair between two sets of records, and the worst pair's probability."""

    best: PairScore
    worst_probability: float

    @property
    def probability(self) -> float:
        return self.best.probability


def cluster_score(
    left: Sequence[Features], right: Sequence[Features], weights: Weights
) -> ClusterScore | None:
    best: PairScore | None = None
    worst = 1.0
    for a in left:
        for b in right:
            result = score(a, b, weights)
            worst = min(worst, result.probability)
            if best is None or result.match_weight > best.match_weight:
                best = result
    return None if best is None else ClusterScore(best=best, worst_probability=worst)


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


def customer_create_from_record(*, record: SourceRecord, actor: Actor, reason: str) -> Customer:
    """A new golden customer derived from one source record."""
    # Imported here: profiles.services re-exports this module's services.
    from ..services import customer_create

    values, lineage = survive([record], survivorship_rules())
    return customer_create(
        actor=actor, reason=reason, lineage=lineage, source_record_id=record.pk, **values
    )


# --- candidates -------------------------------------------------------------------------


def _features_of(records: Iterable[SourceRecord]) -> list[Features]:
    return [match_features(r.normalized) for r in records]


def candidate_propose(
    *,
    customer_x: Customer,
    customer_y: Customer,
    record: SourceRecord | None,
    model: MatchModel,
    thresholds: MatchSettings,
    actor: Actor,
) -> MatchCandidate | None:
    """Score two customers' records against each other and propose the pair.

    Nothing when they are below the lower threshold, when a pair of their
    records was declared not a match, or when the pair is already open. An
    auto-merge pair is merged by ``customer_merge_task`` after commit.
    """
    first, second = sorted([customer_x, customer_y], key=lambda c: c.pk)
    if first.pk == second.pk:
        return None
    if MatchCandidate.objects.filter(
        customer_a=first, customer_b=second, status__in=OPEN_CANDIDATE_STATUSES
    ).exists():
        return None
    left = list(SourceRecord.objects.filter(customer=first))
    right = list(SourceRecord.objects.filter(customer=second))
    if not left or not right:
        return None
    if not_a_match_ids(r.pk for r in left) & {r.pk for r in right}:
        return None
    result = cluster_score(_features_of(left), _features_of(right), weights_for(model))
    if result is None or result.probability < thresholds.review_threshold:
        return None
    candidate = MatchCandidate(
        record=record,
        customer_a=first,
        customer_b=second,
        probability=result.probability,
        match_weight=result.best.match_weight,
        explanation=result.best.explanation,
        model_version=model.version,
    )
    model_save(candidate, actor=actor, reason="Proposed by identity resolution")
    if is_auto_merge(result, thresholds):
        from ..tasks import customer_merge_task

        on_commit_delay(customer_merge_task, candidate_id=candidate.pk)
    return candidate


# --- the service ----------------------------------------------------------------------------


@transaction.atomic
def source_record_match(*, record_id: int, resolved_before: datetime.datetime | None = None) -> str:
    """Resolve one new or changed source record; returns what happened.

    ``"linked"`` (to an existing customer), ``"created"`` (a new customer),
    ``"refreshed"`` (a changed record's customer re-derived) or ``"skipped"``
    (gone, or already resolved: the task is idempotent). With
    ``resolved_before`` (a full re-resolution run's start), a record resolved
    before that moment is matched again, one resolved since is skipped.
    """
    record = (
        SourceRecord.objects.select_for_update(of=("self",))
        .select_related("source_system", "customer")
        .filter(pk=record_id)
        .first()
    )
    if record is None:
        return "skipped"
    if record.resolved_at is not None and (
        resolved_before is None or record.resolved_at >= resolved_before
    ):
        return "skipped"
    model = match_model_current()
    weights = weights_for(model)
    thresholds = match_settings()
    actor = matching_actor(model.version)
    features = match_features(record.normalized)
    keys = blocking_keys(features)
    _lock_blocks(keys)
    blocking_keys_write(record, keys)

    others = candidate_record_ids(record.pk, keys) - not_a_match_ids([record.pk])
    customer_ids = set(
        SourceRecord.objects.filter(pk__in=others, customer__isnull=False).values_list(
            "customer_id", flat=True
        )
    )
    customer_ids.discard(record.customer_id)  # type: ignore[arg-type]
    clusters: dict[int, list[SourceRecord]] = defaultdict(list)
    for other in SourceRecord.objects.filter(customer_id__in=customer_ids).exclude(pk=record.pk):
        clusters[other.customer_id].append(other)  # type: ignore[index]
    forbidden = not_a_match_ids([record.pk])
    scored: list[tuple[int, ClusterScore]] = []
    for customer_id, members in clusters.items():
        if forbidden & {m.pk for m in members}:
            continue
        result = cluster_score([features], _features_of(members), weights)
        if result is not None and result.probability >= thresholds.review_threshold:
            scored.append((customer_id, result))
    scored.sort(key=lambda item: (-item[1].best.match_weight, item[0]))

    reason = f"Matched source record {record.source_system.code}:{record.source_key}"
    if record.customer_id is None:
        linked = next(((cid, r) for cid, r in scored if is_auto_merge(r, thresholds)), None)
        if linked is not None:
            target = Customer.objects.select_for_update().get(pk=linked[0])
            outcome = "linked"
        else:
            target = customer_create_from_record(record=record, actor=actor, reason=reason)
            outcome = "created"
        record.customer = target
    else:
        target = Customer.objects.select_for_update().get(pk=record.customer_id)
        outcome = "refreshed"
    record.resolved_at = timezone.now()
    model_save(record, actor=actor, reason=reason)
    customer_golden_refresh(customer=target, actor=actor, reason=reason)
    for customer_id, _result in scored:
        if customer_id == target.pk:
            continue
        other_customer = Customer.objects.get(pk=customer_id)
        if other_customer.merged_into_id is not None:
            continue
        candidate_propose(
            customer_x=target,
            customer_y=other_customer,
            record=record,
            model=model,
            thresholds=thresholds,
            actor=actor,
        )
    return outcome


def unresolved_record_ids(limit: int | None = None) -> list[int]:
    queryset = SourceRecord.objects.filter(resolved_at__isnull=True).order_by("pk")
    ids = queryset.values_list("pk", flat=True)
    return list(ids[:limit] if limit else ids)
