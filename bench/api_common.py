"""Shared parts of the partner-API benchmarks: a gunicorn server on loopback, a
partner token, and a load generator running in separate processes.

The server is started with ``DEBUG`` off (the production settings) against
``--database-url``; the load comes from ``--clients`` separate processes, each
sending its requests one after the other over its own connections, so the
measured latency is the server's answer time as a partner sees it.
"""

from __future__ import annotations

import datetime
import http.client
import json
import multiprocessing
import os
import secrets
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def django_setup(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "customer360.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def partner_token(client_id: str = "demo-partner-claims") -> str:
    """A fresh 1-hour bearer token of the demo partner (written directly)."""
    from django.utils import timezone
    from oauth2_provider.models import AccessToken, Application, set_token_value

    application = Application.objects.get(client_id=client_id)
    raw = secrets.token_urlsafe(24)
    token = AccessToken(
        application=application,
        expires=timezone.now() + datetime.timedelta(hours=1),
        scope=" ".join(application.api_client.scopes),
    )
    set_token_value(token, raw)
    token.save()
    return raw


def consenting_numbers(limit: int = 5000) -> list[str]:
    """Numbers of customers whose consent covers the demo partner's lens
    (``partner_sharing`` on the ``partner`` channel): reads that answer 200."""
    from consent.models import Channel, Purpose
    from consent.selectors import consent_decisions
    from profiles.models import Customer

    purpose = Purpose.objects.get(code="partner_sharing")
    channel = Channel.objects.get(code="partner")
    ids = list(
        Customer.objects.filter(
            merged_into__isnull=True, is_restricted=False,
            consents__purpose=purpose, consents__channel=channel,
        ).values_list("pk", flat=True).distinct()[:limit]
    )  # fmt: skip
    allowed = [pk for pk, ok in consent_decisions(customer_ids=ids, purpose=purpose,
                                                   channel=channel).items() if ok]  # fmt: skip
    return list(Customer.objects.filter(pk__in=allowed).values_list("customer_number", flat=True))


def ingest_keys(client_id: str = "demo-partner-claims", limit: int = 20000) -> list[str]:
    """Source keys of the demo partner's linked records: items naming them are written."""
    from oauth2_provider.models import Application

    from profiles.models import SourceRecord

    client = Application.objects.get(client_id=client_id).api_client
    return list(
        SourceRecord.objects.filter(
            source_system=client.source_system, customer__isnull=False
        ).values_list("source_key", flat=True)[:limit]
    )


INGEST_KINDS = ("inquiry", "complaint", "feedback", "order")


def ingest_body(keys: Sequence[str], rng: Any, prefix: str, size: int) -> dict[str, Any]:
    """One bulk-interaction request body of ``size`` new calls (external ids ``prefix-i``)."""
    return {"items": [
        {"external_id": f"{prefix}-{i}", "source_key": rng.choice(keys),
         "channel": "phone", "direction": "inbound", "kind": rng.choice(INGEST_KINDS),
         "occurred_at": "2026-11-20T09:30:00+00:00", "sentiment": 0.2,
         "outcome": "resolved", "summary": "Benchmark call about the policy."}
        for i in range(size)
    ]}  # fmt: skip


class Server:
    """gunicorn serving the project on 127.0.0.1:port (context manager)."""

    def __init__(self, *, database_url: str, port: int, workers: int, threads: int) -> None:
        self.port = port
        env = dict(os.environ)
        env.update(
            DEBUG="false",
            SECRET_KEY=secrets.token_urlsafe(50),
            ALLOWED_HOSTS="127.0.0.1",
            DATABASE_URL=database_url,
            SECURE_SSL_REDIRECT="false",
            LOG_LEVEL="WARNING",
            API_THROTTLE_RATE="100000000/minute",
        )
        command = [str(ROOT / ".venv/bin/gunicorn"), "customer360.wsgi", "--no-control-socket",
                   "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
                   "--log-level", "warning"]  # fmt: skip
        if threads > 1:
            command += ["--worker-class", "gthread", "--threads", str(threads)]
        self.command = command
        self.env = env

    def __enter__(self) -> Server:
        self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2)
                return self
            except OSError:
                time.sleep(0.3)
        self.process.terminate()
        raise RuntimeError("gunicorn did not start")

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def _worker(args: tuple[int, str, str, list[dict[str, Any]], float]) -> list[tuple[float, int]]:
    port, method, token, requests, stop_at = args
    results: list[tuple[float, int]] = []
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for request in requests:
        if time.monotonic() > stop_at:
            break
        body = json.dumps(request["body"]).encode() if "body" in request else None
        started = time.perf_counter()
        try:
            connection.request(method, request["path"], body=body, headers=headers)
            answer = connection.getresponse()
            answer.read()
            status = answer.status
            if answer.getheader("Connection", "").lower() == "close":
                connection.close()
        except (http.client.HTTPException, OSError):
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            status = 0
        results.append((time.perf_counter() - started, status))
    return results


def load(
    *, port: int, method: str, token: str, requests: Sequence[dict[str, Any]], clients: int,
    seconds: float,
) -> dict[str, Any]:  # fmt: skip
    """Send ``requests`` split over ``clients`` processes; latency and throughput."""
    chunks = [list(requests[i::clients]) for i in range(clients)]
    context = multiprocessing.get_context("spawn")
    with context.Pool(clients) as pool:
        started = time.perf_counter()
        stop_at = time.monotonic() + seconds
        parts = pool.map(_worker, [(port, method, token, chunk, stop_at) for chunk in chunks])
        elapsed = time.perf_counter() - started
    timings = sorted(t for part in parts for t, _ in part)
    statuses: dict[int, int] = {}
    for part in parts:
        for _, status in part:
            statuses[status] = statuses.get(status, 0) + 1
    quantiles = statistics.quantiles(timings, n=100)
    return {
        "requests": len(timings),
        "seconds": round(elapsed, 2),
        "per_second": round(len(timings) / elapsed, 1),
        "p50_ms": round(quantiles[49] * 1000, 1),
        "p95_ms": round(quantiles[94] * 1000, 1),
        "p99_ms": round(quantiles[98] * 1000, 1),
        "statuses": statuses,
    }


def machine() -> str:
    return os.popen("uptime").read().strip()  # noqa: S605 (fixed command)
