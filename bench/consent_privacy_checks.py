"""Benchmark ``manage.py run_privacy_checks`` over 1M customers and 10M interactions.

Creates a throw-away PostgreSQL database, migrates it, generates with
``INSERT ... SELECT generate_series``

- ``--customers`` customers (default 1,000,000), one source record each
  (some holding a field no collection decision covers),
- ``--interactions`` interactions (default 10,000,000) over three years,
  with free-text summaries,
- one consent statement per customer (some expired, some expiring),
- ``--actions`` outbound actions queued, and 2,000 data-subject requests,

gives the ``interaction_summary`` and ``loyalty_tier`` fields a retention
period, then runs ``manage.py run_privacy_checks --new`` in a child process
and reports its wall time and peak RSS (``wait4``), the findings, and the
database size. Drops the database at the end.

    .venv/bin/python bench/consent_privacy_checks.py
    .venv/bin/python bench/consent_privacy_checks.py --customers 100000 --interactions 1000000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from consent_bench_db import (
    PYTHON,
    ROOT,
    add_server_arguments,
    create_and_migrate,
    customers_sql,
    drop,
    machine,
    psql,
    timed_sql,
)

SOURCE_RECORDS = """
    INSERT INTO governance_sourcesystem (created_at, updated_at, code, name, description,
        key_label, trust_rank, is_active, silo_id)
    SELECT now(), now(), 'bench-crm', 'Bench CRM', '', 'Customer no.', 10, true, id
    FROM governance_silo WHERE code = 'cdo';
    INSERT INTO profiles_sourcerecord (created_at, updated_at, source_key, raw, normalized,
        payload_hash, received_at, customer_id, source_system_id)
    SELECT now(), now(), 'K' || c.id,
           jsonb_build_object('NAME', c.given_name, 'TIER', 'gold'),
           CASE WHEN c.id % 10 = 0
                THEN jsonb_build_object('given_name', c.given_name, 'loyalty_tier', 'gold',
                                        'shoe_size', '38')
                ELSE jsonb_build_object('given_name', c.given_name, 'loyalty_tier', 'gold') END,
           md5(c.id::text), now() - (c.id % 1000) * interval '1 day', c.id, s.id
    FROM profiles_customer c CROSS JOIN governance_sourcesystem s WHERE s.code = 'bench-crm'
"""


def interactions_sql(count: int) -> str:
    return f"""
        INSERT INTO profiles_interaction (created_at, updated_at, external_id, direction, kind,
            occurred_at, summary, sentiment, outcome, reference, currency, channel_id,
            customer_id, silo_id)
        SELECT now(), now(), '', 'inbound',
               (ARRAY['inquiry', 'complaint', 'purchase', 'feedback'])[1 + g % 4],
               now() - (g % 1095) * interval '1 day' - (g % 86400) * interval '1 second',
               'Customer called about item ' || g, NULL, 'resolved', '', '', ch.id,
               bounds.lo + g % bounds.n, silo.id
        FROM generate_series(1, {count}) AS g
        CROSS JOIN (SELECT min(id) AS lo, count(*) AS n FROM profiles_customer) bounds
        CROSS JOIN (SELECT id FROM consent_channel WHERE code = 'phone') ch
        CROSS JOIN (SELECT id FROM governance_silo WHERE code = 'cdo') silo
    """


CONSENTS = """
    INSERT INTO consent_consentrecord (status, capture_method, captured_at, effective_from,
        effective_until, evidence_reference, double_opt_in, user_agent, reason, recorded_at,
        captured_via_id, channel_id, customer_id, purpose_id)
    SELECT (ARRAY['granted', 'granted', 'granted', 'denied', 'withdrawn'])[1 + c.id % 5],
           'import', now(), now() - 400 * interval '1 day',
           CASE WHEN c.id % 7 = 0 THEN now() + ((c.id % 120) - 60) * interval '1 day' END,
           '', 'not_required', '', 'bench', now(), web.id,
           CASE WHEN c.id % 2 = 0 THEN email.id ELSE sms.id END, c.id, marketing.id
    FROM profiles_customer c
    CROSS JOIN (SELECT id FROM consent_channel WHERE code = 'web') web
    CROSS JOIN (SELECT id FROM consent_channel WHERE code = 'email') email
    CROSS JOIN (SELECT id FROM consent_channel WHERE code = 'sms') sms
    CROSS JOIN (SELECT id FROM consent_purpose WHERE code = 'marketing') marketing
"""


def actions_sql(count: int) -> str:
    return f"""
        INSERT INTO profiles_outboundaction (created_at, updated_at, kind, status, scheduled_for,
            summary, block_reasons, external_id, channel_id, customer_id, purpose_id, silo_id)
        SELECT now(), now(), 'offer', 'proposed', now() + interval '2 days', 'Spring offer',
               '[]', '', email.id, bounds.lo + (g * 7919) % bounds.n, marketing.id, silo.id
        FROM generate_series(1, {count}) AS g
        CROSS JOIN (SELECT min(id) AS lo, count(*) AS n FROM profiles_customer) bounds
        CROSS JOIN (SELECT id FROM consent_channel WHERE code = 'email') email
        CROSS JOIN (SELECT id FROM consent_purpose WHERE code = 'marketing') marketing
        CROSS JOIN (SELECT id FROM governance_silo WHERE code = 'cdo') silo
    """


REQUESTS = """
    INSERT INTO consent_datasubjectrequest (created_at, updated_at, reference, kind, status,
        received_at, due_at, extension_reason, details, progress, outcome, contact_email,
        changes, received_via_id, customer_id)
    SELECT now(), now(), 'DSR-B' || g, 'access',
           (ARRAY['received', 'verifying', 'in_progress', 'completed'])[1 + g % 4],
           now() - (g % 40) * interval '1 day', now() - (g % 40) * interval '1 day'
               + interval '30 days',
           '', '', 0, '', '', '{}', ch.id, NULL
    FROM generate_series(1, 2000) AS g
    CROSS JOIN (SELECT id FROM consent_channel WHERE code = 'email') ch
    WHERE g % 4 <> 3;
    UPDATE consent_datasubjectrequest SET identity_verified_at = now(), completed_at = now()
    WHERE status = 'completed'
"""

# Fields with a retention period, created with the ORM (their shape is the
# governance app's business, not this script's).
SETUP = """
import django
django.setup()
from django.utils import timezone
from governance.models import FieldDefinition, Silo
cdo = Silo.objects.get(code="cdo")
for name, days in (("interaction_summary", 730), ("loyalty_tier", 365)):
    FieldDefinition.objects.create(
        canonical_name=name, label=name, description="bench", data_type="string",
        sensitivity="personal", owning_silo=cdo, status="approved",
        approved_at=timezone.now(), retention_days=days,
    )
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--interactions", type=int, default=10_000_000)
    parser.add_argument("--actions", type=int, default=200_000)
    add_server_arguments(parser, "c360_privacy_bench")
    args = parser.parse_args()

    print(f"Creating {args.database} ...", flush=True)
    env = create_and_migrate(args)
    env["DJANGO_SETTINGS_MODULE"] = "customer360.settings"
    try:
        started = time.perf_counter()
        timed_sql(args, f"{args.customers:,} customers", customers_sql(args.customers))
        timed_sql(args, "source records", SOURCE_RECORDS)
        timed_sql(args, f"{args.interactions:,} interactions", interactions_sql(args.interactions))
        timed_sql(args, "consents", CONSENTS)
        timed_sql(args, f"{args.actions:,} actions", actions_sql(args.actions))
        timed_sql(args, "requests", REQUESTS)
        timed_sql(args, "vacuum analyze", "VACUUM ANALYZE")
        subprocess.run([str(PYTHON), "-c", SETUP], cwd=ROOT, env=env, check=True)
        print(f"  data generated in {time.perf_counter() - started:.0f} s", flush=True)
        counts = {
            table: int(psql(args, f"SELECT count(*) FROM {table}"))
            for table in (
                "profiles_customer",
                "profiles_sourcerecord",
                "profiles_interaction",
                "consent_consentrecord",
                "profiles_outboundaction",
                "consent_datasubjectrequest",
            )
        }
        size = psql(args, "SELECT pg_size_pretty(pg_database_size(current_database()))")

        command = [str(PYTHON), "manage.py", "run_privacy_checks", "--new"]
        started = time.perf_counter()
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None
        output = child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode:
            sys.stderr.write(output)
            return child.returncode
        per_check = psql(
            args,
            "SELECT string_agg(check_code || '=' || n, ', ' ORDER BY check_code) FROM "
            "(SELECT check_code, count(*) AS n FROM consent_privacyfinding GROUP BY 1) f",
        )
    finally:
        drop(args)

    print()
    print(output.strip())
    print()
    print(f"Privacy checks: {machine()}, PostgreSQL {psql_server_version(args)}")
    for table, count in counts.items():
        print(f"- {table}: {count:,} rows")
    print(f"- database size: {size}")
    print(
        f"- `run_privacy_checks --new`: wall {wall:.1f} s, "
        f"peak RSS {usage.ru_maxrss / 1024:.0f} MiB"
    )
    print(f"- findings per check: {per_check}")
    return 0


def psql_server_version(args: argparse.Namespace) -> str:
    saved, args.database = args.database, "postgres"
    try:
        return psql(args, "SHOW server_version")
    finally:
        args.database = saved


if __name__ == "__main__":
    raise SystemExit(main())
