"""Read selectors of the profiles app."""

from __future__ import annotations

from collections.abc import Iterator

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet
from guardian.shortcuts import get_objects_for_user

from .models import Customer, SourceRecord
from .numbers import is_valid_customer_number

# Merges chain (A into B, later B into C); a longer chain than this means
# corrupt data, which must fail loudly rather than loop.
MAX_MERGE_CHAIN = 50


def customer_get_by_number(number: str) -> Customer | None:
    """The customer a number stands for, following merges to the survivor.

    A number merged away keeps resolving: agents read old numbers from letters
    and cards. Returns None for an unknown or malformed number.
    """
    number = number.strip().upper()
    if not is_valid_customer_number(number):
        return None
    customer = Customer.objects.filter(customer_number=number).first()
    seen: set[int] = set()
    while customer is not None and customer.merged_into_id is not None:
        seen.add(customer.pk)
        if len(seen) > MAX_MERGE_CHAIN or customer.merged_into_id in seen:
            raise RuntimeError(f"merge chain of {number} does not end in a survivor")
        customer = Customer.objects.get(pk=customer.merged_into_id)
    return customer


def customer_list(*, user: User | AnonymousUser) -> QuerySet[Customer]:
    """Surviving customers the user may see.

    Needs the ``profiles.view_customer`` permission. Restricted customers
    (employees, protected persons) are visible only with an object permission
    granted through django-guardian, or to superusers.
    """
    if not user.has_perm("profiles.view_customer"):
        return Customer.objects.none()
    customers = Customer.objects.filter(merged_into__isnull=True)
    if user.is_superuser:
        return customers
    granted = get_objects_for_user(
        user,
        "profiles.view_customer",
        klass=Customer.objects.filter(is_restricted=True),
        accept_global_perms=False,
    )
    return customers.filter(Q(is_restricted=False) | Q(pk__in=granted.values("pk")))


def source_record_identities() -> Iterator[tuple[str, str, str]]:
    """(system code, source key, customer number) of every source record.

    The contract by which matching quality is measured from outside: a record
    of a merged-away customer reports the survivor's number (merges move
    records, and any straggler is followed to its survivor); an unresolved
    record reports an empty number.
    """
    survivors: dict[int, str] = {}

    def survivor_number(customer: Customer) -> str:
        if customer.merged_into_id is None:
            return customer.customer_number
        if customer.pk not in survivors:
            resolved = customer_get_by_number(customer.customer_number)
            survivors[customer.pk] = resolved.customer_number if resolved else ""
        return survivors[customer.pk]

    records = (
        SourceRecord.objects.select_related("source_system", "customer")
        .order_by("source_system__code", "source_key")
        .only(
            "source_key",
            "source_system__code",
            "customer__customer_number",
            "customer__merged_into",
        )
    )
    for record in records.iterator(chunk_size=5000):
        number = survivor_number(record.customer) if record.customer is not None else ""
        yield record.source_system.code, record.source_key, number
