"""Server time of the agent's search and context card on a seeded database.

Runs in process against an existing, migrated database (``DATABASE_URL``),
calling the views with ``RequestFactory`` as the seeded ``agent`` user, and
times each call (the view, its queries and the template; no network, no
middleware). Queries come from real customers: a misspelt name (two inner
letters of the family name swapped, the given name as a nickname when there
is one), the phone as a person says it ("06 12 34 56 78"), the e-mail in
upper case, the customer number; then the card and each of its panels
(timeline, next best actions, consent) for the same customers. Prints a
markdown table, with the load average (``os.getloadavg``) before and after.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/c360_1m \\
        .venv/bin/python bench/screens_bench.py --samples 100
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "customer360.settings")
os.environ.setdefault("DEBUG", "true")


def misspell(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def spoken_phone(e164: str) -> str:
    if e164.startswith("+31"):
        digits = "0" + e164[3:]
        return " ".join(digits[i : i + 2] for i in range(0, len(digits), 2))
    return e164


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--user", default="agent")
    args = parser.parse_args()

    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.db import connection, reset_queries
    from django.test import RequestFactory
    from django.test.utils import CaptureQueriesContext

    from consent.views import customer_consent_panel
    from customer360.views import home
    from profiles.identity.nicknames import FORMAL_NAMES
    from profiles.models import Customer
    from profiles.views import customer_actions_panel, customer_card, customer_timeline_panel

    load_before = os.getloadavg()[0]
    rng = random.Random(args.seed)
    user = User.objects.get(username=args.user)
    factory = RequestFactory()
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id) FROM profiles_customer")
        low, high = cursor.fetchone()
    total = Customer.objects.filter(merged_into__isnull=True).count()
    picked: list[Customer] = []
    while len(picked) < args.samples:
        ids = [rng.randint(low, high) for _ in range(args.samples)]
        picked += list(
            Customer.objects.filter(
                pk__in=ids, merged_into__isnull=True, is_restricted=False
            ).exclude(family_name="")
        )
    picked = picked[: args.samples]

    def run(view: Callable[..., object], path: str, **kwargs: object) -> tuple[float, int]:
        request = factory.get(path)
        request.user = user
        request.session = {"lens": "service-call"}  # type: ignore[assignment]
        reset_queries()
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = view(request, **kwargs)
            elapsed = time.perf_counter() - started
        assert response.status_code == 200, (path, response.status_code)  # type: ignore[attr-defined]
        return elapsed * 1000, len(queries.captured_queries)

    def name_query(c: Customer) -> str:
        given = c.given_name
        nicknames = FORMAL_NAMES.get(given.lower())
        if nicknames and rng.random() < 0.5:
            given = nicknames[0].title()
        return f"{given} {misspell(c.family_name, rng)}"

    kinds: dict[str, Callable[[Customer], str]] = {
        "misspelt name": name_query,
        "phone as spoken": lambda c: spoken_phone(c.phone) if c.phone else c.customer_number,
        "e-mail, upper case": lambda c: c.email.upper() if c.email else c.customer_number,
        "customer number": lambda c: c.customer_number,
    }
    rows: list[tuple[str, list[float], list[int], float, float]] = []
    # Warm up connections and caches.
    for c in picked[:5]:
        run(home, f"/?q={c.customer_number}")
        run(customer_card, f"/customers/{c.customer_number}/", number=c.customer_number)
    for label, make in kinds.items():
        times, counts, found, tied = [], [], 0, 0
        from urllib.parse import urlencode

        from profiles.search import NAME_CANDIDATES, customer_search

        for c in picked:
            query = make(c)
            ms, n = run(home, "/?" + urlencode({"q": query}))
            times.append(ms)
            counts.append(n)
            hits = customer_search(user=user, query=query, limit=NAME_CANDIDATES)
            found += any(hit.customer.pk == c.pk for hit in hits[:5])
            # Namesakes: at 1M people many share a given and family name exactly,
            # and a name alone cannot tell them apart. Counted as found when the
            # person scores as high as the fifth result (ties with the top five).
            mine = next((hit.score for hit in hits if hit.customer.pk == c.pk), None)
            tied += mine is not None and mine >= hits[min(4, len(hits) - 1)].score
        rows.append((f"search: {label}", times, counts, found / len(picked), tied / len(picked)))
    for label, view, suffix in (
        ("context card", customer_card, ""),
        ("timeline panel (first page)", customer_timeline_panel, "timeline/"),
        ("next best actions panel", customer_actions_panel, "actions/"),
        ("consent panel", customer_consent_panel, "consent/"),
    ):
        times, counts = [], []
        for c in picked:
            ms, n = run(view, f"/customers/{c.customer_number}/{suffix}", number=c.customer_number)
            times.append(ms)
            counts.append(n)
        rows.append((label, times, counts, -1.0, -1.0))

    print(
        f"\n{total:,} surviving customers; {len(picked)} samples per row; {connection.vendor}; "
        f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after\n"
    )
    print("| request | p50 ms | p95 ms | max ms | queries | found in top 5 | top 5 with ties |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, times, counts, found, tied in rows:
        ordered = sorted(times)
        p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
        found_text = f"{found:.1%} | {tied:.1%}" if found >= 0 else "— | —"
        print(
            f"| {label} | {statistics.median(ordered):.1f} | {p95:.1f} | {ordered[-1]:.1f} "
            f"| {min(counts)}-{max(counts)} | {found_text} |"
        )


if __name__ == "__main__":
    main()
