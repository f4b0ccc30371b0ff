"""Privacy checks: each check's findings, idempotent, resumable, in the admin."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from io import StringIO
from typing import Any
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from consent import services
from consent.choices import PrivacyCheck, PrivacyCheckStatus, RequestStatus, Severity
from consent.models import Channel, PrivacyCheckRun, PrivacyFinding, Purpose
from consent.services import privacy_checks_run
from customer360.celery import app as celery_app
from customer360.choices import ActorChannel
from customer360.services import Actor
from governance.choices import DecisionStatus
from governance.models import FieldDefinition
from profiles.choices import ActionStatus
from tests.factories import (
    ConsentRecordFactory,
    CustomerFactory,
    DataCollectionDecisionFactory,
    DataSubjectRequestFactory,
    FieldDefinitionFactory,
    OutboundActionFactory,
    SourceRecordFactory,
)

pytestmark = pytest.mark.django_db
NOW = timezone.now()
DAY = datetime.timedelta(days=1)
SYSTEM = Actor.system("test:privacy-checks", ActorChannel.COMMAND)


@pytest.fixture
def world(marketing: Purpose, email: Channel, sms: Channel) -> dict[str, Any]:
    """One thing for every check to find, next to things it must not find."""
    expired, renewing, allowed, blocked = CustomerFactory.create_batch(4)
    key = {"purpose": marketing}
    ConsentRecordFactory(
        customer=expired,
        **key,
        channel=email,
        effective_from=NOW - 100 * DAY,
        effective_until=NOW - 5 * DAY,
    )
    ConsentRecordFactory(
        customer=expired,
        **key,
        channel=sms,  # expired long ago: not "recent"
        effective_from=NOW - 100 * DAY,
        effective_until=NOW - 60 * DAY,
    )
    ConsentRecordFactory(
        customer=renewing,
        **key,
        channel=sms,
        effective_from=NOW - DAY,
        effective_until=NOW + 10 * DAY,
    )
    ConsentRecordFactory(customer=allowed, **key, channel=email, effective_from=NOW - DAY)
    tier = FieldDefinitionFactory(canonical_name="loyalty_tier", approved=True, retention_days=30)
    SourceRecordFactory(
        customer=allowed,
        received_at=NOW - 40 * DAY,
        normalized={"loyalty_tier": "gold", "shoe_size": "38"},
    )
    given_name = FieldDefinition.objects.get(canonical_name="given_name", status="approved")
    DataCollectionDecisionFactory(
        field_definition=given_name, status=DecisionStatus.APPROVED, decided_at=NOW
    )
    DataCollectionDecisionFactory(
        field_definition=tier, status=DecisionStatus.APPROVED, decided_at=NOW
    )
    OutboundActionFactory(customer=blocked, purpose=marketing, channel=email)
    OutboundActionFactory(customer=allowed, purpose=marketing, channel=email)
    OutboundActionFactory(customer=blocked, purpose=Purpose.objects.get(code="service"))
    OutboundActionFactory(customer=blocked, purpose=marketing, status=ActionStatus.SENT)
    soon = DataSubjectRequestFactory(received_at=NOW - 25 * DAY, due_at=NOW + 3 * DAY)
    late = DataSubjectRequestFactory(received_at=NOW - 40 * DAY, due_at=NOW - DAY)
    DataSubjectRequestFactory(
        received_at=NOW - 40 * DAY, due_at=NOW - DAY, status=RequestStatus.REJECTED
    )
    DataSubjectRequestFactory(received_at=NOW - 5 * DAY, due_at=NOW + 25 * DAY)
    return {
        "expired": expired,
        "renewing": renewing,
        "blocked": blocked,
        "soon": soon,
        "late": late,
    }


def _findings(run: PrivacyCheckRun) -> set[tuple[str, str, str, int]]:
    return set(run.findings.values_list("check_code", "subject", "severity", "count"))


def test_every_check_finds_its_case(world: dict[str, Any]) -> None:
    run = privacy_checks_run(actor=SYSTEM, at=NOW)
    assert run.status == PrivacyCheckStatus.COMPLETED
    assert run.completed_checks == list(PrivacyCheck.values)
    found = _findings(run)
    assert (PrivacyCheck.CONSENT_EXPIRED, "marketing/email", Severity.WARNING, 1) in found
    assert not {f for f in found if f[0] == PrivacyCheck.CONSENT_EXPIRED and "sms" in f[1]}
    assert (PrivacyCheck.CONSENT_RENEWAL_DUE, "marketing/sms", Severity.INFO, 1) in found
    assert (
        PrivacyCheck.RETENTION_DUE,
        "loyalty_tier in profiles.SourceRecord",
        Severity.WARNING,
        1,
    ) in found
    unapproved = {f[1] for f in found if f[0] == PrivacyCheck.UNAPPROVED_DATA}
    assert "shoe_size in profiles.SourceRecord" in unapproved
    assert "email in profiles.Customer" in unapproved
    assert "loyalty_tier in profiles.SourceRecord" not in unapproved
    assert "given_name in profiles.Customer" not in unapproved
    actions = run.findings.get(check_code=PrivacyCheck.ACTIONS_WITHOUT_CONSENT)
    assert (actions.subject, actions.count) == ("marketing/email", 1)
    assert actions.detail["sample"] == [
        world["blocked"]
        .outbound_actions.get(purpose__code="marketing", status=ActionStatus.PROPOSED)
        .pk
    ]
    at_risk = {
        f.subject: f.severity for f in run.findings.filter(check_code=PrivacyCheck.DSR_AT_RISK)
    }
    assert at_risk == {
        world["soon"].reference: Severity.WARNING,
        world["late"].reference: Severity.HIGH,
    }
    expired = run.findings.get(check_code=PrivacyCheck.CONSENT_EXPIRED)
    assert expired.detail["sample"] == [world["expired"].customer_number]


def test_same_state_gives_same_findings(world: dict[str, Any]) -> None:
    first = privacy_checks_run(actor=SYSTEM, at=NOW)
    second = privacy_checks_run(actor=SYSTEM, at=NOW)
    assert first.pk != second.pk
    assert _findings(first) == _findings(second)
    assert PrivacyFinding.objects.filter(run=second).count() == len(_findings(second))


def test_interrupted_run_resumes_without_duplicates(world: dict[str, Any]) -> None:
    calls: list[str] = []
    real = dict(services.CHECKS)

    def crash(at: datetime.datetime) -> Any:
        raise RuntimeError("worker lost")

    def counting(code: str) -> Callable[[datetime.datetime], Any]:
        def check(at: datetime.datetime) -> Any:
            calls.append(code)
            return real[code](at)

        return check

    broken = {code: counting(code) for code in real}
    broken[PrivacyCheck.UNAPPROVED_DATA] = crash
    with mock.patch.dict(services.CHECKS, broken), pytest.raises(RuntimeError):
        privacy_checks_run(actor=SYSTEM, at=NOW)
    run = PrivacyCheckRun.objects.get()
    assert run.status == PrivacyCheckStatus.FAILED
    assert run.completed_checks == list(PrivacyCheck.values)[:3]
    partial = _findings(run)

    calls.clear()
    with mock.patch.dict(services.CHECKS, {c: counting(c) for c in real}):
        resumed = privacy_checks_run(actor=SYSTEM, at=NOW + 5 * DAY)
    assert resumed.pk == run.pk
    assert resumed.as_of == run.as_of  # the resumed run keeps its moment
    assert calls == list(PrivacyCheck.values)[3:]  # done checks are not redone
    assert resumed.status == PrivacyCheckStatus.COMPLETED
    assert partial <= _findings(resumed)
    fresh = privacy_checks_run(actor=SYSTEM, at=NOW)
    assert _findings(resumed) == _findings(fresh)


def test_command_resumes_or_starts(world: dict[str, Any]) -> None:
    out = StringIO()
    call_command("run_privacy_checks", stdout=out)
    run = PrivacyCheckRun.objects.get()
    assert f"Privacy check run {run.pk}" in out.getvalue()
    assert f"{run.findings.count()} findings." in out.getvalue()
    assert "[high] dsr_at_risk" in out.getvalue()


def test_beat_schedules_the_checks_and_retention() -> None:
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"consent.privacy_checks_run", "consent.retention_apply"} <= scheduled
    # Every scheduled name, of any app, is a task the worker knows.
    celery_app.loader.import_default_modules()
    assert scheduled <= set(celery_app.tasks)


def test_admin_shows_runs_read_only(
    world: dict[str, Any],
    superuser: User,
    admin_client_for: Callable[[User], Client],
    django_assert_num_queries: Any,
) -> None:
    run = privacy_checks_run(actor=SYSTEM, at=NOW)
    privacy_checks_run(actor=SYSTEM, at=NOW)
    client = admin_client_for(superuser)
    changelist = reverse("admin:consent_privacycheckrun_changelist")
    # session, user, the result count and the full count, the page with its
    # finding counts, then the session save (savepoint, update, release); no
    # query per run or per finding.
    with django_assert_num_queries(8):
        response = client.get(changelist)
    assert response.status_code == 200
    assert response.content.count(b"/change/") == 2
    detail = client.get(reverse("admin:consent_privacycheckrun_change", args=[run.pk]))
    assert detail.status_code == 200
    assert b"dsr_at_risk" in detail.content or b"Data-subject requests at risk" in detail.content
    assert b'name="_save"' not in detail.content
    assert client.get(reverse("admin:consent_privacycheckrun_add")).status_code == 403
    delete = client.post(reverse("admin:consent_privacycheckrun_delete", args=[run.pk]))
    assert delete.status_code == 403
    assert PrivacyCheckRun.objects.filter(pk=run.pk).exists()
