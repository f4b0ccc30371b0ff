"""Matching records on arrival: link, create, propose, chain safety, not-a-match memory."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.apps import apps as django_apps

from governance.models import SourceSystem
from profiles.identity.choices import CandidateStatus, ModelMethod
from profiles.identity.config import match_settings
from profiles.identity.matching import match_model_current, source_record_match
from profiles.identity.scoring import DEFAULT_PARAMS
from profiles.models import BlockingKey, MatchCandidate, MatchModel, NotAMatch, SourceRecord
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
def test_a_nickname_only_the_nicknames_dataset_knows_links() -> None:
    """A second spelling with a nickname our own table lacks ("Pete"), no phone and
    another e-mail address: the given name agrees through the curated dataset,
    so the record links instead of waiting for a steward."""
    system = SourceSystemFactory()
    peter = arrive(system, **{**ADA, "given_name": "Peter"})
    pete = arrive(
        system, **{**ADA, "given_name": "Pete", "email": "ada.home@example.org", "phone": ""}
    )
    assert pete.customer == peter.customer
    assert not MatchCandidate.objects.exists()


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


@pytest.mark.django_db
def test_migration_brings_the_new_defaults_to_databases_that_stored_old_ones() -> None:
    migration = importlib.import_module("profiles.migrations.0007_identity_accuracy")
    # Frozen in the migration as they are today: changing them wants a migration too.
    assert migration.PARAMS == DEFAULT_PARAMS
    old = {
        "prior": 0.05,
        "fields": {"given_name": {"m": [0.86, 0.1, 0.04], "u": [0.02, 0.03, 0.95]}},
    }
    MatchModel.objects.create(version=1, method=ModelMethod.CONFIGURED, params=old)
    migration.forward(django_apps, None)
    migration.forward(django_apps, None)  # once only
    current = match_model_current()
    assert (current.version, current.method, current.params) == (2, "configured", DEFAULT_PARAMS)
    MatchModel.objects.create(version=3, method=ModelMethod.EM, params=old)
    migration.forward(django_apps, None)  # a trained model stays in force
    assert match_model_current().version == 3
    migration.backward(django_apps, None)
    assert list(MatchModel.objects.values_list("version", flat=True)) == [3, 1]
