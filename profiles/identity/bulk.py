"""Set-based identity resolution: a whole batch of records in a constant number of queries.

``source_records_resolve`` is the one matching service: a resolution run's
batch task, the import's after-commit task and a single record's arrival
(``matching.source_record_match``, a batch of one) all call it. Whatever the
batch's size, it

1. loads and row-locks the batch's records (one query, in id order), and
   computes their features and blocking keys in Python;
2. locks those keys (PostgreSQL advisory locks, taken in one sorted
   statement; see ``keys_lock``), so two workers resolving records that
   share a block never decide on each other's uncommitted state, while
   workers resolving unrelated records do not wait for each other;
3. replaces the records' blocking keys (one delete, one insert: ``COPY`` on
   PostgreSQL) and reads every block's members in one query, skipping
   blocks larger than ``MAX_BLOCK_SIZE``;
4. locks the customers those members belong to (their ids only: deciding
   reads their records, as plain rows, ``MemberRow``), and reads the
   steward's "not a match" pairs among those records;
5. decides in memory, record by record in id order, exactly as matching one
   record at a time would (each record sees the batch's earlier records):
   a record joins the cluster it matches above the upper threshold against
   *every* member (chain safety, ``is_auto_merge``), else founds a new one;
   then new clusters that match each other (or an existing customer) that
   way are united, so records of one person in one batch end in one customer;
6. writes the outcome in bulk: customer numbers in one allocation, new
   customers with their history rows and golden values with lineage,
   records' customer and ``resolved_at`` with history, golden values of
   existing customers that gained or changed records, ``MatchCandidate``
   rows for pairs in the review band (merged by ``customer_merge_task``
   after commit when they clear the upper threshold), and one audit event
   for the customers the batch created.

A record already resolved (since ``resolved_before``, when given) is skipped,
so a batch delivered twice changes nothing the second time.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Q
from django.db.models.functions import Cast
from django.utils import timezone

from customer360.choices import AuditEventType
from customer360.db import array_literal, ids_subquery
from customer360.services import (
    Actor,
    audit_event_record,
    change_reason,
    model_bulk_update,
    on_commit_delay,
)
from governance.models import SourceSystem

from ..demo.bulk import (
    concrete_fields,
    copy_rows,
    history_insert,
    insert_values_with_history,
    insert_with_history,
)
from ..models import BlockingKey, Customer, MatchCandidate, MatchModel, NotAMatch, SourceRecord
from ..numbers import customer_numbers_allocate
from .blocking import MAX_BLOCK_SIZE, blocking_keys
from .choices import OPEN_CANDIDATE_STATUSES
from .config import MatchSettings, match_settings
from .golden import GOLDEN_FIELDS, survive, survivorship_rules
from .matching import (
    ClusterScore,
    cluster_score,
    is_auto_merge,
    match_model_current,
    matching_actor,
    weights_for,
)
from .normalize import Features, record_features, record_features_json
from .scoring import Weights

# Two transactions resolving records that share a blocking key must not decide
# on each other's uncommitted state, so each locks its keys (PostgreSQL
# advisory locks, until commit). A batch of up to ``KEY_LOCKS_MAX`` keys locks
# each key (namespace ``KEY_NAMESPACE``): batches of unrelated records never
# wait for each other. A larger batch would fill the shared lock table, so it
# locks the ``LOCK_BUCKETS`` hashed buckets of its keys instead (namespace
# ``BUCKET_NAMESPACE``, exclusive), and a per-key locker first takes its keys'
# buckets shared: a bucket lock then excludes every key in it, and per-key
# lockers only exclude each other on the keys they really share.
LOCK_BUCKETS = 256
BUCKET_NAMESPACE = 0x1D0  # keeps these advisory locks apart from anyone else's
KEY_NAMESPACE = 0x1D1
# Records per transaction of an on-arrival batch (``source_records_resolve_in_chunks``)
# and of a resolution run's batch (``settings.IDENTITY_RESOLVE_CHUNK``): about six
# keys each keeps a chunk under ``KEY_LOCKS_MAX``.
RESOLVE_CHUNK = settings.IDENTITY_RESOLVE_CHUNK
KEY_LOCKS_MAX = 8 * RESOLVE_CHUNK

Key = tuple[str, str]


class MemberRow:
    """Another record of a nearby customer, as deciding, survivorship and a
    reason read it: a plain row, never saved. Building a model instance per
    member cost about 18 us (a third of a batch's Python at 1M records); this
    costs about 2. Its canonical values stay the JSON text the database sent
    (features are remembered per text) until survivorship asks for them."""

    __slots__ = (
        "_normalized",
        "customer_id",
        "id",
        "normalized_text",
        "received_at",
        "source_key",
        "source_system",
        "source_system_id",
    )
    source_system: SourceSystem

    def __init__(
        self,
        id: int,  # the record's id, as on SourceRecord
        customer_id: int,
        source_system_id: int,
        source_key: str,
        received_at: datetime.datetime,
        normalized_text: str,
    ) -> None:
        self.id, self.customer_id = id, customer_id
        self.source_system_id, self.source_key = source_system_id, source_key
        self.received_at, self.normalized_text = received_at, normalized_text
        self._normalized: dict[str, Any] | None = None

    @property
    def normalized(self) -> dict[str, Any]:
        if self._normalized is None:
            self._normalized = json.loads(self.normalized_text)
        return self._normalized


# A cluster's records: the batch's own (model instances, saved) and the rest.
Member = SourceRecord | MemberRow


def _members_read(customer_ids: Iterable[int]) -> list[MemberRow]:
    """Every record of these customers, in id order, as ``MemberRow``s."""
    rows = (
        SourceRecord.objects.filter(customer_id__in=ids_subquery(customer_ids))
        .order_by("pk")
        .annotate(normalized_text=Cast("normalized", models.TextField()))
        .values_list(
            "id", "customer_id", "source_system_id", "source_key", "received_at", "normalized_text"
        )
    )
    return [MemberRow(*row) for row in rows]


# --- set-based SQL helpers -------------------------------------------------------


def _key_hash(key: Key) -> int:
    """A signed 32-bit hash of a key: the second number of its advisory lock."""
    digest = hashlib.blake2b(f"{key[0]}|{key[1]}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


def keys_lock(keys: Iterable[Key]) -> None:
    """Lock ``keys`` until the transaction ends: each key when there are at most
    ``KEY_LOCKS_MAX``, else their buckets; in one statement, buckets before keys
    and each in ascending order, so two lockers never deadlock on them. SQLite's
    IMMEDIATE transactions serialize every writer already."""
    if connection.vendor != "postgresql":
        return
    hashes = sorted({_key_hash(k) for k in keys})
    if not hashes:
        return
    buckets = sorted({h % LOCK_BUCKETS for h in hashes})
    with connection.cursor() as cursor:
        if len(hashes) > KEY_LOCKS_MAX:
            cursor.execute(
                "SELECT count(pg_advisory_xact_lock(%s, b)) FROM unnest(%s::int[]) AS b",
                [BUCKET_NAMESPACE, array_literal(buckets)],
            )
            return
        # UNION ALL runs its parts in order: every bucket (shared), then every key.
        cursor.execute(
            "SELECT count(CASE WHEN s.t = 0 THEN pg_advisory_xact_lock_shared(%s, s.v)"
            " ELSE pg_advisory_xact_lock(%s, s.v) END)"
            " FROM (SELECT 0 AS t, b AS v FROM unnest(%s::int[]) AS b"
            " UNION ALL SELECT 1, k FROM unnest(%s::int[]) AS k) AS s",
            [BUCKET_NAMESPACE, KEY_NAMESPACE, array_literal(buckets), array_literal(hashes)],
        )


def blocking_keys_replace(keys_by_record: dict[int, list[Key]]) -> None:
    """Replace the blocking keys of these records (derived data, no history)."""
    if not keys_by_record:
        return
    BlockingKey.objects.filter(record_id__in=ids_subquery(keys_by_record)).delete()
    rows = [(pk, rule, key) for pk, keys in keys_by_record.items() for rule, key in keys]
    if connection.vendor == "postgresql":
        copy_rows(BlockingKey._meta.db_table, ["record_id", "rule", "key"], rows)
        return
    BlockingKey.objects.bulk_create(
        [BlockingKey(record_id=pk, rule=rule, key=key) for pk, rule, key in rows]
    )


def block_members(keys: Iterable[Key]) -> dict[Key, list[int]]:
    """The ids of the records in each block, in one query; a block larger than
    ``MAX_BLOCK_SIZE`` (plus the record asking) comes back with more ids than
    that and is skipped by the caller, without reading all of it."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    table = connection.ops.quote_name(BlockingKey._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT k.rule, k.key, b.record_id"  # noqa: S608
                " FROM unnest(%s::text[], %s::text[]) AS k(rule, key)"
                f" CROSS JOIN LATERAL (SELECT record_id FROM {table} WHERE rule = k.rule"
                " AND key = k.key LIMIT %s) AS b",
                [
                    array_literal(r for r, _ in wanted),
                    array_literal(k for _, k in wanted),
                    MAX_BLOCK_SIZE + 2,
                ],
            )
        else:
            cursor.execute(
                f"SELECT b.rule, b.key, b.record_id FROM json_each(%s) AS j JOIN {table} AS b"  # noqa: S608
                " ON b.rule = json_extract(j.value, '$[0]')"
                " AND b.key = json_extract(j.value, '$[1]')",
                [json.dumps(wanted)],
            )
        members: dict[Key, list[int]] = defaultdict(list)
        for rule, key, record_id in cursor.fetchall():
            members[(rule, key)].append(record_id)
    return members


def rows_update_with_history[M: models.Model](
    objs: list[M], *, fields: list[str], actor: Actor, reasons: list[str]
) -> None:
    """Save ``fields`` of many rows with one history row each (reason per row).

    PostgreSQL: one statement, ``UPDATE ... FROM unnest(...) RETURNING`` feeding
    the ``INSERT`` of the history rows, so the server makes each history row from
    the row it just updated (nothing of the rest of the row is sent back and
    forth: a source record's payload stays on the server); elsewhere
    ``model_bulk_update`` (simple-history's bulk update).
    """
    if not objs:
        return
    model = type(objs[0])
    now = timezone.now()
    fields = list(fields)
    for f in model._meta.concrete_fields:
        if getattr(f, "auto_now", False) and f.name not in fields:
            fields.append(f.name)
            for obj in objs:
                setattr(obj, f.attname, now)
    if connection.vendor != "postgresql":
        for obj, reason in zip(objs, reasons, strict=True):
            obj._change_reason = change_reason(actor, reason)  # type: ignore[attr-defined]
        model_bulk_update(objs, fields=fields, actor=actor, reason=reasons[0])
        return
    concrete: list[models.Field[Any, Any]] = []
    for name in fields:
        found = model._meta.get_field(name)
        if not isinstance(found, models.Field):
            raise TypeError(f"{name!r} is a relation, not a column of {model.__name__}")
        concrete.append(found)
    quote = connection.ops.quote_name
    arrays: list[str] = [
        array_literal(obj.pk for obj in objs),
        array_literal(change_reason(actor, r) for r in reasons),
    ]
    casts = ["bigint[]", "text[]"]
    sets = []
    for f in concrete:
        column = quote(str(f.column))
        if isinstance(f, models.JSONField):
            arrays.append(array_literal(json.dumps(getattr(obj, f.attname)) for obj in objs))
            casts.append("text[]")
            sets.append(f"{column} = v.{column}::jsonb")
        else:
            arrays.append(array_literal(getattr(obj, f.attname) for obj in objs))
            casts.append(f"{f.db_type(connection)}[]")
            sets.append(f"{column} = v.{column}")
    names = ["id", "history_reason", *(quote(str(f.column)) for f in concrete)]
    unnest = ", ".join(f"%s::{cast}" for cast in casts)
    fields_all = concrete_fields(model)
    returned = ", ".join(f"u.{quote(str(f.column))}" for f in fields_all)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH v AS (SELECT * FROM unnest({unnest}) AS v({', '.join(names)})), "  # noqa: S608
            f"u AS (UPDATE {quote(model._meta.db_table)} AS t SET {', '.join(sets)} FROM v "
            "WHERE t.id = v.id RETURNING t.*) "
            + history_insert(model, fields_all)
            + f"SELECT {returned}, %s, '~', %s, v.history_reason FROM u JOIN v ON v.id = u.id "  # noqa: S608
            "ORDER BY u.id",
            [*arrays, now, actor.user.pk if actor.user is not None else None],
        )


# --- the clusters a batch decides on ------------------------------------------------------


@dataclass(slots=True)
class _Cluster:
    """An existing customer's records, or a customer about to be created."""

    number: int  # existing customers in id order first, then new ones in creation order
    existing: bool  # an existing customer (locked), else one this batch may create
    customer_id: int | None = None  # the existing customer's id, or the new one's once written
    members: list[Member] = field(default_factory=list)
    founder: SourceRecord | None = None
    changed: bool = False  # gained or changed a record: golden values to re-derive


@dataclass(slots=True)
class _Batch:
    weights: Weights
    thresholds: MatchSettings
    features: dict[int, Features]
    forbidden: dict[int, set[int]]
    clusters: list[_Cluster] = field(default_factory=list)
    cluster_of: dict[int, int] = field(default_factory=dict)  # record id -> cluster number
    parent: dict[int, int] = field(default_factory=dict)  # union-find over new clusters

    def find(self, number: int) -> int:
        while self.parent.get(number, number) != number:
            number = self.parent[number]
        return number

    def features_of(self, records: Iterable[Member]) -> list[Features]:
        return [self.features[r.id] for r in records]

    def forbids(self, left: Iterable[Member], right: Iterable[Member]) -> bool:
        right_ids = {r.id for r in right}
        return any(self.forbidden.get(r.id, set()) & right_ids for r in left)

    def score(self, left: _Cluster, right: _Cluster) -> ClusterScore | None:
        if self.forbids(left.members, right.members):
            return None
        return cluster_score(
            self.features_of(left.members), self.features_of(right.members), self.weights
        )


def _features(records: Iterable[Member]) -> dict[int, Features]:
    return {
        r.id: record_features_json(r.normalized_text)
        if isinstance(r, MemberRow)
        else record_features(r.normalized)
        for r in records
    }


def _forbidden_pairs(record_ids: set[int]) -> dict[int, set[int]]:
    forbidden: dict[int, set[int]] = defaultdict(set)
    if not record_ids:
        return forbidden
    subquery = ids_subquery(record_ids)
    for a, b in NotAMatch.objects.filter(
        Q(record_a_id__in=subquery) | Q(record_b_id__in=subquery)
    ).values_list("record_a_id", "record_b_id"):
        forbidden[a].add(b)
        forbidden[b].add(a)
    return forbidden


Proposals = dict[tuple[int, int], SourceRecord]


def _decide(
    batch: _Batch,
    todo: list[SourceRecord],
    keys: dict[int, list[Key]],
    blocks: dict[Key, list[int]],
) -> tuple[dict[int, str], Proposals]:
    """Place each record, in id order, as matching it alone would; returns each
    record's outcome and the cluster pairs to propose (with the record that
    proposed them first)."""
    outcomes: dict[int, str] = {}
    proposals: Proposals = {}
    review = batch.thresholds.review_threshold
    for record in todo:
        forbidden = batch.forbidden.get(record.id, set())
        neighbours: set[int] = set()
        for key in keys[record.id]:
            members = blocks.get(key, [])
            if len(members) <= MAX_BLOCK_SIZE + 1:
                neighbours.update(members)
        neighbours.discard(record.id)
        own = batch.cluster_of.get(record.id)
        nearby = {batch.cluster_of[n] for n in neighbours - forbidden if n in batch.cluster_of}
        nearby.discard(own)  # type: ignore[arg-type]
        scored: list[tuple[int, ClusterScore]] = []
        features = [batch.features[record.id]]
        for number in nearby:
            others = [m for m in batch.clusters[number].members if m.id != record.id]
            if not others or any(m.id in forbidden for m in others):
                continue
            result = cluster_score(features, batch.features_of(others), batch.weights)
            if result is not None and result.probability >= review:
                scored.append((number, result))
        scored.sort(key=lambda item: (-item[1].match_weight, item[0]))
        if own is None:
            own = next((n for n, r in scored if is_auto_merge(r, batch.thresholds)), None)
            if own is None:
                own = len(batch.clusters)
                batch.clusters.append(_Cluster(number=own, existing=False, founder=record))
                outcomes[record.id] = "created"
            else:
                outcomes[record.id] = "linked"
            batch.clusters[own].members.append(record)
            batch.cluster_of[record.id] = own
        else:
            outcomes[record.id] = "refreshed"
        batch.clusters[own].changed = True
        for number, _result in scored:
            if number != own:
                proposals.setdefault((min(own, number), max(own, number)), record)
    return outcomes, proposals


def _unite(batch: _Batch, outcomes: dict[int, str], pairs: Iterable[tuple[int, int]]) -> None:
    """Unite new clusters with the clusters (new or existing) they match above the
    upper threshold against every member, best pairs first, re-scored as they grow."""
    ranked = []
    for a, b in pairs:
        if batch.clusters[a].existing and batch.clusters[b].existing:
            continue  # two existing customers: a candidate (and a merge task), not a union
        result = batch.score(batch.clusters[a], batch.clusters[b])
        if result is not None and is_auto_merge(result, batch.thresholds):
            ranked.append((-result.match_weight, a, b))
    for _weight, a, b in sorted(ranked):
        a, b = batch.find(a), batch.find(b)
        if a == b:
            continue
        left, right = batch.clusters[a], batch.clusters[b]
        if left.existing and right.existing:
            continue
        result = batch.score(left, right)
        if result is None or not is_auto_merge(result, batch.thresholds):
            continue
        # The existing customer (else the earlier new cluster) absorbs the other.
        if left.existing or (not right.existing and a < b):
            keep, absorbed = left, right
        else:
            keep, absorbed = right, left
        batch.parent[absorbed.number] = keep.number
        keep.members.extend(absorbed.members)
        keep.changed = True
        for member in absorbed.members:
            batch.cluster_of[member.id] = keep.number
        if absorbed.founder is not None:
            outcomes[absorbed.founder.id] = "linked"
        absorbed.members = []


def _record_reason(record: Member) -> str:
    return f"Matched source record {record.source_system.code}:{record.source_key}"


# --- the service ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResolutionRules:
    """What a resolution decides by: the model in force, the thresholds and the
    survivorship rules (read once for all the chunks of one task)."""

    model: MatchModel
    thresholds: MatchSettings
    survivorship: dict[str, str]
    # Every source system by id (a few rows): attached to the records instead of
    # a join that built one SourceSystem instance per record read.
    systems: dict[int, SourceSystem]


def resolution_rules() -> ResolutionRules:
    return ResolutionRules(
        model=match_model_current(),
        thresholds=match_settings(),
        survivorship=survivorship_rules(),
        systems={s.pk: s for s in SourceSystem.objects.all()},
    )


def _systems_attach(records: Sequence[Member], systems: dict[int, SourceSystem]) -> None:
    """Give each record its source system (loading any created since ``systems``
    was read), as ``select_related`` would."""
    missing = {r.source_system_id for r in records} - systems.keys()
    if missing:
        systems.update((s.pk, s) for s in SourceSystem.objects.filter(pk__in=missing))
    cache = SourceRecord.source_system.field  # type: ignore[attr-defined]
    for record in records:
        if isinstance(record, MemberRow):
            record.source_system = systems[record.source_system_id]
        else:
            cache.set_cached_value(record, systems[record.source_system_id])


@transaction.atomic
def source_records_resolve(
    *,
    record_ids: Sequence[int],
    resolved_before: datetime.datetime | None = None,
    rules: ResolutionRules | None = None,
) -> dict[int, str]:
    """Resolve a batch of new or changed source records; returns each one's outcome.

    ``"linked"`` (to an existing customer, or to one founded by an earlier
    record of the batch), ``"created"`` (founded a new customer),
    ``"refreshed"`` (a changed record's customer re-derived) or ``"skipped"``
    (gone, or already resolved: idempotent). With ``resolved_before`` (a full
    re-resolution run's start), a record resolved before that moment is
    matched again, one resolved since is skipped.
    """
    outcomes = dict.fromkeys(record_ids, "skipped")
    locked = SourceRecord.objects.select_for_update().filter(pk__in=ids_subquery(record_ids))
    if connection.vendor == "postgresql":
        # The server makes the history rows (``rows_update_with_history``): the
        # payload need not come to Python. simple-history's path would reload it.
        locked = locked.defer("raw")
    records = list(locked.order_by("pk"))
    todo = [
        r
        for r in records
        if r.resolved_at is None
        or (resolved_before is not None and r.resolved_at < resolved_before)
    ]
    if not todo:
        return outcomes
    if rules is None:
        rules = resolution_rules()
    _systems_attach(todo, rules.systems)
    model, thresholds = rules.model, rules.thresholds
    actor = matching_actor(model.version)
    features = _features(todo)
    keys = {r.id: blocking_keys(features[r.id]) for r in todo}
    all_keys = {k for ks in keys.values() for k in ks}
    keys_lock(all_keys)
    blocking_keys_replace(keys)
    blocks = block_members(all_keys)

    todo_ids = {r.id for r in todo}
    nearby_ids = {pk for members in blocks.values() for pk in members} | todo_ids
    # Deciding reads only the customers' records; the rows of those whose golden
    # values change are loaded at the end.
    customer_ids = list(
        Customer.objects.select_for_update()
        .filter(
            pk__in=SourceRecord.objects.filter(pk__in=ids_subquery(nearby_ids)).values(
                "customer_id"
            ),
            merged_into__isnull=True,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    mine = {r.id: r for r in todo}
    members: list[Member] = [mine.get(r.id, r) for r in _members_read(customer_ids)]
    _systems_attach([m for m in members if m.id not in mine], rules.systems)
    features.update(_features(m for m in members if m.id not in features))
    batch = _Batch(
        weights=weights_for(model),
        thresholds=thresholds,
        features=features,
        forbidden=_forbidden_pairs(todo_ids | {m.id for m in members}),
    )
    number_of: dict[int | None, int] = {}
    for customer_id in customer_ids:
        number_of[customer_id] = len(batch.clusters)
        batch.clusters.append(
            _Cluster(number=len(batch.clusters), existing=True, customer_id=customer_id)
        )
    for member in members:
        number = number_of[member.customer_id]
        batch.clusters[number].members.append(member)
        batch.cluster_of[member.id] = number

    decided, proposals = _decide(batch, todo, keys, blocks)
    outcomes.update(decided)
    _unite(batch, outcomes, proposals)

    # New customers: one number allocation, rows and history rows in bulk.
    new_clusters = [c for c in batch.clusters if not c.existing and c.members]
    numbers = customer_numbers_allocate(len(new_clusters)) if new_clusters else []
    # New customers stay {attname: value} rows (no instances; binary COPY on
    # PostgreSQL): every value is one ``survive`` cleaned with its field's own
    # ``clean``, the number comes from the allocator, and the database checks
    # the constraints; a full_clean would cost more than matching the record.
    fresh = [
        {"customer_number": number, "lineage": lineage, **values}
        for cluster, number in zip(new_clusters, numbers, strict=True)
        for values, lineage in [survive(cluster.members, rules.survivorship)]
    ]
    if fresh:
        founder = new_clusters[0].founder
        reason = _record_reason(founder) if len(fresh) == 1 and founder else (
            f"Identity resolution: {len(todo)} source record(s) matched in one batch"
        )  # fmt: skip
        ids = insert_values_with_history(
            Customer, fresh, user=actor.user, reason=change_reason(actor, reason)
        )
        for cluster, pk in zip(new_clusters, ids, strict=True):
            cluster.customer_id = pk
        first, last = fresh[0]["customer_number"], fresh[-1]["customer_number"]
        audit_event_record(
            event_type=AuditEventType.CUSTOMER_CREATED,
            actor=actor,
            subject=Customer(pk=ids[0], customer_number=first),
            reason=reason,
            new={
                "customers": len(fresh),
                "customer_numbers": [first, last],
                "source_records": sorted(
                    c.founder.id for c in new_clusters if c.founder is not None
                ),
                "model_version": model.version,
            },
            customer_number=first if len(fresh) == 1 else "",
        )

    # Records: their customer and resolved_at, with history.
    now = timezone.now()
    for record in todo:
        record.customer_id = batch.clusters[batch.find(batch.cluster_of[record.id])].customer_id
        record.resolved_at = now
    rows_update_with_history(
        todo,
        fields=["customer", "resolved_at"],
        actor=actor,
        reasons=[_record_reason(r) for r in todo],
    )

    # Existing customers that gained or changed records: golden values again.
    changed = {
        c.customer_id: c
        for c in batch.clusters
        if c.existing and c.changed and c.customer_id is not None
    }
    loaded = Customer.objects.filter(pk__in=ids_subquery(changed)).order_by("pk")
    if connection.vendor == "postgresql":
        # What a golden refresh compares; the server makes the history rows of
        # what is saved (simple-history's path would reload the rest).
        loaded = loaded.only("id", "lineage", *GOLDEN_FIELDS)
    refreshed: list[Customer] = []
    refresh_reasons: list[str] = []
    for existing in loaded if changed else ():
        cluster = changed[existing.pk]
        values, lineage = survive(cluster.members, rules.survivorship)
        if not lineage:
            continue
        if existing.lineage == lineage and all(
            getattr(existing, name) == values[name] for name in GOLDEN_FIELDS
        ):
            continue
        for name in GOLDEN_FIELDS:
            setattr(existing, name, values[name])
        existing.lineage = lineage  # cleaned by ``survive``, as for new customers
        refreshed.append(existing)
        first = next((m for m in cluster.members if m.id in todo_ids), cluster.members[0])
        refresh_reasons.append(_record_reason(first))
    rows_update_with_history(
        refreshed, fields=[*GOLDEN_FIELDS, "lineage"], actor=actor, reasons=refresh_reasons
    )

    _candidates_propose(batch, proposals, model_version=model.version, actor=actor)
    return outcomes


def source_records_resolve_in_chunks(
    *, record_ids: Sequence[int], chunk: int = RESOLVE_CHUNK
) -> dict[int, str]:
    """``source_records_resolve`` of ``chunk`` records at a time, each chunk its own
    transaction: few enough keys per transaction to lock each key, so that
    workers resolving unrelated records run side by side (see ``keys_lock``).
    A retry after a failed chunk skips the chunks already resolved."""
    outcomes: dict[int, str] = {}
    rules = resolution_rules()
    for start in range(0, len(record_ids), chunk):
        outcomes.update(
            source_records_resolve(record_ids=record_ids[start : start + chunk], rules=rules)
        )
    return outcomes


def _candidates_propose(
    batch: _Batch,
    proposals: Proposals,
    *,
    model_version: int,
    actor: Actor,
) -> list[MatchCandidate]:
    """``MatchCandidate`` rows for the cluster pairs still apart, scored on their
    final members: none below the lower threshold, for a "not a match" pair, or
    for a pair already open; an auto-merge pair is merged after commit."""
    pairs: dict[tuple[int, int], SourceRecord] = {}
    for (a, b), record in proposals.items():
        left, right = batch.clusters[batch.find(a)], batch.clusters[batch.find(b)]
        if left is right or left.customer_id is None or right.customer_id is None:
            continue
        first, second = sorted([left.customer_id, right.customer_id])
        pairs.setdefault((first, second), record)
    lows = {a for a, _ in pairs}
    highs = {b for _, b in pairs}
    open_pairs = set(
        MatchCandidate.objects.filter(
            status__in=OPEN_CANDIDATE_STATUSES,
            customer_a_id__in=ids_subquery(lows),
            customer_b_id__in=ids_subquery(highs),
        ).values_list("customer_a_id", "customer_b_id")
    )
    cluster_by_customer = {c.customer_id: c for c in batch.clusters if c.customer_id is not None}
    candidates: list[MatchCandidate] = []
    auto: list[MatchCandidate] = []
    for (a, b), record in sorted(pairs.items()):
        if (a, b) in open_pairs:
            continue
        left, right = cluster_by_customer[a], cluster_by_customer[b]
        result = batch.score(left, right)
        if result is None or result.probability < batch.thresholds.review_threshold:
            continue
        candidate = MatchCandidate(
            record=record,
            customer_a_id=a,
            customer_b_id=b,
            probability=result.probability,
            match_weight=result.match_weight,
            explanation=result.best.explanation,
            model_version=model_version,
        )
        candidate.full_clean(  # the rows it points at are locked or were just written
            exclude=["record", "customer_a", "customer_b"],
            validate_unique=False,
            validate_constraints=False,
        )
        candidates.append(candidate)
        if is_auto_merge(result, batch.thresholds):
            auto.append(candidate)
    insert_with_history(
        MatchCandidate,
        candidates,
        user=actor.user,
        reason=change_reason(actor, "Proposed by identity resolution"),
    )
    if auto:
        from ..tasks import customer_merge_task

        for candidate in auto:
            on_commit_delay(customer_merge_task, candidate_id=candidate.pk)
    return candidates
