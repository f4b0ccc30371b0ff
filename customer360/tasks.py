"""Operational tasks."""

from __future__ import annotations

import socket

from celery import shared_task

from .models import WorkerHeartbeat


@shared_task(name="customer360.worker_heartbeat", ignore_result=True)
def worker_heartbeat(token: str) -> None:
    """Record that a worker picked up and ran a task; idempotent per token."""
    WorkerHeartbeat.objects.get_or_create(token=token, defaults={"hostname": socket.gethostname()})
