"""One query, several groupings: the aggregates of some rows grouped by several sets of
columns at once (GROUPING SETS on PostgreSQL).

A score source reads its rows once (the clocks settled in a period, the answers given in it)
and needs the same counts, means and percentiles by provider, by customer and by pair: with a
query per grouping the rows would be read (and joined) once per grouping. Here the rows are a
`values()` queryset, and `grouped_aggregates` wraps its SQL in one outer query:

- Counts, sums and means are grouped once by every column of every set, and the few groups
  this gives are added up per set in Python. A plain GROUP BY lets PostgreSQL aggregate in
  parallel workers (it cannot with GROUPING SETS), and it runs on every database.
- Percentiles cannot be added up: with one, the query groups by every set at once (GROUPING
  SETS) on PostgreSQL. On other databases (SQLite, in development and tests) the rows are
  then fetched and the aggregates taken in Python, with `percentile_cont` as PostgreSQL
  computes it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from .stats import percentile_cont

COUNT, SUM, AVG, PERCENTILE = "count", "sum", "avg", "percentile"


@dataclass(frozen=True)
class Measure:
    """One aggregate of the grouped rows.

    `function`: count (of rows, or of non-null `column`), sum, avg, or percentile (continuous,
    at `fraction`); `column`: a column of the rows; `where`: a flag column of the rows (see
    `flag`): only rows where it is 1 count.
    """

    function: str
    column: str | None = None
    where: str | None = None
    fraction: float = 0.5


def flag(condition: Q) -> Case:
    """1 where the condition holds, else 0: a column for `Measure.where`."""
    return Case(When(condition, then=Value(1)), default=Value(0), output_field=IntegerField())


def coded(field: str, values: Sequence[str]) -> Case:
    """A text column as the position of its value in `values`: grouped by an integer, which
    sorts much faster than text. `decoded` turns the groups' codes back into the values."""
    return Case(
        *(When(**{field: value}, then=Value(code)) for code, value in enumerate(values)),
        default=Value(None),
        output_field=IntegerField(),
    )


def decoded(code: int | None, values: Sequence[str]) -> str | None:
    return None if code is None else values[code]


def grouped_aggregates(
    rows: QuerySet, *, sets: Sequence[tuple[str, ...]], measures: dict[str, Measure]
) -> dict[tuple[str, ...], list[dict]]:
    """{grouping set: [{column: value of the group..., measure: value...}, ...]}, in one query.

    `rows` is a `values()` queryset whose names include every column of `sets` and of the
    measures; each set is a tuple of those names. A group with no rows is absent.
    """
    dimensions = list(dict.fromkeys(name for grouping in sets for name in grouping))
    rows = rows.order_by()
    if all(measure.function != PERCENTILE for measure in measures.values()):
        return _grouped_by_rollup(rows, sets, dimensions, measures)
    if connection.vendor == "postgresql":
        return _grouped_in_sql(rows, sets, dimensions, measures)
    return _grouped_in_python(rows, sets, dimensions, measures)


def _sql_of(measure: Measure, quote) -> str:
    where = f" FILTER (WHERE {quote(measure.where)} = 1)" if measure.where else ""
    column = quote(measure.column) if measure.column else None
    if measure.function == COUNT:
        return f"COUNT({column or '*'}){where}"
    if measure.function in (SUM, AVG):
        return f"{measure.function.upper()}({column}){where}"
    if measure.function == PERCENTILE:
        fraction = float(measure.fraction)
        return f"percentile_cont({fraction!r}) WITHIN GROUP (ORDER BY {column}){where}"
    raise ValueError(f"Unknown aggregate {measure.function!r}.")


def _compiled(rows) -> tuple[str, tuple] | None:
    """The SQL of the rows and its parameters; None for a filter that can match nothing
    (`pk__in=[]`), which Django does not compile."""
    try:
        return rows.query.sql_with_params()
    except EmptyResultSet:
        return None


def _grouped_by_rollup(rows, sets, dimensions, measures) -> dict:
    """Counts, sums and means by every column at once, added up per set in Python."""
    quote = connection.ops.quote_name
    if (compiled := _compiled(rows)) is None:
        return {tuple(grouping): [] for grouping in sets}
    inner, params = compiled
    # A mean is added up as its sum and its count.
    parts = {}
    for name, measure in measures.items():
        if measure.function == AVG:
            parts[f"{name}__sum"] = Measure(SUM, measure.column, measure.where)
            parts[f"{name}__count"] = Measure(COUNT, measure.column, measure.where)
        else:
            parts[name] = measure
    columns = ", ".join(quote(name) for name in dimensions)
    aggregates = ", ".join(
        f"{_sql_of(measure, quote)} AS {quote(name)}" for name, measure in parts.items()
    )
    # Only quoted names of our own and Django's compiled SQL; the values stay parameters.
    sql = (
        f"SELECT {columns}, {aggregates} FROM ({inner}) AS grouped_rows "  # noqa: S608  # nosec B608
        f"GROUP BY {columns}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        finest = [dict(zip([*dimensions, *parts], values, strict=True)) for values in cursor]
    result: dict[tuple[str, ...], list[dict]] = {}
    for grouping in sets:
        totals: dict[tuple, dict] = {}
        for row in finest:
            key = tuple(row[name] for name in grouping)
            group = totals.setdefault(key, dict.fromkeys(parts))
            for name in parts:
                if row[name] is not None:
                    group[name] = row[name] if group[name] is None else group[name] + row[name]
        result[tuple(grouping)] = [
            {**dict(zip(grouping, key, strict=True)), **_finished(measures, summed)}
            for key, summed in totals.items()
        ]
    return result


def _finished(measures: dict[str, Measure], parts: dict) -> dict:
    """The measures of a group from its added-up parts."""
    values = {}
    for name, measure in measures.items():
        if measure.function == AVG:
            count = parts[f"{name}__count"]
            value = parts[f"{name}__sum"] / count if count else None
        else:  # a count or a sum: SQL counts are never null, a sum of no values is
            value = parts[name]
        values[name] = float(value) if isinstance(value, Decimal) else value
    return values


def _grouped_in_sql(rows, sets, dimensions, measures) -> dict:
    quote = connection.ops.quote_name
    if (compiled := _compiled(rows)) is None:
        return {tuple(grouping): [] for grouping in sets}
    inner, params = compiled
    columns = ", ".join(quote(name) for name in dimensions)
    aggregates = ", ".join(
        f"{_sql_of(measure, quote)} AS {quote(name)}" for name, measure in measures.items()
    )
    grouping_sets = ", ".join(
        "(" + ", ".join(quote(name) for name in grouping) + ")" for grouping in sets
    )
    # Only quoted names of our own and Django's compiled SQL; the values stay parameters.
    sql = (
        f"SELECT {columns}, GROUPING({columns}) AS grouping_bits, {aggregates} "  # noqa: S608  # nosec B608
        f"FROM ({inner}) AS grouped_rows GROUP BY GROUPING SETS ({grouping_sets})"
    )
    # GROUPING() has a bit per column, the first column's the highest, set when the column
    # is not in the group's set.
    set_of_bits = {
        sum(
            1 << (len(dimensions) - 1 - index)
            for index, name in enumerate(dimensions)
            if name not in grouping
        ): grouping
        for grouping in sets
    }
    result: dict[tuple[str, ...], list[dict]] = {tuple(grouping): [] for grouping in sets}
    names = [*dimensions, "grouping_bits", *measures]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for values in cursor.fetchall():
            row = dict(zip(names, values, strict=True))
            grouping = set_of_bits[row.pop("grouping_bits")]
            group = {name: row[name] for name in grouping}
            for name in measures:
                value = row[name]
                group[name] = float(value) if isinstance(value, Decimal) else value
            result[tuple(grouping)].append(group)
    return result


def _grouped_in_python(rows, sets, dimensions, measures) -> dict:
    collected: dict[tuple, dict[tuple, list[dict]]] = {tuple(g): defaultdict(list) for g in sets}
    for row in rows:
        for grouping in sets:
            collected[tuple(grouping)][tuple(row[name] for name in grouping)].append(row)
    result: dict[tuple[str, ...], list[dict]] = {}
    for grouping, groups in collected.items():
        result[grouping] = []
        for key, members in groups.items():
            group = dict(zip(grouping, key, strict=True))
            for name, measure in measures.items():
                group[name] = _aggregate(measure, members)
            result[grouping].append(group)
    return result


def _aggregate(measure: Measure, members: list[dict]):
    if measure.where:
        members = [row for row in members if row[measure.where] == 1]
    if measure.function == COUNT and measure.column is None:
        return len(members)
    values = [row[measure.column] for row in members if row[measure.column] is not None]
    if measure.function == COUNT:
        return len(values)
    if measure.function == SUM:
        return sum(values) if values else None
    if measure.function == AVG:
        return sum(values) / len(values) if values else None
    if measure.function == PERCENTILE:
        return percentile_cont(values, measure.fraction)
    raise ValueError(f"Unknown aggregate {measure.function!r}.")
