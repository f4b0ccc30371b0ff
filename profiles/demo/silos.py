"""The demo silos: each with its own source system, column names, value
formats and customer-key format, and the mappings that bring its columns
back to the canonical fields.

A silo never sees the true person, only an ``Identity``: the person's
values as that silo captured them, possibly damaged (see ``corruptions``).
``render`` writes an identity in the silo's own shape; ``profiles.mapping``
reads it back.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from governance.choices import Transform

from .people import COUNTRY, PARTICLES, Address, Person

PHONE_STYLES = ("spaced", "dashed", "international", "plain", "intl00")


@dataclass(slots=True)
class Identity:
    """What one silo recorded about a person."""

    given: str
    middle: str
    family: str
    dob: datetime.date
    email: str
    phone: str  # E.164, or empty
    address: Address
    national_id: str
    phone_style: str | None = None  # overrides the silo's own format
    email_case: str | None = None  # "upper" or "mixed": as the customer typed it

    @classmethod
    def of(cls, person: Person) -> Identity:
        return cls(
            given=person.given,
            middle=person.middle,
            family=person.family,
            dob=person.dob,
            email=person.email,
            phone=person.phone,
            address=person.address,
            national_id=person.national_id,
        )

    def copy(self) -> Identity:
        return replace(self)


def format_phone(e164: str, style: str) -> str:
    """A Dutch E.164 number written the way one silo or one customer writes it."""
    if not e164:
        return ""
    rest = e164[3:]  # after +31
    area, local = (rest[:1], rest[1:]) if rest.startswith("6") else (rest[:2], rest[2:])
    if style == "spaced":
        if area == "6":
            return "06 " + " ".join(local[i : i + 2] for i in range(0, len(local), 2))
        return f"0{area} {local[:3]} {local[3:]}"
    if style == "dashed":
        return f"0{area}-{local}"
    if style == "international":
        return f"+31 {area} {local}" if area == "6" else f"+31 {area} {local[:3]} {local[3:]}"
    if style == "intl00":
        return f"0031{rest}"
    return f"0{rest}"


def _email(identity: Identity, default_case: str = "lower") -> str:
    value, case = identity.email, identity.email_case or default_case
    if not value:
        return ""
    if case == "upper":
        return value.upper()
    if case == "mixed":
        local, _, domain = value.partition("@")
        local = ".".join(part[:1].upper() + part[1:] for part in local.split("."))
        return f"{local}@{domain[:1].upper()}{domain[1:]}"
    return value


def _phone(identity: Identity, style: str) -> str:
    return format_phone(identity.phone, identity.phone_style or style)


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a silo's record and its approved mapping."""

    name: str
    canonical: str
    transform: str = Transform.NONE
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SiloSpec:
    code: str
    name: str
    description: str
    system_code: str
    system_name: str
    key_label: str
    trust_rank: int
    share: float  # chance that a person is known to this silo
    columns: tuple[Column, ...]
    render: Callable[[Identity, random.Random], dict[str, str]]
    key_format: Callable[[int, datetime.date], str]


def _drop_empty(raw: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in raw.items() if v}


def render_marketing(i: Identity, rng: random.Random) -> dict[str, str]:
    return _drop_empty(
        {
            "FirstName": i.given,
            "LastName": i.family,
            "EMail": _email(i),
            "Mobile": _phone(i, "spaced"),
            "Zip": i.address.postcode,
            "City": i.address.town.name,
        }
    )


def render_risk(i: Identity, rng: random.Random) -> dict[str, str]:
    return _drop_empty(
        {
            "insured_surname": i.family,
            "insured_forename": i.given,
            "mi": i.middle[:1],
            "dob": i.dob.strftime("%d/%m/%Y"),
            "bsn": i.national_id,
            "addr_street": i.address.line1,
            "addr_postcode": i.address.postcode,
            "addr_town": i.address.town.name,
            "addr_country": COUNTRY,
        }
    )


def render_billing(i: Identity, rng: random.Random) -> dict[str, str]:
    # A mainframe heritage: names and towns in capitals.
    return _drop_empty(
        {
            "ACCOUNT_HOLDER": i.family.upper(),
            "HOLDER_FIRST": i.given.upper(),
            "EMAIL_ADDR": _email(i, "upper"),
            "PHONE": _phone(i, "international"),
            "ADDR1": i.address.line1,
            "ADDR2": i.address.line2,
            "ZIP": i.address.postcode,
            "CITY": i.address.town.name.upper(),
            "COUNTRY": COUNTRY,
        }
    )


def render_service(i: Identity, rng: random.Random) -> dict[str, str]:
    return _drop_empty(
        {
            "contact_first_name": i.given,
            "contact_middle": i.middle,
            "contact_last_name": i.family,
            "birth_date": i.dob.strftime("%d-%m-%Y"),
            "telephone": _phone(i, "dashed"),
            "email_address": _email(i),
            "street": i.address.street,
            "house_number": i.address.house_number,
            "postal_code": i.address.postcode,
            "city": i.address.town.name,
            "province": i.address.town.region,
        }
    )


def render_webshop(i: Identity, rng: random.Random) -> dict[str, str]:
    # Typed by the customers themselves: some never use capitals.
    casual = rng.random() < 0.2
    return _drop_empty(
        {
            "email": _email(i),
            "first": i.given.lower() if casual else i.given,
            "last": i.family.lower() if casual else i.family,
            "phone": _phone(i, "plain"),
            "birthday": i.dob.isoformat() if rng.random() < 0.7 else "",
            "street": i.address.line1,
            "zip": i.address.postcode.lower() if casual else i.address.postcode,
            "city": i.address.town.name,
            "country": COUNTRY.lower(),
        }
    )


PHONE_NL = {"region": COUNTRY}
NAME_TITLE = {"particles": list(PARTICLES)}
STREET_CONCAT = {"columns": ["street", "house_number"], "separator": " "}

SILOS: tuple[SiloSpec, ...] = (
    SiloSpec(
        code="marketing",
        name="Marketing",
        description="Campaigns, offers, up-sell and cross-sell.",
        system_code="mkt-crm",
        system_name="Marketing CRM",
        key_label="Contact ID",
        trust_rank=40,
        share=0.5,
        columns=(
            Column("FirstName", "given_name"),
            Column("LastName", "family_name"),
            Column("EMail", "email", Transform.LOWER),
            Column("Mobile", "phone", Transform.PHONE_REGION, PHONE_NL),
            Column("Zip", "postcode", Transform.UPPER),
            Column("City", "locality"),
        ),
        render=render_marketing,
        key_format=lambda n, day: f"MKT-{n:06d}",
    ),
    SiloSpec(
        code="risk",
        name="Risk & actuarial",
        description="Underwriting, policy administration and actuarial review.",
        system_code="risk-pas",
        system_name="Policy administration",
        key_label="Policy no.",
        trust_rank=10,
        share=0.6,
        columns=(
            Column("insured_surname", "family_name"),
            Column("insured_forename", "given_name"),
            Column("mi", "middle_name", Transform.UPPER),
            Column("dob", "date_of_birth", Transform.DATE_FORMAT, {"format": "%d/%m/%Y"}),
            Column("bsn", "national_id"),
            Column("addr_street", "address_line1"),
            Column("addr_postcode", "postcode", Transform.UPPER),
            Column("addr_town", "locality"),
            Column("addr_country", "country", Transform.UPPER),
        ),
        render=render_risk,
        key_format=lambda n, day: f"POL/{day.year}/{n:06d}",
    ),
    SiloSpec(
        code="billing",
        name="Billing & collections",
        description="Invoices, payments, direct debits and collections.",
        system_code="billing-ar",
        system_name="Accounts receivable",
        key_label="Account no.",
        trust_rank=30,
        share=0.55,
        columns=(
            Column("ACCOUNT_HOLDER", "family_name", Transform.TITLE, NAME_TITLE),
            Column("HOLDER_FIRST", "given_name", Transform.TITLE),
            Column("EMAIL_ADDR", "email", Transform.LOWER),
            Column("PHONE", "phone", Transform.PHONE_REGION, PHONE_NL),
            Column("ADDR1", "address_line1"),
            Column("ADDR2", "address_line2"),
            Column("ZIP", "postcode", Transform.UPPER),
            Column("CITY", "locality", Transform.TITLE),
            Column("COUNTRY", "country", Transform.UPPER),
        ),
        render=render_billing,
        key_format=lambda n, day: f"BIL{n:07d}",
    ),
    SiloSpec(
        code="service",
        name="Customer service",
        description="Call center, chat and stores: questions, complaints, claims intake.",
        system_code="svc-desk",
        system_name="Service desk",
        key_label="Caller ID",
        trust_rank=20,
        share=0.4,
        columns=(
            Column("contact_first_name", "given_name"),
            Column("contact_middle", "middle_name"),
            Column("contact_last_name", "family_name"),
            Column("birth_date", "date_of_birth", Transform.DATE_FORMAT, {"format": "%d-%m-%Y"}),
            Column("telephone", "phone", Transform.PHONE_REGION, PHONE_NL),
            Column("email_address", "email", Transform.LOWER),
            Column("street", "address_line1", Transform.CONCAT, STREET_CONCAT),
            Column("house_number", "address_line1", Transform.CONCAT, STREET_CONCAT),
            Column("postal_code", "postcode", Transform.UPPER),
            Column("city", "locality"),
            Column("province", "region"),
        ),
        render=render_service,
        key_format=lambda n, day: f"SD-{n:07d}",
    ),
    SiloSpec(
        code="webshop",
        name="Web shop",
        description="Online shop accounts, orders, deliveries and returns.",
        system_code="webshop",
        system_name="Web shop accounts",
        key_label="Shop user id",
        trust_rank=50,
        share=0.35,
        columns=(
            Column("email", "email", Transform.LOWER),
            Column("first", "given_name", Transform.TITLE),
            Column("last", "family_name", Transform.TITLE, NAME_TITLE),
            Column("phone", "phone", Transform.PHONE_REGION, PHONE_NL),
            Column("birthday", "date_of_birth", Transform.DATE_FORMAT, {"format": "%Y-%m-%d"}),
            Column("street", "address_line1"),
            Column("zip", "postcode", Transform.UPPER),
            Column("city", "locality"),
            Column("country", "country", Transform.UPPER),
        ),
        render=render_webshop,
        key_format=lambda n, day: f"WS-u{n}",
    ),
)
SILOS_BY_CODE = {spec.code: spec for spec in SILOS}


class KeyMaker:
    """Each silo's own customer keys: increasing, with gaps, never reused."""

    def __init__(self, rng: random.Random) -> None:
        self._next = {spec.code: rng.randint(1_000, 90_000) for spec in SILOS}
        self._next["billing"] = 7_700_000 + rng.randint(0, 9_999)

    def next(self, rng: random.Random, spec: SiloSpec, day: datetime.date) -> str:
        n = self._next[spec.code] + rng.randint(1, 3)
        self._next[spec.code] = n
        return spec.key_format(n, day)

    def policy(self, rng: random.Random, day: datetime.date) -> str:
        return self.next(rng, SILOS_BY_CODE["risk"], day)
