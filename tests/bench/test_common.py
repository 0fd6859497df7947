"""What the bench's scripts share: the database rules, the query-count comparison with
earlier results and the COPY column check."""

import json

import pytest

from bench import common, generate


def test_it_compares_query_counts_with_the_latest_result_of_each_other_size(tmp_path, monkeypatch):
    monkeypatch.setattr(common, "RESULTS", tmp_path)
    earlier = [
        # file, data size, when, rows, {label: queries}
        ("bench-1000-a.json", 1000, "2026-01-01", "requests", {"page": 9, "api": 5}),
        ("bench-1000-b.json", 1000, "2026-02-01", "requests", {"page": 7, "api": 5, "gone": 1}),
        ("bench-50-a.json", 50, "2026-01-01", "requests", {"page": 8}),
        ("scores-20-a.json", 20, "2026-01-01", "pages", {"page": 1}),
    ]
    for name, requests, when, rows, queries in earlier:
        (tmp_path / name).write_text(
            json.dumps(
                {
                    "when": when,
                    "dataset": {"requests": requests},
                    rows: [{"label": label, "queries": n} for label, n in queries.items()],
                }
            )
        )
    (tmp_path / "broken.json").write_text("{")
    mine = {
        "dataset": {"requests": 50},
        "requests": [{"label": "page", "queries": 7}, {"label": "api", "queries": 6}],
    }

    changes = common.query_count_changes(mine, pattern="*.json", rows="requests")

    # Not compared: the same size, results of other rows, unreadable files, older files.
    assert changes == [(1000, "bench-1000-b.json", {"api": (5, 6)})]


def test_it_refuses_a_test_database_and_anything_but_postgresql():
    with pytest.raises(SystemExit, match="test database"):
        common.database_prepare("postgres://postgres@127.0.0.1:5432/test_servicedesk")
    with pytest.raises(SystemExit, match="needs PostgreSQL"):
        common.database_prepare("sqlite:///bench.sqlite3")


def test_it_names_the_columns_a_copy_list_misses_and_those_the_model_lost():
    common.columns_check(generate.COLUMNS, "bench/generate.py")  # up to date
    model = generate.Comment
    stale = {model: [*generate.COLUMNS[model][:-1], "posted_at"]}

    with pytest.raises(SystemExit) as refused:
        common.columns_check(stale, "bench/generate.py")

    assert str(refused.value) == (
        "bench/generate.py is out of date with Comment: columns ['created_at'] missing, "
        "['posted_at'] gone."
    )
