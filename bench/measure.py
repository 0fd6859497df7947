"""The measurements: server time and queries of the queue page and the requests API, and
the SLA scanner, in-process (Django's test client: middleware, view, filters, template or
serializer and database, without network or a WSGI server)."""

from __future__ import annotations

import datetime
import statistics
import time
from contextlib import contextmanager

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from requests_app.models import Notification, RequestEvent, SLAClock
from requests_app.scanner import _due_clock_ids, sla_clocks_scan
from requests_app.views import lists as queue_views


def summary(seconds: list[float]) -> dict:
    """p50, p95 and max in milliseconds (nearest rank)."""
    ordered = sorted(seconds)

    def rank(p):
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]

    return {
        "n": len(ordered),
        "p50_ms": round(rank(50) * 1000, 1),
        "p95_ms": round(rank(95) * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 1),
    }


def scenarios(slug: str) -> list[tuple[str, str, str]]:
    """(kind, label, url) of every timed request."""
    page = f"/requests/queue/{slug}/"
    api = f"/api/v1/requests/?provider_department={slug}"
    return [
        ("page", "queue page 1 (open, soonest due)", page),
        ("page", "queue page 10", f"{page}?page=10"),
        ("page", "queue breached + high", f"{page}?sla_state=breached&priority=high"),
        ("page", "queue newest first", f"{page}?sort=-created"),
        ("page", "queue any status (history)", f"{page}?status="),
        ("api", "API open, newest, 50", f"{api}&open=true&ordering=-created_at&page_size=50"),
        ("api", "API open, newest, 200", f"{api}&open=true&ordering=-created_at&page_size=200"),
        ("api", "API open, priority, 50", f"{api}&open=true&ordering=priority&page_size=50"),
        ("api", "API open, page 10 of 50", f"{api}&open=true&ordering=-created_at&page=10"),
        ("api", "API breached, 50", f"{api}&open=true&sla_state=breached&page_size=50"),
        ("api", "API any status, 50", f"{api}&ordering=-created_at&page_size=50"),
    ]


def _client_for(username: str) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client


def _get(client: Client, url: str):
    response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}: {response.content[:300]!r}")
    return response


def _captured(client: Client, url: str) -> dict:
    with CaptureQueriesContext(connection) as captured:
        _get(client, url)
    times = [float(query["time"]) for query in captured.captured_queries]
    slowest = max(captured.captured_queries, key=lambda q: float(q["time"]), default=None)
    return {
        "queries": len(captured.captured_queries),
        "db_ms": round(sum(times) * 1000, 1),
        "slowest_query_ms": round(float(slowest["time"]) * 1000, 1) if slowest else 0,
        "slowest_query": slowest["sql"][:2000] if slowest else "",
    }


def timed_get(client: Client, url: str, *, iterations: int, warmup: int) -> dict:
    """`warmup` untimed GETs of `url`, then the summary of `iterations` timed ones and the
    queries of one more."""
    for _ in range(warmup):
        _get(client, url)
    seconds = []
    for _ in range(iterations):
        started = time.perf_counter()
        _get(client, url)
        seconds.append(time.perf_counter() - started)
    return {**summary(seconds), **_captured(client, url)}


def requests_measure(*, agent: str, slug: str, iterations: int, warmup: int, progress) -> list:
    """Each scenario: timings over `iterations` after `warmup`, then one run's queries."""
    client = _client_for(agent)
    results = []
    for kind, label, url in scenarios(slug):
        if client.get(url).status_code == 404:  # a small dataset has no page 10
            progress(f"{label:38} skipped: no such page at this size")
            continue
        timed = timed_get(client, url, iterations=iterations, warmup=warmup)
        result = {"kind": kind, "label": label, "url": url, **timed}
        results.append(result)
        progress(
            f"{label:38} p50 {result['p50_ms']:7.1f} ms  p95 {result['p95_ms']:7.1f} ms  "
            f"{result['queries']} queries"
        )
    return results


@contextmanager
def _queue_page_size(size: int):
    previous = queue_views.QUEUE_PAGE_SIZE
    queue_views.QUEUE_PAGE_SIZE = size
    try:
        yield
    finally:
        queue_views.QUEUE_PAGE_SIZE = previous


def query_counts(*, agent: str, slug: str, sizes=(25, 50, 200)) -> dict:
    """Queries of one queue page and one API page at several page sizes (must not change)."""
    client = _client_for(agent)
    page = f"/requests/queue/{slug}/"
    api = f"/api/v1/requests/?provider_department={slug}&open=true&ordering=-created_at"
    counts = {"page": {}, "api": {}}
    for size in sizes:
        with _queue_page_size(size):
            counts["page"][str(size)] = _captured(client, page)["queries"]
        counts["api"][str(size)] = _captured(client, f"{api}&page_size={size}")["queries"]
    counts["independent_of_page_size"] = all(
        len(set(by_size.values())) == 1 for by_size in (counts["page"], counts["api"])
    )
    return counts


# --- the scanner ----------------------------------------------------------------------------

CLOCK_FIELDS = [f.attname for f in SLAClock._meta.concrete_fields if f.attname != "id"]


def _restore(clocks: list[dict], event_id: int, notification_id: int) -> None:
    """Undo a scan: its events and notifications go, the clocks get their fields back."""
    RequestEvent.objects.filter(pk__gt=event_id).delete()
    Notification.objects.filter(pk__gt=notification_id).delete()
    SLAClock.objects.bulk_update(
        [SLAClock(id=row["id"], **{f: row[f] for f in CLOCK_FIELDS}) for row in clocks],
        CLOCK_FIELDS,
        batch_size=500,
    )


def _max_id(model) -> int:
    return model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def scanner_measure(*, now0: datetime.datetime, iterations: int, repeats: int, progress) -> dict:
    """The idle scan (nothing due, as most minutes), the candidate query for the next minute
    and the full scan of that minute (claims, recomputes, events, notifications, in batches
    of clocks), repeated. Every scan is undone afterwards, so each run sees the same state
    and the dataset stays as loaded."""
    minute_later = now0 + datetime.timedelta(minutes=1)
    idle_due = _due_clock_ids(now0, 1000)
    due = _due_clock_ids(minute_later, 1000)
    clocks = list(SLAClock.objects.filter(pk__in={*idle_due, *due}).values("id", *CLOCK_FIELDS))
    event_id, notification_id = _max_id(RequestEvent), _max_id(Notification)
    result = {}

    seconds = []
    for _ in range(3):
        sla_clocks_scan(now=now0)
    for _ in range(iterations):
        started = time.perf_counter()
        sla_clocks_scan(now=now0)
        seconds.append(time.perf_counter() - started)
    _restore(clocks, event_id, notification_id)
    result["idle_scan"] = {**summary(seconds), "clocks": len(idle_due)}
    progress(
        f"{'idle scan (nothing due)':38} p50 {result['idle_scan']['p50_ms']:7.1f} ms  "
        f"{len(idle_due)} clocks due"
    )

    seconds = []
    for _ in range(iterations):
        started = time.perf_counter()
        _due_clock_ids(minute_later, 1000)
        seconds.append(time.perf_counter() - started)
    result["candidate_query"] = {**summary(seconds), "clocks": len(due)}
    progress(
        f"{'candidate query, next minute':38} p50 {result['candidate_query']['p50_ms']:7.1f} ms"
        f"  {len(due)} clocks"
    )
    with CaptureQueriesContext(connection) as captured:
        _due_clock_ids(minute_later, 1000)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + captured.captured_queries[-1]["sql"])
        result["candidate_plan"] = "\n".join(row[0] for row in cursor.fetchall())

    runs = []
    for _ in range(repeats):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            outcome = sla_clocks_scan(now=minute_later)
            elapsed = time.perf_counter() - started
        runs.append(
            {
                "seconds": round(elapsed, 3),
                **outcome,
                "queries": len(captured.captured_queries),
                "db_seconds": round(sum(float(q["time"]) for q in captured.captured_queries), 3),
                "events": RequestEvent.objects.filter(pk__gt=event_id).count(),
                "notifications": Notification.objects.filter(pk__gt=notification_id).count(),
            }
        )
        _restore(clocks, event_id, notification_id)
        progress(
            f"{'full scan, next minute':38} {elapsed * 1000:9.1f} ms  "
            f"{outcome['warned']} warned, {outcome['breached']} breached, "
            f"{outcome['escalated']} escalated, "
            f"{runs[-1]['queries']} queries"
        )
    median = statistics.median(run["seconds"] for run in runs)
    result["full_scan"] = {
        "runs": runs,
        "median_seconds": median,
        "clocks": len(due),
        "ms_per_clock": round(median * 1000 / max(1, len(due)), 2),
    }
    if set(_due_clock_ids(minute_later, 1000)) != set(due):
        raise SystemExit("the scans could not be undone")
    return result


def explain(*, agent: str, slug: str) -> dict:
    """EXPLAIN ANALYZE of every query of the first queue page and the first API page."""
    client = _client_for(agent)
    plans = {}
    for label, url in (
        ("queue page 1", f"/requests/queue/{slug}/"),
        (
            "API open 50",
            f"/api/v1/requests/?provider_department={slug}&open=true&ordering=-created_at",
        ),
    ):
        with CaptureQueriesContext(connection) as captured:
            _get(client, url)
        plans[label] = []
        with connection.cursor() as cursor:
            for query in captured.captured_queries:
                sql = query["sql"]
                if not sql.lstrip().upper().startswith("SELECT"):
                    continue
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                plans[label].append(
                    {
                        "ms": float(query["time"]) * 1000,
                        "sql": sql,
                        "plan": "\n".join(row[0] for row in cursor.fetchall()),
                    }
                )
    return plans
