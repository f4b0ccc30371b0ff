"""Shared write helpers every app's services use.

One way to save a history-tracked row (``model_save``), one way to record a
business event (``audit_event_record``), one way to run a side effect after
commit (``on_commit_delay``), one way to allocate numbers
(``number_allocate``).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import ipaddress
import json
import secrets
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from .api.choices import DeliveryStatus
from .choices import ActorChannel, AuditEventType, DomainEventType
from .middleware import current_request_id
from .models import (
    AccessLog,
    ApiClient,
    AuditEvent,
    IdempotencyKey,
    NumberSequence,
    OutboxEvent,
    WebhookDelivery,
    WebhookSubscription,
)


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
    # The actor and subject type are rows the caller holds (and foreign keys the
    # database checks), the two check constraints are the database's own: each
    # would cost a query (and the checks a savepoint each) in every write that
    # records an event; a breach still fails the write, at the INSERT.
    event.full_clean(exclude=["actor", "subject_type"], validate_constraints=False)
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
    # Webhook delivery starts once the change is committed, never before.
    from .tasks import webhook_event_dispatch

    on_commit_delay(webhook_event_dispatch, event_id=event.pk)
    return event


def on_commit_delay(task: Any, *args: Any, **kwargs: Any) -> None:
    """Enqueue a Celery task once the current transaction commits, never before."""
    transaction.on_commit(lambda: task.delay(*args, **kwargs))


def on_commit(func: Callable[[], None]) -> None:
    transaction.on_commit(func)


# The named counters numbers are allocated from, with their first number. On
# PostgreSQL each is a database sequence (``number_sequence_name``), created by
# migration customer360 0007 from the ``NumberSequence`` row it replaces: a
# sequence hands out numbers without a row lock held until commit, which had
# serialized every transaction creating customers (two identity-resolution
# workers took turns). Numbers are unique and increasing; a rolled-back
# transaction leaves a gap. SQLite (the embedded demo, whose IMMEDIATE
# transactions serialize writers anyway) keeps the ``NumberSequence`` rows.
NUMBER_SEQUENCES = {"customer_number": 10_000_000, "case": 10_000_000,
                    "data_subject_request": 10_000_000}  # fmt: skip


def number_sequence_name(name: str) -> str:
    return f"customer360_number_{name}"


def number_allocate(*, name: str, count: int = 1) -> list[int]:
    """Reserve ``count`` fresh numbers from the named counter, in increasing order
    (consecutive unless someone else allocates at the same moment)."""
    if count < 1:
        raise ValueError("count must be at least 1")
    if name not in NUMBER_SEQUENCES:
        raise ValueError(f"unknown number sequence {name!r}: add it to NUMBER_SEQUENCES")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(%s) FROM generate_series(1, %s)",
                [number_sequence_name(name), count],
            )
            return sorted(row[0] for row in cursor.fetchall())
    return _number_row_allocate(name=name, count=count)


@transaction.atomic
def _number_row_allocate(*, name: str, count: int) -> list[int]:
    sequence, _ = NumberSequence.objects.select_for_update().get_or_create(
        name=name, defaults={"last_value": NUMBER_SEQUENCES[name] - 1}
    )
    first = sequence.last_value + 1
    NumberSequence.objects.filter(pk=sequence.pk).update(last_value=sequence.last_value + count)
    return list(range(first, first + count))


# --- partner API (issue 7) ----------------------------------------------------------------


def _api_client_state(client: ApiClient) -> dict[str, Any]:
    return {
        "application": client.application_id,
        "source_system": client.source_system_id,
        "scopes": sorted(client.scopes),
        "is_active": client.is_active,
    }


@transaction.atomic
def api_client_save(*, client: ApiClient, actor: Actor, reason: str) -> ApiClient:
    """Create or change a partner client (its source system, scopes, active flag);
    audited API_CLIENT_CHANGED with the state before and after."""
    before = ApiClient.objects.filter(pk=client.pk).first() if client.pk else None
    model_save(client, actor=actor, reason=reason)
    audit_event_record(
        event_type=AuditEventType.API_CLIENT_CHANGED,
        actor=actor,
        subject=client,
        reason=reason,
        old=_api_client_state(before) if before else {},
        new=_api_client_state(client),
    )
    return client


@transaction.atomic
def webhook_subscription_save(
    *, subscription: WebhookSubscription, actor: Actor, reason: str
) -> WebhookSubscription:
    """Create or change where a client's events go; audited API_CLIENT_CHANGED
    (the secret itself is never written to the audit log or the history)."""
    model_save(subscription, actor=actor, reason=reason)
    audit_event_record(
        event_type=AuditEventType.API_CLIENT_CHANGED,
        actor=actor,
        subject=subscription,
        reason=reason,
        new={
            "application": subscription.application_id,
            "url": subscription.url,
            "event_types": list(subscription.event_types),
            "is_active": subscription.is_active,
        },
    )
    return subscription


def _webhook_url_refusal(url: str) -> str:
    """Why a partner may not register ``url`` ("" when it may): only HTTPS, and
    never a loopback, private, link-local or otherwise internal address given
    as a literal (the deliveries come from inside the network)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "https":
        return "Webhook URLs must use https."
    host = (parts.hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return "Webhook URLs must name a public host."
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return ""
    if not address.is_global:
        return "Webhook URLs must name a public host."
    return ""


@transaction.atomic
def webhook_subscription_create(
    *, application_id: int, url: str, event_types: list[str], actor: Actor, reason: str
) -> WebhookSubscription:
    """A partner client subscribes ``url`` to ``event_types``. The signing secret
    is generated here and readable on the returned row only: the API shows it
    once, in the answer to this request (history and audit never hold it)."""
    refusal = _webhook_url_refusal(url)
    if refusal:
        raise ValidationError({"url": [refusal]})
    subscription = WebhookSubscription(
        application_id=application_id,
        url=url,
        event_types=sorted(set(event_types)),
        secret=secrets.token_urlsafe(32),
    )
    return webhook_subscription_save(subscription=subscription, actor=actor, reason=reason)


@transaction.atomic
def webhook_subscription_deactivate(
    *, subscription: WebhookSubscription, actor: Actor, reason: str
) -> WebhookSubscription:
    """End a subscription (what a partner's DELETE does): it gets no new
    deliveries, and its pending ones are dead-lettered rather than sent. The
    row and its deliveries stay, as the record of what was sent where."""
    locked = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    if locked.is_active:
        locked.is_active = False
        webhook_subscription_save(subscription=locked, actor=actor, reason=reason)
    WebhookDelivery.objects.filter(subscription=locked, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.DEAD_LETTERED,
        next_attempt_at=None,
        last_error="The subscription was deleted.",
    )
    return locked


def access_log_record(
    *,
    application_id: int,
    customer_number: str,
    endpoint: str,
    lens_code: str = "",
    lens_version: int | None = None,
) -> None:
    """Record one read of a customer's personal data by a partner client.

    Appended in the reading request's own transaction (autocommit for reads):
    a read that is answered is a read that is logged. One prepared INSERT: the
    partner API's reads are its hottest path and compiling ``create()`` cost
    more than the database's work.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            _ACCESS_LOG_SQL,
            [timezone.now(), application_id, customer_number, lens_code, lens_version, endpoint,
             current_request_id()],
        )  # fmt: skip


_ACCESS_LOG_COLUMNS = ("accessed_at", "application", "customer_number", "lens_code",
                       "lens_version", "endpoint", "request_id")  # fmt: skip
_ACCESS_LOG_SQL = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 (names from the model)
    AccessLog._meta.db_table,
    ", ".join(
        str(field.column)
        for name in _ACCESS_LOG_COLUMNS
        for field in AccessLog._meta.concrete_fields
        if field.name == name
    ),
    ", ".join(["%s"] * len(_ACCESS_LOG_COLUMNS)),
)


@transaction.atomic
def idempotency_key_store(
    *,
    application_id: int,
    key: str,
    request_hash: str,
    endpoint: str,
    response_status: int,
    response_body: Any,
) -> IdempotencyKey:
    """Keep the answer to a write sent with an ``Idempotency-Key``, so that a retry
    of the same request gets the same answer and writes nothing again. A
    concurrent request with the same key fails on the unique constraint."""
    row = IdempotencyKey(
        application_id=application_id,
        key=key,
        request_hash=request_hash,
        endpoint=endpoint,
        response_status=response_status,
        response_body=response_body,
    )
    row.full_clean(exclude=["application"], validate_unique=False, validate_constraints=False)
    row.save()
    return row


def idempotency_keys_expire(*, older_than: datetime.datetime, batch: int = 10_000) -> int:
    """Delete the stored answers of write requests made before ``older_than``
    (the retention, ``API_IDEMPOTENCY_KEY_HOURS``); returns how many. A retry
    after that runs again, and the natural keys (source key, external id)
    keep it from writing twice. Deleted in batches, each its own short
    transaction, so a large backlog never holds locks for long."""
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(
                IdempotencyKey.objects.filter(created_at__lt=older_than)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch]
            )
            if ids:
                IdempotencyKey.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
        if len(ids) < batch:
            return deleted


# --- webhooks -----------------------------------------------------------------------------

WEBHOOK_MAX_ATTEMPTS = 8
WEBHOOK_BACKOFF_SECONDS = 30  # doubled after every failed attempt: 30 s, 1 min, 2 min, ...
WEBHOOK_TIMEOUT_SECONDS = 10


def event_visible_to(*, event_customer_number: str, source_system_id: int | None) -> bool:
    """Whether a client speaking for ``source_system_id`` may learn of an event.

    The rule (shared by webhooks and the polling feed, see
    ``customer360.api.selectors.events_for_client``): an event about a customer
    is visible only to clients whose source system has a record linked to
    that customer, i.e. silos that already know the person. Events about no
    customer are visible to every client.
    """
    from profiles.models import SourceRecord

    if not event_customer_number:
        return True
    if source_system_id is None:
        return False
    return SourceRecord.objects.filter(
        source_system_id=source_system_id, customer__customer_number=event_customer_number
    ).exists()


@transaction.atomic
def webhook_deliveries_create(*, event_id: int) -> list[int]:
    """One pending delivery of the event per active subscription that wants its
    type and may see it; idempotent (the unique constraint and
    ``ignore_conflicts`` make a second call a no-op). Returns the new ids."""
    event = OutboxEvent.objects.filter(pk=event_id).first()
    if event is None:
        return []
    subscriptions = [
        s
        for s in WebhookSubscription.objects.filter(is_active=True).select_related(
            "application__api_client"
        )
        if event.event_type in s.event_types
    ]
    wanted = []
    for subscription in subscriptions:
        client = getattr(subscription.application, "api_client", None)
        if client is None or not client.is_active:
            continue
        if event_visible_to(
            event_customer_number=event.customer_number, source_system_id=client.source_system_id
        ):
            wanted.append(subscription)
    now = timezone.now()
    WebhookDelivery.objects.bulk_create(
        [WebhookDelivery(subscription=s, event=event, next_attempt_at=now) for s in wanted],
        ignore_conflicts=True,
    )
    return list(
        WebhookDelivery.objects.filter(
            event=event, subscription__in=wanted, status=DeliveryStatus.PENDING
        ).values_list("pk", flat=True)
    )


def webhook_body(event: OutboxEvent) -> bytes:
    """What a subscriber receives: the event's ids and codes, never personal data."""
    return json.dumps(
        {
            "id": event.pk,
            "type": event.event_type,
            "occurred_at": event.occurred_at.isoformat(),
            "customer_number": event.customer_number,
            "payload": event.payload,
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode()


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """HMAC-SHA256 over ``"{timestamp}.{body}"``: the timestamp is signed too,
    so a captured delivery cannot be replayed later under a fresh timestamp."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def webhook_delivery_attempt(*, delivery_id: int) -> str | None:
    """Send one pending delivery once; returns its new status (None if there was
    nothing to do). Transient failures (network, timeouts, HTTP 5xx, 429) and
    client errors alike count as an attempt; the next one is due after an
    exponential backoff, and after ``WEBHOOK_MAX_ATTEMPTS`` the delivery is
    dead-lettered (audited WEBHOOK_DEAD_LETTERED).

    The row is claimed with ``select_for_update(skip_locked=True)`` so two
    workers never send the same delivery at once; the HTTP call runs outside
    any transaction.
    """
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(pk=delivery_id, status=DeliveryStatus.PENDING)
            .first()
        )
        if delivery is None:
            return None
        if delivery.next_attempt_at and delivery.next_attempt_at > now:
            return DeliveryStatus.PENDING
        # Claim: push the next attempt out, so a concurrent sweep skips it.
        delivery.attempts += 1
        delivery.next_attempt_at = now + datetime.timedelta(seconds=WEBHOOK_TIMEOUT_SECONDS * 3)
        delivery.save(update_fields=["attempts", "next_attempt_at"])
    subscription = WebhookSubscription.objects.get(pk=delivery.subscription_id)
    event = OutboxEvent.objects.get(pk=delivery.event_id)
    body = webhook_body(event)
    timestamp = int(now.timestamp())
    # URLField allows http(s) only; the subscriber's own server is the target.
    request = urllib.request.Request(  # noqa: S310
        subscription.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "customer360-webhooks/1",
            "X-C360-Event-Id": str(event.pk),
            "X-C360-Event-Type": event.event_type,
            "X-C360-Timestamp": str(timestamp),
            "X-C360-Signature": "sha256="
            + webhook_signature(secret=subscription.secret, timestamp=timestamp, body=body),
        },
    )
    error = ""
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as answer:  # noqa: S310 (https/http URLs validated by URLField)
            answer.read(1024)
    except urllib.error.HTTPError as failure:
        error = f"HTTP {failure.code}"
    except (urllib.error.URLError, TimeoutError, OSError) as failure:
        error = f"{type(failure).__name__}: {failure}"[:500]
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        if not error:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.delivered_at = timezone.now()
            delivery.next_attempt_at = None
            delivery.last_error = ""
        elif delivery.attempts >= WEBHOOK_MAX_ATTEMPTS:
            delivery.status = DeliveryStatus.DEAD_LETTERED
            delivery.next_attempt_at = None
            delivery.last_error = error
            audit_event_record(
                event_type=AuditEventType.WEBHOOK_DEAD_LETTERED,
                actor=Actor.system("webhooks"),
                subject=delivery,
                reason=f"Gave up after {delivery.attempts} attempts: {error}",
                new={"event": event.pk, "subscription": subscription.pk, "error": error},
                customer_number=event.customer_number,
            )
        else:
            delay = WEBHOOK_BACKOFF_SECONDS * 2 ** (delivery.attempts - 1)
            delivery.next_attempt_at = timezone.now() + datetime.timedelta(seconds=delay)
            delivery.last_error = error
        delivery.full_clean(exclude=["subscription", "event"], validate_constraints=False)
        delivery.save()
    return delivery.status
