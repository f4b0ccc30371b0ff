"""Fulfilment of data-subject requests: claim, progress per step, transient retries,
the dsr.completed domain event, and erasure of household labels that name the person."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from django.db import OperationalError
from django.utils import timezone

from consent import services, tasks
from consent.choices import RequestKind, RequestStatus
from consent.models import DataSubjectRequest
from consent.services import (
    DSR_CLAIM_LEASE,
    TransientDatabaseError,
    database_error_is_transient,
    dsr_fulfil,
    dsr_fulfilment_run,
    dsr_receive,
    dsr_verify_identity,
)
from customer360.choices import DomainEventType
from customer360.models import OutboxEvent
from customer360.services import Actor
from profiles.choices import HouseholdRole, LifecycleStatus
from profiles.models import Customer, Household
from tests.factories import (
    CustomerFactory,
    HouseholdFactory,
    HouseholdMembershipFactory,
    InteractionFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def started(
    officer_actor: Actor, django_capture_on_commit_callbacks: Any
) -> Callable[[str, Customer], DataSubjectRequest]:
    """A verified request moved to "in progress"; its task enqueued, not run."""

    def start(kind: str, customer: Customer) -> DataSubjectRequest:
        request = dsr_receive(
            kind=kind, customer=customer, received_via="email", actor=officer_actor, reason="Letter"
        )
        dsr_verify_identity(request=request, actor=officer_actor, reason="Passport checked")
        with (
            mock.patch("consent.tasks.dsr_fulfil_task.delay") as delay,
            django_capture_on_commit_callbacks(execute=True),
        ):
            dsr_fulfil(request=request, actor=officer_actor, reason="Go ahead")
        delay.assert_called_once_with(request.pk)
        request.refresh_from_db()
        return request

    return start


Start = Callable[[str, Customer], DataSubjectRequest]


@pytest.fixture
def merged_person(db: None) -> tuple[Customer, Customer]:
    survivor = CustomerFactory(given_name="Grace", family_name="Hopper")
    duplicate = CustomerFactory(
        given_name="Grace",
        family_name="Hopper",
        merged_into=survivor,
        merged_at=timezone.now(),
        lifecycle_status=LifecycleStatus.MERGED,
    )
    for customer in (survivor, duplicate):
        InteractionFactory(customer=customer, summary="Asked about COBOL")
    return survivor, duplicate


def test_export_reports_identities_and_every_table(
    merged_person: tuple[Customer, Customer], started: Start
) -> None:
    survivor, _ = merged_person
    request = started(RequestKind.ACCESS, survivor)
    assert (request.progress, request.progress_steps) == (0, [])

    assert dsr_fulfilment_run(request_id=request.pk, worker="task-1") is True

    request.refresh_from_db()
    assert (request.status, request.progress) == (RequestStatus.COMPLETED, 100)
    steps = request.progress_steps
    assert [s["step"] for s in steps[:2]] == ["started", "identities"]
    assert steps[0]["attempt"] == 1
    assert steps[1]["count"] == 2
    exported = {s["table"]: s["rows"] for s in steps if s["step"] == "exported"}
    assert exported["customers"] == 2
    assert exported["interactions"] == 2
    assert len(exported) == 13
    assert steps[-1]["step"] == "completed"
    assert (request.claimed_by, request.claimed_at) == ("", None)
    assert "Grace" not in str(steps)  # counts and table names only


def test_progress_is_visible_while_the_task_runs(
    merged_person: tuple[Customer, Customer], started: Start
) -> None:
    """Each step is written at once: a reader sees it before the task finishes."""
    survivor, _ = merged_person
    request = started(RequestKind.ACCESS, survivor)
    seen: list[tuple[int, int]] = []
    real = services._export_everything

    def spying(identities: list[Customer]) -> list[Any]:
        sections = real(identities)

        def watch(read: Any) -> Any:
            def wrapped() -> Any:
                row = DataSubjectRequest.objects.values("progress", "progress_steps").get(
                    pk=request.pk
                )
                seen.append((row["progress"], len(row["progress_steps"])))
                return read()

            return wrapped

        return [(name, watch(read)) for name, read in sections]

    with mock.patch.object(services, "_export_everything", side_effect=spying):
        dsr_fulfilment_run(request_id=request.pk, worker="task-1")
    assert seen[0] == (10, 2)  # started, identities
    percents = [p for p, _ in seen]
    assert percents == sorted(percents) and percents[-1] < 90
    assert [n for _, n in seen] == list(range(2, 2 + len(seen)))


def test_a_live_claim_of_another_delivery_is_left_alone(
    merged_person: tuple[Customer, Customer], started: Start
) -> None:
    survivor, _ = merged_person
    request = started(RequestKind.ERASURE, survivor)
    claimed_at = timezone.now()
    DataSubjectRequest.objects.filter(pk=request.pk).update(
        claimed_by="task-A", claimed_at=claimed_at
    )

    assert dsr_fulfilment_run(request_id=request.pk, worker="task-B") is False

    request.refresh_from_db()
    assert (request.status, request.claimed_by, request.attempts) == (
        RequestStatus.IN_PROGRESS,
        "task-A",
        0,
    )
    assert Customer.objects.get(pk=survivor.pk).given_name == "Grace"


def test_a_claim_past_its_lease_is_taken_over(
    merged_person: tuple[Customer, Customer], started: Start
) -> None:
    survivor, _ = merged_person
    request = started(RequestKind.ERASURE, survivor)
    stale = timezone.now() - DSR_CLAIM_LEASE - datetime.timedelta(seconds=1)
    DataSubjectRequest.objects.filter(pk=request.pk).update(claimed_by="dead", claimed_at=stale)

    assert dsr_fulfilment_run(request_id=request.pk, worker="task-B") is True

    request.refresh_from_db()
    assert request.status == RequestStatus.COMPLETED
    assert Customer.objects.get(pk=survivor.pk).given_name == ""


def test_a_completed_request_is_not_claimed_again(
    merged_person: tuple[Customer, Customer], started: Start
) -> None:
    request = started(RequestKind.ACCESS, merged_person[0])
    assert dsr_fulfilment_run(request_id=request.pk, worker="task-1") is True
    assert dsr_fulfilment_run(request_id=request.pk, worker="task-1") is False
    assert dsr_fulfilment_run(request_id=request.pk + 999, worker="task-1") is False
    request.refresh_from_db()
    assert request.attempts == 1


@pytest.mark.parametrize(
    ("message", "transient"),
    [
        ("database is locked", True),
        ("deadlock detected", True),
        ("no such table: profiles_customer", False),
        ("server closed the connection unexpectedly", False),
    ],
)
def test_only_lock_errors_are_transient(message: str, transient: bool) -> None:
    assert database_error_is_transient(OperationalError(message)) is transient


@pytest.mark.parametrize("sqlstate", ["40001", "40P01", "55P03"])
def test_postgres_lock_sqlstates_are_transient(sqlstate: str) -> None:
    error = OperationalError("could not serialize access")
    error.__cause__ = type("PgError", (Exception,), {"sqlstate": sqlstate})()
    assert database_error_is_transient(error) is True


def test_a_transient_error_releases_the_claim_and_a_retry_finishes(
    merged_person: tuple[Customer, Customer], started: Start
) -> None:
    survivor, _ = merged_person
    request = started(RequestKind.ERASURE, survivor)
    real = services.model_bulk_update

    def locked(rows: Any, **kwargs: Any) -> Any:
        raise OperationalError("database is locked")

    with (
        mock.patch.object(services, "model_bulk_update", side_effect=locked),
        pytest.raises(TransientDatabaseError),
    ):
        dsr_fulfilment_run(request_id=request.pk, worker="task-1")

    request.refresh_from_db()
    assert request.status == RequestStatus.IN_PROGRESS
    assert request.progress_steps[-1] == {
        **request.progress_steps[-1],
        "step": "failed",
        "error": "OperationalError",
        "transient": True,
    }
    assert request.claimed_by == ""
    assert Customer.objects.get(pk=survivor.pk).given_name == "Grace"  # rolled back whole

    assert services.model_bulk_update is real
    assert dsr_fulfilment_run(request_id=request.pk, worker="task-1") is True
    request.refresh_from_db()
    assert (request.status, request.attempts) == (RequestStatus.COMPLETED, 2)
    assert [s["attempt"] for s in request.progress_steps if s["step"] == "started"] == [1, 2]


def test_a_permanent_database_error_is_not_turned_into_a_retry(
    merged_person: tuple[Customer, Customer], started: Start
) -> None:
    request = started(RequestKind.ERASURE, merged_person[0])
    with (
        mock.patch.object(
            services, "model_bulk_update", side_effect=OperationalError("no such column: x")
        ),
        pytest.raises(OperationalError),
    ):
        dsr_fulfilment_run(request_id=request.pk, worker="task-1")
    request.refresh_from_db()
    assert request.progress_steps[-1]["transient"] is False


def test_the_task_retries_transient_errors_with_exponential_backoff() -> None:
    task = tasks.dsr_fulfil_task
    assert task.autoretry_for == (TransientDatabaseError,)
    assert task.retry_backoff == tasks.DSR_RETRY_BACKOFF_SECONDS
    assert task.retry_backoff_max == tasks.DSR_RETRY_BACKOFF_MAX_SECONDS
    assert task.retry_jitter is True
    assert task.max_retries == tasks.DSR_MAX_RETRIES
    assert task.acks_late is True


def test_the_task_retries_a_transient_error_and_not_a_bug() -> None:
    outcomes: list[Any] = [TransientDatabaseError("database is locked"), True]

    def run(**kwargs: Any) -> Any:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    with mock.patch.object(services, "dsr_fulfilment_run", side_effect=run) as fulfil:
        result = tasks.dsr_fulfil_task.apply(args=(7,), task_id="t-1", throw=False)
    assert result.successful()
    assert fulfil.call_count == 2
    assert {call.kwargs["worker"] for call in fulfil.call_args_list} == {"t-1"}

    with mock.patch.object(
        services, "dsr_fulfilment_run", side_effect=ValueError("a bug")
    ) as fulfil:
        result = tasks.dsr_fulfil_task.apply(args=(7,), task_id="t-2", throw=False)
    assert result.failed()
    assert fulfil.call_count == 1


def test_completion_publishes_dsr_completed(
    merged_person: tuple[Customer, Customer], started: Start
) -> None:
    survivor, duplicate = merged_person
    request = started(RequestKind.ERASURE, duplicate)
    assert not OutboxEvent.objects.filter(event_type=DomainEventType.DSR_COMPLETED).exists()

    dsr_fulfilment_run(request_id=request.pk, worker="task-1")

    event = OutboxEvent.objects.get(event_type=DomainEventType.DSR_COMPLETED)
    request.refresh_from_db()
    assert event.customer_number == survivor.customer_number
    assert event.payload == {
        "reference": request.reference,
        "kind": RequestKind.ERASURE,
        "customer_number": survivor.customer_number,
        "customer_numbers": [survivor.customer_number, duplicate.customer_number],
        "completed_at": request.completed_at.isoformat(),  # type: ignore[union-attr]
    }


def test_a_failed_fulfilment_publishes_nothing(
    merged_person: tuple[Customer, Customer], started: Start
) -> None:
    request = started(RequestKind.ERASURE, merged_person[0])
    with (
        mock.patch.object(services, "model_bulk_update", side_effect=RuntimeError("lost")),
        pytest.raises(RuntimeError),
    ):
        dsr_fulfilment_run(request_id=request.pk, worker="task-1")
    assert not OutboxEvent.objects.filter(event_type=DomainEventType.DSR_COMPLETED).exists()


def test_erasure_relabels_households_that_name_the_person(
    merged_person: tuple[Customer, Customer], started: Start
) -> None:
    survivor, duplicate = merged_person
    named = HouseholdFactory(label="Hopper family, Arlington")
    other_members = HouseholdFactory(label="Hopperton Lane")  # a word containing the name
    unrelated = HouseholdFactory(label="Hopper family, Boston")  # not hers
    HouseholdMembershipFactory(household=named, customer=duplicate, role=HouseholdRole.HEAD)
    HouseholdMembershipFactory(household=other_members, customer=survivor)
    request = started(RequestKind.ERASURE, survivor)

    dsr_fulfilment_run(request_id=request.pk, worker="task-1")

    assert Household.objects.get(pk=named.pk).label == f"Household {named.pk}"
    assert not Household.history.filter(id=named.pk, label__icontains="hopper").exists()
    assert Household.objects.get(pk=other_members.pk).label == "Hopperton Lane"
    assert Household.objects.get(pk=unrelated.pk).label == "Hopper family, Boston"
    request.refresh_from_db()
    erased = {s["table"]: s["rows"] for s in request.progress_steps if s["step"] == "erased"}
    assert erased["profiles.Household"] == 1
    assert erased["profiles.Customer"] == 2
    assert "1 household labels" in request.outcome
