"""Benchmark the effective-consent check: per decision, single and batch.

Creates a throw-away PostgreSQL database, migrates it, generates customers and
a consent ledger with ``INSERT ... SELECT generate_series``, then, in this
process (Django set up against that database), times

- ``consent_allows`` for one customer at a time (one query each), and
- ``consent_decisions`` for lists of ``--batch`` customers (one query each),

and reports the mean, median and 99th percentile per decision. Drops the
database at the end.

    .venv/bin/python bench/consent_check.py                      # 100,000 customers, 4 rows each
    .venv/bin/python bench/consent_check.py --customers 20000 --keep
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time

from consent_bench_db import (
    ROOT,
    add_server_arguments,
    create_and_migrate,
    customers_sql,
    drop,
    machine,
    psql,
    timed_sql,
)


def ledger_sql(rows_per_customer: int) -> str:
    """Statements over marketing/analytics x email/sms: grants, refusals, expiries."""
    return f"""
        INSERT INTO consent_consentrecord (
            status, capture_method, captured_at, effective_from, effective_until,
            evidence_reference, double_opt_in, user_agent, reason, recorded_at,
            captured_via_id, channel_id, customer_id, purpose_id)
        SELECT (ARRAY['granted', 'granted', 'denied', 'withdrawn'])[1 + (c.id * 7 + k) % 4],
               'import', now(), now() - (400 - k * 30) * interval '1 day',
               CASE WHEN (c.id + k) % 5 = 0 THEN now() + ((c.id % 90) - 30) * interval '1 day' END,
               'BENCH-' || c.id || '-' || k, 'not_required', '', 'bench', now(),
               web.id,
               CASE WHEN (c.id + k) % 2 = 0 THEN email.id ELSE sms.id END,
               c.id,
               CASE WHEN (c.id + k) % 3 = 0 THEN analytics.id ELSE marketing.id END
        FROM profiles_customer c
        CROSS JOIN generate_series(1, {rows_per_customer}) AS k
        CROSS JOIN (SELECT id FROM consent_channel WHERE code = 'web') web
        CROSS JOIN (SELECT id FROM consent_channel WHERE code = 'email') email
        CROSS JOIN (SELECT id FROM consent_channel WHERE code = 'sms') sms
        CROSS JOIN (SELECT id FROM consent_purpose WHERE code = 'marketing') marketing
        CROSS JOIN (SELECT id FROM consent_purpose WHERE code = 'analytics') analytics
    """


def measure(args: argparse.Namespace, env: dict[str, str]) -> dict[str, float]:
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "customer360.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection

    from consent.models import Channel, Purpose
    from consent.selectors import consent_allows, consent_decisions, consent_table
    from profiles.models import Customer

    marketing = Purpose.objects.get(code="marketing")
    email = Channel.objects.get(code="email")
    ids = list(Customer.objects.values_list("pk", flat=True))
    rng = random.Random(args.seed)
    customers = {c.pk: c for c in Customer.objects.filter(pk__in=rng.sample(ids, args.decisions))}
    chosen = list(customers.values())
    for customer in chosen[:200]:  # warm the connection, plans and caches
        consent_allows(customer=customer, purpose=marketing, channel=email)

    single = []
    allowed = 0
    for customer in chosen:
        started = time.perf_counter()
        allowed += consent_allows(customer=customer, purpose=marketing, channel=email)
        single.append(time.perf_counter() - started)

    # The query alone, as the server runs it (no ORM, no Python result handling).
    sql_only = []
    sql, params = (
        consent_decisions.__globals__["ConsentRecord"]
        .objects.filter(customer_id=chosen[0].pk, purpose=marketing, channel=email)
        .order_by("-effective_from", "-id")
        .values_list("status")[:1]
        .query.sql_with_params()
    )
    with connection.cursor() as cursor:
        for customer in chosen:
            started = time.perf_counter()
            cursor.execute(sql, [customer.pk, *params[1:]])
            cursor.fetchall()
            sql_only.append(time.perf_counter() - started)

    # One customer's whole table (every purpose x channel) from one query.
    purposes = list(Purpose.objects.all())
    channels = list(Channel.objects.all())
    pairs = len(purposes) * len(channels)
    table = []
    for customer in chosen:
        started = time.perf_counter()
        decisions = consent_table(customer=customer)
        for purpose in purposes:
            for channel in channels:
                decisions.allows(purpose, channel)
        table.append((time.perf_counter() - started) / pairs)

    batch = []
    for _ in range(args.batches):
        sample = rng.sample(ids, args.batch)
        started = time.perf_counter()
        decisions = consent_decisions(customer_ids=sample, purpose=marketing, channel=email)
        batch.append((time.perf_counter() - started) / len(decisions))
    from django.db import connections

    connections.close_all()
    ms = 1000.0
    return {
        "single_mean": statistics.mean(single) * ms,
        "single_median": statistics.median(single) * ms,
        "single_p99": statistics.quantiles(single, n=100)[98] * ms,
        "sql_median": statistics.median(sql_only) * ms,
        "table_mean": statistics.mean(table) * ms,
        "table_median": statistics.median(table) * ms,
        "pairs": pairs,
        "batch_mean": statistics.mean(batch) * ms,
        "batch_median": statistics.median(batch) * ms,
        "allowed_share": allowed / len(chosen),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--rows-per-customer", type=int, default=4)
    parser.add_argument("--decisions", type=int, default=5000, help="Single checks timed.")
    parser.add_argument("--batch", type=int, default=1000, help="Customers per batch check.")
    parser.add_argument("--batches", type=int, default=50)
    parser.add_argument("--seed", type=int, default=42)
    add_server_arguments(parser, "c360_consent_bench")
    args = parser.parse_args()

    print(f"Creating {args.database} ...", flush=True)
    env = create_and_migrate(args)
    try:
        timed_sql(args, f"{args.customers:,} customers", customers_sql(args.customers))
        timed_sql(args, "ledger", ledger_sql(args.rows_per_customer))
        timed_sql(args, "analyze", "ANALYZE")
        rows = int(psql(args, "SELECT count(*) FROM consent_consentrecord"))
        result = measure(args, env)
    finally:
        drop(args)
    version = psql_version(args)
    print()
    print(f"Effective-consent check, {args.customers:,} customers, {rows:,} ledger rows")
    print(f"Machine: {machine()}, {version}")
    print(
        f"- single (`consent_allows`, 1 query): mean {result['single_mean']:.3f} ms, "
        f"median {result['single_median']:.3f} ms, p99 {result['single_p99']:.3f} ms "
        f"per decision ({args.decisions:,} decisions)"
    )
    print(
        f"- of which the database round trip of a comparable bare SQL lookup: "
        f"median {result['sql_median']:.3f} ms"
    )
    print(
        f"- customer table (`consent_table`, 1 query, then {result['pairs']} decisions "
        f"in process): mean {result['table_mean']:.4f} ms, "
        f"median {result['table_median']:.4f} ms per decision"
    )
    print(
        f"- batch (`consent_decisions`, {args.batch:,} customers, 1 query): "
        f"mean {result['batch_mean']:.4f} ms, median {result['batch_median']:.4f} ms "
        f"per decision ({args.batches} batches)"
    )
    print(f"- share of decisions allowed: {result['allowed_share']:.0%}")
    return 0


def psql_version(args: argparse.Namespace) -> str:
    try:
        from consent_bench_db import psql as run

        saved, args.database = args.database, "postgres"
        try:
            return run(args, "SHOW server_version").join(["PostgreSQL ", ""])
        finally:
            args.database = saved
    except Exception:  # the figures matter more than the version line
        return "PostgreSQL (version unknown)"


if __name__ == "__main__":
    raise SystemExit(main())
