"""The ledger services refuse bad input with clear errors and change nothing;
withdrawing is one call; the ledger cannot be edited or deleted."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from consent.choices import CaptureMethod, ConsentStatus
from consent.models import AppendOnlyError, Channel, ConsentRecord, Purpose
from consent.selectors import consent_allows, consent_effective
from consent.services import consent_record, consent_withdraw
from customer360.choices import AuditEventType
from customer360.models import AuditEvent
from customer360.services import Actor
from tests.factories import ConsentRecordFactory, CustomerFactory

pytestmark = pytest.mark.django_db
DAY = datetime.timedelta(days=1)


def _nothing_written() -> None:
    assert not ConsentRecord.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"purpose": "no-such-purpose"}, "purpose"),
        ({"channel": "pigeon"}, "channel"),
        ({"captured_via": "pigeon"}, "captured_via"),
        ({"status": ConsentStatus.RESET}, "status"),
        ({"status": "maybe"}, "status"),
    ],
    ids=["unknown-purpose", "unknown-channel", "unknown-capture-channel", "reset", "bad-status"],
)
def test_bad_statements_are_refused_and_change_nothing(
    actor: Actor, overrides: dict[str, Any], field: str
) -> None:
    values: dict[str, Any] = {
        "customer": CustomerFactory(),
        "purpose": "marketing",
        "channel": "email",
        "status": ConsentStatus.GRANTED,
        "capture_method": CaptureMethod.WEB_FORM,
        "captured_via": "web",
        "actor": actor,
        "reason": "Web form",
        **overrides,
    }
    with pytest.raises(ValidationError) as caught:
        consent_record(**values)
    assert field in caught.value.message_dict
    _nothing_written()


def test_inactive_channel_is_refused(actor: Actor, email: Channel) -> None:
    email.is_active = False
    email.save()
    with pytest.raises(ValidationError, match="not active"):
        consent_record(
            customer=CustomerFactory(),
            purpose="marketing",
            channel=email,
            status=ConsentStatus.GRANTED,
            capture_method=CaptureMethod.WEB_FORM,
            captured_via="web",
            actor=actor,
            reason="Web form",
        )
    _nothing_written()


def test_effective_dates_out_of_order_are_refused(
    state: Callable[..., ConsentRecord], marketing: Purpose, email: Channel
) -> None:
    start = timezone.now() + DAY
    with pytest.raises(ValidationError) as caught:
        state(CustomerFactory(), marketing, email, effective_from=start, effective_until=start)
    assert "effective_until" in caught.value.message_dict
    _nothing_written()


def test_codes_are_accepted(state: Callable[..., ConsentRecord], marketing: Purpose) -> None:
    record = state(CustomerFactory(), "marketing", "email", captured_via="web")
    assert record.purpose == marketing
    assert record.channel.code == "email"


def test_withdraw_is_one_call_and_stops_processing(
    state: Callable[..., ConsentRecord], actor: Actor, marketing: Purpose, email: Channel
) -> None:
    customer = CustomerFactory()
    granted = state(customer, marketing, email)
    withdrawal = consent_withdraw(
        customer=customer,
        purpose="marketing",
        channel="email",
        captured_via="web",
        capture_method=CaptureMethod.WEB_FORM,
        actor=actor,
        reason="Unsubscribe link",
    )
    assert withdrawal.status == ConsentStatus.WITHDRAWN
    assert withdrawal.effective_until is None
    assert consent_effective(customer=customer, purpose=marketing, channel=email) == withdrawal
    assert not consent_allows(customer=customer, purpose=marketing, channel=email)
    event = AuditEvent.objects.get(event_type=AuditEventType.CONSENT_WITHDRAWN)
    assert event.old == {"status": ConsentStatus.GRANTED, "record": granted.pk}


@pytest.mark.parametrize("earlier", [None, ConsentStatus.DENIED, ConsentStatus.WITHDRAWN])
def test_withdrawing_what_was_never_given_is_refused(
    state: Callable[..., ConsentRecord],
    actor: Actor,
    marketing: Purpose,
    email: Channel,
    earlier: ConsentStatus | None,
) -> None:
    customer = CustomerFactory()
    if earlier:
        state(customer, marketing, email, status=earlier)
    rows, events = ConsentRecord.objects.count(), AuditEvent.objects.count()
    with pytest.raises(ValidationError, match="no granted consent"):
        consent_withdraw(
            customer=customer,
            purpose=marketing,
            channel=email,
            captured_via="web",
            capture_method=CaptureMethod.WEB_FORM,
            actor=actor,
            reason="Unsubscribe link",
        )
    assert (ConsentRecord.objects.count(), AuditEvent.objects.count()) == (rows, events)


# --- append-only ------------------------------------------------------------------


def test_orm_refuses_update_and_delete() -> None:
    record = ConsentRecordFactory()
    with pytest.raises(AppendOnlyError):
        ConsentRecord.objects.filter(pk=record.pk).update(status=ConsentStatus.DENIED)
    with pytest.raises(AppendOnlyError):
        ConsentRecord.objects.filter(pk=record.pk).delete()
    with pytest.raises(AppendOnlyError):
        record.delete()
    record.refresh_from_db()
    assert record.status == ConsentStatus.GRANTED


def test_erasure_columns_and_repointing_may_change() -> None:
    record = ConsentRecordFactory(ip_address="192.0.2.1", user_agent="Firefox")
    other = CustomerFactory()
    ConsentRecord.objects.filter(pk=record.pk).update(
        ip_address=None, user_agent="", customer=other
    )
    record.refresh_from_db()
    assert (record.ip_address, record.user_agent, record.customer) == (None, "", other)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE consent_consentrecord SET status = 'denied' WHERE id = %s",
        "UPDATE consent_consentrecord SET effective_until = now() + interval '1 day' WHERE id = %s",
        "UPDATE consent_consentrecord SET evidence_reference = 'forged' WHERE id = %s",
        "DELETE FROM consent_consentrecord WHERE id = %s",
    ],
    ids=["status", "period", "evidence", "delete"],
)
def test_database_refuses_changes_on_postgresql(sql: str) -> None:
    """PostgreSQL's trigger (migration 0005) stops even hand-typed SQL.

    SQLite (the embedded demo database) has no such trigger: there the
    ORM guard above is the protection, so this asserts the trigger's absence
    to keep the documentation honest.
    """
    record = ConsentRecordFactory()
    if connection.vendor == "postgresql":
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [record.pk])
        record.refresh_from_db()
        assert record.status == ConsentStatus.GRANTED
        assert record.evidence_reference == ""
    else:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name = 'consent_consentrecord'"
            )
            assert cursor.fetchone()[0] == 0


def test_database_allows_erasure_columns_on_postgresql() -> None:
    record = ConsentRecordFactory(ip_address="192.0.2.1", user_agent="Firefox")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE consent_consentrecord SET ip_address = NULL, user_agent = '' WHERE id = %s",
            [record.pk],
        )
    record.refresh_from_db()
    assert (record.ip_address, record.user_agent) == (None, "")


def test_saving_an_unchanged_row_is_not_a_change(marketing: Purpose) -> None:
    # The trigger compares values: re-saving a row as it is passes on PostgreSQL.
    record = ConsentRecordFactory(purpose=marketing)
    record.save()
    assert ConsentRecord.objects.get(pk=record.pk).purpose == marketing
