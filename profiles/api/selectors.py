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

import json
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from consent.models import Channel, Purpose
from consent.selectors import consent_allows
from customer360.api.rows import columns, instance, ordered
from customer360.models import ApiClient
from governance.choices import GovernanceStatus
from governance.models import FieldDefinition, Lens
from governance.selectors import LensRefused, LensView

from ..models import Customer, SourceRecord
from ..numbers import is_valid_customer_number
from ..selectors import (
    LENS_ATTRIBUTES,
    MAX_MERGE_CHAIN,
    customer_get_by_number,
    customer_lens_data,
)

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


# --- the context read -----------------------------------------------------------------
#
# The hottest partner endpoint reads through two prepared statements and the
# consent check (``consent.selectors.consent_allows``, itself prepared SQL):
# compiling the equivalent querysets cost more CPU than the database's work.


@dataclass(frozen=True, slots=True)
class PartnerLens:
    """An approved lens a client reads through, with its purpose and field names,
    and the id of the ``partner`` consent channel (None when it does not exist)."""

    id: int
    code: str
    version: int
    sections: tuple[str, ...]
    purpose: Purpose
    field_names: frozenset[str]
    channel_id: int | None


def _m2m(field: Any) -> tuple[str, str, str]:
    """(table, own column, other column) of a many-to-many field's through table."""
    return field.m2m_db_table(), field.m2m_column_name(), field.m2m_reverse_name()


_PURPOSE_FIELDS = ordered(Purpose, ("id", "code", "requires_consent"))
_CUSTOMER_COLUMNS = ordered(Customer, ("id", "customer_number", "is_restricted",
                                       "lifecycle_status", *LENS_ATTRIBUTES))  # fmt: skip
_CUSTOMER = Customer._meta.db_table
_LENS_APPS = _m2m(Lens._meta.get_field("applications"))
_LENS_FIELDS = _m2m(Lens._meta.get_field("fields"))
# One row per field of each approved lens of the application (the one named, or
# all of them), each with the lens's purpose, the partner channel's id and the
# customer the number stands for: merges are followed to the survivor in the
# same statement (customer columns empty when the number is unknown or its
# chain ends nowhere).
_CONTEXT_SQL = f"""
    WITH RECURSIVE chain (id, merged_into_id, depth) AS (
        SELECT id, merged_into_id, 0 FROM {_CUSTOMER} WHERE customer_number = %s
        UNION ALL
        SELECT c.id, c.merged_into_id, chain.depth + 1
        FROM {_CUSTOMER} c JOIN chain ON c.id = chain.merged_into_id
        WHERE chain.depth < {MAX_MERGE_CHAIN}
    ),
    survivor AS (
        SELECT {columns(Customer, _CUSTOMER_COLUMNS, "c")} FROM {_CUSTOMER} c
        WHERE c.id = (SELECT id FROM chain WHERE merged_into_id IS NULL LIMIT 1)
    )
    SELECT l.id, l.code, l.version, l.sections, {columns(Purpose, _PURPOSE_FIELDS, "p")},
           f.canonical_name,
           (SELECT ch.id FROM {Channel._meta.db_table} ch WHERE ch.code = %s),
           {columns(Customer, _CUSTOMER_COLUMNS, "s")}
    FROM {_LENS_APPS[0]} la
    JOIN {Lens._meta.db_table} l ON l.id = la.{_LENS_APPS[1]}
    JOIN {Purpose._meta.db_table} p ON p.id = l.purpose_id
    LEFT JOIN {_LENS_FIELDS[0]} lf ON lf.{_LENS_FIELDS[1]} = l.id
    LEFT JOIN {FieldDefinition._meta.db_table} f ON f.id = lf.{_LENS_FIELDS[2]}
    LEFT JOIN survivor s ON 1 = 1
    WHERE la.{_LENS_APPS[2]} = %s AND l.status = %s AND (%s = '' OR l.code = %s)
"""  # noqa: S608 (table and column names from the models; values are parameters)
_P = 4 + len(_PURPOSE_FIELDS)  # index of the field name; then the channel, the customer


def partner_context(
    *, application_id: int, lens_code: str | None, number: str
) -> tuple[PartnerLens, tuple[Customer, LensView] | None]:
    """The approved lens the client reads through (the one named, or its only
    one), and the lens's fields of the customer ``number`` stands for. One
    statement for the lens and the customer, then the consent check.

    ``LensRefused`` when the client names a lens it may not use (or that is
    not approved), or names none and has several or none. The customer part
    is None when the number is unknown, the profile restricted, or the
    customer's consent does not cover the lens's purpose on the ``partner``
    channel: the caller answers all of them the same way, so the answer
    reveals nothing. The rule is ``lens_project``'s (consent first, then only
    the lens's fields) on rows read with one prepared statement;
    tests/api/test_customers.py holds the two to the same answers.
    """
    code = lens_code or ""
    number = number.strip().upper()
    with connection.cursor() as cursor:
        cursor.execute(_CONTEXT_SQL, [number if is_valid_customer_number(number) else "",
                                      PARTNER_CHANNEL, application_id,
                                      GovernanceStatus.APPROVED, code, code])  # fmt: skip
        rows = cursor.fetchall()
    if code and not rows:
        raise LensRefused(f"You may not use the lens '{code}'.")
    if len({row[0] for row in rows}) != 1:
        raise LensRefused("Name the lens (?lens=code): the client has none or several.")
    first = rows[0]
    sections = first[3]
    lens = PartnerLens(
        id=first[0],
        code=first[1],
        version=first[2],
        sections=tuple(json.loads(sections) if isinstance(sections, str) else sections or ()),
        purpose=instance(Purpose, _PURPOSE_FIELDS, first[4:_P]),
        field_names=frozenset(row[_P] for row in rows if row[_P] is not None),
        channel_id=first[_P + 1],
    )
    if first[_P + 2] is None:
        return lens, None
    customer = instance(Customer, _CUSTOMER_COLUMNS, first[_P + 2 :])
    # Restricted profiles (employees, protected persons) never leave through the API.
    if customer.is_restricted:
        return lens, None
    if lens.purpose.requires_consent:
        if lens.channel_id is None:
            return lens, None
        channel = instance(Channel, ("id",), (lens.channel_id,))
        if not consent_allows(customer=customer, purpose=lens.purpose, channel=channel):
            return lens, None
    data = customer_lens_data(customer)
    shown = {name: value for name, value in data.items() if name in lens.field_names}
    return lens, (
        customer,
        LensView(
            lens_code=lens.code,
            lens_version=lens.version,
            purpose=lens.purpose.code,
            sections=lens.sections,
            fields=shown,
            hidden_count=len(data) - len(shown),
            consent_blocked=False,
        ),
    )
