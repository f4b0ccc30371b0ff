"""Celery tasks of the consent app.

Tasks stay thin: they take ids, load by primary key, return when the row is
gone or already done, and call this app's services; they are enqueued with
``customer360.services.on_commit_delay`` so they never run before the
transaction that asked for them commits.
"""

from __future__ import annotations

from celery import shared_task

from customer360.services import Actor

from . import services


@shared_task(name="consent.dsr_fulfil", ignore_result=True, acks_late=True)
def dsr_fulfil_task(request_id: int) -> None:
    """Fulfil a data-subject request that ``dsr_fulfil`` started; idempotent."""
    services.dsr_fulfilment_run(request_id=request_id)


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
