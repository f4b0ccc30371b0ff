"""customer360 settings: one module, driven by the environment.

Every value comes from an environment variable with a default that suits the
embedded demo (SQLite under ``var/`` and a Celery broker on the file system).
With ``DEBUG`` off, missing secrets stop the process at start-up instead of
falling back to something insecure. The README's configuration table lists
every variable read here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import overload

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("CUSTOMER360_VAR_DIR", BASE_DIR / "var"))


@overload
def env(name: str, default: str) -> str: ...
@overload
def env(name: str, default: None = None) -> str | None: ...
def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value in (None, "") else value


def env_bool(name: str, default: bool) -> bool:
    value = env(name)
    if value is None:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_int(name: str, default: int) -> int:
    value = env(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in (env(name, default) or "").split(",") if item.strip()]


def require(name: str) -> str:
    value = env(name)
    if value is None:
        raise ImproperlyConfigured(f"{name} must be set in the environment when DEBUG is off")
    return value


DEBUG = env_bool("DEBUG", False)
TESTING = env_bool("CUSTOMER360_TESTING", False)

if DEBUG or TESTING:
    # Development and tests only: a fixed, obviously-insecure key. Production
    # (DEBUG off) must provide SECRET_KEY, enforced just below.
    SECRET_KEY = env("SECRET_KEY", "insecure-development-key-" + "x" * 40)
else:
    SECRET_KEY = require("SECRET_KEY")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1" if DEBUG or TESTING else "")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set in the environment when DEBUG is off")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "oauth2_provider",
    "guardian",
    "simple_history",
    "customer360",
    "governance",
    "consent",
    "profiles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "customer360.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "customer360.urls"
WSGI_APPLICATION = "customer360.wsgi.application"
ASGI_APPLICATION = "customer360.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
# Embedded default: a SQLite file under var/. Production and CI set
# DATABASE_URL=postgres://...
DATABASE_URL = env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'customer360.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the worker writes; IMMEDIATE
    # transactions take the write lock up front so two writers queue instead
    # of failing with "database is locked" halfway through.
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    # A file, not :memory:, so a real worker process can share the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
else:
    # Kept on purpose: a reused connection answers one SELECT 1 before a request's
    # first query (about 30 us on loopback, measured 2026-12-01: under 0.1% of a
    # 1,000-item ingest, about 1% of a context read), and a PostgreSQL restart
    # costs no request. Without it Django notices only after the fact: the first
    # request on each worker's dead connection fails (500), and
    # close_if_unusable_or_obsolete closes the connection when that request ends.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ATOMIC_REQUESTS"] = False

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
TIME_ZONE = env("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
if DEBUG or TESTING:
    # WhiteNoise serves from the finders then, but warns when the root is absent.
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = DEBUG or TESTING
STATICFILES_DIRS = [BASE_DIR / "customer360" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Security -------------------------------------------------------------
# Session timeout suits shared call-center desks: a session idle for 15
# minutes ends (saved on every request, so activity keeps it alive).
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 900)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# No inline script or style anywhere: templates load files from 'self', and
# the rare inline block carries the per-request nonce.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG and not TESTING:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Email ----------------------------------------------------------------
# Django 6.1's MAILERS, fed from the EMAIL_* environment variables.
EMAIL_BACKEND_PATH = env(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG or TESTING
    else "django.core.mail.backends.smtp.EmailBackend",
)
_mailer_options: dict[str, object] = {}
if EMAIL_BACKEND_PATH == "django.core.mail.backends.smtp.EmailBackend":
    _mailer_options = {
        "host": env("EMAIL_HOST", "localhost"),
        "port": env_int("EMAIL_PORT", 25),
        "username": env("EMAIL_HOST_USER", ""),
        "password": env("EMAIL_HOST_PASSWORD", ""),
        "use_tls": env_bool("EMAIL_USE_TLS", False),
        "timeout": 10,
    }
MAILERS = {"default": {"BACKEND": EMAIL_BACKEND_PATH, "OPTIONS": _mailer_options}}
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "customer360@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery ---------------------------------------------------------------
# Embedded default: kombu's file-system transport, which needs no server and
# still runs tasks in a real, separate worker process. Production sets
# CELERY_BROKER_URL=redis://...
CELERY_DATA_DIR = Path(env("CELERY_DATA_DIR", str(VAR_DIR / "celery")) or "")
# "localhost" only quiets kombu's "no hostname" warning; the transport ignores it.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", "filesystem://localhost/")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_DATA_DIR / "queue"),
        "data_folder_out": str(CELERY_DATA_DIR / "queue"),
        "control_folder": str(CELERY_DATA_DIR / "control"),
        "processed_folder": str(CELERY_DATA_DIR / "processed"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
if CELERY_TASK_ALWAYS_EAGER and not (DEBUG or TESTING):
    raise ImproperlyConfigured("CELERY_TASK_ALWAYS_EAGER is for tests only, never production")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django fix-up closes every database connection before and after each
# task unless it may reuse them: a worker then opened a new PostgreSQL
# connection for every task (a new server process whose catalog caches start
# cold: about 30 ms of CPU more for a small task in process, some 150 ms per
# task in the 1M identity benchmark; docs/benchmarks.md, 2026-12-06). Workers keep
# their connections as the web server does instead (CONN_MAX_AGE, health
# checks, a failed one closed: ``customer360.celery`` calls
# ``close_old_connections`` around each task); this many tasks is only a
# backstop.
CELERY_DB_REUSE_MAX = 1000
# Scheduled work (``celery -A customer360 beat``): the privacy checks (resuming
# an unfinished run) and the retention periods once a day each; committee
# votes past their deadline closed every five minutes.
CELERY_BEAT_SCHEDULE = {
    "governance-close-due-decisions": {
        "task": "governance.decisions_close_due",
        "schedule": 300.0,
    },
    "consent-privacy-checks": {"task": "consent.privacy_checks_run", "schedule": 24 * 3600.0},
    "consent-retention": {"task": "consent.retention_apply", "schedule": 24 * 3600.0},
    # insights (issue 8): recompute missing and stale flags, in batches of 1,000.
    "insights-flags-sweep": {"task": "insights.flags_sweep", "schedule": 24 * 3600.0},
    # insights (issue 8): block pending actions due soon that something since forbids.
    "insights-actions-rearbitrate": {
        "task": "insights.actions_rearbitrate_due",
        "schedule": 24 * 3600.0,
    },
    # identity (issue 3): households follow moves, merges and new records once a day.
    "profiles-households-update": {"task": "profiles.households_update", "schedule": 24 * 3600.0},
    # governance (issue 4): stewards' object rights follow membership start and end dates.
    # partner API (issue 7): re-queue webhook retries lost when a worker restarted.
    "api-webhook-retries": {
        "task": "customer360.webhook_deliveries_retry_due",
        "schedule": 300.0,
    },
    # partner API (issue 7): stored Idempotency-Key answers past their retention.
    "api-idempotency-keys-expire": {
        "task": "customer360.idempotency_keys_expire",
        "schedule": 3600.0,
    },
    "governance-steward-permissions": {
        "task": "governance.steward_permissions_sync",
        "schedule": 24 * 3600.0,
    },
}

# --- REST framework -------------------------------------------------------
# The partner API (customer360/api/base.py): OAuth2 bearer tokens, problem
# details for every error, throttling per client, cursor pagination.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "oauth2_provider.contrib.rest_framework.OAuth2Authentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.NamespaceVersioning",
    "DEFAULT_VERSION": "v1",
    "ALLOWED_VERSIONS": ["v1"],
    "DEFAULT_PAGINATION_CLASS": "customer360.api.pagination.IdCursorPagination",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "customer360.api.base.problem_exception_handler",
    "DEFAULT_THROTTLE_RATES": {"client": env("API_THROTTLE_RATE", "1200/minute")},
    "PAGE_SIZE": 50,
}
# Largest request body the API (and any form) accepts; the API answers 413 above it.
# 4 MiB holds a 1,000-item bulk request with room to spare.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 4 * 1024 * 1024)
# How long the answer to a write sent with an Idempotency-Key is kept (and so
# replayed to a retry); the hourly beat task deletes older ones.
API_IDEMPOTENCY_KEY_HOURS = env_int("API_IDEMPOTENCY_KEY_HOURS", 24)
# Source records identity resolution decides in one transaction. Each takes one
# PostgreSQL advisory lock per blocking key (about six a record, allowed eight),
# and the server's shared lock table holds max_locks_per_transaction (64) x
# max_connections (100) locks: 100 keeps four workers well inside the defaults.
# Larger chunks cost less per record; raise max_locks_per_transaction with them.
IDENTITY_RESOLVE_CHUNK = env_int("IDENTITY_RESOLVE_CHUNK", 100)
SPECTACULAR_SETTINGS = {
    "TITLE": "customer360 API",
    "DESCRIPTION": (
        "Purpose-scoped, consent-filtered customer context for partner systems. "
        "Authenticate with the OAuth2 client-credentials grant at /o/token/; every error "
        "is an RFC 9457 problem details document (application/problem+json)."
    ),
    "VERSION": "1.0.0",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from the sidecar's static files: no CDN, no inline script (strict CSP).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "InteractionKindEnum": "profiles.choices.InteractionKind",
        "ActionKindEnum": "profiles.choices.ActionKind",
    },
    "OAUTH2_FLOWS": ["clientCredentials"],
    "OAUTH2_TOKEN_URL": "/o/token/",
}
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER = {
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("OAUTH2_ACCESS_TOKEN_SECONDS", 600),
    # Adopt RFC 9700 (OAuth 2.0 security best current practice) now: insecure
    # flows are refused, not merely warned about.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    # Partner clients: the client-credentials grant only, scopes per ApiClient.
    "OAUTH2_VALIDATOR_CLASS": "customer360.api.oauth.ClientCredentialsValidator",
    "SCOPES_BACKEND_CLASS": "customer360.api.oauth.ClientScopes",
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
    "SCOPES": {
        "context:read": "Read purpose-filtered customer context",
        "records:write": "Push source records",
        "interactions:write": "Push interactions",
        "actions:propose": "Propose outbound actions",
        "consent:read": "Read consent",
        "consent:write": "Capture consent",
        "webhooks:manage": "Manage your webhook subscriptions",
    },
}

# --- simple-history ---------------------------------------------------------
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True
SIMPLE_HISTORY_REVERT_DISABLED = True

# --- guardian ---------------------------------------------------------------
ANONYMOUS_USER_NAME = None

# --- Logging ----------------------------------------------------------------
# JSON lines on stderr. Records carry ids (request id, customer number, task
# id), never names, emails, phones or addresses; the PersonalDataFilter is a
# second line of defence that masks anything that looks like one.
LOG_LEVEL = env("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "customer360.logging.RequestIdFilter"},
        "personal_data": {"()": "customer360.logging.PersonalDataFilter"},
    },
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id", "personal_data"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "celery": {"level": LOG_LEVEL},
    },
}

CUSTOMER360 = {
    # Prefix of golden customer numbers, e.g. C100000017.
    "CUSTOMER_NUMBER_PREFIX": "C",
}
