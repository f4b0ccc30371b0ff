"""Read selectors of the consent app."""

from __future__ import annotations

import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from profiles.models import Customer

from .choices import ConsentStatus
from .models import Channel, ConsentRecord, Purpose


def consent_effective(
    *,
    customer: Customer,
    purpose: Purpose,
    channel: Channel,
    at: datetime.datetime | None = None,
) -> ConsentRecord | None:
    """The statement in force at ``at`` (default now), or None if there is none.

    That is the latest record (by effective start, then by id, so a later
    statement with the same start wins) whose effective period covers ``at``.
    """
    at = at or timezone.now()
    return (
        ConsentRecord.objects.filter(
            customer=customer, purpose=purpose, channel=channel, effective_from__lte=at
        )
        .filter(Q(effective_until__isnull=True) | Q(effective_until__gt=at))
        .order_by("-effective_from", "-id")
        .first()
    )


def consent_allows(
    *,
    customer: Customer,
    purpose: Purpose,
    channel: Channel,
    at: datetime.datetime | None = None,
) -> bool:
    """Whether ``purpose`` may use ``channel`` for this customer at ``at``.

    A purpose with another legal basis (contract, legal obligation) needs no
    consent; one that requires consent needs a granted statement in force.
    """
    if not purpose.requires_consent:
        return True
    record = consent_effective(customer=customer, purpose=purpose, channel=channel, at=at)
    return record is not None and record.status == ConsentStatus.GRANTED


def consent_ledger(*, customer: Customer) -> QuerySet[ConsentRecord]:
    """Every statement of one customer, newest first, ready for a list."""
    return ConsentRecord.objects.filter(customer=customer).select_related(
        "purpose", "channel", "captured_via", "captured_by", "notice"
    )


def purposes_active() -> QuerySet[Purpose]:
    """Purposes consent may be recorded for."""
    return Purpose.objects.filter(is_active=True)
