"""The audit log is append-only."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from customer360.models import AuditEvent
from tests.factories import AuditEventFactory

pytestmark = pytest.mark.django_db


def test_audit_log_refuses_update_and_delete() -> None:
    """On PostgreSQL a trigger (migration customer360.0002) refuses UPDATE and
    DELETE of audit rows, even from a stray ``QuerySet.update()``.

    SQLite has no such trigger: there the ORM writes go through and this test
    asserts exactly that, so that it never passes by accident. The admin's
    refusal is tested in test_admin.py on every database. ``.ci/run`` runs the
    suite on PostgreSQL, where the trigger branch is exercised.
    """
    event = AuditEventFactory()
    rows = AuditEvent.objects.filter(pk=event.pk)

    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            rows.update(reason="rewritten")
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            rows.delete()
        event.refresh_from_db()
        assert event.reason == "Customer called to correct a typo."
    else:
        assert connection.vendor == "sqlite"
        # No trigger here: the database accepts what PostgreSQL refuses.
        assert rows.update(reason="rewritten") == 1
        assert rows.delete()[0] == 1
