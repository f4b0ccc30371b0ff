"""Field definition versioning services."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from consent.models import Purpose
from customer360.services import Actor
from governance.choices import GovernanceStatus
from governance.models import FieldDefinition
from governance.selectors import (
    field_definition_in_force,
    field_definition_versions,
    field_definitions_in_force,
)
from governance.services import field_definition_approve, field_definition_propose_version
from tests.factories import FieldDefinitionFactory

pytestmark = pytest.mark.django_db


def _in_force(name: str) -> FieldDefinition:
    definition = field_definition_in_force(canonical_name=name)
    assert definition is not None
    return definition


def test_proposal_leaves_the_approved_version_in_force(actor: Actor) -> None:
    approved = _in_force("email")
    proposal = field_definition_propose_version(
        definition=approved,
        actor=actor,
        reason="Add example",
        changes={"examples": "ada@example.org"},
    )
    assert proposal.pk != approved.pk
    assert (proposal.version, proposal.status) == (2, GovernanceStatus.PROPOSED)
    assert proposal.previous_version == approved
    assert proposal.proposed_by == actor.user
    assert (proposal.approved_by, proposal.approved_at) == (None, None)
    # Unchanged fields and purposes are carried over.
    assert proposal.description == approved.description
    assert set(proposal.purposes.all()) == set(approved.purposes.all())
    assert _in_force("email") == approved


def test_proposal_can_change_purposes(actor: Actor) -> None:
    risk = Purpose.objects.get(code="risk")
    proposal = field_definition_propose_version(
        definition=_in_force("national_id"),
        actor=actor,
        reason="Also for billing checks",
        changes={"purposes": [risk, Purpose.objects.get(code="billing")]},
    )
    assert {p.code for p in proposal.purposes.all()} == {"risk", "billing"}
    assert {p.code for p in _in_force("national_id").purposes.all()} == {"risk"}


def test_approval_swaps_the_version_in_force(actor: Actor) -> None:
    old = _in_force("phone")
    proposal = field_definition_propose_version(
        definition=old, actor=actor, reason="r", changes={"label": "Phone"}
    )
    approved = field_definition_approve(definition=proposal, actor=actor, reason="Voted")
    assert approved.status == GovernanceStatus.APPROVED
    assert approved.approved_by == actor.user
    assert approved.approved_at is not None
    old.refresh_from_db()
    assert old.status == GovernanceStatus.DEPRECATED
    assert _in_force("phone") == approved
    assert [d.version for d in field_definition_versions(canonical_name="phone")] == [2, 1]
    assert field_definitions_in_force().count() == 13


def test_only_a_proposed_version_can_be_approved(actor: Actor) -> None:
    with pytest.raises(ValidationError, match="only a proposed"):
        field_definition_approve(definition=_in_force("country"), actor=actor, reason="r")
    draft = FieldDefinitionFactory()
    with pytest.raises(ValidationError):
        field_definition_approve(definition=draft, actor=actor, reason="r")


def test_first_version_of_a_new_field(actor: Actor) -> None:
    draft = FieldDefinitionFactory()
    proposed = field_definition_propose_version(
        definition=draft, actor=actor, reason="Ready", changes={}
    )
    assert proposed.pk == draft.pk
    assert proposed.status == GovernanceStatus.PROPOSED
    approved = field_definition_approve(definition=proposed, actor=actor, reason="Voted")
    assert approved.status == GovernanceStatus.APPROVED
    assert field_definition_in_force(canonical_name=draft.canonical_name) == approved


def test_one_open_proposal_at_a_time(actor: Actor) -> None:
    approved = _in_force("locality")
    field_definition_propose_version(
        definition=approved, actor=actor, reason="r", changes={"label": "Town"}
    )
    with pytest.raises(ValidationError, match="already proposed"):
        field_definition_propose_version(
            definition=approved, actor=actor, reason="r", changes={"label": "City"}
        )


@pytest.mark.parametrize("name", ["canonical_name", "status", "version", "approved_by"])
def test_proposal_refuses_fields_it_may_not_change(actor: Actor, name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        field_definition_propose_version(
            definition=_in_force("region"), actor=actor, reason="r", changes={name: "x"}
        )
    assert list(caught.value.message_dict) == [name]


def test_deprecated_version_cannot_be_proposed_from(actor: Actor) -> None:
    old = _in_force("postcode")
    proposal = field_definition_propose_version(
        definition=old, actor=actor, reason="r", changes={"label": "ZIP"}
    )
    field_definition_approve(definition=proposal, actor=actor, reason="r")
    old.refresh_from_db()
    with pytest.raises(ValidationError, match="deprecated"):
        field_definition_propose_version(
            definition=old, actor=actor, reason="r", changes={"label": "Post code"}
        )


def test_invalid_change_is_refused(actor: Actor) -> None:
    with pytest.raises(ValidationError):
        field_definition_propose_version(
            definition=_in_force("given_name"),
            actor=actor,
            reason="r",
            changes={"data_type": "no-such-type"},
        )
