"""Scores bench: recomputing scorecards on a large history, and reading them.

    python bench/scores.py                          # 100 000 requests (10 000 open), measure
    python bench/scores.py --requests 1000000       # 1M requests (100 000 open), as run.py
    python bench/scores.py --reuse                  # measure again on the loaded data

DATABASE_URL must name a PostgreSQL database, as for bench/run.py (default
postgres://postgres@127.0.0.1:5432/servicedesk_bench), with the same rules: never a test
database, never one holding departments the bench did not load. With --reuse a loaded dataset
of the same shape (requests, open, seed) is kept, and so are its survey answers
(bench/surveys.py); otherwise they are (re)loaded. Scores need a history: by default a tenth
of the requests are open (min(N / 10, 100 000)), so at 1M the data are run.py's.

Measured, in one process, on one connection:
1. The busiest complete quarter, recomputed for every department with
   `scorecards.services.scores_compute` (what the task does), against one hand-written SQL
   statement over the same rows that computes the same figures (see BASELINE_SQL): min and
   median of several runs each, alternated, and their ratio (target: at most 1.5). The
   baseline's figures are checked against the snapshots the app wrote, every one of them, so
   both read the same rows and compute the same thing. For context, a statement computing a
   provider's headline figures only (PROVIDER_HEADLINE_SQL) is timed with them.
2. A full recompute of every week, month and quarter of the history: total and per kind.
3. The scorecard pages, the matrix, the league table and the scorecards API: p50/p95/max
   server time with Django's test client (target: p95 under 50 ms), query counts (equal at
   every data size: compared with the latest scores result of another size).
Results: a table on stdout and bench/results/scores-<N>-<time>.json.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402

PAGE_TARGET_MS = 50
RATIO_TARGET = 1.5

# The rows both statements read: the clocks settled in the period (c, joined to their request
# r), and the per-request survey answers (a, with their survey s) given in it.
SETTLED = """    FROM requests_app_slaclock c
    JOIN requests_app_servicerequest r ON r.id = c.request_id
    WHERE r.status <> 'cancelled'
      AND (   (c.state = 'met' AND c.completed_at >= %(start)s AND c.completed_at < %(end)s)
           OR (c.state = 'breached' AND c.breached_at >= %(start)s AND c.breached_at < %(end)s)
           OR (c.state = 'running' AND c.due_at >= %(start)s AND c.due_at < %(due_end)s))
"""
ANSWERED = """    FROM surveys_surveyresponse a
    JOIN surveys_requestsurvey s ON s.id = a.survey_id
    WHERE a.answered_at >= %(start)s AND a.answered_at < %(answers_end)s
"""

# The baseline: the app's figures of the settled clocks and of the survey answers, written by
# hand as one statement over the same rows. The clocks settled in the period (met in it;
# breached with the breach in it; running and past due in it, before now) of requests not
# cancelled, by kind and provider, customer, pair, provider and service, provider and priority
# (the clock's own service and priority: those its department held the request as; GROUPING
# SETS; kind and priority as small integers, as the app does, so that the sorts
# compare integers): settled, met, and the median and 90th percentile (percentile_cont) of
# the used business seconds of the completed ones. Then the per-request survey answers given
# in the period, by provider, customer and pair: answers, ratings of 4-5, the mean overall
# rating and the five dimension means. What it leaves out, and the app computes: response
# rates, promises, hire-back, request quality, the requesters' responsiveness, the weakest
# link, the Wilson intervals and service scores, and writing the snapshots.
BASELINE_SQL = f"""
WITH settled AS (
    SELECT (c.kind = 'resolution')::int AS kind, c.department_id AS provider,
        r.requesting_department_id AS customer, c.service_id AS service,
        CASE c.priority WHEN 'low' THEN 0 WHEN 'normal' THEN 1 WHEN 'high' THEN 2 ELSE 3 END
            AS priority,
        c.state, c.used_seconds, c.completed_at
{SETTLED}),
answers AS (
    SELECT s.provider_department_id AS provider, s.requesting_department_id AS customer,
        a.overall, a.attitude, a.communication, a.problem_solving, a.timeliness, a.teamwork
{ANSWERED})
SELECT 'clocks' AS source, GROUPING(provider, customer, service, priority) AS bits, kind,
    provider, customer, service, priority,
    count(*) AS n,
    count(*) FILTER (WHERE state = 'met') AS met,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY used_seconds)
        FILTER (WHERE completed_at IS NOT NULL) AS median,
    percentile_cont(0.9) WITHIN GROUP (ORDER BY used_seconds)
        FILTER (WHERE completed_at IS NOT NULL) AS p90,
    NULL::numeric AS mean_rating, NULL::numeric AS attitude_mean,
    NULL::numeric AS communication_mean, NULL::numeric AS problem_solving_mean,
    NULL::numeric AS timeliness_mean, NULL::numeric AS teamwork_mean
FROM settled
GROUP BY GROUPING SETS ((kind, provider), (kind, customer), (kind, provider, customer),
                        (kind, provider, service), (kind, provider, priority))
UNION ALL
SELECT 'answers', GROUPING(provider, customer), NULL, provider, customer, NULL, NULL,
    count(*), count(*) FILTER (WHERE overall >= 4), NULL, NULL,
    avg(overall), avg(attitude), avg(communication), avg(problem_solving), avg(timeliness),
    avg(teamwork)
FROM answers
GROUP BY GROUPING SETS ((provider), (customer), (provider, customer))
"""

# For context, not the target: a provider's headline figures only, as one statement. The
# same settled clocks by provider alone: settled and met per clock kind, and the median and
# 90th percentile of the completed ones per kind; the answers by provider alone. Without the
# customer side, the pairs and the breakdowns it needs one sort of the clocks where the app's
# groupings need three (see bench/README.md), so it is no measure of how the app computes.
PROVIDER_HEADLINE_SQL = f"""
WITH settled AS (
    SELECT c.department_id AS provider, c.kind, c.state, c.used_seconds, c.completed_at
{SETTLED}),
clocks AS (
    SELECT provider,
        count(*) AS settled,
        count(*) FILTER (WHERE state = 'met') AS met,
        count(*) FILTER (WHERE kind = 'first_response') AS first_response_settled,
        count(*) FILTER (WHERE kind = 'first_response' AND state = 'met') AS first_response_met,
        count(*) FILTER (WHERE kind = 'resolution') AS resolution_settled,
        count(*) FILTER (WHERE kind = 'resolution' AND state = 'met') AS resolution_met,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY used_seconds)
            FILTER (WHERE kind = 'first_response' AND completed_at IS NOT NULL)
            AS first_response_median_seconds,
        percentile_cont(0.9) WITHIN GROUP (ORDER BY used_seconds)
            FILTER (WHERE kind = 'first_response' AND completed_at IS NOT NULL)
            AS first_response_p90_seconds,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY used_seconds)
            FILTER (WHERE kind = 'resolution' AND completed_at IS NOT NULL)
            AS resolution_median_seconds,
        percentile_cont(0.9) WITHIN GROUP (ORDER BY used_seconds)
            FILTER (WHERE kind = 'resolution' AND completed_at IS NOT NULL)
            AS resolution_p90_seconds
    FROM settled
    GROUP BY provider
),
answers AS (
    SELECT s.provider_department_id AS provider,
        count(*) AS answers,
        count(*) FILTER (WHERE a.overall >= 4) AS good,
        avg(a.overall) AS mean_rating,
        avg(a.attitude) AS attitude_mean,
        avg(a.communication) AS communication_mean,
        avg(a.problem_solving) AS problem_solving_mean,
        avg(a.timeliness) AS timeliness_mean,
        avg(a.teamwork) AS teamwork_mean
{ANSWERED}    GROUP BY s.provider_department_id
)
SELECT coalesce(clocks.provider, answers.provider) AS provider, clocks.*, answers.*
FROM clocks FULL JOIN answers ON answers.provider = clocks.provider
"""


def arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/scores.py", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=100_000, help="requests to load")
    parser.add_argument(
        "--open", type=int, default=None, help="of which open (default min(N / 10, 100000))"
    )
    parser.add_argument("--crossings", type=int, default=300, help="as run.py")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--reuse", action="store_true", help="keep data of the same shape")
    parser.add_argument(
        "--workers", type=int, default=max(1, (os.cpu_count() or 1) - 1), help="as run.py"
    )
    parser.add_argument("--quarter", help="quarter to recompute (default: the busiest complete)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of compute and baseline")
    parser.add_argument("--iterations", type=int, default=50, help="timed runs per page")
    parser.add_argument("--warmup", type=int, default=5, help="untimed runs of each page first")
    parser.add_argument(
        "--no-full", action="store_true", help="skip the full recompute (pages need snapshots)"
    )
    parser.add_argument("--explain", action="store_true", help="add EXPLAIN ANALYZE plans")
    parser.add_argument("--json", type=Path, default=None, help="results file")
    options, _ignored = parser.parse_known_args(argv)
    if options.open is None:
        options.open = min(options.requests // 10, 100_000)
    options.crossings = min(options.crossings, options.open)
    return options


def _load_average() -> list[float]:
    return [round(x, 1) for x in os.getloadavg()]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


# --- the quarter ----------------------------------------------------------------------------


def busiest_quarter(now0: datetime.datetime):
    """The complete quarter (after the first request, before now0) with most settled clocks."""
    from core.periods import QUARTER, period_containing
    from requests_app.models import ServiceRequest, SLAClock
    from scorecards.compute import settled_clocks

    first = ServiceRequest.objects.order_by("created_at").values_list("created_at", flat=True)[0]
    quarter = period_containing(first, QUARTER).next()
    counts = {}
    while quarter.end <= now0:
        counts[quarter] = SLAClock.objects.filter(settled_clocks(quarter, now0)).count()
        quarter = quarter.next()
    if not counts:
        raise SystemExit("The history holds no complete quarter: load more (or older) requests.")
    return max(counts, key=counts.get), {str(q): n for q, n in counts.items()}


def baseline_run(period, now0, sql: str = BASELINE_SQL) -> list[dict]:
    from django.db import connection

    from core.periods import company_zone
    from surveys.disclosure import Family, period_cells

    # Survey figures hold the months released so far (surveys/disclosure.py).
    through = period_cells(Family.REQUEST, period, now=now0).through
    answers_end = period.start
    if through is not None:
        day = through + datetime.timedelta(days=1)
        answers_end = datetime.datetime.combine(day, datetime.time(), tzinfo=company_zone())
    parameters = {
        "start": period.start,
        "end": period.end,
        "due_end": min(period.end, now0),
        "answers_end": answers_end,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, parameters)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _stored(period) -> dict:
    """{(role, department id, counterpart id or None): figures} of the period's snapshots."""
    from scorecards.models import ScoreSnapshot

    return {
        (snapshot.role, snapshot.department_id, snapshot.counterpart_id): snapshot.figures
        for snapshot in ScoreSnapshot.objects.filter(period=period.key)
    }


def _differences(expected: list[tuple], stored: dict) -> dict:
    """`expected`: (snapshot key, path of figure names, value) triples, checked against
    `stored` (a missing figure counts as None)."""
    differences = []
    for key, path, theirs in expected:
        ours = stored.get(key, {})
        for name in path:
            ours = ours.get(name, {}) if isinstance(ours, dict) else None
        ours = None if ours == {} else ours
        if ours is None and theirs is None:
            continue
        if ours is None or theirs is None or abs(float(ours) - float(theirs)) > 1e-6:
            differences.append([*key, ".".join(path), ours, theirs])
    return {
        "figures_compared": len(expected),
        "differences": differences[:20],
        "same": not differences,
    }


def baseline_check(rows: list[dict], period) -> dict:
    """Every figure of the baseline against the snapshots the app wrote: the same figures?"""
    from departments.choices import Priority
    from requests_app.choices import ClockKind
    from surveys.choices import DIMENSIONS

    kinds, priorities = ClockKind.values, Priority.values  # the codes the baseline uses
    expected = []
    for row in rows:
        present = _grouped_by(row)
        if row["source"] == "answers":
            values = {
                "csat_n": row["n"],
                "csat": row["met"] / row["n"],
                "mean_rating": row["mean_rating"],
                **{f"{dimension}_mean": row[f"{dimension}_mean"] for dimension in DIMENSIONS},
            }
        elif present in (["provider"], ["customer"], ["provider", "customer"]):
            kind = kinds[row["kind"]]
            values = {
                f"{kind}_timeliness_n": row["n"],
                f"{kind}_timeliness": row["met"] / row["n"],
                f"{kind}_median_seconds": row["median"],
                f"{kind}_p90_seconds": row["p90"],
            }
        else:  # a breakdown of the provider's: by service or by priority
            kind, column = kinds[row["kind"]], present[1]
            name = f"by_{column}"
            value = str(row["service"] if column == "service" else priorities[row["priority"]])
            key = ("provider", row["provider"], None)
            expected.append((key, (name, value, f"{kind}_timeliness_n"), row["n"]))
            if kind == ClockKind.RESOLUTION:
                expected.append((key, (name, value, "resolution_median_seconds"), row["median"]))
            continue
        for key in _snapshot_keys(row, present):
            expected += [(key, (name,), value) for name, value in values.items()]
    return _survey_withheld_left_out(expected, _stored(period))


def _survey_withheld_left_out(expected: list[tuple], stored: dict) -> dict:
    """`_differences`, less the survey figures the releases withheld (surveys/disclosure.py):
    they are not stored, so the baseline's value of each is left out, and counted."""
    from surveys.choices import DIMENSIONS

    survey_names = {"csat", "mean_rating", *(f"{d}_mean" for d in DIMENSIONS)}
    kept = [
        item
        for item in expected
        if item[1][0] not in survey_names or stored.get(item[0], {}).get(item[1][0]) is not None
    ]
    return {**_differences(kept, stored), "survey_figures_withheld": len(expected) - len(kept)}


def _grouped_by(row: dict) -> list[str]:
    """The columns a baseline row is grouped by, from its GROUPING() bits (a bit per column,
    the first column's the highest, set when the column is not grouped)."""
    columns = ("provider", "customer", "service", "priority")
    if row["source"] == "answers":
        columns = ("provider", "customer")
    return [
        name
        for index, name in enumerate(columns)
        if not row["bits"] & (1 << (len(columns) - 1 - index))
    ]


def _snapshot_keys(row: dict, present: list[str]) -> list[tuple]:
    """The snapshots a group of one of the role groupings feeds, as the app keys them."""
    if present == ["provider"]:
        return [("provider", row["provider"], None)]
    if present == ["customer"]:
        return [("customer", row["customer"], None)]
    return [
        ("provider", row["provider"], row["customer"]),
        ("customer", row["customer"], row["provider"]),
    ]


def headline_check(rows: list[dict], period) -> dict:
    """The provider headline statement's figures against the provider snapshots."""
    pairs = [
        ("timeliness_n", "settled"),
        ("first_response_timeliness_n", "first_response_settled"),
        ("resolution_timeliness_n", "resolution_settled"),
        ("first_response_median_seconds", "first_response_median_seconds"),
        ("first_response_p90_seconds", "first_response_p90_seconds"),
        ("resolution_median_seconds", "resolution_median_seconds"),
        ("resolution_p90_seconds", "resolution_p90_seconds"),
        ("csat_n", "answers"),
        ("mean_rating", "mean_rating"),
        ("teamwork_mean", "teamwork_mean"),
    ]
    expected = []
    for row in rows:
        key = ("provider", row["provider"], None)
        expected += [(key, (ours,), row[theirs]) for ours, theirs in pairs]
        if row["settled"]:
            expected.append((key, ("timeliness",), row["met"] / row["settled"]))
    return _survey_withheld_left_out(expected, _stored(period))


def compute_measure(*, period, now0, runs: int, explain: bool) -> dict:
    """scores_compute of the period, the baseline and the provider headline statement, `runs`
    times each, in turns (the order rotates, so that none always runs on warmer caches)."""
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from scorecards.compute import figures_for_period
    from scorecards.services import scores_compute

    result = {}

    def app():
        result["snapshots"] = scores_compute(period=period, now=now0)

    def baseline():
        result["rows"] = baseline_run(period, now0)

    def provider_headline():
        result["headline_rows"] = baseline_run(period, now0, PROVIDER_HEADLINE_SQL)

    contenders = {"app": app, "baseline": baseline, "provider_headline": provider_headline}
    for run in contenders.values():  # once untimed: caches warm for all three
        run()
    seconds = {name: [] for name in contenders}
    names = list(contenders)
    for number in range(runs):
        for name in names[number % 3 :] + names[: number % 3]:
            started = time.perf_counter()
            contenders[name]()
            seconds[name].append(time.perf_counter() - started)
        common.progress(
            f"quarter {period}: scores_compute {seconds['app'][-1]:.3f} s, baseline "
            f"{seconds['baseline'][-1]:.3f} s, provider headline "
            f"{seconds['provider_headline'][-1]:.3f} s"
        )
    with CaptureQueriesContext(connection) as captured:
        scores_compute(period=period, now=now0)
    queries = captured.captured_queries
    started = time.perf_counter()
    figures_for_period(period, now0, settings.SCORE_WEIGHTS)
    figures_seconds = time.perf_counter() - started
    timings = {}
    for name, values in seconds.items():
        timings[f"{name}_seconds"] = [round(value, 3) for value in values]
        timings[f"{name}_min"] = round(min(values), 3)
        timings[f"{name}_median"] = round(statistics.median(values), 3)
    app_median, app_min = statistics.median(seconds["app"]), min(seconds["app"])
    measured = {
        "period": period.key,
        "snapshots": result["snapshots"],
        **timings,
        "ratio_median": round(app_median / statistics.median(seconds["baseline"]), 2),
        "ratio_min": round(app_min / min(seconds["baseline"]), 2),
        "provider_headline_ratio_median": round(
            app_median / statistics.median(seconds["provider_headline"]), 2
        ),
        "provider_headline_ratio_min": round(app_min / min(seconds["provider_headline"]), 2),
        "queries": len(queries),
        "db_seconds": round(sum(float(q["time"]) for q in queries), 3),
        "slowest_queries": [
            {"ms": _ms(float(q["time"])), "sql": q["sql"][:1500]}
            for q in sorted(queries, key=lambda q: -float(q["time"]))[:5]
        ],
        "figures_seconds": round(figures_seconds, 3),
        "by_source": _sources_timed(period, now0),
        "baseline_check": baseline_check(result["rows"], period),
        "provider_headline_check": headline_check(result["headline_rows"], period),
    }
    if explain:
        measured["plans"] = _explain(queries)
    return measured


def _sources_timed(period, now0) -> dict:
    """Seconds of each source of figures for the period (one run each): what dominates."""
    from scorecards.compute import SOURCES
    from scorecards.survey_figures import SOURCES as SURVEY_SOURCES

    seconds = {}
    for source in [*SOURCES, *SURVEY_SOURCES]:
        started = time.perf_counter()
        source(period, now0)
        seconds[source.__name__] = round(time.perf_counter() - started, 3)
    return seconds


def _explain(queries) -> list[dict]:
    from django.db import connection

    plans = []
    with connection.cursor() as cursor:
        for query in sorted(queries, key=lambda q: -float(q["time"]))[:5]:
            if not query["sql"].lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
            plans.append(
                {
                    "ms": _ms(float(query["time"])),
                    "sql": query["sql"],
                    "plan": "\n".join(row[0] for row in cursor.fetchall()),
                }
            )
    return plans


# --- every period ---------------------------------------------------------------------------


def full_recompute(*, now0) -> dict:
    """Every week, month and quarter from the first request to now0, as the demo seeds them."""
    from core.periods import KINDS, period_containing
    from requests_app.models import ServiceRequest
    from scorecards.services import scores_compute

    first = ServiceRequest.objects.order_by("created_at").values_list("created_at", flat=True)[0]
    result = {"kinds": {}}
    started_all = time.perf_counter()
    for kind in KINDS:
        period = period_containing(first, kind)
        seconds, snapshots, periods = [], 0, 0
        while period.start <= now0:
            started = time.perf_counter()
            snapshots += scores_compute(period=period, now=now0)
            seconds.append(time.perf_counter() - started)
            periods += 1
            period = period.next()
        result["kinds"][kind] = {
            "periods": periods,
            "snapshots": snapshots,
            "seconds": round(sum(seconds), 2),
            "per_period_median": round(statistics.median(seconds), 3),
            "per_period_max": round(max(seconds), 3),
        }
        common.progress(
            f"full recompute, {kind}s: {periods} periods in {sum(seconds):.1f} s "
            f"(median {statistics.median(seconds):.3f} s, max {max(seconds):.3f} s)"
        )
    result["seconds"] = round(time.perf_counter() - started_all, 2)
    result["periods"] = sum(kind["periods"] for kind in result["kinds"].values())
    return result


# --- the pages ------------------------------------------------------------------------------


def hr_user() -> str:
    """A bench HR user (every department, the whole matrix); made once, idempotently."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from scorecards.services import hr_group_ensure

    user, _ = get_user_model().objects.get_or_create(
        username="bench-hr", defaults={"password": make_password(None)}
    )
    user.groups.add(hr_group_ensure())
    return user.username


def page_scenarios(*, slug: str, customer: str, period: str) -> list[tuple[str, str, str, str]]:
    """(viewer, kind, label, url): the manager of the busiest department, or HR."""
    card = f"/scorecards/{slug}/"
    api = "/api/v1/scorecards/"
    month, week = _month_and_week(period)
    return [
        ("manager", "page", "scorecard, provider, quarter", f"{card}?period={period}"),
        (
            "manager",
            "page",
            "scorecard, customer, quarter",
            f"{card}?period={period}&role=customer",
        ),
        ("manager", "page", "scorecard, provider, month", f"{card}?period={month}"),
        ("manager", "page", "scorecard, provider, week", f"{card}?period={week}"),
        ("manager", "page", "scorecard, htmx body", f"{card}?period={period}&htmx"),
        ("manager", "page", "pair page", f"{card}pair/{customer}/?period={period}"),
        ("hr", "page", "matrix, timeliness (HR)", f"/scorecards/matrix/?period={period}"),
        (
            "manager",
            "page",
            "matrix, csat (manager)",
            f"/scorecards/matrix/?period={period}&figure=csat",
        ),
        ("hr", "page", "league table (HR)", f"/scorecards/organisation/?period={period}"),
        ("manager", "api", "API scorecard", f"{api}?department={slug}&period={period}"),
        (
            "manager",
            "api",
            "API pair scorecard",
            f"{api}?department={slug}&period={period}&counterpart={customer}",
        ),
        ("hr", "api", "API matrix (HR)", f"{api}matrix/?period={period}"),
        ("hr", "api", "API league (HR)", f"{api}league/?period={period}"),
    ]


def _month_and_week(quarter_key: str) -> tuple[str, str]:
    """The quarter's last month and the ISO week of its last day."""
    from core.periods import MONTH, WEEK, parse_period, period_for_date

    last_day = parse_period(quarter_key).next_first_day - datetime.timedelta(days=1)
    return period_for_date(last_day, MONTH).key, period_for_date(last_day, WEEK).key


def pages_measure(*, users: dict, scenarios, iterations: int, warmup: int) -> list[dict]:
    from bench.measure import _client_for, timed_get

    clients = {viewer: _client_for(username) for viewer, username in users.items()}
    results = []
    for viewer, kind, label, url in scenarios:
        client = clients[viewer]
        headers = {"HTTP_HX_REQUEST": "true"} if url.endswith("&htmx") else {}
        if headers:
            url = url.removesuffix("&htmx")
            client.defaults.update(headers)
        try:
            timed = timed_get(client, url, iterations=iterations, warmup=warmup)
            row = {"kind": kind, "label": label, "viewer": viewer, "url": url, **timed}
        finally:
            for header in headers:
                client.defaults.pop(header, None)
        results.append(row)
        common.progress(
            f"{label:34} p50 {row['p50_ms']:6.1f} ms  p95 {row['p95_ms']:6.1f} ms  "
            f"{row['queries']} queries"
        )
    return results


def compare_with_earlier(results: dict) -> list[dict]:
    """Query counts against the latest scores result at another data size."""
    return [
        {"requests": size, "file": name, "identical": not differences, **differences}
        for size, name, differences in common.query_count_changes(
            results, pattern="scores-*.json", rows="pages"
        )
    ]


# --- output ---------------------------------------------------------------------------------


def table(results: dict) -> str:
    dataset, surveys = results["dataset"], results["surveys"]
    environment = results["environment"]
    compute = results["compute"]
    lines = [
        "",
        f"scores bench: {dataset['requests']:,} requests ({dataset['open']:,} open), "
        f"{surveys['answers']:,} survey answers ({surveys['rows'].get('SurveyResponse', 0):,} "
        f"per-request, {surveys['rows'].get('RelationshipAnswer', 0):,} relationship; "
        f"{surveys['rows'].get('RequestQualityRating', 0):,} quality ratings)",
        f"PostgreSQL {environment['postgresql']}, {environment['cpus']} CPUs, load average "
        f"{environment['load_average_before']} before, "
        f"{environment.get('load_average_after', '?')} after",
        common.calibration_line(environment),
        "",
        f"quarter {compute['period']} ({results['quarter_clocks_settled']:,} clocks settled), "
        f"every department ({compute['snapshots']} snapshots), {len(compute['app_seconds'])} "
        "runs each:",
        f"  {'':34} {'min s':>8} {'median s':>9}",
        f"  {'scores_compute (app)':34} {compute['app_min']:8.3f} {compute['app_median']:9.3f}"
        f"   {compute['queries']} queries, {compute['db_seconds']} s in the database",
        f"  {'one SQL aggregate (baseline)':34} {compute['baseline_min']:8.3f} "
        f"{compute['baseline_median']:9.3f}   1 query",
        f"  {'provider headline only (context)':34} {compute['provider_headline_min']:8.3f} "
        f"{compute['provider_headline_median']:9.3f}   1 query",
        f"  ratio app / baseline: {compute['ratio_median']} (median), {compute['ratio_min']} "
        f"(min); target <= {RATIO_TARGET}: "
        f"{'ok' if compute['ratio_median'] <= RATIO_TARGET else 'MISSED'}",
        f"  ratio app / provider headline: {compute['provider_headline_ratio_median']} "
        f"(median), {compute['provider_headline_ratio_min']} (min)",
        f"  baseline figures equal to the app's snapshots: "
        f"{'yes' if compute['baseline_check']['same'] else 'NO'} "
        f"({compute['baseline_check']['figures_compared']} compared, "
        f"{compute['baseline_check'].get('survey_figures_withheld', 0)} survey figures "
        "withheld by the anonymity rule); provider headline: "
        f"{'yes' if compute['provider_headline_check']['same'] else 'NO'} "
        f"({compute['provider_headline_check']['figures_compared']} compared)",
        "  by source (s): "
        + ", ".join(f"{name} {value}" for name, value in compute["by_source"].items()),
    ]
    full = results.get("full_recompute")
    if full:
        lines += [
            "",
            f"full recompute: {full['periods']} periods in {full['seconds']} s ("
            + ", ".join(
                f"{kind}s {row['periods']} in {row['seconds']} s"
                for kind, row in full["kinds"].items()
            )
            + ")",
        ]
    lines += [
        "",
        f"{'page':34} {'viewer':8} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'queries':>7} "
        f"{'db ms':>6}  target",
    ]
    for row in results.get("pages", []):
        verdict = "ok" if row["p95_ms"] < PAGE_TARGET_MS else "MISSED"
        lines.append(
            f"{row['label']:34} {row['viewer']:8} {row['p50_ms']:7.1f} {row['p95_ms']:7.1f} "
            f"{row['max_ms']:7.1f} {row['queries']:7} {row['db_ms']:6.1f}  {verdict}"
        )
    for other in results.get("compared_with", []):
        lines.append(
            f"queries at {other['requests']:,} requests ({other['file']}): "
            + ("identical" if other["identical"] else f"DIFFERENT: {other}")
        )
    return "\n".join(lines)


# --- main -----------------------------------------------------------------------------------


def main(argv=None) -> int:
    options = arguments(argv)
    database = common.django_start()

    import django

    from bench.surveys import surveys_ensure
    from core.periods import parse_period
    from requests_app.models import SLAClock
    from scorecards.compute import settled_clocks

    dataset = common.dataset_ensure(options, database)
    surveys = surveys_ensure(
        dataset=dataset, seed=options.seed, reuse=options.reuse, progress=common.progress
    )

    now0 = datetime.datetime.fromisoformat(dataset["now0"])
    if options.quarter:
        period = parse_period(options.quarter)
        quarters = {}
    else:
        period, quarters = busiest_quarter(now0)
    results = {
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "dataset": dataset,
        "surveys": surveys,
        "quarter": period.key,
        "quarter_clocks_settled": SLAClock.objects.filter(settled_clocks(period, now0)).count(),
        "quarters_clocks_settled": quarters,
        "environment": {
            "postgresql": database["server_version"],
            "python": platform.python_version(),
            "django": django.get_version(),
            "cpus": os.cpu_count(),
            "runs": options.runs,
            "iterations": options.iterations,
            "warmup": options.warmup,
            "load_average_before": _load_average(),
            "cpu_calibration_ms_before": common.cpu_calibration(),
        },
        "targets": {"ratio": RATIO_TARGET, "page_p95_ms": PAGE_TARGET_MS},
    }
    print(f"Recomputing {period} for every department, against one SQL statement of its figures.")
    results["compute"] = compute_measure(
        period=period, now0=now0, runs=options.runs, explain=options.explain
    )
    results["environment"]["load_average_after_compute"] = _load_average()
    if not options.no_full:
        print("Recomputing every week, month and quarter of the history.")
        results["full_recompute"] = full_recompute(now0=now0)
    else:  # at least what the pages below show
        from core.periods import parse_period as period_of
        from scorecards.services import scores_compute

        month, week = _month_and_week(period.key)
        for each in (period, period.previous(), period_of(month), period_of(week)):
            scores_compute(period=each, now=now0)

    print(f"Timing the scorecard pages and API ({options.iterations} runs each).")
    customer = _busiest_customer(dataset["busy_department"], period)
    results["pages"] = pages_measure(
        users={"manager": _manager_of(dataset["busy_department"]), "hr": hr_user()},
        scenarios=page_scenarios(
            slug=dataset["busy_department"], customer=customer, period=period.key
        ),
        iterations=options.iterations,
        warmup=options.warmup,
    )
    results["environment"]["load_average_after"] = _load_average()
    results["environment"]["cpu_calibration_ms_after"] = common.cpu_calibration()
    results["compared_with"] = compare_with_earlier(results)
    print(table(results))
    common.results_write(results, options.json, f"scores-{dataset['requests']}")
    return 0


def _manager_of(slug: str) -> str:
    from departments.models import Membership

    return (
        Membership.objects.filter(department__slug=slug, role="manager")
        .order_by("user__username")
        .values_list("user__username", flat=True)[0]
    )


def _busiest_customer(slug: str, period) -> str:
    """The department that filed most requests with the provider in the period."""
    from django.db.models import Count

    from requests_app.models import ServiceRequest

    row = (
        ServiceRequest.objects.filter(
            provider_department__slug=slug, created_at__gte=period.start, created_at__lt=period.end
        )
        .values("requesting_department__slug")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    return row["requesting_department__slug"]


if __name__ == "__main__":
    sys.exit(main())
