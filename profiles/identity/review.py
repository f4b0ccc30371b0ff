"""The stewards' review queue: decide candidate pairs, and undo a decision.

Screens come later; these services are what they (and the auto-merge task)
call. Decisions: merge, not a match (remembered: never proposed again),
defer (stays in the queue, after the pending ones).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from customer360.choices import AuditEventType
from customer360.services import Actor, audit_event_record, model_save

from ..models import Customer, MatchCandidate, MergeEvent, NotAMatch, SourceRecord
from ..selectors import customer_get_by_number
from .choices import OPEN_CANDIDATE_STATUSES, CandidateStatus
from .config import match_settings
from .matching import (
    cluster_score,
    is_auto_merge,
    match_model_current,
    matching_actor,
    weights_for,
)
from .merge import customer_merge, customer_unmerge, not_a_match_record
from .normalize import match_features

DECISIONS = ("merge", "not_a_match", "defer")


def survivors_auto_merge(first: Customer, second: Customer) -> bool:
    """Whether two customers' records, scored with the model in force, clear the
    automatic-merge rule (chain-safe: every pair above the lower threshold)."""
    left, right = (
        [match_features(values) for values in SourceRecord.objects.filter(customer=c)
         .order_by("pk").values_list("normalized", flat=True)]
        for c in (first, second)
    )  # fmt: skip
    result = cluster_score(left, right, weights_for(match_model_current()))
    return result is not None and is_auto_merge(result, match_settings())


def review_queue() -> QuerySet[MatchCandidate]:
    """Open candidates, pending before deferred, most probable first."""
    return (
        MatchCandidate.objects.filter(status__in=OPEN_CANDIDATE_STATUSES)
        .select_related("customer_a", "customer_b")
        .order_by("-status", "-probability", "pk")
    )


def _lock(candidate_id: int) -> MatchCandidate:
    return (
        MatchCandidate.objects.select_for_update()
        .select_related("customer_a", "customer_b")
        .get(pk=candidate_id)
    )


@transaction.atomic
def candidate_merge_auto(*, candidate_id: int) -> MergeEvent | None:
    """Merge a candidate above the upper threshold, as the matching rule.

    Idempotent: a candidate no longer pending is left alone. When a customer
    of the pair was merged meanwhile, the merge follows both to their
    survivors (merges chain) if those still clear the rule; a pair that is
    one customer by now is marked superseded.
    """
    candidate = MatchCandidate.objects.select_for_update().filter(pk=candidate_id).first()
    if candidate is None or candidate.status != CandidateStatus.PENDING:
        return None
    candidate = _lock(candidate_id)
    actor = matching_actor(candidate.model_version)
    survivor, merged = candidate.customer_a, candidate.customer_b
    if survivor.merged_into_id or merged.merged_into_id:
        # Merged meanwhile: the pair stands for the two survivors now. Still
        # one merge if those, scored afresh, clear the rule; one customer
        # already, superseded; else a steward decides.
        now = [customer_get_by_number(c.customer_number) for c in (survivor, merged)]
        if now[0] is None or now[1] is None or now[0].pk == now[1].pk:
            candidate.status = CandidateStatus.SUPERSEDED
            model_save(candidate, actor=actor, reason="The pair was merged meanwhile")
            return None
        survivor, merged = now[0], now[1]
        if not survivors_auto_merge(survivor, merged):
            return None
    return customer_merge(
        survivor=survivor,
        merged=merged,
        actor=actor,
        reason=f"Automatic merge: match probability {candidate.probability:.4f}",
        candidate=candidate,
    )


@transaction.atomic
def candidate_decide(
    *, candidate: MatchCandidate, decision: str, actor: Actor, reason: str
) -> MatchCandidate:
    """A steward's decision on an open candidate: merge, not a match, or defer."""
    if decision not in DECISIONS:
        raise ValidationError({"decision": f"Unknown decision {decision!r}."})
    locked = _lock(candidate.pk)
    if locked.status not in OPEN_CANDIDATE_STATUSES:
        raise ValidationError(f"This pair was decided already ({locked.get_status_display()}).")
    old_status = locked.status
    if decision == "merge":
        customer_merge(
            survivor=locked.customer_a,
            merged=locked.customer_b,
            actor=actor,
            reason=reason,
            candidate=locked,
        )
        locked.refresh_from_db()
    else:
        if decision == "not_a_match":
            not_a_match_record(
                left=list(
                    SourceRecord.objects.filter(customer=locked.customer_a).values_list(
                        "pk", flat=True
                    )
                ),
                right=list(
                    SourceRecord.objects.filter(customer=locked.customer_b).values_list(
                        "pk", flat=True
                    )
                ),
                actor=actor,
                reason=reason,
            )
        locked.status = (
            CandidateStatus.NOT_A_MATCH if decision == "not_a_match" else CandidateStatus.DEFERRED
        )
        locked.decided_by = actor.user
        locked.decided_at = timezone.now()
        locked.decision_reason = reason
        model_save(locked, actor=actor, reason=reason)
    audit_event_record(
        event_type=AuditEventType.MATCH_DECIDED,
        actor=actor,
        subject=locked,
        reason=reason,
        old={"status": old_status},
        new={"status": locked.status, "decision": decision},
        customer_number=locked.customer_a.customer_number,
    )
    return locked


@transaction.atomic
def candidate_undo(*, candidate: MatchCandidate, actor: Actor, reason: str) -> MatchCandidate:
    """Undo a steward's decision: unmerge a merge (the pair is then not a match),
    forget a not-a-match (the pair is pending again), or un-defer."""
    locked = _lock(candidate.pk)
    old_status = locked.status
    if locked.status == CandidateStatus.MERGED:
        event = locked.merges.filter(undone_at__isnull=True).order_by("-pk").first()
        if event is None:
            raise ValidationError("No merge of this pair is in force.")
        customer_unmerge(merge_event=event, actor=actor, reason=reason)
        locked.refresh_from_db()
    elif locked.status in (CandidateStatus.NOT_A_MATCH, CandidateStatus.DEFERRED):
        if locked.status == CandidateStatus.NOT_A_MATCH:
            left = SourceRecord.objects.filter(customer=locked.customer_a).values("pk")
            right = SourceRecord.objects.filter(customer=locked.customer_b).values("pk")
            NotAMatch.objects.filter(
                Q(record_a__in=left, record_b__in=right) | Q(record_a__in=right, record_b__in=left)
            ).delete()
        locked.status = CandidateStatus.PENDING
        locked.decided_by = None
        locked.decided_at = None
        locked.decision_reason = ""
        model_save(locked, actor=actor, reason=reason)
    else:
        raise ValidationError(f"Nothing to undo: the pair is {locked.get_status_display()}.")
    audit_event_record(
        event_type=AuditEventType.MATCH_DECIDED,
        actor=actor,
        subject=locked,
        reason=reason,
        old={"status": old_status},
        new={"status": locked.status, "decision": "undo"},
        customer_number=locked.customer_a.customer_number,
    )
    return locked
