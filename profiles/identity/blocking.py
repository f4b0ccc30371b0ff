"""Blocking rules: which records are compared at all.

Two records are compared only when they share a key under at least one rule,
so compared pairs stay a small multiple of the records instead of all pairs.
Keys are stored in ``BlockingKey`` (indexed on rule and key), so finding the
candidates of one new record is a handful of index lookups.
"""

from __future__ import annotations

from .normalize import Features, phonetic

# A key shared by more records than this says little (a shop's catch-all
# e-mail, a call center's phone number): comparing them all would cost much
# and find nothing, so matching skips such blocks.
MAX_BLOCK_SIZE = 200


def blocking_keys(features: Features) -> list[tuple[str, str]]:
    """(rule, key) pairs of one record; rules without their inputs give nothing."""
    keys: list[tuple[str, str]] = []
    if features.email:
        keys.append(("email", features.email))
    if features.phone:
        keys.append(("phone", features.phone))
    if features.family_phonetic and features.postcode:
        keys.append(("name_postcode", f"{features.family_phonetic}|{features.postcode}"))
        if features.given_full:
            # Both names' codes in either order: names swapped between the
            # given and family boxes still share this key.
            names = "|".join(sorted((features.family_phonetic, phonetic(features.given_full))))
            keys.append(("names_postcode", f"{names}|{features.postcode}"))
    if features.dob and features.given_initial:
        keys.append(("dob_initial", f"{features.dob}|{features.given_initial}"))
    if features.dob and features.family:
        # The first letters of both names, in either box: names swapped between
        # the given and family boxes still share the key.
        names = "|".join(sorted((features.family[:3], features.given_full[:3])))
        keys.append(("dob_names", f"{features.dob}|{names}"))
    if features.national_id:
        keys.append(("national_id", features.national_id))
    return [(rule, key[:200]) for rule, key in keys]
