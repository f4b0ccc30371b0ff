"""Request-scoped context: a request id for logs and audit events."""

from __future__ import annotations

import contextvars
import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def current_request_id() -> str:
    """The id of the request being served, or "" outside a request."""
    return request_id_var.get()


class RequestIdMiddleware:
    """Takes ``X-Request-ID`` when it is well formed, else makes one; echoes it back."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        # Not reset when the view returns: Django logs 4xx/5xx responses on
        # ``django.request`` after the middleware chain, and those lines need
        # the id too. ``clear_request_id`` runs on ``request_finished``.
        request_id_var.set(request_id)
        request.request_id = request_id  # type: ignore[attr-defined]
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


def clear_request_id(**kwargs: object) -> None:
    """Forget the id once the response is finished (connected in apps.py)."""
    request_id_var.set("")
