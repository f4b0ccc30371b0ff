"""Benchmark bulk interaction ingest through the API under gunicorn.

Sends ``POST /api/v1/interactions/bulk/`` with ``--batch`` new interactions
per request (the demo partner's own source keys, so every item is written),
from ``--clients`` separate processes, and reports items written per second.
The interactions it creates carry external ids ``BENCH-<run>-...``.

    .venv/bin/python bench/api_ingest.py --database-url postgres://postgres@127.0.0.1:5432/api_bench
"""

from __future__ import annotations

import argparse
import json
import random
import secrets

from api_common import Server, django_setup, ingest_body, ingest_keys, load, machine, partner_token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--port", type=int, default=8732)
    args = parser.parse_args()

    django_setup(args.database_url)
    from customer360.models import ApiClient
    from profiles.models import Interaction

    keys = ingest_keys()
    token = partner_token()
    run = secrets.token_hex(3)
    rng = random.Random(11)
    requests = [
        {"path": "/api/v1/interactions/bulk/",
         "body": ingest_body(keys, rng, f"BENCH-{run}-{b}", args.batch)}
        for b in range(args.batches)
    ]  # fmt: skip
    print(f"machine before: {machine()}")
    with Server(database_url=args.database_url, port=args.port, workers=args.workers,
                threads=args.threads):  # fmt: skip
        result = load(port=args.port, method="POST", token=token, requests=requests,
                      clients=args.clients, seconds=600)  # fmt: skip
    # Only this run's items (by their external ids, through the natural-key index):
    # counting the whole table would also count whatever else writes interactions.
    ids = [item["external_id"] for request in requests for item in request["body"]["items"]]
    system = ApiClient.objects.get(application__client_id="demo-partner-claims").source_system_id
    written = sum(
        Interaction.objects.filter(source_system_id=system, external_id__in=ids[i : i + 1000])
        .exclude(external_id="").order_by().count()
        for i in range(0, len(ids), 1000)
    )  # fmt: skip
    result["items_written"] = written
    result["items_per_second"] = round(written / result["seconds"], 1)
    print(json.dumps(result, indent=2))
    print(f"machine after: {machine()}")


if __name__ == "__main__":
    main()
