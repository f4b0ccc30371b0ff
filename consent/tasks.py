"""Celery tasks of the consent app.

Tasks stay thin: they take ids, load by primary key, return when the row is
gone or already done, and call this app's services; they are enqueued with
``customer360.services.on_commit_delay`` so they never run before the
transaction that asked for them commits.
"""

from __future__ import annotations

from celery import Task, shared_task

from customer360.services import Actor

from . import services

# Exponential backoff of the fulfilment task on transient database errors:
# 2, 4, 8, 16, 32 s (with jitter), at most 5 minutes apart, 5 retries.
DSR_RETRY_BACKOFF_SECONDS = 2
DSR_RETRY_BACKOFF_MAX_SECONDS = 300
DSR_MAX_RETRIES = 5


@shared_task(
    bind=True,
    name="consent.dsr_fulfil",
    ignore_result=True,
    acks_late=True,
    # Only deadlocks, serialization failures and lock timeouts are retried
    # (the service turns them into TransientDatabaseError); anything else is
    # a failure for a person to look at, recorded on the request.
    autoretry_for=(services.TransientDatabaseError,),
    retry_backoff=DSR_RETRY_BACKOFF_SECONDS,
    retry_backoff_max=DSR_RETRY_BACKOFF_MAX_SECONDS,
    retry_jitter=True,
    max_retries=DSR_MAX_RETRIES,
)
def dsr_fulfil_task(self: Task, request_id: int) -> bool:
    """Fulfil a data-subject request that ``dsr_fulfil`` started; idempotent.

    The task id names the claim on the request: a retry of this task (same
    id) resumes it, a duplicate delivery of another id finds it held or done.
    """
    return services.dsr_fulfilment_run(request_id=request_id, worker=self.request.id or "")


@shared_task(name="consent.dsr_send_extension_notice", ignore_result=True)
def dsr_send_extension_notice(request_id: int) -> None:
    """Tell the person their request's deadline was extended, and why."""
    services.dsr_extension_notice_send(request_id=request_id)


@shared_task(name="consent.privacy_checks_run", ignore_result=True)
def privacy_checks_task() -> None:
    """Run (or resume) the privacy checks; scheduled by Celery beat."""
    services.privacy_checks_run(actor=Actor.system("beat:privacy-checks"))


@shared_task(name="consent.retention_apply", ignore_result=True)
def retention_task(dry_run: bool = False) -> None:
    """Apply the retention periods; scheduled by Celery beat."""
    services.retention_apply(actor=Actor.system("beat:retention"), dry_run=dry_run)
