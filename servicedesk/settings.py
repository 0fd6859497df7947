"""Settings for servicedesk, read from the environment with safe defaults.

With no environment at all the app runs on SQLite in the project folder and a Celery
broker on the filesystem, so `make run` needs no server. Production sets `DEBUG=0`,
`SECRET_KEY`, `ALLOWED_HOSTS`, `DATABASE_URL` and `REDIS_URL`.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
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
    "axes",
    "csp",
    "servicedesk",
    "departments",
    "requests_app",
    "surveys",
    "reviews",
    "scorecards",
    "scorecards.reports",
]

MIDDLEWARE = [
    # First, so that every log line of the request carries its id.
    "servicedesk.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # 400 for a NUL in the URL: PostgreSQL cannot look one up (servicedesk/input_guard.py).
    "servicedesk.input_guard.RefuseNulCharactersMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "servicedesk.middleware.UserTimezoneMiddleware",
    # A database that cannot be reached answers 503 with Retry-After, not 500.
    "servicedesk.middleware.DatabaseUnavailableMiddleware",
    # Last: turns a login refused for too many failures into the lockout page (429).
    "axes.middleware.AxesMiddleware",
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
# Form widgets: Django's Jinja2 widget templates where they exist (the same markup, a third of
# the cost), else Django templates (the admin's widgets).
FORM_RENDERER = "servicedesk.form_renderer.FormRenderer"

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

# Login brute force (django-axes): after AXES_FAILURE_LIMIT failed logins for one username
# from one address, that pair is refused (even with the right password) for the cool-off,
# on the login page and the admin's. Failures are counted in the database, so every web
# process sees them. `manage.py axes_reset_username USER` unlocks early.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=envint("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
AXES_CLIENT_IP_CALLABLE = "core.security.client_ip_address"
# The client's address, for the lockout (servicedesk/security.py): behind N proxies that each
# append to X-Forwarded-For, the N-th from the right. 0 (the default) trusts no header and
# uses REMOTE_ADDR. Never more than the real number of proxies, or a client could pick the
# address it is counted under.
TRUSTED_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", 0)

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
# Seconds each step of an SMTP conversation may wait (Django's default waits for ever): a mail
# server that hangs fails the send, which gives its notification back for the next minute's
# retry, instead of holding the delivery task until its time limit.
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 30)
if EMAIL_TIMEOUT <= 0:
    raise ImproperlyConfigured(f"EMAIL_TIMEOUT={EMAIL_TIMEOUT} must be a number of seconds > 0.")

# Celery: Redis when REDIS_URL is given, otherwise a filesystem broker that needs no server.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # Redis hands a task not acknowledged within visibility_timeout to another worker: it
    # must exceed the task time limit and every countdown or ETA (tests/faults checks).
    # A broker host that does not answer must not hold a web request for the OS TCP timeout
    # (socket_connect_timeout), nor for ever a Redis that accepts connections but does not
    # reply, hung or behind a dead link (socket_timeout: commands take milliseconds, and the
    # worker's BRPOP waits 1 s).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 3600,
        "socket_connect_timeout": 3,
        "socket_timeout": 2,
    }
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
# Every task is idempotent, so a message is acknowledged only once its task has finished: a
# worker that dies meanwhile leaves it to another (on Redis after the visibility timeout).
CELERY_TASK_ACKS_LATE = True
# A pool process killed under its task (out of memory, say) is seen by its worker, which
# retries the task after default_retry_delay (180 s), at most max_retries times (3, or the
# task's own), then gives up: rejecting alone would requeue a task that always kills its
# process for ever. Rejecting (requeueing) remains the fallback when the retry cannot be sent.
CELERY_TASK_RETRY_ON_WORKER_LOST = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A task that raised, or overran its time limit, would do so again: acknowledge it rather
# than redeliver it. Periodic work is retried by beat's next run, emails by their own retries.
CELERY_TASK_ACKS_ON_FAILURE = True
CELERY_TASK_ACKS_ON_TIMEOUT = True
# When the broker connection drops, let running tasks finish: each commits its own work, and
# if its acknowledgement is lost with the connection, a rerun after the visibility timeout
# changes nothing. (Celery 6 will cancel them by default; this keeps today's behaviour.)
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 15 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 14 * 60
# How long a delivery's claim on one notification's email holds before another delivery may
# take it over (requests_app.notifications). Longer than the task time limit: a claim is
# taken inside a running delivery task, which the worker kills at the time limit, so once the
# lease has run out its holder is gone, and a live worker in a slow SMTP call (each step
# bounded by EMAIL_TIMEOUT) is never overtaken. The 5 minutes spare cover clocks of
# different worker hosts that disagree. What it costs: the email of a worker that died waits
# up to 20 minutes.
NOTIFICATION_EMAIL_LEASE = timedelta(seconds=CELERY_TASK_TIME_LIMIT) + timedelta(minutes=5)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
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
    # Reviews the departments' rules call for (reviews.triggers), and overdue actions.
    "open-due-reviews": {
        "task": "reviews.tasks.open_due_reviews",
        "schedule": 5 * 60.0,
        "options": {"expires": 4 * 60},
    },
    "notify-overdue-review-actions": {
        "task": "reviews.tasks.notify_overdue_review_actions",
        "schedule": crontab(minute=0, hour=8),
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
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.JSONDepthSafeParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
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
    "ENUM_NAME_OVERRIDES": {
        "PriorityEnum": "departments.choices.Priority",
        # A provider or customer side: a scorecard's role and who proposed an agreement.
        "RoleEnum": "departments.choices.AgreementSide",
        "TargetSourceEnum": "departments.choices.TargetSource",
        "ReviewStateEnum": "reviews.choices.ReviewState",
        "ReviewActionStateEnum": "reviews.choices.ActionState",
    },
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
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Content Security Policy (django-csp): our own files only. No template has an inline script
# (data travels in data- attributes and json_script) or a style attribute, and htmx is told
# not to inject its indicator style (base.html), so neither scripts nor styles need
# 'unsafe-inline'. The API docs pages widen it for themselves (servicedesk/api/docs.py),
# which is why the directives they extend are spelled out here.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
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

# Logs go to stderr, one JSON object a line when LOG_FORMAT=json (the default in production):
# time (UTC, ISO 8601), level, logger, message, request_id (servicedesk/request_id.py),
# task_id and task_name inside a Celery task, exc_info, and any `extra` fields. Plain text
# in development. Celery's worker and beat (servicedesk/celery.py) and gunicorn
# (gunicorn.conf.py) log through the same handler.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json").strip().lower()
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r} is neither 'json' nor 'plain'.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "servicedesk.request_id.ContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": ["levelname", "name", "message"],
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Its "BEGIN" line at every start; lockouts and failed logins are warnings.
        "axes.apps": {"level": "WARNING"},
    },
}

# servicedesk's own settings.
ANONYMITY_MIN = envint("ANONYMITY_MIN", 3)
DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="demo")
# seed_demo's request history (requests_app/demo/): how many weeks up to now, how many
# requests a week, and the random seed that makes it reproducible. 0 weeks: no history.
DEMO_HISTORY_WEEKS = envint("DEMO_HISTORY_WEEKS", 26)
DEMO_HISTORY_REQUESTS_PER_WEEK = envint("DEMO_HISTORY_REQUESTS_PER_WEEK", 115)
DEMO_HISTORY_SEED = envint("DEMO_HISTORY_SEED", 2026)
# Requests.
REOPEN_WINDOW_DAYS = envint("REOPEN_WINDOW_DAYS", 14)
# Reviews (reviews/): how far back the rules look for what to review (a rerun within it
# opens nothing twice), how many closed quarters' hire-back they read, and the days overdue
# at which an action's owner and their manager are told (once each).
REVIEW_TRIGGER_LOOKBACK_DAYS = envint("REVIEW_TRIGGER_LOOKBACK_DAYS", 14)
REVIEW_HIRE_BACK_QUARTERS = 2
REVIEW_OVERDUE_STEPS = (1, 7, 14)
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
# How far back the scanner looks for clocks completed late and never told (a breach that
# fell between two runs): a day, so that a scanner down for a night or a working day catches
# up, but old history nobody told (an import, a restored copy) is not announced as news.
SLA_SCAN_LOOKBACK_HOURS = envint("SLA_SCAN_LOOKBACK_HOURS", 24)
if SLA_SCAN_LOOKBACK_HOURS < 1:
    raise ImproperlyConfigured(
        f"SLA_SCAN_LOOKBACK_HOURS={SLA_SCAN_LOOKBACK_HOURS} must be a number of hours >= 1."
    )
SLA_SCAN_LOOKBACK = timedelta(hours=SLA_SCAN_LOOKBACK_HOURS)

# Scorecards: the weights of service_score (0-100); a missing part is left out and the rest
# rescaled.
SCORE_WEIGHTS = {
    "timeliness": envfloat("SCORE_WEIGHT_TIMELINESS", 40),
    "mean_rating": envfloat("SCORE_WEIGHT_RATING", 40),
    "hire_back": envfloat("SCORE_WEIGHT_HIRE_BACK", 20),
}
# An agreement between departments is kept in a period when each kind of clock measured
# under it (first response, resolution) met its target at least this share of the time
# (scorecards.compute.agreement_kept): the agreements hold targets, not an agreed rate.
AGREEMENT_KEPT_RATE = envfloat("AGREEMENT_KEPT_RATE", 0.9)
if not 0 < AGREEMENT_KEPT_RATE <= 1:
    raise ImproperlyConfigured(
        f"AGREEMENT_KEPT_RATE={AGREEMENT_KEPT_RATE:g} must be a share above 0 and at most 1 "
        "(0.9: nine clocks in ten on time)."
    )
