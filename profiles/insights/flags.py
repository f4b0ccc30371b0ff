"""Flags: explainable signals about customers, computed in batches.

``flags_compute`` computes every flag kind for a list of customers with a
fixed number of queries per call (about fifteen, whatever the list length),
and writes them with one upsert: each flag has a score from 0 to 1, a label,
a reason in plain words, its inputs in ``details`` and the time it was
computed. The lifecycle flag also records the versions of the governed
lifecycle definitions it used, so that an approved new definition finds the
flags it affects (``flags_stale_ids``).

Flags are derived data: recomputing them is always safe, and they keep no
history of their own (their inputs do). The lifecycle status a flag decides
is written to the customer with ``model_bulk_update``, with history.
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import mean
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from customer360.services import Actor, model_bulk_update
from governance.choices import ContactRuleKind, GovernanceStatus, LifecycleKind
from governance.models import LifecycleDefinition
from governance.selectors import contact_rules_in_force

from ..choices import (
    CONTACT_ACTION_STATUSES,
    OPEN_CASE_STATUSES,
    ActionStatus,
    CaseKind,
    Direction,
    FlagKind,
    FlagLabel,
    HoldingStatus,
    InteractionKind,
    LifecycleStatus,
    LineOfBusiness,
)
from ..models import (
    Case,
    Customer,
    Flag,
    Holding,
    HouseholdMembership,
    Interaction,
    OutboundAction,
)
from .arbitration import BlockReason, _column, _ids_param

# A flag older than this is stale: the nightly sweep recomputes it.
FLAG_MAX_AGE = datetime.timedelta(hours=20)
# Defaults when no lifecycle definition is approved (the flag's reason says so).
LIFECYCLE_DEFAULT_DAYS: dict[str, int] = {
    LifecycleKind.NEW: 90,
    LifecycleKind.ACTIVE: 365,
    LifecycleKind.LOST: 540,
}
ENDED = (HoldingStatus.LAPSED, HoldingStatus.CANCELLED, HoldingStatus.CLOSED)


@dataclass(slots=True)
class _Signal:
    score: float
    label: str
    reason: str
    details: dict[str, Any]
    definition_version: int | None = None


def _level(score: float) -> str:
    if score >= 0.6:
        return FlagLabel.HIGH
    if score >= 0.3:
        return FlagLabel.MEDIUM
    return FlagLabel.LOW


def _clamp(value: float) -> float:
    return round(min(1.0, max(0.0, value)), 3)


def _date(moment: datetime.datetime | datetime.date | None) -> str:
    if moment is None:
        return "never"
    if isinstance(moment, datetime.datetime):
        return timezone.localtime(moment).date().isoformat()
    return moment.isoformat()


@dataclass(slots=True)
class _Batch:
    """Everything loaded for one call, by customer id."""

    now: datetime.datetime
    customers: dict[int, dict[str, Any]]
    holdings: dict[int, list[dict[str, Any]]]
    interactions: dict[int, list[dict[str, Any]]]
    complaints: dict[int, list[datetime.datetime]]
    open_complaints: dict[int, int]
    contacts: dict[int, list[tuple[datetime.datetime, int]]]
    household_lines: dict[int, set[str]]
    household_of: dict[int, set[int]]
    shared_phone: dict[int, int]
    shared_email: dict[int, int]
    identity_changes: dict[int, int]
    postcodes: dict[int, set[str]]
    popularity: dict[str, float]
    definitions: dict[str, LifecycleDefinition]
    quiet_days: int
    caps: list[tuple[str, int | None, int, int]]  # code, channel id, max, days


def _load(customer_ids: Sequence[int], now: datetime.datetime) -> _Batch:
    ids = list(dict.fromkeys(customer_ids))
    definitions = {
        d.kind: d for d in LifecycleDefinition.objects.filter(status=GovernanceStatus.APPROVED)
    }
    window_days = max(
        [365, *(d.window_days for d in definitions.values()), *LIFECYCLE_DEFAULT_DAYS.values()]
    )
    since = now - datetime.timedelta(days=window_days)
    customers: dict[int, dict[str, Any]] = {
        row["id"]: dict(row)
        for row in Customer.objects.filter(
            _ids_param(_column(Customer, "id"), ids), merged_into__isnull=True
        ).values("id", "customer_number", "lifecycle_status", "phone", "email", "created_at")
    }
    ids = list(customers)

    today = now.date()
    household_of: dict[int, set[int]] = defaultdict(set)
    current = Q(valid_to__isnull=True) | Q(valid_to__gte=today)
    for customer_id, member_id in (
        HouseholdMembership.objects.filter(current)
        .filter(_ids_param(_column(HouseholdMembership, "customer"), ids))
        .filter(
            Q(household__memberships__valid_to__isnull=True)
            | Q(household__memberships__valid_to__gte=today)
        )
        .values_list("customer_id", "household__memberships__customer_id")
    ):
        if member_id != customer_id:
            household_of[customer_id].add(member_id)
    everyone = sorted(set(ids).union(*household_of.values()))

    holdings: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in Holding.objects.filter(_ids_param(_column(Holding, "customer"), everyone)).values(
        "customer_id", "line_of_business", "status", "start_date", "end_date"
    ):
        holdings[row["customer_id"]].append(dict(row))
    household_lines: dict[int, set[str]] = defaultdict(set)
    for customer_id, members in household_of.items():
        for member in members:
            household_lines[customer_id].update(
                h["line_of_business"]
                for h in holdings.get(member, ())
                if h["status"] == HoldingStatus.ACTIVE
            )

    interactions: dict[int, list[dict[str, Any]]] = defaultdict(list)
    complaints: dict[int, list[datetime.datetime]] = defaultdict(list)
    for found in (
        Interaction.objects.filter(
            _ids_param(_column(Interaction, "customer"), ids), occurred_at__gte=since
        )
        .order_by("customer_id", "-occurred_at")
        .values("customer_id", "kind", "direction", "occurred_at", "sentiment")
    ):
        item: dict[str, Any] = dict(found)
        interactions[item["customer_id"]].append(item)
        if item["kind"] == InteractionKind.COMPLAINT:
            complaints[item["customer_id"]].append(item["occurred_at"])
    open_complaints: Counter[int] = Counter()
    for customer_id, opened_at, status in Case.objects.filter(
        _ids_param(_column(Case, "customer"), ids),
        kind=CaseKind.COMPLAINT,
    ).values_list("customer_id", "opened_at", "status"):
        if opened_at >= since:
            complaints[customer_id].append(opened_at)
        if status in OPEN_CASE_STATUSES:
            open_complaints[customer_id] += 1

    contacts: dict[int, list[tuple[datetime.datetime, int]]] = defaultdict(list)
    month = datetime.timedelta(days=30)
    for customer_id, at, channel_id in OutboundAction.objects.filter(
        _ids_param(_column(OutboundAction, "customer"), ids),
        status__in=CONTACT_ACTION_STATUSES,
        scheduled_for__gte=now - month,
        scheduled_for__lte=now + month,
    ).values_list("customer_id", "scheduled_for", "channel_id"):
        contacts[customer_id].append((at, channel_id))

    # Contact details shared with customers outside the household: one query
    # per detail, grouped by value, over the values this batch holds.
    shared_phone: dict[int, int] = {}
    shared_email: dict[int, int] = {}
    for field, target in (("phone", shared_phone), ("email", shared_email)):
        values = sorted({c[field] for c in customers.values() if c[field]})
        if not values:
            continue
        holders: dict[str, set[int]] = defaultdict(set)
        for value, pk in Customer.objects.filter(
            _ids_param(_column(Customer, field), values), merged_into__isnull=True
        ).values_list(field, "pk"):
            holders[value].add(pk)
        for pk, customer in customers.items():
            others = holders.get(customer[field], set()) - {pk} - household_of.get(pk, set())
            if others:
                target[pk] = len(others)

    identity_changes: Counter[int] = Counter()
    postcodes: dict[int, set[str]] = defaultdict(set)
    year_ago = now - datetime.timedelta(days=365)
    for pk, history_type, postcode in Customer.history.filter(
        _ids_param(_column(Customer.history.model, "id"), ids), history_date__gte=year_ago
    ).values_list("id", "history_type", "postcode"):
        if history_type == "~":
            identity_changes[pk] += 1
        if postcode:
            postcodes[pk].add(postcode)

    holders_by_line = dict(
        Holding.objects.filter(status=HoldingStatus.ACTIVE)
        .values("line_of_business")
        .annotate(n=Count("customer_id", distinct=True))
        .values_list("line_of_business", "n")
    )
    total = max(1, sum(holders_by_line.values()))
    popularity = {line: n / total for line, n in holders_by_line.items()}

    quiet_days = 0
    caps = []
    for rule in contact_rules_in_force():
        if rule.kind == ContactRuleKind.QUIET_PERIOD:
            quiet_days = max(quiet_days, rule.period_days)
        elif rule.kind == ContactRuleKind.FREQUENCY_CAP and rule.max_contacts:
            caps.append((rule.code, rule.channel_id, rule.max_contacts, rule.period_days))

    return _Batch(
        now=now,
        customers=customers,
        holdings=holdings,
        interactions=interactions,
        complaints=complaints,
        open_complaints=dict(open_complaints),
        contacts=contacts,
        household_lines=household_lines,
        household_of=household_of,
        shared_phone=shared_phone,
        shared_email=shared_email,
        identity_changes=dict(identity_changes),
        postcodes=postcodes,
        popularity=popularity,
        definitions=definitions,
        quiet_days=quiet_days,
        caps=caps,
    )


# --- one function per flag kind: score, label, reason, inputs --------------------------


def _churn(batch: _Batch, pk: int) -> _Signal:
    now = batch.now
    holdings = batch.holdings.get(pk, [])
    factors: list[tuple[float, str]] = []
    starts = [h["start_date"] for h in holdings]
    tenure_years = (now.date() - min(starts)).days / 365.25 if starts else 0.0
    if starts and tenure_years < 1:
        factors.append((0.2, "customer for less than a year"))
    elif tenure_years >= 5:
        factors.append((-0.1, f"customer for {int(tenure_years)} years"))
    recent = [c for c in batch.complaints.get(pk, []) if c >= now - datetime.timedelta(days=180)]
    if recent:
        factors.append((min(0.45, 0.15 * len(recent)), f"{len(recent)} complaint(s) in 180 days"))
    rated = [i["sentiment"] for i in batch.interactions.get(pk, []) if i["sentiment"] is not None]
    if len(rated) >= 4:
        latest, before = mean(rated[:3]), mean(rated[3:6])
        if latest < before - 0.3:
            factors.append((0.2, f"mood worsening (sentiment {before:+.1f} to {latest:+.1f})"))
    year_ago = now.date() - datetime.timedelta(days=365)
    ended = [
        h for h in holdings if h["status"] in ENDED and (h["end_date"] or now.date()) >= year_ago
    ]
    active = [h for h in holdings if h["status"] == HoldingStatus.ACTIVE]
    if ended:
        factors.append((min(0.4, 0.2 * len(ended)), f"{len(ended)} product(s) ended this year"))
    if holdings and not active:
        factors.append((0.3, "no active product"))
    inbound = [
        i
        for i in batch.interactions.get(pk, [])
        if i["direction"] == Direction.INBOUND and i["occurred_at"] >= now - datetime.timedelta(90)
    ]
    if len(inbound) >= 4:
        factors.append((0.1, f"{len(inbound)} inbound contacts in 90 days"))
    score = _clamp(0.1 + sum(w for w, _ in factors))
    warning = [text for w, text in factors if w > 0]
    reason = (
        "Churn risk from: " + "; ".join(warning) + "."
        if warning
        else "No warning signs (no recent complaint, no ended product, steady mood)."
    )
    return _Signal(
        score,
        _level(score),
        reason,
        {"factors": [{"weight": w, "why": t} for w, t in factors], "tenure_years": tenure_years},
    )


def _fraud(batch: _Batch, pk: int) -> _Signal:
    signals: list[tuple[float, str]] = []
    changes = batch.identity_changes.get(pk, 0)
    if changes >= 3:
        signals.append((0.3, f"{changes} changes of identity data in a year"))
    if batch.shared_phone.get(pk):
        signals.append((0.3, f"phone shared with {batch.shared_phone[pk]} unrelated customer(s)"))
    if batch.shared_email.get(pk):
        signals.append((0.3, f"e-mail shared with {batch.shared_email[pk]} unrelated customer(s)"))
    moves = len(batch.postcodes.get(pk, set()))
    if moves >= 3:
        signals.append((0.3, f"{moves} different postcodes in a year"))
    score = _clamp(sum(w for w, _ in signals))
    reason = (
        "Fraud signals: " + "; ".join(t for _, t in signals) + "."
        if signals
        else "No fraud signal (stable identity data, contact details not shared)."
    )
    return _Signal(score, _level(score), reason, {"signals": [t for _, t in signals]})


def _upsell(batch: _Batch, pk: int) -> _Signal:
    held = {
        h["line_of_business"]
        for h in batch.holdings.get(pk, [])
        if h["status"] == HoldingStatus.ACTIVE
    }
    candidates = [line for line in batch.popularity if line not in held]
    household = batch.household_lines.get(pk, set()) - held
    if not candidates:
        return _Signal(
            0.0, FlagLabel.LOW, "Holds every product line on offer.", {"held": sorted(held)}
        )
    best = max(candidates, key=lambda line: (line in household, batch.popularity[line], line))
    share = batch.popularity[best]
    score = _clamp((0.5 if best in household else 0.0) + share * 0.5 + (0.1 if held else 0.0))
    label = LineOfBusiness(best).label.lower()
    why = [f"{share:.0%} of customers with an active product hold {label}"]
    if best in household:
        why.insert(0, "it is held within the household")
    reason = f"Does not hold {label}: " + "; ".join(why) + "."
    return _Signal(
        score,
        _level(score),
        reason,
        {"held": sorted(held), "suggested_line": best, "household_gap": best in household},
    )


def _mood(batch: _Batch, pk: int) -> _Signal:
    rated = [i for i in batch.interactions.get(pk, []) if i["sentiment"] is not None][:5]
    if not rated:
        return _Signal(0.0, "unknown", "No rated interaction in the last year.", {"rated": 0})
    average = mean(i["sentiment"] for i in rated)
    label = "unhappy" if average < -0.3 else "happy" if average > 0.3 else "neutral"
    reason = (
        f"{label.capitalize()}: average sentiment {average:+.2f} over the last {len(rated)} "
        f"rated interaction(s), the latest on {_date(rated[0]['occurred_at'])}."
    )
    return _Signal(
        _clamp((1 - average) / 2),
        label,
        reason,
        {"average": round(average, 3), "rated": len(rated)},
    )


def _complaints(batch: _Batch, pk: int) -> _Signal:
    found = sorted(batch.complaints.get(pk, []), reverse=True)
    year = [c for c in found if c >= batch.now - datetime.timedelta(days=365)]
    open_count = batch.open_complaints.get(pk, 0)
    last = found[0] if found else None
    quiet_until = (
        last + datetime.timedelta(days=batch.quiet_days) if last and batch.quiet_days else None
    )
    score = _clamp(len(year) / 4 + 0.25 * open_count)
    parts = [f"{len(year)} complaint(s) in the last year", f"{open_count} open"]
    if last:
        parts.append(f"the latest on {_date(last)}")
    if quiet_until and quiet_until > batch.now:
        parts.append(f"quiet period until {_date(quiet_until)}")
    return _Signal(
        score,
        _level(score),
        "; ".join(parts).capitalize() + ".",
        {
            "last_year": len(year),
            "open": open_count,
            "last_complaint_at": last.isoformat() if last else None,
            "quiet_until": quiet_until.isoformat() if quiet_until else None,
        },
    )


def _frequency(batch: _Batch, pk: int) -> _Signal:
    now = batch.now
    contacts = batch.contacts.get(pk, [])
    outbound = [
        i
        for i in batch.interactions.get(pk, [])
        if i["direction"] == Direction.OUTBOUND and i["occurred_at"] >= now - datetime.timedelta(30)
    ]
    capped = []
    for code, channel_id, maximum, days in batch.caps:
        near = [
            at
            for at, channel in contacts
            if (channel_id is None or channel == channel_id)
            and abs(at - now) < datetime.timedelta(days=days)
        ]
        if len(near) >= maximum:
            capped.append({"rule": code, "channel_id": channel_id})
    rules = ", ".join(str(c["rule"]) for c in capped)
    total = len(contacts) + len(outbound)
    score = _clamp(total / 8)
    reason = (
        f"{len(outbound)} outbound contact(s) in the last 30 days and {len(contacts)} action(s) "
        "planned or sent within 30 days" + (f"; cap reached: {rules}" if capped else "") + "."
    )
    return _Signal(score, _level(score), reason, {"total": total, "capped": capped})


def _lifecycle(batch: _Batch, pk: int) -> tuple[_Signal, str]:
    now = batch.now
    days: dict[str, int] = {
        kind: (
            batch.definitions[kind].window_days
            if kind in batch.definitions
            else LIFECYCLE_DEFAULT_DAYS[kind]
        )
        for kind in LifecycleKind.values
    }
    versions: dict[str, int | None] = {
        kind: batch.definitions[kind].version if kind in batch.definitions else None
        for kind in LifecycleKind.values
    }
    holdings = batch.holdings.get(pk, [])
    interactions = batch.interactions.get(pk, [])
    last_contact = interactions[0]["occurred_at"] if interactions else None
    idle_days = (now - last_contact).days if last_contact else None
    active_holdings = [h for h in holdings if h["status"] == HoldingStatus.ACTIVE]
    first = min((h["start_date"] for h in holdings), default=None)

    def rule(kind: str) -> str:
        version = versions[kind]
        governed = f"definition v{version}" if version else "default, no approved definition"
        return f"'{LifecycleKind(kind).label.lower()}' is {days[kind]} days ({governed})"

    if not holdings:
        status, deciding = LifecycleStatus.PROSPECT, None
        reason = "Prospect: holds no product yet."
    elif first is not None and (now.date() - first).days <= days[LifecycleKind.NEW]:
        status, deciding = LifecycleStatus.NEW, LifecycleKind.NEW
        reason = f"New: first product started on {_date(first)}; {rule(LifecycleKind.NEW)}."
    elif not active_holdings and (idle_days is None or idle_days >= days[LifecycleKind.LOST]):
        status, deciding = LifecycleStatus.LOST, LifecycleKind.LOST
        reason = (
            f"Lost: no active product and no interaction since {_date(last_contact)}; "
            f"{rule(LifecycleKind.LOST)}."
        )
    elif idle_days is not None and idle_days <= days[LifecycleKind.ACTIVE]:
        status, deciding = LifecycleStatus.ACTIVE, LifecycleKind.ACTIVE
        reason = f"Active: last interaction on {_date(last_contact)}; {rule(LifecycleKind.ACTIVE)}."
    else:
        # Holds a product but has been quiet for longer than 'active' allows.
        status, deciding = LifecycleStatus.ACTIVE, LifecycleKind.ACTIVE
        reason = (
            f"Active through {len(active_holdings)} active product(s), but no interaction "
            f"since {_date(last_contact)}; {rule(LifecycleKind.ACTIVE)}."
        )
    lost_days = days[LifecycleKind.LOST]
    score = 1.0 if status == LifecycleStatus.LOST else _clamp((idle_days or 0) / lost_days)
    signal = _Signal(
        score,
        str(status),
        reason,
        {"versions": versions, "days": days, "idle_days": idle_days},
        definition_version=versions[deciding] if deciding else None,
    )
    return signal, status


KINDS = {
    FlagKind.CHURN_RISK: _churn,
    FlagKind.FRAUD_RISK: _fraud,
    FlagKind.UPSELL: _upsell,
    FlagKind.MOOD: _mood,
    FlagKind.COMPLAINT_RECORD: _complaints,
    FlagKind.CONTACT_FREQUENCY: _frequency,
}
FLAG_FIELDS = ["score", "label", "reason", "details", "computed_at", "definition_version"]


@transaction.atomic
def flags_compute(
    *, customer_ids: Sequence[int], now: datetime.datetime | None = None, actor: Actor | None = None
) -> int:
    """Compute every flag of these customers and store them; returns the number of customers.

    Merged customers are skipped (their survivor carries the flags). A
    lifecycle status that changes is written to the customer with history,
    naming the definition that decided it.
    """
    now = now or timezone.now()
    actor = actor or Actor.system("flags_compute")
    batch = _load(customer_ids, now)
    flags = []
    changed: list[Customer] = []
    for pk, customer in batch.customers.items():
        for kind, compute in KINDS.items():
            signal = compute(batch, pk)
            flags.append(_flag(pk, kind, signal, now))
        signal, status = _lifecycle(batch, pk)
        flags.append(_flag(pk, FlagKind.LIFECYCLE, signal, now))
        if customer["lifecycle_status"] != status:
            changed.append(Customer(pk=pk, lifecycle_status=status))
    Flag.objects.bulk_create(
        flags,
        update_conflicts=True,
        unique_fields=["customer", "kind"],
        update_fields=FLAG_FIELDS,
        batch_size=2000,
    )
    if changed:
        # Only the lifecycle column changes; the history row needs the whole
        # row, so the changed customers are read back in one query.
        full = {c.pk: c for c in Customer.objects.filter(pk__in=[c.pk for c in changed])}
        rows = []
        for item in changed:
            row = full[item.pk]
            row.lifecycle_status = item.lifecycle_status
            rows.append(row)
        model_bulk_update(
            rows,
            fields=["lifecycle_status"],
            actor=actor,
            reason="Lifecycle status under the governed lifecycle definitions",
        )
    return len(batch.customers)


def _flag(pk: int, kind: str, signal: _Signal, now: datetime.datetime) -> Flag:
    flag = Flag(
        customer_id=pk,
        kind=kind,
        score=signal.score,
        label=signal.label[:60],
        reason=signal.reason,
        details=signal.details,
        computed_at=now,
        definition_version=signal.definition_version,
    )
    return flag


# --- selectors ---------------------------------------------------------------------------


def flags_for(*, customer: Customer) -> list[Flag]:
    """The customer's flags, each with its score, label and reason (one query)."""
    return list(Flag.objects.filter(customer=customer).order_by("kind"))


def flags_stale_ids(
    *, now: datetime.datetime | None = None, lifecycle_kind: str = "", limit: int | None = None
) -> QuerySet[Customer, int]:
    """Ids of unmerged customers whose flags are missing or stale.

    Stale: computed more than ``FLAG_MAX_AGE`` ago, or (with
    ``lifecycle_kind``) computed under another version of that lifecycle
    definition than the one now approved.
    """
    now = now or timezone.now()
    fresh = Flag.objects.filter(kind=FlagKind.LIFECYCLE, computed_at__gte=now - FLAG_MAX_AGE)
    if lifecycle_kind:
        current = (
            LifecycleDefinition.objects.filter(
                kind=lifecycle_kind, status=GovernanceStatus.APPROVED
            )
            .values_list("version", flat=True)
            .first()
        )
        fresh = fresh.filter(**{f"details__versions__{lifecycle_kind}": current})
    queryset = (
        Customer.objects.filter(merged_into__isnull=True)
        .exclude(pk__in=fresh.values("customer_id"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return queryset[:limit] if limit else queryset


@dataclass(frozen=True, slots=True)
class ActionConflict:
    """A blocked action of the customer, why, and the other silos' actions it hit."""

    action: OutboundAction
    reasons: list[BlockReason]
    conflicting: list[OutboundAction]


def action_conflicts_for(*, customer: Customer, limit: int = 20) -> list[ActionConflict]:
    """The customer's blocked actions, newest first, with reasons and counterparts.

    Two queries: the blocked actions, and the actions they conflict with.
    """
    blocked = list(
        OutboundAction.objects.filter(customer=customer, status=ActionStatus.BLOCKED)
        .select_related("silo", "purpose", "channel", "holding")
        .order_by("-created_at", "-pk")[:limit]
    )
    reasons = {a.pk: [BlockReason.from_json(r) for r in a.block_reasons] for a in blocked}
    wanted = {
        r.conflicting_action_id
        for found in reasons.values()
        for r in found
        if r.conflicting_action_id
    }
    others = (
        {a.pk: a for a in OutboundAction.objects.filter(pk__in=wanted).select_related("silo")}
        if wanted
        else {}
    )
    return [
        ActionConflict(
            action=action,
            reasons=reasons[action.pk],
            conflicting=[
                others[r.conflicting_action_id]
                for r in reasons[action.pk]
                if r.conflicting_action_id in others
            ],
        )
        for action in blocked
    ]
