"""Benchmark: campaign pre-check (``campaign_check``) and flag computation.

Creates a throw-away PostgreSQL database (default ``insights_bench``; or
SQLite under a temporary directory with ``--sqlite``), migrates it, fills it
with ``--customers`` customers (half with a marketing-by-post consent, every
tenth with a pending letter, every fiftieth with a recent complaint), the
demo contact rules, and then measures:

* ``campaign_check`` over a list of ``--contacts`` contacts (contacts/s, queries);
* ``flags_compute`` over batches of 1,000 customers (customers/s).

The database is dropped afterwards unless ``--keep``. Run from the checkout:

    .venv/bin/python bench/insights_campaign.py --customers 100000 --contacts 100000
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--flag-batches", type=int, default=3)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--database", default="insights_bench")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--profile", action="store_true", help="Print a cProfile of the check.")
    args = parser.parse_args()

    var_dir = tempfile.mkdtemp(prefix="insights-bench-")
    os.environ.update(
        {
            "DEBUG": "false",
            "CUSTOMER360_TESTING": "true",  # test key, fast hashing; nothing else changes
            "CUSTOMER360_VAR_DIR": var_dir,
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "customer360.settings",
        }
    )
    server = ["-h", args.host, "-U", args.user]
    if not args.sqlite:
        subprocess.run(["dropdb", *server, "--if-exists", args.database], check=True)
        subprocess.run(["createdb", *server, args.database], check=True)
        os.environ["DATABASE_URL"] = f"postgres://{args.user}@{args.host}:5432/{args.database}"
    sys.path.insert(0, str(ROOT))
    try:
        run(args)
    finally:
        if not args.sqlite and not args.keep:
            from django.db import connections

            connections.close_all()
            subprocess.run(["dropdb", *server, "--if-exists", args.database], check=True)


def run(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from consent.choices import CaptureMethod, ConsentStatus
    from consent.models import Channel, ConsentRecord, Purpose
    from governance.choices import ContactRuleKind, GovernanceStatus
    from governance.models import ContactRule, Silo
    from profiles.choices import ActionKind, ActionStatus, Direction, InteractionKind
    from profiles.insights.arbitration import CampaignContact, campaign_check
    from profiles.insights.flags import flags_compute
    from profiles.models import Customer, Interaction, OutboundAction
    from profiles.numbers import format_customer_number

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"{connection.vendor}: migrated in {time.perf_counter() - started:.0f} s", flush=True)

    now = timezone.now()
    marketing = Silo.objects.create(code="marketing", name="Marketing")
    risk = Silo.objects.create(code="risk", name="Risk")
    post, phone = Channel.objects.get(code="post"), Channel.objects.get(code="phone")
    purpose = Purpose.objects.get(code="marketing")
    approved = {"status": GovernanceStatus.APPROVED, "approved_at": now}
    ContactRule.objects.bulk_create(
        [
            ContactRule(code="post-cap", name="Post cap", kind=ContactRuleKind.FREQUENCY_CAP,
                        channel=post, max_contacts=4, period_days=30, **approved),
            ContactRule(code="quiet", name="Quiet", kind=ContactRuleKind.QUIET_PERIOD,
                        period_days=14, **approved),
            ContactRule(code="upsell-vs-cancellation", name="Upsell/cancellation",
                        kind=ContactRuleKind.INCOMPATIBLE, action_kind=ActionKind.UPSELL,
                        incompatible_with=ActionKind.CANCELLATION, period_days=30,
                        same_holding_only=False, **approved),
        ]
    )  # fmt: skip

    started = time.perf_counter()
    n = args.customers
    Customer.objects.bulk_create(
        [
            Customer(customer_number=format_customer_number(80_000_000 + i), family_name=f"F{i}")
            for i in range(n)
        ],
        batch_size=5000,
    )
    ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
    numbers = dict(Customer.objects.values_list("pk", "customer_number"))
    month = datetime.timedelta(days=30)
    ConsentRecord.objects.bulk_create(
        [
            ConsentRecord(customer_id=pk, purpose=purpose, channel=post,
                          status=ConsentStatus.GRANTED, capture_method=CaptureMethod.WEB_FORM,
                          captured_via=phone, captured_at=now - month, effective_from=now - month)
            for pk in ids[::2]
        ],
        batch_size=5000,
    )  # fmt: skip
    OutboundAction.objects.bulk_create(
        [
            OutboundAction(customer_id=pk, silo=risk, kind=ActionKind.CANCELLATION,
                           purpose=purpose, channel=post, status=ActionStatus.PENDING,
                           scheduled_for=now + datetime.timedelta(days=3), summary="letter")
            for pk in ids[::10]
        ],
        batch_size=5000,
    )  # fmt: skip
    Interaction.objects.bulk_create(
        [
            Interaction(customer_id=pk, silo=risk, channel=phone, direction=Direction.INBOUND,
                        kind=InteractionKind.COMPLAINT, occurred_at=now - datetime.timedelta(2),
                        sentiment=-0.5)
            for pk in ids[::50]
        ],
        batch_size=5000,
    )  # fmt: skip
    print(f"data: {n:,} customers in {time.perf_counter() - started:.0f} s", flush=True)

    when = now + datetime.timedelta(days=3)
    contacts = [
        CampaignContact(
            customer_number=numbers[ids[i % n]],
            kind=ActionKind.UPSELL,
            purpose="marketing",
            channel="post",
            scheduled_for=when,
            line=i + 2,
        )
        for i in range(args.contacts)
    ]
    campaign_check(silo=marketing, contacts=contacts[:1000])  # warm-up
    reset_queries()
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        verdicts = campaign_check(silo=marketing, contacts=contacts)
        elapsed = time.perf_counter() - started
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(campaign_check, silo=marketing, contacts=contacts)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    allowed = sum(v.allowed for v in verdicts)
    print(
        f"campaign_check: {len(contacts):,} contacts in {elapsed:.2f} s = "
        f"{len(contacts) / elapsed:,.0f} contacts/s, {len(queries)} queries, "
        f"{allowed:,} allowed, {len(contacts) - allowed:,} blocked",
        flush=True,
    )

    total = 0.0
    for b in range(args.flag_batches):
        batch = ids[b * 1000 : (b + 1) * 1000]
        started = time.perf_counter()
        flags_compute(customer_ids=batch)
        total += time.perf_counter() - started
    done = 1000 * args.flag_batches
    print(f"flags_compute: {done:,} customers in {total:.2f} s = {done / total:,.0f} customers/s")
    print(f"load: {os.getloadavg()}")


if __name__ == "__main__":
    main()
