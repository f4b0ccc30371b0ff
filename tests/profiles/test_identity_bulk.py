"""Set-based batch resolution: one person per customer within and across batches, chain
safety, links with history and golden refresh, not-a-match memory, idempotence, and a
query count that does not grow with the batch or with the customers already there."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from customer360.choices import AuditEventType
from customer360.models import AuditEvent
from governance.models import SourceSystem
from profiles.identity.bulk import source_records_resolve
from profiles.identity.choices import CandidateStatus
from profiles.identity.matching import match_model_current, source_record_match
from profiles.models import BlockingKey, Customer, MatchCandidate, NotAMatch, SourceRecord
from tests.factories import SourceRecordFactory, SourceSystemFactory
from tests.profiles.test_identity_runs import person

ADA = {
    "given_name": "Ada", "family_name": "Lovelace", "date_of_birth": "1985-12-10",
    "email": "ada@example.org", "phone": "+31612345678", "postcode": "1234AB",
    "address_line1": "12 High Street",
}  # fmt: skip
# See test_batch_query_count_does_not_depend_on_batch_size. PostgreSQL adds the
# one statement that takes the advisory locks of the batch's keys, and takes
# customer numbers from a sequence in one statement instead of the counter row
# (read, update and their savepoint pair): 29 + 1 - 3.
SINGLE_RECORD_QUERIES = 20 if connection.vendor == "postgresql" else 23


def record(system: SourceSystem, **values: Any) -> SourceRecord:
    return SourceRecordFactory(source_system=system, customer=None, normalized=values)


def fresh(pk: int) -> SourceRecord:
    return SourceRecord.objects.select_related("customer").get(pk=pk)


@pytest.mark.django_db
def test_two_records_of_one_person_in_one_batch_make_one_customer() -> None:
    system = SourceSystemFactory()
    ada = record(system, **ADA)
    nickname = record(system, **{**ADA, "given_name": "Adda", "email": "", "phone": ""})
    grace = record(system, given_name="Grace", family_name="Hopper", date_of_birth="1906-12-09")
    outcomes = source_records_resolve(record_ids=[grace.pk, nickname.pk, ada.pk])
    assert outcomes == {ada.pk: "created", nickname.pk: "linked", grace.pk: "created"}
    assert Customer.objects.count() == 2
    customer = fresh(ada.pk).customer
    assert customer is not None and fresh(nickname.pk).customer == customer
    assert fresh(grace.pk).customer not in (None, customer)
    # Golden values and lineage by survivorship, with a history row each.
    assert (customer.given_name, customer.email) == ("Ada", "ada@example.org")
    assert customer.lineage["email"] == ada.pk
    assert customer.history.count() == 1
    assert (
        fresh(nickname.pk)
        .history.first()
        .history_change_reason.startswith(
            f"Matched source record {system.code}:{nickname.source_key}"
        )
    )
    assert BlockingKey.objects.filter(record=ada).count() == 6
    # One business event for the batch's new customers, by the model's rule.
    event = AuditEvent.objects.get(event_type=AuditEventType.CUSTOMER_CREATED)
    assert event.new["customers"] == 2 and event.new["source_records"] == [ada.pk, grace.pk]
    assert event.actor_label.endswith(f"model v{match_model_current().version}")


@pytest.mark.django_db
def test_new_clusters_of_one_person_are_united_in_the_batch() -> None:
    """The second record is only in the review band against the first (and shares no
    block with it), but a third record that matches both makes one cluster of all three."""
    system = SourceSystemFactory()
    first = record(system, given_name="Ada", family_name="Lovelace", email="ada@example.org")
    second = record(system, given_name="A", family_name="Lovelace", phone="+31612345678")
    third = record(system, **ADA)
    outcomes = source_records_resolve(record_ids=[first.pk, second.pk, third.pk])
    assert sorted(outcomes.values()) == ["created", "linked", "linked"]
    assert Customer.objects.count() == 1
    assert not MatchCandidate.objects.exists()


@pytest.mark.django_db
def test_chain_in_one_batch_is_not_merged_blindly() -> None:
    """B matches A and C; A and C are clearly different: C gets its own customer and the
    pair goes to a steward."""
    system = SourceSystemFactory()
    a = record(system, **ADA)
    b = record(system, family_name="Lovelace", email="ada@example.org")
    c = record(
        system,
        given_name="Grace", family_name="Lovelace", email="ada@example.org",
        date_of_birth="1950-01-01", postcode="9999ZZ", address_line1="1 Other Road",
    )  # fmt: skip
    outcomes = source_records_resolve(record_ids=[a.pk, b.pk, c.pk])
    assert outcomes == {a.pk: "created", b.pk: "linked", c.pk: "created"}
    assert fresh(b.pk).customer == fresh(a.pk).customer
    assert fresh(c.pk).customer not in (None, fresh(a.pk).customer)
    candidate = MatchCandidate.objects.get()
    assert {candidate.customer_a, candidate.customer_b} == {
        fresh(a.pk).customer,
        fresh(c.pk).customer,
    }
    assert candidate.status == CandidateStatus.PENDING and candidate.record == c
    assert candidate.history.count() == 1


@pytest.mark.django_db
def test_record_matching_an_existing_customer_links_with_history_and_golden_refresh() -> None:
    system = SourceSystemFactory()
    trusted = SourceSystemFactory(trust_rank=1)
    ada = record(system, **{**ADA, "phone": ""})
    source_record_match(record_id=ada.pk)
    customer = fresh(ada.pk).customer
    assert customer is not None and customer.phone == ""
    newcomer = record(trusted, **{**ADA, "email": "lovelace@example.org"})
    assert source_records_resolve(record_ids=[newcomer.pk]) == {newcomer.pk: "linked"}
    linked = fresh(newcomer.pk)
    assert linked.customer == customer and linked.resolved_at is not None
    assert linked.history.count() == 2  # created, then linked
    assert linked.history.first().customer_id == customer.pk
    customer.refresh_from_db()
    # The more trusted source's values survive; lineage names where each came from.
    assert (customer.phone, customer.email) == ("+31612345678", "lovelace@example.org")
    assert customer.lineage["phone"] == newcomer.pk and customer.lineage["given_name"] in (
        ada.pk,
        newcomer.pk,
    )
    assert customer.history.count() == 2
    assert customer.history.first().history_change_reason.startswith("Matched source record")
    assert Customer.objects.count() == 1


@pytest.mark.django_db
def test_not_a_match_is_respected_in_a_batch() -> None:
    system = SourceSystemFactory()
    ada = record(system, **ADA)
    source_record_match(record_id=ada.pk)
    twin = record(system, **{**ADA, "email": "", "phone": ""})
    NotAMatch.objects.create(record_a=ada, record_b=twin, actor_label="test", reason="Twins")
    sibling = record(system, **{**ADA, "given_name": "Adda", "email": "", "phone": ""})
    outcomes = source_records_resolve(record_ids=[twin.pk, sibling.pk])
    # The twin may not join Ada, nor be proposed with her; the sibling record may.
    assert outcomes[twin.pk] == "created"
    assert fresh(twin.pk).customer != fresh(ada.pk).customer
    assert fresh(sibling.pk).customer == fresh(ada.pk).customer
    pairs = {(c.customer_a_id, c.customer_b_id) for c in MatchCandidate.objects.all()}
    twin_customer, ada_customer = fresh(twin.pk).customer_id, fresh(ada.pk).customer_id
    assert (min(twin_customer, ada_customer), max(twin_customer, ada_customer)) not in pairs


@pytest.mark.django_db
def test_rerunning_a_batch_changes_nothing() -> None:
    system = SourceSystemFactory()
    records = [record(system, **person(n)) for n in range(6)]
    records.append(record(system, **person(0, given_name="Adda", email="")))
    ids = [r.pk for r in records]
    first = source_records_resolve(record_ids=ids)
    assert sorted(first.values()).count("created") == 6
    state = (
        list(SourceRecord.objects.order_by("pk").values_list("customer_id", "resolved_at")),
        Customer.history.count(),
        SourceRecord.history.count(),
        AuditEvent.objects.count(),
        BlockingKey.objects.count(),
    )
    assert source_records_resolve(record_ids=ids) == dict.fromkeys(ids, "skipped")
    assert state == (
        list(SourceRecord.objects.order_by("pk").values_list("customer_id", "resolved_at")),
        Customer.history.count(),
        SourceRecord.history.count(),
        AuditEvent.objects.count(),
        BlockingKey.objects.count(),
    )


@pytest.mark.django_db
def test_batch_query_count_does_not_depend_on_batch_size(
    django_assert_num_queries: Any,
) -> None:
    """Load, model, thresholds, rules, source systems, keys out and in, blocks,
    customers (their ids, locked), their records, not-a-match pairs, numbers
    (the counter row: 2 and a savepoint pair; on PostgreSQL one sequence read),
    customers and their history, the audit event, records and their history (on
    PostgreSQL one statement), open candidates; plus the savepoint pair of the
    service's own transaction."""
    system = SourceSystemFactory()
    warm = record(system, **person(999))
    source_record_match(record_id=warm.pk)  # the model and its weights, cached
    # On PostgreSQL a batch's new customers are written by COPY, from ids taken
    # from their sequence in one more query (a single record's by INSERT).
    expected = SINGLE_RECORD_QUERIES + (connection.vendor == "postgresql")
    for size, offset in ((20, 0), (60, 120)):
        ids = [record(system, **person(offset + n)).pk for n in range(size)]
        # An existing duplicate for one of them: a link and a golden refresh too.
        existing = record(system, **person(offset, given_name="Adda", email=""))
        source_record_match(record_id=existing.pk)
        # + the changed customer's row (deciding read only the locked ids), the
        # golden update and its history (one statement on PostgreSQL)
        with django_assert_num_queries(expected + (2 if connection.vendor == "postgresql" else 3)):
            outcomes = source_records_resolve(record_ids=ids)
        assert list(outcomes.values()).count("created") == size - 1


@pytest.mark.django_db
def test_single_record_query_count_does_not_depend_on_customers(
    django_assert_num_queries: Any,
) -> None:
    system = SourceSystemFactory()
    for people in (range(0, 3), range(3, 60)):
        source_records_resolve(record_ids=[record(system, **person(n)).pk for n in people])
        newcomer = record(system, **person(300 + people.start))
        with django_assert_num_queries(SINGLE_RECORD_QUERIES):
            assert source_record_match(record_id=newcomer.pk) == "created"
    assert Customer.objects.count() == 62


@pytest.mark.django_db
def test_deleting_a_record_deletes_its_blocking_keys_and_a_stale_key_matches_nothing() -> None:
    """Blocking keys have no database foreign key (it cost most of writing them):
    the ORM deletes them with their record, and a key left behind by a raw
    delete names no record, so matching ignores it."""
    system = SourceSystemFactory()
    ada, gone = record(system, **ADA), record(system, **dict(ADA, given_name="Adda"))
    source_records_resolve(record_ids=[ada.pk])
    assert BlockingKey.objects.filter(record=ada).count() == 6
    SourceRecord.objects.filter(pk=ada.pk).delete()
    assert not BlockingKey.objects.filter(record_id=ada.pk).exists()

    stale = record(system, **ADA)
    source_records_resolve(record_ids=[stale.pk])
    with connection.cursor() as cursor:  # what a raw delete would leave behind
        cursor.execute("DELETE FROM profiles_sourcerecord WHERE id = %s", [stale.pk])
    assert BlockingKey.objects.filter(record_id=stale.pk).exists()
    assert source_records_resolve(record_ids=[gone.pk]) == {gone.pk: "created"}
