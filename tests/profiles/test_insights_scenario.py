"""The articles' scenario, end to end on the seeded demo world (issue 8).

``seed_demo`` records marketing's up-sell and risk's cancellation of the same
motor policy, both due the same day, as the silos planned them, and puts them
through arbitration: the one proposed later is blocked, and both silos are told.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command

from customer360.choices import AuditEventType, DomainEventType
from customer360.models import AuditEvent, OutboxEvent
from customer360.services import Actor
from profiles.choices import ActionKind, ActionStatus, BlockCode
from profiles.insights.arbitration import actions_arbitrate_pending
from profiles.insights.flags import action_conflicts_for
from profiles.models import OutboundAction

pytestmark = pytest.mark.django_db(transaction=False)


def test_the_seeded_scenario_ends_with_the_later_letter_blocked_and_both_silos_told(
    tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", f"--truth-file={tmp_path / 'truth.csv'}", "--customers=5",
                     stdout=io.StringIO(), stderr=io.StringIO())  # fmt: skip
    upsell = OutboundAction.objects.get(kind=ActionKind.UPSELL)
    cancellation = OutboundAction.objects.get(kind=ActionKind.CANCELLATION)
    assert upsell.created_at <= cancellation.created_at  # risk's letter came second
    customer = upsell.customer

    # seed_demo put both letters through arbitration, as recorded before it.
    assert (upsell.status, cancellation.status) == (ActionStatus.PENDING, ActionStatus.BLOCKED)
    [reason] = cancellation.block_reasons
    assert reason["code"] == BlockCode.INCOMPATIBLE
    assert reason["rule_code"] == "upsell-vs-cancellation"
    assert reason["conflicting_action_id"] == upsell.pk
    assert "Marketing's pending up-sell" in reason["message"]

    # Both silos told: the members of marketing and of risk, and partners via the outbox.
    assert sorted(m.to[0].split("@")[0] for m in mail.outbox) == ["member-marketing", "member-risk"]
    event = OutboxEvent.objects.get(event_type=DomainEventType.ACTION_BLOCKED)
    assert event.payload["silos"] == ["marketing", "risk"]
    assert AuditEvent.objects.filter(
        event_type=AuditEventType.ACTION_BLOCKED, subject_id=str(cancellation.pk)
    ).exists()
    # The conflict is on the customer's card.
    [conflict] = action_conflicts_for(customer=customer)
    assert conflict.action == cancellation and conflict.conflicting == [upsell]

    # Arbitrating again changes nothing.
    again = actions_arbitrate_pending(customer=customer, actor=Actor.system("test"))
    assert [(r.action.pk, r.allowed) for r in again] == [(upsell.pk, True)]
