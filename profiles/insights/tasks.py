"""Celery tasks of the insights package (flags, next best action, arbitration).

Thin, idempotent, take ids; enqueued with ``customer360.services.on_commit_delay``.
Recomputing a flag is always safe, so a repeated or late task does no harm.
"""

from __future__ import annotations

import datetime

from celery import shared_task
from django.utils import timezone

from customer360.services import Actor
from customer360.tasks import TRANSIENT_RETRY

from ..choices import PENDING_ACTION_STATUSES
from ..models import Customer, OutboundAction
from .arbitration import actions_arbitrate_pending
from .flags import flags_compute, flags_stale_ids

SWEEP_BATCH = 1000


@shared_task(
    name="insights.flags_compute",
    ignore_result=True,
    **TRANSIENT_RETRY,
    retry_backoff_max=60,
    max_retries=6,
)
def flags_compute_task(customer_ids: list[int]) -> int:
    """Recompute every flag of these customers (gone or merged ones are skipped)."""
    return flags_compute(customer_ids=customer_ids, actor=Actor.system("insights.flags_compute"))


def _enqueue_stale(lifecycle_kind: str = "") -> int:
    """Enqueue one compute task per batch of customers whose flags are stale."""
    ids: list[int] = list(flags_stale_ids(lifecycle_kind=lifecycle_kind).iterator(chunk_size=2000))
    for start in range(0, len(ids), SWEEP_BATCH):
        flags_compute_task.delay(ids[start : start + SWEEP_BATCH])
    return len(ids)


@shared_task(name="insights.flags_sweep", ignore_result=True)
def flags_sweep() -> int:
    """Nightly (beat): recompute every missing or stale flag, in batches."""
    return _enqueue_stale()


@shared_task(name="insights.flags_lifecycle_changed", ignore_result=True)
def flags_lifecycle_changed(kind: str) -> int:
    """A lifecycle definition of ``kind`` was approved: recompute the flags computed
    under another version of it."""
    return _enqueue_stale(lifecycle_kind=kind)


# Pending actions due within this many days are arbitrated again each night.
REARBITRATE_DAYS = 3


@shared_task(name="insights.actions_rearbitrate_due", ignore_result=True)
def actions_rearbitrate_due() -> int:
    """Nightly (beat): arbitrate again every customer's pending actions due soon.

    What changed since an action was allowed (a complaint, a withdrawn
    consent, a new rule) blocks it before it goes out. One transaction per
    customer, so one failure does not hold back the others.
    """
    customer_ids = list(
        OutboundAction.objects.filter(
            status__in=PENDING_ACTION_STATUSES,
            scheduled_for__gte=timezone.now(),
            scheduled_for__lt=timezone.now() + datetime.timedelta(days=REARBITRATE_DAYS),
        )
        .order_by()
        .values_list("customer_id", flat=True)
        .distinct()
    )
    actor = Actor.system("insights.actions_rearbitrate_due")
    blocked = 0
    for customer in Customer.objects.filter(pk__in=customer_ids, merged_into__isnull=True):
        results = actions_arbitrate_pending(customer=customer, actor=actor)
        blocked += sum(1 for result in results if not result.allowed)
    return blocked
