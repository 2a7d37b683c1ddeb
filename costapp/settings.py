"""Django settings, read from the environment (12-factor) with safe production defaults.

DEBUG is off unless DJANGO_DEBUG=1. DATABASE_URL selects the database; when it is unset we
fall back to the project-local cluster that `python -m costapp.localdb start` recorded.
"""

from __future__ import annotations

import os
from importlib.util import find_spec
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def _env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, "1" if default else "0").lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = _env_bool("DJANGO_DEBUG")
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and not _env_bool("INFERENCE_LEDGER_DEV"):
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
    "costapp.core",
    "costapp.ingest",
    "costapp.sources",
    "costapp.attribution",
    "costapp.dashboard",
    "costapp.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
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

SESSION_COOKIE_SECURE = _env_bool(
    "SECURE_COOKIES", not DEBUG and not _env_bool("INFERENCE_LEDGER_DEV")
)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

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

# Request ids are remembered this long for counting each request once (costapp/ingest/retention.py).
REQUEST_ID_RETENTION_DAYS = int(os.environ.get("REQUEST_ID_RETENTION_DAYS", "45"))

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
