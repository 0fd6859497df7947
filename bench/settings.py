"""The project's settings, served as in production (DEBUG off) to Django's test client.

Imported by bench/run.py with the development security defaults (plain HTTP for the test
client), then: DEBUG off (no query log, production template and error handling), static
files without a collectstatic manifest, and an in-process Celery broker so that the scanner's
"deliver on commit" is published for real but reaches no worker and leaves no files.
"""

import os

os.environ["DEBUG"] = "1"  # import the relaxed HTTP settings; DEBUG itself is switched off below
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")

from servicedesk.settings import *  # noqa: F403
from servicedesk.settings import LOGGING, STORAGES

DEBUG = False
ALLOWED_HOSTS = ["testserver"]
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
CELERY_BROKER_URL = "memory://"
CELERY_BROKER_TRANSPORT_OPTIONS = {}
CELERY_TASK_ALWAYS_EAGER = False
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LOGGING = {**LOGGING, "root": {**LOGGING["root"], "level": "WARNING"}}
LOGGING["loggers"] = {**LOGGING.get("loggers", {}), "kombu": {"level": "ERROR"}}

# `run.py --pg-options "-c jit=off"`: what-if figures for connection options (not the app's).
if os.environ.get("BENCH_PG_OPTIONS"):
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = os.environ["BENCH_PG_OPTIONS"]  # noqa: F405
