"""Retention: the dry run reports exactly what the real run then does."""

from __future__ import annotations

import datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from consent.choices import RetentionAction
from consent.models import RetentionRun
from consent.services import retention_apply, retention_report
from customer360.choices import ActorChannel, AuditEventType
from customer360.models import AuditEvent
from customer360.services import Actor
from governance.choices import GovernanceStatus
from governance.models import FieldDefinition
from profiles.choices import InteractionKind
from profiles.models import Customer, Interaction, SourceRecord
from tests.factories import (
    CustomerFactory,
    FieldDefinitionFactory,
    InteractionFactory,
    SiloFactory,
    SourceFieldMappingFactory,
    SourceRecordFactory,
)

pytestmark = pytest.mark.django_db
NOW = timezone.now()
DAY = datetime.timedelta(days=1)
SYSTEM = Actor.system("test:retention", ActorChannel.COMMAND)


@pytest.fixture
def expired(db: None) -> dict[str, Any]:
    """Values past retention next to values still within it."""
    tier = FieldDefinitionFactory(canonical_name="loyalty_tier", approved=True, retention_days=30)
    FieldDefinitionFactory(canonical_name="interaction_summary", approved=True, retention_days=365)
    FieldDefinition.objects.filter(canonical_name="phone", status=GovernanceStatus.APPROVED).update(
        retention_days=100
    )
    mapping = SourceFieldMappingFactory(
        field_definition=tier, source_field="TIER", status=GovernanceStatus.APPROVED
    )
    old_record = SourceRecordFactory(
        source_system=mapping.source_system,
        received_at=NOW - 40 * DAY,
        raw={"TIER": "gold", "NAME": "Ada"},
        normalized={"loyalty_tier": "gold", "given_name": "Ada"},
    )
    new_record = SourceRecordFactory(
        source_system=mapping.source_system,
        received_at=NOW - 10 * DAY,
        raw={"TIER": "silver"},
        normalized={"loyalty_tier": "silver"},
    )
    old_interaction = InteractionFactory(occurred_at=NOW - 400 * DAY, summary="Long ago")
    new_interaction = InteractionFactory(occurred_at=NOW - 10 * DAY, summary="Recent")
    stale, fresh = CustomerFactory(phone="+3212345678"), CustomerFactory(phone="+3287654321")
    Customer.objects.filter(pk=stale.pk).update(updated_at=NOW - 200 * DAY)
    return {
        "old_record": old_record,
        "new_record": new_record,
        "old_interaction": old_interaction,
        "new_interaction": new_interaction,
        "stale": stale,
        "fresh": fresh,
    }


def _counts(report: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    return {(item["field"], item["model"]): item["count"] for item in report}


def test_dry_run_and_real_run_agree(expired: dict[str, Any]) -> None:
    dry = retention_apply(actor=SYSTEM, dry_run=True, at=NOW)
    expected = {
        ("interaction_summary", "profiles.Interaction"): 1,
        ("interaction_summary", "profiles.SourceRecord"): 0,
        ("loyalty_tier", "profiles.SourceRecord"): 1,
        ("phone", "profiles.Customer"): 1,
        ("phone", "profiles.SourceRecord"): 0,
    }
    assert {k: v for k, v in _counts(dry.report).items() if k[0] != "national_id"} == expected
    # The dry run changed nothing.
    assert (
        SourceRecord.objects.get(pk=expired["old_record"].pk).normalized["loyalty_tier"] == "gold"
    )
    assert not AuditEvent.objects.exists()

    real = retention_apply(actor=SYSTEM, dry_run=False, at=NOW)
    assert real.report == dry.report
    old = SourceRecord.objects.get(pk=expired["old_record"].pk)
    assert old.normalized == {"given_name": "Ada"}
    assert old.raw == {"NAME": "Ada"}
    assert SourceRecord.objects.get(pk=expired["new_record"].pk).normalized == {
        "loyalty_tier": "silver"
    }
    assert Interaction.objects.get(pk=expired["old_interaction"].pk).summary == ""
    assert Interaction.objects.get(pk=expired["new_interaction"].pk).summary == "Recent"
    assert Interaction.objects.count() == 2  # anonymized, still counted
    assert Customer.objects.get(pk=expired["stale"].pk).phone == ""
    assert Customer.objects.get(pk=expired["fresh"].pk).phone == "+3287654321"
    # History keeps neither the old value nor a way back to it.
    assert not SourceRecord.history.filter(id=old.pk, normalized__has_key="loyalty_tier").exists()
    assert not Customer.history.filter(id=expired["stale"].pk, phone="+3212345678").exists()
    assert not Interaction.history.filter(summary="Long ago").exists()
    assert AuditEvent.objects.get().event_type == AuditEventType.RETENTION_APPLIED

    # Nothing left to do: the next run and the report say zero.
    again = retention_apply(actor=SYSTEM, dry_run=False, at=NOW)
    assert not any(item["count"] for item in again.report)
    assert not any(item["count"] for item in retention_report(at=NOW))


def test_command_dry_run_reports_without_changing(expired: dict[str, Any]) -> None:
    out = StringIO()
    call_command("apply_retention", "--dry-run", stdout=out)
    assert "loyalty_tier in profiles.SourceRecord: would anonymize 1" in out.getvalue()
    assert "would anonymize 3 values in total" in out.getvalue()
    assert RetentionRun.objects.get().dry_run
    assert Interaction.objects.get(pk=expired["old_interaction"].pk).summary == "Long ago"
    out = StringIO()
    call_command("apply_retention", stdout=out)
    assert "anonymized 3 values in total" in out.getvalue()
    assert Interaction.objects.get(pk=expired["old_interaction"].pk).summary == ""


@pytest.fixture
def interactions_expire(db: None) -> dict[str, Any]:
    """The committee decided interactions themselves are deleted after a year."""
    FieldDefinitionFactory(
        canonical_name="interaction_summary",
        approved=True,
        retention_days=365,
        retention_action=RetentionAction.DELETE,
    )
    customer = CustomerFactory()
    silo = SiloFactory(code="service")
    march = datetime.datetime(2024, 3, 5, 10, tzinfo=datetime.UTC)
    old = [
        InteractionFactory(
            customer=customer,
            silo=silo,
            occurred_at=march + n * DAY,
            kind=InteractionKind.COMPLAINT,
            summary="Complained about the bill",
        )
        for n in range(2)
    ]
    old.append(
        InteractionFactory(
            customer=customer, silo=silo, occurred_at=march, kind=InteractionKind.INQUIRY
        )
    )
    recent = InteractionFactory(customer=customer, occurred_at=NOW - 10 * DAY, summary="Recent")
    return {"customer": customer, "old": old, "recent": recent}


def test_deletion_dry_run_equals_the_real_run_and_keeps_aggregate_counts(
    interactions_expire: dict[str, Any],
) -> None:
    old_ids = [i.pk for i in interactions_expire["old"]]
    assert Interaction.history.filter(id__in=old_ids).exists()

    dry = retention_apply(actor=SYSTEM, dry_run=True, at=NOW)

    assert Interaction.objects.count() == 4  # the dry run deleted nothing
    (deletion,) = [item for item in dry.report if item["action"] == RetentionAction.DELETE]
    expected_counts = [
        {
            "silo": "service",
            "kind": "complaint",
            "channel": "phone",
            "month": "2024-03",
            "count": 2,
        },
        {"silo": "service", "kind": "inquiry", "channel": "phone", "month": "2024-03", "count": 1},
    ]
    assert deletion == {
        "field": "interaction_summary",
        "model": "profiles.Interaction",
        "action": RetentionAction.DELETE,
        "count": 3,
        "kept_counts": expected_counts,
    }

    real = retention_apply(actor=SYSTEM, dry_run=False, at=NOW)

    assert real.report == dry.report
    assert list(Interaction.objects.values_list("pk", flat=True)) == [
        interactions_expire["recent"].pk
    ]
    # The deleted rows' history went with them: no content, no trace per row.
    assert not Interaction.history.filter(id__in=old_ids).exists()
    assert not Interaction.history.filter(summary="Complained about the bill").exists()
    assert Interaction.history.filter(id=interactions_expire["recent"].pk).exists()
    event = AuditEvent.objects.get(event_type=AuditEventType.RETENTION_APPLIED)
    (kept,) = [i for i in event.new["report"] if i["action"] == RetentionAction.DELETE]
    assert kept["kept_counts"] == expected_counts
    # Nothing left: the next report says zero.
    again = [i for i in retention_report(at=NOW) if i["action"] == RetentionAction.DELETE]
    assert again == [{**deletion, "count": 0, "kept_counts": []}]


def test_deletion_runs_in_chunks_and_resumes(
    interactions_expire: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from consent import services

    monkeypatch.setattr(services, "RETENTION_CHUNK", 2)
    real = services._retention_delete_chunk
    calls = {"n": 0}

    def crash_on_second(*args: Any, **kwargs: Any) -> int:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker lost")
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "_retention_delete_chunk", crash_on_second)
    with pytest.raises(RuntimeError):
        retention_apply(actor=SYSTEM, dry_run=False, at=NOW)
    assert Interaction.objects.count() == 2  # the first chunk of two is gone, committed

    monkeypatch.setattr(services, "_retention_delete_chunk", real)
    rerun = retention_apply(actor=SYSTEM, dry_run=False, at=NOW)
    (deletion,) = [i for i in rerun.report if i["action"] == RetentionAction.DELETE]
    assert deletion["count"] == 1
    assert Interaction.objects.count() == 1


def test_command_reports_deletions(interactions_expire: dict[str, Any]) -> None:
    out = StringIO()
    call_command("apply_retention", "--dry-run", stdout=out)
    assert "interaction_summary in profiles.Interaction: would delete 3" in out.getvalue()
    assert "would delete 3 records in total" in out.getvalue()
    out = StringIO()
    call_command("apply_retention", stdout=out)
    assert "interaction_summary in profiles.Interaction: deleted 3" in out.getvalue()
    assert Interaction.objects.count() == 1
