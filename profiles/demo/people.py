"""True persons and households of the demo world (the Netherlands).

Faker is slow per call, so it runs once to fill ``Pools`` (names, streets,
towns with their postcode areas); every person is then drawn from the pools
with one seeded ``random.Random``, which keeps generation fast and the
world identical for the same seed.
"""

from __future__ import annotations

import datetime
import random
import re
import unicodedata
from dataclasses import dataclass, field

from faker import Faker
from faker.providers.address.nl_NL import Provider as AddressProvider
from faker.providers.person.nl_NL import Provider as PersonProvider

from profiles.choices import HouseholdRole

COUNTRY = "NL"
LOCALE = "nl_NL"
PARTICLES = ("van", "de", "der", "den", "het", "ter", "ten", "te", "'t", "in", "op", "la")

# Frequent Dutch family names, many with particles: frequent names make
# matching harder, as in real data.
COMMON_FAMILY_NAMES = (
    "de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen",
    "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters",
    "Hendriks", "van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkstra", "Smits",
    "de Graaf", "van der Meer", "van der Linden", "Kok", "Jacobs", "de Haan", "Vermeulen",
    "van den Heuvel", "van der Veen", "van den Broek", "de Bruijn", "van der Heijden",
    "Schouten", "van Beek", "Willems", "van Vliet", "van 't Hof",
)  # fmt: skip

# Formal given names and the names people actually go by: an injected
# duplicate may carry the nickname.
NICKNAMES: dict[str, tuple[str, ...]] = {
    "Johannes": ("Jan", "Hans", "Johan"),
    "Cornelis": ("Kees", "Cor"),
    "Hendrik": ("Henk", "Rik"),
    "Wilhelmus": ("Wim", "Willem"),
    "Gerardus": ("Gerard", "Gert"),
    "Petrus": ("Piet", "Peter"),
    "Jacobus": ("Jaap", "Koos"),
    "Adrianus": ("Adrie", "Arie"),
    "Antonius": ("Toon", "Ton", "Anton"),
    "Theodorus": ("Theo", "Dorus"),
    "Franciscus": ("Frans", "Frank"),
    "Nicolaas": ("Klaas", "Niek"),
    "Alexander": ("Alex", "Sander"),
    "Maria": ("Mies", "Marieke", "Ria"),
    "Johanna": ("Jo", "Hanneke", "Anneke"),
    "Cornelia": ("Corrie", "Nel"),
    "Wilhelmina": ("Willy", "Wilma", "Mien"),
    "Elisabeth": ("Els", "Liesbeth", "Lisa"),
    "Catharina": ("Toos", "Tineke", "Karin"),
    "Margaretha": ("Greet", "Margriet"),
    "Geertruida": ("Truus", "Geert"),
    "Hendrika": ("Riek", "Henny"),
}
_FORMAL_MALE = tuple(n for n in NICKNAMES if not n.endswith("a") and n != "Elisabeth")
_FORMAL_FEMALE = tuple(n for n in NICKNAMES if n not in _FORMAL_MALE)

EMAIL_DOMAINS = (
    "gmail.com", "hotmail.com", "outlook.com", "ziggo.nl", "kpnmail.nl", "xs4all.nl",
    "live.nl", "icloud.com", "planet.nl", "home.nl", "hetnet.nl", "yahoo.com",
)  # fmt: skip
AREA_CODES = (
    "10", "13", "15", "20", "23", "24", "26", "30", "33", "35", "38", "40", "43", "45",
    "50", "53", "55", "58", "70", "71", "72", "73", "74", "76", "77", "79",
)  # fmt: skip
HOUSE_ADDITIONS = ("A", "B", "C", "hs", "bis", "1", "2")
ADDRESS_LINE2 = ("2e verdieping", "3e verdieping", "achterhuis", "app. 4", "app. 12", "unit 3")
_SIMPLE_NAME = re.compile(r"^[A-Z][a-z]+(?:[ -][A-Za-z][a-z]+)?$")


@dataclass(frozen=True, slots=True)
class Town:
    name: str
    region: str
    postcode_area: int


@dataclass(frozen=True, slots=True)
class Address:
    street: str
    house_number: str
    line2: str
    postcode: str
    town: Town

    @property
    def line1(self) -> str:
        return f"{self.street} {self.house_number}"

    @property
    def key(self) -> str:
        """The normalized form households group on."""
        return f"{self.postcode.replace(' ', '')}|{self.house_number.lower()}"


@dataclass(slots=True)
class Person:
    """One real human being: the ground truth behind the silos' records."""

    pid: int
    sex: str
    given: str
    middle: str
    family: str
    dob: datetime.date
    email: str
    phone: str  # E.164
    address: Address
    national_id: str
    language: str
    customer_since: datetime.date
    household: int | None = None  # index in the batch's households
    household_role: str = ""


@dataclass(slots=True)
class HouseholdPlan:
    """People of one batch who live together at one address."""

    address: Address
    label: str
    members: list[tuple[int, str]] = field(default_factory=list)  # (index in batch, role)


class Pools:
    """Names, streets and towns to draw from, made once with a seeded Faker."""

    def __init__(self, seed: int) -> None:
        fake = Faker(LOCALE)
        fake.seed_instance(seed)
        self.male = tuple(
            sorted({n for n in PersonProvider.first_names_male if _SIMPLE_NAME.match(n)})
        ) + (_FORMAL_MALE * 4)
        self.female = tuple(
            sorted({n for n in PersonProvider.first_names_female if _SIMPLE_NAME.match(n)})
        ) + (_FORMAL_FEMALE * 4)
        rare = sorted({n for n in PersonProvider.last_names if _SIMPLE_NAME.match(n)})
        # Common names are drawn about as often as all the rare ones together.
        self.family = tuple(rare) + COMMON_FAMILY_NAMES * max(1, len(rare) // 40)
        self.streets = tuple(sorted({fake.street_name() for _ in range(600)}))
        towns = sorted({c for c in AddressProvider.cities if _SIMPLE_NAME.match(c)})
        chosen = random.Random(seed).sample(towns, 180)
        self.towns = tuple(
            Town(name=name, region=fake.administrative_unit(), postcode_area=1000 + 48 * i)
            for i, name in enumerate(sorted(chosen))
        )


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def national_id(rng: random.Random) -> str:
    """A burgerservicenummer that passes the 11-test."""
    while True:
        digits = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(7)]
        check = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=True)) % 11
        if check < 10:
            return "".join(map(str, digits)) + str(check)


def phone_number(rng: random.Random) -> str:
    """A valid Dutch number in E.164: mostly mobiles, some landlines."""
    if rng.random() < 0.7:
        return f"+316{rng.randint(1, 5)}{rng.randint(0, 9_999_999):07d}"
    return f"+31{rng.choice(AREA_CODES)}{rng.randint(2, 9)}{rng.randint(0, 999_999):06d}"


def email_address(rng: random.Random, given: str, family: str, dob: datetime.date) -> str:
    g, f = _ascii(given).replace(" ", ""), _ascii(family).replace(" ", "").replace("'", "")
    local = rng.choice(
        (
            f"{g}.{f}",
            f"{g[0]}{f}",
            f"{g}{f}{dob.year % 100:02d}",
            f"{g}_{f}",
            f"{g}.{f}{rng.randint(1, 99)}",
        )
    )
    return f"{local}@{rng.choice(EMAIL_DOMAINS)}"


def address(rng: random.Random, pools: Pools) -> Address:
    town = rng.choice(pools.towns)
    number = str(rng.randint(1, 240))
    if rng.random() < 0.1:
        number += rng.choice(HOUSE_ADDITIONS) if rng.random() < 0.5 else f"-{rng.randint(1, 3)}"
    letters = "".join(rng.choice("ABCDEFGHJKLMNPRTVWXZ") for _ in range(2))
    postcode = f"{town.postcode_area + rng.randint(0, 47)} {letters}"
    line2 = rng.choice(ADDRESS_LINE2) if rng.random() < 0.06 else ""
    return Address(
        street=rng.choice(pools.streets), house_number=number, line2=line2, postcode=postcode,
        town=town,
    )  # fmt: skip


def _dob(rng: random.Random, today: datetime.date, low: int, high: int) -> datetime.date:
    return today - datetime.timedelta(days=rng.randint(low * 365 + 1, high * 365 - 1))


def person(
    rng: random.Random,
    pools: Pools,
    today: datetime.date,
    pid: int,
    *,
    home: Address | None = None,
    family: str | None = None,
    dob: datetime.date | None = None,
) -> Person:
    sex = rng.choice("MF")
    given = rng.choice(pools.male if sex == "M" else pools.female)
    middle = ""
    if rng.random() < 0.4:
        middle = rng.choice(pools.male if sex == "M" else pools.female)
        if middle == given:
            middle = ""
    family = family or rng.choice(pools.family)
    dob = dob or _dob(rng, today, 19, 88)
    since_years = min(15, (today - dob).days // 365 - 18)
    return Person(
        pid=pid,
        sex=sex,
        given=given,
        middle=middle,
        family=family,
        dob=dob,
        email=email_address(rng, given, family, dob) if rng.random() < 0.9 else "",
        phone=phone_number(rng) if rng.random() < 0.93 else "",
        address=home or address(rng, pools),
        national_id=national_id(rng),
        language="nl" if rng.random() < 0.94 else "en",
        customer_since=today - datetime.timedelta(days=rng.randint(30, 365 * max(1, since_years))),
    )


def people_batch(
    rng: random.Random, pools: Pools, today: datetime.date, first_pid: int, count: int
) -> tuple[list[Person], list[HouseholdPlan]]:
    """``count`` persons numbered from ``first_pid``; about 30% of them share
    a household with one to three others at the same address."""
    persons: list[Person] = []
    households: list[HouseholdPlan] = []
    while len(persons) < count:
        head = person(rng, pools, today, first_pid + len(persons))
        persons.append(head)
        room = count - len(persons)
        if room <= 0 or rng.random() >= 0.125:
            continue
        plan = HouseholdPlan(
            address=head.address,
            label=f"{head.family} ({head.address.town.name})",
            members=[(len(persons) - 1, HouseholdRole.HEAD)],
        )
        head.household, head.household_role = len(households), HouseholdRole.HEAD
        for _ in range(min(room, rng.choice((1, 1, 2, 2, 3)))):
            pid = first_pid + len(persons)
            if len(plan.members) == 1 and rng.random() < 0.85:
                role = HouseholdRole.PARTNER
                shift = datetime.timedelta(days=rng.randint(-5 * 365, 5 * 365))
                member = person(
                    rng, pools, today, pid, home=head.address,
                    family=head.family if rng.random() < 0.6 else None,
                    dob=min(head.dob + shift, today - datetime.timedelta(days=19 * 365)),
                )  # fmt: skip
            elif (today - head.dob).days > 45 * 365:
                role = HouseholdRole.CHILD
                member = person(
                    rng, pools, today, pid, home=head.address, family=head.family,
                    dob=_dob(rng, today, 18, 26),
                )  # fmt: skip
            else:
                role = HouseholdRole.MEMBER
                member = person(rng, pools, today, pid, home=head.address)
            member.household, member.household_role = len(households), role
            plan.members.append((len(persons), role))
            persons.append(member)
        households.append(plan)
    return persons, households
