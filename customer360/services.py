"""Shared write helpers every app's services use.

One way to save a history-tracked row (``model_save``), one way to record a
business event (``audit_event_record``), one way to run a side effect after
commit (``on_commit_delay``), one way to allocate numbers
(``number_allocate``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from simple_history.utils import bulk_update_with_history

from .choices import ActorChannel, AuditEventType, DomainEventType
from .middleware import current_request_id
from .models import AuditEvent, NumberSequence, OutboxEvent


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts, through which channel: a person, or a named rule/client/command."""

    user: User | None
    channel: ActorChannel
    label: str = ""

    def __post_init__(self) -> None:
        if self.user is None and not self.label:
            raise ValueError("an Actor needs a user or a label")

    @classmethod
    def system(cls, label: str, channel: ActorChannel = ActorChannel.TASK) -> Actor:
        return cls(user=None, channel=channel, label=label)

    def describe(self) -> str:
        return self.label or str(self.user)


def change_reason(actor: Actor, reason: str) -> str:
    """The text stored as a history row's change reason: why, and through what."""
    via = f"{actor.channel}: {actor.label}" if actor.label else str(actor.channel)
    return f"{reason} [{via}]"


def model_save[M: models.Model](
    instance: M, *, actor: Actor, reason: str, validate: bool = True
) -> M:
    """Validate and save a row, recording actor and reason in its history.

    ``_history_user`` and ``_change_reason`` are what django-simple-history
    reads; outside a request its middleware cannot supply the user.
    """
    if not reason.strip():
        raise ValueError("a change needs a reason")
    if validate:
        instance.full_clean()
    instance._history_user = actor.user  # type: ignore[attr-defined]
    instance._change_reason = change_reason(actor, reason)  # type: ignore[attr-defined]
    instance.save()
    return instance


def model_bulk_update[M: models.Model](
    rows: list[M], *, fields: list[str], actor: Actor, reason: str
) -> None:
    """Save ``fields`` of many rows of one model in a few queries, each with its
    history row carrying actor and reason, as ``model_save`` does for one."""
    if not rows:
        return
    bulk_update_with_history(
        rows,
        type(rows[0]),
        fields,
        default_user=actor.user,
        default_change_reason=change_reason(actor, reason),
    )


def audit_event_record(
    *,
    event_type: AuditEventType,
    actor: Actor,
    subject: models.Model,
    reason: str,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
    customer_number: str = "",
) -> AuditEvent:
    """Append one business event; call inside the write's transaction."""
    event = AuditEvent(
        event_type=event_type,
        actor=actor.user,
        actor_label=actor.label,
        channel=actor.channel,
        subject_type=ContentType.objects.get_for_model(subject),
        subject_id=str(subject.pk),
        customer_number=customer_number,
        old=old or {},
        new=new or {},
        reason=reason,
        request_id=current_request_id(),
    )
    event.full_clean()
    event.save()
    return event


def event_publish(
    *,
    event_type: DomainEventType,
    payload: dict[str, Any],
    customer_number: str = "",
) -> OutboxEvent:
    """Append one domain event to the outbox; call inside the write's transaction,
    so the event exists exactly when the change it announces was committed.

    ``payload`` holds identifiers and codes only, never personal data.
    """
    event = OutboxEvent(
        event_type=event_type,
        customer_number=customer_number,
        payload=payload,
        request_id=current_request_id(),
    )
    event.full_clean()
    event.save()
    return event


def on_commit_delay(task: Any, *args: Any, **kwargs: Any) -> None:
    """Enqueue a Celery task once the current transaction commits, never before."""
    transaction.on_commit(lambda: task.delay(*args, **kwargs))


def on_commit(func: Callable[[], None]) -> None:
    transaction.on_commit(func)


@transaction.atomic
def number_allocate(*, name: str, count: int = 1, start: int = 10_000_000) -> range:
    """Reserve ``count`` consecutive numbers from the named sequence.

    The row lock serializes concurrent callers on PostgreSQL; on SQLite the
    IMMEDIATE transaction mode does the same.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    sequence, _ = NumberSequence.objects.select_for_update().get_or_create(
        name=name, defaults={"last_value": start - 1}
    )
    first = sequence.last_value + 1
    NumberSequence.objects.filter(pk=sequence.pk).update(last_value=sequence.last_value + count)
    return range(first, first + count)
