"""``ClientTokenAuthentication`` keeps django-oauth-toolkit's rules for bearer
tokens (checksum lookup, expiry, revocation by deletion, header transport,
RFC 8707 audiences through the toolkit itself) while reading the token and the
client with one statement."""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken, set_token_value

from customer360.models import AccessLog, ApiClient
from governance.models import Lens
from tests.api.conftest import Person, issue_token
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db

FEED = "/api/v1/events/"


def token_of(application: Any, *, minutes: int = 10, resource: list[str] | None = None) -> str:
    raw = secrets.token_urlsafe(24)
    token = AccessToken(
        application=application,
        expires=timezone.now() + datetime.timedelta(minutes=minutes),
        scope="context:read",
        resource=resource or [],
    )
    set_token_value(token, raw)
    token.save()
    return raw


def get(url: str, header: str) -> Any:
    return Client(HTTP_AUTHORIZATION=header).get(url)


def assert_invalid_token(response: Any) -> None:
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"].startswith('Bearer realm="api",error="invalid_token"')


def test_a_valid_token_reads_with_one_query_for_token_and_client(
    client_a: ApiClient, django_assert_num_queries: Callable[..., Any]
) -> None:
    raw = issue_token(client_a)
    with django_assert_num_queries(2):  # token with its client, the feed
        assert get(FEED, f"Bearer {raw}").status_code == 200
    assert get(FEED, f"bearer {raw}").status_code == 200  # the scheme in any case


def test_expired_revoked_and_unknown_tokens_are_refused(client_a: ApiClient) -> None:
    expired = token_of(client_a.application, minutes=-1)
    revoked = issue_token(client_a)
    AccessToken.objects.get(application=client_a.application, expires__gt=timezone.now()).revoke()

    for raw in (expired, revoked, "not-a-token"):
        assert_invalid_token(get(FEED, f"Bearer {raw}"))


def test_tokens_travel_only_in_the_authorization_header(client_a: ApiClient) -> None:
    raw = issue_token(client_a)
    in_query = Client().get(FEED, {"access_token": raw})
    malformed = get(FEED, f"Bearer {raw} extra")
    basic = get(FEED, f"Basic {raw}")

    for response in (in_query, malformed, basic):
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_token_of_an_application_without_partner_client_is_forbidden() -> None:
    response = get(FEED, f"Bearer {token_of(ApplicationFactory())}")

    assert response.status_code == 403


def test_resource_restricted_tokens_are_judged_by_the_toolkit(
    client_a: ApiClient, lens: Lens, consenting: Person
) -> None:
    url = f"/api/v1/customers/{consenting.customer.customer_number}/context/"
    here = token_of(client_a.application, resource=["http://testserver/api/v1/"])
    elsewhere = token_of(client_a.application, resource=["https://other.example.org/"])

    assert get(url, f"Bearer {here}").status_code == 200
    assert_invalid_token(get(url, f"Bearer {elsewhere}"))
    assert AccessLog.objects.count() == 1


def test_switching_the_client_off_stops_its_live_tokens(client_a: ApiClient) -> None:
    raw = issue_token(client_a)
    assert get(FEED, f"Bearer {raw}").status_code == 200
    client_a.is_active = False
    client_a.save()

    assert get(FEED, f"Bearer {raw}").status_code == 403
