"""Normalizers, comparators, blocking keys and EM estimation (pure functions)."""

from __future__ import annotations

import datetime
import math
from collections import Counter

import pytest

from profiles.identity.blocking import blocking_keys
from profiles.identity.config import MatchSettings
from profiles.identity.matching import cluster_score
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
    record_features,
    validate_canonical,
)
from profiles.identity.scoring import (
    DEFAULT_PARAMS,
    FIELDS,
    Weights,
    compare,
    em_estimate,
    pair_weight,
    params_as_levels,
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
    # The ISO form has a fast path; what it refuses still goes through the formats.
    assert parse_date(" 1985-12-10 ") == datetime.date(1985, 12, 10)
    assert parse_date("10-12-1985") == datetime.date(1985, 12, 10)
    with pytest.raises(ValueError, match="not a date"):
        parse_date("1985-02-30")
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


def levels_of(left: dict[str, str], right: dict[str, str]) -> dict[str, str]:
    return dict(zip(FIELDS, compare(match_features(left), match_features(right)), strict=True))


def test_given_name_levels() -> None:
    assert levels_of(ADA, {**ADA, "given_name": "ADA"})["given_name"] == "exact"
    bob = {**ADA, "given_name": "Robert"}
    assert levels_of(bob, {**ADA, "given_name": "Bob"})["given_name"] == "exact"  # nickname
    assert levels_of(bob, {**ADA, "given_name": "Robrt"})["given_name"] == "close"  # typo
    assert levels_of(bob, {**ADA, "given_name": "R."})["given_name"] == "initial"
    assert levels_of(bob, {**ADA, "given_name": "T."})["given_name"] == "different"
    assert levels_of(bob, {**ADA, "given_name": "Grace"})["given_name"] == "different"
    assert levels_of(bob, {**ADA, "given_name": ""})["given_name"] == "missing"


def test_given_names_that_the_nicknames_dataset_relates_agree() -> None:
    """Beyond our own table (exact): a name listed as a direct nickname of the
    other in the curated ``nicknames`` dataset is close, either way round and
    whatever our table made of the formal one ("Peter" -> "petrus"); two
    nicknames of one name are not ("Hal" and "Hank", both Henry's)."""
    peter = {**ADA, "given_name": "Peter"}
    assert match_features(peter).given == "petrus"
    assert levels_of(peter, {**ADA, "given_name": "Pete"})["given_name"] == "close"
    assert levels_of({**ADA, "given_name": "pete"}, peter)["given_name"] == "close"
    assert (
        levels_of({**ADA, "given_name": "Mary"}, {**ADA, "given_name": "Polly"})["given_name"]
        == "close"
    )
    henry = {**ADA, "given_name": "Henry"}
    assert levels_of(henry, {**ADA, "given_name": "Hal"})["given_name"] == "close"
    assert levels_of(henry, {**ADA, "given_name": "Hank"})["given_name"] == "close"
    assert (
        levels_of({**ADA, "given_name": "Hal"}, {**ADA, "given_name": "Hank"})["given_name"]
        == "different"
    )


def test_swapped_names_agree_with_a_typo_and_with_particles() -> None:
    swapped = levels_of(ADA, {**ADA, "given_name": "Lovelcae", "family_name": "Ada"})
    assert (swapped["given_name"], swapped["family_name"]) == ("exact", "close")
    dutch = {**ADA, "given_name": "Bas", "family_name": "van der Heijden"}
    boxes = levels_of(dutch, {**dutch, "given_name": "Van der Heijden", "family_name": "Bas"})
    assert (boxes["given_name"], boxes["family_name"]) == ("exact", "exact")
    # Two different people whose names merely cross are not swapped.
    other = levels_of(ADA, {**ADA, "given_name": "Grace", "family_name": "Ada"})
    assert other["given_name"] == "different"


def test_date_of_birth_levels() -> None:
    def level(other: str) -> str:
        return levels_of(ADA, {**ADA, "date_of_birth": other})["date_of_birth"]

    assert level("1985-12-10") == "exact"
    assert level("1985-10-12") == "close"  # day and month swapped
    assert level("1985-12-11") == "close"  # one digit
    assert level("1985-12-01") == "close"  # two digits swapped
    assert level("1985-03-02") == "year"
    assert level("1988-03-02") == "different"


def test_address_levels_count_line_and_postcode_once() -> None:
    def level(**other: str) -> str:
        return levels_of(ADA, {**ADA, **other})["address"]

    assert level(address_line1="12 High St.") == "exact"
    assert level(postcode="1234AC") == "close"
    assert level(address_line1="12 Hihg Street") == "close"
    assert level(address_line1="12 Highstreet") == "close"  # a missing space
    assert level(postcode="1243AB") == "close"  # two digits swapped
    assert level(postcode="9999ZZ") == "partial"  # same line, another town
    assert level(address_line1="14 High Street") == "close"  # a digit wrong
    assert level(address_line1="12 Church Street") == "partial"  # much alike
    assert level(address_line1="3 Station Road") == "postcode"
    assert level(address_line1="3 Station Road", postcode="9999ZZ") == "different"
    assert level(address_line1="") == "close"  # the postcode is all one side has
    assert level(address_line1="", postcode="") == "missing"
    assert "postcode" not in FIELDS and "address" in FIELDS


def test_identifiers_with_two_digits_swapped_are_close() -> None:
    ids = {**ADA, "national_id": "4503673"}
    assert levels_of(ids, {**ids, "national_id": "4503763"})["national_id"] == "close"
    assert levels_of(ids, {**ids, "national_id": "4503674"})["national_id"] == "close"
    assert levels_of(ids, {**ids, "national_id": "4530763"})["national_id"] == "different"
    assert levels_of(ADA, {**ADA, "phone": "+31612345687"})["phone"] == "close"


def test_given_name_disagreement_outweighs_shared_birth_date_and_address() -> None:
    """Twins at one address (same family name, date of birth, street and
    postcode, different given names) are not merged automatically; the same
    person written with a nickname, an initial or swapped names is."""
    weights = Weights.from_params(DEFAULT_PARAMS)
    settings = MatchSettings(auto_merge_threshold=0.99, review_threshold=0.8, source="test")
    home = {k: v for k, v in ADA.items() if k not in ("email", "phone")}
    twin = score(match_features(home), match_features({**home, "given_name": "Grace"}), weights)
    assert settings.decision(twin.probability) != "merge"
    sibling = {**home, "given_name": "Grace", "date_of_birth": "1988-03-02"}
    assert settings.decision(score(match_features(home), match_features(sibling), weights)
                             .probability) == "separate"  # fmt: skip
    for same in ({"given_name": "A."}, {"given_name": "Lovelace", "family_name": "Ada"},
                 {"given_name": "Adda"}):  # fmt: skip
        result = score(match_features(home), match_features({**home, **same}), weights)
        assert settings.decision(result.probability) == "merge", same
    shared = {step["field"]: step["weight"] for step in twin.explanation}
    assert shared["family_name at the same address"] < 0
    assert shared["date_of_birth at the same address"] < 0
    assert twin.match_weight == pytest.approx(sum(shared.values()), abs=0.01)


def test_models_stored_before_the_new_levels_still_score() -> None:
    """A model trained with three levels per field and separate postcode and
    street-line fields reads its close weight for the new levels."""
    old = {
        "prior": 0.05,
        "fields": {
            **{n: s for n, s in DEFAULT_PARAMS["fields"].items() if n not in ("given_name", "address")},  # noqa: E501
            "given_name": {"m": [0.86, 0.1, 0.04], "u": [0.02, 0.03, 0.95]},
            "date_of_birth": {"m": [0.9, 0.07, 0.03], "u": [0.003, 0.015, 0.982]},
            "postcode": {"m": [0.8, 0.08, 0.12], "u": [0.01, 0.04, 0.95]},
            "address_line1": {"m": [0.75, 0.12, 0.13], "u": [0.005, 0.02, 0.975]},
        },
    }  # fmt: skip
    weights = Weights.from_params(old)
    assert weights.by_field["given_name"]["initial"] == weights.by_field["given_name"]["close"]
    assert weights.by_field["address"]["exact"] == pytest.approx(math.log2(0.75 / 0.005))
    assert (
        weights.by_field["date_of_birth"]["year"] == weights.by_field["date_of_birth"]["different"]
    )


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
    # Prior, every field, then the corrections for what the pair shares at one address.
    assert [step["field"] for step in same.explanation] == [
        "prior", *FIELDS, "family_name at the same address", "date_of_birth at the same address"
    ]  # fmt: skip
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


def test_a_cluster_score_is_its_best_pair_explained_and_its_worst_pair() -> None:
    weights = Weights.from_params(DEFAULT_PARAMS)
    left = [match_features(ADA), match_features({**ADA, "email": "", "phone": ""})]
    right = [
        match_features({**ADA, "given_name": "Adda"}),
        match_features({**ADA, "given_name": "Grace", "date_of_birth": "1970-01-01"}),
    ]
    result = cluster_score(left, right, weights)
    pairs = [score(a, b, weights) for a in left for b in right]
    best = max(pairs, key=lambda p: p.match_weight)  # the first of equal weights, as before
    assert result is not None
    assert (result.match_weight, result.probability) == (best.match_weight, best.probability)
    assert result.best == best  # the explanation, made when asked for
    assert result.worst_probability == min(p.probability for p in pairs)
    assert [pair_weight(a, b, weights) for a in left for b in right] == pytest.approx(
        [p.match_weight for p in pairs], abs=0.0005
    )
    assert cluster_score([], right, weights) is None


def test_record_features_are_match_features_remembered() -> None:
    values = {**ADA, "given_name": "Bob"}
    assert record_features(values) == match_features(values)
    assert record_features(dict(reversed(values.items()))) is record_features(values)
    # A value that cannot be a cache key is computed afresh, not refused.
    odd = {**ADA, "national_id": ["1", "2"]}
    assert record_features(odd) == match_features(odd)


def test_blocking_keys_cover_several_rules() -> None:
    rules = {rule for rule, _ in blocking_keys(match_features({**ADA, "national_id": "123"}))}
    assert rules == {
        "email", "phone", "name_postcode", "names_postcode", "dob_initial", "dob_names",
        "national_id",
    }  # fmt: skip
    # Names swapped between the boxes share the swap-proof keys.
    swapped = match_features({**ADA, "given_name": "Lovelace", "family_name": "Ada"})
    shared = set(blocking_keys(match_features(ADA))) & set(blocking_keys(swapped))
    assert {rule for rule, _ in shared} >= {"names_postcode", "dob_names"}
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
    # A field named in fixed_m keeps its configured m (see training.CONFIGURED_M_FIELDS).
    kept = params_as_levels(DEFAULT_PARAMS)["fields"]["given_name"]["m"]
    fixed = em_estimate(patterns, start=DEFAULT_PARAMS, fixed_u=u, fixed_m={"given_name": kept})
    assert fixed["fields"]["given_name"]["m"] == kept
    assert fixed["fields"]["family_name"]["m"] == pytest.approx(family["m"], abs=0.05)
