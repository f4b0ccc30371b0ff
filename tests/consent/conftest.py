"""Fixtures of the consent tests: the baseline vocabulary and a statement helper."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User

from consent.choices import CaptureMethod, ConsentStatus
from consent.models import Channel, ConsentRecord, Purpose
from consent.services import consent_record
from customer360.choices import ActorChannel
from customer360.services import Actor
from profiles.models import Customer

# The real-worker fixture, for tests/consent/test_dsr_worker.py.
from tests.customer360.conftest import celery_worker_process  # noqa: F401


@pytest.fixture
def marketing(db: None) -> Purpose:
    return Purpose.objects.get(code="marketing")


@pytest.fixture
def email(db: None) -> Channel:
    return Channel.objects.get(code="email")


@pytest.fixture
def sms(db: None) -> Channel:
    return Channel.objects.get(code="sms")


@pytest.fixture
def web(db: None) -> Channel:
    return Channel.objects.get(code="web")


@pytest.fixture
def officer_actor(privacy_officer: User) -> Actor:
    return Actor(user=privacy_officer, channel=ActorChannel.WEB)


@pytest.fixture
def state(actor: Actor, web: Channel) -> Callable[..., ConsentRecord]:
    """Record a statement through ``consent_record`` with sensible evidence."""

    def record(
        customer: Customer, purpose: Purpose, channel: Channel, **values: Any
    ) -> ConsentRecord:
        values.setdefault("status", ConsentStatus.GRANTED)
        values.setdefault("capture_method", CaptureMethod.WEB_FORM)
        values.setdefault("captured_via", web)
        values.setdefault("reason", "Ticked the box on the web form")
        return consent_record(
            customer=customer, purpose=purpose, channel=channel, actor=actor, **values
        )

    return record


@pytest.fixture
def run_tasks() -> Any:
    """Run consent tasks in-process when their ``delay`` is called.

    Combine with ``django_capture_on_commit_callbacks(execute=True)`` around
    the service call: ``delay`` fires only after the (captured) commit.
    Yields the list of (task name, args) enqueued, in order.
    """
    from unittest import mock

    from consent import tasks

    enqueued: list[tuple[str, tuple[Any, ...]]] = []
    patches = []
    for task in (tasks.dsr_fulfil_task, tasks.dsr_send_extension_notice):

        def run(*args: Any, task: Any = task) -> None:
            enqueued.append((task.name, args))
            task(*args)

        patches.append(mock.patch.object(task, "delay", side_effect=run))
    for patch in patches:
        patch.start()
    yield enqueued
    for patch in patches:
        patch.stop()
