"""Admin access: a permission matrix, and the audit log is read-only."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from customer360.models import AuditEvent
from tests.factories import AuditEventFactory, CustomerFactory, FieldDefinitionFactory

pytestmark = pytest.mark.django_db

ALLOWED, DENIED, LOGIN = 200, 403, 302


@pytest.mark.parametrize(
    ("user_fixture", "page", "expected"),
    [
        (None, "customer_changelist", LOGIN),
        (None, "fielddefinition_change", LOGIN),
        ("staff_without_permissions", "customer_changelist", DENIED),
        ("staff_without_permissions", "customer_change", DENIED),
        ("staff_without_permissions", "auditevent_changelist", DENIED),
        ("agent", "customer_changelist", ALLOWED),
        ("agent", "customer_change", ALLOWED),
        ("agent", "fielddefinition_change", DENIED),
        ("agent", "auditevent_changelist", DENIED),
        ("committee_member", "fielddefinition_change", ALLOWED),  # view only
        ("steward", "fielddefinition_change", ALLOWED),
        ("privacy_officer", "auditevent_changelist", ALLOWED),
        ("privacy_officer", "accesslog_changelist", ALLOWED),
        ("agent", "accesslog_changelist", DENIED),
        ("steward", "accesslog_changelist", DENIED),
        ("superuser", "customer_changelist", ALLOWED),
        ("superuser", "fielddefinition_change", ALLOWED),
        ("superuser", "auditevent_changelist", ALLOWED),
    ],
)
def test_permission_matrix(
    user_fixture: str | None,
    page: str,
    expected: int,
    request: pytest.FixtureRequest,
    client: Client,
) -> None:
    customer = CustomerFactory()
    definition = FieldDefinitionFactory()
    urls = {
        "customer_changelist": reverse("admin:profiles_customer_changelist"),
        "customer_change": reverse("admin:profiles_customer_change", args=[customer.pk]),
        "fielddefinition_change": reverse(
            "admin:governance_fielddefinition_change", args=[definition.pk]
        ),
        "auditevent_changelist": reverse("admin:customer360_auditevent_changelist"),
        "accesslog_changelist": reverse("admin:customer360_accesslog_changelist"),
    }
    if user_fixture:
        client.force_login(request.getfixturevalue(user_fixture))
    response = client.get(urls[page])
    assert response.status_code == expected
    if expected == LOGIN:
        assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize(
    ("user_fixture", "can_save"),
    # A steward edits only drafts of their own silo (an object permission the
    # governance services grant); tests/governance/test_committee_admin.py
    # covers that matrix. Here: a steward of no silo cannot.
    [
        ("agent", False),
        ("committee_member", False),
        ("steward", False),
        ("chair", True),
        ("superuser", True),
    ],
)
def test_who_may_change_a_field_definition(
    user_fixture: str,
    can_save: bool,
    request: pytest.FixtureRequest,
    admin_client_for: Callable[[User], Client],
) -> None:
    definition = FieldDefinitionFactory(label="Before")
    url = reverse("admin:governance_fielddefinition_change", args=[definition.pk])
    client = admin_client_for(request.getfixturevalue(user_fixture))
    page = client.get(url)
    data = {"label": "After", "change_reason": "test"}
    if page.status_code == 200 and "adminform" in page.context:
        form = page.context["adminform"].form
        data = {name: form[name].value() or "" for name in form.fields} | data
        data["purposes"] = [p.pk for p in definition.purposes.all()]
    response = client.post(url, data)
    definition.refresh_from_db()
    assert (definition.label == "After") is can_save
    assert (response.status_code == 302) is can_save


def test_audit_events_are_read_only_for_everyone(
    superuser: User, admin_client_for: Callable[[User], Client]
) -> None:
    event = AuditEventFactory()
    model_admin = admin.site._registry[AuditEvent]
    fake_request = type("Request", (), {"user": superuser})()
    assert not model_admin.has_add_permission(fake_request)
    assert not model_admin.has_change_permission(fake_request, event)
    assert not model_admin.has_delete_permission(fake_request, event)

    client = admin_client_for(superuser)
    change_url = reverse("admin:customer360_auditevent_change", args=[event.pk])
    assert client.get(change_url).status_code == 200
    assert client.post(change_url, {"reason": "rewritten"}).status_code == 403
    assert client.get(reverse("admin:customer360_auditevent_add")).status_code == 403
    delete_url = reverse("admin:customer360_auditevent_delete", args=[event.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    event.refresh_from_db()
    assert event.reason == "Customer called to correct a typo."


def test_site_header(superuser: User, admin_client_for: Callable[[User], Client]) -> None:
    response = admin_client_for(superuser).get(reverse("admin:index"))
    assert b"customer360 governance" in response.content


def test_every_model_is_registered() -> None:
    from django.apps import apps

    for app in ("customer360", "governance", "consent", "profiles"):
        for model in apps.get_app_config(app).get_models():
            if not model.__name__.startswith("Historical"):
                assert admin.site.is_registered(model), model
