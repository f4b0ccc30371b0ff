"""``manage.py compute_flags [--all | --stale | --customer NUMBER ...] [--batch N]``.

Computes customers' flags in batches (the nightly sweep does ``--stale``
through Celery; this runs them in the process, for a deployment or a demo).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from customer360.choices import ActorChannel
from customer360.services import Actor
from profiles.insights.flags import flags_compute, flags_stale_ids
from profiles.models import Customer


class Command(BaseCommand):
    help = (
        "Compute customers' flags (churn, fraud, up-sell, mood, complaints, contacts, lifecycle)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--all", action="store_true", help="Every unmerged customer.")
        which.add_argument("--stale", action="store_true", help="Missing or stale flags only.")
        which.add_argument("--customer", nargs="+", help="Customer numbers.")
        parser.add_argument("--batch", type=int, default=1000)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch"] < 1:
            raise CommandError("--batch must be at least 1")
        if options["customer"]:
            numbers = [n.strip().upper() for n in options["customer"]]
            found = dict(
                Customer.objects.filter(customer_number__in=numbers).values_list(
                    "customer_number", "pk"
                )
            )
            unknown = sorted(set(numbers) - set(found))
            if unknown:
                raise CommandError(f"unknown customer number(s): {', '.join(unknown)}")
            ids = list(found.values())
        elif options["stale"]:
            ids = list(flags_stale_ids())
        else:
            ids = list(
                Customer.objects.filter(merged_into__isnull=True)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
        actor = Actor.system("command:compute_flags", ActorChannel.COMMAND)
        done = 0
        size = options["batch"]
        for start in range(0, len(ids), size):
            done += flags_compute(customer_ids=ids[start : start + size], actor=actor)
        self.stdout.write(f"Flags computed for {done} customer(s).")
