"""Realistic damage for injected duplicate records.

Each function changes an ``Identity`` the way real capture does: a typo at
the desk, the name the customer goes by, given and family name in the wrong
boxes, a dropped middle initial, an address from after a move, a phone
number or e-mail address written differently. Matching has to see through
all of them; the ground truth file says who is who.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from .people import NICKNAMES, Pools, address
from .silos import PHONE_STYLES, Identity

# Neighbouring keys on a QWERTY keyboard, for substitution typos.
KEYBOARD = {
    "a": "qsz", "b": "vn", "c": "xv", "d": "sf", "e": "wr", "f": "dg", "g": "fh", "h": "gj",
    "i": "uo", "j": "hk", "k": "jl", "l": "k", "m": "n", "n": "bm", "o": "ip", "p": "o",
    "q": "w", "r": "et", "s": "ad", "t": "ry", "u": "yi", "v": "cb", "w": "qe", "x": "zc",
    "y": "tu", "z": "x",
}  # fmt: skip


def typo(text: str, rng: random.Random) -> str:
    """One keying error: swapped neighbours, a dropped, doubled or wrong letter."""
    if len(text) < 3:
        return text + text[-1:]
    i = rng.randint(1, len(text) - 2)
    kind = rng.randrange(4)
    if kind == 0:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if kind == 1:
        return text[:i] + text[i + 1 :]
    if kind == 2:
        return text[:i] + text[i] + text[i:]
    char = text[i]
    near = KEYBOARD.get(char.lower())
    if not near:
        return text[:i] + text[i + 1 :]
    return text[:i] + rng.choice(near) + text[i + 1 :]


def corrupt_typo(identity: Identity, rng: random.Random, pools: Pools) -> bool:
    if rng.random() < 0.6:
        identity.family = typo(identity.family, rng)
    else:
        identity.given = typo(identity.given, rng)
    return True


def corrupt_nickname(identity: Identity, rng: random.Random, pools: Pools) -> bool:
    nicknames = NICKNAMES.get(identity.given)
    if not nicknames:
        return False
    identity.given = rng.choice(nicknames)
    return True


def corrupt_swap_names(identity: Identity, rng: random.Random, pools: Pools) -> bool:
    identity.given, identity.family = identity.family, identity.given
    return True


def corrupt_drop_middle(identity: Identity, rng: random.Random, pools: Pools) -> bool:
    if not identity.middle:
        return False
    identity.middle = ""
    return True


def corrupt_moved(identity: Identity, rng: random.Random, pools: Pools) -> bool:
    identity.address = address(rng, pools)
    return True


def corrupt_phone_format(identity: Identity, rng: random.Random, pools: Pools) -> bool:
    if not identity.phone:
        return False
    identity.phone_style = rng.choice(PHONE_STYLES)
    return True


def corrupt_email_case(identity: Identity, rng: random.Random, pools: Pools) -> bool:
    if not identity.email:
        return False
    identity.email_case = rng.choice(("upper", "mixed"))
    return True


CORRUPTIONS: dict[str, Callable[[Identity, random.Random, Pools], bool]] = {
    "typo": corrupt_typo,
    "nickname": corrupt_nickname,
    "swap_names": corrupt_swap_names,
    "drop_middle": corrupt_drop_middle,
    "moved": corrupt_moved,
    "phone_format": corrupt_phone_format,
    "email_case": corrupt_email_case,
}
# How often each is tried: typos and format differences are the most common.
WEIGHTS = {
    "typo": 5,
    "nickname": 2,
    "swap_names": 1,
    "drop_middle": 2,
    "moved": 2,
    "phone_format": 3,
    "email_case": 2,
}
_NAMES = tuple(WEIGHTS)
_WEIGHTS = tuple(WEIGHTS.values())


def corrupt(identity: Identity, rng: random.Random, pools: Pools) -> list[str]:
    """Apply one to three different corruptions; the names of those applied.

    Always at least one: a corruption that does not apply (no middle name to
    drop) falls back to a typo.
    """
    wanted = rng.choice((1, 1, 2, 2, 3))
    applied: list[str] = []
    for _ in range(wanted * 3):
        if len(applied) == wanted:
            break
        name = rng.choices(_NAMES, _WEIGHTS)[0]
        if name not in applied and CORRUPTIONS[name](identity, rng, pools):
            applied.append(name)
    if not applied:
        corrupt_typo(identity, rng, pools)
        applied.append("typo")
    return applied
