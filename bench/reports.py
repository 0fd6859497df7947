"""HR quarterly report bench: time and peak memory of exporting one quarter, on the request
history of bench/run.py (its generator, its database rules).

    python bench/reports.py --requests 1000000            # load 1M requests, then measure
    python bench/reports.py --reuse --requests 1000000    # measure on data run.py loaded
    python bench/reports.py --reuse                       # whatever dataset is loaded

DATABASE_URL must name a PostgreSQL database, as for bench/run.py (default
postgres://postgres@127.0.0.1:5432/servicedesk_bench). With --reuse and a dataset already
loaded (by run.py or by this script), the data are kept whatever its size; otherwise the
dataset is (re)loaded with bench/generate.py. Unknown options (run.py's --iterations, ...)
are ignored, so `make bench` can pass one BENCH_ARGS to both scripts.

Each scenario runs in a freshly spawned Python process (a worker's view: Django loaded,
nothing else), and its peak memory is that process's maximum resident set size
(ru_maxrss): the whole process, Django and the database driver included.

The scenarios, for the last closed quarter before the dataset's `now0` (the quarter the
automatic report is made for), each making a new (forced) report:
- compute: scores_compute of the quarter and the previous one (what a report does first
  when the snapshots are missing or were taken before the quarter closed);
- xlsx and csv: the report job with the snapshots in place (the usual case: the 15-minute
  job and the close of the quarter computed them);
- xlsx cold: the report job from no snapshots at all (compute + write).
Targets: under 60 s and 300 MB each. Results on stdout and in bench/results/reports-*.json.
"""

from __future__ import annotations

import argparse
import datetime
import multiprocessing
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402

TARGET_SECONDS = 60.0
TARGET_MB = 300.0


def arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/reports.py", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    common.dataset_arguments(parser, requests=1_000_000, requests_help="requests to load")
    parser.add_argument("--quarter", help="quarter to export (default: last closed at now0)")
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="also run each scenario under tracemalloc for the Python heap's peak (slower)",
    )
    parser.add_argument("--json", type=Path, default=None, help="results file")
    options, _ignored = parser.parse_known_args(argv)
    return common.dataset_options_settle(options)


def _max_rss_mb() -> float:
    # Linux reports kilobytes.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the scenarios, each in a child process -------------------------------------------------


def _scenario(name: str, quarter: str, traced: bool, results) -> None:
    # A spawned child: a new interpreter, so its peak RSS is its own (a forked one would
    # inherit the parent's high-water mark, the data load's).
    import warnings

    import django

    warnings.filterwarnings("ignore", message="No directory at")
    django.setup()

    from django.db import connection

    from core.periods import parse_period
    from scorecards.models import ScoreSnapshot
    from scorecards.reports.models import QuarterlyReport
    from scorecards.reports.services import report_generate, report_request
    from scorecards.services import scores_compute

    period = parse_period(quarter)
    keys = [period.key, period.previous().key]
    if name == "compute" or name.endswith("cold"):
        ScoreSnapshot.objects.filter(period__in=keys).delete()
    report = None
    if name != "compute":
        report_format = name.split()[0]
        report, _ = report_request(
            quarter=quarter, format=report_format, force=True, enqueue=False, source="command"
        )
    rss_before = _max_rss_mb()
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    if name == "compute":
        rows = sum(scores_compute(period=p) for p in (period, period.previous()))
        detail = {"snapshots_written": rows}
    else:
        if not report_generate(report_id=report.pk):
            raise SystemExit(f"{name}: the report was not generated")
        report = QuarterlyReport.objects.get(pk=report.pk)
        if report.status != "done":
            raise SystemExit(f"{name}: {report.status} {report.error}")
        detail = {"report_id": report.pk, "bytes": report.size, "sha256": report.sha256}
    seconds = time.perf_counter() - started
    row = {
        "scenario": name,
        "seconds": round(seconds, 2),
        "max_rss_mb": round(_max_rss_mb(), 1),
        "rss_before_mb": round(rss_before, 1),
        **detail,
    }
    if traced:
        row["python_heap_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
        tracemalloc.stop()
    connection.close()
    results.put(row)


def _run_in_child(name: str, quarter: str, traced: bool) -> dict:
    # The environment (DATABASE_URL, DJANGO_SETTINGS_MODULE, MEDIA_ROOT) goes with it.
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    child = context.Process(target=_scenario, args=(name, quarter, traced, results))
    child.start()
    child.join()
    if child.exitcode != 0:
        raise SystemExit(f"scenario {name!r} failed (exit code {child.exitcode})")
    return results.get(timeout=5)


def table(results: dict) -> str:
    dataset = results["dataset"]
    lines = [
        "",
        f"HR report bench: {dataset['requests']:,} requests in the database; quarter "
        f"{results['quarter']} ({results['quarter_requests']:,} requests filed in it, "
        f"{results['quarter_clocks_settled']:,} clocks settled)",
        "",
        f"{'scenario':34} {'seconds':>8} {'peak RSS MB':>12} {'file bytes':>11}  target",
    ]
    for row in results["scenarios"]:
        ok = row["seconds"] < TARGET_SECONDS and row["max_rss_mb"] < TARGET_MB
        heap = f"  (Python heap peak {row['python_heap_peak_mb']} MB)" if "traced" in row else ""
        lines.append(
            f"{row['label']:34} {row['seconds']:8.2f} {row['max_rss_mb']:12.1f} "
            f"{row.get('bytes') or '':>11}  {'ok' if ok else 'MISSED'}{heap}"
        )
    return "\n".join(lines)


SCENARIOS = [
    ("compute", "compute the quarter and previous"),
    ("xlsx", "xlsx (snapshots in place)"),
    ("csv", "csv (snapshots in place)"),
    ("xlsx cold", "xlsx cold (compute + write)"),
]


def main(argv=None) -> int:
    options = arguments(argv)
    media = tempfile.TemporaryDirectory(prefix="bench-reports-")
    database = common.django_start(MEDIA_ROOT=media.name)  # report files go nowhere near var/media

    from core.periods import QUARTER, parse_period, period_containing
    from requests_app.models import ServiceRequest, SLAClock
    from scorecards.compute import settled_clocks

    dataset = common.dataset_ensure(options, database, keep_any=True)

    now0 = datetime.datetime.fromisoformat(dataset["now0"])
    quarter = options.quarter or period_containing(now0, QUARTER).previous().key
    period = parse_period(quarter)
    results = {
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "dataset": dataset,
        "quarter": quarter,
        "quarter_requests": ServiceRequest.objects.filter(
            created_at__gte=period.start, created_at__lt=period.end
        ).count(),
        "quarter_clocks_settled": SLAClock.objects.filter(
            settled_clocks(period, now0 if now0 > period.end else period.end)
        ).count(),
        "environment": {"postgresql": database["server_version"], "cpus": os.cpu_count()},
        "targets": {"seconds": TARGET_SECONDS, "max_rss_mb": TARGET_MB},
        "scenarios": [],
    }
    for name, label in SCENARIOS:
        common.progress(f"{label} ...")
        row = _run_in_child(name, quarter, traced=False)
        if options.tracemalloc:
            traced = _run_in_child(name, quarter, traced=True)
            row["python_heap_peak_mb"] = traced["python_heap_peak_mb"]
            row["traced"] = True
        row["label"] = label
        results["scenarios"].append(row)
        common.progress(f"{label}: {row['seconds']} s, peak RSS {row['max_rss_mb']} MB")
    print(table(results))
    common.results_write(results, options.json, f"reports-{dataset['requests']}")
    media.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
