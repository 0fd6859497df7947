"""Settings for servicedesk, read from the environment with safe defaults.

With no environment at all the app runs on SQLite in the project folder and a Celery
broker on the filesystem, so `make run` needs no server. Production sets `DEBUG=0`,
`SECRET_KEY`, `ALLOWED_HOSTS`, `DATABASE_URL` and `REDIS_URL`.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
env.smart_cast = False


def envbool(name: str, default: bool) -> bool:
    """Read a boolean, refusing anything that is not clearly yes or no."""
    raw = env.str(name, default="1" if default else "0").strip().lower()
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false).")


def envfloat(name: str, default: float) -> float:
    """Read a number, failing loudly on a bad value."""
    raw = env.str(name, default=str(default))
    try:
        return float(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number.") from exc


def envint(name: str, default: int) -> int:
    """Read an integer, failing loudly on a bad value."""
    raw = env.str(name, default=str(default))
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from exc


DEBUG = envbool("DEBUG", True)

if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="insecure-development-key-do-not-use-in-production")
else:
    # Production has no default secret: a missing one is a configuration error.
    SECRET_KEY = env.str("SECRET_KEY", default="")
    if not SECRET_KEY:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG=0.")

ALLOWED_HOSTS = [
    host.strip()
    for host in env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
    if host.strip()
]
CSRF_TRUSTED_ORIGINS = [
    origin.strip() for origin in env.list("CSRF_TRUSTED_ORIGINS", default=[]) if origin.strip()
]
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
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_htmx",
    "servicedesk",
    "departments",
    "requests_app",
    "surveys",
    "scorecards",
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
    "django_htmx.middleware.HtmxMiddleware",
    "servicedesk.middleware.UserTimezoneMiddleware",
]

ROOT_URLCONF = "servicedesk.urls"
WSGI_APPLICATION = "servicedesk.wsgi.application"

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
                "servicedesk.context_processors.navigation",
            ],
        },
    },
]

# Database: DATABASE_URL, or SQLite in the project folder.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share the file: wait for locks instead of failing, and take the
    # write lock at BEGIN so that concurrent writers queue instead of deadlocking.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = envint("CONN_MAX_AGE", 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
# The company timezone: score periods (weeks, months, quarters) are calendar periods here.
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Berlin")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "servicedesk.storage.StaticFilesStorage"},
}

# Email: EMAIL_URL (smtp://user:pass@host:587/?tls=True), or the console.
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="servicedesk@localhost")

# Celery: Redis when REDIS_URL is given, otherwise a filesystem broker that needs no server.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # A broker host that does not answer must not hold a web request for the OS TCP timeout.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "socket_connect_timeout": 3}
else:
    CELERY_BROKER_URL = "filesystem://"
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 15 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 14 * 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Task modules outside an app's tasks.py, which autodiscover_tasks() does not find.
CELERY_IMPORTS = ["scorecards.reports.tasks"]
# Synced into django-celery-beat's tables when beat starts. `expires` drops a run that could
# not start before the next one is due.
CELERY_BEAT_SCHEDULE = {
    "scan-sla-clocks": {
        "task": "requests_app.tasks.scan_sla_clocks",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "compute-scores": {
        "task": "scorecards.tasks.compute_scores",
        "schedule": 15 * 60.0,
        "options": {"expires": 14 * 60},
    },
    "deliver-notifications": {
        "task": "requests_app.tasks.deliver_notifications",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # The relationship survey of the quarter that just ended, on the first day of the next.
    "open-quarterly-survey": {
        "task": "surveys.tasks.open_quarterly_survey",
        "schedule": crontab(minute=0, hour=6, day_of_month=1, month_of_year="1,4,7,10"),
    },
    # Close relationship surveys after 14 days; remind non-respondents on days 3 and 7.
    "send-survey-reminders": {
        "task": "surveys.tasks.send_survey_reminders",
        "schedule": crontab(minute=0, hour=9),
        "options": {"expires": 12 * 3600},
    },
    # The HR report of the quarter that closed, once its scores are final (a day after the
    # close); the days after are retries, and the task does nothing if the report exists.
    "generate-closed-quarter-report": {
        "task": "scorecards.reports.tasks.generate_closed_quarter_report",
        "schedule": crontab(minute=30, hour=7, day_of_month="2-8", month_of_year="1,4,7,10"),
        "options": {"expires": 12 * 3600},
    },
    # Reports queued while the broker was down, or whose worker died.
    "resume-reports": {
        "task": "scorecards.reports.tasks.resume_reports",
        "schedule": 5 * 60.0,
        "options": {"expires": 4 * 60},
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an unauthenticated call then gets 401 with WWW-Authenticate, not 403.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "servicedesk.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "servicedesk.api.exceptions.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "servicedesk API",
    "DESCRIPTION": "Requests between departments, SLA clocks, surveys and scorecards.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # One name for the priority choices, whichever field carries them (`priority`,
    # `default_priority`): otherwise the schema check warns of two names for one set.
    "ENUM_NAME_OVERRIDES": {"PriorityEnum": "departments.choices.Priority"},
}

CACHES = {
    "default": (
        env.cache_url("CACHE_URL")
        if "CACHE_URL" in env
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Security: strict in production, relaxed for local development.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading binds the whole domain to HTTPS for months and is hard to undo: the
        # operator opts in with SECURE_HSTS_PRELOAD=1, so its absence is not a deploy warning.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    # Health checks come over plain HTTP from the orchestrator, not through the proxy.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# servicedesk's own settings.
ANONYMITY_MIN = envint("ANONYMITY_MIN", 3)
DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="demo")
# seed_demo's request history (requests_app/demo.py): how many weeks up to now, how many
# requests a week, and the random seed that makes it reproducible. 0 weeks: no history.
DEMO_HISTORY_WEEKS = envint("DEMO_HISTORY_WEEKS", 26)
DEMO_HISTORY_REQUESTS_PER_WEEK = envint("DEMO_HISTORY_REQUESTS_PER_WEEK", 115)
DEMO_HISTORY_SEED = envint("DEMO_HISTORY_SEED", 2026)
# Requests.
REOPEN_WINDOW_DAYS = envint("REOPEN_WINDOW_DAYS", 14)
ATTACHMENT_MAX_BYTES = envint("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
ATTACHMENT_MAX_FILES = envint("ATTACHMENT_MAX_FILES", 5)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Targets used when neither the service nor its department has one for the priority:
# (first response, resolution) in business hours.
SLA_FALLBACK_TARGET_HOURS = {"low": (16, 80), "normal": (8, 40), "high": (4, 16), "urgent": (1, 8)}
# Who hears of a clock passing 75% of its target (warning) or its due time (breach):
# any of "assignee", "agents", "managers". With no assignee, "assignee" falls back to "agents".
SLA_NOTIFY = {
    "warning": env.list("SLA_NOTIFY_WARNING", default=["assignee"]),
    "breach": env.list("SLA_NOTIFY_BREACH", default=["assignee", "managers"]),
}

# Scorecards: the weights of service_score (0-100); a missing part is left out and the rest
# rescaled.
SCORE_WEIGHTS = {
    "timeliness": envfloat("SCORE_WEIGHT_TIMELINESS", 40),
    "mean_rating": envfloat("SCORE_WEIGHT_RATING", 40),
    "hire_back": envfloat("SCORE_WEIGHT_HIRE_BACK", 20),
}
