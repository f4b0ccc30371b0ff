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

from ..models import MatchCandidate, MergeEvent, NotAMatch, SourceRecord
from .choices import OPEN_CANDIDATE_STATUSES, CandidateStatus
from .matching import matching_actor
from .merge import customer_merge, customer_unmerge, not_a_match_record

DECISIONS = ("merge", "not_a_match", "defer")


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

    Idempotent: a candidate no longer pending, or whose customers were merged
    meanwhile, is left alone (the latter marked superseded).
    """
    candidate = MatchCandidate.objects.select_for_update().filter(pk=candidate_id).first()
    if candidate is None or candidate.status != CandidateStatus.PENDING:
        return None
    candidate = _lock(candidate_id)
    actor = matching_actor(candidate.model_version)
    if candidate.customer_a.merged_into_id or candidate.customer_b.merged_into_id:
        candidate.status = CandidateStatus.SUPERSEDED
        model_save(candidate, actor=actor, reason="A customer of the pair was merged meanwhile")
        return None
    return customer_merge(
        survivor=candidate.customer_a,
        merged=candidate.customer_b,
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
