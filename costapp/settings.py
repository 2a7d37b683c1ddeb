"""Django settings, read from the environment (12-factor) with safe production defaults.

DEBUG is off unless DJANGO_DEBUG=1. DATABASE_URL selects the database; when it is unset we
fall back to the project-local cluster that `python -m costapp.localdb start` recorded.
"""

from __future__ import annotations

import os
from datetime import timedelta
from importlib.util import find_spec
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def _env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, "1" if default else "0").lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = _env_bool("DJANGO_DEBUG")
# A deployment, as opposed to a developer's machine or the test suite: every protection that
# needs TLS (HSTS, the https redirect, secure cookies) defaults to on here and off there.
PRODUCTION = not DEBUG and not _env_bool("INFERENCE_LEDGER_DEV")
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set (or DJANGO_DEBUG=1 for development).")
    SECRET_KEY = "dev-only-insecure-key"
ALLOWED_HOSTS = _env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = _env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "csp",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "costapp.core",
    "costapp.ingest",
    "costapp.sources",
    "costapp.attribution",
    "costapp.alerts",
    "costapp.dashboard",
    "costapp.api",
    "costapp.demo",
    "costapp.whatif",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Read-only page and API requests read from the replica, when there is one.
    "costapp.core.routers.ReplicaReadsMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as axes asks: turns a refused login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "costapp.urls"
WSGI_APPLICATION = "costapp.wsgi.application"

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
            ],
        },
    },
]


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    local = BASE_DIR / "var" / "database_url"
    if not url and local.exists():
        url = local.read_text().strip()
    if not url:
        raise ImproperlyConfigured(
            "DATABASE_URL is unset and no local cluster is running: "
            "run `make db` (or set DATABASE_URL=postgres://user@host:5432/dbname)."
        )
    return url


DATABASES = {"default": dj_database_url.parse(_database_url(), conn_max_age=60)}
if os.environ.get("TEST_DATABASE_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["TEST_DATABASE_NAME"]}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("Inference Ledger runs on PostgreSQL only (DATABASE_URL).")
# A read replica for the pages and the API (docs/SCALING.md): their read-only requests read
# the product's data there; every write, and every read of ingestion, attribution and alerts,
# stays on default (costapp/core/routers.py). READ_REPLICA_ALIAS is None without a replica.
READ_REPLICA_ALIAS = None
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        os.environ["DATABASE_REPLICA_URL"], conn_max_age=60
    )
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    READ_REPLICA_ALIAS = "replica"
DATABASE_ROUTERS = ["costapp.core.routers.ReplicaRouter"]


def _without_jit(database: dict) -> None:
    """PostgreSQL's JIT off for every connection (any `options` of the URL kept): compiling the
    pages' report statements cost more than it saved (at bench size L, 33 ms of the overview's
    49 ms parts query; docs/SCALING.md), and attribution's refresh already turned it off."""
    options = database.setdefault("OPTIONS", {})
    options["options"] = f"{options.get('options', '')} -c jit=off".strip()


for _database in DATABASES.values():
    _without_jit(_database)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]
# The login throttle (django-axes) checks first, then the ordinary user table.
AUTHENTICATION_BACKENDS = [
    "costapp.dashboard.lockout.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Five wrong passwords for one username from one address lock that pair out for
# LOGIN_LOCKOUT_MINUTES (on /login/ and /admin/login/ alike); other users, and the same user
# from elsewhere, log in as usual. A successful login clears the count.
AXES_FAILURE_LIMIT = 5
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15")))
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "costapp.dashboard.lockout.lockout_response"
AXES_CLIENT_IP_CALLABLE = "costapp.dashboard.lockout.client_address"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard:overview"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # plotly.js as shipped inside the plotly package: served from our static, no copy, no CDN.
    ("vendor/plotly", Path(find_spec("plotly").origin).parent / "package_data"),
]
# Development and tests serve static files straight from static/ without collectstatic.
WHITENOISE_USE_FINDERS = DEBUG or _env_bool("INFERENCE_LEDGER_DEV")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
if DEBUG:
    STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}

# Transport security: on in production, off on a developer's plain-http machine. Each can be
# turned off by its variable (e.g. SECURE_SSL_REDIRECT=0 for a stack reached over plain http).
SESSION_COOKIE_SECURE = _env_bool("SECURE_COOKIES", PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = _env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
# Load balancers probe over plain http and do not follow redirects.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000" if PRODUCTION else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", PRODUCTION)
SECURE_HSTS_PRELOAD = _env_bool("SECURE_HSTS_PRELOAD", PRODUCTION)
# Behind a TLS-terminating proxy (BEHIND_PROXY=1), its X-Forwarded-Proto says whether the
# client used https, and its X-Forwarded-For the client's address (costapp/dashboard/lockout.py).
# Only set it when the proxy overwrites those headers: a client could otherwise forge them.
BEHIND_PROXY = _env_bool("BEHIND_PROXY")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None

# Content-Security-Policy (django-csp 4): scripts only from our static files (plotly included),
# no inline script anywhere. plotly.js writes <style> rules of its own (hover labels, modebar)
# at run time, so styles also allow 'unsafe-inline'; style cannot run code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# The JSON API (costapp/api): a bearer token or the dashboard's session (CSRF on writes), JSON
# only, every error as {"error": ..., "field": ...} (costapp/api/errors.py).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First, so an unauthenticated call is a 401 with WWW-Authenticate: Bearer.
        "costapp.api.auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "costapp.api.errors.handle",
    "COERCE_DECIMAL_TO_STRING": True,
}
# OpenAPI 3 at /api/schema/, Swagger UI at /api/docs/ from the sidecar's static files (no CDN).
SPECTACULAR_SETTINGS = {
    "TITLE": "Inference Ledger API",
    "DESCRIPTION": "Cost attribution for AI inference: explain, push usage, budgets and alerts.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ChannelKindEnum": "costapp.alerts.models.ChannelKind",
        "AlertKindEnum": "costapp.alerts.models.AlertKind",
    },
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "pushToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "A push source's token (POST /api/v1/usage only).",
            }
        }
    },
}

# Celery: Redis when CELERY_BROKER_URL is set; otherwise tasks run in-process on the same code.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
# One Redis may serve several deployments (or test runs): each keeps to its own queue.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE") or "celery"
CELERY_TIMEZONE = "UTC"
# A task taken by a worker that died unacked goes back to its queue after the visibility
# timeout (Redis' default: an hour). It must exceed the longest hard time limit (30 min:
# ingest_source, attribute_pending, recompute_all, prune_request_ids in costapp/*/tasks.py) and
# the longest retry countdown (30 min, refresh_gpu_prices), or a task still running, or waiting
# for its countdown, would also be handed to a second worker: 35 min. A worker child that dies
# (OOM, SIGKILL, a hard time limit) has its acks_late task rejected and requeued at once
# (TASK_REJECT_ON_WORKER_LOST); only a whole worker killed leaves its tasks for this timeout.
# tests/sources/test_dead_runs.py checks the two stay coherent.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", str(35 * 60))),
}
CELERY_TASK_REJECT_ON_WORKER_LOST = True

# Request ids are remembered this long for counting each request once (costapp/ingest/retention.py).
REQUEST_ID_RETENTION_DAYS = int(os.environ.get("REQUEST_ID_RETENTION_DAYS", "45"))
# Raw GPU samples past this many days are removed from closed months (costapp/ingest/
# retention.py); unset keeps them all. Allocations, computed from them, are always kept.
GPU_SAMPLE_RETENTION_DAYS = (
    int(os.environ["GPU_SAMPLE_RETENTION_DAYS"])
    if os.environ.get("GPU_SAMPLE_RETENTION_DAYS")
    else None
)

# The Google regions whose a2/a3/a4/g2 rows the daily catalog refresh writes into the what-if
# price table (costapp/whatif/catalog_prices.py), besides the Google rows already there.
WHATIF_GOOGLE_REGIONS = _env_list("WHATIF_GOOGLE_REGIONS", "us-central1")

# The plausible window for every timestamp read from input (costapp/core/limits.py): from
# INPUT_TIME_MIN (ISO 8601 date) to INPUT_TIME_AHEAD_DAYS ahead of now.
INPUT_TIME_MIN = os.environ.get("INPUT_TIME_MIN", "2000-01-01")
INPUT_TIME_AHEAD_DAYS = int(os.environ.get("INPUT_TIME_AHEAD_DAYS", "366"))

# Mail: EMAIL_URL like smtp://user:pass@host:587?tls=1, or the individual EMAIL_* settings.
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("EMAIL_USE_TLS")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "inference-ledger@localhost")
if os.environ.get("EMAIL_URL"):
    from urllib.parse import parse_qs, unquote, urlparse

    _mail = urlparse(os.environ["EMAIL_URL"])
    EMAIL_HOST = _mail.hostname or EMAIL_HOST
    EMAIL_PORT = _mail.port or EMAIL_PORT
    EMAIL_HOST_USER = unquote(_mail.username or "")
    EMAIL_HOST_PASSWORD = unquote(_mail.password or "")
    EMAIL_USE_TLS = parse_qs(_mail.query).get("tls", ["0"])[0] in {"1", "true"}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
