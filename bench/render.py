"""Markdown bench: the renderer and the request page on the worst cases of
core.markdown_corpus, each as long as a text may be (20 000 characters), on the database of
bench/run.py (its generator, its database rules).

    python bench/render.py --reuse        # on whatever dataset is loaded (as `make bench`)
    python bench/render.py --reuse --iterations 20 --comments 50

DATABASE_URL must name a PostgreSQL database, as for bench/run.py. Unknown options (run.py's
--crossings, ...) are ignored, so `make bench` can pass one BENCH_ARGS to every script.

What is timed:
- render: `core.markdown.render_markdown` of each case (what filing or replying costs once,
  when the text is saved), `--render-iterations` runs after one untimed;
- page: GET of the request page (`/requests/<id>/`) of a request whose description is the
  case, as its requester, and of one request holding `--comments` replies (default 200),
  each a case of the corpus in turn (the page draws the latest 20 entries of its timeline,
  views.detail.TIMELINE_PAGE_SIZE), and that request's "Show earlier" (the 20 entries
  before them, the fragment htmx swaps in). As bench/run.py times pages: `--warmup`
  untimed runs, `--iterations` timed ones (p50, p95, max), then the queries of one.
  Target: p95 under 50 ms. The requests are filed and answered through the services, in a
  transaction that is rolled back afterwards: the dataset stays as loaded.
Results: a table on stdout and bench/results/render-*.json.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402

PAGE_TARGET_MS = 50


def arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/render.py", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    common.dataset_arguments(parser, requests=100_000, requests_help="as run.py")
    parser.add_argument("--iterations", type=int, default=50, help="timed GETs per page")
    parser.add_argument("--warmup", type=int, default=5, help="untimed GETs first")
    parser.add_argument(
        "--render-iterations", type=int, default=5, help="timed renders of each case"
    )
    parser.add_argument(
        "--comments", type=int, default=200, help="replies on the request of many replies"
    )
    parser.add_argument("--json", type=Path, default=None, help="results file")
    options, _ignored = parser.parse_known_args(argv)
    return common.dataset_options_settle(options)


# --- the measurements ------------------------------------------------------------------------


def renders_measure(*, iterations: int, progress) -> list[dict]:
    """render_markdown of each case: the summary of `iterations` runs after one untimed."""
    from bench.measure import summary
    from core.markdown import render_markdown
    from core.markdown_corpus import CASES

    rows = []
    for name, text in CASES.items():
        html = render_markdown(text)
        seconds = []
        for _ in range(iterations):
            started = time.perf_counter()
            render_markdown(text)
            seconds.append(time.perf_counter() - started)
        rows.append({"case": name, "chars": len(text), "html_chars": len(html), **summary(seconds)})
        progress(
            f"render {name:32} p50 {rows[-1]['p50_ms']:8.1f} ms  max {rows[-1]['max_ms']:8.1f} ms"
        )
    return rows


class _Rollback(Exception):
    pass


def _requester_and_service(busy_department: str):
    """A member of a customer department, and a service of the busiest provider."""
    from departments.choices import Role
    from departments.models import Membership, Service

    membership = (
        Membership.objects.filter(role=Role.MEMBER, is_primary=True)
        .exclude(department__slug=busy_department)
        .select_related("user")
        .order_by("pk")
        .first()
    )
    service = Service.objects.filter(department__slug=busy_department, active=True).first()
    if membership is None or service is None:
        raise SystemExit("The dataset has no customer member or no service to file with.")
    return membership.user, service


def pages_measure(*, busy_department: str, comments: int, iterations: int, warmup: int, progress):
    """The request page of a request per case and of one with `comments` replies, as its
    requester, on requests filed in a transaction that is rolled back afterwards."""
    from django.db import transaction

    from bench.measure import _client_for, timed_get
    from core.markdown_corpus import CASES
    from requests_app import services

    requester, service = _requester_and_service(busy_department)
    client = _client_for(requester.username)
    rows = []
    try:
        with transaction.atomic():
            pages = []
            for name, text in CASES.items():
                request = services.request_create(
                    requester=requester, service=service, title=f"bench: {name}", description=text
                )
                pages.append((name, request, 0))
            request = services.request_create(
                requester=requester,
                service=service,
                title="bench: many replies",
                description="Every worst case, one reply each, in turn.",
            )
            texts = list(CASES.values())
            started = time.perf_counter()
            for number in range(comments):
                services.request_comment_add(
                    request=request, author=requester, body=texts[number % len(texts)]
                )
            progress(f"{comments} replies filed in {time.perf_counter() - started:.1f} s")
            pages.append((f"{comments} replies, every case in turn", request, comments))
            # ...and its "Show earlier": the entries before the latest page.
            earlier = re.search(
                r'hx-get="(/requests/\d+/timeline/\?before=[0-9-]+)"',
                client.get(f"/requests/{request.pk}/").content.decode(),
            )
            if earlier:
                pages.append((f"{comments} replies: show earlier", earlier[1], comments))
            for name, request, replies in pages:
                url = request if isinstance(request, str) else f"/requests/{request.pk}/"
                size = len(client.get(url).content)
                timed = timed_get(client, url, iterations=iterations, warmup=warmup)
                rows.append({"case": name, "url": url, "replies": replies, "bytes": size, **timed})
                progress(
                    f"page {name:34} p50 {timed['p50_ms']:7.1f} ms  p95 {timed['p95_ms']:7.1f} ms"
                    f"  max {timed['max_ms']:7.1f} ms  {size / 1000:8.0f} kB"
                )
            raise _Rollback
    except _Rollback:
        pass
    return rows


# --- output ----------------------------------------------------------------------------------


def table(results: dict) -> str:
    environment = results["environment"]
    renders = {row["case"]: row for row in results["renders"]}
    lines = [
        "",
        f"Markdown bench: texts of {results['chars']:,} characters; request page as its "
        f"requester ({results['dataset']['requests']:,} requests in the database)",
        common.calibration_line(environment),
        "",
        f"{'case':38} {'render p50':>10} {'max ms':>7} {'HTML kB':>8}   "
        f"{'page p50':>8} {'p95':>6} {'max ms':>7} {'queries':>7}  target",
    ]
    for row in results["pages"]:
        render = renders.get(row["case"])
        verdict = "ok" if row["p95_ms"] < PAGE_TARGET_MS else "MISSED"
        rendered = (
            f"{render['p50_ms']:10.1f} {render['max_ms']:7.1f} {render['html_chars'] / 1000:8.1f}"
            if render
            else f"{'':10} {'':7} {'':8}"
        )
        lines.append(
            f"{row['case']:38} {rendered}   {row['p50_ms']:8.1f} {row['p95_ms']:6.1f} "
            f"{row['max_ms']:7.1f} {row['queries']:7}  {verdict}"
        )
    return "\n".join(lines)


# --- main ------------------------------------------------------------------------------------


def main(argv=None) -> int:
    options = arguments(argv)
    database = common.django_start()

    from core.limits import TEXT_MAX_LENGTH

    dataset = common.dataset_ensure(options, database, keep_any=True)
    results = {
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "dataset": dataset,
        "chars": TEXT_MAX_LENGTH,
        "environment": {
            "postgresql": database["server_version"],
            "cpus": os.cpu_count(),
            "iterations": options.iterations,
            "warmup": options.warmup,
            "render_iterations": options.render_iterations,
            "load_average_before": [round(x, 1) for x in os.getloadavg()],
            "cpu_calibration_ms_before": common.cpu_calibration(),
        },
        "target_page_p95_ms": PAGE_TARGET_MS,
    }
    print(f"Timing the Markdown renderer ({options.render_iterations} runs a case).")
    results["renders"] = renders_measure(
        iterations=options.render_iterations, progress=common.progress
    )
    print(f"Timing request pages ({options.iterations} runs each).")
    results["pages"] = pages_measure(
        busy_department=dataset["busy_department"],
        comments=options.comments,
        iterations=options.iterations,
        warmup=options.warmup,
        progress=common.progress,
    )
    results["environment"]["load_average_after"] = [round(x, 1) for x in os.getloadavg()]
    results["environment"]["cpu_calibration_ms_after"] = common.cpu_calibration()
    print(table(results))
    common.results_write(results, options.json, f"render-{dataset['requests']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
