"""The disclosure rule: no combination of shown cells isolates fewer than `minimum` answers.

Checked against an independent attacker that works over the rationals and tries every group
of small atoms."""

from hypothesis import given, settings
from hypothesis import strategies as st

from core.disclosure import small_groups, suppress
from tests.attacker import attacker_groups

MINIMUM = 3


def table(counts: dict[tuple[str, str], int]):
    """A provider x customer table with both margins and the grand total."""
    cells = {("pair", p, c): frozenset([(p, c)]) for p, c in counts}
    for p in {p for p, _ in counts}:
        cells[("provider", p)] = frozenset(a for a in counts if a[0] == p)
    for c in {c for _, c in counts}:
        cells[("customer", c)] = frozenset(a for a in counts if a[1] == c)
    cells[("all",)] = frozenset(counts)
    return cells


def test_the_whole_minus_its_shown_parts_is_found():
    sizes = {("it", "sales"): 5, ("it", "legal"): 2, ("it", "hr"): 4}
    cells = {
        "whole": frozenset(sizes),
        "sales": frozenset([("it", "sales")]),
        "hr": frozenset([("it", "hr")]),
    }
    assert small_groups(cells.values(), sizes, MINIMUM) == [frozenset([("it", "legal")])]


def test_two_small_parts_together_are_found_when_they_can_be_told_apart_from_the_rest():
    # 1 + 1 answers: their sum is 2 people, which is still fewer than three.
    sizes = {"a": 1, "b": 1, "c": 5}
    cells = [["a", "b", "c"], ["c"]]
    assert small_groups(cells, sizes, MINIMUM) == [frozenset(["a", "b"])]


def test_a_group_of_enough_answers_is_not_a_leak():
    sizes = {"a": 1, "b": 2, "c": 5}
    assert small_groups([["a", "b", "c"], ["c"]], sizes, MINIMUM) == []


def test_suppression_hides_the_small_cell_and_a_complement():
    sizes = {("it", "sales"): 5, ("it", "legal"): 2, ("it", "hr"): 4}
    cells = table(sizes)
    shown = suppress(cells, sizes, MINIMUM)
    assert ("pair", "it", "legal") not in shown
    # Either hr or sales must go too, else it = whole - the other two.
    assert not {("pair", "it", "sales"), ("pair", "it", "hr")} <= shown
    assert attacker_groups([cells[k] for k in shown], sizes, MINIMUM) == []


def test_earlier_publications_stay_and_constrain_the_new_ones():
    # Month 1 was published with 4 answers; to date (month 1 and 2) now holds 5.
    sizes = {"m1": 4, "m2": 1}
    cells = {"month 1": frozenset(["m1"]), "to date": frozenset(["m1", "m2"])}
    assert suppress(cells, sizes, MINIMUM, published=["month 1"]) == {"month 1"}


counts = st.dictionaries(
    st.tuples(st.sampled_from("pqrs"), st.sampled_from("wxyz")),
    st.integers(min_value=0, max_value=6),
    min_size=1,
    max_size=10,
)


@settings(max_examples=150, deadline=None)
@given(counts)
def test_the_finder_agrees_with_an_exhaustive_attacker(sizes):
    cells = table(sizes)
    shown = [cells[k] for k in sorted(cells) if sum(sizes[a] for a in cells[k]) >= MINIMUM]
    assert set(small_groups(shown, sizes, MINIMUM)) == set(attacker_groups(shown, sizes, MINIMUM))


@settings(max_examples=150, deadline=None)
@given(counts)
def test_after_suppression_no_attacker_isolates_a_small_group(sizes):
    cells = table(sizes)
    shown = suppress(cells, sizes, MINIMUM)
    assert attacker_groups([cells[k] for k in shown], sizes, MINIMUM) == []
    # Suppression is not everything: cells of enough answers whose neighbours are all large
    # stay shown.
    if all(n == 0 or n >= MINIMUM for n in sizes.values()):
        assert shown == set(cells)
