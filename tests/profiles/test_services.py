"""Customer write services."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from consent.models import Channel
from customer360.choices import AuditEventType
from customer360.models import AuditEvent
from customer360.services import Actor
from profiles.choices import LifecycleStatus
from profiles.models import Customer
from profiles.numbers import is_valid_customer_number
from profiles.services import customer_create, customer_update
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_customer_create_allocates_a_number_and_audits(actor: Actor) -> None:
    customer = customer_create(
        actor=actor,
        reason="Walk-in customer",
        given_name="Grace",
        family_name="Hopper",
        date_of_birth=datetime.date(1906, 12, 9),
    )
    assert is_valid_customer_number(customer.customer_number)
    assert customer.history.get().history_user == actor.user
    event = AuditEvent.objects.get(event_type=AuditEventType.CUSTOMER_CREATED)
    assert event.customer_number == customer.customer_number
    # Field names only: the values live in the row history.
    assert event.new == {"fields": ["date_of_birth", "family_name", "given_name"]}


def test_customer_create_refuses_non_identity_fields(actor: Actor) -> None:
    with pytest.raises(ValidationError) as caught:
        customer_create(actor=actor, reason="r", given_name="x", lifecycle_status="active")
    assert "lifecycle_status" in caught.value.message_dict
    assert not Customer.objects.exists()


def test_customer_create_validates(actor: Actor) -> None:
    with pytest.raises(ValidationError) as caught:
        customer_create(actor=actor, reason="r", email="not-an-email")
    assert "email" in caught.value.message_dict


def test_customer_update_refuses_unknown_field_by_name(actor: Actor) -> None:
    customer = CustomerFactory()
    with pytest.raises(ValidationError) as caught:
        customer_update(
            customer=customer,
            actor=actor,
            reason="r",
            changes={"family_name": "New", "merged_into": None},
        )
    assert list(caught.value.message_dict) == ["merged_into"]
    customer.refresh_from_db()
    assert customer.family_name != "New"


def test_customer_update_serializes_dates_and_relations(actor: Actor) -> None:
    customer = CustomerFactory(date_of_birth=datetime.date(1985, 12, 10))
    email = Channel.objects.get(code="email")
    customer_update(
        customer=customer,
        actor=actor,
        reason="Corrected from ID card",
        changes={"date_of_birth": datetime.date(1985, 12, 11), "preferred_channel": email},
    )
    event = AuditEvent.objects.get(event_type=AuditEventType.CUSTOMER_UPDATED)
    assert event.old["values"] == {"date_of_birth": "1985-12-10", "preferred_channel": None}
    assert event.new["values"] == {"date_of_birth": "1985-12-11", "preferred_channel": email.pk}


def test_customer_update_without_change_writes_nothing(actor: Actor) -> None:
    customer = CustomerFactory(family_name="Same")
    customer_update(customer=customer, actor=actor, reason="r", changes={"family_name": "Same"})
    assert customer.history.count() == 1
    assert not AuditEvent.objects.exists()


def test_customer_update_refuses_merged_away_customer(actor: Actor) -> None:
    survivor = CustomerFactory()
    merged = CustomerFactory(
        merged_into=survivor, merged_at=timezone.now(), lifecycle_status=LifecycleStatus.MERGED
    )
    with pytest.raises(ValidationError):
        customer_update(customer=merged, actor=actor, reason="r", changes={"given_name": "X"})


def test_customer_update_needs_a_reason(actor: Actor) -> None:
    customer = CustomerFactory()
    with pytest.raises(ValueError, match="reason"):
        customer_update(customer=customer, actor=actor, reason=" ", changes={"given_name": "X"})
