"""Forms of the consent app (the admin's for now; the agent screens add theirs)."""

from __future__ import annotations

from customer360.admin import ChangeReasonForm

from .models import ConsentRecord

# What a person states and the evidence for it; who captured it and when are
# set by ``consent_record`` from the request.
CONSENT_STATEMENT_FIELDS = [
    "customer",
    "purpose",
    "channel",
    "status",
    "capture_method",
    "captured_via",
    "effective_from",
    "effective_until",
    "evidence_reference",
    "notice",
    "double_opt_in",
]


class ConsentRecordAdminForm(ChangeReasonForm):
    """A new consent statement; the reason is stored on the record and in history."""

    class Meta:
        model = ConsentRecord
        fields = CONSENT_STATEMENT_FIELDS
