"""Logs carry request ids and never personal data."""

from __future__ import annotations

import json
import logging

import pytest
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.urls import path, reverse
from pythonjsonlogger.json import JsonFormatter

from customer360.logging import PersonalDataFilter, RequestIdFilter


def _record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("test", logging.INFO, __file__, 1, message, args, None)


@pytest.mark.parametrize(
    ("message", "args"),
    [
        ("lookup for ada.lovelace+x@example.co.uk failed", ()),
        ("lookup for %s failed", ("ada.lovelace@example.org",)),
        ("callback to +44 20 7946 0958 queued", ()),
        ("callback to %s queued", ("0612345678",)),
    ],
)
def test_personal_data_filter_masks_emails_and_phones(message: str, args: tuple[object]) -> None:
    record = _record(message, *args)
    assert PersonalDataFilter().filter(record)
    text = record.getMessage()
    assert "@" not in text
    assert not any(ch.isdigit() for ch in text), text
    assert "[email]" in text or "[phone]" in text


def test_customer_numbers_are_not_masked() -> None:
    record = _record("merged C100000017 into C100000025")
    PersonalDataFilter().filter(record)
    assert record.getMessage() == "merged C100000017 into C100000025"


def test_masks_exception_text() -> None:
    try:
        raise ValueError("ada@example.org is not valid")
    except ValueError:
        import sys

        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    PersonalDataFilter().filter(record)
    assert record.exc_info is None
    assert "ada@example.org" not in (record.exc_text or "")
    assert "[email]" in (record.exc_text or "")


def _logging_view(request: HttpRequest) -> HttpResponse:
    logging.getLogger("customer360.test").warning("lookup for %s", "ada@example.org")
    return HttpResponse("ok")


# This module doubles as the URLconf of the request-id test: a view that logs
# while the request is served.
urlpatterns = [path("logs", _logging_view)]


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__)
def test_request_id_is_echoed_and_logged(client: Client) -> None:
    """The id a request carries reaches the JSON log line written while serving it."""
    lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    # The project's console handler, as configured, writing into a list.
    handler = Capture()
    handler.addFilter(RequestIdFilter())
    handler.addFilter(PersonalDataFilter())
    formatter_config = settings.LOGGING["formatters"]["json"]
    handler.setFormatter(
        JsonFormatter(formatter_config["fmt"], rename_fields=formatter_config["rename_fields"])
    )
    logger = logging.getLogger("customer360.test")
    logger.addHandler(handler)
    try:
        response = client.get("/logs", HTTP_X_REQUEST_ID="req-42.a")
    finally:
        logger.removeHandler(handler)

    assert response.status_code == 200
    assert response["X-Request-ID"] == "req-42.a"
    [line] = lines
    logged = json.loads(line)
    assert logged["request_id"] == "req-42.a"
    assert logged["level"] == "WARNING"
    assert logged["message"] == "lookup for [email]"


@pytest.mark.django_db
def test_malformed_request_id_is_replaced(client: Client) -> None:
    response = client.get(reverse("healthz"), HTTP_X_REQUEST_ID="bad id; drop table")
    assert response["X-Request-ID"] != "bad id; drop table"
    assert len(response["X-Request-ID"]) == 32
