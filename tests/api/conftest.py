"""Fixtures of the partner API: a governed source system (the CRM of the
identity tests), a partner lens on ``partner_sharing``, two clients and a
bearer-token client factory."""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken, set_token_value

from consent.choices import CaptureMethod, ConsentStatus, LegalBasis
from consent.models import Channel, Purpose
from customer360.api.choices import ApiScope
from customer360.models import ApiClient
from governance.choices import CardSection, GovernanceStatus
from governance.models import FieldDefinition, Lens, SourceSystem
from profiles.models import Customer, SourceRecord
from tests.factories import (
    ApiClientFactory,
    ChannelFactory,
    ConsentRecordFactory,
    CustomerFactory,
    LensFactory,
    PurposeFactory,
    SourceRecordFactory,
    SourceSystemFactory,
    UserFactory,
)
from tests.profiles import conftest as identity_fixtures

# The governed CRM source of the identity tests, reused as client A's system.
crm = identity_fixtures.crm
crm_toml = identity_fixtures.crm_toml
fields_decided = identity_fixtures.fields_decided

LENS_FIELDS = ("given_name", "family_name", "postcode")


@pytest.fixture(autouse=True)
def _fresh_throttle_counts() -> None:
    # Throttle counters live in the cache; one test's requests must not throttle another's.
    cache.clear()


@pytest.fixture
def partner_channel(db: None) -> Channel:
    return ChannelFactory(code="partner", is_outbound=False)


@pytest.fixture
def sharing(db: None) -> Purpose:
    return PurposeFactory(
        code="partner_sharing", legal_basis=LegalBasis.CONSENT, requires_consent=True
    )


@pytest.fixture
def client_a(crm: SourceSystem) -> ApiClient:
    """The CRM's partner client, with every scope."""
    return ApiClientFactory(source_system=crm, scopes=list(ApiScope.values))


@pytest.fixture
def client_b(db: None) -> ApiClient:
    """Another silo's client, with every scope, speaking for another system."""
    return ApiClientFactory(source_system=SourceSystemFactory(code="billing-sys"))


@pytest.fixture
def lens(client_a: ApiClient, sharing: Purpose) -> Lens:
    """The approved partner lens client A may read through."""
    lens = LensFactory(
        code="partner-claims",
        purpose=sharing,
        sections=[CardSection.IDENTITY],
        status=GovernanceStatus.APPROVED,
        approved_at=timezone.now(),
        approved_by=UserFactory(),
    )
    lens.fields.set(
        FieldDefinition.objects.filter(
            canonical_name__in=LENS_FIELDS, status=GovernanceStatus.APPROVED
        )
    )
    lens.applications.set([client_a.application])
    return lens


@dataclass
class Person:
    customer: Customer
    record: SourceRecord


@pytest.fixture
def consenting(crm: SourceSystem, partner_channel: Channel, sharing: Purpose) -> Person:
    """A CRM customer who consented to partner sharing."""
    customer = CustomerFactory(given_name="Ada", family_name="Lovelace", postcode="1011AB",
                               email="ada@example.org", phone="+31612345678")  # fmt: skip
    record = SourceRecordFactory(source_system=crm, source_key="CRM-1", customer=customer)
    ConsentRecordFactory(
        customer=customer,
        purpose=sharing,
        channel=partner_channel,
        status=ConsentStatus.GRANTED,
        capture_method=CaptureMethod.PARTNER_API,
        captured_via=partner_channel,
        captured_by=UserFactory(),
        effective_from=timezone.now() - datetime.timedelta(days=1),
    )
    return Person(customer, record)


@pytest.fixture
def silent(crm: SourceSystem, partner_channel: Channel, sharing: Purpose) -> Person:
    """A CRM customer who never consented to partner sharing."""
    customer = CustomerFactory(given_name="Grace", family_name="Hopper")
    record = SourceRecordFactory(source_system=crm, source_key="CRM-2", customer=customer)
    return Person(customer, record)


def issue_token(client: ApiClient, scopes: list[str] | None = None) -> str:
    """A bearer token of ``client`` carrying ``scopes`` (default: all of the client's)."""
    raw = secrets.token_urlsafe(24)
    token = AccessToken(
        application=client.application,
        expires=timezone.now() + datetime.timedelta(minutes=10),
        scope=" ".join(client.scopes if scopes is None else scopes),
    )
    set_token_value(token, raw)
    token.save()
    return raw


@pytest.fixture
def api_for() -> Callable[..., Client]:
    """A test client sending the bearer token of ``client`` (with ``scopes``)."""

    def make(client: ApiClient, scopes: list[str] | None = None) -> Client:
        return Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(client, scopes)}")

    return make
