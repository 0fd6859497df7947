"""What the bench's scripts share (bench/run.py, bench/scores.py, bench/reports.py): the
database they may use, Django's start, the dataset, the results files; and what the COPY
loads share (bench/generate.py, bench/surveys.py).

Importable before Django is set up: Django and the database driver are imported where used.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/servicedesk_bench"


def cpu_calibration() -> float:
    """Milliseconds one core takes for a fixed loop of Python (best of 5): how fast this
    machine runs Python now, to compare figures across machines and moments. A quiet
    current x86 core: about 10 ms; shared virtual machines: 25 to 45 ms, varying by minute."""
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        sum(range(1_000_000))
        best = min(best, time.perf_counter() - start)
    return round(best * 1000, 1)


def calibration_line(environment: dict) -> str:
    """The CPU calibration before and after the timings, for a results table."""
    return (
        f"CPU calibration (sum(range(10**6)), best of 5): "
        f"{environment.get('cpu_calibration_ms_before', '?')} ms before, "
        f"{environment.get('cpu_calibration_ms_after', '?')} ms after (a quiet modern core: ~10)"
    )


def progress(message: str) -> None:
    print(f"  {message}", flush=True)


# --- the database ---------------------------------------------------------------------------


def database_prepare(url: str) -> dict:
    """Check DATABASE_URL names PostgreSQL (and not a test database); create it if missing."""
    import environ
    import psycopg2
    from psycopg2 import sql

    config = environ.Env.db_url_config(url)
    if "postgresql" not in config.get("ENGINE", ""):
        raise SystemExit(
            f"The bench needs PostgreSQL; DATABASE_URL is {url!r}.\n"
            f"Unset it to use {DEFAULT_DATABASE_URL}, or give a postgres:// URL."
        )
    name = config["NAME"]
    if name == "test" or name.startswith("test_"):
        raise SystemExit(f"Refusing to use {name!r}: that is a test database.")
    params = {
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
    }
    try:
        server = psycopg2.connect(dbname="postgres", **params)
    except psycopg2.OperationalError as exc:
        raise SystemExit(f"Cannot reach PostgreSQL for {url!r}: {exc}") from exc
    server.autocommit = True
    try:
        with server.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                print(f"Creating database {name}.")
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0]
    finally:
        server.close()
    return {"name": name, "host": params["host"], "server_version": version}


def ownership_check(cursor, meta) -> None:
    """Write (or migrate) only a database the bench made, or an empty one."""
    cursor.execute("SELECT to_regclass('departments_department') IS NOT NULL")
    has_table = cursor.fetchone()[0]
    if has_table:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM departments_department)")
    if meta is None and has_table and cursor.fetchone()[0]:
        raise SystemExit(
            "This database has departments the bench did not make; refusing to touch it.\n"
            f"Give the bench an empty database (default {DEFAULT_DATABASE_URL})."
        )


def django_start(**environment: str) -> dict:
    """Check the bench database (DATABASE_URL, else the default), point Django at it with the
    bench's settings and `environment`, and set Django up; returns the database's
    description (database_prepare)."""
    url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    database = database_prepare(url)
    if sys.path[0] != str(ROOT):  # first: a script's own folder, bench/, holds a surveys.py
        sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ.update(environment)
    import warnings

    import django

    # WhiteNoise looks for collected static files; the bench serves none.
    warnings.filterwarnings("ignore", message="No directory at")
    django.setup()
    return database


# --- the dataset ----------------------------------------------------------------------------


def dataset_arguments(parser, *, requests: int, requests_help: str) -> None:
    """The options of the dataset a script loads or reuses (the scripts that load it as
    run.py does)."""
    parser.add_argument("--requests", type=int, default=requests, help=requests_help)
    parser.add_argument("--open", type=int, default=None, help="of which open (as run.py)")
    parser.add_argument("--crossings", type=int, default=300, help="as run.py")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 1) - 1))
    parser.add_argument("--reuse", action="store_true", help="keep a loaded dataset")


def dataset_options_settle(options):
    """The dataset options as run.py reads them: at most 100 000 open requests by default,
    no more crossings than open requests."""
    if options.open is None:
        options.open = min(options.requests, 100_000)
    options.crossings = min(options.crossings, options.open)
    return options


def dataset_ensure(options, database: dict, *, keep_any: bool = False) -> dict:
    """Migrate the bench database and load the requests `options` ask for, unless `--reuse`
    finds them loaded already (with `keep_any`, any loaded dataset, whatever its shape);
    returns the dataset's description (`bench_meta`)."""
    from django.core.management import call_command
    from django.db import connection

    from bench import generate

    with connection.cursor() as cursor:
        meta = generate.meta_read(cursor)
        ownership_check(cursor, meta)
    print(f"Database {database['name']} (PostgreSQL {database['server_version']}): migrating.")
    call_command("migrate", interactive=False, verbosity=0)
    wanted = {
        "version": generate.GENERATOR_VERSION,
        "requests": options.requests,
        "open": options.open,
        "crossings": options.crossings,
        "escalation": getattr(options, "escalation", True),
        "seed": options.seed,
    }
    if keep_any:
        reusable = bool(meta and meta.get("requests"))
    else:
        reusable = bool(meta) and all(meta.get(key) == value for key, value in wanted.items())
    if options.reuse and reusable:
        print(f"Reusing the loaded dataset ({meta['requests']:,} requests, now0 {meta['now0']}).")
        dataset = meta
    else:
        print(
            f"Loading {options.requests:,} requests ({options.open:,} open) "
            f"with {options.workers} worker(s)."
        )
        with connection.cursor() as cursor:
            generate.meta_write(cursor, {"status": "loading"})
        dataset = generate.dataset_load(
            requests=options.requests,
            open_requests=options.open,
            crossings=options.crossings,
            seed=options.seed,
            workers=options.workers,
            progress=progress,
            escalation=getattr(options, "escalation", True),
        )
        print(f"Loaded in {dataset['total_seconds']} s: {dataset['rows']}")
    return dataset


# --- the results ----------------------------------------------------------------------------


def results_write(results: dict, path: Path | None, name: str) -> Path:
    """The results as JSON in `path`, else in bench/results/<name>-<time>.json."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path or RESULTS / f"{name}-{stamp}.json"
    target.write_text(json.dumps(results, indent=2, default=str))
    print(f"\nResults: {target}")
    return target


def query_count_changes(results: dict, *, pattern: str, rows: str) -> list[tuple]:
    """Query counts of the `rows` of `results` (rows with a label and their queries) against
    the latest result file (`pattern`, in bench/results) of each other data size:
    (size, file name, {label: (theirs, ours)} where they differ), smallest size first."""
    mine = {row["label"]: row["queries"] for row in results.get(rows, [])}
    latest: dict[int, tuple[Path, dict]] = {}
    for path in sorted(RESULTS.glob(pattern)):
        try:
            earlier = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        size = earlier.get("dataset", {}).get("requests")
        if not size or size == results["dataset"]["requests"] or not earlier.get(rows):
            continue
        if size not in latest or earlier["when"] > latest[size][1]["when"]:
            latest[size] = (path, earlier)
    changes = []
    for size, (path, earlier) in sorted(latest.items()):
        theirs = {row["label"]: row["queries"] for row in earlier[rows]}
        differences = {
            label: (theirs[label], mine[label])
            for label in mine
            if label in theirs and theirs[label] != mine[label]
        }
        changes.append((size, path.name, differences))
    return changes


# --- loading with COPY ----------------------------------------------------------------------


def columns_check(columns: dict, script: str) -> None:
    """Each model's COPY column list (`columns`, of `script`) names exactly its columns."""
    for model, names in columns.items():
        actual = {f.column for f in model._meta.concrete_fields}
        if actual != set(names):
            raise SystemExit(
                f"{script} is out of date with {model.__name__}: columns "
                f"{sorted(actual - set(names))} missing, {sorted(set(names) - actual)} gone."
            )


def load_session_prepare(cursor) -> bool:
    """Settings of a load transaction: foreign-key triggers off when the role may (a
    superuser), more memory for rebuilding indexes, no waiting for the WAL at commit.
    Returns whether the triggers are off."""
    cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    superuser = cursor.fetchone()[0]
    if superuser:
        # Generated rows are consistent by construction: skip the per-row FK triggers.
        cursor.execute("SET LOCAL session_replication_role = replica")
    cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
    cursor.execute("SET LOCAL synchronous_commit = off")
    return superuser


def indexes_drop(cursor, tables: list[str]) -> list[str]:
    """Drop the tables' indexes that back no constraint; returns how to rebuild them."""
    cursor.execute(
        """
        SELECT i.relname, pg_get_indexdef(x.indexrelid)
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        WHERE t.relname = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
        """,
        [tables],
    )
    rows = cursor.fetchall()
    for name, _definition in rows:
        cursor.execute(f'DROP INDEX "{name}"')
    return [definition for _name, definition in rows]


def sequences_reset(cursor, tables: list[str]) -> None:
    """Each table's id sequence past the ids the load wrote."""
    for table in tables:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table}), 1))"
        )
