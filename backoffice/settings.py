"""Settings for the trading back office: one module, every value from the environment.

The README's configuration table lists every variable. Secrets can be given as NAME or
as a file named by NAME_FILE (Docker secrets); with DJANGO_DEBUG off none of them has a
default and start-up stops with a message naming both variables.
"""

import ipaddress
import os
from pathlib import Path

from backoffice.core import env
from backoffice.core.ops import logconf

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = env.path("BACKOFFICE_VAR_DIR", BASE_DIR / "var")

# ---------------------------------------------------------------------------
# Mode
# ---------------------------------------------------------------------------
DEBUG = env.flag("DJANGO_DEBUG", default=False)

# A bare `pytest` (no `make test`, no environment) runs with the developer defaults of
# DEBUG: pytest sets PYTEST_VERSION before settings load. `make test` passes real values.
_UNDER_BARE_PYTEST = "PYTEST_VERSION" in os.environ and not os.environ.get("BACKOFFICE_TEST_TIER")
DEV_DEFAULTS = DEBUG or _UNDER_BARE_PYTEST

# ---------------------------------------------------------------------------
# Secrets
# ---------------------------------------------------------------------------
SECRET_KEY = env.secret("DJANGO_SECRET_KEY", required=not DEV_DEFAULTS) or (
    "django-insecure-development-only-key-never-used-with-debug-off"
)

# ---------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------
ALLOWED_HOSTS = env.string_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.string_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "backoffice.core.admin_site.BackofficeAdminConfig",
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
    "csp",
    "backoffice.apps.BackofficeConfig",
    "apikeys.apps.ApiKeysConfig",
    "journal",
    "desk",
    "models_registry",
    "serving",
]

MIDDLEWARE = [
    # First, so that the request id and timing cover everything below it.
    "backoffice.core.http.middleware.RequestContextMiddleware",
    # Before any middleware that answers by itself (RejectNul, WhiteNoise's static
    # files), so that every answer carries a policy.
    "backoffice.core.http.content_security.ContentSecurityPolicyMiddleware",
    "backoffice.core.http.middleware.RejectNulMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
# /api/v1/ answers JSON: no static files, no CSRF middleware (DRF checks CSRF for session
# users itself), no messages. The same order as MIDDLEWARE (backoffice.core.api.handler).
API_MIDDLEWARE = [
    "backoffice.core.http.middleware.RequestContextMiddleware",
    "backoffice.core.http.content_security.ContentSecurityPolicyMiddleware",
    "backoffice.core.http.middleware.RejectNulMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# A form refused by the CSRF check on a staff page answers the admin's own page.
CSRF_FAILURE_VIEW = "backoffice.core.http.denied.csrf_failure"
ROOT_URLCONF = "backoffice.urls"
WSGI_APPLICATION = "backoffice.wsgi.application"

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

# ---------------------------------------------------------------------------
# Security (production safe by default; a TLS proxy in front may take some over)
# ---------------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.flag("DJANGO_SECURE_SSL_REDIRECT", default=not DEV_DEFAULTS)
# Health probes come from inside the container network over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.integer("DJANGO_SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = not DEBUG
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp; backoffice.core.http.content_security): pages load scripts,
# styles, images and fonts from this origin only, nothing inline (no 'unsafe-inline'
# anywhere: the admin's templates use classes from backoffice/static, Swagger UI is
# drf-spectacular's split view), so an injected <script> or on*= attribute never runs.
# Answers that are not pages (JSON, CSV, metrics, static files) get default-src 'none'.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'none'"],  # what is not named below loads from nowhere
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],  # Swagger UI reads /api/schema/ and tries operations
        "object-src": ["'none'"],  # no plugins (default-src says so too; named for audits)
        "base-uri": ["'none'"],  # an injected <base> cannot re-point relative script URLs
        "form-action": ["'self'"],  # an injected form cannot post a page's data elsewhere
        "frame-ancestors": ["'none'"],  # as X_FRAME_OPTIONS: nobody frames a page
    }
}
SILENCED_SYSTEM_CHECKS = []
if not SECURE_SSL_REDIRECT and not DEBUG:
    # DJANGO_SECURE_SSL_REDIRECT=0 says that a TLS-terminating proxy in front does
    # the redirect to HTTPS (docker-compose.yml); the check would warn about it.
    SILENCED_SYSTEM_CHECKS.append("security.W008")

# ---------------------------------------------------------------------------
# Database: PostgreSQL (TimescaleDB where installed) from DATABASE_URL, else SQLite
# ---------------------------------------------------------------------------
DB_CONNECT_TIMEOUT = env.integer("DB_CONNECT_TIMEOUT", 3, minimum=1, maximum=60)
DB_POOL_MAX_SIZE = env.integer("DB_POOL_MAX_SIZE", 0, maximum=100)
_database_url = env.secret("DATABASE_URL", required=False)
if _database_url:
    _db = env.database_config(
        _database_url,
        password=env.secret("POSTGRES_PASSWORD", required=False),
        engine="backoffice.core.db.backends.postgresql",
    )
    _db["OPTIONS"] = {
        "connect_timeout": DB_CONNECT_TIMEOUT,
        "application_name": env.text("DB_APPLICATION_NAME", "backoffice"),
        # PostgreSQL's JIT compiles a query's expressions per chunk: on a TimescaleDB
        # hypertable of 85 daily chunks an aggregate over the closed trades spent 8.5 of
        # its 8.8 s compiling (0.22 s without; bench/README.md). The application's
        # queries never win that back, so its sessions run without JIT (DB_JIT=1 for
        # the server's default).
        **({} if env.flag("DB_JIT", default=False) else {"options": "-c jit=off"}),
    }
    if DB_POOL_MAX_SIZE:
        # psycopg_pool per process: workers x max_size must fit max_connections.
        _db["OPTIONS"]["pool"] = {
            "min_size": env.integer("DB_POOL_MIN_SIZE", 1),
            "max_size": DB_POOL_MAX_SIZE,
            # How long a request waits for a free connection before failing.
            "timeout": env.number("DB_POOL_TIMEOUT", 5.0, minimum=0.1),
        }
        _db["CONN_MAX_AGE"] = 0
    else:
        # Persistent connections, checked before reuse: see the README's
        # "Database connections" for the measurement behind the choice.
        _db["CONN_MAX_AGE"] = env.integer("DB_CONN_MAX_AGE", 60)
        _db["CONN_HEALTH_CHECKS"] = True
    DATABASES = {"default": _db}
elif DEV_DEFAULTS:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "backoffice.sqlite3",
            "OPTIONS": {"timeout": 20},
        }
    }
else:
    raise env.ConfigError(
        "DATABASE_URL is not set: production needs PostgreSQL "
        "(give DATABASE_URL or DATABASE_URL_FILE; the SQLite default is for "
        "`make run`, with DJANGO_DEBUG=1)"
    )

# Reads that may go to a streaming replica (backoffice/core/db/routers.py): the dashboard,
# exports, analytics, the metrics API and the model-performance pages read from
# DATABASE_REPLICA_URL when it is set (its password, when the URL has none, from
# POSTGRES_PASSWORD: a streaming replica has the primary's roles). Writes, the risk gate
# and everything else stay on the primary. A replica more than
# DATABASE_REPLICA_MAX_LAG_SECONDS behind, or unreachable, sends those reads to the
# primary too; each worker measures the lag at most every DATABASE_REPLICA_CHECK_SECONDS.
DATABASE_REPLICA_MAX_LAG_SECONDS = env.number("DATABASE_REPLICA_MAX_LAG_SECONDS", 30.0)
DATABASE_REPLICA_CHECK_SECONDS = env.number("DATABASE_REPLICA_CHECK_SECONDS", 2.0, minimum=0.1)
_replica_url = env.secret("DATABASE_REPLICA_URL", required=False)
DATABASE_ROUTERS: list[str] = []
if _replica_url:
    if not _database_url:
        raise env.ConfigError(
            "DATABASE_REPLICA_URL is set but DATABASE_URL is not: a replica needs its primary"
        )
    _replica = env.database_config(
        _replica_url,
        password=env.secret("POSTGRES_PASSWORD", required=False),
        engine="backoffice.core.db.backends.postgresql",
        name="DATABASE_REPLICA_URL",
    )
    # The primary's options without its pool: a replica that is down must cost one
    # connect_timeout, not a pool's wait (the router then reads from the primary).
    _replica["OPTIONS"] = {
        **{key: value for key, value in _db["OPTIONS"].items() if key != "pool"},
        "application_name": env.text("DB_APPLICATION_NAME", "backoffice") + "-replica",
    }
    _replica["CONN_MAX_AGE"] = env.integer("DB_CONN_MAX_AGE", 60)
    _replica["CONN_HEALTH_CHECKS"] = True
    # Tests create no database for it: under a test runner it is the default's.
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES["replica"] = _replica
    DATABASE_ROUTERS = ["backoffice.core.db.routers.ReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ---------------------------------------------------------------------------
# Cache: Redis from REDIS_URL, else local memory
# ---------------------------------------------------------------------------
_redis_url = env.text("REDIS_URL")
if _redis_url:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env.redis_url(
                _redis_url, password=env.secret("REDIS_PASSWORD", required=False)
            ),
            "KEY_PREFIX": env.text("CACHE_KEY_PREFIX", "bo"),
            "TIMEOUT": 300,
            "OPTIONS": {
                # A Redis outage must cost milliseconds, not hang a request.
                "socket_connect_timeout": env.number("REDIS_CONNECT_TIMEOUT", 0.5),
                "socket_timeout": env.number("REDIS_SOCKET_TIMEOUT", 0.5),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# ---------------------------------------------------------------------------
# Job engine: Celery worker and beat (backoffice.celery), Redis as the broker
# ---------------------------------------------------------------------------
# The broker is the shared Redis (its keys under CELERY_KEY_PREFIX); without REDIS_URL
# there is no job engine (the embedded default: `make run` has no spool to drain).
CELERY_BROKER_URL = (
    env.redis_url(
        env.text("CELERY_BROKER_URL", _redis_url),
        password=env.secret("REDIS_PASSWORD", required=False),
    )
    if _redis_url
    else "memory://"
)
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # the JSON logging of LOGGING, as everywhere
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Keys of several deployments (and of the test suite's drills) never mix.
    "global_keyprefix": env.text("CELERY_KEY_PREFIX", "bo-jobs:"),
    "socket_connect_timeout": 2,
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# How often the spool is drained: a trade spooled during an outage reaches the database
# within this many seconds of the database answering again.
JOURNAL_DRAIN_INTERVAL_SECONDS = env.number("JOURNAL_DRAIN_INTERVAL_SECONDS", 5.0, minimum=0.5)
CELERY_BEAT_SCHEDULE = {
    "drain-spool": {
        "task": "journal.drain_spool",
        "schedule": JOURNAL_DRAIN_INTERVAL_SECONDS,
        # A run that waited longer than one interval is replaced by the next one.
        "options": {"expires": JOURNAL_DRAIN_INTERVAL_SECONDS},
    },
    "compact-trade-summary": {
        "task": "journal.compact_trade_summary",
        "schedule": 3600.0,
        "options": {"expires": 600},
    },
    # Prediction records past SERVING_RECORD_RETENTION_DAYS, where no TimescaleDB
    # retention policy drops their chunks (plain PostgreSQL, SQLite).
    "prune-prediction-records": {
        "task": "serving.prune_prediction_records",
        "schedule": 3600.0,
        "options": {"expires": 600},
    },
    # The newest pgBackRest backup, for /readyz and /metrics (backoffice.core.ops.recovery):
    # only where PGBACKREST_STANZA is set, on a worker that can read the repository.
    "record-backup-info": {
        "task": "backoffice.record_backup_info",
        "schedule": 300.0,
        "options": {"expires": 300},
    },
    # The risk gate's P&L before today (desk.services.HISTORY_REFRESH_SECONDS).
    "refresh-pnl-history": {
        "task": "desk.refresh_pnl_history",
        "schedule": 30.0,
        "options": {"expires": 30},
    },
}

# ---------------------------------------------------------------------------
# Point-in-time recovery (backoffice/core/ops/recovery.py): what /readyz and /metrics say about
# the WAL archive and the backups
# ---------------------------------------------------------------------------
# The stanza the pgBackRest repository keeps this database under; set on the Celery
# worker that can run `pgbackrest info` (deploy/pgbackrest/). Unset: no backup figures.
PGBACKREST_STANZA = env.text("PGBACKREST_STANZA")
# pgBackRest's configuration file for that command (empty: pgBackRest's own default).
PGBACKREST_CONFIG = env.text("PGBACKREST_CONFIG")
# The newest backup (full or differential) older than this many hours is a warning on
# /readyz; 0 turns the check off (a desk that keeps only `make backup`'s dumps).
BACKUP_MAX_AGE_HOURS = env.number("BACKUP_MAX_AGE_HOURS", 26.0)
# WAL waiting to be archived while the last segment archived is older than this many
# seconds, a failing archive_command, or archive_mode off is a warning; 0 turns it off.
WAL_ARCHIVE_MAX_AGE_SECONDS = env.number("WAL_ARCHIVE_MAX_AGE_SECONDS", 600.0)

# ---------------------------------------------------------------------------
# Auth
# ---------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
# Where a login lands when it has no `next`, or one that is refused (another host, a
# scheme): the admin's index. Django's default, /accounts/profile/, is a 404 here.
LOGIN_REDIRECT_URL = "admin:index"
# Failed admin logins allowed per (client address, account) in the window, where the
# address is the client's own; then the login page answers 429 until the window passes.
ADMIN_LOGIN_MAX_FAILURES = env.integer("ADMIN_LOGIN_MAX_FAILURES", 5, minimum=1)
ADMIN_LOGIN_WINDOW_SECONDS = env.integer("ADMIN_LOGIN_WINDOW_SECONDS", 900, minimum=60)
# Failed logins allowed per account in the window from addresses that are not the
# client's own (an untrusted proxy's, shared by everyone behind it): high, so that a
# stranger cannot lock the account by failing a few times (apikeys/login_throttle.py).
ADMIN_LOGIN_MAX_FAILURES_PER_ACCOUNT = env.integer(
    "ADMIN_LOGIN_MAX_FAILURES_PER_ACCOUNT", 100, minimum=ADMIN_LOGIN_MAX_FAILURES
)
# Proxies in front of the app (IP addresses or CIDR networks, comma-separated) whose
# X-Forwarded-For names the client: the login and API-key limits count per client
# address, and behind a TLS proxy every client would otherwise share the proxy's.
TRUSTED_PROXIES = env.string_list("TRUSTED_PROXIES")
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise env.ConfigError(
            f"TRUSTED_PROXIES: {_proxy!r} is not an IP address or network"
        ) from None
# Invalid API keys per (client address, key prefix) in a window, 4x that per address;
# then 429 for invalid keys from it (a key that verifies is always served).
API_KEY_MAX_FAILURES = env.integer("API_KEY_MAX_FAILURES", 20, minimum=1)
API_KEY_FAILURE_WINDOW_SECONDS = env.integer("API_KEY_FAILURE_WINDOW_SECONDS", 300, minimum=10)

# ---------------------------------------------------------------------------
# Internationalisation
# ---------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# One date-time style on every page: UTC, 24 h, 2026-11-27 07:00 (backoffice/core/formats).
FORMAT_MODULE_PATH = ["backoffice.core.formats"]

# ---------------------------------------------------------------------------
# Static files (served by WhiteNoise; no CDN anywhere)
# ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEV_DEFAULTS
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# ---------------------------------------------------------------------------
# Back-office paths
# ---------------------------------------------------------------------------
MODEL_STORAGE_DIR = env.path("MODEL_STORAGE_DIR", VAR_DIR / "models")
SPOOL_DIR = env.path("SPOOL_DIR", VAR_DIR / "spool")

# ---------------------------------------------------------------------------
# Trade journal
# ---------------------------------------------------------------------------
# Trade chunks older than this are compressed (TimescaleDB); trades are never deleted.
JOURNAL_COMPRESS_AFTER_DAYS = env.integer("JOURNAL_COMPRESS_AFTER_DAYS", 30, minimum=1)
# The span of a new trade chunk: a week plans fast (a query without constant time bounds
# plans every chunk) and fits memory up to ~150,000 trades a day; a desk recording a
# million trades a day sets 1 (about 0.5 GB a chunk).
JOURNAL_CHUNK_DAYS = env.integer("JOURNAL_CHUNK_DAYS", 7, minimum=1, maximum=366)
# How far back the hourly refresh of the daily P&L aggregate reaches.
JOURNAL_DAILY_PNL_REFRESH_DAYS = env.integer("JOURNAL_DAILY_PNL_REFRESH_DAYS", 90, minimum=1)
# Trades per POST /api/v1/trades, and its body limit: 1,000 trades of the largest size
# (signals and agent_votes of journal.domain.trade_record.MAX_JSON_BYTES each) are about 34 MB.
JOURNAL_MAX_BATCH = 1000
JOURNAL_MAX_BODY_MB = env.integer("JOURNAL_MAX_BODY_MB", 40, minimum=1)
# A trade or an idea on a symbol that is not one of the desk's instruments is refused
# (on in production); otherwise it is accepted and flagged (journal.instruments).
INSTRUMENTS_REQUIRED = env.flag("INSTRUMENTS_REQUIRED", default=not DEV_DEFAULTS)
# Broker statements uploaded in the admin (journal.statements): the largest file, and
# who runs their dry run and import: "auto" (a Celery worker when one answers, else the
# web process), "worker" (always the job engine) or "web" (always the web process).
JOURNAL_STATEMENT_MAX_MB = env.integer("JOURNAL_STATEMENT_MAX_MB", 64, minimum=1)
JOURNAL_STATEMENT_RUNNER = env.text("JOURNAL_STATEMENT_RUNNER", "auto").lower()
if JOURNAL_STATEMENT_RUNNER not in {"auto", "worker", "web"}:
    raise env.ConfigError(
        f"JOURNAL_STATEMENT_RUNNER={JOURNAL_STATEMENT_RUNNER!r}: use auto, worker or web"
    )
# A dry run or import with no progress for this long is taken for stopped (its process
# ended): the statement's page offers to run it again (an import is one transaction).
JOURNAL_STATEMENT_STALE_SECONDS = env.integer("JOURNAL_STATEMENT_STALE_SECONDS", 600, minimum=10)

# ---------------------------------------------------------------------------
# Desk records
# ---------------------------------------------------------------------------
# Snapshots (market bars, indicators, calendar, news, accounts) older than this are
# dropped by TimescaleDB's retention policy; trades and decisions never are.
DESK_SNAPSHOT_RETENTION_DAYS = env.integer("DESK_SNAPSHOT_RETENTION_DAYS", 30, minimum=1)
# Decision chunks older than this are compressed (never deleted).
DESK_DECISION_COMPRESS_AFTER_DAYS = env.integer("DESK_DECISION_COMPRESS_AFTER_DAYS", 90, minimum=1)
# An executed idea (by the gate or a person) counts against the open-trade and
# trades-per-day limits until its trade is recorded, or for this long.
DESK_EXECUTION_WINDOW_MINUTES = env.integer(
    "DESK_EXECUTION_WINDOW_MINUTES", 60, minimum=1, maximum=7 * 24 * 60
)
# An idea older than this is approved only with a written override.
DESK_APPROVAL_MAX_AGE_MINUTES = env.integer(
    "DESK_APPROVAL_MAX_AGE_MINUTES", 30, minimum=1, maximum=7 * 24 * 60
)
# Four eyes: loosening a limit, switching AI trading on and a breaking alias move wait
# for a second person with the permission (on in production).
FOUR_EYES = env.flag("FOUR_EYES", default=not DEV_DEFAULTS)
# How far in the future an input's time may be (clocks drift) before it counts as
# wrong: the gate's market bars and account snapshots fail freshness; a trade whose
# executed_at or closed_at is later is refused as a bad field on every capture path
# (journal.write.capture).
CLOCK_SKEW_SECONDS = env.integer("CLOCK_SKEW_SECONDS", 300, minimum=0, maximum=86_400)
# An idea citing a recorded prediction may state a confidence this far from the one the
# prediction gives its direction (0.01 = one percentage point).
DESK_CONFIDENCE_TOLERANCE = env.number("DESK_CONFIDENCE_TOLERANCE", 0.01)

# ---------------------------------------------------------------------------
# REST API
# ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apikeys.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["backoffice.core.api.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["backoffice.core.api.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "backoffice.core.api.errors.exception_handler",
}
# The body limit of API endpoints that name none of their own (trade ideas, cache).
API_MAX_BODY_MB = env.integer("API_MAX_BODY_MB", 1, minimum=1)
# While the database is down, an API key that this worker verified within this many
# seconds is still accepted, so that its trades reach the spool.
API_KEY_OUTAGE_GRACE_SECONDS = env.integer("API_KEY_OUTAGE_GRACE_SECONDS", 900)
SPECTACULAR_SETTINGS = {
    "TITLE": "Trading back office API",
    "VERSION": "1.0.0",
    # The contract every endpoint keeps (auth, errors, pagination, idempotency).
    "DESCRIPTION": (BASE_DIR / "backoffice" / "core" / "api" / "introduction.md").read_text(),
    "SERVE_INCLUDE_SCHEMA": False,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "backoffice.core.api.schema.one_error_body",
        "backoffice.core.api.schema.tags_by_area",
        "backoffice.core.api.schema.this_instance",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name per choice set, so that the schema has no colliding enums.
    "ENUM_NAME_OVERRIDES": {
        "SideEnum": "journal.models.Side",
        "TradeStatusEnum": "journal.models.TradeStatus",
        "ReviewStatusEnum": "journal.models.ReviewStatus",
        "IdeaStatusEnum": "desk.models.IdeaStatus",
        "DecisionActionEnum": "desk.models.Action",
        "V2DatatypeEnum": "serving.protocols.schemas.V2_DATATYPES",
    },
}

# ---------------------------------------------------------------------------
# Logging: one JSON object a line on stdout
# ---------------------------------------------------------------------------
LOG_LEVEL = env.text("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise env.ConfigError(
        f"LOG_LEVEL={LOG_LEVEL!r} is not a level: use DEBUG, INFO, WARNING or ERROR"
    )
LOGGING = logconf.dict_config(LOG_LEVEL)

# ---------------------------------------------------------------------------
# Model registry and serving
# ---------------------------------------------------------------------------
# Admin uploads larger than this are refused (models are megabytes; this is a guard).
MODEL_UPLOAD_MAX_MB = env.integer("MODEL_UPLOAD_MAX_MB", 200, minimum=1)
# Rows per predict request, and the body size read before JSON parsing.
SERVING_MAX_ROWS = env.integer("SERVING_MAX_ROWS", 10_000, minimum=1)
SERVING_MAX_BODY_MB = env.integer("SERVING_MAX_BODY_MB", 32, minimum=1)
# Values (numbers and the lists around them, counted by their separators) a predict body
# may hold, whatever the model's width: what bounds a request's parsing (serving.predict.bounds).
SERVING_MAX_VALUES = env.integer("SERVING_MAX_VALUES", 500_000, minimum=1_000)
# The API's parsers read bodies themselves, within their endpoint's limit
# (backoffice.core.api.parsers); Django's own limit sits above every one of them, so that it
# never answers an API request first (with an HTML 400).
DATA_UPLOAD_MAX_MEMORY_SIZE = (
    (max(JOURNAL_MAX_BODY_MB, API_MAX_BODY_MB, SERVING_MAX_BODY_MB) + 1) * 1024 * 1024
)
# The per-worker LRU of loaded models: bounded by count and by (artifact) bytes.
SERVING_PREDICTOR_CACHE_MODELS = env.integer("SERVING_PREDICTOR_CACHE_MODELS", 16, minimum=1)
SERVING_PREDICTOR_CACHE_MB = env.integer("SERVING_PREDICTOR_CACHE_MB", 1024, minimum=1)
# Threads per prediction: workers x threads must not exceed the cores (oversubscribed,
# XGBoost's and LightGBM's thread pools slow every worker down; bench/serving).
SERVING_PREDICT_THREADS = env.integer("SERVING_PREDICT_THREADS", 1, minimum=1, maximum=64)
# Serve a version's compiled tree predictor when an operator compiled it (manage.py
# compile_model); 0 serves every version with its booster.
SERVING_COMPILED = env.flag("SERVING_COMPILED", default=True)
# The job engine compiles registered XGBoost and LightGBM versions in the background
# (models_registry.auto_compile): one waiting version every MODEL_COMPILE_EVERY_SECONDS,
# with MODEL_COMPILE_JOBS compiler processes (the worker's machine also serves), served
# versions and those registered in the last MODEL_COMPILE_RECENT_DAYS. The worker needs
# gcc (the compose file builds its image WITH_COMPILER=1); without it a version is held
# with the reason and its booster serves. 0 leaves compiling to compile_model.
MODEL_COMPILE_IN_BACKGROUND = env.flag("MODEL_COMPILE_IN_BACKGROUND", default=True)
MODEL_COMPILE_EVERY_SECONDS = env.number("MODEL_COMPILE_EVERY_SECONDS", 15.0, minimum=1)
MODEL_COMPILE_JOBS = env.integer("MODEL_COMPILE_JOBS", 1, minimum=1, maximum=64)
MODEL_COMPILE_RECENT_DAYS = env.integer("MODEL_COMPILE_RECENT_DAYS", 7, minimum=0)
CELERY_BEAT_SCHEDULE["compile-models"] = {
    "task": "models_registry.compile_models",
    "schedule": MODEL_COMPILE_EVERY_SECONDS,
    # A run that waited longer than one interval is replaced by the next one.
    "options": {"expires": MODEL_COMPILE_EVERY_SECONDS},
}
# Seconds a prediction stays in the shared cache; 0 turns the prediction cache off.
SERVING_PREDICTION_CACHE_TTL = env.integer("SERVING_PREDICTION_CACHE_TTL", 300)
# The prediction cache is read only for requests whose prediction is expected to take at
# least this long (the version's recent predict times); a cheaper one is computed again
# rather than fetched. 0 reads it for every request (serving.predict.cache).
SERVING_PREDICTION_CACHE_MIN_MS = env.number("SERVING_PREDICTION_CACHE_MIN_MS", 0.5)
# How often a worker reads the alias stamps in the shared cache: the hot-swap delay.
SERVING_ALIAS_CHECK_MS = env.integer("SERVING_ALIAS_CHECK_MS", 100, maximum=1000)
# After a shared-cache error, serving skips the cache for this long (one warning).
SERVING_CACHE_RETRY_SECONDS = env.number("SERVING_CACHE_RETRY_SECONDS", 5.0)
# Seconds the predict endpoint trusts an API key it verified (0: ask the database
# every time); a revoked key stops predicting within this time (serving.predict.auth).
SERVING_KEY_CACHE_SECONDS = env.number("SERVING_KEY_CACHE_SECONDS", 1.0)
# A remembered key's POST .../predict is answered without DRF's dispatch, by the same
# checks and service (serving.predict.shortpath); 0 sends every request the long way.
SERVING_SHORT_PATH = env.flag("SERVING_SHORT_PATH", default=True)
# Aliases loaded into every worker at start (serving.predict.warmup).
SERVING_WARM_ALIASES = env.string_list("SERVING_WARM_ALIASES", ["production"])
# Predict requests per API key (or staff user): N/s, N/m, N/h, or off.
import re  # noqa: E402 - this block's own import, kept beside its one use

SERVING_PREDICT_RATE = env.text("SERVING_PREDICT_RATE", "100/s")
if SERVING_PREDICT_RATE != "off" and not re.match(r"^\d+/[smh]$", SERVING_PREDICT_RATE):
    raise env.ConfigError(
        f"SERVING_PREDICT_RATE={SERVING_PREDICT_RATE!r} is not a rate: use e.g. 100/s, "
        "6000/m or off"
    )

# Prediction records (serving.live.recorder): the share of predictions written to
# serving_predictionrecord (1 = every one, 0 = none; each still gets its id), how long
# they are kept (a TimescaleDB retention policy, else the job engine's daily prune),
# how often each worker's writer flushes them, and how many may wait in its memory
# (beyond that they are dropped and counted, never waited for).
SERVING_RECORD_SAMPLE_RATE = env.number("SERVING_RECORD_SAMPLE_RATE", 1.0)
if SERVING_RECORD_SAMPLE_RATE > 1:
    raise env.ConfigError(
        f"SERVING_RECORD_SAMPLE_RATE={SERVING_RECORD_SAMPLE_RATE} must be between 0 and 1"
    )
SERVING_RECORD_RETENTION_DAYS = env.integer("SERVING_RECORD_RETENTION_DAYS", 90, minimum=1)
SERVING_RECORD_FLUSH_MS = env.integer("SERVING_RECORD_FLUSH_MS", 250, minimum=10, maximum=60_000)
SERVING_RECORD_QUEUE_MAX = env.integer("SERVING_RECORD_QUEUE_MAX", 20_000, minimum=1)
# After a failed write, the writer drops (and counts) what arrives for this long before
# it tries the database again.
SERVING_RECORD_RETRY_SECONDS = env.number("SERVING_RECORD_RETRY_SECONDS", 5.0)
# Recorded requests waiting for an alias's challenger (or champion) to score them in
# shadow, per worker (serving.live.challenger_routing); beyond it shadows are dropped and counted.
SERVING_SHADOW_QUEUE_MAX = env.integer("SERVING_SHADOW_QUEUE_MAX", 2_000, minimum=1)

# ---------------------------------------------------------------------------
# Model health (serving.live.figures): live figures of each version, and the marks of
# the admin's model-health list
# ---------------------------------------------------------------------------
# Days of predictions and trades a version's live figures cover by default.
MODEL_HEALTH_WINDOW_DAYS = env.integer("MODEL_HEALTH_WINDOW_DAYS", 30, minimum=1)
# A feature whose population stability index reaches this has drifted (0.1 is a small
# shift, 0.25 a large one by the usual reading).
MODEL_HEALTH_PSI_MAX = env.number("MODEL_HEALTH_PSI_MAX", 0.2)
# Calibration: the expected calibration error (|predicted - realised win rate| per decile,
# weighted by trades) and the Brier score at which a version is marked.
MODEL_HEALTH_CALIBRATION_ERROR_MAX = env.number("MODEL_HEALTH_CALIBRATION_ERROR_MAX", 0.1)
MODEL_HEALTH_BRIER_MAX = env.number("MODEL_HEALTH_BRIER_MAX", 0.25)
# Below this many closed trades a version's calibration is shown but not judged.
MODEL_HEALTH_MIN_TRADES = env.integer("MODEL_HEALTH_MIN_TRADES", 30, minimum=1)
# The live rows a drift figure reads at most (the newest recorded ones).
MODEL_HEALTH_DRIFT_ROWS = env.integer("MODEL_HEALTH_DRIFT_ROWS", 20_000, minimum=100)
# A challenger promoted on fewer live rows than this (scored by both it and the champion
# in the health window: the comparison's same rows) needs a written reason, kept with
# the alias move (models_registry.challengers.challenger_promote).
MODEL_PROMOTION_MIN_ROWS = env.integer("MODEL_PROMOTION_MIN_ROWS", 200, minimum=0)

# ---------------------------------------------------------------------------
# Metrics for operators (backoffice/core/ops/prometheus.py)
# ---------------------------------------------------------------------------
# GET /metrics answers staff, or this token as `Authorization: Bearer <token>`; unset,
# only staff. PROMETHEUS_MULTIPROC_DIR (set by gunicorn.conf.py) is read by the library.
PROMETHEUS_SCRAPE_TOKEN = env.secret("PROMETHEUS_SCRAPE_TOKEN", required=False)
