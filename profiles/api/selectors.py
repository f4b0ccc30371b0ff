"""What a partner client may see of customers: restricted by its source system,
its lenses and the customers' consent. Every partner endpoint reads through here.

* A client sees a customer (lookup, list, consent, interactions by number)
  only when one of its source system's records links to that customer: a
  silo knows its own customers, and nobody else's keys or numbers resolve.
* The context endpoint shows a customer through one of the client's lenses,
  and only when the customer's consent covers the lens's purpose for the
  ``partner`` channel; a customer it may not see answers exactly like one
  that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from consent.models import Channel
from customer360.models import ApiClient
from governance.choices import GovernanceStatus
from governance.models import FieldDefinition, Lens
from governance.selectors import LensRefused, LensView, lens_project

from ..models import Customer, SourceRecord
from ..selectors import LENS_ATTRIBUTES, customer_get_by_number, customer_lens_data

# The consent channel of data passed to partner systems.
PARTNER_CHANNEL = "partner"


def customers_for_client(*, client: ApiClient) -> QuerySet[Customer]:
    """Surviving customers linked to the client's source system, each with the
    client's own source keys (and no other system's) prefetched."""
    if client.source_system_id is None:
        return Customer.objects.none()
    own = SourceRecord.objects.filter(source_system_id=client.source_system_id)
    return (
        Customer.objects.filter(merged_into__isnull=True)
        .filter(Exists(own.filter(customer_id=OuterRef("pk"))))
        .prefetch_related(
            Prefetch("source_records", queryset=own.only("pk", "customer_id", "source_key"),
                     to_attr="own_records")
        )
        .only("pk", "customer_number", "lifecycle_status", "updated_at")
    )  # fmt: skip


# The columns lookups and context reads use; the rest of the row stays in the database.
_SURVIVOR_COLUMNS = ("id", "customer_number", "merged_into_id", "is_restricted",
                     "lifecycle_status", "updated_at", *LENS_ATTRIBUTES)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Resolved:
    """A number as asked, and the surviving customer it stands for."""

    requested_number: str
    customer: Customer


def customer_for_client(*, client: ApiClient, number: str) -> Resolved | None:
    """The (surviving) customer ``number`` stands for, if the client may see it."""
    survivor = customer_get_by_number(number, fields=_SURVIVOR_COLUMNS)
    if survivor is None:
        return None
    found = customers_for_client(client=client).filter(pk=survivor.pk).first()
    return Resolved(number.strip().upper(), found) if found is not None else None


# What a context read needs of a lens and its purpose and fields: loading no more
# keeps the per-request cost of the hottest partner endpoint down.
_LENS_COLUMNS = ("id", "code", "version", "status", "sections", "purpose__id", "purpose__code",
                 "purpose__requires_consent")  # fmt: skip


def client_lens(*, client: ApiClient, lens_code: str | None) -> Lens:
    """The approved lens the client reads through: the one named, or its only one.
    ``LensRefused`` when it names one it may not use (or that is not approved),
    or names none and has several or none. Two queries: the lens with its
    purpose, and its field names."""
    lenses = (
        Lens.objects.filter(applications=client.application_id, status=GovernanceStatus.APPROVED)
        .select_related("purpose")
        .only(*_LENS_COLUMNS)
        .prefetch_related(
            Prefetch("fields", queryset=FieldDefinition.objects.only("id", "canonical_name"))
        )
    )
    if lens_code:
        lens = lenses.filter(code=lens_code).first()
        if lens is None:
            raise LensRefused(f"You may not use the lens '{lens_code}'.")
        return lens
    found = list(lenses[:2])
    if len(found) != 1:
        raise LensRefused("Name the lens (?lens=code): the client has none or several.")
    return found[0]


def customer_context(*, lens: Lens, number: str) -> tuple[Customer, LensView] | None:
    """The lens's fields of the customer ``number`` stands for, or None when it
    does not exist or its consent does not cover the lens's purpose: the caller
    answers both the same way, so the answer reveals nothing."""
    customer = customer_get_by_number(number, fields=_SURVIVOR_COLUMNS)
    # Restricted profiles (employees, protected persons) never leave through the API.
    if customer is None or customer.is_restricted:
        return None
    data = customer_lens_data(customer)
    channel = Channel.objects.only("id", "code").filter(code=PARTNER_CHANNEL).first()
    view = lens_project(lens=lens, data=data, customer=customer, channel=channel)
    if view.consent_blocked:
        return None
    return customer, view
