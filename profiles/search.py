"""One search box for the agent: name, phone, e-mail, customer number, silo key.

How it stays fast at a million customers without a search server:

* identifiers are exact, indexed look-ups: the customer number (unique), the
  phone in E.164 (``customer_phone``), the lower-case e-mail
  (``customer_email``) and any silo's own key (``sourcerecord_key_search``, added
  by migration 0005 because the unique index leads with the source system);
* names go through a trigram index on PostgreSQL, but not over the customer
  table: over the dictionary of distinct lower-case "given family" names
  (``profiles_search_name``, kept by triggers, migration 0008), whose
  ``pg_trgm`` GIN index finds the names similar to the query; the customers
  bearing the best names then come from a B-tree on the same expression
  (``customer_name_key``). Searching the customer table itself rechecked
  thousands of wide rows for a common name (p95 600 ms at 1M); the
  dictionary is a fraction of the rows, each a few bytes. Trigrams are
  order-free, so "Smith John" finds John Smith, and a typo keeps most
  trigrams, so "Jonh Smiht" does too. A nickname is searched as its formal
  name as well ("Bob" and "Robert"). The database returns at most
  ``NAME_CANDIDATES`` customers, best-matching names first; Python then scores
  them per part and says why each matched.
* SQLite (the embedded demo) has no trigram index: the same scoring runs over a
  scan of surviving customers' names, which suits the demo's thousands, not a
  million.

Restricted profiles are left out for users without access: the last query goes
through ``customer_list``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import jellyfish
from django.contrib.auth.models import AnonymousUser, User
from django.db import connection
from django.db.models import OuterRef, Subquery

from .identity.nicknames import FORMAL_NAMES, formal_name
from .identity.normalize import clean_text, normalize_phone
from .models import Customer, HouseholdMembership, SourceRecord
from .numbers import is_valid_customer_number
from .selectors import customer_list

NAME_CANDIDATES = 200
MAX_RESULTS = 20
# Below this combined name score a candidate is noise, not a match.
MIN_NAME_SCORE = 0.6
# Jaro-Winkler similarity from which two name parts count as one name misspelt.
TYPO_SIMILARITY = 0.85
_PHONE_LIKE = re.compile(r"^[+()\d][\d\s().\-/]{5,}$")

# The indexed name expression (migration 0008: ``customer_name_key`` and the
# dictionary ``profiles_search_name`` its triggers keep).
NAME_EXPRESSION = "lower(given_name || ' ' || family_name)"
SEARCH_NAME_TABLE = "profiles_search_name"


@dataclass(slots=True)
class SearchHit:
    """One customer found, how well, and why (in words the agent reads)."""

    customer: Customer
    score: float
    reasons: list[str] = field(default_factory=list)


def _name_variants(tokens: list[str]) -> list[str]:
    """The query with each nickname also as its formal name, and the reverse."""
    variants = [" ".join(tokens)]
    for index, token in enumerate(tokens):
        formal = formal_name(token)
        alternatives = {formal} if formal != token else set()
        alternatives |= set(FORMAL_NAMES.get(token, ())[:2])
        for alternative in sorted(alternatives):
            variant = " ".join([*tokens[:index], alternative, *tokens[index + 1 :]])
            if variant not in variants:
                variants.append(variant)
    return variants[:3]


def _part_score(token: str, value: str, *, given: bool) -> tuple[float, str]:
    """How well one query word matches one name part, and the reason."""
    if not token or not value:
        return 0.0, ""
    words = value.split()
    joined = value.replace(" ", "")
    if token == joined or token in words:
        return 1.0, "exact"
    if given and formal_name(token) == formal_name(words[0]):
        return 0.95, "nickname"
    if len(token) == 1 and words[0].startswith(token):
        return 0.8, "initial"
    similarity = max(
        jellyfish.jaro_winkler_similarity(token, joined),
        *(jellyfish.jaro_winkler_similarity(token, word) for word in words),
    )
    if similarity >= TYPO_SIMILARITY:
        return similarity * 0.9, "spelled differently"
    return 0.0, ""


_LABELS = {"given": "given name", "family": "family name"}


def name_match(tokens: list[str], given: str, family: str) -> tuple[float, list[str]]:
    """Score a name query against one customer's name, and explain it.

    Tries the query as "given family" and as "family given" (swapped); a
    single word matches either part (scaled down: one part is weaker evidence).
    """
    given_c, family_c = clean_text(given), clean_text(family)
    if not tokens:
        return 0.0, []
    if len(tokens) == 1:
        options = [
            (_part_score(tokens[0], family_c, given=False), "family"),
            (_part_score(tokens[0], given_c, given=True), "given"),
        ]
        (score, how), part = max(options, key=lambda option: option[0][0])
        return (score * 0.8, [f"{_LABELS[part]}: {how}"]) if score else (0.0, [])
    best: tuple[float, list[str]] = (0.0, [])
    orders = (
        (tokens[0], " ".join(tokens[1:]), False),
        (tokens[-1], " ".join(tokens[:-1]), True),
    )
    for given_token, family_tokens, swapped in orders:
        g_score, g_how = _part_score(given_token, given_c, given=True)
        f_score, f_how = _part_score(family_tokens.replace(" ", ""), family_c, given=False)
        if not f_score:
            f_score, f_how = _part_score(family_tokens.split()[-1], family_c, given=False)
        if not (g_score and f_score):
            continue
        score = (g_score + f_score) / 2 - (0.02 if swapped else 0.0)
        reasons = [f"given name: {g_how}", f"family name: {f_how}"]
        if swapped:
            reasons.append("given and family name swapped")
        if score > best[0]:
            best = (score, reasons)
    return best


def _candidates_sql(variants: int) -> str:
    """The name-candidate query for ``variants`` spellings of the query.

    One trigram index scan of the name dictionary per variant (an OR of ``%``
    conditions makes the planner give up the index), each name's best
    similarity, the best ``NAME_CANDIDATES`` names; then, name by name, their
    surviving bearers through ``customer_name_key`` (at most
    ``NAME_CANDIDATES`` each), best names first.
    """
    one = f"SELECT name, similarity(name, %s) AS s FROM {SEARCH_NAME_TABLE} WHERE name %% %s"  # noqa: S608
    return (
        f"WITH names AS (SELECT name, max(s) AS s FROM ({' UNION ALL '.join([one] * variants)}) "  # noqa: S608
        f"AS matched GROUP BY name ORDER BY s DESC, name LIMIT {NAME_CANDIDATES}) "
        f"SELECT bearer.id FROM names CROSS JOIN LATERAL (SELECT id FROM {Customer._meta.db_table} "
        f"WHERE {NAME_EXPRESSION} = names.name AND merged_into_id IS NULL "
        f"LIMIT {NAME_CANDIDATES}) AS bearer "
        f"ORDER BY names.s DESC, names.name, bearer.id LIMIT {NAME_CANDIDATES}"
    )


def _name_candidates(tokens: list[str]) -> list[int]:
    """Ids of surviving customers whose name may match, best first (indexed on PostgreSQL)."""
    if connection.vendor == "postgresql":
        variants = _name_variants(tokens)
        with connection.cursor() as cursor:
            cursor.execute(
                _candidates_sql(len(variants)),
                [value for variant in variants for value in (variant, variant)],
            )
            return [row[0] for row in cursor.fetchall()]
    # Embedded demo: score every surviving name in process.
    scored = []
    rows = Customer.objects.filter(merged_into__isnull=True).values_list(
        "pk", "given_name", "family_name"
    )
    for pk, given, family in rows.iterator(chunk_size=5000):
        score, _ = name_match(tokens, given, family)
        if score >= MIN_NAME_SCORE:
            scored.append((score, pk))
    scored.sort(reverse=True)
    return [pk for _, pk in scored[:NAME_CANDIDATES]]


def _identifier_hits(query: str) -> dict[int, list[str]]:
    """Customer id -> reasons, for every identifier the query may be."""
    text = query.strip()
    hits: dict[int, list[str]] = {}

    def add(pk: int | None, reason: str) -> None:
        if pk is not None:
            hits.setdefault(pk, []).append(reason)

    upper = text.upper()
    if is_valid_customer_number(upper):
        row = Customer.objects.filter(customer_number=upper).values_list("pk", "merged_into")
        for pk, merged_into in row:
            if merged_into is None:
                add(pk, "customer number")
            else:
                survivor = _survivor_id(merged_into)
                add(survivor, f"old customer number {upper} (merged into this customer)")
    if "@" in text:
        for pk, merged_into in Customer.objects.filter(email=text.lower()).values_list(
            "pk", "merged_into"
        ):
            add(pk if merged_into is None else None, "e-mail address")
    if _PHONE_LIKE.match(text):
        try:
            e164 = normalize_phone(text)
        except ValueError:
            e164 = ""
        if e164:
            for pk in Customer.objects.filter(phone=e164, merged_into__isnull=True).values_list(
                "pk", flat=True
            ):
                add(pk, "phone number")
    if len(text) >= 3 and " " not in text:
        for pk, merged_into, system in SourceRecord.objects.filter(
            source_key=text, customer__isnull=False
        ).values_list("customer_id", "customer__merged_into", "source_system__name"):
            target = pk if merged_into is None else _survivor_id(merged_into)
            add(target, f"{system} key")
    return hits


def _survivor_id(pk: int) -> int | None:
    """Follow a merge chain to its surviving customer's id (short chains: one query each)."""
    seen: set[int] = set()
    current: int | None = pk
    while current is not None and current not in seen:
        seen.add(current)
        merged_into = (
            Customer.objects.filter(pk=current).values_list("merged_into", flat=True).first()
        )
        if merged_into is None:
            return current
        current = merged_into
    return None


def customer_search(
    *, user: User | AnonymousUser, query: str, limit: int = MAX_RESULTS
) -> list[SearchHit]:
    """Customers ``user`` may see that match ``query``, best first, each with reasons.

    Identifiers (customer number, e-mail, phone, a silo's key) rank above
    names. Restricted profiles the user has no access to are never returned,
    not even as a count.
    """
    query = query.strip()[:200]
    if not query:
        return []
    hits = _identifier_hits(query)
    scores: dict[int, float] = dict.fromkeys(hits, 1.0)
    tokens = [t for t in clean_text(query).split() if t]
    name_like = "@" not in query and any(c.isalpha() for c in query)
    candidate_ids: list[int] = []
    if name_like and tokens and not is_valid_customer_number(query.upper()):
        candidate_ids = _name_candidates(tokens)
    wanted = list(dict.fromkeys([*hits, *candidate_ids]))
    if not wanted:
        return []
    household = HouseholdMembership.objects.filter(
        customer=OuterRef("pk"), valid_to__isnull=True
    ).values("household__label")[:1]
    customers = (
        customer_list(user=user)
        .filter(pk__in=wanted)
        .annotate(household_label=Subquery(household))
        .only(
            "customer_number",
            "given_name",
            "middle_name",
            "family_name",
            "locality",
            "postcode",
            "date_of_birth",
            "is_restricted",
            "lifecycle_status",
        )
    )
    results: list[SearchHit] = []
    for customer in customers:
        reasons = list(hits.get(customer.pk, []))
        score = scores.get(customer.pk, 0.0)
        if customer.pk in candidate_ids:
            name_score, name_reasons = name_match(tokens, customer.given_name, customer.family_name)
            if name_score >= MIN_NAME_SCORE:
                score = max(score, name_score)
                reasons.extend(name_reasons)
        if score > 0:
            results.append(SearchHit(customer=customer, score=round(score, 3), reasons=reasons))
    results.sort(key=lambda hit: (-hit.score, hit.customer.customer_number))
    return results[:limit]


def search_reasons_text(reasons: Iterable[str]) -> str:
    return "; ".join(reasons)
