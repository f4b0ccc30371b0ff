"""Householding: rules, stable households, ended memberships, privacy of the label, audit."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from customer360.choices import ActorChannel, AuditEventType
from customer360.models import AuditEvent
from customer360.services import Actor
from profiles.identity.choices import RunKind, RunStatus
from profiles.identity.households import households_update
from profiles.identity.merge import customer_merge
from profiles.models import Customer, Household, HouseholdMembership, ResolutionRun
from profiles.tasks import households_update_task
from tests.factories import CustomerFactory, HouseholdMembershipFactory, ResolutionRunFactory

ACTOR = Actor.system("test:householding", ActorChannel.TASK)


def resident(family: str, line1: str, **extra: str) -> Customer:
    values = {
        "family_name": family,
        "address_line1": line1,
        "postcode": "1234 AB",
        "locality": "Amsterdam",
        "phone": "",
        **extra,
    }
    return CustomerFactory(**values)


def current(customer: Customer) -> set[int]:
    return set(
        HouseholdMembership.objects.filter(customer=customer, valid_to__isnull=True).values_list(
            "household_id", flat=True
        )
    )


def history_rows() -> int:
    return (
        Household.history.count()  # type: ignore[attr-defined]
        + HouseholdMembership.history.count()  # type: ignore[attr-defined]
    )


@pytest.mark.django_db
def test_households_from_address_and_family_and_from_a_shared_phone() -> None:
    ada = resident("Lovelace", "12 High St.")
    byron = resident("Lovelace", "12 high street", given_name="Byron")
    neighbour = resident("Babbage", "12 High Street")  # same address, other family: not grouped
    grace = resident("Hopper", "1 Navy Road", phone="+31612345678", locality="Delft")
    alan = resident("Turing", "3 Other Lane", phone="+31612345678", postcode="9999ZZ")
    manual = HouseholdMembershipFactory(customer=neighbour)  # a steward's household: left alone

    run = households_update(actor=ACTOR, reason="Test")
    assert (run.kind, run.status) == (RunKind.HOUSEHOLDS, RunStatus.DONE)
    (family,) = current(ada)
    assert current(byron) == {family}
    assert Household.objects.get(pk=family).label == "Lovelace household, Amsterdam"
    (shared,) = current(grace)
    assert current(alan) == {shared} and shared != family
    # Different names and places: the label shows nothing of either member.
    label = Household.objects.get(pk=shared).label
    assert label == f"Household {shared}"
    assert current(neighbour) == {manual.household_id}
    event = AuditEvent.objects.get(event_type=AuditEventType.HOUSEHOLDS_UPDATED)
    assert event.new["created"] == 2 and event.new["memberships_added"] == 4

    # Idempotent: nothing new, not even history rows.
    rows = history_rows()
    households_update(actor=ACTOR, reason="Again")
    assert history_rows() == rows
    assert HouseholdMembership.objects.count() == 5


@pytest.mark.django_db
def test_moving_out_ends_membership_and_merged_customers_drop_out() -> None:
    ada = resident("Lovelace", "12 High Street")
    byron = resident("Lovelace", "12 High Street")
    annabella = resident("Lovelace", "12 High Street")
    households_update(actor=ACTOR, reason="Test")
    (household,) = current(ada)

    Customer.objects.filter(pk=annabella.pk).update(address_line1="7 New Road", postcode="5555XX")
    households_update(actor=ACTOR, reason="Moved")
    assert current(annabella) == set()
    ended = HouseholdMembership.objects.get(customer=annabella)
    assert ended.valid_to == timezone.localdate()
    assert current(ada) == current(byron) == {household}  # the household keeps its id

    # Byron turns out to be Ada: one person cannot form a household alone.
    customer_merge(survivor=ada, merged=byron, actor=ACTOR, reason="Same person")
    households_update(actor=ACTOR, reason="After merge")
    assert current(ada) == set()
    assert HouseholdMembership.objects.filter(valid_to__isnull=True).count() == 0


@pytest.mark.django_db
def test_householding_is_refused_while_running_and_the_task_backs_off() -> None:
    resident("Lovelace", "12 High Street")
    resident("Lovelace", "12 High Street")
    running = ResolutionRunFactory(
        kind=RunKind.HOUSEHOLDS, status=RunStatus.RUNNING, finished_at=None
    )
    with pytest.raises(CommandError, match=f"Run {running.pk}"):
        call_command("households_update", stdout=StringIO())
    households_update_task()  # another run is at work: the task leaves it to that one
    assert HouseholdMembership.objects.count() == 0

    running.status, running.finished_at = RunStatus.DONE, timezone.now()
    running.save()
    out = StringIO()
    call_command("households_update", stdout=out)
    assert "1 household(s) from 2 customer(s): 1 created" in out.getvalue()
    assert ResolutionRun.objects.filter(kind=RunKind.HOUSEHOLDS, status=RunStatus.DONE).count() == 2
