"""Benchmark the partner context endpoint under gunicorn.

Picks customers whose consent covers the demo partner's lens (``partner_sharing``
on the ``partner`` channel) in a seeded database, starts gunicorn
(``--no-control-socket``, DEBUG off) on loopback and sends
``GET /api/v1/customers/<number>/context/`` from ``--clients`` separate
processes; reports throughput and latency percentiles, then the number of
access-log rows the run wrote (one per answered read).

    .venv/bin/python bench/api_context.py --database-url postgres://postgres@127.0.0.1:5432/api_bench
"""

from __future__ import annotations

import argparse
import json
import random

from api_common import Server, consenting_numbers, django_setup, load, machine, partner_token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--port", type=int, default=8731)
    args = parser.parse_args()

    django_setup(args.database_url)
    from customer360.models import AccessLog
    from profiles.models import Customer

    numbers = consenting_numbers()
    token = partner_token()
    rng = random.Random(7)
    requests = [{"path": f"/api/v1/customers/{rng.choice(numbers)}/context/"}
                for _ in range(args.requests)]  # fmt: skip
    logged_before = AccessLog.objects.count()
    print(f"machine before: {machine()}")
    print(f"{len(numbers)} consenting customers of {Customer.objects.count()}")
    with Server(database_url=args.database_url, port=args.port, workers=args.workers,
                threads=args.threads):  # fmt: skip
        load(port=args.port, method="GET", token=token, requests=requests[:200], clients=2,
             seconds=10)  # warm-up  # fmt: skip
        result = load(port=args.port, method="GET", token=token, requests=requests,
                      clients=args.clients, seconds=args.seconds)  # fmt: skip
    print(json.dumps(result, indent=2))
    print(f"access log rows written: {AccessLog.objects.count() - logged_before}")
    print(f"machine after: {machine()}")


if __name__ == "__main__":
    main()
