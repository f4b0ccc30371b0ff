"""Write services of the profiles app.

Every change to a customer goes through here, so that it is validated, locked,
recorded in the row history (actor and reason) and, where it means something to
the business, in the audit log.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction

from customer360.choices import AuditEventType
from customer360.services import Actor, audit_event_record, model_save

from .models import Customer
from .numbers import customer_numbers_allocate

# The golden record's identity fields a person (agent, steward, admin) may set
# directly. Lifecycle status, merge state, lineage and restriction are derived
# or owned by their own services (merge, flags, access control).
CUSTOMER_IDENTITY_FIELDS: frozenset[str] = frozenset(
    {
        "given_name",
        "middle_name",
        "family_name",
        "date_of_birth",
        "email",
        "phone",
        "address_line1",
        "address_line2",
        "locality",
        "region",
        "postcode",
        "country",
        "language",
        "preferred_channel",
    }
)


def _check_identity_fields(names: set[str]) -> None:
    unknown = sorted(names - CUSTOMER_IDENTITY_FIELDS)
    if unknown:
        raise ValidationError(
            {name: f"{name} is not an identity field that can be set here." for name in unknown}
        )


def _audit_value(value: object) -> Any:
    """A JSON-safe form of a field value for the audit log's old/new."""
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    return value


@transaction.atomic
def customer_create(
    *,
    actor: Actor,
    reason: str,
    lineage: dict[str, int] | None = None,
    source_record_id: int | None = None,
    **identity: Any,
) -> Customer:
    """Create a golden customer under a freshly allocated customer number.

    ``identity`` holds identity fields only (see ``CUSTOMER_IDENTITY_FIELDS``);
    anything else is refused with a ``ValidationError`` naming the field. The
    audit event lists the fields set, not their values: the row history
    already holds the values. A customer derived from a source record (identity
    resolution) passes its ``lineage`` and the record's id, which the event names.
    """
    _check_identity_fields(set(identity))
    customer = Customer(
        customer_number=customer_numbers_allocate(1)[0], lineage=lineage or {}, **identity
    )
    model_save(customer, actor=actor, reason=reason)
    new: dict[str, Any] = {
        "fields": sorted(name for name, value in identity.items() if value not in ("", None))
    }
    if source_record_id is not None:
        new["source_record"] = source_record_id
    audit_event_record(
        event_type=AuditEventType.CUSTOMER_CREATED,
        actor=actor,
        subject=customer,
        reason=reason,
        new=new,
        customer_number=customer.customer_number,
    )
    return customer


@transaction.atomic
def customer_update(
    *, customer: Customer, actor: Actor, reason: str, changes: dict[str, object]
) -> Customer:
    """Change identity fields of a customer; returns the saved customer.

    Only fields in ``CUSTOMER_IDENTITY_FIELDS`` may change; any other name is
    refused with a ``ValidationError`` naming it. A customer merged into
    another is read-only: changes belong on the survivor. Fields whose value
    does not actually change are ignored; when nothing changes nothing is
    written. The audit event holds old and new values: acceptable inside the
    database's audit log, which is why they must never be logged.
    """
    _check_identity_fields(set(changes))
    # Lock the row so that two concurrent edits cannot each compute "old"
    # from the same state and silently overwrite each other.
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    if locked.merged_into_id is not None:
        raise ValidationError(
            f"{locked.customer_number} was merged into another customer; change the survivor."
        )
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for name, value in changes.items():
        before = getattr(locked, name)
        if before == value:
            continue
        old[name] = _audit_value(before)
        new[name] = _audit_value(value)
        setattr(locked, name, value)
    if not new:
        return locked
    model_save(locked, actor=actor, reason=reason)
    audit_event_record(
        event_type=AuditEventType.CUSTOMER_UPDATED,
        actor=actor,
        subject=locked,
        reason=reason,
        old={"fields": sorted(old), "values": old},
        new={"fields": sorted(new), "values": new},
        customer_number=locked.customer_number,
    )
    return locked


# --- identity resolution: one entry point for screens, API, tasks and commands -----

from .identity.ingest import ImportRefused, source_records_import, source_records_import_file  # noqa: E402
from .identity.matching import customer_golden_refresh, source_record_match  # noqa: E402
from .identity.merge import customer_merge, customer_unmerge  # noqa: E402
from .identity.review import candidate_decide, candidate_undo  # noqa: E402
from .identity.sources import source_declaration_load  # noqa: E402

__all__ = [
    "CUSTOMER_IDENTITY_FIELDS",
    "ImportRefused",
    "candidate_decide",
    "candidate_undo",
    "customer_create",
    "customer_golden_refresh",
    "customer_merge",
    "customer_unmerge",
    "customer_update",
    "source_declaration_load",
    "source_record_match",
    "source_records_import",
    "source_records_import_file",
]
