"""Normalization of canonical values into the forms matching compares.

Pure functions, no database. ``SourceRecord.normalized`` holds canonical
values for display (title-case names, ISO dates, E.164 phones);
``match_features`` turns them into comparison keys: lower-case ASCII names
with nicknames resolved, digits-only phones, expanded street abbreviations,
compact postcodes. Libraries do the hard parts: ``unicodedata`` (accents),
``nameparser`` (titles, initials), ``phonenumbers`` (E.164), ``jellyfish``
(phonetic codes).
"""

from __future__ import annotations

import datetime
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import jellyfish
import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from nameparser import HumanName

from .nicknames import formal_name

DEFAULT_PHONE_REGION = "NL"

_NON_ALNUM = re.compile(r"[^a-z0-9 ]+")
_SPACES = re.compile(r"\s+")

# Street-type abbreviations and their full form (English and Dutch).
STREET_ABBREVIATIONS: dict[str, str] = {
    "st": "street",
    "str": "straat",
    "rd": "road",
    "ave": "avenue",
    "av": "avenue",
    "blvd": "boulevard",
    "dr": "drive",
    "ln": "lane",
    "ct": "court",
    "pl": "place",
    "sq": "square",
    "hwy": "highway",
    "pk": "park",
    "pln": "plein",
}
# Unit designators: "apt 4", "app. 12", "unit 3", "#5" all become "unit 4".
UNIT_WORDS = frozenset({"apt", "apartment", "app", "unit", "flat", "suite", "ste", "no"})
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y%m%d", "%m/%d/%Y", "%d %b %Y")


def ascii_fold(text: str) -> str:
    """Lower case without accents: "Zoë Ó'Brien" -> "zoe o'brien"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower().strip()


@lru_cache(maxsize=131072)  # pure; names, streets and places repeat across records
def clean_text(text: str) -> str:
    """ASCII-folded, punctuation as space, single spaces."""
    return _SPACES.sub(" ", _NON_ALNUM.sub(" ", ascii_fold(text).replace("'", ""))).strip()


@lru_cache(maxsize=65536)  # pure, and parsing a name costs most of matching one record
def normalize_given_name(text: str) -> str:
    """The given name matching compares: first name only, formal form.

    Titles go ("Dr."), a trailing initial goes ("Robert J." -> "robert"),
    nicknames become the formal name ("Bob" -> "robert").
    """
    if not text.strip():
        return ""
    parsed = HumanName(text)
    first = parsed.first or text
    words = clean_text(first).split()
    if not words:
        return ""
    return formal_name(words[0])


def normalize_family_name(text: str) -> str:
    """Family name with particles kept but spaces and hyphens removed: "van der Berg"
    -> "vanderberg", "Smith-Jones" -> "smithjones"."""
    return clean_text(text).replace(" ", "")


def name_initial(text: str) -> str:
    cleaned = clean_text(text)
    return cleaned[:1]


@lru_cache(maxsize=131072)
def phonetic(text: str) -> str:
    """A phonetic code of a cleaned name (Double-Metaphone-like via metaphone)."""
    return jellyfish.metaphone(text) if text else ""


@lru_cache(maxsize=65536)  # pure (a refused number raises, and is not cached)
def normalize_phone(text: str, region: str = DEFAULT_PHONE_REGION) -> str:
    """E.164 of a phone number; raises ``ValueError`` for a number that is not one."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise ValueError(f"{text!r} is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"{text!r} is not a valid phone number for region {region}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(text: str) -> str:
    """Lower-case e-mail address; raises ``ValueError`` when it is not one."""
    value = text.strip().lower()
    try:
        validate_email(value)
    except ValidationError:
        raise ValueError(f"{text!r} is not an e-mail address") from None
    return value


def parse_date(text: str) -> datetime.date:
    """A date of birth in one of several formats; ISO first. Raises ``ValueError``."""
    value = text.strip()
    if len(value) == 10 and value[4] == "-" and value[7] == "-":
        # The stored (ISO) form, what matching reads back for every record:
        # ``fromisoformat`` is some fifty times cheaper than ``strptime``.
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            pass
    for fmt in DATE_FORMATS:
        try:
            return datetime.datetime.strptime(value, fmt).date()  # noqa: DTZ007 - a date
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a date")


def normalize_postcode(text: str) -> str:
    """Upper case without spaces: "1234 ab" -> "1234AB"."""
    return re.sub(r"[^0-9A-Za-z]", "", text).upper()


def normalize_address_line(text: str) -> str:
    """Street line with abbreviations expanded and unit designators unified.

    "12 High St., Apt 4" -> "12 high street unit 4".
    """
    words = clean_text(text).split()
    result: list[str] = []
    for word in words:
        if word in UNIT_WORDS:
            result.append("unit")
        else:
            result.append(STREET_ABBREVIATIONS.get(word, word))
    return " ".join(result)


@dataclass(frozen=True, slots=True)
class Features:
    """What matching compares of one record; empty strings for missing values."""

    given: str = ""
    given_initial: str = ""
    # Every word of the given-name field run together, like ``family``: what
    # a family name written in the given-name box is compared with.
    given_full: str = ""
    family: str = ""
    family_phonetic: str = ""
    middle_initial: str = ""
    dob: str = ""  # ISO
    email: str = ""
    email_local: str = ""
    phone: str = ""  # digits of E.164
    postcode: str = ""
    address: str = ""
    locality: str = ""
    national_id: str = ""


def match_features(values: Mapping[str, object]) -> Features:
    """The comparison features of one record's canonical values."""

    def text(name: str) -> str:
        value = values.get(name)
        return str(value).strip() if value not in (None, "") else ""

    given = normalize_given_name(text("given_name"))
    family = normalize_family_name(text("family_name"))
    dob = ""
    if text("date_of_birth"):
        try:
            dob = parse_date(text("date_of_birth")).isoformat()
        except ValueError:
            dob = ""
    email = text("email").lower()
    phone = re.sub(r"\D", "", text("phone"))
    return Features(
        given=given,
        given_initial=given[:1],
        given_full=normalize_family_name(text("given_name")),
        family=family,
        family_phonetic=phonetic(family),
        middle_initial=name_initial(text("middle_name")),
        dob=dob,
        email=email,
        email_local=email.split("@", 1)[0] if "@" in email else email,
        phone=phone,
        postcode=normalize_postcode(text("postcode")),
        address=normalize_address_line(text("address_line1")),
        locality=clean_text(text("locality")),
        national_id=re.sub(r"[^0-9A-Za-z]", "", text("national_id")).upper(),
    )


# Records stay neighbours for many batches: a worker compares each member of a
# busy block again and again. Features depend on the canonical values alone, so
# a worker keeps the latest ones (about 1 KiB each).
FEATURES_CACHE = 200_000


@lru_cache(maxsize=FEATURES_CACHE)
def _features_of_items(items: tuple[tuple[str, object], ...]) -> Features:
    return match_features(dict(items))


@lru_cache(maxsize=FEATURES_CACHE)
def record_features_json(text: str) -> Features:
    """``match_features`` of canonical values stored as JSON text, remembered per
    text: a record read again (a member of a busy block) costs a dictionary
    look-up, not decoding, sorting and hashing its values."""
    return match_features(json.loads(text))


def record_features(values: Mapping[str, object]) -> Features:
    """``match_features`` of a stored record's canonical values, remembered per
    distinct values (a value that cannot be hashed, a list, is computed afresh)."""
    try:
        return _features_of_items(tuple(sorted(values.items())))
    except TypeError:
        return match_features(values)


def validate_canonical(values: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Check and normalize canonical values an import delivers.

    Returns (values to store, {canonical field: problem}). E-mail addresses,
    phone numbers and dates of birth must parse; what parses is stored in its
    canonical form (lower-case e-mail, E.164, ISO date).
    """
    cleaned = dict(values)
    problems: dict[str, str] = {}
    if values.get("email"):
        try:
            cleaned["email"] = normalize_email(values["email"])
        except ValueError as error:
            problems["email"] = str(error)
    if values.get("phone"):
        try:
            cleaned["phone"] = normalize_phone(values["phone"])
        except ValueError as error:
            problems["phone"] = str(error)
    if values.get("date_of_birth"):
        try:
            born = parse_date(values["date_of_birth"])
        except ValueError as error:
            problems["date_of_birth"] = str(error)
        else:
            if born > datetime.date.today() or born.year < 1880:  # noqa: DTZ011 - a date
                problems["date_of_birth"] = f"{values['date_of_birth']!r} is not a plausible date"
            else:
                cleaned["date_of_birth"] = born.isoformat()
    return cleaned, problems
