"""The one DRF base layer every partner endpoint is built on.

* ``ApiViewSet``: OAuth2 bearer tokens only, an active ``ApiClient`` behind
  the token, the scope the action needs (``required_scopes``), throttling per
  client, a request size limit (413), writes in one transaction, querysets
  built by the view's selector for the calling client on every method
  (``client_queryset``), and an ETag on every 200 GET answer (304 when the
  client's ``If-None-Match`` still matches).
* ``problem_exception_handler``: every error as RFC 9457 problem details
  (``application/problem+json``) with field errors under ``errors``.
* ``StrictSerializer``: input naming a field the endpoint does not know is
  refused (400 naming it), never silently ignored.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import Model, ProtectedError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.viewsets import GenericViewSet

from ..choices import ActorChannel
from ..middleware import current_request_id
from ..models import ApiClient, IdempotencyKey
from ..services import Actor, idempotency_key_store
from .auth import ClientTokenAuthentication
from .pagination import IdCursorPagination

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://customer360.example.org/problems/"


# --- errors ---------------------------------------------------------------------------


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


class Unprocessable(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "The request cannot be processed."
    default_code = "unprocessable"


def problem(
    *, status_code: int, detail: str = "", errors: Any = None, code: str = "", instance: str = ""
) -> dict[str, Any]:
    """An RFC 9457 problem details body."""
    title = HTTPStatus(status_code).phrase
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + (code or title.lower().replace(" ", "-")),
        "title": title,
        "status": status_code,
        "detail": detail or title,
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    body["request_id"] = current_request_id()
    return body


def _detail_text(detail: Any) -> str:
    if isinstance(detail, list) and detail:
        return "; ".join(str(d) for d in detail)
    return str(detail)


def problem_exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response:
    """Every error of the API as problem details, including ones DRF does not
    know (a Django ``ValidationError`` from a service, ``ProtectedError``, an
    integrity race, a bug: logged with its traceback, answered 500)."""
    if isinstance(exc, DjangoValidationError):
        errors = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = exceptions.ValidationError(errors)
    elif isinstance(exc, ProtectedError):
        exc = Conflict("The object is still referenced and cannot be removed.")
    elif isinstance(exc, IntegrityError):
        exc = Conflict("A concurrent request changed the same data; retry the request.")
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, dict(context))
    request = context.get("request")
    instance = request.path if request is not None else ""
    if response is None:
        logger.exception("unhandled API error", exc_info=exc)
        response = Response(status=500)
        response.data = problem(status_code=500, detail="Internal error.", instance=instance)
    else:
        assert isinstance(exc, exceptions.APIException)
        errors: Any = None
        detail = exc.detail
        if isinstance(exc, exceptions.ValidationError):
            errors = detail if isinstance(detail, dict) else {"non_field_errors": detail}
            text = "The request has invalid fields."
        else:
            text = _detail_text(detail)
        code = exc.get_codes() if not isinstance(exc, exceptions.ValidationError) else "invalid"
        response.data = problem(
            status_code=response.status_code,
            detail=text,
            errors=errors,
            code=code if isinstance(code, str) else "",
            instance=instance,
        )
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def problem_response(request: HttpRequest, status_code: int, detail: str = "") -> JsonResponse:
    """A problem-details answer outside DRF's views (unknown API paths)."""
    return JsonResponse(
        problem(status_code=status_code, detail=detail, instance=request.path),
        status=status_code,
        content_type=PROBLEM_CONTENT_TYPE,
    )


# --- input ----------------------------------------------------------------------------


class StrictSerializer(serializers.Serializer[Any]):
    """Refuses keys it does not declare (a typo must not pass as "not given"),
    and values of the wrong JSON type: DRF would turn ``42`` into ``"42"`` for
    a string field or ``"yes"`` into ``True``, the contract says they are errors."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            errors: dict[str, list[str]] = {
                name: ["Unknown field: it is not part of this resource."]
                for name in sorted(set(data) - set(self.fields))
            }
            for name, field in self.fields.items():
                value = data.get(name)
                if name not in data or value is None or field.read_only:
                    continue
                expected = _json_type(field)
                if expected is not None and not (
                    isinstance(value, expected[0]) and not isinstance(value, expected[1])
                ):
                    errors[name] = [f"Must be a JSON {expected[2]}."]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


def _json_type(field: serializers.Field[Any, Any, Any, Any]) -> tuple[Any, Any, str] | None:
    """(accepted Python types, refused subtypes, name) of a field's JSON value."""
    if isinstance(field, serializers.BooleanField):
        return bool, (), "boolean"
    if isinstance(field, serializers.IntegerField):
        return int, bool, "integer"
    if isinstance(field, serializers.FloatField | serializers.DecimalField):
        return (
            int | float | str if isinstance(field, serializers.DecimalField) else int | float,
            bool,
            "number",
        )
    if isinstance(
        field, serializers.CharField | serializers.ChoiceField | serializers.DateTimeField
    ):
        return str, (), "string"
    return None


def body_digest(data: Any) -> str:
    """A stable hash of a parsed request body (key order does not matter)."""
    return hashlib.sha256(
        json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()


# --- clients, scopes, throttling --------------------------------------------------------


def client_actor(client: ApiClient) -> Actor:
    """The partner client as the actor of its writes (channel ``api``)."""
    return Actor.system(f"client:{client.application.client_id}", ActorChannel.API)


def request_client(request: Request) -> ApiClient:
    """The active partner client behind the request's token (set by ``HasActiveClient``)."""
    return request.api_client  # type: ignore[attr-defined, no-any-return]


class HasActiveClient(BasePermission):
    """A valid bearer token of an application with an active ``ApiClient``.

    Checked on every request, not only when the token is issued: switching a
    client off in the admin stops its tokens at once.
    """

    message = "The token's client is not an active partner client."

    def has_permission(self, request: Request, view: Any) -> bool:
        token = request.auth
        application_id = getattr(token, "application_id", None)
        if application_id is None:
            return False
        # ``ClientTokenAuthentication`` read the client with the token; a token
        # the toolkit validated itself (see that class) has it looked up here.
        client = getattr(request, "api_client", _NOT_LOADED)
        if client is _NOT_LOADED:
            client = (
                ApiClient.objects.select_related("application")
                .filter(application_id=application_id)
                .first()
            )
            request.api_client = client  # type: ignore[attr-defined]
        return client is not None and client.is_active


_NOT_LOADED = object()


class HasScope(BasePermission):
    """The token carries the scope the action needs, and the client still holds it."""

    message = "The token lacks the scope this operation needs."

    def has_permission(self, request: Request, view: Any) -> bool:
        scope = view.required_scope()
        if scope is None:
            return True
        client = request_client(request)
        return scope in client.scopes and bool(request.auth.allow_scopes([scope]))  # type: ignore[union-attr]


class ClientRateThrottle(SimpleRateThrottle):
    """Requests per partner client (not per address: many clients share a proxy).

    A counter per client and fixed window (``cache.incr``), not DRF's sliding
    log: that one reads and writes the list of every request time in the
    window on each request, which at partner rates (thousands a minute) costs
    more than the request itself. A window lets a client spend its budget at
    once; ``Retry-After`` says when the next window opens.
    """

    scope = "client"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        application_id = getattr(request.auth, "application_id", None)
        ident = f"app{application_id}" if application_id else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        assert self.num_requests is not None and self.duration is not None
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_end = (window + 1) * self.duration
        key = f"{key}_{window}"
        try:
            count = self.cache.incr(key)
        except ValueError:
            # The window's first request, unless another worker just added it.
            count = 1 if self.cache.add(key, 1, self.duration + 1) else self.cache.incr(key)
        return count <= self.num_requests

    def wait(self) -> float:
        return max(1.0, self.window_end - self.now)


# --- the base viewset ---------------------------------------------------------------------


class ApiViewSet(GenericViewSet):  # type: ignore[type-arg]
    """Base of every partner endpoint (see the module docstring)."""

    authentication_classes = [ClientTokenAuthentication]
    permission_classes = [HasActiveClient, HasScope]
    throttle_classes = [ClientRateThrottle]
    pagination_class = IdCursorPagination
    # action name -> scope it needs
    scopes: ClassVar[dict[str, str]] = {}
    # action name -> query parameters it reads besides filters and pagination
    extra_query_params: ClassVar[dict[str, tuple[str, ...]]] = {}
    single_params: ClassVar[tuple[str, ...]] = ()
    # The model listed, for the OpenAPI schema.
    schema_model: ClassVar[type[Model]]

    def required_scope(self) -> str | None:
        return self.scopes.get(self.action or "")

    @property
    def client(self) -> ApiClient:
        return request_client(self.request)

    def client_queryset(self, client: ApiClient) -> Any:
        """The rows ``client`` may see; every method's queryset starts here."""
        raise NotImplementedError

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            # Schema generation: no request, no client; only the model matters.
            return self.schema_model._default_manager.none()
        return self.client_queryset(self.client)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Refuse an oversized body before anything reads it.
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise PayloadTooLarge(
                f"The request body may be at most {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
            )
        super().initial(request, *args, **kwargs)
        if getattr(self, (request.method or "").lower(), None) is not None:
            # Only for a method the endpoint has: any other answers 405 first.
            self.check_query_params(request)

    def allowed_query_params(self) -> set[str]:
        """Query parameters the action understands: its filters, pagination, extras."""
        allowed = set(self.extra_query_params.get(self.action or "", ()))
        filterset_class = getattr(self, "filterset_class", None)
        if filterset_class is not None and self.action == "list":
            allowed |= set(filterset_class.base_filters)
        if self.pagination_class is not None and self.action == "list":
            allowed |= {"cursor", "page_size"}
        return allowed

    def check_query_params(self, request: Request) -> None:
        """Unknown or empty query parameters are refused (400 naming them), and
        ``page_size`` must be a whole number: silently ignoring them would
        answer a different question than the one asked."""
        allowed = self.allowed_query_params()
        errors: dict[str, list[str]] = {}
        for name in request.query_params:
            values = request.query_params.getlist(name)
            if name not in allowed:
                errors[name] = ["Unknown query parameter."]
            elif any(value == "" for value in values):
                errors[name] = ["Must not be empty."]
            elif len(values) > 1 and name in ("cursor", "page_size", *self.single_params):
                errors[name] = ["Give it once."]
        page_size = request.query_params.get("page_size")
        if (
            "page_size" in allowed
            and page_size
            and not (
                page_size.isdigit() and 1 <= int(page_size) <= IdCursorPagination.max_page_size
            )
        ):
            errors["page_size"] = [f"A whole number from 1 to {IdCursorPagination.max_page_size}."]
        if errors:
            raise exceptions.ValidationError(errors)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        # Writes are all or nothing: one transaction per request.
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return super().dispatch(request, *args, **kwargs)
        with transaction.atomic():
            return super().dispatch(request, *args, **kwargs)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method == "GET" and response.status_code == 200 and hasattr(response, "data"):
            etag = '"' + body_digest(response.data)[:32] + '"'
            response["ETag"] = etag
            wanted = request.headers.get("If-None-Match", "")
            if etag in {tag.strip() for tag in wanted.split(",")} or wanted.strip() == "*":
                not_modified = Response(status=304)
                not_modified["ETag"] = etag
                return super().finalize_response(request, not_modified, *args, **kwargs)
        return response


# --- idempotent writes ---------------------------------------------------------------------


def idempotent(
    request: Request, *, endpoint: str, handler: Callable[[], tuple[int, Any]]
) -> Response:
    """Run a write once per ``Idempotency-Key``: the same key with the same body
    answers the stored response (``Idempotent-Replayed: true``) and writes
    nothing; the same key with another body is refused with 422. Without the
    header the write simply runs. Call inside the request's transaction (the
    base viewset opens it), so the answer is stored exactly when the write is.
    """
    key = request.headers.get("Idempotency-Key", "")
    client = request_client(request)
    digest = ""
    if key:
        digest = body_digest(request.data)  # only with a key: it costs ms for 1,000 items
        if len(key) > 200 or not key.isprintable():
            raise exceptions.ValidationError(
                {"Idempotency-Key": ["At most 200 printable characters."]}
            )
        stored = (
            IdempotencyKey.objects.select_for_update()
            .filter(application_id=client.application_id, key=key)
            .first()
        )
        if stored is not None:
            if stored.request_hash != digest or stored.endpoint != endpoint:
                raise Unprocessable(
                    "This Idempotency-Key was already used with a different request; "
                    "use a new key for a new request."
                )
            replay = Response(stored.response_body, status=stored.response_status)
            replay["Idempotent-Replayed"] = "true"
            return replay
    status_code, body = handler()
    if key:
        idempotency_key_store(
            application_id=client.application_id,
            key=key,
            request_hash=digest,
            endpoint=endpoint,
            response_status=status_code,
            response_body=body,
        )
    return Response(body, status=status_code)
