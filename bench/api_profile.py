"""Profile partner-API requests in process: CPU per request, queries, and a
cProfile of the hottest functions.

Calls the project's WSGI application directly (no server, no sockets) with
the production settings (DEBUG off), so the figure is the Django + DRF +
database-client CPU of one request as gunicorn's worker spends it.

    .venv/bin/python bench/api_profile.py --database-url postgres://postgres@127.0.0.1:5432/c360_api_20k
    .venv/bin/python bench/api_profile.py --database-url ... --endpoint ingest --requests 5
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import secrets
import sys
import time
from typing import Any

from api_common import ROOT, consenting_numbers, ingest_body, ingest_keys, partner_token


def _environ(method: str, path: str, token: str, body: bytes) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
    }


def backend_cpu(pid: int) -> float:
    """CPU seconds (user + system) of the PostgreSQL backend serving this process,
    from /proc (a local server); -1 when it cannot be read (remote, other user)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return -1.0
    # utime and stime are fields 14 and 15 of stat(5); [0] here is field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--endpoint", choices=["context", "ingest", "base"], default="context")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--top", type=int, default=35)
    args = parser.parse_args()

    os.environ.update(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=args.database_url,
        SECURE_SSL_REDIRECT="false",
        LOG_LEVEL="WARNING",
        API_THROTTLE_RATE="100000000/minute",
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "customer360.settings")
    sys.path.insert(0, str(ROOT))
    from django.core.wsgi import get_wsgi_application
    from django.db import connection

    application = get_wsgi_application()
    token = partner_token()
    rng = random.Random(7)
    if args.endpoint == "context":
        numbers = consenting_numbers()
    elif args.endpoint == "ingest":
        keys = ingest_keys()
    run = secrets.token_hex(3)

    def calls_for(phase: str) -> list[tuple[str, str, bytes]]:
        """The requests of one phase; ingest items are new in every phase."""
        if args.endpoint == "context":
            return [("GET", f"/api/v1/customers/{rng.choice(numbers)}/context/", b"")
                    for _ in range(args.requests)]  # fmt: skip
        if args.endpoint == "base":
            # Middleware, URL resolution and a JSON answer, nothing else: the floor.
            return [("GET", "/api/v1/no-such-endpoint/", b"")] * args.requests
        return [("POST", "/api/v1/interactions/bulk/",
                 json.dumps(ingest_body(keys, rng, f"PROF-{run}-{phase}-{b}", 1000)).encode())
                for b in range(args.requests)]  # fmt: skip

    statuses: dict[str, int] = {}

    def start_response(status: str, headers: list[Any], exc_info: Any = None) -> None:
        statuses[status] = statuses.get(status, 0) + 1

    def call(method: str, path: str, body: bytes) -> None:
        result = application(_environ(method, path, token, body), start_response)
        b"".join(result)
        if hasattr(result, "close"):
            result.close()

    warm = calls_for("warm")
    for c in warm[: max(1, len(warm) // 10)]:
        call(*c)
    queries: list[tuple[str, float]] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            queries.append((sql, time.perf_counter() - started))

    with connection.execute_wrapper(record):
        call(*warm[-1])
    statuses.clear()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    calls = calls_for("timed")
    cpu, wall, server = time.process_time(), time.perf_counter(), backend_cpu(backend)
    for c in calls:
        call(*c)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    server = backend_cpu(backend) - server
    profiler = cProfile.Profile(time.process_time)
    calls = calls_for("profiled")
    profiler.enable()
    for c in calls:
        call(*c)
    profiler.disable()
    print(f"{len(calls)} {args.endpoint} requests, statuses {statuses}")
    print(
        f"CPU {cpu / len(calls) * 1000:.2f} ms per request, wall {wall / len(calls) * 1000:.2f} ms"
    )
    if server >= 0:
        print(f"PostgreSQL backend CPU {server / len(calls) * 1000:.1f} ms per request")
    print(f"{len(queries)} queries per request:")
    for sql, seconds in queries:
        print(f"  {seconds * 1000:7.1f} ms", " ".join(sql.split())[:140])
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.top)
    print(out.getvalue())
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.top)
    print(out.getvalue())


if __name__ == "__main__":
    main()
