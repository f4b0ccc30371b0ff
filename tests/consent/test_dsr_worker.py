"""Data-subject requests fulfilled by a real Celery worker process.

The request is received, verified and started in this process; the commit
publishes the task; a separate worker process consumes it, claims the
request, reports its progress and completes it in the shared test database.
"""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from consent.choices import ExportKind, RequestKind, RequestStatus
from consent.models import Channel, DataSubjectExport, DataSubjectRequest
from consent.services import dsr_fulfil, dsr_receive, dsr_verify_identity
from customer360.choices import ActorChannel, DomainEventType
from customer360.models import OutboxEvent
from customer360.services import Actor
from profiles.choices import LifecycleStatus
from profiles.models import Customer, Interaction
from tests.customer360.conftest import WorkerProcess, log_tail
from tests.factories import CustomerFactory, InteractionFactory, UserFactory

pytestmark = [
    pytest.mark.worker,
    # The worker sees committed rows only; the baseline vocabulary is restored
    # for each test because a transactional test empties the tables after it.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

TASK_TIMEOUT = 60.0


def _officer() -> Actor:
    user: User = UserFactory(username=f"officer-{time.monotonic_ns()}")
    return Actor(user=user, channel=ActorChannel.ADMIN)


def _person() -> tuple[Customer, Customer]:
    survivor = CustomerFactory(given_name="Katherine", family_name="Johnson")
    duplicate = CustomerFactory(
        given_name="Katherine",
        family_name="Johnson",
        merged_into=survivor,
        merged_at=timezone.now(),
        lifecycle_status=LifecycleStatus.MERGED,
    )
    for customer in (survivor, duplicate):
        InteractionFactory(customer=customer, summary="Orbit calculations")
    return survivor, duplicate


def _start(kind: str, customer: Customer, actor: Actor) -> DataSubjectRequest:
    Channel.objects.get_or_create(code="email", defaults={"name": "E-mail"})
    request = dsr_receive(
        kind=kind, customer=customer, received_via="email", actor=actor, reason="Letter"
    )
    dsr_verify_identity(request=request, actor=actor, reason="Passport checked at the desk")
    # Commits; the commit publishes the task to the worker's broker.
    return dsr_fulfil(request=request, actor=actor, reason="Go ahead")


def _wait_until_done(request: DataSubjectRequest, worker: WorkerProcess) -> DataSubjectRequest:
    deadline = time.monotonic() + TASK_TIMEOUT
    while time.monotonic() < deadline:
        request.refresh_from_db()
        if request.status == RequestStatus.COMPLETED:
            return request
        assert worker.proc.poll() is None, log_tail(worker.log_path)
        time.sleep(0.2)
    pytest.fail(
        f"{request.reference} not fulfilled within {TASK_TIMEOUT:g}s "
        f"(progress {request.progress}, steps {request.progress_steps}).\n"
        f"Worker log:\n{log_tail(worker.log_path)}",
        pytrace=False,
    )


def test_the_worker_fulfils_an_export(celery_worker_process: WorkerProcess) -> None:
    survivor, duplicate = _person()
    request = _start(RequestKind.ACCESS, duplicate, _officer())
    assert request.status == RequestStatus.IN_PROGRESS

    request = _wait_until_done(request, celery_worker_process)

    assert request.progress == 100
    assert request.attempts == 1
    assert request.claimed_by == ""
    steps = [s["step"] for s in request.progress_steps]
    assert steps[:2] == ["started", "identities"]
    assert steps[-1] == "completed"
    assert request.progress_steps[1]["count"] == 2
    export = DataSubjectExport.objects.get(request=request)
    assert export.kind == ExportKind.ACCESS
    assert {row["pk"] for row in export.data["customers"]} == {survivor.pk, duplicate.pk}
    assert len(export.data["interactions"]) == 2
    assert OutboxEvent.objects.filter(
        event_type=DomainEventType.DSR_COMPLETED, payload__reference=request.reference
    ).exists()


def test_the_worker_fulfils_an_erasure(celery_worker_process: WorkerProcess) -> None:
    survivor, duplicate = _person()
    bystander = CustomerFactory(given_name="Dorothy")
    request = _start(RequestKind.ERASURE, survivor, _officer())

    request = _wait_until_done(request, celery_worker_process)

    for customer in Customer.objects.filter(pk__in=[survivor.pk, duplicate.pk]):
        assert (customer.given_name, customer.family_name) == ("", "")
    assert set(
        Interaction.objects.filter(customer__in=[survivor, duplicate]).values_list(
            "summary", flat=True
        )
    ) == {""}
    assert Interaction.objects.filter(customer__in=[survivor, duplicate]).count() == 2
    assert Customer.objects.get(pk=bystander.pk).given_name == "Dorothy"
    planned = {s["table"]: s["rows"] for s in request.progress_steps if s["step"] == "planned"}
    erased = {s["table"]: s["rows"] for s in request.progress_steps if s["step"] == "erased"}
    assert planned == erased
    assert erased["profiles.Customer"] == 2
    assert erased["profiles.Interaction"] == 2
    assert request.outcome.startswith("Erased 2 identities")
