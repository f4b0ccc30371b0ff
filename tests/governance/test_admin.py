"""Field definitions in the admin: a change to the version in force is a proposal."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from customer360.choices import AuditEventType
from customer360.models import AuditEvent
from governance.choices import GovernanceStatus
from governance.models import FieldDefinition

pytestmark = pytest.mark.django_db


def _form_data(client: Client, url: str, definition: FieldDefinition) -> dict[str, object]:
    form = client.get(url).context["adminform"].form
    data: dict[str, object] = {name: form[name].value() or "" for name in form.fields}
    data["purposes"] = [p.pk for p in definition.purposes.all()]
    return data


def test_changing_the_version_in_force_proposes_a_new_one(
    steward: User, admin_client_for: Callable[[User], Client]
) -> None:
    approved = FieldDefinition.objects.get(canonical_name="locality", status="approved")
    url = reverse("admin:governance_fielddefinition_change", args=[approved.pk])
    client = admin_client_for(steward)
    data = _form_data(client, url, approved)
    data.update(label="Town or city", change_reason="Agents asked for a clearer label")

    response = client.post(url, data)

    proposal = FieldDefinition.objects.get(canonical_name="locality", version=2)
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "admin:governance_fielddefinition_change", args=[proposal.pk]
    )
    approved.refresh_from_db()
    assert (approved.status, approved.label) == (GovernanceStatus.APPROVED, "Locality")
    assert (proposal.status, proposal.label) == (GovernanceStatus.PROPOSED, "Town or city")
    assert proposal.history.earliest().history_user == steward
    assert (
        proposal.history.earliest().history_change_reason
        == "Agents asked for a clearer label [admin]"
    )
    assert AuditEvent.objects.get(event_type=AuditEventType.FIELD_PROPOSED).actor == steward


def test_adding_an_existing_name_is_refused(
    superuser: User, admin_client_for: Callable[[User], Client]
) -> None:
    response = admin_client_for(superuser).post(
        reverse("admin:governance_fielddefinition_add"),
        {
            "canonical_name": "email",
            "label": "E-mail",
            "description": "x",
            "data_type": "email",
            "sensitivity": "personal",
            "owning_silo": FieldDefinition.objects.get(canonical_name="email").owning_silo_id,
            "survivorship_rule": "most_recent",
            "change_reason": "dup",
        },
    )
    assert response.status_code == 200
    assert "already exists" in str(response.context["adminform"].form.errors)


def test_adding_a_new_field_creates_a_draft(
    superuser: User, admin_client_for: Callable[[User], Client]
) -> None:
    response = admin_client_for(superuser).post(
        reverse("admin:governance_fielddefinition_add"),
        {
            "canonical_name": "loyalty_tier",
            "label": "Loyalty tier",
            "description": "Tier in the loyalty programme.",
            "data_type": "code",
            "sensitivity": "internal",
            "owning_silo": FieldDefinition.objects.get(canonical_name="email").owning_silo_id,
            "survivorship_rule": "most_recent",
            "retention_action": "anonymize",
            "change_reason": "Marketing asked for it",
        },
    )
    assert response.status_code == 302
    draft = FieldDefinition.objects.get(canonical_name="loyalty_tier")
    assert (draft.version, draft.status, draft.proposed_by) == (1, "draft", superuser)
    assert draft.history.get().history_change_reason == "Marketing asked for it [admin]"
