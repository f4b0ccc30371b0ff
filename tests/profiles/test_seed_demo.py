"""manage.py seed_demo: a small world, checked for consistency and determinism."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db import transaction

from customer360.choices import AuditEventType
from customer360.models import AuditEvent
from governance.choices import CommitteeRole, GovernanceStatus
from governance.models import CommitteeMember, SourceFieldMapping, SourceSystem
from governance.roles import group_name
from profiles.choices import ActionKind, ActionStatus
from profiles.demo.world import DEMO_PASSWORD, PARTNER_CLIENT_ID
from profiles.models import Customer, Holding, Interaction, OutboundAction, SourceRecord

pytestmark = pytest.mark.django_db
N = 60


def seed(tmp_path: Path, *args: str, name: str = "truth.csv") -> tuple[Path, str]:
    truth = tmp_path / name
    out = io.StringIO()
    call_command("seed_demo", f"--truth-file={truth}", *args, stdout=out, stderr=io.StringIO())
    return truth, out.getvalue()


class _Rollback(Exception):
    pass


def seeded_world(tmp_path: Path, seed_value: int, name: str) -> dict[str, Any]:
    """Seed, capture what must be deterministic, and roll everything back."""
    captured: dict[str, Any] = {}
    try:
        with transaction.atomic():
            truth, _ = seed(tmp_path, f"--customers={N}", f"--seed={seed_value}", name=name)
            captured["truth"] = truth.read_text()
            rows = list(
                Customer.objects.order_by("customer_number").values_list(
                    "customer_number", "given_name", "family_name", "date_of_birth", "email"
                )
            )
            # Numbers as offsets from the first: on PostgreSQL they come from a
            # sequence, which a rollback does not rewind.
            first = int(rows[0][0][1:9])
            captured["customers"] = [(int(r[0][1:9]) - first, *r[1:]) for r in rows]
            raise _Rollback
    except _Rollback:
        pass
    return captured


def truth_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_world_is_consistent(tmp_path: Path) -> None:
    truth, output = seed(tmp_path, f"--customers={N}", "--seed=7")
    rows = truth_rows(truth)

    # Ground truth: one row per source record, stable columns.
    assert list(rows[0]) == ["system", "source_key", "person_id"]
    assert len(rows) == SourceRecord.objects.count()
    keys = set(SourceRecord.objects.values_list("source_system__code", "source_key"))
    assert {(r["system"], r["source_key"]) for r in rows} == keys
    assert len({r["person_id"] for r in rows}) == N

    # Every record is linked; golden customers plus one per injected duplicate.
    assert not SourceRecord.objects.filter(customer__isnull=True).exists()
    person_of = {(r["system"], r["source_key"]): r["person_id"] for r in rows}
    customers_of: dict[str, set[int]] = {}
    for system, key, customer_id in SourceRecord.objects.values_list(
        "source_system__code", "source_key", "customer_id"
    ):
        customers_of.setdefault(person_of[(system, key)], set()).add(customer_id)
    assert all(len(ids) >= 1 for ids in customers_of.values())
    duplicated = [p for p, ids in customers_of.items() if len(ids) > 1]
    assert duplicated, "some person must have an injected duplicate customer"
    assert Customer.objects.count() == N + sum(len(customers_of[p]) - 1 for p in duplicated)

    # Lineage names records of the customer itself.
    for customer in Customer.objects.all()[:20]:
        own = set(customer.source_records.values_list("pk", flat=True))
        assert set(customer.lineage.values()) <= own
        assert customer.lineage

    # At least four silos, each of whose raw columns has an approved mapping.
    systems = SourceSystem.objects.all()
    assert systems.count() >= 4
    for system in systems:
        approved = set(
            SourceFieldMapping.objects.filter(
                source_system=system, status=GovernanceStatus.APPROVED, approved_at__isnull=False
            ).values_list("source_field", flat=True)
        )
        columns = {c for raw in system.records.values_list("raw", flat=True) for c in raw}
        assert columns, system.code
        assert columns <= approved, (system.code, columns - approved)

    # Activity exists, across silos and with its source record.
    assert Interaction.objects.count() > 4 * N
    assert not Interaction.objects.filter(source_record__isnull=True).exists()
    assert Interaction.objects.values("silo").distinct().count() >= 4

    # History: one creation row per customer, with the seed's reason.
    assert Customer.history.count() == Customer.objects.count()
    assert Customer.history.filter(history_change_reason="seed_demo --seed 7").count() == (
        Customer.objects.count()
    )
    assert SourceRecord.history.count() == SourceRecord.objects.count()
    assert AuditEvent.objects.filter(event_type=AuditEventType.DEMO_SEEDED).count() == 1

    # The scenario: an up-sell and a cancellation of the same policy, same day;
    # contact arbitration lets the first through and blocks the later one.
    actions = list(OutboundAction.objects.order_by("created_at", "pk"))
    assert [a.kind for a in actions] == [ActionKind.UPSELL, ActionKind.CANCELLATION]
    assert [a.status for a in actions] == [ActionStatus.PENDING, ActionStatus.BLOCKED]
    assert len({a.holding_id for a in actions}) == 1
    assert len({a.scheduled_for.date() for a in actions}) == 1
    holding = Holding.objects.get(pk=actions[0].holding_id)
    assert holding.line_of_business == "motor"
    assert holding.customer.customer_number in output
    assert {a.silo.code for a in actions} == {"marketing", "risk"}
    assert actions[1].block_reasons and "Contact arbitration: Cancellation (risk) blocked" in output
    assert AuditEvent.objects.filter(event_type=AuditEventType.ACTION_BLOCKED).count() == 1


def test_demo_accounts_log_in_with_their_roles(tmp_path: Path) -> None:
    _, output = seed(tmp_path, "--customers=5")
    assert DEMO_PASSWORD in output
    assert PARTNER_CLIENT_ID in output
    assert "/o/token/" in output
    expected = {
        "agent": CommitteeRole.AGENT,
        "steward": CommitteeRole.DATA_STEWARD,
        "privacy": CommitteeRole.PRIVACY_OFFICER,
        "chair": CommitteeRole.CHAIR,
        "member-risk": CommitteeRole.MEMBER,
        "member-marketing": CommitteeRole.MEMBER,
    }
    for username, role in expected.items():
        user = authenticate(username=username, password=DEMO_PASSWORD)
        assert user is not None, username
        assert list(user.groups.values_list("name", flat=True)) == [group_name(role)]
        assert user.is_staff == (username != "agent")
    admin = authenticate(username="admin", password=DEMO_PASSWORD)
    assert admin is not None and admin.is_superuser and admin.is_staff
    silos_with_member = set(
        CommitteeMember.objects.filter(role=CommitteeRole.MEMBER).values_list(
            "silo__code", flat=True
        )
    )
    assert silos_with_member >= set(SourceSystem.objects.values_list("silo__code", flat=True))

    # The partner client's printed secret is the one that works.
    from oauth2_provider.models import Application

    secret = output.split("client_secret")[1].split()[0]
    application = Application.objects.get(client_id=PARTNER_CLIENT_ID)
    from django.contrib.auth.hashers import check_password

    assert check_password(secret, application.client_secret)
    assert application.lenses.filter(purpose__code="partner_sharing").exists()


def test_same_seed_same_world_other_seed_other_world(tmp_path: Path) -> None:
    first = seeded_world(tmp_path, 3, "a.csv")
    again = seeded_world(tmp_path, 3, "b.csv")
    other = seeded_world(tmp_path, 4, "c.csv")
    assert first["truth"] == again["truth"]
    assert first["customers"] == again["customers"]
    assert first["truth"] != other["truth"]
    assert first["customers"] != other["customers"]


def test_second_run_refuses_or_skips(tmp_path: Path) -> None:
    seed(tmp_path, "--customers=3")
    count = Customer.objects.count()
    with pytest.raises(CommandError, match="already holds customers"):
        seed(tmp_path, "--customers=3", name="again.csv")
    _, output = seed(tmp_path, "--customers=3", "--if-empty", name="again.csv")
    assert "did nothing" in output
    assert Customer.objects.count() == count


@pytest.mark.parametrize("customers", ["0", "2000000", "-5"])
def test_customer_count_out_of_range_is_refused(tmp_path: Path, customers: str) -> None:
    with pytest.raises(CommandError, match="between 1 and"):
        seed(tmp_path, f"--customers={customers}")
    assert not Customer.objects.exists()


@pytest.mark.parametrize(("customers", "batch_size"), [(25, 7), (30, 30), (41, 40)])
def test_every_person_and_the_scenario_in_any_batching(
    tmp_path: Path, customers: int, batch_size: int
) -> None:
    _, output = seed(tmp_path, f"--customers={customers}", f"--batch-size={batch_size}")
    persons = Counter(r["person_id"] for r in truth_rows(tmp_path / "truth.csv"))
    assert len(persons) == customers
    # Written once, whatever the batching: one letter allowed, the later one blocked.
    assert sorted(OutboundAction.objects.values_list("status", flat=True)) == [
        ActionStatus.BLOCKED,
        ActionStatus.PENDING,
    ]
    assert "Scenario: customer C" in output
