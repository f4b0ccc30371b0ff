"""The issue's acceptance test: a change to a customer, a consent and a field
definition records who and why, in the row history and in the audit log."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from consent.choices import CaptureMethod, ConsentStatus
from consent.models import Channel, Purpose
from consent.selectors import consent_effective
from consent.services import consent_record
from customer360.choices import ActorChannel, AuditEventType
from customer360.models import AuditEvent
from customer360.services import Actor
from governance.choices import GovernanceStatus
from governance.models import FieldDefinition
from governance.services import field_definition_approve, field_definition_propose_version
from profiles.services import customer_update
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _events(subject: object, event_type: str) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            subject_type=ContentType.objects.get_for_model(subject),
            subject_id=str(subject.pk),  # type: ignore[attr-defined]
            event_type=event_type,
        )
    )


def test_customer_update_records_actor_and_reason(actor: Actor) -> None:
    customer = CustomerFactory(family_name="Smyth")

    customer_update(
        customer=customer,
        actor=actor,
        reason="Customer spelled the name on the phone",
        changes={"family_name": "Smith"},
    )

    latest = customer.history.latest()
    assert latest.history_user == actor.user
    assert latest.history_change_reason == "Customer spelled the name on the phone [web]"
    assert latest.family_name == "Smith"
    [event] = _events(customer, AuditEventType.CUSTOMER_UPDATED)
    assert event.actor == actor.user
    assert event.reason == "Customer spelled the name on the phone"
    assert event.customer_number == customer.customer_number
    assert event.old == {"fields": ["family_name"], "values": {"family_name": "Smyth"}}
    assert event.new == {"fields": ["family_name"], "values": {"family_name": "Smith"}}


def test_superseding_consent_records_actor_and_reason(actor: Actor) -> None:
    customer = CustomerFactory()
    marketing = Purpose.objects.get(code="marketing")
    email = Channel.objects.get(code="email")
    start = timezone.now() - datetime.timedelta(days=10)
    first = consent_record(
        customer=customer,
        purpose=marketing,
        channel=email,
        status=ConsentStatus.GRANTED,
        capture_method=CaptureMethod.CALL,
        captured_via=Channel.objects.get(code="phone"),
        actor=actor,
        reason="Opted in during a call",
        effective_from=start,
        evidence_reference="REC-1",
    )

    second = consent_record(
        customer=customer,
        purpose=marketing,
        channel=email,
        status=ConsentStatus.WITHDRAWN,
        capture_method=CaptureMethod.CALL,
        captured_via=Channel.objects.get(code="phone"),
        actor=actor,
        reason="Customer asked for no more e-mails",
        evidence_reference="REC-2",
    )

    assert second.pk != first.pk
    first.refresh_from_db()
    assert first.status == ConsentStatus.GRANTED  # the ledger never rewrites a row
    assert consent_effective(customer=customer, purpose=marketing, channel=email) == second
    history = second.history.get()
    assert history.history_user == actor.user
    assert history.history_change_reason == "Customer asked for no more e-mails [web]"
    assert second.captured_by == actor.user
    [event] = _events(second, AuditEventType.CONSENT_WITHDRAWN)
    assert event.actor == actor.user
    assert event.reason == "Customer asked for no more e-mails"
    assert event.old == {"status": ConsentStatus.GRANTED, "record": first.pk}
    assert event.new["status"] == ConsentStatus.WITHDRAWN
    assert _events(first, AuditEventType.CONSENT_RECORDED)[0].old == {
        "status": None,
        "record": None,
    }


def test_field_definition_change_records_actor_and_reason(chair: User) -> None:
    # Proposing and approving are the chair's rights (governance.roles).
    actor = Actor(user=chair, channel=ActorChannel.WEB)
    approved = FieldDefinition.objects.get(canonical_name="middle_name", version=1)

    proposal = field_definition_propose_version(
        definition=approved,
        actor=actor,
        reason="Committee: initials are middle names",
        changes={"label": "Middle name(s)"},
    )
    field_definition_approve(definition=proposal, actor=actor, reason="Vote of 3 March")

    approved.refresh_from_db()
    proposal.refresh_from_db()
    assert approved.status == GovernanceStatus.DEPRECATED
    assert (proposal.version, proposal.status) == (2, GovernanceStatus.APPROVED)
    # Creation, the purposes copied onto the new version, then the approval.
    rows = list(proposal.history.order_by("history_id"))
    proposed_row, approved_row = rows[0], rows[-1]
    assert {row.history_user for row in rows} == {actor.user}
    assert proposed_row.history_type == "+"
    assert proposed_row.version == 2
    assert proposed_row.history_user == actor.user
    assert proposed_row.status == GovernanceStatus.PROPOSED
    assert proposed_row.history_change_reason == "Committee: initials are middle names [web]"
    assert approved_row.history_user == actor.user
    assert approved_row.history_change_reason == "Vote of 3 March [web]"
    deprecated_row = approved.history.latest()
    assert deprecated_row.history_user == actor.user
    assert deprecated_row.history_change_reason == "Superseded by v2: Vote of 3 March [web]"
    [proposed] = _events(proposal, AuditEventType.FIELD_PROPOSED)
    assert (proposed.actor, proposed.reason) == (actor.user, "Committee: initials are middle names")
    assert proposed.old | {"version": 1, "label": "Middle name"} == proposed.old
    assert proposed.new | {"version": 2, "label": "Middle name(s)"} == proposed.new
    [approval] = _events(proposal, AuditEventType.FIELD_APPROVED)
    assert (approval.actor, approval.reason) == (actor.user, "Vote of 3 March")
    assert approval.old | {"version_in_force": 1} == approval.old
    assert approval.new | {"version_in_force": 2} == approval.new
