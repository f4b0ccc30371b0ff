"""Forms of the profiles app (the admin's for now; the agent screens add theirs)."""

from __future__ import annotations

from customer360.admin import ChangeReasonForm

from .models import Customer
from .services import CUSTOMER_IDENTITY_FIELDS


class CustomerAdminForm(ChangeReasonForm):
    """Identity fields only: everything else on a customer has its own service."""

    class Meta:
        model = Customer
        fields = sorted(CUSTOMER_IDENTITY_FIELDS)
