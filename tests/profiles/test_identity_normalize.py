"""Normalizers, comparators, blocking keys and EM estimation (pure functions)."""

from __future__ import annotations

import datetime
from collections import Counter

import pytest

from profiles.identity.blocking import blocking_keys
from profiles.identity.normalize import (
    ascii_fold,
    match_features,
    normalize_address_line,
    normalize_email,
    normalize_family_name,
    normalize_given_name,
    normalize_phone,
    normalize_postcode,
    parse_date,
    validate_canonical,
)
from profiles.identity.scoring import (
    DEFAULT_PARAMS,
    FIELDS,
    Weights,
    compare,
    em_estimate,
    score,
    u_from_random_pairs,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Bob", "robert"),
        ("Liz", "elizabeth"),
        ("ROBERT", "robert"),
        ("Dr. Robert J.", "robert"),
        ("Zoë", "zoe"),
        ("Kees", "cornelis"),
        ("", ""),
    ],
)
def test_given_name_normalized(raw: str, expected: str) -> None:
    assert normalize_given_name(raw) == expected


def test_family_name_keeps_particles_and_drops_accents() -> None:
    assert normalize_family_name("van der Berg") == "vanderberg"
    assert normalize_family_name("Müller-Lüdenscheidt") == "mullerludenscheidt"
    assert ascii_fold("Ó'Brien") == "o'brien"


def test_phone_email_date_postcode_address() -> None:
    assert normalize_phone("06 1234 5678") == "+31612345678"
    assert normalize_phone("+31 (0)6-12345678") == "+31612345678"
    with pytest.raises(ValueError, match="not a valid phone"):
        normalize_phone("12")
    assert normalize_email(" Ada@Example.ORG ") == "ada@example.org"
    with pytest.raises(ValueError, match="not an e-mail"):
        normalize_email("ada.example.org")
    assert parse_date("10/12/1985") == datetime.date(1985, 12, 10)
    assert parse_date("1985-12-10") == datetime.date(1985, 12, 10)
    with pytest.raises(ValueError, match="not a date"):
        parse_date("31/02/1985")
    assert normalize_postcode("1234 ab") == "1234AB"
    assert normalize_address_line("12 High St., Apt 4") == "12 high street unit 4"
    assert normalize_address_line("12 High Street apartment 4") == "12 high street unit 4"


def test_validate_canonical_reports_each_bad_field() -> None:
    cleaned, problems = validate_canonical(
        {"email": "nope", "phone": "0612345678", "date_of_birth": "2999-01-01"}
    )
    assert cleaned["phone"] == "+31612345678"
    assert set(problems) == {"email", "date_of_birth"}


ADA = {
    "given_name": "Ada",
    "family_name": "Lovelace",
    "date_of_birth": "1985-12-10",
    "email": "ada@example.org",
    "phone": "+31612345678",
    "postcode": "1234AB",
    "address_line1": "12 High Street",
}


def test_comparator_levels() -> None:
    a = match_features(ADA)
    nickname = match_features({**ADA, "given_name": "Adda", "date_of_birth": "1985-10-12"})
    levels = dict(zip(FIELDS, compare(a, nickname), strict=True))
    assert levels["given_name"] == "close"
    assert levels["date_of_birth"] == "close"  # day and month swapped
    assert levels["national_id"] == "missing"
    swapped = match_features({**ADA, "given_name": "Lovelace", "family_name": "Ada"})
    swapped_levels = dict(zip(FIELDS, compare(a, swapped), strict=True))
    assert swapped_levels["given_name"] == "exact"
    assert swapped_levels["family_name"] == "exact"
    other = match_features(
        {"given_name": "Grace", "family_name": "Hopper", "date_of_birth": "1906-12-09"}
    )
    assert dict(zip(FIELDS, compare(a, other), strict=True))["family_name"] == "different"


def test_score_explains_every_field_and_orders_pairs() -> None:
    weights = Weights.from_params(DEFAULT_PARAMS)
    a = match_features(ADA)
    same = score(a, match_features({**ADA, "given_name": "ADA ", "email": ""}), weights)
    different = score(
        a,
        match_features(
            {
                **ADA,
                "given_name": "Grace",
                "date_of_birth": "1970-01-01",
                "email": "g@example.org",
                "phone": "",
            }
        ),
        weights,
    )
    assert same.probability > 0.99
    assert different.probability < same.probability
    assert [step["field"] for step in same.explanation] == ["prior", *FIELDS]
    assert sum(step["weight"] for step in same.explanation) == pytest.approx(
        same.match_weight, abs=0.01
    )
    email = next(step for step in same.explanation if step["field"] == "email")
    assert email == {
        "field": "email",
        "level": "missing",
        "weight": 0.0,
        "left": "ada@example.org",
        "right": "",
    }


def test_blocking_keys_cover_several_rules() -> None:
    rules = {rule for rule, _ in blocking_keys(match_features({**ADA, "national_id": "123"}))}
    assert rules == {"email", "phone", "name_postcode", "dob_initial", "dob_family", "national_id"}
    assert blocking_keys(match_features({})) == []


def test_em_learns_that_agreement_means_a_match() -> None:
    people = [
        match_features({"given_name": g, "family_name": f, "date_of_birth": d})
        for g, f, d in [
            ("Ada", "Lovelace", "1985-12-10"), ("Grace", "Hopper", "1906-12-09"),
            ("Alan", "Turing", "1912-06-23"), ("Edsger", "Dijkstra", "1930-05-11"),
            ("Barbara", "Liskov", "1939-11-07"), ("Donald", "Knuth", "1938-01-10"),
        ]
    ]  # fmt: skip
    u = u_from_random_pairs(people, pairs=500)
    patterns: Counter[tuple[str, ...]] = Counter()
    for person in people:
        patterns[compare(person, person)] += 10  # duplicates agree
    for i, left in enumerate(people):
        for right in people[i + 1 :]:
            patterns[compare(left, right)] += 5  # blocked non-matches disagree
    params = em_estimate(patterns, start=DEFAULT_PARAMS, fixed_u=u)
    family = params["fields"]["family_name"]
    assert family["m"]["exact"] > 0.9
    assert 0 < params["prior"] < 1
    weights = Weights.from_params(params)
    assert (
        weights.by_field["family_name"]["exact"] > 0 > weights.by_field["family_name"]["different"]
    )
