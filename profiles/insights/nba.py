"""Next best action: governed rules, applied to one customer's context.

The context is the customer's flags (which carry the inputs they were
computed from: open complaints, products held, quiet period, reached caps),
their consent in force, the stated reason for this contact and its channel.
Three queries: the rules in force, the flags, the consent statements.

A suggestion that consent or a contact rule forbids is never returned; the
contact rules are applied through the flags (quiet period, reached caps),
which are recomputed whenever an action is proposed and nightly. Whatever
is accepted still goes through contact arbitration (``action_propose``).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import CharField, Count, Exists, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from consent.choices import ConsentStatus
from consent.models import Channel, ConsentRecord, ProcessingRestriction
from consent.selectors import RENEWAL_WINDOW, restriction_active_q
from customer360.choices import AuditEventType
from customer360.models import AuditEvent
from customer360.services import Actor, audit_event_record
from governance.choices import GovernanceStatus
from governance.models import NbaRule

from ..choices import COMMERCIAL_ACTION_KINDS, ActionKind, FlagKind
from ..models import Customer, Flag


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One suggested action, with the rule (code and version) and why."""

    rule_code: str
    rule_version: int
    rule_name: str
    action_kind: str
    action_label: str
    purpose: str
    channel: str
    essential: bool
    rank: int
    explanation: str


@dataclass(frozen=True, slots=True)
class _Consent:
    granted: frozenset[tuple[int, int]]
    expiring: frozenset[tuple[int, int]]
    restricted: bool


def _consent(customer: Customer, at: datetime.datetime) -> _Consent:
    """The customer's consent in force at ``at``: one query (as ``consent_table``),
    plus which granted statements expire within the renewal window."""
    rows = (
        ConsentRecord.objects.filter(customer=customer)
        .filter(
            Q(effective_from__lte=at)
            & (Q(effective_until__isnull=True) | Q(effective_until__gt=at))
        )
        .annotate(
            restricted=Exists(
                ProcessingRestriction.objects.filter(customer_id=customer.pk).filter(
                    restriction_active_q(at)
                )
            )
        )
        .order_by("purpose_id", "channel_id", "-effective_from", "-id")
        .values_list("purpose_id", "channel_id", "status", "effective_until", "restricted")
    )
    seen: set[tuple[int, int]] = set()
    granted: set[tuple[int, int]] = set()
    expiring: set[tuple[int, int]] = set()
    restricted = False
    for purpose_id, channel_id, status, until, is_restricted in rows:
        restricted = restricted or is_restricted
        key = (purpose_id, channel_id)
        if key in seen:
            continue
        seen.add(key)
        if status == ConsentStatus.GRANTED:
            granted.add(key)
            if until is not None and until <= at + RENEWAL_WINDOW:
                expiring.add(key)
    return _Consent(frozenset(granted), frozenset(expiring), restricted)


def _matches(
    rule: NbaRule,
    *,
    flags: dict[str, Flag],
    consent: _Consent,
    reason: str,
    channel: Channel | None,
) -> bool:
    if rule.contact_channel_id is not None and (
        channel is None or channel.pk != rule.contact_channel_id
    ):
        return False
    if rule.contact_reasons:
        words = [w.strip().lower() for w in rule.contact_reasons.split(",") if w.strip()]
        if not any(word in reason for word in words):
            return False
    if rule.flag_kind:
        flag = flags.get(rule.flag_kind)
        if flag is None or (rule.flag_min_score is not None and flag.score < rule.flag_min_score):
            return False
    complaints = flags.get(FlagKind.COMPLAINT_RECORD)
    if rule.requires_open_complaint and not (complaints and complaints.details.get("open")):
        return False
    if rule.requires_consent_renewal and not consent.expiring:
        return False
    upsell = flags.get(FlagKind.UPSELL)
    held = set(upsell.details.get("held", [])) if upsell else set()
    if rule.holds_line and rule.holds_line not in held:
        return False
    return not (rule.lacks_line and rule.lacks_line in held)


def _forbidden(
    rule: NbaRule,
    channel: Channel | None,
    *,
    flags: dict[str, Flag],
    consent: _Consent,
    at: datetime.datetime,
) -> bool:
    """Whether consent or a contact rule forbids the suggested action."""
    purpose = rule.purpose
    if purpose.requires_consent:
        if channel is None or consent.restricted:
            return True
        if (purpose.pk, channel.pk) not in consent.granted:
            return True
    complaints = flags.get(FlagKind.COMPLAINT_RECORD)
    quiet_until = complaints.details.get("quiet_until") if complaints else None
    if (
        rule.action_kind in COMMERCIAL_ACTION_KINDS
        and quiet_until
        and datetime.datetime.fromisoformat(quiet_until) > at
    ):
        return True
    frequency = flags.get(FlagKind.CONTACT_FREQUENCY)
    for capped in frequency.details.get("capped", []) if frequency else []:
        if capped.get("channel_id") is None or (
            channel is not None and capped["channel_id"] == channel.pk
        ):
            return True
    return False


def next_best_actions(
    *,
    customer: Customer,
    contact_reason: str = "",
    channel: Channel | None = None,
    at: datetime.datetime | None = None,
) -> list[Suggestion]:
    """The ranked suggestions for this contact: essential ones first, then by rank.

    Never one that the customer's consent (for the rule's purpose and the
    suggested channel: the rule's own, else this contact's) or a contact rule
    (quiet period, reached cap) forbids. Three queries.
    """
    at = at or timezone.now()
    rules = list(
        NbaRule.objects.filter(status=GovernanceStatus.APPROVED).select_related(
            "purpose", "channel"
        )
    )
    flags = {flag.kind: flag for flag in Flag.objects.filter(customer=customer)}
    consent = _consent(customer, at)
    reason = contact_reason.lower()
    found = []
    for rule in rules:
        if not _matches(rule, flags=flags, consent=consent, reason=reason, channel=channel):
            continue
        target = rule.channel or channel
        if _forbidden(rule, target, flags=flags, consent=consent, at=at):
            continue
        flag = flags.get(rule.flag_kind) if rule.flag_kind else None
        explanation = rule.explanation.replace("{flag_reason}", flag.reason if flag else "")
        found.append(
            Suggestion(
                rule_code=rule.code,
                rule_version=rule.version,
                rule_name=rule.name,
                action_kind=rule.action_kind,
                action_label=ActionKind(rule.action_kind).label,
                purpose=rule.purpose.code,
                channel=target.code if target else "",
                essential=rule.essential,
                rank=rule.rank,
                explanation=explanation.strip(),
            )
        )
    found.sort(key=lambda s: (not s.essential, s.rank, s.rule_code))
    return found


@transaction.atomic
def nba_respond(
    *, customer: Customer, rule_code: str, accepted: bool, actor: Actor, reason: str = ""
) -> AuditEvent:
    """Record an agent's accept or decline of a suggestion, against the rule version
    in force; the admin counts them per rule."""
    rule = NbaRule.objects.filter(code=rule_code, status=GovernanceStatus.APPROVED).first()
    if rule is None:
        raise ValidationError({"rule_code": f"No next-best-action rule '{rule_code}' in force."})
    verb = "accepted" if accepted else "declined"
    return audit_event_record(
        event_type=AuditEventType.NBA_ACCEPTED if accepted else AuditEventType.NBA_DECLINED,
        actor=actor,
        subject=rule,
        reason=reason or f"Suggestion {verb} by the agent",
        new={"rule_code": rule.code, "rule_version": rule.version, "accepted": accepted},
        customer_number=customer.customer_number,
    )


def nba_response_count_subquery(*, accepted: bool) -> Coalesce:
    """The number of accepts (or declines) of the outer ``NbaRule`` row, as an
    annotation: the admin list shows both counts without a query per row."""
    event = AuditEventType.NBA_ACCEPTED if accepted else AuditEventType.NBA_DECLINED
    counted = (
        AuditEvent.objects.filter(
            subject_type=ContentType.objects.get_for_model(NbaRule),
            subject_id=Cast(OuterRef("pk"), CharField()),
            event_type=event,
        )
        .order_by()
        .values("subject_type")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)
