"""Collect only what was decided: the enforcement API ingest and the write services call."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from customer360.services import Actor
from governance.choices import DecisionStatus, GovernanceStatus
from governance.models import DataCollectionDecision, FieldDefinition, SourceSystem
from governance.selectors import collection_allowed_fields, mapping_for_source
from governance.services import (
    collection_check,
    governed_approve,
    governed_deprecate,
    governed_propose,
)
from tests.factories import (
    DataCollectionDecisionFactory,
    SourceFieldMappingFactory,
    SourceSystemFactory,
)

pytestmark = pytest.mark.django_db


def _decide(name: str, status: str = DecisionStatus.APPROVED) -> DataCollectionDecision:
    return DataCollectionDecisionFactory(
        field_definition=FieldDefinition.objects.get(canonical_name=name, version=1),
        status=status,
        decided_at=timezone.now() if status in ("approved", "rejected") else None,
    )


@pytest.fixture
def source() -> SourceSystem:
    return SourceSystemFactory(code="crm-test")


def test_only_fields_with_an_approved_decision_may_be_collected(source: SourceSystem) -> None:
    _decide("email")
    _decide("phone", DecisionStatus.REJECTED)
    _decide("postcode", DecisionStatus.DRAFT)
    assert collection_allowed_fields(source) == {"email"}


def test_collection_check_names_each_refused_field_and_the_missing_decision(
    source: SourceSystem,
) -> None:
    _decide("email")
    with pytest.raises(ValidationError) as caught:
        collection_check(source_system=source, fields=["email", "phone", "shoe_size"])
    errors = caught.value.message_dict
    assert sorted(errors) == ["phone", "shoe_size"]
    assert "phone is not covered by an approved data-collection decision" in errors["phone"][0]
    assert "shoe_size has no approved field definition" in errors["shoe_size"][0]
    collection_check(source_system=source, fields=["email"])  # allowed: no error


def test_deprecating_a_field_stops_its_collection(actor: Actor, source: SourceSystem) -> None:
    _decide("email")
    mapping = SourceFieldMappingFactory(
        source_system=source,
        field_definition=FieldDefinition.objects.get(canonical_name="email"),
        status=GovernanceStatus.APPROVED,
    )
    assert list(mapping_for_source(source)) == [mapping]

    governed_deprecate(
        item=FieldDefinition.objects.get(canonical_name="email"), actor=actor, reason="Stop"
    )

    assert collection_allowed_fields(source) == set()
    assert list(mapping_for_source(source)) == []
    with pytest.raises(ValidationError) as caught:
        collection_check(source_system=source, fields=["email"])
    assert "email is deprecated" in caught.value.message_dict["email"][0]


def test_a_new_version_of_a_decided_field_stays_collected(
    actor: Actor, source: SourceSystem
) -> None:
    _decide("email")
    mapping = SourceFieldMappingFactory(
        source_system=source,
        field_definition=FieldDefinition.objects.get(canonical_name="email"),
        status=GovernanceStatus.APPROVED,
    )
    v2 = governed_propose(
        item=FieldDefinition.objects.get(canonical_name="email"),
        actor=actor,
        reason="r",
        changes={"label": "E-mail"},
    )
    governed_approve(item=v2, actor=actor, reason="r")
    assert "email" in collection_allowed_fields(source)
    assert list(mapping_for_source(source)) == [mapping]


@pytest.mark.parametrize(
    "mapping_status", [GovernanceStatus.DRAFT, GovernanceStatus.PROPOSED, GovernanceStatus.REJECTED]
)
def test_only_approved_mappings_are_applied(source: SourceSystem, mapping_status: str) -> None:
    _decide("phone")
    SourceFieldMappingFactory(
        source_system=source,
        field_definition=FieldDefinition.objects.get(canonical_name="phone"),
        status=mapping_status,
    )
    assert list(mapping_for_source(source)) == []


def test_an_approved_mapping_without_a_decision_is_not_applied(source: SourceSystem) -> None:
    SourceFieldMappingFactory(
        source_system=source,
        field_definition=FieldDefinition.objects.get(canonical_name="phone"),
        status=GovernanceStatus.APPROVED,
    )
    assert list(mapping_for_source(source)) == []


def test_an_inactive_source_collects_nothing(make_source: Callable[..., SourceSystem]) -> None:
    _decide("email")
    source = make_source(is_active=False)
    assert collection_allowed_fields(source) == set()
    with pytest.raises(ValidationError, match="not an active source system"):
        collection_check(source_system=source, fields=["email"])


@pytest.fixture
def make_source() -> Callable[..., SourceSystem]:
    return lambda **values: SourceSystemFactory(**values)


def test_mapping_for_source_query_count(
    source: SourceSystem, django_assert_num_queries: Callable[..., object]
) -> None:
    for name in ("email", "phone", "postcode"):
        _decide(name)
        SourceFieldMappingFactory(
            source_system=source,
            field_definition=FieldDefinition.objects.get(canonical_name=name),
            status=GovernanceStatus.APPROVED,
        )
    with django_assert_num_queries(3):  # in force, decided, mappings
        mappings = list(mapping_for_source(source))
        assert [m.field_definition.canonical_name for m in mappings] == [
            "email",
            "phone",
            "postcode",
        ]
