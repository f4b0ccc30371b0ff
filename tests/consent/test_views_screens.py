"""Consent capture on the card (confirm what changes) and the privacy officer's requests."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone

from consent.choices import CaptureMethod, ConsentStatus, RequestStatus
from consent.models import ConsentRecord, DataSubjectRequest
from consent.selectors import consent_allows
from consent.services import consent_record
from customer360.services import Actor
from profiles.models import Customer
from tests.factories import CustomerFactory, DataSubjectRequestFactory
from tests.profiles.test_views_card import baseline, make_lens  # noqa: F401 (fixture)


@pytest.fixture
def lens(role_groups: dict[str, Group], baseline: None) -> Any:  # noqa: F811
    return make_lens([role_groups["agent"], role_groups["data_steward"]])


@pytest.fixture
def grace(actor: Actor) -> Customer:
    customer = CustomerFactory(given_name="Grace", family_name="Hopper")
    consent_record(
        customer=customer,
        purpose="marketing",
        channel="email",
        status=ConsentStatus.GRANTED,
        capture_method=CaptureMethod.WEB_FORM,
        captured_via="web",
        actor=actor,
        reason="Signed up",
    )
    return customer


def url(customer: Customer) -> str:
    return f"/privacy/customers/{customer.customer_number}/consent/"


WITHDRAW = {
    "purpose": "marketing",
    "channel": "email",
    "status": "withdrawn",
    "capture_method": "call",
    "evidence_reference": "REC-2026-0042",
}


@pytest.mark.django_db
def test_withdrawal_is_confirmed_with_exactly_what_changes_then_recorded(
    client: Client, agent: User, lens: Any, grace: Customer
) -> None:
    client.force_login(agent)
    count = ConsentRecord.objects.count()

    review = client.post(url(grace), WITHDRAW, headers={"HX-Request": "true"})

    html = review.content.decode()
    assert review.status_code == 200
    assert "Marketing by E-mail from <strong>Granted</strong> to <strong>Withdrawn</strong>" in html
    assert "REC-2026-0042" in html
    assert ConsentRecord.objects.count() == count  # nothing recorded before confirming

    done = client.post(url(grace), {**WITHDRAW, "confirm": "on"}, headers={"HX-Request": "true"})

    assert done.status_code == 200
    assert ConsentRecord.objects.count() == count + 1
    record = ConsentRecord.objects.latest("id")
    assert (record.status, record.evidence_reference, record.captured_by) == (
        "withdrawn",
        "REC-2026-0042",
        agent,
    )
    assert not consent_allows(customer=grace, purpose=record.purpose, channel=record.channel)
    assert "Granted → Withdrawn" in done.content.decode()


@pytest.mark.django_db
def test_missing_evidence_is_400_and_records_nothing(
    client: Client, agent: User, lens: Any, grace: Customer
) -> None:
    client.force_login(agent)
    count = ConsentRecord.objects.count()

    response = client.post(url(grace), {**WITHDRAW, "evidence_reference": "", "confirm": "on"})

    assert response.status_code == 400
    assert "evidence_reference" in response.context["form"].errors
    assert ConsentRecord.objects.count() == count


@pytest.mark.django_db
def test_a_steward_sees_consent_but_cannot_change_it(
    client: Client, steward: User, lens: Any, grace: Customer
) -> None:
    client.force_login(steward)
    count = ConsentRecord.objects.count()

    assert "Record a consent change" not in client.get(url(grace)).content.decode()
    assert client.post(url(grace), {**WITHDRAW, "confirm": "on"}).status_code == 404
    assert ConsentRecord.objects.count() == count


@pytest.mark.django_db
def test_restricted_customer_consent_is_404(client: Client, agent: User, lens: Any) -> None:
    hidden = CustomerFactory(is_restricted=True)
    client.force_login(agent)

    assert client.get(url(hidden)).status_code == 404
    assert client.post(url(hidden), {**WITHDRAW, "confirm": "on"}).status_code == 404
    assert not ConsentRecord.objects.filter(customer=hidden).exists()


# --- data-subject requests ------------------------------------------------------------


@pytest.mark.django_db
def test_privacy_officer_lists_and_opens_a_request_and_assigns_it(
    client: Client, privacy_officer: User
) -> None:
    dsr = DataSubjectRequestFactory(details="Wants a copy of everything")
    DataSubjectRequestFactory(
        status=RequestStatus.COMPLETED,
        completed_at=timezone.now(),
        identity_verified_at=timezone.now(),
    )
    client.force_login(privacy_officer)

    listing = client.get("/privacy/requests/")
    assert listing.status_code == 200
    assert [r.reference for r in listing.context["requests"]] == [dsr.reference]

    detail = client.get(f"/privacy/requests/{dsr.reference}/")
    assert "Wants a copy of everything" in detail.content.decode()

    response = client.post(
        f"/privacy/requests/{dsr.reference}/", {"action": "assign_me", "reason": "Mine"}
    )
    assert response.status_code == 302
    dsr.refresh_from_db()
    assert dsr.assigned_to == privacy_officer
    assert dsr.status == RequestStatus.VERIFYING


@pytest.mark.django_db
def test_a_step_without_reason_is_400_and_changes_nothing(
    client: Client, privacy_officer: User
) -> None:
    dsr = DataSubjectRequestFactory()
    client.force_login(privacy_officer)

    response = client.post(f"/privacy/requests/{dsr.reference}/", {"action": "reject"})

    assert response.status_code == 400
    dsr.refresh_from_db()
    assert dsr.status == RequestStatus.RECEIVED


@pytest.mark.django_db
def test_agents_cannot_reach_requests_and_change_nothing(client: Client, agent: User) -> None:
    dsr = DataSubjectRequestFactory()
    client.force_login(agent)

    assert client.get("/privacy/requests/").status_code == 403
    assert client.get(f"/privacy/requests/{dsr.reference}/").status_code == 403
    response = client.post(
        f"/privacy/requests/{dsr.reference}/", {"action": "reject", "reason": "No"}
    )

    assert response.status_code == 403
    assert DataSubjectRequest.objects.get(pk=dsr.pk).status == RequestStatus.RECEIVED
