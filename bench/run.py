"""`make bench`: load N requests into a PostgreSQL database and time the department queue
page, the requests API and the SLA scanner.

    make bench                                   # 100 000 requests, all of them open
    make bench BENCH_ARGS="--requests 1000000"   # 1M requests, 100 000 of them open
    make bench BENCH_ARGS="--reuse"              # measure again on the loaded data

DATABASE_URL must name a PostgreSQL database; without it the bench uses (and creates)
postgres://postgres@127.0.0.1:5432/servicedesk_bench. It never writes into a database that
holds data it did not make. Results: a table on stdout and bench/results/*.json.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402

PAGE_TARGET_MS = 100
SCAN_TARGET_SECONDS = 1.0


def arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/run.py", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=100_000, help="requests to load")
    parser.add_argument(
        "--open",
        type=int,
        default=None,
        help="of which open (default: min(requests, 100000), the scanner's scenario)",
    )
    parser.add_argument(
        "--crossings",
        type=int,
        default=300,
        help="open clocks that pass 75%% or 100%% of their target in the minute scanned",
    )
    parser.add_argument(
        "--no-escalation",
        dest="escalation",
        action="store_false",
        help="no escalation levels: every clock keeps the default warning (the figures before)",
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--reuse", action="store_true", help="keep data of the same shape")
    parser.add_argument("--iterations", type=int, default=50, help="timed runs per scenario")
    parser.add_argument("--warmup", type=int, default=5, help="untimed runs first")
    parser.add_argument("--scan-repeats", type=int, default=3, help="full scans of the minute")
    parser.add_argument(
        "--page-size",
        type=int,
        nargs="+",
        default=[25, 50, 200],
        help="page sizes whose query counts must be equal",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=max(1, (os.cpu_count() or 1) - 1),
        help="processes that prepare the rows while the main one COPYs them",
    )
    parser.add_argument("--no-measure", action="store_true", help="load only")
    parser.add_argument("--explain", action="store_true", help="add EXPLAIN ANALYZE plans")
    parser.add_argument(
        "--pg-options",
        default="",
        help='libpq options for the app\'s connection, e.g. "-c jit=off" (what-if figures)',
    )
    parser.add_argument("--json", type=Path, default=None, help="results file")
    options = parser.parse_args(argv)
    if options.open is None:
        options.open = min(options.requests, 100_000)
    if not 0 <= options.open <= options.requests or options.requests < 1:
        parser.error("--open must be between 0 and --requests, and --requests positive")
    options.crossings = min(options.crossings, options.open)
    return options


# --- output ---------------------------------------------------------------------------------


def table(results: dict) -> str:
    dataset = results["dataset"]
    environment = results["environment"]
    options = environment.get("pg_options")
    lines = [
        "",
        f"servicedesk bench: {dataset['requests']:,} requests, {dataset['open']:,} open; "
        f"busiest department {dataset['busy_department']!r}: "
        f"{dataset['busy_department_requests']:,} requests, "
        f"{dataset['busy_department_open']:,} open; viewer {dataset['agent']}",
        f"PostgreSQL {environment['postgresql']}, {environment['cpus']} CPUs, load average "
        f"{environment['load_average_before'][0]} before and "
        f"{environment.get('load_average_after', ['?'])[0]} after the timings; "
        f"data loaded in {dataset.get('total_seconds')} s",
        common.calibration_line(environment),
        f"connection options (what-if): {options}" if options else "",
        "",
        f"{'scenario':40} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'queries':>8} "
        f"{'db ms':>7}  target",
    ]
    for row in results.get("requests", []):
        verdict = "ok" if row["p95_ms"] < PAGE_TARGET_MS else "MISSED"
        lines.append(
            f"{row['label']:40} {row['p50_ms']:8.1f} {row['p95_ms']:8.1f} {row['max_ms']:8.1f} "
            f"{row['queries']:8} {row['db_ms']:7.1f}  {verdict}"
        )
    counts = results.get("query_counts")
    if counts:
        same = "yes" if counts["independent_of_page_size"] else "NO"
        lines += [
            "",
            f"queries by page size: page {counts['page']}, API {counts['api']}; "
            f"independent of page size: {same}",
        ]
    for other in results.get("compared_with", []):
        lines.append(
            f"queries at {other['requests']:,} requests ({other['file']}): "
            f"{'identical' if other['identical'] else 'DIFFERENT: ' + str(other['differences'])}"
        )
    scan = results.get("scanner")
    if scan:
        full = scan["full_scan"]
        verdict = "ok" if full["median_seconds"] < SCAN_TARGET_SECONDS else "MISSED"
        first = full["runs"][0]
        lines += [
            "",
            f"SLA scanner with {dataset['open']:,} open requests:",
            f"  idle scan (nothing due): p50 {scan['idle_scan']['p50_ms']} ms, "
            f"p95 {scan['idle_scan']['p95_ms']} ms",
            f"  candidate query for the next minute: p50 {scan['candidate_query']['p50_ms']} ms, "
            f"p95 {scan['candidate_query']['p95_ms']} ms ({full['clocks']} clocks due)",
            f"  full scan of that minute: median {full['median_seconds']:.3f} s over "
            f"{len(full['runs'])} runs ({full['ms_per_clock']} ms per clock; "
            f"{first['warned']} warned, {first['breached']} breached, "
            f"{first.get('escalated', 0)} escalated, "
            f"{first['notifications']} notifications, {first['queries']} queries)  {verdict}",
        ]
    return "\n".join(lines)


def compare_with_earlier(results: dict) -> list[dict]:
    """Query counts against the latest result at another data size, scenario by scenario."""
    return [
        {"requests": size, "file": name, "identical": not differences, "differences": differences}
        for size, name, differences in common.query_count_changes(
            results, pattern="*.json", rows="requests"
        )
    ]


# --- main -----------------------------------------------------------------------------------


def main(argv=None) -> int:
    options = arguments(argv)
    # `--pg-options`: read by bench/settings.py.
    environment = {"BENCH_PG_OPTIONS": options.pg_options} if options.pg_options else {}
    database = common.django_start(**environment)

    import django

    from bench import measure

    dataset = common.dataset_ensure(options, database)

    results = {
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "dataset": dataset,
        "environment": {
            "postgresql": database["server_version"],
            "python": platform.python_version(),
            "django": django.get_version(),
            "cpus": os.cpu_count(),
            "iterations": options.iterations,
            "warmup": options.warmup,
            "pg_options": options.pg_options,
            "load_average_before": [round(x, 1) for x in os.getloadavg()],
            "cpu_calibration_ms_before": common.cpu_calibration(),
        },
    }
    if not options.no_measure:
        print(f"Timing pages and API as {dataset['agent']} ({options.iterations} runs each).")
        results["requests"] = measure.requests_measure(
            agent=dataset["agent"],
            slug=dataset["busy_department"],
            iterations=options.iterations,
            warmup=options.warmup,
            progress=common.progress,
        )
        results["query_counts"] = measure.query_counts(
            agent=dataset["agent"], slug=dataset["busy_department"], sizes=options.page_size
        )
        print("Timing the SLA scanner.")
        now0 = datetime.datetime.fromisoformat(dataset["now0"])
        results["scanner"] = measure.scanner_measure(
            now0=now0,
            iterations=options.iterations,
            repeats=options.scan_repeats,
            progress=common.progress,
        )
        if options.explain:
            results["explain"] = measure.explain(
                agent=dataset["agent"], slug=dataset["busy_department"]
            )
        results["environment"]["load_average_after"] = [round(x, 1) for x in os.getloadavg()]
        results["environment"]["cpu_calibration_ms_after"] = common.cpu_calibration()
        results["compared_with"] = compare_with_earlier(results)
        print(table(results))

    common.results_write(results, options.json, f"bench-{options.requests}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
