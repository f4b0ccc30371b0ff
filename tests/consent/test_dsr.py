"""Data-subject requests: workflow, bad input, and every kind end to end."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from consent.choices import ConsentStatus, ExportKind, RequestKind, RequestStatus
from consent.models import (
    Channel,
    ConsentRecord,
    DataSubjectExport,
    DataSubjectRequest,
    ProcessingRestriction,
    Purpose,
)
from consent.selectors import consent_allows
from consent.services import (
    dsr_assign,
    dsr_extend,
    dsr_fulfil,
    dsr_fulfilment_run,
    dsr_receive,
    dsr_reject,
    dsr_verify_identity,
)
from customer360.choices import AuditEventType
from customer360.models import AuditEvent
from customer360.services import Actor
from profiles.choices import LifecycleStatus
from profiles.models import Case, Customer, Interaction, SourceRecord
from tests.factories import (
    AuditEventFactory,
    CaseFactory,
    ConsentRecordFactory,
    CustomerFactory,
    HoldingFactory,
    InteractionFactory,
    SourceRecordFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
DAY = datetime.timedelta(days=1)


@pytest.fixture
def person(db: None) -> dict[str, Any]:
    """A surviving customer with a duplicate merged into it, data in every silo."""
    survivor = CustomerFactory(given_name="Ada", family_name="Lovelace", phone="+441234567")
    duplicate = CustomerFactory(
        given_name="Ada",
        family_name="Lovelace",
        merged_into=survivor,
        merged_at=timezone.now(),
        lifecycle_status=LifecycleStatus.MERGED,
    )
    rows: dict[str, Any] = {"survivor": survivor, "duplicate": duplicate}
    for customer in (survivor, duplicate):
        SourceRecordFactory(
            customer=customer, raw={"NAME": "Ada L"}, normalized={"given_name": "Ada"}
        )
        InteractionFactory(
            customer=customer,
            summary="Asked about her ISA",
            amount=Decimal("12.50"),
            currency="EUR",
        )
        HoldingFactory(customer=customer)
        CaseFactory(customer=customer, subject="Ada's complaint", description="Rude agent")
        ConsentRecordFactory(customer=customer, ip_address="192.0.2.7", user_agent="Firefox")
        AuditEventFactory(subject=customer)
    rows["stranger"] = CustomerFactory(given_name="Bob")
    InteractionFactory(customer=rows["stranger"], summary="Bob's call")
    return rows


def _request(
    kind: str, customer: Customer | None, actor: Actor, **values: Any
) -> DataSubjectRequest:
    return dsr_receive(
        kind=kind,
        customer=customer,
        received_via="email",
        actor=actor,
        reason="Letter received",
        contact_email="ada@example.org",
        **values,
    )


def _verified(kind: str, customer: Customer, actor: Actor, **values: Any) -> DataSubjectRequest:
    request = _request(kind, None, actor, **values)
    return dsr_verify_identity(
        request=request, customer=customer, actor=actor, reason="Passport checked at the desk"
    )


def _fulfil(request: DataSubjectRequest, actor: Actor, capture: Any) -> DataSubjectRequest:
    with capture(execute=True):
        dsr_fulfil(request=request, actor=actor, reason="Go ahead")
    request.refresh_from_db()
    return request


# --- workflow -------------------------------------------------------------------------


def test_receive_starts_the_one_month_deadline(officer_actor: Actor) -> None:
    received = datetime.datetime(2026, 1, 31, 9, tzinfo=datetime.UTC)
    request = _request(RequestKind.ACCESS, CustomerFactory(), officer_actor, received_at=received)
    assert request.reference.startswith("DSR-")
    assert request.status == RequestStatus.RECEIVED
    assert request.due_at == datetime.datetime(2026, 2, 28, 9, tzinfo=datetime.UTC)
    event = AuditEvent.objects.get(event_type=AuditEventType.DSR_RECEIVED)
    assert event.new["reference"] == request.reference


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"kind": "forget-me"}, "kind"),
        ({"kind": RequestKind.RECTIFICATION}, "changes"),
        ({"kind": RequestKind.RECTIFICATION, "changes": {"lifecycle_status": "new"}}, "changes"),
        ({"kind": RequestKind.ACCESS, "received_via": "pigeon"}, "received_via"),
    ],
    ids=["unknown-kind", "rectification-without-changes", "not-identity-field", "channel"],
)
def test_bad_requests_are_refused(officer_actor: Actor, values: dict[str, Any], field: str) -> None:
    values.setdefault("received_via", "email")
    with pytest.raises(ValidationError) as caught:
        dsr_receive(actor=officer_actor, reason="Letter", **values)
    assert field in caught.value.message_dict
    assert not DataSubjectRequest.objects.exists()
    assert not AuditEvent.objects.exists()


def test_unverified_identity_is_never_fulfilled(
    officer_actor: Actor, run_tasks: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    request = _request(RequestKind.ERASURE, CustomerFactory(given_name="Ada"), officer_actor)
    refused = pytest.raises(ValidationError, match="verify")
    with django_capture_on_commit_callbacks(execute=True), refused:
        dsr_fulfil(request=request, actor=officer_actor, reason="Go")
    request.refresh_from_db()
    assert request.status == RequestStatus.RECEIVED
    assert run_tasks == []
    assert Customer.objects.get(pk=request.customer_id).given_name == "Ada"


def test_identity_is_verified_by_a_person(officer_actor: Actor) -> None:
    request = _request(RequestKind.ACCESS, CustomerFactory(), officer_actor)
    with pytest.raises(ValidationError):
        dsr_verify_identity(request=request, actor=Actor.system("bot"), reason="Looked fine")
    verified = dsr_verify_identity(request=request, actor=officer_actor, reason="Passport")
    assert verified.identity_verified_by == officer_actor.user
    assert verified.status == RequestStatus.VERIFYING


def test_assignment_moves_the_object_permission(
    officer_actor: Actor, privacy_officer: User, make_role_user: Any, agent: User
) -> None:
    request = _request(RequestKind.ACCESS, CustomerFactory(), officer_actor)
    with pytest.raises(ValidationError):
        dsr_assign(request=request, assignee=agent, actor=officer_actor, reason="Cover")
    assert DataSubjectRequest.objects.get().assigned_to is None
    dsr_assign(request=request, assignee=privacy_officer, actor=officer_actor, reason="Mine")
    colleague = UserFactory(username="second-officer")
    colleague.groups.add(*privacy_officer.groups.all())
    request.refresh_from_db()
    assert request.status == RequestStatus.VERIFYING
    perm = "consent.change_datasubjectrequest"
    assert privacy_officer.has_perm(perm, request)
    dsr_assign(request=request, assignee=colleague, actor=officer_actor, reason="Holiday")
    # Fresh objects: Django caches permissions on the user.
    assert not User.objects.get(pk=privacy_officer.pk).has_perm(perm, request)
    assert User.objects.get(pk=colleague.pk).has_perm(perm, request)
    assert not User.objects.get(pk=colleague.pk).has_perm(
        perm, _request(RequestKind.ACCESS, CustomerFactory(), officer_actor)
    )
    assert AuditEvent.objects.filter(event_type=AuditEventType.DSR_ASSIGNED).count() == 2


def test_extension_tells_the_person(
    officer_actor: Actor, run_tasks: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    request = _request(RequestKind.ACCESS, CustomerFactory(), officer_actor)
    too_late = request.received_at + 3 * 31 * DAY
    for bad in (
        {"extended_due_at": request.due_at + DAY, "reason": " "},
        {"extended_due_at": too_late, "reason": "Twelve silos"},
        {"extended_due_at": request.due_at, "reason": "Twelve silos"},
    ):
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
            dsr_extend(request=request, actor=officer_actor, **bad)
    assert mail.outbox == []
    new_due = request.received_at + 60 * DAY
    with django_capture_on_commit_callbacks(execute=True):
        dsr_extend(
            request=request, extended_due_at=new_due, actor=officer_actor, reason="Twelve silos"
        )
    request.refresh_from_db()
    assert (request.extended_due_at, request.extension_reason) == (new_due, "Twelve silos")
    (message,) = mail.outbox
    assert message.to == ["ada@example.org"]
    assert request.reference in message.subject
    assert "Twelve silos" in message.body
    assert AuditEvent.objects.filter(event_type=AuditEventType.DSR_EXTENDED).count() == 1


def test_extension_needs_a_contact_address(officer_actor: Actor) -> None:
    request = _request(
        RequestKind.ACCESS,
        CustomerFactory(),
        officer_actor,
    )
    DataSubjectRequest.objects.filter(pk=request.pk).update(contact_email="")
    with pytest.raises(ValidationError) as caught:
        dsr_extend(
            request=request,
            extended_due_at=request.due_at + DAY,
            actor=officer_actor,
            reason="Busy",
        )
    assert "contact_email" in caught.value.message_dict


def test_reject(officer_actor: Actor) -> None:
    request = _request(RequestKind.ERASURE, CustomerFactory(), officer_actor)
    rejected = dsr_reject(request=request, actor=officer_actor, reason="Identity not proven")
    assert rejected.status == RequestStatus.REJECTED
    assert rejected.outcome == "Identity not proven"
    with pytest.raises(ValidationError):
        dsr_reject(request=request, actor=officer_actor, reason="Again")


# --- fulfilment, every kind ---------------------------------------------------------------


def test_access_exports_everything_across_merged_identities(
    person: dict[str, Any],
    officer_actor: Actor,
    run_tasks: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    # The request names the old (merged-away) number: it still covers everyone.
    request = _verified(RequestKind.ACCESS, person["duplicate"], officer_actor)
    request = _fulfil(request, officer_actor, django_capture_on_commit_callbacks)
    assert run_tasks == [("consent.dsr_fulfil", (request.pk,))]
    assert (request.status, request.progress) == (RequestStatus.COMPLETED, 100)
    export = DataSubjectExport.objects.get(request=request)
    assert export.kind == ExportKind.ACCESS
    data = export.data
    ids = {person["survivor"].pk, person["duplicate"].pk}
    assert {row["pk"] for row in data["customers"]} == ids
    for section in ("source_records", "interactions", "holdings", "cases", "consents"):
        assert {row["fields"]["customer"] for row in data[section]} == ids, section
    numbers = {row["fields"]["customer_number"] for row in data["audit_events"]}
    assert {c.customer_number for c in (person["survivor"], person["duplicate"])} <= numbers
    assert "Bob" not in str(data)
    assert person["survivor"].customer_number in export.summary
    assert "interactions: 2" in export.summary
    # Idempotent: a redelivered task finds the request done.
    assert dsr_fulfilment_run(request_id=request.pk) is False
    assert AuditEvent.objects.filter(event_type=AuditEventType.DSR_COMPLETED).count() == 1


def test_portability_exports_what_the_person_provided(
    person: dict[str, Any],
    officer_actor: Actor,
    run_tasks: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    request = _verified(RequestKind.PORTABILITY, person["survivor"], officer_actor)
    _fulfil(request, officer_actor, django_capture_on_commit_callbacks)
    export = DataSubjectExport.objects.get(request=request)
    assert export.kind == ExportKind.PORTABILITY
    assert set(export.data) == {"customers", "source_records", "consents"}
    assert [row["raw"] for row in export.data["source_records"]] == [{"NAME": "Ada L"}] * 2
    assert {row["phone"] for row in export.data["customers"]} == {"+441234567", ""}


def test_erasure_anonymizes_every_identity_and_keeps_aggregates(
    person: dict[str, Any],
    officer_actor: Actor,
    run_tasks: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    survivor, duplicate = person["survivor"], person["duplicate"]
    earlier = _verified(RequestKind.ACCESS, survivor, officer_actor)
    _fulfil(earlier, officer_actor, django_capture_on_commit_callbacks)
    request = _verified(RequestKind.ERASURE, survivor, officer_actor)
    request = _fulfil(request, officer_actor, django_capture_on_commit_callbacks)
    assert request.status == RequestStatus.COMPLETED
    ids = [survivor.pk, duplicate.pk]
    for customer in Customer.objects.filter(pk__in=ids):
        assert (customer.given_name, customer.family_name, customer.phone) == ("", "", "")
        assert customer.date_of_birth is None
        assert customer.country == "GB"  # kept for aggregates
    assert not SourceRecord.objects.filter(customer_id__in=ids).exclude(raw={}).exists()
    interactions = Interaction.objects.filter(customer_id__in=ids)
    assert interactions.count() == 2
    assert set(interactions.values_list("summary", "amount")) == {("", Decimal("12.50"))}
    assert set(Case.objects.filter(customer_id__in=ids).values_list("subject", flat=True)) == {
        "[erased]"
    }
    consents = ConsentRecord.objects.filter(customer_id__in=ids)
    assert set(consents.values_list("status", "ip_address", "user_agent")) == {
        (ConsentStatus.GRANTED, None, "")
    }
    # Row history holds no trace of the old values either.
    assert not Customer.history.filter(id__in=ids, given_name="Ada").exists()
    assert not Interaction.history.filter(customer_id__in=ids).exclude(summary="").exists()
    assert not Case.history.filter(customer_id__in=ids, description="Rude agent").exists()
    assert not ConsentRecord.history.filter(customer_id__in=ids, user_agent="Firefox").exists()
    assert DataSubjectExport.objects.get(request=earlier).data == {}
    # Others are untouched.
    assert Customer.objects.get(pk=person["stranger"].pk).given_name == "Bob"
    assert Interaction.objects.get(customer=person["stranger"]).summary == "Bob's call"
    erased = AuditEvent.objects.filter(event_type=AuditEventType.CUSTOMER_ERASED)
    assert set(erased.values_list("subject_id", flat=True)) == {str(pk) for pk in ids}


def test_erasure_is_all_or_nothing(
    person: dict[str, Any],
    officer_actor: Actor,
    django_capture_on_commit_callbacks: Any,
) -> None:
    request = _verified(RequestKind.ERASURE, person["survivor"], officer_actor)
    from consent import services

    real = services.model_bulk_update
    calls = {"n": 0}

    def failing(rows: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if rows and type(rows[0]) is Case:
            raise RuntimeError("worker lost")
        return real(rows, **kwargs)

    with (
        mock.patch.object(services, "model_bulk_update", side_effect=failing),
        mock.patch("consent.tasks.dsr_fulfil_task.delay"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        dsr_fulfil(request=request, actor=officer_actor, reason="Go")
    with (
        mock.patch.object(services, "model_bulk_update", side_effect=failing),
        pytest.raises(RuntimeError),
    ):
        dsr_fulfilment_run(request_id=request.pk)
    assert calls["n"] >= 2  # it got halfway: customers, source records, interactions
    request.refresh_from_db()
    # Planned (every table counted: 50%), then the erasure rolled back whole.
    assert (request.status, request.progress) == (RequestStatus.IN_PROGRESS, 50)
    assert request.progress_steps[-1]["step"] == "failed"
    assert request.progress_steps[-1]["error"] == "RuntimeError"
    assert request.progress_steps[-1]["transient"] is False
    assert not [s for s in request.progress_steps if s["step"] == "erased"]
    assert (request.claimed_by, request.claimed_at) == ("", None)  # released for a retry
    assert Customer.objects.get(pk=person["survivor"].pk).given_name == "Ada"
    assert SourceRecord.objects.filter(customer=person["survivor"]).exclude(raw={}).exists()
    assert Interaction.objects.filter(customer=person["survivor"]).exclude(summary="").exists()
    # The retry finishes the job.
    assert dsr_fulfilment_run(request_id=request.pk) is True
    assert Customer.objects.get(pk=person["survivor"].pk).given_name == ""


def test_restriction_stops_processing_without_deleting(
    person: dict[str, Any],
    officer_actor: Actor,
    run_tasks: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    survivor = person["survivor"]
    marketing, email = Purpose.objects.get(code="marketing"), Channel.objects.get(code="email")
    assert consent_allows(customer=survivor, purpose=marketing, channel=email)
    request = _verified(RequestKind.RESTRICTION, survivor, officer_actor)
    _fulfil(request, officer_actor, django_capture_on_commit_callbacks)
    assert not consent_allows(customer=survivor, purpose=marketing, channel=email)
    assert set(
        ProcessingRestriction.objects.filter(request=request).values_list("customer_id", flat=True)
    ) == {survivor.pk, person["duplicate"].pk}
    assert Customer.objects.get(pk=survivor.pk).given_name == "Ada"
    assert ConsentRecord.objects.filter(customer=survivor).count() == 1


def test_rectification_goes_through_customer_update(
    person: dict[str, Any],
    officer_actor: Actor,
    run_tasks: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    request = _verified(
        RequestKind.RECTIFICATION,
        person["duplicate"],
        officer_actor,
        changes={"family_name": "King", "date_of_birth": "1815-12-10"},
    )
    request = _fulfil(request, officer_actor, django_capture_on_commit_callbacks)
    survivor = Customer.objects.get(pk=person["survivor"].pk)
    assert survivor.family_name == "King"
    assert survivor.date_of_birth == datetime.date(1815, 12, 10)
    event = AuditEvent.objects.get(
        event_type=AuditEventType.CUSTOMER_UPDATED, reason__contains=request.reference
    )
    assert event.new["fields"] == ["date_of_birth", "family_name"]
    assert event.customer_number == survivor.customer_number
    assert request.outcome == "Corrected: date_of_birth, family_name."
