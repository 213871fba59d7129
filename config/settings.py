"""Settings for Cohort Labs, read from the environment.

Defaults suit a developer machine (SQLite, an embedded filesystem broker, console email);
`config.settings_production` tightens them for deployment.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
VAR_DIR.mkdir(parents=True, exist_ok=True)
(VAR_DIR / "staticfiles").mkdir(exist_ok=True)
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# A development key is only acceptable while DEBUG is on; production must set its own.
SECRET_KEY = env.str("SECRET_KEY", default="") or (
    "dev-insecure-key-do-not-use-in-production" if DEBUG else ""
)
if not SECRET_KEY:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("Set SECRET_KEY (or DEBUG=1 for a development key).")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    "core",
    "accounts",
    "curriculum",
    "cohorts",
    "submissions",
    "notifications",
    "dashboards",
    "demo",
]

MIDDLEWARE = [
    # First, so that every log line of a request carries its id (core/log.py).
    "core.log.RequestIdMiddleware",
    # Before anything reads the body: refuses an over-limit body from its Content-Length before anything reads it.
    "core.middleware.RequestBodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After static files: counts and times the requests Django answers (core/metrics.py).
    "core.metrics.MetricsMiddleware",
    # django-csp's, with the headers built once (core/middleware.py).
    "core.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "core.middleware.RejectNulCharactersMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's, with the user read by a statement compiled once (accounts/session_user.py).
    "accounts.session_user.SessionUserMiddleware",
    "core.middleware.UserTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, so that it sees the outcome of authentication (django-axes requirement).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "config.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL plus a busy timeout lets the dev server and the worker share the file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # A database host that accepts no connection (a frozen server, a dropped route) fails a
    # request after this many seconds with a 503 (core.errors) instead of holding it until
    # gunicorn's worker timeout. A stopped server refuses at once.
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int(
        "DB_CONNECT_TIMEOUT", default=5
    )
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # PostgreSQL's default random_page_cost (4) models spinning disks; on SSDs or a
        # cached working set it makes the planner scan whole tables (e.g. every iteration
        # for one cohort's stats: 100 ms vs 22 ms at 60,000 rows). See docs/performance.md.
        DATABASES["default"]["OPTIONS"]["options"] = (
            f"-c random_page_cost={env.float('PG_RANDOM_PAGE_COST', default=1.1)}"
        )
        if env.bool("PG_PREPARED_STATEMENTS", default=True):
            # Server-side binding lets psycopg prepare a statement once it has run five
            # times on a connection, so PostgreSQL stops planning the queries every page
            # repeats (a cached learner home's stamp: 0.7 ms -> 0.2 ms). Turn it off behind
            # PgBouncer in transaction mode, which cannot keep prepared statements.
            DATABASES["default"]["OPTIONS"].update(server_side_binding=True, prepare_threshold=5)
# Seconds a web request's statement, and its wait for a lock, may take before PostgreSQL
# cancels it and the request answers 503 (core/database.py; web processes only). Both
# below gunicorn's worker timeout (30 s), so the client gets an answer, not a dropped
# connection. 0 turns a bound off.
DB_STATEMENT_TIMEOUT = env.float("DB_STATEMENT_TIMEOUT", default=15)
DB_LOCK_TIMEOUT = env.float("DB_LOCK_TIMEOUT", default=5)
if env.str("TEST_DATABASE_NAME", default=""):
    # Lets parallel test runs against one PostgreSQL server use separate databases.
    DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3 * 24 * 3600)

LANGUAGE_CODE = "en"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    # Django's, minus the half-written file a full disk leaves behind (core/storage.py).
    "default": {"BACKEND": "core.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_STORAGE", default="django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Uploads: refuse large bodies before they are stored.
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
# Self-hosted forges whose web pages iterations link to (commit and compare links); the
# public ones (github.com, gitlab.com, codeberg.org, gitea.com, bitbucket.org) are built in.
COMMIT_LINK_GITLAB_HOSTS = env.list("COMMIT_LINK_GITLAB_HOSTS", default=[])
COMMIT_LINK_GITEA_HOSTS = env.list("COMMIT_LINK_GITEA_HOSTS", default=[])
ATTACHMENT_MAX_PER_ITERATION = 5
CURRICULUM_MAX_BYTES = 5 * 1024 * 1024
ENROLLMENT_CSV_MAX_BYTES = 1 * 1024 * 1024

# Media on S3-compatible storage when AWS_STORAGE_BUCKET_NAME is set (the credentials come
# from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, read by boto3). Attachments are still
# served only through the permission-checked download view, streamed by Django with its
# sandbox headers; no page hands out a bucket URL. tests/conftest.py runs the attachment
# tests against a local S3 server with these same options.
S3_MEDIA_OPTIONS = {
    "default_acl": "private",
    "signature_version": "s3v4",
    # Any URL the storage signs (none is shown to users) is valid for one minute only.
    "querystring_auth": True,
    "querystring_expire": 60,
    # A download is buffered in a temporary file that spills to disk past this size.
    "max_memory_size": FILE_UPLOAD_MAX_MEMORY_SIZE,
}
if env.str("AWS_STORAGE_BUCKET_NAME", default=""):
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            **S3_MEDIA_OPTIONS,
            "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default=None),
        },
    }
# Request bodies (core.middleware.RequestBodyLimitMiddleware, docs/security.md): refused with
# 413 from their Content-Length before a byte is read. Upload views take their file's limit
# plus a margin for the multipart framing and the other fields; the API (JSON) and every
# other page (forms) have one limit each. gunicorn.conf.py and deploy/Caddyfile match these.
FORM_BODY_MAX_BYTES = env.int("FORM_BODY_MAX_BYTES", default=1024 * 1024)
API_BODY_MAX_BYTES = env.int("API_BODY_MAX_BYTES", default=1024 * 1024)
UPLOAD_BODY_MARGIN_BYTES = 256 * 1024
UPLOAD_ROUTES = {
    # The lab page's one hand-in form carries up to ATTACHMENT_MAX_PER_ITERATION files.
    "submissions:lab": ("ATTACHMENT_MAX_BYTES", "ATTACHMENT_MAX_PER_ITERATION"),
    "api:submission-attachment-list": "ATTACHMENT_MAX_BYTES",
    "curriculum:import_upload": "CURRICULUM_MAX_BYTES",
    "api:curriculum-import-list": "CURRICULUM_MAX_BYTES",
    "cohorts:enrollment_upload": "ENROLLMENT_CSV_MAX_BYTES",
    "api:enrollment-list": "ENROLLMENT_CSV_MAX_BYTES",
}

# Email: Django's own setting names; EMAIL_URL (smtp://user:pass@host:587) also works.
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = env.str(
        "EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
    )
    EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
    EMAIL_PORT = env.int("EMAIL_PORT", default=25)
    EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
    EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
    EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
    EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
if EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend":
    # The same, plus a breaker: while the mail server is down or hangs, one send per
    # process waits EMAIL_TIMEOUT and the rest fail at once for EMAIL_FAILURE_COOLDOWN
    # seconds (they are retried with backoff); logged once per outage (core/mail.py).
    EMAIL_BACKEND = "core.mail.SMTPBackend"
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))
# Seconds an SMTP connect, and then each reply, may take.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
EMAIL_FAILURE_COOLDOWN = env.float("EMAIL_FAILURE_COOLDOWN", default=30.0)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Cohort Labs <noreply@cohortlabs.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Due-soon reminders: hours before a lab's due time (each learner's own, extensions
# included) at which a learner who has not handed it in is reminded, once per lead time.
DUE_SOON_REMINDER_HOURS = sorted(
    env.list("DUE_SOON_REMINDER_HOURS", cast=float, default=[24.0, 2.0])
)
if not DUE_SOON_REMINDER_HOURS or DUE_SOON_REMINDER_HOURS[0] <= 0:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("DUE_SOON_REMINDER_HOURS must list positive hours, e.g. 24,2.")

# Cache: Redis when configured, else the database-free local-memory cache.
REDIS_URL = env.str("REDIS_URL", default="")
# Seconds a cache or broker call may wait on Redis (connect, then each reply). Redis answers
# in well under a millisecond, so this only bounds how long a hung Redis can stall a request.
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=0.5)


def redis_cache(url: str) -> dict:
    """The cache on Redis at `url`, failing open: while Redis is unreachable or hangs every
    cache call is a miss (pages are drawn, throttles let requests through) instead of an
    error, logged once per outage (core/cache.py)."""
    return {
        # django-redis rather than Django's own backend: see pyproject.toml.
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": url,
        "OPTIONS": {
            "IGNORE_EXCEPTIONS": True,
            "SOCKET_CONNECT_TIMEOUT": REDIS_SOCKET_TIMEOUT,
            "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT,
            "REDIS_CLIENT_CLASS": "core.cache.FailFastRedis",
        },
    }


if REDIS_URL:
    CACHES = {"default": redis_cache(REDIS_URL)}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery (config/celery.py reads the CELERY_ namespace).
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
CELERY_BROKER_DIR = VAR_DIR / "broker"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# REST framework
REST_FRAMEWORK = {
    # --- API helper (issue 8): token auth first so that a missing credential is a 401. ---
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "accounts.api.common.Pagination",
    "PAGE_SIZE": 25,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "accounts.api.common.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "accounts.api.common.UserThrottle",
        "accounts.api.common.IPThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env.str("API_THROTTLE_USER", default="600/min"),
        "ip": env.str("API_THROTTLE_IP", default="1200/min"),
        "auth_token": env.str("API_THROTTLE_AUTH_TOKEN", default="10/min"),
    },
    # Reverse proxies in front of the app; 0 trusts REMOTE_ADDR only (X-Forwarded-For is
    # client-controlled and would let anyone dodge the per-IP throttle).
    "NUM_PROXIES": env.int("TRUSTED_PROXY_COUNT", default=0),
    # --- end API helper ---
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Cohort Labs API",
    "DESCRIPTION": "Learners submit labs, mentors review them, staff run cohorts and curricula.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # API helper (issue 8): every operation documents the shared error body.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "accounts.api.common.add_error_responses",
    ],
    # Ids in URLs go through core.converters.IdConverter: a whole number in the bigint range.
    "PATH_CONVERTER_OVERRIDES": {"id": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}},
}

# Login lockout (django-axes): account+IP locked after AXES_FAILURE_LIMIT failures for
# AXES_COOLOFF_HOURS; a failure during the lockout restarts it. Reasoning: docs/security.md.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # no start-up banner; the "axes" logger below keeps only warnings
AXES_USERNAME_FORM_FIELD = "username"
# Failures count per account, not per spelling: the canonical e-mail key (accounts.identity).
AXES_USERNAME_CALLABLE = "config.security.lockout_username"
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_LOCKOUT_CALLABLE = "config.security.lockout_response"
AXES_CLIENT_IP_CALLABLE = "config.security.client_ip"
# How many reverse proxies we run in front of gunicorn (X-Forwarded-For is trusted that far).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# Content-Security-Policy (django-csp 4): no inline scripts; htmx reads the CSRF token
# from hx-headers, which needs no script.
from csp.constants import NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# Sessions: server-side rows in the database, so any web process serves any user and a
# Redis outage signs nobody out. Not cached in Redis: a sign-out while Redis is unreachable
# could not delete the cached copy, which would sign the session back in once Redis returns.
# Django's database sessions, loaded with one prepared SQL statement (core/sessions.py).
SESSION_ENGINE = "core.sessions"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Two weeks from sign-in, then sign in again. Not sliding: SESSION_SAVE_EVERY_REQUEST
# would write the session row on every page view.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=14 * 24 * 3600)
CSRF_COOKIE_SAMESITE = "Lax"
# htmx sends the token from hx-headers (rendered into the page), so no script needs the cookie.
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Operators' view of the system (docs/deploy.md): /metrics answers only
# `Authorization: Bearer <METRICS_TOKEN>`, and is a 404 for everyone while it is unset.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# Logs: "plain" lines for people, or "json" (one object per line, python-json-logger) for a
# log pipeline. Each line written while answering a request carries its request_id.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
LOG_FIELDS = "%(levelname)s %(name)s %(message)s %(request_id)s"
if LOG_FORMAT not in ("plain", "json"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}.")
# With JSON logs the Celery worker keeps Django's handler instead of installing its own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT != "json"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": LOG_FIELDS,
            "timestamp": "time",  # ISO 8601, UTC
            "rename_fields": {"levelname": "level", "name": "logger"},
        },
    },
    "filters": {"request_id": {"()": "core.log.RequestIdFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Failed logins and lockouts are warnings; every successful login is not news.
        "axes": {"level": "WARNING"},
    },
}
SPECTACULAR_SETTINGS.update(
    {
        "SWAGGER_UI_DIST": "SIDECAR",
        "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
        "REDOC_DIST": "SIDECAR",
    }
)
