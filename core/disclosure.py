"""Disclosure control: which aggregates of anonymous answers may be published together.

A *cell* is a group of answers whose figures are published: a count of "yes", a sum of
ratings (a mean with its count is a sum). Cells are unions of *atoms*, the finest groups
(one provider and customer in one month, say), and every answer lies in one atom. Whoever
reads several cells can add and subtract them: publishing a set of cells publishes every
linear combination of their totals. A combination that is non-zero only on atoms holding
fewer than `minimum` answers (and at least one) tells something about fewer than `minimum`
people: the whole minus its shown parts, one quarter minus two of its months, a provider's
total minus the other customers, or anything longer. This module finds such combinations
exactly (linear algebra over the atoms) and decides which cells to withhold so that none
exists: primary suppression (cells under `minimum`), then complementary suppression (more
cells until no combination isolates a small group).

Atoms with no answers are taken as known to be empty, and atom sizes as known: both only make
the check stricter. Arithmetic is modulo a large prime: a combination over the rationals is
always found (it holds modulo the prime too); the converse can fail only by an accident of
probability about 1e-18, and would withhold a cell more, never one less.

Pure Python without Django, so that every figure of every app (survey results, the team
pulse) goes through the same rule.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping

PRIME = 2**61 - 1

Atom = Hashable
Vector = dict  # index -> coefficient modulo PRIME, no zeros


def _subtract(target: Vector, factor: int, row: Vector) -> None:
    """target -= factor * row, in place."""
    for index, value in row.items():
        updated = (target.get(index, 0) - factor * value) % PRIME
        if updated:
            target[index] = updated
        else:
            target.pop(index, None)


class _Basis:
    """Row space of some vectors, kept in reduced row echelon form (each row has a pivot that
    no other row holds), with each row's provenance: the combination of the added vectors
    (by the label they were added with) that gives it."""

    def __init__(self) -> None:
        self.rows: dict[int, Vector] = {}  # pivot -> row (coefficient 1 at the pivot)
        self.origins: dict[int, Vector] = {}  # pivot -> label -> coefficient
        self.holding: dict[int, set] = {}  # index -> pivots of the rows holding it

    def reduce(self, vector: Vector) -> tuple[Vector, Vector]:
        """The vector less what the rows express of it, and the combination subtracted."""
        vector, used = dict(vector), {}
        # Rows are reduced: subtracting one never brings in another row's pivot.
        for pivot in [index for index in vector if index in self.rows]:
            factor = vector.get(pivot)
            if factor:
                _subtract(vector, factor, self.rows[pivot])
                _subtract(used, -factor, self.origins[pivot])
        return vector, used

    def add(self, vector: Vector, label=None) -> bool:
        """Add a vector; False when it adds nothing (it depends on the rows already there)."""
        vector, used = self.reduce(vector)
        if not vector:
            return False
        origin = {key: -value % PRIME for key, value in used.items()}
        if label is not None:
            origin[label] = (origin.get(label, 0) + 1) % PRIME
        pivot = min(vector)
        inverse = pow(vector[pivot], -1, PRIME)
        row = {index: value * inverse % PRIME for index, value in vector.items()}
        origin = {key: value * inverse % PRIME for key, value in origin.items() if value}
        # Clear the new pivot from every other row, so that the rows stay reduced.
        for other in list(self.holding.get(pivot, ())):
            other_row = self.rows[other]
            factor = other_row[pivot]
            before = set(other_row)
            _subtract(other_row, factor, row)
            _subtract(self.origins[other], factor, origin)
            for index in before - set(other_row):
                self.holding[index].discard(other)
            for index in set(other_row) - before:
                self.holding.setdefault(index, set()).add(other)
        self.rows[pivot], self.origins[pivot] = row, origin
        for index in row:
            self.holding.setdefault(index, set()).add(pivot)
        return True

    def residue(self, index: int) -> Vector:
        """The unit vector of `index` less what the rows express of it: empty when its
        total can be worked out."""
        if index in self.rows:
            return {i: -v % PRIME for i, v in self.rows[index].items() if i != index}
        return {index: 1}


class _Atoms:
    """Atoms numbered in a stable order, and the cells' rows over the non-empty ones."""

    def __init__(self, sizes: Mapping[Atom, int]) -> None:
        self.atoms = sorted((atom for atom, n in sizes.items() if n > 0), key=repr)
        self.number = {atom: i for i, atom in enumerate(self.atoms)}
        self.sizes = [sizes[atom] for atom in self.atoms]

    def row(self, cell: Iterable[Atom]) -> Vector:
        return {self.number[atom]: 1 for atom in cell if atom in self.number}

    def basis(self, cells: Iterable[Iterable[Atom]], labels: Iterable | None = None) -> _Basis:
        basis = _Basis()
        labels = iter(labels) if labels is not None else None
        for cell in cells:
            label = next(labels) if labels is not None else None
            row = self.row(cell)
            if row:
                basis.add(row, label)
        return basis


def _combination(vectors: list[Vector]) -> list[int] | None:
    """Coefficients, not all zero, of a combination of the vectors that is zero; None when
    they are linearly independent (modulo PRIME)."""
    basis = _Basis()
    for position, vector in enumerate(vectors):
        if not basis.add(vector, position):
            _, used = basis.reduce(vector)
            # vector = sum(used) over the earlier ones: vector - that = 0.
            coefficients = [0] * len(vectors)
            for label, value in used.items():
                coefficients[label] = value
            coefficients[position] = (coefficients[position] - 1) % PRIME
            return coefficients
    return None


def _small_groups(basis: _Basis, atoms: _Atoms, minimum: int) -> list[tuple[list, list]]:
    """(atom numbers, coefficients) of each minimal group of atoms holding 1 to `minimum` - 1
    answers of which a non-zero combination lies in the basis."""
    small = [i for i, n in enumerate(atoms.sizes) if n < minimum]
    residues = {i: basis.residue(i) for i in small}
    found: list[tuple[list, list]] = []
    # Atoms can only combine to nothing if their residues share indices: search the groups
    # that are connected that way, within the answers' budget.
    touching: dict[int, set] = {}
    for atom, residue in residues.items():
        for index in residue:
            touching.setdefault(index, set()).add(atom)

    def neighbours(atom):
        return {b for index in residues[atom] for b in touching[index]} - {atom}

    def grow(group: list, budget: int, frontier: set) -> None:
        coefficients = _combination([residues[a] for a in group])
        if coefficients is not None:
            if not any(set(known) <= set(group) for known, _ in found):
                found.append((group, coefficients))
            return
        for atom in sorted(frontier):
            if atom <= group[0] or atom in group or atoms.sizes[atom] > budget:
                continue
            grow([*group, atom], budget - atoms.sizes[atom], (frontier | neighbours(atom)))

    for atom in small:
        grow([atom], minimum - 1 - atoms.sizes[atom], neighbours(atom))
    return found


def small_groups(
    cells: Iterable[Iterable[Atom]], sizes: Mapping[Atom, int], minimum: int
) -> list[frozenset]:
    """The groups of atoms holding 1 to `minimum` - 1 answers whose total (or any non-zero
    combination of their totals) follows from the cells' totals; minimal groups only, in a
    stable order."""
    atoms = _Atoms(sizes)
    found = _small_groups(atoms.basis(cells), atoms, minimum)
    return sorted(
        (frozenset(atoms.atoms[i] for i in group) for group, _ in found),
        key=lambda group: sorted(map(repr, group)),
    )


def suppress(
    cells: Mapping[Hashable, frozenset],
    sizes: Mapping[Atom, int],
    minimum: int,
    *,
    published: Iterable[Hashable] = (),
    withheld: Iterable[Hashable] = (),
) -> set:
    """The keys of `cells` that may be shown: every cell under `minimum` answers is withheld
    (primary suppression), then cells that take part in isolating a small group, the smallest
    of each combination found (complementary suppression), until no combination of the shown
    cells isolates one.

    `published` cells were shown before and stay known; `withheld` ones stay withheld. Cells
    over the same atoms show the same figure (a pair on both sides' scorecards): they are
    shown or withheld together. Stable: the same input gives the same answer."""
    atoms = _Atoms(sizes)

    def size(key) -> int:
        return sum(sizes.get(atom, 0) for atom in cells[key])

    published = set(published) & set(cells)
    fixed = {cells[key] for key in published}
    withheld = set(withheld)
    shown = {
        key
        for key in cells
        if key in published or (key not in withheld and (size(key) == 0 or size(key) >= minimum))
    }
    # One row per distinct set of atoms; the earlier publications first.
    distinct = sorted(
        {cells[key] for key in shown},
        key=lambda cell: (
            cell not in fixed,
            sum(sizes.get(a, 0) for a in cell),
            repr(sorted(cell, key=repr)),
        ),
    )
    live = [cell for cell in distinct if cell not in fixed]
    position = {cell: i for i, cell in enumerate(distinct)}
    while True:
        rows = [cell for cell in distinct if cell in fixed or cell in live]
        basis = atoms.basis(rows, labels=[position[cell] for cell in rows])
        found = _small_groups(basis, atoms, minimum)
        dropped = set()
        for group, coefficients in found:
            vector = {atom: c for atom, c in zip(group, coefficients, strict=True) if c}
            _, used = basis.reduce(vector)
            taking_part = [distinct[label] for label in used if distinct[label] not in fixed]
            if taking_part and not dropped & set(taking_part):
                # The smallest (the list is sorted so) of the cells this combination uses.
                dropped.add(min(taking_part, key=position.get))
        if not dropped:
            # None left, or only earlier publications isolate them: nothing to do here.
            withheld_sets = {cell for cell in distinct if cell not in fixed and cell not in live}
            return {key for key in shown if cells[key] not in withheld_sets}
        live = [cell for cell in live if cell not in dropped]
