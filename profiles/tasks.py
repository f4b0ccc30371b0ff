"""Celery tasks of the profiles app.

Tasks stay thin: they take ids, load by primary key, return when the row is
gone or already done, and call this app's services; they are enqueued with
``customer360.services.on_commit_delay`` so they never run before the
transaction that asked for them commits. Only transient database errors
(deadlock, serialization failure, a locked SQLite file) are retried, with
exponential backoff.
"""

from __future__ import annotations

from celery import shared_task

from customer360.tasks import TRANSIENT_RETRY

from .identity.bulk import source_records_resolve_in_chunks
from .identity.review import candidate_merge_auto
from .identity.runs import resolution_batch_resolve


@shared_task(
    name="profiles.source_records_match",
    ignore_result=True,
    **TRANSIENT_RETRY,
    retry_backoff_max=30,
    max_retries=8,
)
def source_records_match(record_ids: list[int]) -> None:
    """Match new or changed source records, in chunks (one transaction each); those
    already resolved are skipped."""
    source_records_resolve_in_chunks(record_ids=record_ids)


@shared_task(
    name="profiles.customer_merge",
    ignore_result=True,
    **TRANSIENT_RETRY,
    retry_backoff_max=30,
    max_retries=8,
)
def customer_merge_task(candidate_id: int) -> None:
    """Merge an auto-merge candidate; a no-op when it was decided or merged already."""
    candidate_merge_auto(candidate_id=candidate_id)


@shared_task(
    name="profiles.resolution_batch",
    ignore_result=True,
    **TRANSIENT_RETRY,
    retry_backoff_max=30,
    max_retries=8,
)
def resolution_batch_task(batch_id: int) -> None:
    """Resolve one batch of a resolution run; a batch counted already is a no-op."""
    resolution_batch_resolve(batch_id=batch_id)


@shared_task(
    name="profiles.households_update",
    ignore_result=True,
    **TRANSIENT_RETRY,
    retry_backoff_max=60,
    max_retries=5,
)
def households_update_task() -> None:
    """Bring households in line with the governed rules; refused quietly while one runs."""
    from customer360.choices import ActorChannel
    from customer360.services import Actor

    from .identity.households import households_update
    from .identity.runs import RunRefused

    try:
        households_update(
            actor=Actor.system("rule:householding", ActorChannel.TASK),
            reason="Scheduled householding",
        )
    except RunRefused:
        return  # another run is doing the same work right now
