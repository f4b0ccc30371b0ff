"""The contract: the committed OpenAPI schema is what the code generates, the
API keeps it (schemathesis, zero server errors and zero schema violations),
and the interactive docs page works under the strict CSP."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from customer360.models import ApiClient
from governance.models import Lens
from tests.api.conftest import Person, issue_token

SCHEMA_PATH = Path(settings.BASE_DIR) / "docs" / "openapi.yaml"


def test_committed_schema_matches_the_code() -> None:
    generated = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=generated)
    assert generated.getvalue() == SCHEMA_PATH.read_text(encoding="utf-8"), (
        "docs/openapi.yaml is out of date: run "
        "`manage.py spectacular --validate --fail-on-warn --file docs/openapi.yaml`"
    )


@pytest.mark.django_db
def test_docs_page_loads_its_scripts_from_files_only() -> None:
    response = Client().get("/api/v1/docs/")
    html = response.content.decode()

    assert response.status_code == 200
    assert "swagger-ui" in html
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []  # no inline script
    assert "'unsafe-inline'" not in response["Content-Security-Policy"].split("script-src")[1]
    init = re.search(r'<script src="([^"]+)"', html.split("swagger-ui-standalone-preset")[-1])
    assert init is not None
    assert Client().get(init.group(1)).status_code == 200


schema = schemathesis.openapi.from_path(SCHEMA_PATH)


@pytest.fixture
def partner_headers(
    client_a: ApiClient, lens: Lens, consenting: Person, silent: Person
) -> Iterator[dict[str, str]]:
    """A real token of a client with every scope and a lens, on a small world;
    the in-process WSGI calls share the test's database connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield {"Authorization": f"Bearer {issue_token(client_a)}"}
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@hypothesis_settings(
    max_examples=10,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_keeps_its_contract(case: Any, partner_headers: dict[str, str]) -> None:
    # Every default check (server errors, status codes, content types, headers,
    # response bodies against the schema, negative data rejected) except one:
    # "schema-valid data accepted" cannot hold for rules a JSON schema does not
    # express (NUL characters, a purpose code that must exist).
    case.call_and_validate(
        headers=partner_headers, app=WSGIHandler(), excluded_checks=[positive_data_acceptance]
    )
