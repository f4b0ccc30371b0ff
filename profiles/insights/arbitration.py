"""Cross-silo contact arbitration: the one gate every outbound action passes.

``action_propose`` (API, agent screens, campaign files) and ``campaign_check``
(a silo's planned contact list) share one in-memory evaluator,
``_evaluate``, over one loaded ``_Context``: consent for the purpose and
channel at the time the action goes out, frequency caps per customer and per
household, quiet periods after complaints and incompatibility with pending or
recent actions of other silos, all under the approved ``ContactRule``s.
Loading a context is a constant number of queries whatever the number of
customers: the id lists travel as one array (PostgreSQL) or one JSON
(SQLite) parameter, never one placeholder per id.
"""

from __future__ import annotations

import datetime
import functools
import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from consent.choices import ConsentStatus
from consent.models import Channel, ConsentRecord, ProcessingRestriction, Purpose
from customer360.choices import AuditEventType, DomainEventType
from customer360.services import (
    Actor,
    audit_event_record,
    event_publish,
    model_save,
    on_commit,
    on_commit_delay,
)
from governance.choices import CommitteeRole, ContactRuleKind, ContactScope
from governance.models import CommitteeMember, Silo
from governance.selectors import contact_rules_in_force

from ..choices import (
    COMMERCIAL_ACTION_KINDS,
    CONTACT_ACTION_STATUSES,
    PENDING_ACTION_STATUSES,
    ActionKind,
    ActionStatus,
    BlockCode,
    CaseKind,
    InteractionKind,
)
from ..models import Case, Customer, Holding, HouseholdMembership, Interaction, OutboundAction

logger = logging.getLogger(__name__)

# How far back complaints and actions are loaded beyond the longest rule
# period when no rule is in force (nothing then needs them, but a context
# must never be empty by accident).
_MIN_WINDOW = datetime.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class BlockReason:
    """Why an action may not go out: a code, plain words, and what it hit."""

    code: str
    message: str
    rule_code: str = ""
    rule_version: int | None = None
    conflicting_action_id: int | None = None
    conflicting_silo: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "rule_code": self.rule_code,
            "rule_version": self.rule_version,
            "conflicting_action_id": self.conflicting_action_id,
            "conflicting_silo": self.conflicting_silo,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BlockReason:
        return cls(
            code=str(data.get("code", "")),
            message=str(data.get("message", "")),
            rule_code=str(data.get("rule_code") or ""),
            rule_version=data.get("rule_version"),
            conflicting_action_id=data.get("conflicting_action_id"),
            conflicting_silo=str(data.get("conflicting_silo") or ""),
        )


@dataclass(frozen=True, slots=True)
class ArbitrationResult:
    """The recorded action and the verdict: allowed, or blocked with its reasons."""

    action: OutboundAction
    allowed: bool
    reasons: list[BlockReason]


@dataclass(frozen=True, slots=True)
class CampaignContact:
    """One planned contact of a campaign file; ``line`` is for error messages."""

    customer_number: str
    kind: str
    purpose: str
    channel: str
    scheduled_for: datetime.datetime
    holding_reference: str = ""
    line: int = 0


@dataclass(frozen=True, slots=True)
class CampaignVerdict:
    """Allowed or blocked, with the reasons, for one campaign contact."""

    contact: CampaignContact
    allowed: bool
    reasons: list[BlockReason]


# --- the loaded context -------------------------------------------------------------


@dataclass(slots=True)
class _ActionRow:
    id: int | None
    customer_id: int
    silo_id: int
    kind: str
    channel_id: int
    holding_id: int | None
    scheduled_for: datetime.datetime
    status: str


@dataclass(frozen=True, slots=True)
class _Rule:
    code: str
    version: int
    kind: str
    scope: str
    channel_id: int | None
    channel_name: str
    max_contacts: int | None
    period: datetime.timedelta
    action_kind: str
    incompatible_with: str
    same_holding_only: bool


@dataclass(frozen=True, slots=True)
class _Proposal:
    customer_id: int
    silo_id: int
    kind: str
    purpose: Purpose
    channel: Channel
    scheduled_for: datetime.datetime
    holding_id: int | None


@dataclass(slots=True)
class _Context:
    rules: list[_Rule]
    silo_names: dict[int, str]
    silo_codes: dict[int, str]
    holding_refs: dict[int, str]
    # (customer, purpose, channel) -> [(effective_from, id, effective_until, status)], newest first
    consents: dict[tuple[int, int, int], list[tuple[Any, int, Any, str]]] = field(
        default_factory=dict
    )
    restrictions: dict[int, list[tuple[Any, Any]]] = field(default_factory=dict)
    household_of: dict[int, set[int]] = field(default_factory=dict)  # customer -> members
    actions: dict[int, list[_ActionRow]] = field(default_factory=dict)
    complaints: dict[int, list[datetime.datetime]] = field(default_factory=dict)

    def members(self, customer_id: int, scope: str) -> Iterable[int]:
        if scope == ContactScope.HOUSEHOLD:
            return self.household_of.get(customer_id) or (customer_id,)
        return (customer_id,)

    def add(self, row: _ActionRow) -> None:
        self.actions.setdefault(row.customer_id, []).append(row)


def _ids_param(column: str, ids: Sequence[int] | Sequence[str]) -> RawSQL:
    """``column IN ids`` as one bound parameter, whatever the number of ids.

    Django's ``__in`` sends one placeholder per value, which hits
    PostgreSQL's 65,535 bind parameters (and SQLite's limit) on a large
    campaign; an array (PostgreSQL) or a JSON text (SQLite) is one value.
    ``column`` is a quoted, table-qualified name built from model metadata.
    """
    # The column names come from model metadata; the values are one bound
    # parameter. On PostgreSQL a delimited string is split by the server:
    # binding a Python list makes psycopg quote an array client-side, which
    # cost more than the query itself for 100,000 values.
    values = list(ids)
    if connection.vendor == "postgresql":
        cast = "::bigint[]" if values and isinstance(values[0], int) else ""
        return RawSQL(  # noqa: S611
            f"{column} = ANY(string_to_array(%s, %s){cast})",
            [_SEPARATOR.join(map(str, values)), _SEPARATOR],
            output_field=BooleanField(),
        )
    return RawSQL(  # noqa: S611
        f"{column} IN (SELECT value FROM json_each(%s))",  # noqa: S608
        [json.dumps(values)],
        output_field=BooleanField(),
    )


# ASCII unit separator: never part of a customer number or a holding reference.
_SEPARATOR = "\x1f"


def _column(model: Any, name: str) -> str:
    quote = connection.ops.quote_name
    return f"{quote(model._meta.db_table)}.{quote(model._meta.get_field(name).column)}"


def _rules_load() -> list[_Rule]:
    return [
        _Rule(
            code=rule.code,
            version=rule.version,
            kind=rule.kind,
            scope=rule.scope,
            channel_id=rule.channel_id,
            channel_name=rule.channel.name if rule.channel else "",
            max_contacts=rule.max_contacts,
            period=datetime.timedelta(days=rule.period_days),
            action_kind=rule.action_kind,
            incompatible_with=rule.incompatible_with,
            same_holding_only=rule.same_holding_only,
        )
        for rule in contact_rules_in_force()
    ]


def _context_load(
    *,
    customer_ids: Sequence[int],
    purpose_ids: Iterable[int],
    earliest: datetime.datetime,
    latest: datetime.datetime,
    exclude_action_id: int | None = None,
) -> _Context:
    """Everything the checks need for these customers around [earliest, latest].

    Eight queries for any number of customers: rules, silos, household
    members, their actions, consent statements, restrictions, complaint
    interactions and complaint cases.
    """
    rules = _rules_load()
    window = max([r.period for r in rules] + [_MIN_WINDOW])
    silos = list(Silo.objects.values_list("pk", "code", "name"))
    context = _Context(
        rules=rules,
        silo_names={pk: name for pk, _, name in silos},
        silo_codes={pk: code for pk, code, _ in silos},
        holding_refs={},
    )
    ids = list(dict.fromkeys(customer_ids))
    today = timezone.localdate()
    current = Q(valid_to__isnull=True) | Q(valid_to__gte=today)

    # Household members: every current member of every current household of ids,
    # in one self-join (the id list filters the base table, never a subquery,
    # whose table Django aliases).
    by_household: dict[int, set[int]] = defaultdict(set)
    for household_id, member_id in (
        HouseholdMembership.objects.filter(current)
        .filter(_ids_param(_column(HouseholdMembership, "customer"), ids))
        .filter(
            Q(household__memberships__valid_to__isnull=True)
            | Q(household__memberships__valid_to__gte=today)
        )
        .values_list("household_id", "household__memberships__customer_id")
    ):
        by_household[household_id].add(member_id)
    everyone = set(ids)
    for members in by_household.values():
        everyone |= members
        for member_id in members:
            context.household_of.setdefault(member_id, set()).update(members)
    everyone_list = sorted(everyone)

    action_rows = OutboundAction.objects.filter(
        _ids_param(_column(OutboundAction, "customer"), everyone_list),
        status__in=CONTACT_ACTION_STATUSES,
        scheduled_for__gte=earliest - window,
        scheduled_for__lte=latest + window,
    )
    if exclude_action_id is not None:
        action_rows = action_rows.exclude(pk=exclude_action_id)
    for row in action_rows.values_list(
        "pk",
        "customer_id",
        "silo_id",
        "kind",
        "channel_id",
        "holding_id",
        "scheduled_for",
        "status",
        "holding__reference",
    ):
        context.add(_ActionRow(*row[:8]))
        if row[5] is not None:
            context.holding_refs[row[5]] = row[8]

    purposes = sorted(set(purpose_ids))
    consent_rows = (
        ConsentRecord.objects.filter(_ids_param(_column(ConsentRecord, "customer"), ids))
        .filter(purpose_id__in=purposes, effective_from__lte=latest)
        .filter(Q(effective_until__isnull=True) | Q(effective_until__gt=earliest))
        .order_by("customer_id", "purpose_id", "channel_id", "-effective_from", "-id")
        .values_list(
            "customer_id",
            "purpose_id",
            "channel_id",
            "effective_from",
            "id",
            "effective_until",
            "status",
        )
    )
    for customer_id, purpose_id, channel_id, start, pk, until, status in consent_rows:
        context.consents.setdefault((customer_id, purpose_id, channel_id), []).append(
            (start, pk, until, status)
        )
    for customer_id, start, lifted in (
        ProcessingRestriction.objects.filter(
            _ids_param(_column(ProcessingRestriction, "customer"), ids)
        )
        .filter(active_from__lte=latest)
        .filter(Q(lifted_at__isnull=True) | Q(lifted_at__gt=earliest))
        .values_list("customer_id", "active_from", "lifted_at")
    ):
        context.restrictions.setdefault(customer_id, []).append((start, lifted))

    since = earliest - window
    for customer_id, at in Interaction.objects.filter(
        _ids_param(_column(Interaction, "customer"), everyone_list),
        kind=InteractionKind.COMPLAINT,
        occurred_at__gte=since,
        occurred_at__lte=latest,
    ).values_list("customer_id", "occurred_at"):
        context.complaints.setdefault(customer_id, []).append(at)
    for customer_id, at in Case.objects.filter(
        _ids_param(_column(Case, "customer"), everyone_list),
        kind=CaseKind.COMPLAINT,
        opened_at__gte=since,
        opened_at__lte=latest,
    ).values_list("customer_id", "opened_at"):
        context.complaints.setdefault(customer_id, []).append(at)
    return context


# --- the checks ---------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _day(moment: datetime.datetime) -> str:
    # Cached: a campaign names few distinct moments, and localtime() is not cheap.
    return timezone.localtime(moment).date().isoformat()


def _consent_reason(context: _Context, proposal: _Proposal) -> BlockReason | None:
    """Same rules as ``consent.selectors.consent_allows``, at the time the action goes out."""
    purpose, channel, at = proposal.purpose, proposal.channel, proposal.scheduled_for
    if not purpose.requires_consent:
        return None
    for start, lifted in context.restrictions.get(proposal.customer_id, ()):
        if start <= at and (lifted is None or lifted > at):
            where = f"for {purpose.name.lower()} by {channel.name.lower()} on {_day(at)}"
            return BlockReason(
                code=BlockCode.NO_CONSENT,
                message=f"Processing is restricted for this customer: no contact {where}.",
            )
    key = (proposal.customer_id, purpose.pk, channel.pk)
    statement = next(
        (
            status
            for start, _pk, until, status in context.consents.get(key, ())
            if start <= at and (until is None or until > at)
        ),
        None,
    )
    if statement == ConsentStatus.GRANTED:
        return None
    where = f"for {purpose.name.lower()} by {channel.name.lower()} on {_day(at)}"
    details: dict[str | None, str] = {
        None: "the customer has given no consent",
        ConsentStatus.RESET: "the customer has given no consent",
        ConsentStatus.DENIED: "the customer refused consent",
        ConsentStatus.WITHDRAWN: "the customer withdrew consent",
    }
    detail = details.get(statement, "the customer has given no consent")
    return BlockReason(code=BlockCode.NO_CONSENT, message=f"No consent {where}: {detail}.")


def _applies(rule: _Rule, proposal: _Proposal) -> bool:
    return rule.channel_id is None or rule.channel_id == proposal.channel.pk


def _cap_reason(context: _Context, rule: _Rule, proposal: _Proposal) -> BlockReason | None:
    """No window of ``period`` around the action may hold more than ``max_contacts``.

    Counting every contact less than one period away from the new one is the
    conservative form: if fewer than the cap are that close, no window of one
    period that contains the new action can exceed it.
    """
    if rule.action_kind and rule.action_kind != proposal.kind:
        return None
    at, period = proposal.scheduled_for, rule.period
    count = sum(
        1
        for member in context.members(proposal.customer_id, rule.scope)
        for row in context.actions.get(member, ())
        if row.status in CONTACT_ACTION_STATUSES
        and (rule.channel_id is None or row.channel_id == rule.channel_id)
        and (not rule.action_kind or row.kind == rule.action_kind)
        and abs(row.scheduled_for - at) < period
    )
    assert rule.max_contacts is not None  # the database requires it for caps
    if count < rule.max_contacts:
        return None
    by = f" by {rule.channel_name.lower()}" if rule.channel_name else ""
    per = "household" if rule.scope == ContactScope.HOUSEHOLD else "customer"
    return BlockReason(
        code=BlockCode.FREQUENCY_CAP,
        message=(
            f"Frequency cap '{rule.code}' v{rule.version}: at most {rule.max_contacts} "
            f"contacts{by} per {per} in {rule.period.days} days, and {count} are already "
            f"planned or sent within {rule.period.days} days of {_day(at)}."
        ),
        rule_code=rule.code,
        rule_version=rule.version,
    )


def _quiet_reason(context: _Context, rule: _Rule, proposal: _Proposal) -> BlockReason | None:
    """No commercial contact within ``period`` after a complaint."""
    kinds = (rule.action_kind,) if rule.action_kind else COMMERCIAL_ACTION_KINDS
    if proposal.kind not in kinds:
        return None
    at = proposal.scheduled_for
    recent = [
        moment
        for member in context.members(proposal.customer_id, rule.scope)
        for moment in context.complaints.get(member, ())
        if at - rule.period <= moment <= at
    ]
    if not recent:
        return None
    last = max(recent)
    return BlockReason(
        code=BlockCode.QUIET_PERIOD,
        message=(
            f"Quiet period '{rule.code}' v{rule.version}: a complaint on {_day(last)}; "
            f"no commercial contact until {_day(last + rule.period)}."
        ),
        rule_code=rule.code,
        rule_version=rule.version,
    )


def _conflict_reasons(context: _Context, rule: _Rule, proposal: _Proposal) -> list[BlockReason]:
    """Another silo's pending or recent action of the incompatible kind."""
    if proposal.kind == rule.action_kind:
        other_kind = rule.incompatible_with
    elif proposal.kind == rule.incompatible_with:
        other_kind = rule.action_kind
    else:
        return []
    if rule.same_holding_only and proposal.holding_id is None:
        return []
    at = proposal.scheduled_for
    reasons = []
    for member in context.members(proposal.customer_id, rule.scope):
        for row in context.actions.get(member, ()):
            if (
                row.silo_id == proposal.silo_id
                or row.kind != other_kind
                or row.status not in (*PENDING_ACTION_STATUSES, ActionStatus.SENT)
                or abs(row.scheduled_for - at) > rule.period
                or (rule.same_holding_only and row.holding_id != proposal.holding_id)
            ):
                continue
            silo = context.silo_names.get(row.silo_id, "another silo")
            state = "sent" if row.status == ActionStatus.SENT else "pending"
            what = ActionKind(row.kind).label.lower()
            holding = context.holding_refs.get(row.holding_id or 0, "")
            on = f" of {holding}" if holding else ""
            reasons.append(
                BlockReason(
                    code=BlockCode.INCOMPATIBLE,
                    message=(
                        f"Conflicts with {silo}'s {state} {what}{on} for {_day(row.scheduled_for)}"
                        f" (rule '{rule.code}' v{rule.version}: no "
                        f"{ActionKind(proposal.kind).label.lower()} and {what} within "
                        f"{rule.period.days} days)."
                    ),
                    rule_code=rule.code,
                    rule_version=rule.version,
                    conflicting_action_id=row.id,
                    conflicting_silo=context.silo_codes.get(row.silo_id, ""),
                )
            )
    return reasons


def _evaluate(context: _Context, proposal: _Proposal) -> list[BlockReason]:
    """Every reason the proposal may not go out; empty: it may."""
    reasons: list[BlockReason] = []
    channel = proposal.channel
    if not (channel.is_outbound and channel.is_active):
        reasons.append(
            BlockReason(
                code=BlockCode.CHANNEL_CLOSED,
                message=f"{channel.name} is not open for outbound contact.",
            )
        )
    consent = _consent_reason(context, proposal)
    if consent is not None:
        reasons.append(consent)
    for rule in context.rules:
        if not _applies(rule, proposal):
            continue
        if rule.kind == ContactRuleKind.FREQUENCY_CAP:
            found = _cap_reason(context, rule, proposal)
            reasons.extend([found] if found else [])
        elif rule.kind == ContactRuleKind.QUIET_PERIOD:
            found = _quiet_reason(context, rule, proposal)
            reasons.extend([found] if found else [])
        elif rule.kind == ContactRuleKind.INCOMPATIBLE:
            reasons.extend(_conflict_reasons(context, rule, proposal))
    return reasons


# --- the service --------------------------------------------------------------------


def _purpose_of(value: Purpose | str) -> Purpose:
    if isinstance(value, Purpose):
        return value
    found = Purpose.objects.filter(code=value, is_active=True).first()
    if found is None:
        raise ValidationError({"purpose": f"Unknown or inactive purpose '{value}'."})
    return found


def _channel_of(value: Channel | str) -> Channel:
    if isinstance(value, Channel):
        return value
    found = Channel.objects.filter(code=value).first()
    if found is None:
        raise ValidationError({"channel": f"Unknown channel '{value}'."})
    return found


def _notify_silos(
    *, action: OutboundAction, silo_ids: set[int], reasons: list[BlockReason], customer_number: str
) -> None:
    """Mail each active member and steward of the silos involved, after commit.

    Identifiers and rule texts only: no name, address or contact detail.
    """
    today = timezone.localdate()
    addresses = sorted(
        {
            address
            for address in CommitteeMember.objects.filter(
                silo_id__in=silo_ids,
                role__in=[CommitteeRole.MEMBER, CommitteeRole.DATA_STEWARD],
                active_from__lte=today,
                user__is_active=True,
            )
            .filter(Q(active_until__isnull=True) | Q(active_until__gte=today))
            .values_list("user__email", flat=True)
            if address
        }
    )
    subject = f"Outbound action {action.pk} blocked (customer {customer_number})"
    body = "\n".join(
        [
            f"The {action.get_kind_display().lower()} action {action.pk} of "
            f"{action.silo.name} for customer {customer_number}, planned for "
            f"{_day(action.scheduled_for)}, was blocked by contact arbitration:",
            "",
            *(f"- {reason.message}" for reason in reasons),
        ]
    )

    def send() -> None:
        for address in addresses:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [address])

    on_commit(send)


def _blocked_announce(
    *,
    action: OutboundAction,
    reasons: list[BlockReason],
    context: _Context,
    customer_number: str,
) -> None:
    """Tell both sides: the outbox event (ids and codes only) and, after commit,
    a mail to the proposing silo and every silo whose action it conflicts with."""
    conflicting = {r.conflicting_action_id for r in reasons if r.conflicting_action_id}
    other_silos = {
        row.silo_id for rows in context.actions.values() for row in rows if row.id in conflicting
    }
    silo_ids = {action.silo_id, *other_silos}
    codes = sorted({reason.code for reason in reasons})
    event_publish(
        event_type=DomainEventType.ACTION_BLOCKED,
        customer_number=customer_number,
        payload={
            "action_id": action.pk,
            "silo": context.silo_codes.get(action.silo_id, ""),
            "kind": action.kind,
            "holding_id": action.holding_id,
            "reasons": codes,
            "rules": sorted({r.rule_code for r in reasons if r.rule_code}),
            "conflicting_action_ids": sorted(conflicting),
            "silos": sorted(context.silo_codes[s] for s in silo_ids),
        },
    )
    _notify_silos(
        action=action, silo_ids=silo_ids, reasons=reasons, customer_number=customer_number
    )
    logger.info("action %s blocked: %s (silo %s)", action.pk, ",".join(codes), action.silo_id)


@transaction.atomic
def action_propose(
    *,
    customer: Customer,
    silo: Silo,
    kind: str,
    purpose: Purpose | str,
    channel: Channel | str,
    scheduled_for: datetime.datetime,
    summary: str,
    actor: Actor,
    holding: Holding | None = None,
    external_id: str = "",
    proposed_by_client: Any = None,
) -> ArbitrationResult:
    """Record an outbound action and arbitrate it against consent and the contact rules.

    Allowed: the action is stored ``pending`` (an ``action.proposed`` audit
    event). Blocked: it is stored ``blocked`` with its reasons, an
    ``action.blocked`` audit event and outbox event are written, and the
    members and stewards of the proposing silo and of every silo whose action
    it conflicts with are mailed after commit. The customer's row (and their
    households' rows) are locked first, so two concurrent proposals for one
    customer are arbitrated one after the other. A repeated ``external_id``
    of the same silo returns the action already recorded (API retries).
    """
    if external_id:
        existing = OutboundAction.objects.filter(silo=silo, external_id=external_id).first()
        if existing is not None:
            return ArbitrationResult(
                action=existing,
                allowed=existing.status != ActionStatus.BLOCKED,
                reasons=[BlockReason.from_json(r) for r in existing.block_reasons],
            )
    if kind not in ActionKind.values:
        raise ValidationError({"kind": f"Unknown action kind '{kind}'."})
    if timezone.is_naive(scheduled_for):
        raise ValidationError({"scheduled_for": "Give a time zone with the time."})
    purpose_obj, channel_obj = _purpose_of(purpose), _channel_of(channel)
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    if locked.merged_into_id is not None:
        raise ValidationError(
            {"customer": f"{locked.customer_number} was merged; propose to the surviving number."}
        )
    if holding is not None and holding.customer_id != locked.pk:
        raise ValidationError({"holding": "The holding does not belong to this customer."})
    # Household caps count other members' contacts: serialize on the households too.
    list(
        HouseholdMembership.objects.select_for_update()
        .filter(customer=locked, valid_to__isnull=True)
        .values_list("household_id", flat=True)
    )

    context = _context_load(
        customer_ids=[locked.pk],
        purpose_ids=[purpose_obj.pk],
        earliest=scheduled_for,
        latest=scheduled_for,
    )
    proposal = _Proposal(
        customer_id=locked.pk,
        silo_id=silo.pk,
        kind=kind,
        purpose=purpose_obj,
        channel=channel_obj,
        scheduled_for=scheduled_for,
        holding_id=holding.pk if holding else None,
    )
    reasons = _evaluate(context, proposal)
    allowed = not reasons
    action = OutboundAction(
        customer=locked,
        silo=silo,
        kind=kind,
        purpose=purpose_obj,
        channel=channel_obj,
        holding=holding,
        status=ActionStatus.PENDING if allowed else ActionStatus.BLOCKED,
        scheduled_for=scheduled_for,
        summary=summary,
        block_reasons=[reason.as_json() for reason in reasons],
        proposed_by=actor.user,
        proposed_by_client=proposed_by_client,
        external_id=external_id,
    )
    codes = sorted({reason.code for reason in reasons})
    model_save(
        action,
        actor=actor,
        reason="Outbound action allowed by contact arbitration"
        if allowed
        else f"Outbound action blocked by contact arbitration ({', '.join(codes)})",
    )
    new = {
        "status": action.status,
        "kind": kind,
        "silo": silo.code,
        "purpose": purpose_obj.code,
        "channel": channel_obj.code,
        "holding_id": action.holding_id,
        "scheduled_for": scheduled_for.isoformat(),
        "reasons": [reason.as_json() for reason in reasons],
    }
    audit_event_record(
        event_type=AuditEventType.ACTION_PROPOSED if allowed else AuditEventType.ACTION_BLOCKED,
        actor=actor,
        subject=action,
        reason="Contact arbitration: allowed" if allowed else "; ".join(r.message for r in reasons),
        new=new,
        customer_number=locked.customer_number,
    )
    # Contact frequency and reached caps live in the flags the card reads.
    # Imported here: the tasks module imports flags, which imports this module.
    from .tasks import flags_compute_task

    on_commit_delay(flags_compute_task, [locked.pk])
    if not allowed:
        _blocked_announce(
            action=action, reasons=reasons, context=context, customer_number=locked.customer_number
        )
    return ArbitrationResult(action=action, allowed=allowed, reasons=reasons)


@transaction.atomic
def actions_arbitrate_pending(
    *, customer: Customer, actor: Actor, at: datetime.datetime | None = None
) -> list[ArbitrationResult]:
    """Arbitrate again the customer's pending actions still to go out, in the
    order they were proposed, as if each were proposed now.

    For actions recorded before arbitration (imported, seeded) and for what
    changed since they were allowed: a complaint (quiet period), a withdrawn
    consent, a new rule. Each that fails is blocked, with its reasons, the
    audit and outbox events and both silos told, like ``action_propose``.
    """
    at = at or timezone.now()
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    pending = list(
        OutboundAction.objects.select_for_update()
        .filter(customer=locked, status__in=PENDING_ACTION_STATUSES, scheduled_for__gte=at)
        .select_related("purpose", "channel", "silo")
        .order_by("created_at", "pk")
    )
    if not pending:
        return []
    moments = [a.scheduled_for for a in pending]
    context = _context_load(
        customer_ids=[locked.pk],
        purpose_ids={a.purpose_id for a in pending},
        earliest=min(moments),
        latest=max(moments),
    )
    # Replay: the pending actions re-enter the context one by one, in order.
    ids = {a.pk for a in pending}
    for rows in context.actions.values():
        rows[:] = [row for row in rows if row.id not in ids]
    results = []
    for action in pending:
        proposal = _Proposal(
            customer_id=locked.pk,
            silo_id=action.silo_id,
            kind=action.kind,
            purpose=action.purpose,
            channel=action.channel,
            scheduled_for=action.scheduled_for,
            holding_id=action.holding_id,
        )
        reasons = _evaluate(context, proposal)
        if not reasons:
            context.add(
                _ActionRow(
                    action.pk, locked.pk, action.silo_id, action.kind, action.channel_id,
                    action.holding_id, action.scheduled_for, action.status,
                )
            )  # fmt: skip
            results.append(ArbitrationResult(action=action, allowed=True, reasons=[]))
            continue
        codes = sorted({reason.code for reason in reasons})
        old_status = action.status
        action.status = ActionStatus.BLOCKED
        action.block_reasons = [reason.as_json() for reason in reasons]
        model_save(
            action,
            actor=actor,
            reason=f"Pending action blocked by contact arbitration ({', '.join(codes)})",
        )
        audit_event_record(
            event_type=AuditEventType.ACTION_BLOCKED,
            actor=actor,
            subject=action,
            reason="; ".join(r.message for r in reasons),
            old={"status": old_status},
            new={"status": action.status, "reasons": action.block_reasons},
            customer_number=locked.customer_number,
        )
        _blocked_announce(
            action=action, reasons=reasons, context=context, customer_number=locked.customer_number
        )
        results.append(ArbitrationResult(action=action, allowed=False, reasons=reasons))
    return results


# --- campaign pre-check ---------------------------------------------------------------


def campaign_check(*, silo: Silo, contacts: Sequence[CampaignContact]) -> list[CampaignVerdict]:
    """Allowed or blocked, with the reasons, for each planned contact of a campaign.

    Nothing is written. Contacts are checked in order and each allowed one
    counts towards the caps of the next ones, as if the campaign went out.
    A constant number of queries whatever the length of the list (about a
    dozen: customers, purposes, channels, holdings and the arbitration context).
    """
    if not contacts:
        return []
    purposes = {p.code: p for p in Purpose.objects.filter(is_active=True)}
    channels = {c.code: c for c in Channel.objects.all()}
    errors = []
    kinds = frozenset(ActionKind.values)
    for contact in contacts:
        where = f"line {contact.line}" if contact.line else contact.customer_number
        if contact.kind not in kinds:
            errors.append(f"{where}, kind: unknown action kind '{contact.kind}'.")
        if contact.purpose not in purposes:
            errors.append(f"{where}, purpose: unknown or inactive purpose '{contact.purpose}'.")
        if contact.channel not in channels:
            errors.append(f"{where}, channel: unknown channel '{contact.channel}'.")
        if timezone.is_naive(contact.scheduled_for):
            errors.append(f"{where}, scheduled_for: give a time zone with the time.")
    if errors:
        raise ValidationError(errors)
    numbers = sorted({c.customer_number for c in contacts})
    customers = {
        number: (pk, merged_into)
        for pk, number, merged_into in Customer.objects.filter(
            _ids_param(_column(Customer, "customer_number"), numbers)
        ).values_list("pk", "customer_number", "merged_into_id")
    }
    references = sorted({c.holding_reference for c in contacts if c.holding_reference})
    holdings: dict[tuple[int, str], int] = {}
    if references:
        holdings = {
            (customer_id, reference): pk
            for pk, customer_id, reference in Holding.objects.filter(
                _ids_param(_column(Holding, "reference"), references)
            ).values_list("pk", "customer_id", "reference")
        }
    ids = [pk for pk, merged in customers.values() if merged is None]
    moments = [c.scheduled_for for c in contacts]
    context = _context_load(
        customer_ids=ids,
        purpose_ids={purposes[c.purpose].pk for c in contacts},
        earliest=min(moments),
        latest=max(moments),
    )
    verdicts = []
    for contact in contacts:
        found = customers.get(contact.customer_number)
        if found is None or found[1] is not None:
            code = BlockCode.UNKNOWN_CUSTOMER if found is None else BlockCode.MERGED_CUSTOMER
            verdicts.append(
                CampaignVerdict(
                    contact=contact,
                    allowed=False,
                    reasons=[BlockReason(code=code, message=f"{BlockCode(code).label}.")],
                )
            )
            continue
        customer_id = found[0]
        holding_id = None
        if contact.holding_reference:
            holding_id = holdings.get((customer_id, contact.holding_reference))
            if holding_id is None:
                verdicts.append(
                    CampaignVerdict(
                        contact=contact,
                        allowed=False,
                        reasons=[
                            BlockReason(
                                code=BlockCode.UNKNOWN_HOLDING,
                                message=f"No holding {contact.holding_reference} of "
                                f"{contact.customer_number}.",
                            )
                        ],
                    )
                )
                continue
        proposal = _Proposal(
            customer_id=customer_id,
            silo_id=silo.pk,
            kind=contact.kind,
            purpose=purposes[contact.purpose],
            channel=channels[contact.channel],
            scheduled_for=contact.scheduled_for,
            holding_id=holding_id,
        )
        reasons = _evaluate(context, proposal)
        if not reasons:
            context.add(
                _ActionRow(
                    id=None,
                    customer_id=customer_id,
                    silo_id=silo.pk,
                    kind=contact.kind,
                    channel_id=proposal.channel.pk,
                    holding_id=holding_id,
                    scheduled_for=contact.scheduled_for,
                    status=ActionStatus.PENDING,
                )
            )
        verdicts.append(CampaignVerdict(contact=contact, allowed=not reasons, reasons=reasons))
    return verdicts
