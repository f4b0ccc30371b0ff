"""The database itself refuses rows that break the governance invariants."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from governance.choices import (
    CommitteeRole,
    ContactRuleKind,
    DecisionKind,
    DecisionStatus,
    GovernanceStatus,
)
from governance.models import FieldDefinition
from tests.factories import (
    CommitteeMemberFactory,
    ContactRuleFactory,
    DataCollectionDecisionFactory,
    FieldDefinitionFactory,
    LensFactory,
    LifecycleDefinitionFactory,
    MatchingConfigurationFactory,
    PriorityInteractionFactory,
    QuorumRuleFactory,
    SourceFieldMappingFactory,
    SourceSystemFactory,
    VoteFactory,
)

pytestmark = pytest.mark.django_db


def _refused(make: Callable[[], Any]) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        make()


def test_one_approved_version_per_field() -> None:
    # The baseline installs given_name v1, approved.
    _refused(lambda: FieldDefinitionFactory(canonical_name="given_name", version=2, approved=True))


def test_field_versions_unique() -> None:
    _refused(lambda: FieldDefinitionFactory(canonical_name="given_name", version=1))


@pytest.mark.parametrize(
    "values",
    [{"version": 0}, {"status": GovernanceStatus.APPROVED, "approved_at": None}],
    ids=["version-positive", "approved-has-time"],
)
def test_field_definition_version_constraints(values: dict[str, Any]) -> None:
    _refused(lambda: FieldDefinitionFactory(**values))


@pytest.mark.parametrize(
    "factory_class",
    [LensFactory, ContactRuleFactory],
    ids=["lens", "contact-rule"],
)
def test_one_approved_version_per_governed_item(factory_class: Any) -> None:
    first = factory_class(status=GovernanceStatus.APPROVED, approved_at=timezone.now())
    _refused(
        lambda: factory_class(
            code=first.code, version=2, status=GovernanceStatus.APPROVED, approved_at=timezone.now()
        )
    )


def test_one_approved_lifecycle_definition_per_kind() -> None:
    LifecycleDefinitionFactory(status=GovernanceStatus.APPROVED, approved_at=timezone.now())
    _refused(
        lambda: LifecycleDefinitionFactory(
            status=GovernanceStatus.APPROVED, approved_at=timezone.now()
        )
    )


def test_one_approved_mapping_per_source_column() -> None:
    mapping = SourceFieldMappingFactory(status=GovernanceStatus.APPROVED)
    _refused(
        lambda: SourceFieldMappingFactory(
            source_system=mapping.source_system,
            source_field=mapping.source_field,
            version=2,
            status=GovernanceStatus.APPROVED,
        )
    )


@pytest.mark.parametrize(
    "kind",
    [DecisionKind.COLLECT_FIELD, DecisionKind.OPEN_SOURCE, DecisionKind.OPEN_CHANNEL],
)
def test_decision_kind_has_subject(kind: DecisionKind) -> None:
    _refused(
        lambda: DataCollectionDecisionFactory(
            kind=kind, field_definition=None, source_system=None, channel=None
        )
    )


@pytest.mark.parametrize(
    "values",
    [
        {"business_value": 0},
        {"privacy_risk": 6},
        {"status": DecisionStatus.APPROVED, "decided_at": None},
        {"status": DecisionStatus.DRAFT, "decided_at": timezone.now()},
        {"status": DecisionStatus.VOTING, "voting_deadline": None},
    ],
    ids=["value-range", "risk-range", "decided-time", "undecided-no-time", "voting-deadline"],
)
def test_decision_constraints(values: dict[str, Any]) -> None:
    _refused(lambda: DataCollectionDecisionFactory(**values))


def test_decision_priority_score_is_computed_by_the_database() -> None:
    decision = DataCollectionDecisionFactory(
        business_value=5, actionability=4, cost=3, privacy_risk=2
    )
    decision.refresh_from_db()
    assert decision.priority_score == 5 * 4 - 3 - 2


def test_vote_one_per_member() -> None:
    vote = VoteFactory()
    _refused(lambda: VoteFactory(decision=vote.decision, member=vote.member, silo=None))


def test_vote_one_per_silo() -> None:
    vote = VoteFactory()
    _refused(lambda: VoteFactory(decision=vote.decision, silo=vote.silo))


def test_member_role_needs_a_silo() -> None:
    _refused(lambda: CommitteeMemberFactory(role=CommitteeRole.MEMBER, silo=None))


def test_source_system_trust_rank_range() -> None:
    _refused(lambda: SourceSystemFactory(trust_rank=0))


@pytest.mark.parametrize(
    "values",
    [
        # max_contacts=None is not refused yet: NULL >= 1 is unknown, which a
        # CHECK lets through (reported to the lead as a model change).
        {"kind": ContactRuleKind.FREQUENCY_CAP, "max_contacts": 0},
        {"kind": ContactRuleKind.INCOMPATIBLE, "action_kind": "", "incompatible_with": ""},
        {"period_days": 0},
    ],
    ids=["cap-has-max", "incompatible-has-pair", "period-positive"],
)
def test_contact_rule_constraints(values: dict[str, Any]) -> None:
    _refused(lambda: ContactRuleFactory(**values))


def test_baseline_fields_are_in_force() -> None:
    assert FieldDefinition.objects.filter(status=GovernanceStatus.APPROVED).count() == 13


@pytest.mark.parametrize(
    "factory_class",
    [QuorumRuleFactory, MatchingConfigurationFactory, PriorityInteractionFactory],
    ids=["quorum-rule", "matching", "priority-interaction"],
)
def test_new_governed_factories_build_valid_rows(factory_class: Any) -> None:
    for row in (factory_class(), factory_class()):
        row.full_clean()


@pytest.mark.parametrize(
    "values",
    [
        {"review_threshold": Decimal("0.96")},
        {"review_threshold": Decimal("-0.1")},
        {"auto_merge_threshold": Decimal("1.5")},
    ],
    ids=["review-below-auto", "review-nonnegative", "auto-at-most-one"],
)
def test_matching_thresholds_constraint(values: dict[str, Any]) -> None:
    _refused(lambda: MatchingConfigurationFactory(**values))


@pytest.mark.parametrize(
    "values",
    [{"min_turnout_percent": 101}, {"majority_percent": 0}, {"majority_percent": 100}],
    ids=["turnout-range", "majority-min", "majority-max"],
)
def test_quorum_rule_constraints(values: dict[str, Any]) -> None:
    _refused(lambda: QuorumRuleFactory(**values))


def test_one_approved_quorum_rule() -> None:
    QuorumRuleFactory(code="default", status=GovernanceStatus.APPROVED, approved_at=timezone.now())
    _refused(
        lambda: QuorumRuleFactory(
            code="default", version=2, status=GovernanceStatus.APPROVED, approved_at=timezone.now()
        )
    )


def test_priority_interaction_rank_positive() -> None:
    _refused(lambda: PriorityInteractionFactory(rank=0))
