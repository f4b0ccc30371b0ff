"""Matching records on arrival: link, create, propose, chain safety, not-a-match memory."""

from __future__ import annotations

from typing import Any

import pytest

from governance.models import SourceSystem
from profiles.identity.choices import CandidateStatus
from profiles.identity.config import match_settings
from profiles.identity.matching import source_record_match
from profiles.models import BlockingKey, MatchCandidate, NotAMatch, SourceRecord
from tests.factories import SourceRecordFactory, SourceSystemFactory

ADA = {
    "given_name": "Ada", "family_name": "Lovelace", "date_of_birth": "1985-12-10",
    "email": "ada@example.org", "phone": "+31612345678", "postcode": "1234AB",
    "address_line1": "12 High Street",
}  # fmt: skip


def arrive(system: SourceSystem, **values: Any) -> SourceRecord:
    record = SourceRecordFactory(source_system=system, customer=None, normalized=values)
    source_record_match(record_id=record.pk)
    record.refresh_from_db()
    return record


@pytest.mark.django_db
def test_duplicate_links_and_stranger_gets_own_customer() -> None:
    system = SourceSystemFactory()
    first = arrive(system, **ADA)
    assert first.customer is not None and first.customer.email == "ada@example.org"
    assert BlockingKey.objects.filter(record=first).count() == 6
    nickname = arrive(system, **{**ADA, "given_name": "Adda", "email": "", "phone": ""})
    assert nickname.customer == first.customer
    stranger = arrive(system, given_name="Grace", family_name="Hopper", date_of_birth="1906-12-09")
    assert stranger.customer not in (None, first.customer)
    assert source_record_match(record_id=first.pk) == "skipped"  # idempotent


@pytest.mark.django_db
def test_relatives_at_one_address_stay_apart_twins_go_to_review_not_a_match_remembered() -> None:
    system = SourceSystemFactory()
    ada = arrive(system, **ADA)
    sibling = arrive(
        system,
        **{**ADA, "given_name": "Grace", "date_of_birth": "1988-03-02",
           "email": "grace@example.org", "phone": ""},
    )  # fmt: skip
    assert sibling.customer != ada.customer
    assert not MatchCandidate.objects.exists()  # a relative is not even proposed
    # A twin: same family, date of birth and address, another given name.
    twin = arrive(system, **{**ADA, "given_name": "Lucy", "email": "", "phone": ""})
    assert twin.customer not in (ada.customer, sibling.customer)
    candidate = MatchCandidate.objects.get(customer_a=ada.customer)
    assert candidate.status == CandidateStatus.PENDING
    thresholds = match_settings()
    assert thresholds.review_threshold <= candidate.probability < thresholds.auto_merge_threshold
    assert next(step["field"] for step in candidate.explanation) == "prior"
    # A steward's "not a match" keeps the pair out of the queue for good.
    NotAMatch.objects.create(record_a=ada, record_b=twin, actor_label="test", reason="Twins")
    candidate.status = CandidateStatus.NOT_A_MATCH
    candidate.save()
    twin.resolved_at = None
    twin.save()
    source_record_match(record_id=twin.pk)
    assert not MatchCandidate.objects.filter(
        status=CandidateStatus.PENDING, customer_a=ada.customer
    ).exists()


@pytest.mark.django_db
def test_chain_is_not_merged_blindly() -> None:
    """B matches A and C; A and C are clearly different: C is not linked to A's customer."""
    system = SourceSystemFactory()
    a = arrive(system, **ADA)
    b = arrive(system, family_name="Lovelace", email="ada@example.org")
    assert b.customer == a.customer
    c = arrive(
        system,
        given_name="Grace", family_name="Lovelace", email="ada@example.org",
        date_of_birth="1950-01-01", postcode="9999ZZ", address_line1="1 Other Road",
    )  # fmt: skip
    assert c.customer not in (None, a.customer)
    # It matches B above the upper threshold, so the pair goes to a steward instead.
    candidate = MatchCandidate.objects.get()
    assert {candidate.customer_a, candidate.customer_b} == {a.customer, c.customer}
    assert candidate.status == CandidateStatus.PENDING
