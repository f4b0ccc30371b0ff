"""``manage.py seed_demo``: a realistic multi-silo demo world.

Five silos with their own systems, column names and keys know overlapping
customers; about 8% of the people also have a corrupted duplicate record with
its own customer (what stewards and the matcher must find); the ground truth
goes to a CSV. Households, relationships, three years of interactions,
holdings, cases, consents, the governance world, demo accounts and a demo
partner client come with it, and the articles' scenario: one customer with a
pending up-sell and a pending cancellation of the same policy.

Deterministic for a given ``--seed`` and ``--customers`` (dates are relative
to the day it runs). Streams batches of ``--batch-size`` people, each in its
own transaction, so a million customers take flat memory.
"""

from __future__ import annotations

import csv
import datetime
import os
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import reset_queries, transaction
from django.utils import timezone
from tqdm import tqdm

from consent.models import ConsentRecord, PrivacyNotice
from customer360.choices import ActorChannel, AuditEventType
from customer360.services import Actor, audit_event_record
from governance.models import (
    CommitteeMember,
    ContactRule,
    DataCollectionDecision,
    Lens,
    LifecycleDefinition,
    Silo,
    SourceFieldMapping,
    SourceSystem,
    Vote,
)
from governance.vocabulary import CHARTER_SILO
from profiles.demo.batch import DemoGenerator
from profiles.demo.world import DEMO_PASSWORD, World, world_build
from profiles.insights.arbitration import actions_arbitrate_pending
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

MAX_CUSTOMERS = 1_000_000
SUMMARY_MODELS = (
    Customer, SourceRecord, Household, HouseholdMembership, Relationship, Holding, Interaction,
    Case, ConsentRecord, OutboundAction, Silo, SourceSystem, SourceFieldMapping,
    DataCollectionDecision, Vote, CommitteeMember, Lens, LifecycleDefinition, ContactRule,
    PrivacyNotice, User,
)  # fmt: skip


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = "Fill an empty database with a deterministic, realistic multi-silo demo world."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")
        parser.add_argument(
            "--customers",
            type=int,
            default=2000,
            help=f"True persons to create, 1 to {MAX_CUSTOMERS:,} (default 2000).",
        )
        parser.add_argument(
            "--batch-size",
            type=positive,
            default=5000,
            help="Persons per batch and transaction (default 5000).",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing, successfully, when customers already exist.",
        )
        parser.add_argument(
            "--truth-file",
            type=Path,
            default=None,
            help="Ground-truth CSV (system,source_key,person_id); "
            "default var/demo/ground_truth.csv.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        seed: int = options["seed"]
        customers: int = options["customers"]
        batch_size: int = options["batch_size"]
        if not 1 <= customers <= MAX_CUSTOMERS:
            raise CommandError(f"--customers must be between 1 and {MAX_CUSTOMERS:,}.")
        if Customer.objects.exists():
            if options["if_empty"]:
                self.stdout.write("Customers already exist: seed_demo did nothing (--if-empty).")
                return
            raise CommandError(
                "The database already holds customers; seed_demo only fills an empty "
                "database. Use --if-empty to skip quietly."
            )
        if (
            Silo.objects.exclude(code=CHARTER_SILO["code"]).exists()
            or User.objects.filter(username="admin").exists()
        ):
            raise CommandError(
                "The database holds silos or users already (an earlier seed_demo that "
                "stopped?); seed_demo only fills an empty database."
            )
        truth_path: Path = options["truth_file"] or Path(settings.VAR_DIR) / "demo" / (
            "ground_truth.csv"
        )
        truth_path.parent.mkdir(parents=True, exist_ok=True)

        # Midnight today: every generated moment lies before the real now, and
        # a second run on the same day produces the same timestamps.
        now = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
        reason = f"seed_demo --seed {seed}"
        started = timezone.now()
        with truth_path.open("w", newline="", encoding="utf-8") as handle:
            truth = csv.writer(handle)
            truth.writerow(("system", "source_key", "person_id"))
            with transaction.atomic():
                world = world_build(now=now, reason=reason)
            generator = DemoGenerator(seed=seed, world=world, now=now, reason=reason, truth=truth)
            with tqdm(
                total=customers, unit=" people", file=sys.stderr, disable=None, smoothing=0.1
            ) as progress:
                for first in range(1, customers + 1, batch_size):
                    count = min(batch_size, customers - first + 1)
                    with transaction.atomic():
                        generator.batch_write(first, count)
                    reset_queries()  # DEBUG keeps every query; a batch is many
                    progress.update(count)

        counts = {model.__name__: model.objects.count() for model in SUMMARY_MODELS}
        with transaction.atomic():
            audit_event_record(
                event_type=AuditEventType.DEMO_SEEDED,
                actor=Actor.system("seed_demo", ActorChannel.COMMAND),
                subject=world.silos[CHARTER_SILO["code"]],
                reason=f"seed_demo --seed {seed} --customers {customers}",
                new={
                    "seed": seed,
                    "customers": customers,
                    "counts": counts,
                    "scenario_customer": generator.scenario.get("customer_number", ""),
                },
            )
        blocked = self._scenario_arbitrate(generator.scenario)
        self._summary(world, generator, counts, truth_path, timezone.now() - started, blocked)

    def _scenario_arbitrate(self, scenario: dict[str, str]) -> list[str]:
        """Put the scenario's two letters through contact arbitration, as the
        product does for every action recorded before it: the later one is
        blocked and both silos are told. Returns one line per blocked action."""
        if not scenario:
            return []
        customer = Customer.objects.get(customer_number=scenario["customer_number"])
        with transaction.atomic():
            results = actions_arbitrate_pending(
                customer=customer, actor=Actor.system("seed_demo", ActorChannel.COMMAND)
            )
        return [
            f"{result.action.get_kind_display()} ({result.action.silo.code}) blocked: "
            + "; ".join(reason.message for reason in result.reasons)
            for result in results
            if not result.allowed
        ]

    def _summary(
        self,
        world: World,
        generator: DemoGenerator,
        counts: dict[str, int],
        truth_path: Path,
        elapsed: datetime.timedelta,
        blocked: list[str],
    ) -> None:
        write = self.stdout.write
        write(self.style.SUCCESS(f"Demo world seeded in {elapsed.total_seconds():.1f} s."))
        write("")
        write("Rows:")
        for name, count in counts.items():
            write(f"  {name:<24}{count:>12,}")
        write("")
        write(f"Ground truth (system,source_key,person_id): {truth_path}")
        scenario = generator.scenario
        if scenario:
            write(
                f"Scenario: customer {scenario['customer_number']} has a pending up-sell "
                f"(marketing) and a pending cancellation (risk) of motor policy "
                f"{scenario['policy']}, both by post on {scenario['scheduled_for']}."
            )
            for line in blocked:
                write(f"  Contact arbitration: {line}")
        # bin/demo serves on $PORT (8000 unless told otherwise).
        base = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/"
        write("")
        write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        write(f"  screens at {base}, admin at {base}admin/")
        for account in world.accounts:
            write(f"  {account.username:<18}{account.role:<36}{account.where}")
        write("")
        write("Demo partner API client (OAuth2 client credentials):")
        write(f"  name           {world.partner.name}")
        write(f"  client_id      {world.partner.client_id}")
        write(f"  client_secret  {world.partner_secret}   (shown once; stored hashed)")
        write(f"  token URL      {base}o/token/")
        write(
            "  e.g. curl -u demo-partner-claims:<secret> -d grant_type=client_credentials "
            f"-d scope=context:read {base}o/token/"
        )
