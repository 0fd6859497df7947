"""The layers: dependencies flow one way, `servicedesk -> scorecards -> reviews -> surveys ->
requests_app -> departments -> core`. A module imports only from its own package and the
packages below it; a reaction that goes up uses a hook documented where it is sent."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Bottom first: each package may import those before it.
LAYERS = ["core", "departments", "requests_app", "surveys", "reviews", "scorecards", "servicedesk"]


def first_party_imports(path: Path) -> set[str]:
    """The first-party packages a module imports (at any depth: lazy imports count too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {name.split(".")[0] for name in names} & set(LAYERS)
    return found


@pytest.mark.parametrize("package", LAYERS)
def test_a_package_imports_only_from_the_layers_below(package):
    allowed = set(LAYERS[: LAYERS.index(package) + 1])
    modules = [path for path in (ROOT / package).rglob("*.py") if "migrations" not in path.parts]
    assert modules
    wrong = {
        str(path.relative_to(ROOT)): sorted(first_party_imports(path) - allowed)
        for path in modules
        if first_party_imports(path) - allowed
    }
    assert wrong == {}
