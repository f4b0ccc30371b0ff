"""Operational tasks."""

from __future__ import annotations

import datetime
import socket
from typing import Any

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from .api.choices import DeliveryStatus
from .models import WorkerHeartbeat

# Celery options of a task that retries only transient database errors, with
# exponential backoff and jitter. Deadlocks and serialization failures (psycopg's
# TransactionRollbackError) and a locked SQLite file all reach Django as
# OperationalError (tests/profiles/test_identity_concurrency.py checks it).
# Each task adds its own retry_backoff_max and max_retries.
TRANSIENT = (OperationalError,)
TRANSIENT_RETRY: dict[str, Any] = {
    "autoretry_for": TRANSIENT,
    "retry_backoff": True,
    "retry_jitter": True,
}


@shared_task(name="customer360.worker_heartbeat", ignore_result=True)
def worker_heartbeat(token: str) -> None:
    """Record that a worker picked up and ran a task; idempotent per token."""
    WorkerHeartbeat.objects.get_or_create(token=token, defaults={"hostname": socket.gethostname()})


# --- partner API webhooks (issue 7) ---------------------------------------------------


@shared_task(name="customer360.webhook_event_dispatch", ignore_result=True)
def webhook_event_dispatch(event_id: int) -> None:
    """Fan one outbox event out to its subscriptions, then try each delivery."""
    from .services import webhook_deliveries_create

    for delivery_id in webhook_deliveries_create(event_id=event_id):
        webhook_delivery_send.delay(delivery_id=delivery_id)


@shared_task(name="customer360.webhook_delivery_send", ignore_result=True)
def webhook_delivery_send(delivery_id: int) -> None:
    """Try one delivery; when it stays pending, come back when its backoff ends.

    Idempotent: a delivered or dead-lettered delivery is left alone, and a
    delivery claimed by another worker is skipped.
    """
    from .models import WebhookDelivery
    from .services import webhook_delivery_attempt

    status = webhook_delivery_attempt(delivery_id=delivery_id)
    if status == DeliveryStatus.PENDING:
        due = (
            WebhookDelivery.objects.filter(pk=delivery_id)
            .values_list("next_attempt_at", flat=True)
            .first()
        )
        countdown = max(1.0, (due - timezone.now()).total_seconds()) if due else 1.0
        webhook_delivery_send.apply_async(kwargs={"delivery_id": delivery_id}, countdown=countdown)


@shared_task(name="customer360.webhook_deliveries_retry_due", ignore_result=True)
def webhook_deliveries_retry_due() -> int:
    """Safety net for lost retry messages (a worker restarted mid-countdown):
    re-queue every pending delivery whose next attempt is due."""
    from .models import WebhookDelivery

    due = list(
        WebhookDelivery.objects.filter(
            status=DeliveryStatus.PENDING, next_attempt_at__lte=timezone.now()
        ).values_list("pk", flat=True)[:1000]
    )
    for delivery_id in due:
        webhook_delivery_send.delay(delivery_id=delivery_id)
    return len(due)


@shared_task(name="customer360.idempotency_keys_expire", ignore_result=True)
def idempotency_keys_expire() -> int:
    """Delete stored write answers older than the retention (hourly, beat);
    idempotent: a second run finds nothing more to delete."""
    from django.conf import settings

    from .services import idempotency_keys_expire as expire

    cutoff = timezone.now() - datetime.timedelta(hours=settings.API_IDEMPOTENCY_KEY_HOURS)
    return expire(older_than=cutoff)
