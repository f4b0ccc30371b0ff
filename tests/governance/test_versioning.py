"""One versioning workflow for every governed model: draft, proposed, approved,
rejected, deprecated; the version in force changes only on approval."""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from customer360.choices import AuditEventType
from customer360.models import AuditEvent
from customer360.services import Actor
from governance.choices import GovernanceStatus, LifecycleKind
from governance.models import (
    ContactRule,
    FieldDefinition,
    GovernedVersion,
    Lens,
    LifecycleDefinition,
    MatchingConfiguration,
    PriorityInteraction,
    QuorumRule,
    SourceFieldMapping,
)
from governance.services import (
    governed_approve,
    governed_create,
    governed_deprecate,
    governed_propose,
    governed_reject,
    governed_submit,
)
from tests.factories import FieldDefinitionFactory, PurposeFactory, SourceSystemFactory

pytestmark = pytest.mark.django_db

A = GovernanceStatus


def _contact_rule() -> ContactRule:
    return ContactRule(
        code="cap-email", name="E-mail cap", kind="frequency_cap", max_contacts=3, period_days=30
    )


def _lifecycle() -> LifecycleDefinition:
    return LifecycleDefinition(kind=LifecycleKind.NEW, description="First holding", window_days=90)


def _quorum() -> QuorumRule:
    return QuorumRule(code="default")


def _matching() -> MatchingConfiguration:
    return MatchingConfiguration(
        code="default", auto_merge_threshold=Decimal("0.950"), review_threshold=Decimal("0.700")
    )


# item factory, a field to change, its new value
CASES: list[tuple[Callable[[], GovernedVersion], str, Any]] = [
    (_contact_rule, "max_contacts", 2),
    (_lifecycle, "window_days", 60),
    (_quorum, "min_turnout_percent", 60),
    (_matching, "review_threshold", Decimal("0.750")),
]
IDS = ["contact-rule", "lifecycle", "quorum-rule", "matching"]


def _status(item: GovernedVersion) -> str:
    item.refresh_from_db()
    return item.status


@pytest.mark.parametrize(("make", "name", "value"), CASES, ids=IDS)
def test_version_flow(
    actor: Actor, make: Callable[[], GovernedVersion], name: str, value: Any
) -> None:
    v1 = governed_create(item=make(), actor=actor, reason="New")
    assert (v1.version, v1.status) == (1, A.DRAFT)
    governed_submit(item=v1, actor=actor, reason="Ready")
    governed_approve(item=v1, actor=actor, reason="Voted")
    assert _status(v1) == A.APPROVED

    # A change to the approved version is a new proposed version; v1 stays in force.
    v2 = governed_propose(item=v1, actor=actor, reason="Tighten", changes={name: value})
    assert (v2.version, v2.status, v2.previous_version) == (2, A.PROPOSED, v1)
    assert getattr(v2, name) == value
    assert _status(v1) == A.APPROVED

    # Rejecting it leaves the last approved version in force.
    governed_reject(item=v2, actor=actor, reason="No")
    assert (_status(v2), _status(v1)) == (A.REJECTED, A.APPROVED)

    v3 = governed_propose(item=v1, actor=actor, reason="Again", changes={name: value})
    assert v3.version == 3
    governed_approve(item=v3, actor=actor, reason="Yes")
    assert (_status(v1), _status(v3)) == (A.DEPRECATED, A.APPROVED)
    transitions = [
        e.new["transition"] for e in AuditEvent.objects.order_by("id") if "transition" in e.new
    ]
    assert transitions == ["proposed", "approved", "proposed", "rejected", "proposed", "approved"]
    assert [e.event_type for e in AuditEvent.objects.order_by("id")] == [
        AuditEventType.GOVERNED_PROPOSED,
        AuditEventType.GOVERNED_APPROVED,
        AuditEventType.GOVERNED_PROPOSED,
        AuditEventType.GOVERNED_REJECTED,
        AuditEventType.GOVERNED_PROPOSED,
        AuditEventType.GOVERNED_APPROVED,
    ]


def test_approving_a_version_whose_predecessor_is_not_approved_is_refused(
    actor: Actor, caplog: pytest.LogCaptureFixture
) -> None:
    v1 = governed_create(item=_contact_rule(), actor=actor, reason="New")
    governed_submit(item=v1, actor=actor, reason="r")
    governed_approve(item=v1, actor=actor, reason="r")
    v2 = governed_propose(item=v1, actor=actor, reason="r", changes={"period_days": 7})
    governed_deprecate(item=v1, actor=actor, reason="Retired")
    events = AuditEvent.objects.count()

    with (
        caplog.at_level(logging.WARNING, logger="governance.services"),
        pytest.raises(ValidationError, match=r"predecessor .* is not approved"),
    ):
        governed_approve(item=v2, actor=actor, reason="r")

    assert (_status(v2), _status(v1)) == (A.PROPOSED, A.DEPRECATED)
    assert AuditEvent.objects.count() == events
    assert f"refused approve on governance.contactrule#{v2.pk}" in caplog.text


@pytest.mark.parametrize("status", [A.DRAFT, A.APPROVED, A.REJECTED, A.DEPRECATED])
def test_only_a_proposed_version_is_approved_or_rejected(actor: Actor, status: str) -> None:
    item = FieldDefinitionFactory(status=status, approved=status == A.APPROVED)
    for service in (governed_approve, governed_reject):
        with pytest.raises(ValidationError, match="only a proposed"):
            service(item=item, actor=actor, reason="r")
    assert _status(item) == status


def test_deprecate_only_the_version_in_force(actor: Actor) -> None:
    with pytest.raises(ValidationError, match="only the version in force"):
        governed_deprecate(item=FieldDefinitionFactory(), actor=actor, reason="r")


def test_creating_an_existing_item_is_refused(actor: Actor) -> None:
    governed_create(item=_contact_rule(), actor=actor, reason="r")
    with pytest.raises(ValidationError, match="already exists"):
        governed_create(item=_contact_rule(), actor=actor, reason="r")
    assert ContactRule.objects.count() == 1


def test_lens_version_carries_its_fields_and_needs_fields_in_force(actor: Actor) -> None:
    email = FieldDefinition.objects.get(canonical_name="email")
    draft_field = FieldDefinitionFactory()
    lens = governed_create(
        item=Lens(
            code="service-call",
            name="Service call",
            purpose=PurposeFactory(code="service"),
            sections=["identity"],
        ),
        actor=actor,
        reason="r",
        m2m={"fields": [email, draft_field]},
    )
    governed_submit(item=lens, actor=actor, reason="r")
    with pytest.raises(ValidationError, match=draft_field.canonical_name):
        governed_approve(item=lens, actor=actor, reason="r")
    lens = governed_propose(item=lens, actor=actor, reason="r", changes={"fields": [email]})
    governed_approve(item=lens, actor=actor, reason="r")
    v2 = governed_propose(item=lens, actor=actor, reason="r", changes={"name": "Service"})
    assert list(v2.fields.all()) == [email]


# --- source field mappings ---------------------------------------------------------


def _mapping(field: FieldDefinition) -> SourceFieldMapping:
    return SourceFieldMapping(
        source_system=SourceSystemFactory(), source_field="EMAIL_ADDR", field_definition=field
    )


def test_a_mapping_to_a_deprecated_field_is_refused(actor: Actor) -> None:
    field = FieldDefinitionFactory(approved=True)
    governed_deprecate(item=field, actor=actor, reason="Stop collecting")
    with pytest.raises(ValidationError) as caught:
        governed_create(item=_mapping(field), actor=actor, reason="r")
    assert "deprecated" in caught.value.message_dict["field_definition"][0]
    assert not SourceFieldMapping.objects.exists()


def test_a_mapping_is_approved_only_to_an_approved_field(actor: Actor) -> None:
    field = FieldDefinitionFactory(approved=True)
    mapping = governed_create(item=_mapping(field), actor=actor, reason="r")
    governed_submit(item=mapping, actor=actor, reason="r")
    governed_deprecate(item=field, actor=actor, reason="r")
    with pytest.raises(ValidationError, match="approved field definition"):
        governed_approve(item=mapping, actor=actor, reason="r")
    assert _status(mapping) == A.PROPOSED


def test_mapping_approval_is_audited(actor: Actor) -> None:
    field = FieldDefinition.objects.get(canonical_name="email")
    mapping = governed_create(item=_mapping(field), actor=actor, reason="r")
    governed_submit(item=mapping, actor=actor, reason="r")
    governed_approve(item=mapping, actor=actor, reason="Committee agreed")
    event = AuditEvent.objects.get(event_type=AuditEventType.MAPPING_APPROVED)
    assert (event.subject_id, event.reason) == (str(mapping.pk), "Committee agreed")


def test_refused_without_rights_changes_nothing(committee_member: Any) -> None:
    member = Actor(user=committee_member, channel=actor_channel())
    with pytest.raises(PermissionDenied):
        governed_create(item=_contact_rule(), actor=member, reason="r")
    assert not ContactRule.objects.exists()


def actor_channel() -> Any:
    from customer360.choices import ActorChannel

    return ActorChannel.ADMIN


def test_governed_definitions_in_force_are_what_other_parts_read(actor: Actor) -> None:
    from governance.selectors import (
        contact_rules_in_force,
        lifecycle_definition_in_force,
        matching_configuration_in_force,
    )

    assert matching_configuration_in_force() is None
    matching = governed_create(item=_matching(), actor=actor, reason="r")
    governed_submit(item=matching, actor=actor, reason="r")
    assert matching_configuration_in_force() is None  # proposed is not in force
    governed_approve(item=matching, actor=actor, reason="r")
    assert matching_configuration_in_force() == matching
    v2 = governed_propose(
        item=matching, actor=actor, reason="r", changes={"review_threshold": Decimal("0.800")}
    )
    assert matching_configuration_in_force() == matching  # still v1 until v2 is approved
    governed_approve(item=v2, actor=actor, reason="r")
    in_force = matching_configuration_in_force()
    assert in_force is not None and in_force.review_threshold == Decimal("0.800")

    lifecycle = governed_create(item=_lifecycle(), actor=actor, reason="r")
    governed_submit(item=lifecycle, actor=actor, reason="r")
    governed_approve(item=lifecycle, actor=actor, reason="r")
    assert lifecycle_definition_in_force(kind=LifecycleKind.NEW) == lifecycle
    assert lifecycle_definition_in_force(kind=LifecycleKind.LOST) is None
    assert list(contact_rules_in_force()) == []


def test_matching_thresholds_must_be_ordered(actor: Actor) -> None:
    with pytest.raises(ValidationError):
        governed_create(
            item=MatchingConfiguration(
                code="bad", auto_merge_threshold=Decimal("0.5"), review_threshold=Decimal("0.9")
            ),
            actor=actor,
            reason="r",
        )
    assert not MatchingConfiguration.objects.exists()


def test_priority_interaction_names_silos_and_required_fields(
    actor: Actor, silos: list[Any]
) -> None:
    from governance.selectors import priority_interactions_in_force

    phone = FieldDefinition.objects.get(canonical_name="phone")
    retired = FieldDefinitionFactory()
    item = governed_create(
        item=PriorityInteraction(
            code="complaint-call", name="Complaint call", interaction_kind="complaint", rank=1
        ),
        actor=actor,
        reason="r",
        m2m={"silos": silos[:2], "required_fields": [phone, retired]},
    )
    governed_submit(item=item, actor=actor, reason="r")
    with pytest.raises(ValidationError, match=retired.canonical_name):
        governed_approve(item=item, actor=actor, reason="r")
    governed_propose(item=item, actor=actor, reason="r", changes={"required_fields": [phone]})
    governed_approve(item=item, actor=actor, reason="r")
    [in_force] = priority_interactions_in_force()
    assert list(in_force.required_fields.all()) == [phone]
    assert set(in_force.silos.all()) == set(silos[:2])


def test_an_item_whose_versions_were_all_rejected_can_be_proposed_again(actor: Actor) -> None:
    v1 = governed_create(item=_contact_rule(), actor=actor, reason="r")
    governed_submit(item=v1, actor=actor, reason="r")
    governed_reject(item=v1, actor=actor, reason="Not yet")
    v2 = governed_propose(item=v1, actor=actor, reason="Try again", changes={"period_days": 14})
    assert (v2.version, v2.status, v2.previous_version) == (2, A.PROPOSED, None)
    governed_approve(item=v2, actor=actor, reason="Now yes")
    assert _status(v2) == A.APPROVED
    # An older retired version is no starting point while another is in force.
    with pytest.raises(ValidationError, match="propose a change to the version in force"):
        governed_propose(item=v1, actor=actor, reason="r", changes={"period_days": 3})
