"""OAuth2 for partner clients: client-credentials only, scopes limited per client.

django-oauth-toolkit asks the scopes backend which scopes an application may
request (``validate_scopes``) and which it gets when it names none; both are
the scopes of the application's ``ApiClient``. The validator refuses every
grant but client credentials, and any client without an active ``ApiClient``.
"""

from __future__ import annotations

from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import SettingsScopes

from ..models import ApiClient


def client_scopes(application: Any) -> list[str]:
    """The scopes ``application`` may hold: its active ApiClient's, else none."""
    if application is None:
        return []
    client = ApiClient.objects.filter(application=application, is_active=True).first()
    return list(client.scopes) if client else []


class ClientScopes(SettingsScopes):
    """Scopes backend: an application may request only its ApiClient's scopes."""

    def get_available_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        return client_scopes(application)

    def get_default_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        return client_scopes(application)


class ClientCredentialsValidator(OAuth2Validator):
    """Only the client-credentials grant, and only for active partner clients."""

    def validate_grant_type(
        self, client_id: str, grant_type: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        if grant_type != "client_credentials":
            return False
        if not ApiClient.objects.filter(application=client, is_active=True).exists():
            return False
        return bool(super().validate_grant_type(client_id, grant_type, client, request))
