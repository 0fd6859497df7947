"""grouped_aggregates: one query for several groupings, the same answers on every database
(counts, sums and means added up from the finest groups; with a percentile, GROUPING SETS on
PostgreSQL and Python elsewhere)."""

import pytest
from django.db.models import F, Q

from departments.models import Department
from scorecards.grouping import (
    AVG,
    COUNT,
    PERCENTILE,
    SUM,
    Measure,
    coded,
    decoded,
    flag,
    grouped_aggregates,
)
from scorecards.stats import percentile_cont
from tests.factories import DepartmentFactory

MEASURES = {
    "rows": Measure(COUNT),
    "with_parent": Measure(COUNT, "parent"),
    "even": Measure(COUNT, where="even"),
    "total": Measure(SUM, "value"),
    "mean": Measure(AVG, "value"),
    "even_mean": Measure(AVG, "value", where="even"),
    "median": Measure(PERCENTILE, "value", fraction=0.5),
    "p90": Measure(PERCENTILE, "value", fraction=0.9),
    "even_median": Measure(PERCENTILE, "value", where="even", fraction=0.5),
}
# Without a percentile the groups are added up from the finest ones.
ADDED_UP = {name: measure for name, measure in MEASURES.items() if measure.function != PERCENTILE}


@pytest.fixture
def departments(db):
    top = DepartmentFactory(description="TOP", is_provider=False)
    made = [top]
    for index in range(11):
        made.append(
            DepartmentFactory(
                description="A" if index % 3 else "B",
                is_provider=index % 2 == 0,
                parent=top if index % 4 == 0 else None,
            )
        )
    return made


def rows_of(departments):
    even = [d.pk for d in departments if d.pk % 2 == 0]
    return Department.objects.filter(pk__in=[d.pk for d in departments]).values(
        "parent",
        text=F("description"),
        provider=F("is_provider"),
        value=F("pk"),
        even=flag(Q(pk__in=even)),
    )


def expected(departments, keys) -> dict:
    groups = {}
    for department in departments:
        values = {"text": department.description, "provider": department.is_provider}
        groups.setdefault(tuple(values[key] for key in keys), []).append(department)
    result = {}
    for key, members in groups.items():
        values = [d.pk for d in members]
        even = [d.pk for d in members if d.pk % 2 == 0]
        result[key] = {
            "rows": len(members),
            "with_parent": sum(1 for d in members if d.parent_id is not None),
            "even": len(even),
            "total": sum(values),
            "mean": sum(values) / len(values),
            "even_mean": sum(even) / len(even) if even else None,
            "median": percentile_cont(values, 0.5),
            "p90": percentile_cont(values, 0.9),
            "even_median": percentile_cont(even, 0.5),
        }
    return result


@pytest.mark.parametrize("measures", [MEASURES, ADDED_UP], ids=["percentiles", "added-up"])
def test_it_answers_every_grouping_in_one_query(departments, measures, django_assert_num_queries):
    sets = [("provider",), ("text",), ("provider", "text")]
    with django_assert_num_queries(1):
        groups = grouped_aggregates(rows_of(departments), sets=sets, measures=measures)
    assert set(groups) == set(sets)
    for grouping in sets:
        wanted = expected(departments, grouping)
        got = {tuple(row[key] for key in grouping): row for row in groups[grouping]}
        assert set(got) == set(wanted)
        for key, figures in wanted.items():
            assert set(got[key]) == {*grouping, *measures}
            for name in measures:
                assert got[key][name] == pytest.approx(figures[name]), (grouping, key, name)


@pytest.mark.parametrize(
    "measures",
    [{"rows": Measure(COUNT), "median": Measure(PERCENTILE, "value")}, {"rows": Measure(COUNT)}],
    ids=["percentiles", "added-up"],
)
def test_it_leaves_out_groups_without_rows(db, measures):
    groups = grouped_aggregates(
        Department.objects.none().values(provider=F("is_provider"), value=F("pk")),
        sets=[("provider",)],
        measures=measures,
    )
    assert groups == {("provider",): []}


def test_it_groups_text_by_its_code(departments):
    texts = ["A", "B", "TOP"]
    rows = Department.objects.filter(pk__in=[d.pk for d in departments]).values(
        text_code=coded("description", texts)
    )
    groups = grouped_aggregates(rows, sets=[("text_code",)], measures={"n": Measure(COUNT)})
    counted = {decoded(row["text_code"], texts): row["n"] for row in groups[("text_code",)]}
    assert counted == {"A": 7, "B": 4, "TOP": 1}
