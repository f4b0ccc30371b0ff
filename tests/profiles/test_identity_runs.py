"""Resolution runs: the fan-out command, progress, refusal, idempotence; model training;
outbox events of merge and unmerge."""

from __future__ import annotations

import datetime
from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone

from customer360.choices import ActorChannel, AuditEventType, DomainEventType
from customer360.models import AuditEvent, OutboxEvent
from customer360.services import Actor
from profiles.identity.choices import ModelMethod, RunKind, RunStatus
from profiles.identity.matching import match_model_current, source_record_match
from profiles.identity.merge import customer_merge, customer_unmerge
from profiles.identity.runs import RunRefused, resolution_batch_resolve, resolution_run_start
from profiles.identity.scoring import Weights
from profiles.identity.training import match_model_train
from profiles.models import Customer, MatchModel, ResolutionBatch, ResolutionRun, SourceRecord
from tests.factories import CustomerFactory, ResolutionRunFactory, SourceRecordFactory

ACTOR = Actor.system("test:identity", ActorChannel.TASK)


def person(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "given_name": ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald"][n % 6],
        "family_name": f"Family{n:03d}x",
        "date_of_birth": f"19{50 + n % 40:02d}-0{1 + n % 9}-1{n % 10}",
        "email": f"person{n}@example.org",
        "postcode": f"{1000 + n}AB",
        "address_line1": f"{n} High Street",
        **extra,
    }


def unresolved(values: dict[str, Any]) -> SourceRecord:
    return SourceRecordFactory(customer=None, normalized=values)


@pytest.mark.django_db(transaction=True)
def test_resolve_identities_fans_out_counts_and_refuses_a_second_run(eager_tasks: None) -> None:
    records = [unresolved(person(n)) for n in range(7)]
    records += [unresolved(person(n, email="", given_name="Ada")) for n in (0, 6)]  # duplicates
    out = StringIO()
    call_command("resolve_identities", "--batch-size", "3", "--wait", "--no-progress", stdout=out)
    run = ResolutionRun.objects.get()
    assert (run.kind, run.full, run.status) == (RunKind.RESOLVE, False, RunStatus.DONE)
    assert (run.batches_total, run.batches_done) == (3, 3)
    assert (run.records_total, run.records_done) == (9, 9)
    assert (run.customers_created, run.records_linked) == (7, 2)
    assert run.model_version == match_model_current().version
    assert f"run {run.pk} done" in out.getvalue()
    assert not SourceRecord.objects.filter(resolved_at__isnull=True).exists()
    assert Customer.objects.count() == 7
    assert (
        SourceRecord.objects.get(pk=records[7].pk).customer_id
        == SourceRecord.objects.get(pk=records[0].pk).customer_id
    )
    event = AuditEvent.objects.get(event_type=AuditEventType.IDENTITIES_RESOLVED)
    assert event.new["records"] == 9 and event.new["customers_created"] == 7

    # Nothing left to do: a run with no batches closes at once, changing nothing.
    call_command("resolve_identities", "--wait", "--no-progress", stdout=StringIO())
    assert ResolutionRun.objects.filter(status=RunStatus.DONE, records_total=0).count() == 1
    assert Customer.objects.count() == 7

    # A run still running (fresh progress) refuses a second start; nothing is written.
    ResolutionRunFactory(status=RunStatus.RUNNING, finished_at=None)
    with pytest.raises(CommandError, match="still running"):
        call_command("resolve_identities", "--full", stdout=StringIO())
    assert ResolutionRun.objects.count() == 3


@pytest.mark.django_db
def test_stale_run_is_abandoned_and_a_batch_counts_once(
    django_capture_on_commit_callbacks: Any,
) -> None:
    stale = ResolutionRunFactory(
        status=RunStatus.RUNNING,
        finished_at=None,
        progressed_at=timezone.now() - datetime.timedelta(hours=2),
    )
    records = [unresolved(person(n)) for n in range(4)]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = resolution_run_start(full=False, actor=ACTOR, reason="Test", batch_size=2)
    assert len(callbacks) == 1  # one group, sent after commit
    stale.refresh_from_db()
    assert stale.status == RunStatus.FAILED and "Abandoned" in stale.message
    first, second = ResolutionBatch.objects.filter(run=run).order_by("number")
    assert first.record_ids == [records[0].pk, records[1].pk]
    assert resolution_batch_resolve(batch_id=first.pk) == {"created": 2}
    assert resolution_batch_resolve(batch_id=first.pk) is None  # delivered twice: counted once
    run.refresh_from_db()
    assert (run.batches_done, run.records_done, run.status) == (1, 2, RunStatus.RUNNING)
    # A record resolved meanwhile (arrived on its own task) is skipped, not matched twice.
    source_record_match(record_id=records[2].pk)
    assert resolution_batch_resolve(batch_id=second.pk) == {"skipped": 1, "created": 1}
    run.refresh_from_db()
    assert (run.batches_done, run.status) == (2, RunStatus.DONE)
    assert run.finished_at is not None
    ResolutionRunFactory(status=RunStatus.RUNNING, finished_at=None)
    with pytest.raises(RunRefused, match="still running"):
        resolution_run_start(full=True, actor=ACTOR, reason="Second")
    assert ResolutionRun.objects.filter(full=True).count() == 0


@pytest.mark.django_db
def test_full_run_rematches_records_resolved_before_it() -> None:
    records = [unresolved(person(n)) for n in range(3)]
    for record in records:
        source_record_match(record_id=record.pk)
    run = resolution_run_start(full=True, actor=ACTOR, reason="Rules changed", batch_size=10)
    batch = ResolutionBatch.objects.get(run=run)
    assert resolution_batch_resolve(batch_id=batch.pk) == {"refreshed": 3}
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and run.full
    assert Customer.objects.count() == 3


@pytest.mark.django_db
def test_train_match_model_stores_a_new_version_used_by_matching() -> None:
    for n in range(40):
        unresolved(person(n))
        if n % 2 == 0:
            unresolved(person(n, given_name="", address_line1=""))
    before = match_model_current()
    out = StringIO()
    call_command("train_match_model", "--reason", "Quarterly retraining", stdout=out)
    model = MatchModel.objects.order_by("-version").first()
    assert model is not None and model.version == before.version + 1
    assert model.method == ModelMethod.EM and model.training_pairs > 0
    assert f"v{model.version}" in out.getvalue()
    assert match_model_current() == model
    weights = Weights.from_params(model.params)
    assert weights.by_field["email"]["exact"] > 0 > weights.by_field["email"]["different"]
    event = AuditEvent.objects.get(event_type=AuditEventType.MATCH_MODEL_TRAINED)
    assert event.new["version"] == model.version and event.reason == "Quarterly retraining"
    with pytest.raises(ValidationError, match="at least"):
        match_model_train(actor=ACTOR, reason="Too small", max_records=5)


@pytest.mark.django_db
def test_train_match_model_refuses_too_few_records() -> None:
    unresolved(person(1))
    with pytest.raises(CommandError, match="at least 10 are needed"):
        call_command("train_match_model", stdout=StringIO())
    assert not MatchModel.objects.filter(method=ModelMethod.EM).exists()


@pytest.mark.django_db
def test_merge_and_unmerge_publish_outbox_events_in_their_transaction() -> None:
    survivor, merged = CustomerFactory(), CustomerFactory()
    event = customer_merge(survivor=survivor, merged=merged, actor=ACTOR, reason="Same person")
    published = OutboxEvent.objects.get(event_type=DomainEventType.CUSTOMER_MERGED)
    expected = {
        "survivor": survivor.customer_number,
        "merged": merged.customer_number,
        "merge_event": str(event.reference),
    }
    assert published.payload == expected
    assert published.customer_number == survivor.customer_number
    customer_unmerge(merge_event=event, actor=ACTOR, reason="Not the same person")
    undone = OutboxEvent.objects.get(event_type=DomainEventType.CUSTOMER_UNMERGED)
    assert undone.payload == expected

    # A merge that rolls back publishes nothing.
    third, fourth = CustomerFactory(), CustomerFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        customer_merge(survivor=third, merged=fourth, actor=ACTOR, reason="Rolled back")
        raise RuntimeError("the surrounding write failed")
    assert OutboxEvent.objects.filter(event_type=DomainEventType.CUSTOMER_MERGED).count() == 1
