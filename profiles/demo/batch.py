"""One batch of the demo world: persons turned into rows, written in bulk.

``DemoGenerator.batch_write`` draws a batch of persons, decides which silos
know each of them, renders every silo's record in its own shape, maps it back
to canonical values, derives the golden customers by survivorship, and adds
households, relationships, holdings, interactions, cases and consents. Rows
are written with ``bulk.insert_with_history``: one history row each, with
the same user and reason (simple-history's bulk path, or COPY on
PostgreSQL). Nothing survives the batch but counters, so memory stays flat
however many customers are asked for.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import models

from consent.choices import CaptureMethod, ConsentStatus, DoubleOptIn
from consent.models import ConsentRecord
from customer360.services import model_save
from profiles.choices import (
    ActionKind,
    ActionStatus,
    CaseKind,
    CasePriority,
    CaseStatus,
    Direction,
    HoldingStatus,
    HouseholdRole,
    InteractionKind,
    LifecycleStatus,
    LineOfBusiness,
    Outcome,
    RelationshipKind,
)
from profiles.mapping import apply_mappings
from profiles.models import (
    Case,
    Customer,
    Holding,
    Household,
    HouseholdMembership,
    Interaction,
    OutboundAction,
    Relationship,
    SourceRecord,
)
from profiles.numbers import customer_numbers_allocate

from .bulk import insert_with_history, reserve_ids
from .corruptions import corrupt
from .people import HouseholdPlan, Person, Pools, people_batch
from .silos import SILOS, SILOS_BY_CODE, Identity, KeyMaker, SiloSpec
from .world import World

DUPLICATE_SHARE = 0.08
SCENARIO_PID = 1
YEAR = datetime.timedelta(days=365)
THREE_YEARS_S = 3 * 365 * 86400
# Golden-record fields that come from canonical fields by survivorship.
GOLDEN_FIELDS = (
    "given_name", "middle_name", "family_name", "date_of_birth", "email", "phone",
    "address_line1", "address_line2", "locality", "region", "postcode", "country",
)  # fmt: skip
SILO_COUNT_WEIGHTS = ((1, 30), (2, 35), (3, 25), (4, 10))

PRODUCTS: dict[str, tuple[tuple[str, str, int, int], ...]] = {
    LineOfBusiness.MOTOR: (
        ("MOT-COMP", "Car insurance, comprehensive", 540, 1200),
        ("MOT-TPL", "Car insurance, third party", 280, 600),
    ),
    LineOfBusiness.HOME: (
        ("HOME-CONT", "Home contents insurance", 120, 300),
        ("HOME-BLDG", "Buildings insurance", 200, 500),
    ),
    LineOfBusiness.LIFE: (("LIFE-TERM", "Term life insurance", 180, 900),),
    LineOfBusiness.HEALTH: (
        ("HLTH-BASIC", "Health insurance, basic", 1500, 1800),
        ("HLTH-PLUS", "Health insurance, supplementary", 200, 700),
    ),
    LineOfBusiness.TRAVEL: (("TRVL-ANN", "Annual travel insurance", 60, 140),),
    LineOfBusiness.SAVINGS: (("SAV-FLEX", "Flex savings account", 500, 25000),),
    LineOfBusiness.RETAIL: (("SHOP-PLUS", "Shop Plus membership", 49, 49),),
}
POLICY_LINES = (
    (LineOfBusiness.MOTOR, 45),
    (LineOfBusiness.HOME, 30),
    (LineOfBusiness.LIFE, 10),
    (LineOfBusiness.HEALTH, 10),
    (LineOfBusiness.TRAVEL, 5),
)
HOLDING_STATUSES = (
    (HoldingStatus.ACTIVE, 76),
    (HoldingStatus.LAPSED, 6),
    (HoldingStatus.CANCELLED, 10),
    (HoldingStatus.QUOTED, 8),
)

K = InteractionKind
D = Direction
# silo -> (kind, direction, channels, weight)
INTERACTIONS: dict[str, tuple[tuple[str, str, tuple[str, ...], float], ...]] = {
    "marketing": (
        (K.CAMPAIGN, D.OUTBOUND, ("email", "sms", "post", "app"), 5),
        (K.OFFER, D.OUTBOUND, ("email", "post", "phone"), 3),
        (K.FEEDBACK, D.INBOUND, ("web", "email"), 1),
    ),
    "risk": (
        (K.INQUIRY, D.INBOUND, ("phone", "email"), 4),
        (K.OFFER, D.OUTBOUND, ("post", "email"), 2),
        (K.CANCELLATION, D.OUTBOUND, ("post",), 0.5),
        (K.FEEDBACK, D.INBOUND, ("phone", "email"), 1),
    ),
    "billing": (
        (K.INQUIRY, D.INBOUND, ("phone", "email"), 4),
        (K.COMPLAINT, D.INBOUND, ("phone", "email"), 1),
        (K.FEEDBACK, D.INBOUND, ("email",), 0.5),
    ),
    "service": (
        (K.INQUIRY, D.INBOUND, ("phone", "chat", "email", "store"), 5),
        (K.COMPLAINT, D.INBOUND, ("phone", "email", "chat"), 2),
        (K.FEEDBACK, D.INBOUND, ("web", "phone"), 1),
        (K.REVIEW, D.INBOUND, ("web",), 1),
    ),
    "webshop": (
        (K.ORDER, D.INBOUND, ("web", "app"), 5),
        (K.DELIVERY, D.OUTBOUND, ("web", "email"), 3),
        (K.RETURN, D.INBOUND, ("store", "web"), 1),
        (K.REVIEW, D.INBOUND, ("web", "app"), 1),
        (K.PURCHASE, D.INBOUND, ("store",), 2),
    ),
}
SUMMARIES: dict[str, tuple[str, ...]] = {
    K.CAMPAIGN: ("Spring newsletter", "Bundle discount campaign", "Loyalty mailing",
                 "New product announcement"),
    K.OFFER: ("Offer: add home insurance", "Renewal offer", "Offer: roadside assistance",
              "Loyalty discount offer"),
    K.FEEDBACK: ("Rated the last contact", "Suggestion about the app", "Thanked the agent"),
    K.INQUIRY: ("Question about an invoice", "Change of address", "Question about coverage",
                "Asked about the payment date", "Asked for a copy of the policy"),
    K.COMPLAINT: ("Invoice charged twice", "Long waiting time on the phone",
                  "Claim handled too slowly", "Letter sent to an old address"),
    K.CANCELLATION: ("Policy cancelled at renewal", "Cancellation notice sent"),
    K.ORDER: ("Web order", "App order"),
    K.DELIVERY: ("Parcel delivered", "Delivery delayed one day"),
    K.RETURN: ("Item returned", "Return: wrong size"),
    K.REVIEW: ("Product review", "Review of the service"),
    K.PURCHASE: ("Store purchase",),
}  # fmt: skip
OUTCOMES: dict[str, tuple[str, ...]] = {
    K.INQUIRY: (Outcome.RESOLVED, Outcome.INFORMATION, Outcome.ESCALATED),
    K.COMPLAINT: (Outcome.RESOLVED, Outcome.PENDING, Outcome.ESCALATED),
    K.OFFER: (Outcome.ACCEPTED, Outcome.DECLINED, Outcome.NO_ANSWER),
    K.DELIVERY: (Outcome.RESOLVED,),
    K.RETURN: (Outcome.RESOLVED,),
}
AMOUNT_KINDS = frozenset({K.ORDER, K.PURCHASE, K.RETURN})
# silo -> (case kind, subjects)
CASES = {
    "service": (
        CaseKind.COMPLAINT,
        ("Complaint about waiting times", "Agent promised a call back"),
    ),
    "risk": (CaseKind.CLAIM, ("Water damage claim", "Car windscreen claim", "Theft claim")),
    "billing": (CaseKind.BILLING_DISPUTE, ("Disputed premium increase", "Direct debit failed")),
    "webshop": (CaseKind.COMPLAINT, ("Parcel never arrived", "Refund not received")),
    "marketing": (CaseKind.REQUEST, ("Stop sending brochures", "Correct my name in mailings")),
}
CONSENT_COMBOS = (
    ("marketing", "email"), ("marketing", "post"), ("marketing", "sms"), ("marketing", "phone"),
    ("marketing", "app"), ("analytics", "web"), ("partner_sharing", "partner"),
)  # fmt: skip
# silo -> (capture method, captured via) choices
CAPTURE = {
    "webshop": ((CaptureMethod.WEB_FORM, "web"),),
    "marketing": ((CaptureMethod.WEB_FORM, "web"), (CaptureMethod.IMPORT, "email")),
    "service": ((CaptureMethod.CALL, "phone"), (CaptureMethod.IN_PERSON, "store")),
    "risk": ((CaptureMethod.PAPER, "post"),),
    "billing": ((CaptureMethod.EMAIL_REPLY, "email"), (CaptureMethod.IMPORT, "post")),
}


def weighted[T](rng: random.Random, pairs: Sequence[tuple[T, float]]) -> T:
    """One of the values, drawn with the paired weights."""
    return rng.choices([value for value, _ in pairs], [weight for _, weight in pairs])[0]


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def payload_hash(raw: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(raw).encode()).hexdigest()


@dataclass(slots=True)
class RecordPlan:
    """One silo's record of one person, before it is written."""

    spec: SiloSpec
    person: Person
    key: str
    since: datetime.date
    raw: dict[str, str]
    normalized: dict[str, str]
    received_at: datetime.datetime
    duplicate: bool
    row: SourceRecord | None = None


@dataclass(slots=True)
class CustomerPlan:
    customer: Customer
    person: Person
    records: list[RecordPlan]
    holdings: list[Holding] = field(default_factory=list)


def survive(
    records: list[RecordPlan], rules: dict[str, str]
) -> tuple[dict[str, Any], dict[str, int]]:
    """Golden values and their lineage from records, by each field's rule.

    most_trusted: the value of the lowest ``trust_rank``; most_recent: of the
    latest received record; most_complete: the longest value. Ties keep the
    earlier record.
    """
    values: dict[str, Any] = {}
    lineage: dict[str, int] = {}
    for name in GOLDEN_FIELDS:
        best: RecordPlan | None = None
        for record in records:
            value = record.normalized.get(name)
            if not value:
                continue
            if best is None:
                best = record
                continue
            rule = rules.get(name, "most_trusted")
            if rule == "most_recent":
                better = record.received_at > best.received_at
            elif rule == "most_complete":
                better = len(value) > len(best.normalized[name])
            else:
                better = record.spec.trust_rank < best.spec.trust_rank
            if better:
                best = record
        if best is not None:
            value = best.normalized[name]
            values[name] = datetime.date.fromisoformat(value) if name == "date_of_birth" else value
            assert best.row is not None
            lineage[name] = best.row.pk
    return values, lineage


class DemoGenerator:
    """Writes the world batch by batch from one seeded random stream."""

    def __init__(
        self,
        *,
        seed: int,
        world: World,
        now: datetime.datetime,
        reason: str,
        truth: Any,  # a csv.writer
    ) -> None:
        self.rng = random.Random(seed)
        self.pools = Pools(seed)
        self.world = world
        self.now = now
        self.today = now.date()
        self.reason = reason
        self.truth = truth
        self.keys = KeyMaker(self.rng)
        self.counts: Counter[str] = Counter()
        self.next_event = Counter[str]()
        self.next_case = 0
        self.scenario: dict[str, str] = {}
        self.agent = world.users["agent"]

    # --- helpers ---------------------------------------------------------

    def _ago(self, max_seconds: int = THREE_YEARS_S) -> datetime.datetime:
        return self.now - datetime.timedelta(seconds=self.rng.randint(60, max_seconds))

    def _between(self, start: datetime.date, end: datetime.date) -> datetime.date:
        days = (end - start).days
        return start + datetime.timedelta(days=self.rng.randint(0, max(0, days)))

    def _write(self, model: type[models.Model], rows: list[Any]) -> list[Any]:
        if not rows:
            return rows
        created = insert_with_history(model, rows, user=self.world.admin, reason=self.reason)
        self.counts[model.__name__] += len(rows)
        return created

    # --- records and customers --------------------------------------------

    def _silos_for(self, person: Person) -> list[SiloSpec]:
        if person.pid == SCENARIO_PID:
            return [SILOS_BY_CODE["risk"], SILOS_BY_CODE["marketing"], SILOS_BY_CODE["service"]]
        rng = self.rng
        wanted = weighted(rng, SILO_COUNT_WEIGHTS)
        chosen: list[SiloSpec] = []
        pool = list(SILOS)
        while len(chosen) < wanted:
            spec = rng.choices(pool, [s.share for s in pool])[0]
            pool.remove(spec)
            chosen.append(spec)
        return chosen

    def _record(
        self, spec: SiloSpec, person: Person, identity: Identity, *, duplicate: bool
    ) -> RecordPlan:
        since = self._between(person.customer_since, self.today)
        raw = spec.render(identity, self.rng)
        return RecordPlan(
            spec=spec,
            person=person,
            key=self.keys.next(self.rng, spec, since),
            since=since,
            raw=raw,
            normalized=apply_mappings(raw, self.world.mappings[spec.code]),
            received_at=self._ago(),
            duplicate=duplicate,
        )

    # --- holdings -----------------------------------------------------------

    def _holding(
        self,
        plan: CustomerPlan,
        record: RecordPlan,
        line: str,
        reference: str,
        start: datetime.date,
        status: str | None = None,
    ) -> Holding:
        rng = self.rng
        code, name, low, high = rng.choice(PRODUCTS[line])
        status = status or weighted(rng, HOLDING_STATUSES)
        end = None
        if status in (HoldingStatus.LAPSED, HoldingStatus.CANCELLED):
            end = self._between(start, self.today)
        holding = Holding(
            customer=plan.customer,
            source_record=record.row,
            source_system_id=self.world.systems[record.spec.code].pk,
            reference=reference,
            product_code=code,
            product_name=name,
            line_of_business=line,
            status=status,
            start_date=start,
            end_date=end,
            annual_value=Decimal(rng.randint(low * 100, high * 100)) / 100,
            currency="EUR",
        )
        plan.holdings.append(holding)
        return holding

    def _holdings_plan(self, plan: CustomerPlan) -> None:
        rng = self.rng
        for record in plan.records:
            code = record.spec.code
            if code == "risk":
                count = 1 if record.duplicate else 1 + (rng.random() < 0.35) + (rng.random() < 0.1)
                for n in range(count):
                    scenario = plan.person.pid == SCENARIO_PID and n == 0
                    start = record.since if n == 0 else self._between(record.since, self.today)
                    line = LineOfBusiness.MOTOR if scenario else weighted(rng, POLICY_LINES)
                    reference = record.key if n == 0 else self.keys.policy(rng, start)
                    self._holding(
                        plan, record, line, reference, start,
                        HoldingStatus.ACTIVE if scenario else None,
                    )  # fmt: skip
            elif code == "billing" and rng.random() < 0.2:
                self._holding(
                    plan, record, LineOfBusiness.SAVINGS, f"SAV-{record.key}", record.since
                )
            elif code == "webshop" and rng.random() < 0.25:
                self._holding(
                    plan, record, LineOfBusiness.RETAIL, f"PLUS-{record.key}", record.since
                )
        customer = plan.customer
        active = [h for h in plan.holdings if h.status == HoldingStatus.ACTIVE]
        if active:
            first = min(h.start_date for h in plan.holdings)
            recent = (self.today - first).days <= 90
            customer.lifecycle_status = LifecycleStatus.NEW if recent else LifecycleStatus.ACTIVE
        elif plan.holdings:
            customer.lifecycle_status = LifecycleStatus.LOST
        elif any(r.spec.code in ("webshop", "service") for r in plan.records):
            customer.lifecycle_status = LifecycleStatus.ACTIVE

    # --- activity -----------------------------------------------------------

    def _interactions(self, plan: CustomerPlan, count: int) -> list[Interaction]:
        rng, world = self.rng, self.world
        rows = []
        for _ in range(count):
            record = rng.choice(plan.records)
            code = record.spec.code
            options = INTERACTIONS[code]
            kind, direction, channels, _weight = rng.choices(options, [o[3] for o in options])[0]
            self.next_event[code] += 1
            sentiment = None
            if kind == K.COMPLAINT:
                sentiment = round(rng.uniform(-1, -0.2), 2)
            elif kind in (K.FEEDBACK, K.REVIEW):
                sentiment = round(rng.uniform(-1, 1), 2)
            elif rng.random() < 0.4:
                sentiment = round(rng.uniform(-0.3, 0.8), 2)
            amount, currency, reference = None, "", ""
            if kind in AMOUNT_KINDS:
                amount = Decimal(rng.randint(995, 35000)) / 100
                currency = "EUR"
                reference = f"ORD-{self.next_event[code]:08d}"
            holding = None
            if code == "risk" and plan.holdings and rng.random() < 0.6:
                holding = rng.choice(plan.holdings)
            rows.append(
                Interaction(
                    customer=plan.customer,
                    source_record=record.row,
                    silo_id=world.silos[code].pk,
                    source_system_id=world.systems[code].pk,
                    external_id=f"EV{self.next_event[code]:09d}",
                    channel_id=world.channels[rng.choice(channels)].pk,
                    direction=direction,
                    kind=kind,
                    occurred_at=self._ago(),
                    summary=rng.choice(SUMMARIES[kind]),
                    sentiment=sentiment,
                    outcome=rng.choice(OUTCOMES[kind]) if kind in OUTCOMES else "",
                    reference=reference,
                    amount=amount,
                    currency=currency,
                    holding=holding,
                )
            )
        return rows

    def _cases(self, plan: CustomerPlan) -> list[Case]:
        rng, world = self.rng, self.world
        rows = []
        for _ in range(1 if rng.random() < 0.85 else 2):
            record = rng.choice(plan.records)
            code = record.spec.code
            kind, subjects = CASES[code]
            opened = self._ago()
            recent = (self.now - opened).days < 45
            if recent and rng.random() < 0.7:
                status = rng.choice((CaseStatus.OPEN, CaseStatus.IN_PROGRESS, CaseStatus.WAITING))
                closed = None
            else:
                status = rng.choice((CaseStatus.RESOLVED, CaseStatus.CLOSED))
                closed = min(self.now, opened + datetime.timedelta(hours=rng.randint(2, 40 * 24)))
            holding = None
            if kind == CaseKind.CLAIM and plan.holdings:
                holding = rng.choice(plan.holdings)
            self.next_case += 1
            priority = CasePriority.NORMAL
            if kind == CaseKind.COMPLAINT and rng.random() < 0.25:
                priority = CasePriority.HIGH
            rows.append(
                Case(
                    customer=plan.customer,
                    source_record=record.row,
                    silo_id=world.silos[code].pk,
                    reference=f"CS-{opened.year}-{self.next_case:07d}",
                    kind=kind,
                    subject=rng.choice(subjects),
                    status=status,
                    priority=priority,
                    owner=self.agent if closed is None and rng.random() < 0.5 else None,
                    opened_at=opened,
                    closed_at=closed,
                    holding=holding,
                )
            )
        return rows

    def _consents(self, plan: CustomerPlan, count: int) -> list[ConsentRecord]:
        rng, world = self.rng, self.world
        rows = []
        v2 = world.notices[-1]
        for purpose, channel in rng.sample(CONSENT_COMBOS, count):
            record = rng.choice(plan.records)
            if purpose == "partner_sharing":
                method, via = CaptureMethod.PARTNER_API, "partner"
            else:
                method, via = rng.choice(CAPTURE[record.spec.code])
            captured = self._ago()
            status = rng.choices(
                (ConsentStatus.GRANTED, ConsentStatus.DENIED, ConsentStatus.WITHDRAWN),
                (70, 18, 12),
            )[0]
            statements = [(ConsentStatus.GRANTED, captured)]
            if status == ConsentStatus.WITHDRAWN:
                later = min(
                    self.now - datetime.timedelta(hours=1),
                    captured + datetime.timedelta(days=rng.randint(1, 400)),
                )
                if later > captured:
                    statements.append((ConsentStatus.WITHDRAWN, later))
            elif status == ConsentStatus.DENIED:
                statements = [(ConsentStatus.DENIED, captured)]
            for n, (state, at) in enumerate(statements):
                until = None
                if state == ConsentStatus.GRANTED and n == len(statements) - 1:
                    roll = rng.random()
                    if roll < 0.08:  # due for renewal within the month
                        until = self.now + datetime.timedelta(days=rng.randint(1, 29))
                    elif roll < 0.3:
                        until = at + 2 * YEAR
                web = method == CaptureMethod.WEB_FORM
                rows.append(
                    ConsentRecord(
                        customer=plan.customer,
                        purpose_id=world.purposes[purpose].pk,
                        channel_id=world.channels[channel].pk,
                        status=state,
                        capture_method=method,
                        captured_via_id=world.channels[via].pk,
                        captured_by=self.agent
                        if method in (CaptureMethod.CALL, CaptureMethod.IN_PERSON,
                                      CaptureMethod.PAPER, CaptureMethod.EMAIL_REPLY)
                        else None,
                        captured_by_client=world.partner
                        if method == CaptureMethod.PARTNER_API
                        else None,
                        source_record=record.row,
                        captured_at=at,
                        effective_from=at,
                        effective_until=until,
                        evidence_reference=f"{record.spec.system_code}:{record.key}",
                        notice=v2 if at >= v2.published_at else world.notices[0],
                        double_opt_in=DoubleOptIn.CONFIRMED
                        if web and channel == "email" and state == ConsentStatus.GRANTED
                        else DoubleOptIn.NOT_REQUIRED,
                        ip_address=f"192.0.2.{rng.randint(1, 254)}" if web else None,
                        user_agent="Mozilla/5.0 (demo)" if web else "",
                    )
                )  # fmt: skip
        return rows

    def _relationships(
        self, plans: list[CustomerPlan], households: list[HouseholdPlan]
    ) -> list[Relationship]:
        rng = self.rng
        rows: list[Relationship] = []
        seen: set[tuple[int, int, str]] = set()

        def link(a: int, b: int, kind: str) -> None:
            if a == b or (a, b, kind) in seen:
                return
            seen.add((a, b, kind))
            pa, pb = plans[a], plans[b]
            shared = [r for r in pa.records if r.spec.code in {x.spec.code for x in pb.records}]
            rows.append(
                Relationship(
                    from_customer=pa.customer,
                    to_customer=pb.customer,
                    kind=kind,
                    valid_from=max(pa.person.customer_since, pb.person.customer_since),
                    source_system_id=self.world.systems[shared[0].spec.code].pk if shared else None,
                )
            )

        for household in households:
            roles = dict((role, index) for index, role in reversed(household.members))
            if HouseholdRole.PARTNER in roles:
                link(roles[HouseholdRole.HEAD], roles[HouseholdRole.PARTNER], "spouse")
        for kind, share in (
            (RelationshipKind.GUARANTOR, 0.015),
            (RelationshipKind.REFERRER, 0.03),
            (RelationshipKind.BUSINESS_CONTACT, 0.01),
        ):
            for _ in range(int(len(plans) * share + rng.random())):
                link(rng.randrange(len(plans)), rng.randrange(len(plans)), kind)
        return rows

    # --- the batch ----------------------------------------------------------

    def batch_write(self, first_pid: int, count: int) -> None:
        """Generate and write persons ``first_pid`` .. ``first_pid + count - 1``."""
        rng, world = self.rng, self.world
        persons, households = people_batch(rng, self.pools, self.today, first_pid, count)

        golden: list[CustomerPlan] = []
        duplicates: list[CustomerPlan] = []
        for person in persons:
            specs = self._silos_for(person)
            records = [
                self._record(spec, person, Identity.of(person), duplicate=False) for spec in specs
            ]
            golden.append(CustomerPlan(customer=Customer(), person=person, records=records))
            if person.pid != SCENARIO_PID and rng.random() < DUPLICATE_SHARE:
                # A second account in a silo that knows the person, or a first
                # in one that does not: either way keyed and typed anew.
                spec = rng.choice(specs) if rng.random() < 0.4 else rng.choice(SILOS)
                identity = Identity.of(person)
                corrupt(identity, rng, self.pools)
                record = self._record(spec, person, identity, duplicate=True)
                duplicates.append(
                    CustomerPlan(customer=Customer(), person=person, records=[record])
                )
        plans = golden + duplicates
        records = [r for plan in plans for r in plan.records]

        # Ids first: a customer's lineage names its source records.
        for record, pk in zip(records, reserve_ids(SourceRecord, len(records)), strict=True):
            record.row = SourceRecord(
                id=pk,
                source_system_id=world.systems[record.spec.code].pk,
                source_key=record.key,
                raw=record.raw,
                normalized=record.normalized,
                payload_hash=payload_hash(record.raw),
                received_at=record.received_at,
            )
        numbers = customer_numbers_allocate(len(plans))
        for n, (plan, number) in enumerate(zip(plans, numbers, strict=True)):
            values, lineage = survive(plan.records, world.survivorship)
            customer = plan.customer
            customer.customer_number = number
            customer.lineage = lineage
            for name, value in values.items():
                setattr(customer, name, value)
            if n < len(golden):
                customer.language = plan.person.language
                if rng.random() < 0.4:
                    customer.preferred_channel_id = world.channels[
                        rng.choice(("email", "phone", "post", "app", "sms"))
                    ].pk
            self._holdings_plan(plan)
        self._write(Customer, [plan.customer for plan in plans])
        for plan in plans:
            for record in plan.records:
                assert record.row is not None
                record.row.customer = plan.customer
        self._write(SourceRecord, [r.row for r in records])

        household_rows = [Household(label=h.label, address_key=h.address.key) for h in households]
        self._write(Household, household_rows)
        self._write(
            HouseholdMembership,
            [
                HouseholdMembership(
                    household=row,
                    customer=golden[index].customer,
                    role=role,
                    valid_from=golden[index].person.customer_since,
                )
                for row, plan in zip(household_rows, households, strict=True)
                for index, role in plan.members
            ],
        )
        self._write(Relationship, self._relationships(golden, households))

        self._write(Holding, [holding for plan in plans for holding in plan.holdings])

        interactions: list[Interaction] = []
        cases: list[Case] = []
        consents: list[ConsentRecord] = []
        for plan in plans:
            duplicate = plan.records[0].duplicate
            events = rng.randint(0, 3) if duplicate else min(40, int(rng.gammavariate(2.0, 4.6)))
            interactions += self._interactions(plan, events)
            if rng.random() < (0.1 if duplicate else 0.28):
                cases += self._cases(plan)
            if not duplicate or rng.random() < 0.5:
                consents += self._consents(plan, rng.randint(1, 2 if duplicate else 4))
        self._write(Interaction, interactions)
        self._write(Case, cases)
        self._write(ConsentRecord, consents)

        if first_pid <= SCENARIO_PID < first_pid + count:
            self._scenario_write(golden[SCENARIO_PID - first_pid])
        self.truth.writerows((r.spec.system_code, r.key, f"P{r.person.pid:07d}") for r in records)

    def _scenario_write(self, plan: CustomerPlan) -> None:
        """The source articles' letters: marketing's up-sell and risk's
        cancellation of the same motor policy, due the same day."""
        world = self.world
        policy = next(h for h in plan.holdings if h.line_of_business == LineOfBusiness.MOTOR)
        day = datetime.datetime.combine(
            self.today + datetime.timedelta(days=3), datetime.time(9), tzinfo=datetime.UTC
        )
        letters = (
            ("marketing", ActionKind.UPSELL, "marketing",
             f"Add home insurance to motor policy {policy.reference}: 15% bundle discount"),
            ("risk", ActionKind.CANCELLATION, "risk",
             f"Cancel motor policy {policy.reference} at renewal: risk above appetite"),
        )  # fmt: skip
        for silo, kind, purpose, summary in letters:
            model_save(
                OutboundAction(
                    customer=plan.customer,
                    silo=world.silos[silo],
                    kind=kind,
                    purpose=world.purposes[purpose],
                    channel=world.channels["post"],
                    holding=policy,
                    status=ActionStatus.PENDING,
                    scheduled_for=day,
                    summary=summary,
                    proposed_by=world.users[f"member-{silo}"],
                    external_id=f"{silo.upper()}-LETTER-{policy.reference}",
                ),
                actor=world.actor,
                reason=self.reason,
            )
            self.counts["OutboundAction"] += 1
        # The customer agreed to marketing letters (the up-sell is legitimate on its
        # own): what makes the day go wrong is the other silo's letter, not consent.
        record = plan.records[0]
        captured = self.now - datetime.timedelta(minutes=30)
        self._write(
            ConsentRecord,
            [
                ConsentRecord(
                    customer=plan.customer,
                    purpose_id=world.purposes["marketing"].pk,
                    channel_id=world.channels["post"].pk,
                    status=ConsentStatus.GRANTED,
                    capture_method=CaptureMethod.PAPER,
                    captured_via_id=world.channels["post"].pk,
                    captured_by=self.agent,
                    source_record=record.row,
                    captured_at=captured,
                    effective_from=captured,
                    evidence_reference=f"{record.spec.system_code}:{record.key}:signed-form",
                    notice=world.notices[-1],
                    double_opt_in=DoubleOptIn.NOT_REQUIRED,
                )
            ],
        )
        self.scenario = {
            "customer_number": plan.customer.customer_number,
            "policy": policy.reference,
            "scheduled_for": day.date().isoformat(),
        }
