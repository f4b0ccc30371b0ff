"""Declaring a source, importing its records, exporting identities."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from customer360.choices import AuditEventType
from customer360.models import AuditEvent
from governance.choices import GovernanceStatus
from governance.models import SourceFieldMapping, SourceSystem
from profiles.models import Customer, ImportRun, QuarantinedRow, SourceRecord
from tests.factories import SiloFactory

HEADER = "customer_id,first_name,last_name,birth_date,email,mobile,street,zip,city\n"
ROWS = (
    "A1,ada,LOVELACE,10/12/1985,Ada@Example.org,06 1234 5678,12 High St,1234 ab,Delft\n"
    "A2,Grace,Hopper,09/12/1906,grace@example.org,0687654321,1 Navy Rd,2345CD,Leiden\n"
)


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def run_import(path: Path, *extra: str, system: str = "crm") -> str:
    from io import StringIO

    out = StringIO()
    call_command(
        "import_records",
        str(path),
        "--system",
        system,
        "--no-progress",
        *extra,
        stdout=out,
        stderr=StringIO(),
    )
    return out.getvalue()


@pytest.mark.django_db
def test_load_source_proposes_mappings(fields_decided: list[str], crm_toml: Path) -> None:
    SiloFactory(code="marketing")
    call_command("load_source", str(crm_toml))
    system = SourceSystem.objects.get(code="crm")
    statuses = set(
        SourceFieldMapping.objects.filter(source_system=system).values_list("status", flat=True)
    )
    assert statuses == {GovernanceStatus.PROPOSED}
    assert system.trust_rank == 20


@pytest.mark.django_db
def test_load_source_approve_needs_a_user_and_is_audited(
    fields_decided: list[str], crm_toml: Path, superuser: User
) -> None:
    SiloFactory(code="marketing")
    with pytest.raises(CommandError, match="--approve needs --user"):
        call_command("load_source", str(crm_toml), "--approve")
    call_command("load_source", str(crm_toml), "--approve", "--user", superuser.username)
    mappings = SourceFieldMapping.objects.filter(source_system__code="crm")
    assert {m.status for m in mappings} == {GovernanceStatus.APPROVED}
    assert {m.approved_by for m in mappings} == {superuser}
    assert (
        AuditEvent.objects.filter(
            event_type=AuditEventType.MAPPING_APPROVED, actor=superuser
        ).count()
        == mappings.count()
    )
    # Loading the same file again changes nothing.
    call_command("load_source", str(crm_toml), "--approve", "--user", superuser.username)
    assert SourceFieldMapping.objects.filter(source_system__code="crm").count() == mappings.count()


@pytest.mark.django_db
def test_load_source_refuses_unknown_field(fields_decided: list[str], tmp_path: Path) -> None:
    SiloFactory(code="marketing")
    path = write(
        tmp_path,
        "bad.toml",
        '[system]\ncode="x"\nname="X"\nsilo="marketing"\n'
        'key_label="k"\nkey_column="id"\n[[mappings]]\ncolumn="shoe"\nfield="shoe_size"\n',
    )
    with pytest.raises(CommandError, match="shoe maps to 'shoe_size'"):
        call_command("load_source", str(path))
    assert not SourceSystem.objects.filter(code="x").exists()


@pytest.mark.django_db
def test_import_creates_records_and_customers_then_reimport_changes_nothing(
    crm: SourceSystem, tmp_path: Path, eager_tasks: None, django_capture_on_commit_callbacks: Any
) -> None:
    path = write(tmp_path, "crm.csv", HEADER + ROWS)
    with django_capture_on_commit_callbacks(execute=True):
        out = run_import(path)
    assert "2 created" in out
    ada = SourceRecord.objects.get(source_key="A1")
    assert ada.normalized["phone"] == "+31612345678"
    assert ada.normalized["email"] == "ada@example.org"
    assert ada.normalized["date_of_birth"] == "1985-12-10"
    assert ada.resolved_at is not None
    assert ada.customer is not None
    assert ada.customer.family_name == "Lovelace"
    assert ada.customer.lineage["family_name"] == ada.pk
    history = SourceRecord.history.count()
    out = run_import(path, "--wait")
    assert "2 unchanged" in out
    assert SourceRecord.history.count() == history
    assert Customer.objects.count() == 2
    assert AuditEvent.objects.filter(event_type=AuditEventType.RECORDS_IMPORTED).count() == 2


@pytest.mark.django_db
def test_invalid_values_are_quarantined_with_line_and_field(
    crm: SourceSystem, tmp_path: Path
) -> None:
    bad = (
        "B1,Ada,Lovelace,31/02/1985,ada@example.org,,,,\n"
        "B2,Ada,Lovelace,10/12/1985,not-an-email,,,,\n"
        "B3,Ada,Lovelace,,,12,,,\n"
        ",Ada,Lovelace,,,,,,\n"
    )
    out = run_import(write(tmp_path, "bad.csv", HEADER + ROWS + bad))
    assert "2 created" in out and "4 quarantined" in out
    rows = list(QuarantinedRow.objects.order_by("row_number").values_list("row_number", "field"))
    assert rows == [(4, "birth_date"), (5, "email"), (6, "mobile"), (7, "customer_id")]
    assert "line 4, birth_date" in out


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content", "encoding", "message"),
    [
        ("cols.csv", HEADER.replace("city", "shoe_size") + "A1,,,,,,,,\n", "utf-8",
         r"line 1: column 'shoe_size' has no approved mapping"),
        ("latin.csv", HEADER + "A1,Zoë,Lovelace,,,,,,\n", "latin-1",
         r"latin.csv, line 2: not valid utf-8"),
        ("short.csv", HEADER + ROWS + "A3,Ada\n", "utf-8", r"short.csv, line 4: 2 values for 9"),
        ("bad.jsonl", '{"customer_id": "J1"}\n{oops\n', "utf-8", r"bad.jsonl, line 2: not a JSON"),
        ("data.xlsx", "x", "utf-8", r"unknown file type '.xlsx'"),
    ],
)  # fmt: skip
def test_refused_files_write_nothing(
    crm: SourceSystem, tmp_path: Path, name: str, content: str, encoding: str, message: str
) -> None:
    path = write(tmp_path, name, content, encoding)
    with pytest.raises(CommandError, match=message):
        run_import(path)
    assert not SourceRecord.objects.exists()
    assert not ImportRun.objects.exists()


@pytest.mark.django_db
def test_unknown_system_and_undecided_field_are_refused(crm: SourceSystem, tmp_path: Path) -> None:
    path = write(tmp_path, "crm.csv", HEADER + ROWS)
    with pytest.raises(CommandError, match="unknown source system 'nope'"):
        run_import(path, system="nope")
    from governance.models import DataCollectionDecision

    DataCollectionDecision.objects.filter(field_definition__canonical_name="locality").delete()
    with pytest.raises(CommandError, match=r"column 'city' -> locality: .*data-collection"):
        run_import(path)
    assert not SourceRecord.objects.exists()


@pytest.mark.django_db
def test_jsonl_import_and_export_identities(
    crm: SourceSystem, tmp_path: Path, eager_tasks: None, django_capture_on_commit_callbacks: Any
) -> None:
    lines = [
        {"customer_id": "J1", "first_name": "Ada", "last_name": "Lovelace",
         "birth_date": "10/12/1985", "email": "ada@example.org"},
        {"customer_id": "J2", "first_name": "ada", "last_name": "lovelace",
         "birth_date": "10/12/1985", "email": "ADA@example.org", "zip": "1234AB"},
    ]  # fmt: skip
    path = write(tmp_path, "crm.jsonl", "\n".join(json.dumps(line) for line in lines) + "\n")
    with django_capture_on_commit_callbacks(execute=True):
        run_import(path)
    target = tmp_path / "identities.csv"
    call_command("export_identities", str(target), stdout=open("/dev/null", "w"))  # noqa: SIM115
    with target.open() as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["system", "source_key", "customer_number"]
    numbers = {key: number for _, key, number in rows[1:]}
    assert numbers["J1"] == numbers["J2"] != ""


@pytest.mark.django_db
def test_a_large_batch_writes_every_record_with_its_history_and_one_matching_task(
    crm: SourceSystem, tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    """Batches of the import's size (COPY of rows and history rows on PostgreSQL):
    each record has its "created" history row; each batch enqueues one matching
    task for all its records; a changed row is updated with history, the rest
    unchanged."""
    from profiles.identity.ingest import BATCH_SIZE

    count = BATCH_SIZE + 20
    body = "".join(
        f"L{n:04d},Ada,Large{n:04d},10/12/1985,l{n}@example.org,,{n} Mill Lane,1234AB,Delft\n"
        for n in range(count)
    )
    path = write(tmp_path, "large.csv", HEADER + body)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        out = run_import(path)
    assert f"{count} created" in out
    assert len(callbacks) == 2  # one matching task per batch, after its commit
    records = SourceRecord.objects.filter(source_system=crm)
    assert records.count() == count
    history = SourceRecord.history.filter(history_type="+")
    assert history.count() == count
    assert set(history.values_list("history_change_reason", flat=True)) == {
        "Records imported from a file [command: command:import_records]"
    }
    large = records.get(source_key="L0007")
    assert large.raw["last_name"] == "Large0007" and large.normalized["family_name"] == "Large0007"
    assert large.import_run is not None and large.resolved_at is None
    changed = write(tmp_path, "changed.csv", HEADER + body.replace("l7@", "seven@"))
    out = run_import(changed)
    assert "1 updated" in out and f"{count - 1} unchanged" in out
    assert records.get(source_key="L0007").normalized["email"] == "seven@example.org"
    assert SourceRecord.history.filter(history_type="~").count() == 1
