"""Lenses: one selector decides what any screen or endpoint shows."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import AnonymousUser, Group, User
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st
from oauth2_provider.models import Application

from consent.choices import ConsentStatus
from consent.models import Channel, Purpose
from governance.choices import CommitteeRole, GovernanceStatus
from governance.models import FieldDefinition, Lens
from governance.selectors import LensRefused, lens_for, lens_project
from tests.factories import ConsentRecordFactory, CustomerFactory, LensFactory

pytestmark = pytest.mark.django_db

BASELINE = [
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
    "national_id",
]


def _lens(
    code: str, purpose: str, fields: list[str], groups: list[Group] = (), **values: object
) -> Lens:  # type: ignore[assignment]
    lens = LensFactory(
        code=code,
        purpose=Purpose.objects.get(code=purpose),
        status=values.pop("status", GovernanceStatus.APPROVED),
        approved_at=timezone.now(),
        **values,
    )
    lens.fields.set(FieldDefinition.objects.filter(canonical_name__in=fields))
    lens.roles.set(groups)
    return lens


@pytest.fixture
def service_lens(role_groups: dict[str, Group]) -> Lens:
    return _lens(
        "service-call", "service", ["given_name", "family_name", "phone"], [role_groups["agent"]]
    )


def test_a_user_uses_a_lens_only_through_its_roles(
    service_lens: Lens, agent: User, steward: User, superuser: User
) -> None:
    assert lens_for(user=agent, lens_code="service-call") == service_lens
    for user in (steward, superuser, AnonymousUser()):
        with pytest.raises(LensRefused):
            lens_for(user=user, lens_code="service-call")


def test_an_unapproved_lens_is_never_used(role_groups: dict[str, Group], agent: User) -> None:
    _lens(
        "draft-lens", "service", ["email"], [role_groups["agent"]], status=GovernanceStatus.PROPOSED
    )
    with pytest.raises(LensRefused, match="No approved lens"):
        lens_for(user=agent, lens_code="draft-lens")


def test_a_partner_client_uses_only_its_lenses(service_lens: Lens) -> None:
    claims = Application.objects.create(
        name="claims partner",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    )
    other = Application.objects.create(
        name="other partner",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    )
    partner_lens = _lens("partner-claims", "service", ["family_name"])
    partner_lens.applications.set([claims])
    assert lens_for(application=claims, lens_code="partner-claims") == partner_lens
    for application, code in [(other, "partner-claims"), (claims, "service-call")]:
        with pytest.raises(LensRefused):
            lens_for(application=application, lens_code=code)


def test_lens_for_needs_exactly_one_caller(service_lens: Lens, agent: User) -> None:
    with pytest.raises(ValueError):
        lens_for(lens_code="service-call")


def test_projection_shows_lens_fields_and_counts_the_rest(service_lens: Lens) -> None:
    data = {
        "given_name": "Ada",
        "family_name": "Lovelace",
        "email": "ada@example.org",
        "national_id": "X",
    }
    view = lens_project(lens=service_lens, data=data)
    assert view.fields == {"given_name": "Ada", "family_name": "Lovelace"}
    assert view.hidden_count == 2
    assert "ada@example.org" not in repr(view) and "national_id" not in repr(view)


@pytest.fixture
def marketing_lens(role_groups: dict[str, Group]) -> Lens:
    return _lens("upsell", "marketing", ["given_name", "email"], [role_groups["agent"]])


def test_a_consent_purpose_without_consent_shows_nothing(marketing_lens: Lens) -> None:
    customer = CustomerFactory()
    email = Channel.objects.get(code="email")
    data = {"given_name": "Ada", "email": "ada@example.org"}
    for view in (
        lens_project(lens=marketing_lens, data=data),  # no customer named: fail closed
        lens_project(lens=marketing_lens, data=data, customer=customer, channel=email),
    ):
        assert (view.fields, view.hidden_count, view.consent_blocked) == ({}, 2, True)
        assert view.sections == ()

    ConsentRecordFactory(customer=customer, purpose=marketing_lens.purpose, channel=email)
    view = lens_project(lens=marketing_lens, data=data, customer=customer, channel=email)
    assert view.fields == data and not view.consent_blocked

    ConsentRecordFactory(
        customer=customer,
        purpose=marketing_lens.purpose,
        channel=email,
        status=ConsentStatus.WITHDRAWN,
    )
    view = lens_project(lens=marketing_lens, data=data, customer=customer, channel=email)
    assert view.fields == {}


@settings(max_examples=60, deadline=None)
@given(
    lens_fields=st.sets(st.sampled_from(BASELINE)),
    data=st.dictionaries(
        st.one_of(st.sampled_from(BASELINE), st.text(min_size=1, max_size=12)),
        st.one_of(st.text(max_size=20), st.integers(), st.none()),
        max_size=20,
    ),
)
def test_nothing_outside_the_lens_leaks(lens_fields: set[str], data: dict[str, object]) -> None:
    lens = Lens.objects.filter(code="hypothesis").first() or _lens("hypothesis", "service", [])
    lens.fields.set(FieldDefinition.objects.filter(canonical_name__in=lens_fields))
    lens = Lens.objects.prefetch_related("fields").select_related("purpose").get(pk=lens.pk)

    view = lens_project(lens=lens, data=data)

    assert set(view.fields) <= lens_fields
    assert view.fields == {k: v for k, v in data.items() if k in lens_fields}
    assert view.hidden_count == len(data) - len(view.fields)


def test_lens_for_query_count(
    service_lens: Lens, agent: User, django_assert_num_queries: Callable[..., object]
) -> None:
    with django_assert_num_queries(3):  # lens with purpose, its fields, the role check
        lens = lens_for(user=agent, lens_code="service-call")
    with django_assert_num_queries(0):
        lens_project(lens=lens, data={"given_name": "Ada", "email": "x"})


def test_every_role_is_refused_a_lens_it_was_not_given(
    make_role_user: Callable[[str], User], role_groups: dict[str, Group]
) -> None:
    _lens("risk-review", "risk", ["national_id"], [role_groups[CommitteeRole.PRIVACY_OFFICER]])
    for role in CommitteeRole:
        user = make_role_user(role)
        if role == CommitteeRole.PRIVACY_OFFICER:
            assert lens_for(user=user, lens_code="risk-review").code == "risk-review"
        else:
            with pytest.raises(LensRefused):
                lens_for(user=user, lens_code="risk-review")
