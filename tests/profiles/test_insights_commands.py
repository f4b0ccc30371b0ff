"""check_campaign and compute_flags commands (issue 8)."""

from __future__ import annotations

import datetime
import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from consent.models import Channel, Purpose
from governance.choices import GovernanceStatus
from profiles.choices import FlagKind
from profiles.models import Flag, OutboundAction
from tests.factories import (
    ConsentRecordFactory,
    ContactRuleFactory,
    CustomerFactory,
    SiloFactory,
)

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_check_campaign_prints_a_verdict_per_contact(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    SiloFactory(code="marketing")
    ContactRuleFactory(code="post-cap", max_contacts=1, period_days=30,
                       status=GovernanceStatus.APPROVED, approved_at=timezone.now())  # fmt: skip
    yes, no = CustomerFactory(), CustomerFactory()
    ConsentRecordFactory(customer=yes, purpose=Purpose.objects.get(code="marketing"),
                         channel=Channel.objects.get(code="post"),
                         effective_from=timezone.now() - datetime.timedelta(days=1))  # fmt: skip
    day = (timezone.localdate() + datetime.timedelta(days=5)).isoformat()
    path = tmp_path / "spring.csv"
    path.write_text(
        "customer_number,kind,purpose,channel,scheduled_for\n"
        f"{yes.customer_number},offer,marketing,post,{day}\n"
        f"{no.customer_number},offer,marketing,post,{day}T10:00:00+00:00\n"
        f"{yes.customer_number},offer,marketing,post,{day}\n"
    )
    out, _ = run("check_campaign", "--silo", "marketing", str(path))
    lines = out.strip().splitlines()
    assert lines[0] == "line,customer_number,verdict,codes,reasons"
    assert lines[1].startswith(f"2,{yes.customer_number},allowed,,")
    assert lines[2].startswith(f"3,{no.customer_number},blocked,no_consent,No consent")
    assert lines[3].startswith(f"4,{yes.customer_number},blocked,frequency_cap,")
    assert "3 contacts: 1 allowed, 2 blocked" in capsys.readouterr().err
    assert not OutboundAction.objects.exists()  # a pre-check writes nothing

    output = tmp_path / "verdicts.csv"
    run("check_campaign", "--silo", "marketing", str(path), "--output", str(output))
    assert output.read_text().count("blocked") == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("customer_number,kind,purpose,channel\n",
         "spring.csv, line 1: missing column(s) scheduled_for"),
        ("customer_number,kind,purpose,channel,scheduled_for,x\n",
         "spring.csv, line 1: unknown column(s) x"),
        ("customer_number,kind,purpose,channel,scheduled_for\nC1,offer,marketing,post,\n",
         "spring.csv, line 2, scheduled_for: a value is required"),
        ("customer_number,kind,purpose,channel,scheduled_for\nC1,gift,marketing,post,2026-12-01\n",
         "spring.csv, line 2, kind: unknown action kind 'gift'"),
        ("customer_number,kind,purpose,channel,scheduled_for\n"
         "C1,offer,marketing,post,2026-12-01\nC1,offer,marketing,post,2026-12-01T09:00\n",
         "spring.csv, line 3, scheduled_for: not a date or time (give a time zone"),
        ("customer_number,kind,purpose,channel,scheduled_for\nC1,offer,spam,post,2026-12-01\n",
         "spring.csv, line 2, purpose: unknown or inactive purpose 'spam'."),
    ],
)  # fmt: skip
def test_check_campaign_names_file_line_and_field(
    tmp_path: Path, content: str, message: str
) -> None:
    SiloFactory(code="marketing")
    path = tmp_path / "spring.csv"
    path.write_text(content)
    with pytest.raises(CommandError) as error:
        run("check_campaign", "--silo", "marketing", str(path))
    assert str(error.value).startswith(message)


def test_check_campaign_refuses_an_unknown_silo(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="unknown or inactive silo 'nope'"):
        run("check_campaign", "--silo", "nope", str(tmp_path / "x.csv"))


def test_compute_flags(tmp_path: Path) -> None:
    first, second = CustomerFactory(), CustomerFactory()
    out, _ = run("compute_flags", "--customer", first.customer_number)
    assert out.strip() == "Flags computed for 1 customer(s)."
    assert Flag.objects.filter(customer=first).count() == len(FlagKind.values)
    out, _ = run("compute_flags", "--stale")
    assert "for 1 customer(s)" in out
    assert Flag.objects.filter(customer=second).exists()
    with pytest.raises(CommandError, match="unknown customer number"):
        run("compute_flags", "--customer", "C000000000")
