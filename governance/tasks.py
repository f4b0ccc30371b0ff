"""Celery tasks of the governance app.

Tasks here stay thin: they take ids, load by primary key, return when the
row is gone or already done, and call this app's services; they are enqueued
with ``customer360.services.on_commit_delay`` so they never run before the
transaction that asked for them commits.
"""

from __future__ import annotations

from celery import shared_task

from .models import DataCollectionDecision
from .services import decision_close, decisions_close_due, steward_permissions_sync_all


@shared_task(name="governance.decisions_close_due")
def decisions_close_due_task() -> int:
    """Periodic: decide every decision whose voting deadline has passed."""
    return decisions_close_due()


@shared_task(name="governance.decision_close")
def decision_close_task(decision_id: int) -> None:
    """Decide one decision if it is due; a no-op when it is gone or decided."""
    decision = DataCollectionDecision.objects.filter(pk=decision_id).first()
    if decision is not None:
        decision_close(decision=decision)


@shared_task(name="governance.steward_permissions_sync")
def steward_permissions_sync_task() -> int:
    """Periodic (daily): stewards whose membership ended lose their silo's drafts,
    those whose membership began get them; returns how many rights changed."""
    result = steward_permissions_sync_all()
    return result.granted + result.revoked
