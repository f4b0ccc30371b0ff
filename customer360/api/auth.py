"""Bearer-token authentication of partner clients in one SQL statement.

django-oauth-toolkit's ``OAuth2Authentication`` validates a token through
oauthlib (a request object, the validator, an ORM query for the token and its
application) and the API then needs another query for the ``ApiClient``:
about a third of the CPU of a context read. ``ClientTokenAuthentication``
reads the token, its application and the application's ``ApiClient`` with
one prepared statement and applies the same rules as the toolkit:

* the token is looked up by the SHA-256 checksum of the raw value (the
  toolkit's ``token_checksum``; tokens are not stored in clear, RFC 9700);
* a token that no longer exists (revoked: the toolkit deletes revoked access
  tokens) or whose ``expires`` has passed is refused, 401 ``invalid_token``;
* scopes are not checked here, exactly as in the toolkit's DRF class: the
  view's permission (``HasScope``) asks ``token.allow_scopes``;
* only the ``Authorization: Bearer`` header carries a token (RFC 6750 2.1);
  tokens in the query string or a form body are refused by the RFC 9700
  transport rule the settings switch on.

Tokens this statement cannot judge on its own fall back to the toolkit's own
validation, so nothing is ever accepted that the toolkit would refuse: tokens
restricted to resources (RFC 8707 audiences), tokens of a user (the API grants
client credentials only, so there are none), and applications of a swapped
model that overrides ``is_usable``.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from typing import Any, NoReturn

from django.db import connection
from django.utils import timezone
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from oauth2_provider.models import (
    AbstractApplication,
    get_access_token_model,
    get_application_model,
)
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from ..models import ApiClient
from .rows import columns, instance, ordered

AccessToken = get_access_token_model()
Application = get_application_model()

# The columns read, each model's in its field order (see ``rows.ordered``).
_TOKEN_FIELDS = ordered(AccessToken, ("id", "expires", "scope", "resource", "user_id",
                                      "application_id"))  # fmt: skip
_APPLICATION_FIELDS = ordered(Application, ("id", "client_id"))
_CLIENT_FIELDS = ordered(ApiClient, ("id", "application_id", "source_system_id", "scopes",
                                     "is_active"))  # fmt: skip
_T, _A = len(_TOKEN_FIELDS), len(_APPLICATION_FIELDS)
_SQL = f"""
    SELECT {columns(AccessToken, _TOKEN_FIELDS, "t")},
           {columns(Application, _APPLICATION_FIELDS, "a")},
           {columns(ApiClient, _CLIENT_FIELDS, "c")}
    FROM {AccessToken._meta.db_table} t
    JOIN {Application._meta.db_table} a ON a.id = t.application_id
    LEFT JOIN {ApiClient._meta.db_table} c ON c.application_id = t.application_id
    WHERE t.token_checksum = %s
"""  # noqa: S608 (table and column names from the models; the value is a parameter)

# A swapped application model may refuse tokens in ``is_usable``; then the
# toolkit decides every request.
_APPLICATION_ALWAYS_USABLE = Application.is_usable is AbstractApplication.is_usable


def _json(value: Any) -> Any:
    # PostgreSQL's json columns arrive decoded, SQLite's as text.
    return json.loads(value) if isinstance(value, str) else value


def bearer_token(request: Request) -> str | None:
    """The raw token of an ``Authorization: Bearer <token>`` header, else None
    (the same split as oauthlib's: two words, the first "bearer" in any case)."""
    words = request.META.get("HTTP_AUTHORIZATION", "").split()
    if len(words) == 2 and words[0].lower() == "bearer":
        return words[1]
    return None


class ClientTokenAuthentication(BaseAuthentication):
    """A partner client's bearer token, its application and ``ApiClient`` in
    one query (see the module docstring). Sets ``request.api_client`` (None
    when the application has no partner client: ``HasActiveClient`` refuses)."""

    www_authenticate_realm = "api"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        raw = bearer_token(request)
        if raw is None:
            return None
        checksum = hashlib.sha256(raw.encode()).hexdigest()
        with connection.cursor() as cursor:
            cursor.execute(_SQL, [checksum])
            row = cursor.fetchone()
        if row is None:
            self._refuse(request)
        token_row = dict(zip(_TOKEN_FIELDS, row[:_T], strict=True))
        resource = _json(token_row["resource"])
        if resource or token_row["user_id"] is not None or not _APPLICATION_ALWAYS_USABLE:
            return self._toolkit(request)
        expires = token_row["expires"]
        if expires is not None and timezone.is_naive(expires):
            # SQLite hands raw datetimes back naive; they are stored in UTC.
            expires = expires.replace(tzinfo=datetime.UTC)
        if expires is None or timezone.now() >= expires:
            self._refuse(request)
        token_row.update(resource=resource, expires=expires)
        token = instance(AccessToken, _TOKEN_FIELDS, list(token_row.values()))
        application = instance(Application, _APPLICATION_FIELDS, row[_T : _T + _A])
        token.application = application
        client_row = dict(zip(_CLIENT_FIELDS, row[_T + _A :], strict=True))
        client = None
        if client_row["id"] is not None:
            client_row.update(
                scopes=_json(client_row["scopes"]),
                is_active=bool(client_row["is_active"]),  # SQLite: 0/1
            )
            client = instance(ApiClient, _CLIENT_FIELDS, list(client_row.values()))
            client.application = application
        request.api_client = client  # type: ignore[attr-defined]
        return None, token

    def _refuse(self, request: Request) -> NoReturn:
        request.oauth2_error = {  # type: ignore[attr-defined]
            "error": "invalid_token",
            "error_description": "The access token is invalid or has expired.",
        }
        raise exceptions.AuthenticationFailed("The access token is invalid or has expired.")

    def _toolkit(self, request: Request) -> tuple[Any, Any] | None:
        """The toolkit's own validation, for tokens this class does not judge."""
        result = OAuth2Authentication().authenticate(request)
        if result is None:
            self._refuse(request)
        return result

    def authenticate_header(self, request: Request) -> str:
        # The same challenge as the toolkit's class, with the error when there is one.
        attributes = {"realm": self.www_authenticate_realm}
        attributes.update(getattr(request, "oauth2_error", None) or {})
        return "Bearer " + ",".join(f'{key}="{value}"' for key, value in attributes.items())
