"""Consent admin: the ledger is append-only here too."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from consent.choices import CaptureMethod, ConsentStatus, DoubleOptIn
from consent.models import Channel, ConsentRecord, Purpose
from customer360.choices import AuditEventType
from customer360.models import AuditEvent
from tests.factories import ConsentRecordFactory, CustomerFactory, DataSubjectRequestFactory

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:consent_consentrecord_changelist")


@pytest.mark.parametrize("rows", [1, 20])
def test_changelist_query_count_does_not_grow_with_rows(
    rows: int,
    superuser: User,
    admin_client_for: Callable[[User], Client],
    django_assert_num_queries: object,
) -> None:
    ConsentRecordFactory.create_batch(rows, captured_by=superuser)
    client = admin_client_for(superuser)
    # session, user, the purpose and channel filter choices, one count, the
    # page with customer, purpose, channel, captured_via and captured_by
    # joined, then the session save in a savepoint (3).
    with django_assert_num_queries(9):  # type: ignore[operator]
        response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert response.content.count(b"/change/") >= rows


def test_add_goes_through_consent_record(
    agent: User, admin_client_for: Callable[[User], Client]
) -> None:
    customer = CustomerFactory()
    email = Channel.objects.get(code="email")
    response = admin_client_for(agent).post(
        reverse("admin:consent_consentrecord_add"),
        {
            "customer": customer.pk,
            "purpose": Purpose.objects.get(code="marketing").pk,
            "channel": email.pk,
            "status": ConsentStatus.GRANTED,
            "capture_method": CaptureMethod.CALL,
            "captured_via": Channel.objects.get(code="phone").pk,
            "effective_from_0": "2025-01-01",
            "effective_from_1": "10:00:00",
            "double_opt_in": DoubleOptIn.NOT_REQUIRED,
            "evidence_reference": "REC-9",
            "change_reason": "Customer agreed on the phone",
        },
    )
    assert response.status_code == 302
    record = ConsentRecord.objects.get()
    assert record.captured_by == agent
    assert record.reason == "Customer agreed on the phone"
    history = record.history.get()
    assert history.history_user == agent
    assert history.history_change_reason == "Customer agreed on the phone [admin]"
    event = AuditEvent.objects.get(event_type=AuditEventType.CONSENT_RECORDED)
    assert (event.actor, event.channel) == (agent, "admin")


def test_inactive_purpose_is_not_offered(
    agent: User, admin_client_for: Callable[[User], Client]
) -> None:
    Purpose.objects.filter(code="analytics").update(is_active=False)
    form = (
        admin_client_for(agent)
        .get(reverse("admin:consent_consentrecord_add"))
        .context["adminform"]
        .form
    )
    codes = {p.code for p in form.fields["purpose"].queryset}
    assert "analytics" not in codes
    assert "marketing" in codes


@pytest.mark.parametrize("user_fixture", ["agent", "superuser"])
def test_change_and_delete_are_refused(
    user_fixture: str,
    request: pytest.FixtureRequest,
    admin_client_for: Callable[[User], Client],
) -> None:
    record = ConsentRecordFactory(status=ConsentStatus.GRANTED)
    client = admin_client_for(request.getfixturevalue(user_fixture))
    change_url = reverse("admin:consent_consentrecord_change", args=[record.pk])

    page = client.get(change_url)
    assert page.status_code == 200  # viewable...
    assert b'name="_save"' not in page.content  # ...but not editable
    assert client.post(change_url, {"status": ConsentStatus.DENIED}).status_code == 403
    delete_url = reverse("admin:consent_consentrecord_delete", args=[record.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    record.refresh_from_db()
    assert record.status == ConsentStatus.GRANTED
    assert ConsentRecord.objects.count() == 1


def test_request_page_shows_the_fulfilment_steps(
    superuser: User, admin_client_for: Callable[[User], Client]
) -> None:
    request = DataSubjectRequestFactory(
        progress=30,
        attempts=2,
        progress_steps=[
            {"step": "started", "at": "2026-11-23T10:00:00+00:00", "attempt": 2},
            {"step": "identities", "at": "2026-11-23T10:00:01+00:00", "count": 2},
            {"step": "exported", "at": "2026-11-23T10:00:02+00:00", "table": "holdings", "rows": 3},
        ],
    )
    page = admin_client_for(superuser).get(
        reverse("admin:consent_datasubjectrequest_change", args=[request.pk])
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert "<li>2026-11-23 10:00:01 identities: count 2</li>" in html
    assert "<li>2026-11-23 10:00:02 exported: rows 3, table holdings</li>" in html
    assert 'name="claimed_by"' not in html
    assert 'name="progress_steps"' not in html
