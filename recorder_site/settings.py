"""Recorder settings.

Every value comes from the environment (django-environ) with a safe default for the
embedded set-up: SQLite, the bundled Graph emulator, the database task queue. Production
(`RECORDER_ENV=production`) refuses to start without the secrets it needs, with a weak
secret key, with debug pages on, or with the emulator mounted (see the end of this file).
"""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.checks.security.base import (
    SECRET_KEY_INSECURE_PREFIX,
    SECRET_KEY_MIN_LENGTH,
    SECRET_KEY_MIN_UNIQUE_CHARACTERS,
)
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env is read when present; real environment variables win over it.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

RECORDER_ENV = env.str("RECORDER_ENV", default="embedded")
if RECORDER_ENV not in ("embedded", "production"):
    raise ImproperlyConfigured("RECORDER_ENV must be 'embedded' or 'production'.")
PRODUCTION = RECORDER_ENV == "production"

# The address Recorder serves on in the embedded set-up (`make run` binds to it); the
# emulator's URLs, the notification and prompt URLs and the download allow-list derive
# from it. PORT moves the whole set-up to another port: `make run PORT=8001`.
PORT = env.int("PORT", default=8000)
RECORDER_BASE_URL = env.str("RECORDER_BASE_URL", default=f"http://127.0.0.1:{PORT}").rstrip("/")

DEBUG = env.bool("DEBUG", default=False)
# Production has no default: an empty or weak key is refused below.
SECRET_KEY = env.str(
    "SECRET_KEY", default="" if PRODUCTION else "embedded-only-not-secret-" + "x" * 40
)

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"]
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# The emulator stands in for Graph and Azure AD; it is never on in production unless asked.
GRAPH_EMULATOR = env.bool("GRAPH_EMULATOR", default=not PRODUCTION)

INSTALLED_APPS = [
    "recorder_site.apps.RecorderAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_tasks_db",
    "crontask",
    "axes",
    "recordings",
]
if GRAPH_EMULATOR:
    INSTALLED_APPS.append("graph_emulator")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before the CSRF check, which reads the body: an oversized one is refused unread.
    "recordings.middleware.RequestBodyLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a lockout into the answer the operator sees.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "recorder_site.urls"
WSGI_APPLICATION = "recorder_site.wsgi.application"

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

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's SQLite backend, with every writer (thread or process) queued for the write
    # lock instead of asleep in SQLite's busy handler (recorder_site/sqlite3/base.py).
    DATABASES["default"]["ENGINE"] = "recorder_site.sqlite3"
    # The web server, the task worker and the emulator's threads write at once: WAL lets
    # readers go on during a write, IMMEDIATE takes the write lock up front instead of
    # failing half-way through a transaction, and the timeout waits for it.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    test_name = env.str("SQLITE_TEST_NAME", default=str(BASE_DIR / "var" / "test-db.sqlite3"))
    # A file, not memory: end-to-end tests run a task worker in its own process.
    DATABASES["default"]["TEST"] = {"NAME": test_name}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's PostgreSQL backend, with the statements every notification runs prepared once
    # per connection (recorder_site/postgresql/base.py). Off behind a pooler that can't keep
    # prepared statements.
    DATABASES["default"]["ENGINE"] = "recorder_site.postgresql"
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "prepared_statements", env.bool("DATABASE_PREPARED_STATEMENTS", default=True)
    )
# Each web thread and worker keeps its connection: opening one costs more than a notification
# (a PostgreSQL backend to start; on SQLite the functions Django registers and the PRAGMAs).
# Django checks a kept connection before a request uses it, so a database restart costs no
# failed request.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=600))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# django-axes first: it refuses a locked-out login before any password is checked.
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

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
# Every moment reads the same on every page, its zone named (recorder_site/formats).
FORMAT_MODULE_PATH = ["recorder_site.formats"]

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
# Files browsers ask for at the site's root (/favicon.ico), served by WhiteNoise.
WHITENOISE_ROOT = BASE_DIR / "recorder_site" / "root"
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
# Where recordings are kept: "local" (MEDIA_ROOT), "s3" (any S3-compatible store) or "azure"
# (Blob Storage), the last two through django-storages. Object storage lets every web node
# and worker share one copy.
RECORDING_STORAGE = env.str("RECORDING_STORAGE", default="local")
if RECORDING_STORAGE == "local":
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
elif RECORDING_STORAGE == "s3":
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("S3_BUCKET"),
            "endpoint_url": env.str("S3_ENDPOINT_URL", default=None),
            "region_name": env.str("S3_REGION", default=None),
            "access_key": env.str("S3_ACCESS_KEY_ID", default=None),
            "secret_key": env.str("S3_SECRET_ACCESS_KEY", default=None),
            "location": env.str("S3_PREFIX", default=""),
            # Recordings are private: no public ACL, links only through Recorder.
            "default_acl": None,
            "file_overwrite": False,
        },
    }
elif RECORDING_STORAGE == "azure":
    _default_storage = {
        "BACKEND": "storages.backends.azure_storage.AzureStorage",
        "OPTIONS": {
            "azure_container": env.str("AZURE_CONTAINER"),
            "connection_string": env.str("AZURE_CONNECTION_STRING", default=None),
            "account_name": env.str("AZURE_ACCOUNT_NAME", default=None),
            "account_key": env.str("AZURE_ACCOUNT_KEY", default=None),
            "location": env.str("AZURE_PREFIX", default=""),
            "overwrite_files": False,
        },
    }
else:
    raise ImproperlyConfigured("RECORDING_STORAGE must be 'local', 's3' or 'azure'.")
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
# Behind the TLS proxy (trusted through SECURE_PROXY_SSL_HEADER), a request that came in as
# https is seen as secure, so the redirect sends only plain-http requests to https. Turn it
# off only where the proxy itself redirects, or answers nothing over plain http.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=PRODUCTION)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=PRODUCTION)
# Preloading commits the whole domain to https in browsers for months, and is asked for by
# the domain's owner (hstspreload.org), not by one application on it: off unless set, and
# Django's reminder about it is silenced while it is off.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

# --- Request bodies -------------------------------------------------------------------------
# The largest form body Django parses (files aside), and so, by RequestBodyLimitMiddleware,
# the largest body any page takes: larger ones are answered 413 before they are read. The
# prompt upload pages take PROMPT_MAX_BYTES more from staff; the webhook keeps its own limit,
# NOTIFICATION_MAX_BYTES.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
# The largest prompt upload accepted, in bytes.
PROMPT_MAX_BYTES = env.int("PROMPT_MAX_BYTES", default=10 * 1024 * 1024)

# --- Login throttling (django-axes) ---------------------------------------------------------
# After AXES_FAILURE_LIMIT failed logins, logging in is refused for AXES_COOLOFF_MINUTES,
# both for that user name (from any address) and from that address (for any user name): one
# stops guessing one operator's password from many places, the other trying many user names
# from one. `manage.py axes_reset` lifts every lockout at once.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("AXES_COOLOFF_MINUTES", default=15.0))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# The admin's login page itself answers a lockout, saying so (recordings.middleware).
AXES_LOCKOUT_CALLABLE = "recordings.middleware.login_locked_out"
# The client's address is REMOTE_ADDR, unless AXES_TRUSTED_PROXY_COUNT proxies in front of
# Recorder each append the address they were reached from to X-Forwarded-For: then it is the
# entry that many from the right. Any entry further left was written by the client.
AXES_TRUSTED_PROXY_COUNT = env.int("AXES_TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "recordings.middleware.client_address"

# --- Tasks ----------------------------------------------------------------------------------
TASKS_BACKEND = env.str("TASKS_BACKEND", default="database")
_TASK_BACKENDS = {
    # django-tasks-db's, its task row inserted by a statement compiled once.
    "database": "recordings.task_backend.DatabaseBackend",
    "rq": "django_tasks_rq.RQBackend",
    "immediate": "django.tasks.backends.immediate.ImmediateBackend",
    "dummy": "django.tasks.backends.dummy.DummyBackend",
}
if TASKS_BACKEND not in _TASK_BACKENDS:
    raise ImproperlyConfigured(
        f"TASKS_BACKEND must be one of {', '.join(_TASK_BACKENDS)}; got {TASKS_BACKEND!r}."
    )
# Two queues, each with workers of its own: "calls" answers incoming calls, which Graph drops
# after 15 s; "default" carries the rest (fetches and their retries, closing what Graph never
# finished, the reconcile, the purge), which may take minutes. An answer never waits behind it.
TASKS = {"default": {"BACKEND": _TASK_BACKENDS[TASKS_BACKEND], "QUEUES": ["calls", "default"]}}
# Redis, for the RQ task backend (and the scheduler's lock when RQ is on).
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
if TASKS_BACKEND == "rq":
    INSTALLED_APPS.append("django_rq")
RQ_QUEUES = {name: {"URL": REDIS_URL} for name in TASKS["default"]["QUEUES"]}
# The periodic scheduler (`manage.py crontask`) enqueues the periodic tasks. With Redis at
# hand it holds a lock there, so a second scheduler started by mistake only waits.
CRONTASK = {"REDIS_URL": REDIS_URL if TASKS_BACKEND == "rq" else None}

# --- REST framework -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
}

# --- Graph ----------------------------------------------------------------------------------
EMULATOR_URL = f"{RECORDER_BASE_URL}/emulator"
EMULATOR_TENANT_ID = "emulator-tenant"
EMULATOR_CLIENT_ID = "00000000-0000-4000-8000-00000000b07a"
# The emulator's own app registration: a well-known value, not a secret.
EMULATOR_CLIENT_SECRET = "emulator-secret"  # noqa: S105


def _graph_default(embedded_value: str) -> dict:
    # Production has no defaults for what identifies the bot: an empty value is refused below.
    return {"default": "" if PRODUCTION else embedded_value}


GRAPH_API_PROFILE = env.str("GRAPH_API_PROFILE", default="beta-record")
if GRAPH_API_PROFILE not in ("beta-record", "v1.0"):
    raise ImproperlyConfigured("GRAPH_API_PROFILE must be 'beta-record' or 'v1.0'.")
GRAPH_API_BASE_URL = env.str(
    "GRAPH_API_BASE_URL",
    default=f"{EMULATOR_URL}/{'beta' if GRAPH_API_PROFILE == 'beta-record' else 'v1.0'}"
    if not PRODUCTION
    else f"https://graph.microsoft.com/{'beta' if GRAPH_API_PROFILE == 'beta-record' else 'v1.0'}",
).rstrip("/")
GRAPH_TENANT_ID = env.str("GRAPH_TENANT_ID", **_graph_default(EMULATOR_TENANT_ID))
GRAPH_CLIENT_ID = env.str("GRAPH_CLIENT_ID", **_graph_default(EMULATOR_CLIENT_ID))
GRAPH_CLIENT_SECRET = env.str("GRAPH_CLIENT_SECRET", **_graph_default(EMULATOR_CLIENT_SECRET))
GRAPH_AUTHORITY_URL = env.str(
    "GRAPH_AUTHORITY_URL",
    default=EMULATOR_URL if not PRODUCTION else "https://login.microsoftonline.com",
).rstrip("/")
GRAPH_SCOPE = env.str("GRAPH_SCOPE", default="https://graph.microsoft.com/.default")
# Seconds to wait for Graph on one attempt, and how many attempts a request may take.
GRAPH_TIMEOUT = env.float("GRAPH_TIMEOUT", default=10.0)
GRAPH_MAX_ATTEMPTS = env.int("GRAPH_MAX_ATTEMPTS", default=4)
GRAPH_MAX_RETRY_AFTER = env.float("GRAPH_MAX_RETRY_AFTER", default=30.0)
AUTO_ANSWER = env.bool("AUTO_ANSWER", default=True)
# Graph ends a call that has had no keepAlive for 45 minutes (resultInfo 408/8537) and wants
# one at least every 15 to 45 minutes: Recorder sends one per live call this often. The
# scheduler looks every 5 minutes, so a keepAlive goes out at most 5 minutes late.
GRAPH_KEEPALIVE_MINUTES = env.float("GRAPH_KEEPALIVE_MINUTES", default=20.0)
if not 15 <= GRAPH_KEEPALIVE_MINUTES <= 40:
    raise ImproperlyConfigured(
        "GRAPH_KEEPALIVE_MINUTES must be from 15 to 40: Graph ends a call after 45 minutes "
        "without a keepAlive, and the scheduler may send one up to 5 minutes late."
    )

NOTIFICATION_URL = env.str("NOTIFICATION_URL", default=f"{RECORDER_BASE_URL}/api/calls")
NOTIFICATION_OPENID_CONFIG_URL = env.str(
    "NOTIFICATION_OPENID_CONFIG_URL",
    default=f"{EMULATOR_URL}/.well-known/OpenIdConfiguration"
    if not PRODUCTION
    else "https://api.aps.skype.com/v1/.well-known/OpenIdConfiguration",
)
NOTIFICATION_ISSUERS = env.list(
    "NOTIFICATION_ISSUERS",
    default=["https://graph.microsoft.com", "https://api.botframework.com"],
)
NOTIFICATION_AUDIENCE = env.list("NOTIFICATION_AUDIENCE", default=[GRAPH_CLIENT_ID])
# The tenants whose notifications are accepted (the token's `tid`): the bot's own, and for
# a multi-tenant bot the others it serves. A token with no tid, or another's, gets a 401.
NOTIFICATION_TENANT_IDS = [
    GRAPH_TENANT_ID,
    *(t for t in env.list("NOTIFICATION_EXTRA_TENANT_IDS", default=[]) if t != GRAPH_TENANT_ID),
]
NOTIFICATION_LEEWAY_SECONDS = env.int("NOTIFICATION_LEEWAY_SECONDS", default=60)
NOTIFICATION_MAX_BYTES = env.int("NOTIFICATION_MAX_BYTES", default=1024 * 1024)
NOTIFICATION_KEYS_REFETCH_SECONDS = env.int("NOTIFICATION_KEYS_REFETCH_SECONDS", default=30)
NOTIFICATION_KEYS_TIMEOUT = min(env.float("NOTIFICATION_KEYS_TIMEOUT", default=5.0), 5.0)

RECORDING_DOWNLOAD_HOSTS = env.list(
    "RECORDING_DOWNLOAD_HOSTS",
    default=[] if PRODUCTION else [urlsplit(RECORDER_BASE_URL).hostname],
)
# Where Graph fetches uploaded prompts: a public URL that serves MEDIA_ROOT/prompts/.
PROMPT_BASE_URL = env.str("PROMPT_BASE_URL", default=f"{RECORDER_BASE_URL}/media/prompts/")
RECORDING_RETENTION_DAYS = env.int("RECORDING_RETENTION_DAYS", default=30)
# Fetching recordings from Graph: the largest accepted, how long to wait on the network,
# how often to try while Graph may still keep the audio, how long one download may take, and
# a claim's lease: short, and renewed by the live worker every third of it, so a worker that
# died holding a recording gives it up within seconds and the minute sweep hands it on.
RECORDING_MAX_BYTES = env.int("RECORDING_MAX_BYTES", default=512 * 1024 * 1024)
RECORDING_FETCH_TIMEOUT = env.float("RECORDING_FETCH_TIMEOUT", default=30.0)
RECORDING_FETCH_MAX_ATTEMPTS = env.int("RECORDING_FETCH_MAX_ATTEMPTS", default=5)
RECORDING_FETCH_BACKOFF_SECONDS = env.float("RECORDING_FETCH_BACKOFF_SECONDS", default=10.0)
RECORDING_FETCH_DEADLINE_SECONDS = env.float("RECORDING_FETCH_DEADLINE_SECONDS", default=720.0)
RECORDING_FETCH_LEASE_SECONDS = env.float("RECORDING_FETCH_LEASE_SECONDS", default=30.0)
# Downloads under way are written here, one file each, until storage takes them.
RECORDING_FETCH_DIR = env.path("RECORDING_FETCH_DIR", default=BASE_DIR / "var" / "fetching")
# A fetch that failed for a passing reason (Graph down, a timeout) is retried by the periodic
# reconcile for this long after the operation ended; Graph keeps recordings only briefly.
RECORDING_FETCH_RETRY_HOURS = env.float("RECORDING_FETCH_RETRY_HOURS", default=24.0)
# nginx's internal location that serves the storage's files (e.g. /protected-recordings/):
# when set, Recorder answers with X-Accel-Redirect and nginx sends the bytes. Empty: Django
# streams them itself.
RECORDING_X_ACCEL_REDIRECT = env.str("RECORDING_X_ACCEL_REDIRECT", default="")
# How long after a call ends Recorder waits for Graph's own word on a still-running
# recording before it asks Graph and closes the operation itself: Graph sends no completion
# for a recording a hang-up cut short, so a few seconds, enough for a notification in flight.
RECORDER_CLOSE_GRACE_SECONDS = env.float("RECORDER_CLOSE_GRACE_SECONDS", default=3.0)
# A running operation is overdue this long after its longest possible end (prompts, initial
# silence and maximum duration): Recorder then asks Graph, and closes it if Graph can't say.
RECORDER_OVERDUE_MARGIN_SECONDS = env.float("RECORDER_OVERDUE_MARGIN_SECONDS", default=120.0)

# --- Emulator -------------------------------------------------------------------------------
# One emulated second lasts this many real seconds: 0.05 runs a 30 s recording in 1.5 s.
GRAPH_EMULATOR_TIME_SCALE = env.float("GRAPH_EMULATOR_TIME_SCALE", default=1.0)
# Where the emulator posts notifications for calls it rings (the bot's registered URL).
GRAPH_EMULATOR_CALLBACK_URL = env.str("GRAPH_EMULATOR_CALLBACK_URL", default=NOTIFICATION_URL)
# Graph gives a bot 15 s to answer a ringing call.
GRAPH_EMULATOR_ANSWER_TIMEOUT = env.float("GRAPH_EMULATOR_ANSWER_TIMEOUT", default=15.0)
GRAPH_EMULATOR_RECORDING_LIFETIME = env.float("GRAPH_EMULATOR_RECORDING_LIFETIME", default=600.0)
GRAPH_EMULATOR_DATA_DIR = env.path("GRAPH_EMULATOR_DATA_DIR", default=BASE_DIR / "var" / "emulator")
# The one loopback route recordings are fetched from: the emulator's. No other page or port
# of this machine is ever sent a recording's token.
GRAPH_EMULATOR_RECORDINGS_URL = f"{EMULATOR_URL}/recordings/" if GRAPH_EMULATOR else ""

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # The scheduler logs each run of its lock keeper every five seconds; the tasks it
        # enqueues are logged by the workers that run them.
        "apscheduler": {"level": "WARNING"},
        # django-axes announces itself in every process it starts in; its lockouts are logged
        # as warnings by its handlers all the same.
        "axes.apps": {"level": "WARNING"},
    },
}


# --- What production refuses ----------------------------------------------------------------
# Each would let Recorder start and then fail every request, or expose it: refused at start-up
# (manage.py, gunicorn and the workers all read these settings), every reason at once.
def _production_refusals() -> list[str]:
    refusals = []
    generate = "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
    if not SECRET_KEY.strip():
        refusals.append(f"SECRET_KEY is empty: set it to a long random string, e.g. {generate}.")
    elif (
        len(SECRET_KEY) < SECRET_KEY_MIN_LENGTH
        or len(set(SECRET_KEY)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS
        or SECRET_KEY.startswith(SECRET_KEY_INSECURE_PREFIX)
    ):
        refusals.append(
            f"SECRET_KEY is too weak: it needs at least {SECRET_KEY_MIN_LENGTH} characters, "
            f"{SECRET_KEY_MIN_UNIQUE_CHARACTERS} of them different, and must not start with "
            f"'{SECRET_KEY_INSECURE_PREFIX}'; generate one, e.g. {generate}."
        )
    for name, value in (
        ("GRAPH_TENANT_ID", GRAPH_TENANT_ID),
        ("GRAPH_CLIENT_ID", GRAPH_CLIENT_ID),
        ("GRAPH_CLIENT_SECRET", GRAPH_CLIENT_SECRET),
    ):
        if not value.strip():
            refusals.append(f"{name} is empty: set it from the bot's app registration in Azure AD.")
    if DEBUG:
        refusals.append(
            "DEBUG is on: turn it off (DEBUG=off); its error pages show settings and code to "
            "anyone who causes an error."
        )
    if GRAPH_EMULATOR:
        refusals.append(
            "GRAPH_EMULATOR is on: turn it off (GRAPH_EMULATOR=off); the emulator mounts "
            "control routes that anyone can call, without logging in."
        )
    return refusals


if PRODUCTION and (_refusals := _production_refusals()):
    raise ImproperlyConfigured(
        "Recorder does not start in production (RECORDER_ENV=production) like this:\n"
        + "\n".join(f"- {refusal}" for refusal in _refusals)
    )
