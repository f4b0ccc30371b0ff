"""Merge, unmerge, the auto-merge task, steward decisions; property tests."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from consent.choices import ConsentStatus
from consent.models import ConsentRecord
from consent.services import consent_effective_states
from customer360.choices import ActorChannel, AuditEventType
from customer360.models import AuditEvent
from customer360.services import Actor
from profiles.choices import LifecycleStatus
from profiles.identity.choices import CandidateStatus
from profiles.identity.merge import MOVED, customer_merge, customer_state, customer_unmerge
from profiles.identity.review import candidate_decide, candidate_merge_auto, candidate_undo
from profiles.models import Customer, Flag, MatchCandidate, MergeEvent, NotAMatch
from profiles.selectors import customer_get_by_number, source_record_identities
from tests.factories import (
    CaseFactory,
    ConsentRecordFactory,
    CustomerFactory,
    FlagFactory,
    HoldingFactory,
    HouseholdMembershipFactory,
    InteractionFactory,
    RelationshipFactory,
    SourceRecordFactory,
)

ACTOR = Actor.system("test:steward", ActorChannel.WEB)


def person(**extra: Any) -> Customer:
    """A customer with two source records, rows of every kind and a consent."""
    customer = CustomerFactory(**extra)
    for _ in range(2):
        record = SourceRecordFactory(
            customer=customer,
            normalized={"given_name": customer.given_name, "family_name": customer.family_name},
        )
        InteractionFactory(customer=customer, source_record=record)
        HoldingFactory(customer=customer, source_record=record)
        CaseFactory(customer=customer, source_record=record)
    FlagFactory(customer=customer)
    ConsentRecordFactory(customer=customer)
    return customer


def snapshot_state(customers: list[Customer]) -> dict[str, Any]:
    ids = [c.pk for c in customers]
    state: dict[str, Any] = {
        "customers": {c.pk: customer_state(c) for c in Customer.objects.filter(pk__in=ids)},
        "flags": sorted(
            Flag.objects.filter(customer__in=ids).values_list("pk", "customer_id", "kind", "score")
        ),
        "consent": {c.pk: consent_effective_states(customer=c) for c in customers},
    }
    for model, field in MOVED:
        state[f"{model.__name__}.{field}"] = sorted(
            model._default_manager.filter(**{f"{field}__in": ids}).values_list("pk", f"{field}_id")
        )
    from profiles.models import HouseholdMembership, Relationship

    state["ended"] = sorted(
        list(Relationship.objects.values_list("pk", "valid_to"))
        + list(HouseholdMembership.objects.values_list("pk", "valid_to"))
    )
    return state


@pytest.mark.django_db
def test_merge_moves_everything_and_the_old_number_resolves() -> None:
    survivor, merged = person(), person()
    household = HouseholdMembershipFactory(customer=survivor).household
    HouseholdMembershipFactory(customer=merged, household=household)
    RelationshipFactory(from_customer=merged, to_customer=survivor)
    ConsentRecordFactory(customer=merged, status=ConsentStatus.WITHDRAWN)
    event = customer_merge(survivor=survivor, merged=merged, actor=ACTOR, reason="Same person")
    merged.refresh_from_db()
    assert merged.merged_into == survivor
    assert merged.lifecycle_status == LifecycleStatus.MERGED
    assert survivor.source_records.count() == 4
    assert survivor.interactions.count() == 4
    assert survivor.holdings.count() == 4
    assert survivor.cases.count() == 4
    assert customer_get_by_number(merged.customer_number) == survivor
    numbers = {number for _, _, number in source_record_identities()}
    assert numbers == {survivor.customer_number}
    # Consent: most restrictive wins, appended to the survivor's ledger.
    assert ConsentRecord.objects.filter(customer=survivor, status=ConsentStatus.WITHDRAWN).exists()
    assert AuditEvent.objects.filter(
        event_type=AuditEventType.CUSTOMER_MERGED, customer_number=survivor.customer_number
    ).exists()
    assert event.snapshot["merged_records"]
    with pytest.raises(ValidationError, match="already merged"):
        customer_merge(survivor=survivor, merged=merged, actor=ACTOR, reason="Again")


@pytest.mark.django_db
def test_unmerge_restores_exactly_and_sends_later_rows_back() -> None:
    survivor, merged = person(), person()
    HouseholdMembershipFactory(customer=survivor)
    RelationshipFactory(from_customer=merged, to_customer=survivor)
    before = snapshot_state([survivor, merged])
    event = customer_merge(survivor=survivor, merged=merged, actor=ACTOR, reason="Same person")
    # An interaction arriving after the merge through one of the merged customer's records.
    late = InteractionFactory(
        customer=survivor, source_record_id=event.snapshot["merged_records"][0]
    )
    customer_unmerge(merge_event=event, actor=ACTOR, reason="Not the same person")
    late.refresh_from_db()
    assert late.customer_id == merged.pk
    late.delete()
    assert snapshot_state([survivor, merged]) == before
    assert NotAMatch.objects.count() == 4  # every pair of their records, remembered
    with pytest.raises(ValidationError, match="undone already"):
        customer_unmerge(merge_event=event, actor=ACTOR, reason="Again")
    assert AuditEvent.objects.filter(event_type=AuditEventType.CUSTOMER_UNMERGED).count() == 1


@pytest.mark.django_db
def test_auto_merge_task_is_idempotent_and_steward_can_undo(django_assert_num_queries: Any) -> None:
    survivor, merged = person(), person()
    candidate = MatchCandidate.objects.create(
        customer_a=survivor,
        customer_b=merged,
        probability=0.999,
        match_weight=12.0,
        explanation=[{"field": "email", "level": "exact", "weight": 11.0}],
        model_version=1,
    )
    event = candidate_merge_auto(candidate_id=candidate.pk)
    assert event is not None and event.actor_label.startswith("rule:identity-resolution")
    with django_assert_num_queries(3):  # savepoint, the claim, release
        assert candidate_merge_auto(candidate_id=candidate.pk) is None
    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.MERGED
    candidate_undo(candidate=candidate, actor=ACTOR, reason="Different people")
    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.NOT_A_MATCH
    merged.refresh_from_db()
    assert merged.merged_into is None


@pytest.mark.django_db
def test_auto_merge_of_a_pair_merged_meanwhile_follows_both_to_their_survivors() -> None:
    ada = {"given_name": "Ada", "family_name": "Lovelace", "date_of_birth": "1985-12-10",
           "email": "ada@example.org", "phone": "+31612345678"}  # fmt: skip
    a, b, c, stranger = (CustomerFactory() for _ in range(4))
    for customer in (a, b, c):
        SourceRecordFactory(customer=customer, normalized=ada)
    SourceRecordFactory(
        customer=stranger, normalized={"given_name": "Grace", "family_name": "Hopper"}
    )
    customer_merge(survivor=c, merged=b, actor=ACTOR, reason="Same person")

    def candidate(left: Customer, right: Customer) -> MatchCandidate:
        left, right = sorted((left, right), key=lambda customer: customer.pk)
        return MatchCandidate.objects.create(
            customer_a=left, customer_b=right, probability=0.999, match_weight=12.0,
            model_version=1,
        )  # fmt: skip

    pair = candidate(a, b)  # b is c's now
    event = candidate_merge_auto(candidate_id=pair.pk)
    assert event is not None and (event.survivor, event.merged) == (a, c)
    pair.refresh_from_db()
    assert pair.status == CandidateStatus.MERGED
    again = candidate(c, a)
    assert candidate_merge_auto(candidate_id=again.pk) is None
    again.refresh_from_db()
    assert again.status == CandidateStatus.SUPERSEDED  # one customer already
    # Survivors that no longer clear the rule wait for a steward.
    other = CustomerFactory()
    customer_merge(survivor=other, merged=stranger, actor=ACTOR, reason="Same person")
    doubtful = candidate(b, stranger)
    assert candidate_merge_auto(candidate_id=doubtful.pk) is None
    doubtful.refresh_from_db()
    assert doubtful.status == CandidateStatus.PENDING


@pytest.mark.django_db
def test_steward_decisions() -> None:
    a, b = person(), person()
    candidate = MatchCandidate.objects.create(
        customer_a=a, customer_b=b, probability=0.9, match_weight=3.0, model_version=1
    )
    candidate_decide(candidate=candidate, decision="defer", actor=ACTOR, reason="Ask the agent")
    candidate.refresh_from_db()
    assert candidate.status == CandidateStatus.DEFERRED
    candidate_undo(candidate=candidate, actor=ACTOR, reason="Back to the queue")
    candidate_decide(candidate=candidate, decision="not_a_match", actor=ACTOR, reason="Twins")
    assert NotAMatch.objects.count() == 4
    with pytest.raises(ValidationError, match="decided already"):
        candidate_decide(candidate=candidate, decision="merge", actor=ACTOR, reason="Oops")
    candidate_undo(candidate=candidate, actor=ACTOR, reason="Not twins after all")
    assert NotAMatch.objects.count() == 0
    candidate_decide(candidate=candidate, decision="merge", actor=ACTOR, reason="Same person")
    b.refresh_from_db()
    assert b.merged_into == a
    assert AuditEvent.objects.filter(event_type=AuditEventType.MATCH_DECIDED).count() == 5


@pytest.mark.django_db
def test_merges_chain_and_are_undone_latest_first() -> None:
    """B into A, then A (the survivor) into C, then D into B's number (it stands
    for C now): every merge goes through, the old numbers resolve to C, and
    undoing latest first restores everything exactly; out of order is refused."""
    a, b, c, d = person(), person(), person(), person()
    start = snapshot_state([a, b, c, d])
    first = customer_merge(survivor=a, merged=b, actor=ACTOR, reason="Same person")
    second = customer_merge(survivor=c, merged=a, actor=ACTOR, reason="Same person")
    third = customer_merge(survivor=b, merged=d, actor=ACTOR, reason="Same person")
    assert (third.survivor, third.merged) == (c, d)
    assert {customer_get_by_number(x.customer_number) for x in (a, b, c, d)} == {c}
    assert c.source_records.count() == 8
    with pytest.raises(ValidationError, match="one customer"):
        customer_merge(survivor=a, merged=d, actor=ACTOR, reason="Again")
    with pytest.raises(ValidationError, match=r"itself merged into .* undo that merge first"):
        customer_unmerge(merge_event=first, actor=ACTOR, reason="Out of order")
    with pytest.raises(ValidationError, match=rf"{d.customer_number} was merged into .* after"):
        customer_unmerge(merge_event=second, actor=ACTOR, reason="Out of order")
    for event in (third, second, first):
        customer_unmerge(merge_event=event, actor=ACTOR, reason="Not the same person")
    assert snapshot_state([a, b, c, d]) == start


class MergePropertyTest(TestCase):
    """Hypothesis: any sequence of merges (of any customer, merged away or not:
    merges chain) and unmerges (in any order: out of order is refused) keeps
    every row exactly once, and undoing everything restores the exact
    starting state."""

    @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        st.lists(
            st.one_of(
                st.tuples(st.just("merge"), st.integers(0, 3), st.integers(0, 3)),
                st.tuples(st.just("unmerge"), st.integers(0, 5), st.just(0)),
            ),
            max_size=6,
        )
    )
    @example([("merge", 0, 1), ("merge", 2, 0), ("merge", 1, 3), ("unmerge", 0, 0)])
    def test_merge_unmerge_sequences(self, steps: list[tuple[str, int, int]]) -> None:
        from profiles.models import Holding, Interaction, SourceRecord

        customers = [person() for _ in range(4)]
        start = snapshot_state(customers)
        counts = (SourceRecord.objects.count(), Interaction.objects.count(),
                  Holding.objects.count())  # fmt: skip
        ledger = ConsentRecord.objects.count()
        done: list[MergeEvent] = []
        for op, i, j in steps:
            if op == "merge":
                survivor, merged = (Customer.objects.get(pk=customers[k].pk) for k in (i, j))
                if i == j:
                    continue
                one = customer_get_by_number(survivor.customer_number) == customer_get_by_number(
                    merged.customer_number
                )
                if one:
                    with pytest.raises(ValidationError, match="one customer"):
                        customer_merge(survivor=survivor, merged=merged, actor=ACTOR,
                                       reason="Property test")  # fmt: skip
                    continue
                done.append(customer_merge(survivor=survivor, merged=merged, actor=ACTOR,
                                           reason="Property test"))  # fmt: skip
            elif done:
                event = done[i % len(done)]
                try:
                    customer_unmerge(merge_event=event, actor=ACTOR, reason="Property test")
                except ValidationError as refusal:
                    assert event is not done[-1], refusal  # the latest can always be undone
                    assert "undo that merge first" in str(refusal)
                else:
                    done.remove(event)
            assert (SourceRecord.objects.count(), Interaction.objects.count(),
                    Holding.objects.count()) == counts  # fmt: skip
            assert ConsentRecord.objects.count() >= ledger
            survivors = set(
                Customer.objects.filter(merged_into__isnull=True).values_list("pk", flat=True)
            )
            assert set(SourceRecord.objects.values_list("customer_id", flat=True)) <= survivors
        while done:
            customer_unmerge(merge_event=done.pop(), actor=ACTOR, reason="Property test")
        assert snapshot_state(customers) == start
