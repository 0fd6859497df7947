import logging

from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_celery_beat.models import PeriodicTask

from departments.selectors import user_navigation

from .celery import app as celery_app

logger = logging.getLogger(__name__)

# Beat ticks every minute; five silent minutes mean it is not running.
BEAT_STALE_AFTER_SECONDS = 300


@login_required
def home(request):
    """A home page per role: what the viewer can do from here."""
    navigation = request._navigation = user_navigation(user=request.user)
    return render(request, "home.html", {"navigation": navigation})


def _check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure is the answer, not a crash
        logger.warning("healthz: database check failed: %s", exc)
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "vendor": connection.vendor}


def _check_broker() -> dict:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            transport = conn.transport_cls
    except Exception as exc:
        logger.warning("healthz: broker check failed: %s", exc)
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True, "transport": str(transport)}


def _check_beat() -> dict:
    try:
        last = (
            PeriodicTask.objects.exclude(last_run_at=None)
            .order_by("-last_run_at")
            .values_list("last_run_at", flat=True)
            .first()
        )
    except Exception as exc:
        return {"ok": False, "error": exc.__class__.__name__, "last_run_at": None}
    if last is None:
        return {"ok": False, "last_run_at": None}
    age = (timezone.now() - last).total_seconds()
    return {"ok": age < BEAT_STALE_AFTER_SECONDS, "last_run_at": last.isoformat()}


@never_cache
@require_GET
def healthz(request):
    """Database and broker must answer for a 200; the last beat run is reported alongside."""
    checks = {"database": _check_database(), "broker": _check_broker(), "beat": _check_beat()}
    healthy = checks["database"]["ok"] and checks["broker"]["ok"]
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )


def bad_request(request, exception):
    """handler400: the API answers in JSON, as for every other error, and a body over the
    upload limits (settings.DATA_UPLOAD_MAX_MEMORY_SIZE, ...) is 413, saying which."""
    too_large = isinstance(exception, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent)
    if not request.path.startswith("/api/"):
        return defaults.bad_request(request, exception)
    if too_large:
        return JsonResponse({"detail": str(exception)}, status=413)
    return JsonResponse({"detail": "Bad request."}, status=400)
