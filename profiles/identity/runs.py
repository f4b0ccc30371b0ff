"""Resolution runs: matching many records as a fan-out of Celery batches.

``resolution_run_start`` writes a ``ResolutionRun`` and its ``ResolutionBatch``
rows (record ids in primary-key order, ``BATCH_SIZE`` per batch) in one
transaction and, after commit, sends one Celery group with a task per batch,
so any number of worker processes on any number of machines share the work.

Each batch task (``resolution_batch_resolve``) resolves its records set-wise
(``profiles.identity.bulk.source_records_resolve``, a constant number of
queries per batch) and, in the same transaction, claims its batch with a
compare-and-set on ``done_at`` and adds its counts to the run: a batch
delivered twice is counted once (the second delivery waits on the first's row
locks, then finds the batch claimed), and the batch whose claim makes
``batches_done`` reach ``batches_total`` closes the run and writes the audit
event. No chord (and so no result backend) is needed for that.

A second run of the same kind while one is running is refused by a partial
unique index; a run that made no progress for ``STALE_AFTER`` (its workers
died) is marked failed when the next one starts, so it cannot block forever.
"""

from __future__ import annotations

import datetime
from collections import Counter
from typing import Any

from celery import group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from customer360.choices import ActorChannel, AuditEventType
from customer360.services import Actor, audit_event_record, on_commit

from ..models import MatchCandidate, MergeEvent, ResolutionBatch, ResolutionRun, SourceRecord
from .bulk import RESOLVE_CHUNK, source_records_resolve
from .choices import RunKind, RunStatus
from .matching import match_model_current

# Few enough records that a batch locks each of its blocking keys rather than
# hashed buckets of them (``bulk.KEY_LOCKS_MAX``), so batches run side by side.
BATCH_SIZE = RESOLVE_CHUNK
STALE_AFTER = datetime.timedelta(minutes=30)
OUTCOMES = ("created", "linked", "refreshed", "skipped")


class RunRefused(ValidationError):
    """Another run of the same kind is running."""


def _abandon_stale(kind: str, actor: Actor) -> None:
    """Mark failed a running run of ``kind`` whose batches stopped progressing."""
    cutoff = timezone.now() - STALE_AFTER
    ResolutionRun.objects.filter(
        kind=kind, status=RunStatus.RUNNING, progressed_at__lt=cutoff
    ).update(
        status=RunStatus.FAILED,
        finished_at=timezone.now(),
        message=f"Abandoned: no progress for {STALE_AFTER}; superseded by {actor.describe()}.",
    )


def run_open(*, kind: str, actor: Actor, reason: str, **values: Any) -> ResolutionRun:
    """A new running run of ``kind``; ``RunRefused`` while another one runs."""
    _abandon_stale(kind, actor)
    run = ResolutionRun(
        kind=kind, actor=actor.user, actor_label=actor.label, reason=reason, **values
    )
    run.full_clean(exclude=["actor"], validate_constraints=False)
    try:
        with transaction.atomic():
            run.save()
    except IntegrityError:
        running = ResolutionRun.objects.filter(kind=kind, status=RunStatus.RUNNING).first()
        started = running.started_at.isoformat() if running else "just now"
        raise RunRefused(
            f"Run {running.pk if running else '?'} ({kind}) is still running, "
            f"started {started}; try again when it has finished."
        ) from None
    return run


@transaction.atomic
def resolution_run_start(
    *, full: bool, actor: Actor, reason: str, batch_size: int = BATCH_SIZE
) -> ResolutionRun:
    """Start resolving unresolved records (or every record, ``full``) in batches.

    The batches are enqueued as one Celery group after commit. A run with
    nothing to do is closed at once.
    """
    if batch_size < 1:
        raise ValidationError({"batch_size": "Must be at least 1."})
    model = match_model_current()
    run = run_open(
        kind=RunKind.RESOLVE, full=full, actor=actor, reason=reason, model_version=model.version
    )
    records = SourceRecord.objects.order_by("pk")
    if not full:
        records = records.filter(resolved_at__isnull=True)
    ids = list(records.values_list("pk", flat=True))
    batches = [
        ResolutionBatch(run=run, number=number, record_ids=ids[start : start + batch_size])
        for number, start in enumerate(range(0, len(ids), batch_size), start=1)
    ]
    ResolutionBatch.objects.bulk_create(batches, batch_size=200)
    run.batches_total = len(batches)
    run.records_total = len(ids)
    run.save(update_fields=["batches_total", "records_total"])
    if not batches:
        _run_close(run.pk)
        run.refresh_from_db()
        return run
    batch_ids = list(
        ResolutionBatch.objects.filter(run=run).order_by("number").values_list("pk", flat=True)
    )

    def send() -> None:
        from ..tasks import resolution_batch_task

        group(resolution_batch_task.si(batch_id) for batch_id in batch_ids).apply_async()

    on_commit(send)
    return run


def resolution_batch_resolve(*, batch_id: int) -> dict[str, int] | None:
    """Resolve one batch's records; None when the batch is gone or was counted already.

    Resolving and counting are one transaction: a retry after a transient
    error (a deadlock, a serialization failure) starts the batch afresh.
    """
    batch = ResolutionBatch.objects.select_related("run").filter(pk=batch_id).first()
    if batch is None or batch.done_at is not None or batch.run.status != RunStatus.RUNNING:
        return None
    resolved_before = batch.run.started_at if batch.run.full else None
    with transaction.atomic():
        resolved = source_records_resolve(
            record_ids=batch.record_ids, resolved_before=resolved_before
        )
        outcomes = Counter(resolved[pk] for pk in batch.record_ids)
        claimed = ResolutionBatch.objects.filter(pk=batch.pk, done_at__isnull=True).update(
            done_at=timezone.now(), outcomes=dict(outcomes)
        )
        if not claimed:
            transaction.set_rollback(True)
            return None
        ResolutionRun.objects.filter(pk=batch.run_id).update(
            batches_done=F("batches_done") + 1,
            records_done=F("records_done") + len(batch.record_ids),
            customers_created=F("customers_created") + outcomes["created"],
            records_linked=F("records_linked") + outcomes["linked"],
            progressed_at=timezone.now(),
        )
        _run_close(batch.run_id)
    return dict(outcomes)


def _run_close(run_id: int) -> bool:
    """Close the run once every batch is counted (exactly one caller wins)."""
    run = (
        ResolutionRun.objects.select_for_update()
        .filter(pk=run_id, status=RunStatus.RUNNING, batches_done=F("batches_total"))
        .first()
    )
    if run is None:
        return False
    now = timezone.now()
    # Auto-merges run as their own tasks after each batch's commit, so these
    # count what happened while the run ran (a merge still queued is not in).
    run.candidates = MatchCandidate.objects.filter(created_at__gte=run.started_at).count()
    run.merges = MergeEvent.objects.filter(created_at__gte=run.started_at).count()
    run.status = RunStatus.DONE
    run.finished_at = now
    run.message = (
        f"{run.records_done} record(s) in {run.batches_done} batch(es): "
        f"{run.customers_created} customer(s) created, {run.records_linked} linked."
    )
    run.save(
        update_fields=["candidates", "merges", "status", "finished_at", "message"],
    )
    audit_event_record(
        event_type=AuditEventType.IDENTITIES_RESOLVED,
        actor=Actor(user=run.actor, channel=ActorChannel.TASK, label=run.actor_label),
        subject=run,
        reason=run.reason,
        new={
            "full": run.full,
            "records": run.records_done,
            "batches": run.batches_done,
            "customers_created": run.customers_created,
            "records_linked": run.records_linked,
            "candidates": run.candidates,
            "merges": run.merges,
            "model_version": run.model_version,
        },
    )
    return True
