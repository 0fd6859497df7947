"""An attacker of published aggregates, written apart from core/disclosure.py: exact
arithmetic over the rationals and every group of small atoms tried in turn."""

import itertools
from collections import defaultdict
from fractions import Fraction


def _echelon(rows: list[dict]) -> dict:
    """Reduced row echelon form of sparse rational rows: pivot -> row."""
    basis: dict = {}
    for row in rows:
        reduced = _reduce(basis, row)
        if not reduced:
            continue
        pivot = min(reduced)
        scale = reduced[pivot]
        reduced = {k: v / scale for k, v in reduced.items()}
        for other, other_row in basis.items():
            factor = other_row.get(pivot)
            if factor:
                merged = dict(other_row)
                for k, v in reduced.items():
                    merged[k] = merged.get(k, Fraction(0)) - factor * v
                basis[other] = {k: v for k, v in merged.items() if v}
        basis[pivot] = reduced
    return basis


def _reduce(basis: dict, row: dict) -> dict:
    row = {k: Fraction(v) for k, v in row.items() if v}
    for pivot, pivot_row in basis.items():
        factor = row.get(pivot)
        if factor:
            for k, v in pivot_row.items():
                row[k] = row.get(k, Fraction(0)) - factor * v
            row = {k: v for k, v in row.items() if v}
    return row


def _independent(vectors: list[dict]) -> bool:
    return len(_echelon(vectors)) == len([v for v in vectors if v]) and all(vectors)


def attacker_groups(shown_cells, sizes: dict, minimum: int) -> list[frozenset]:
    """Every group of non-empty atoms under `minimum` answers of which some non-zero
    combination follows from the shown totals (empty atoms are known to be empty)."""
    atoms = sorted(sizes, key=repr)
    index = {atom: i for i, atom in enumerate(atoms)}
    rows = [{index[a]: 1 for a in cell} for cell in shown_cells]
    rows += [{index[a]: 1} for a in atoms if sizes[a] == 0]
    basis = _echelon([row for row in rows if row])
    small = [a for a in atoms if 0 < sizes[a] < minimum]
    residue = {a: _reduce(basis, {index[a]: 1}) for a in small}
    found = []
    for count in range(1, minimum):
        for group in itertools.combinations(small, count):
            if sum(sizes[a] for a in group) >= minimum:
                continue
            if any(set(f) <= set(group) for f in found):
                continue
            if not _independent([residue[a] for a in group]):
                found.append(frozenset(group))
    return found


def exposed(cells: list[frozenset], minimum: int) -> list[frozenset]:
    """The groups of fewer than `minimum` answers (each cell a set of answer ids) that the
    cells' totals isolate, as sets of answers."""
    signature = defaultdict(list)
    for position, cell in enumerate(cells):
        for answer in cell:
            signature[answer].append(position)
    atoms = defaultdict(set)
    for answer, positions in signature.items():
        atoms[tuple(positions)].add(answer)
    of = {answer: key for key, members in atoms.items() for answer in members}
    sizes = {key: len(members) for key, members in atoms.items()}
    groups = attacker_groups([{of[a] for a in cell} for cell in cells], sizes, minimum)
    return [frozenset().union(*(atoms[key] for key in group)) for group in groups]
