"""The database itself refuses rows that break the consent invariants."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from consent.choices import CaptureMethod, LegalBasis, RequestStatus
from tests.factories import (
    ConsentRecordFactory,
    DataSubjectRequestFactory,
    PrivacyNoticeFactory,
    PurposeFactory,
)

pytestmark = pytest.mark.django_db
NOW = timezone.now()


def _refused(make: Callable[[], Any]) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        make()


@pytest.mark.parametrize("until", [NOW, NOW - datetime.timedelta(seconds=1)])
def test_consent_period_must_be_ordered(until: datetime.datetime) -> None:
    _refused(lambda: ConsentRecordFactory(effective_from=NOW, effective_until=until))


def test_consent_capturer_must_be_known() -> None:
    # A call has an agent behind it: without one the evidence is worthless.
    _refused(lambda: ConsentRecordFactory(capture_method=CaptureMethod.CALL, captured_by=None))


def test_consent_basis_requires_consent() -> None:
    _refused(
        lambda: PurposeFactory(
            code="t-consent", legal_basis=LegalBasis.CONSENT, requires_consent=False
        )
    )


def test_privacy_notice_version_unique() -> None:
    notice = PrivacyNoticeFactory()
    _refused(lambda: PrivacyNoticeFactory(code=notice.code, version=notice.version))


@pytest.mark.parametrize(
    "values",
    [
        {"extended_due_at": NOW + datetime.timedelta(days=60), "extension_reason": ""},
        {"extended_due_at": NOW, "extension_reason": "Complex request"},
        {"due_at": NOW - datetime.timedelta(days=1), "received_at": NOW},
        {"progress": 101},
        {"status": RequestStatus.COMPLETED, "completed_at": NOW, "identity_verified_at": None},
    ],
    ids=[
        "extension-needs-reason",
        "extension-after-due",
        "due-after-received",
        "progress-range",
        "completed-needs-verification",
    ],
)
def test_data_subject_request_constraints(values: dict[str, Any]) -> None:
    values.setdefault("received_at", NOW - datetime.timedelta(days=1))
    values.setdefault("due_at", NOW + datetime.timedelta(days=29))
    _refused(lambda: DataSubjectRequestFactory(**values))


def test_extension_with_reason_is_accepted() -> None:
    request = DataSubjectRequestFactory(
        received_at=NOW,
        due_at=NOW + datetime.timedelta(days=30),
        extended_due_at=NOW + datetime.timedelta(days=90),
        extension_reason="Request covers twelve silos",
    )
    assert request.pk
