"""The package's layers: imports run one way, and no module imports itself in a circle.

Every ``import`` and ``from … import`` in ``sim/`` is read from the syntax tree, including those
inside functions (the lazy ones), relative imports and ``from sim import x`` forms. Each module
belongs to a layer (its subpackage); a layer may import only the layers listed below it in
:data:`ALLOWED`. A planted wrong-way import and a planted cycle make the checks fail (tested below
on a copy of the package).
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT

# The layers from the bottom up; each may import every layer of a lower level (besides itself), and
# layers on one level (planning, verification) do not import each other.
LEVELS: tuple[tuple[str, ...], ...] = (
    ("foundation",),
    ("scenario",),
    ("engine",),
    ("stats",),
    ("io",),
    ("experiments",),
    ("planning", "verification"),
    ("presentation",),
    ("app",),
    ("cli",),
    ("api",),
)
ALLOWED: dict[str, set[str]] = {
    layer: {lower for below in LEVELS[:level] for lower in below}
    for level, layers in enumerate(LEVELS)
    for layer in layers
}
FOUNDATION = {"sim.errors", "sim.version", "sim.registry"}


def layer_of(module: str) -> str:
    """The layer of a module of ``sim`` (``sim.engine.model`` -> ``engine``)."""
    if module in FOUNDATION:
        return "foundation"
    if module in ("sim", "sim.__main__"):
        return "api"
    parts = module.split(".")
    if len(parts) >= 2 and parts[1] in ALLOWED:
        return parts[1]
    raise AssertionError(f"{module} belongs to no layer: put it in a layer's subpackage or add it to FOUNDATION")


def module_name(path: Path, package_root: Path) -> str:
    """``sim/engine/model.py`` -> ``sim.engine.model``; a package's ``__init__`` is the package."""
    parts = list(path.relative_to(package_root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, package_root: Path) -> list[tuple[int, str]]:
    """Every ``sim`` module *path* imports, at any depth of the file, as (line, module)."""
    name = module_name(path, package_root)
    is_package = path.name == "__init__.py"
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if alias.name.split(".")[0] == "sim"]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, name, is_package)
            if base is None or base.split(".")[0] != "sim":
                continue
            for alias in node.names:
                # ``from sim.engine import model`` imports the module sim.engine.model
                candidate = f"{base}.{alias.name}"
                found.append((node.lineno, candidate if _is_module(candidate, package_root) else base))
    return found


def _absolute(node: ast.ImportFrom, name: str, is_package: bool) -> str | None:
    if node.level == 0:
        return node.module
    parts = name.split(".") if is_package else name.split(".")[:-1]
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join(parts + ([node.module] if node.module else []))


def _is_module(module: str, package_root: Path) -> bool:
    rel = Path(*module.split(".")[1:]) if "." in module else Path()
    base = package_root / rel
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _resolve(module: str, package_root: Path) -> str:
    """The module itself, or its closest existing parent (``sim.x.attr`` -> ``sim.x``)."""
    while not _is_module(module, package_root) and "." in module:
        module = module.rsplit(".", 1)[0]
    return module


def import_graph(package_root: Path) -> dict[str, set[tuple[int, str]]]:
    """Module -> the (line, module) pairs of ``sim`` modules it imports."""
    graph: dict[str, set[tuple[int, str]]] = {}
    for path in sorted(package_root.rglob("*.py")):
        if "scenarios" in path.relative_to(package_root).parts:
            continue
        graph[module_name(path, package_root)] = {
            (line, _resolve(target, package_root)) for line, target in imports_of(path, package_root)
        }
    return graph


def wrong_way_imports(package_root: Path) -> list[str]:
    """Each import of a layer that is not below the importing module's layer."""
    problems = []
    for module, targets in import_graph(package_root).items():
        mine = layer_of(module)
        for line, target in sorted(targets):
            theirs = layer_of(target)
            if theirs != mine and theirs not in ALLOWED[mine]:
                problems.append(f"{module}:{line} ({mine}) imports {target} ({theirs})")
    return problems


def cycles(package_root: Path) -> list[list[str]]:
    """Circles of imports between modules (at any depth of the file, lazy ones included).

    A package's ``__init__`` is left out of the graph's edges into it when a module imports a
    sibling through it, since Python runs the package first anyway; a circle through real modules
    is what makes import order fragile.
    """
    graph = {m: {t for _, t in targets if t != m} for m, targets in import_graph(package_root).items()}
    found, state, stack = [], {}, []

    def visit(node: str) -> None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


PACKAGE = ROOT / "sim"


def test_every_module_belongs_to_a_layer():
    for module in import_graph(PACKAGE):
        layer_of(module)


def test_imports_run_one_way():
    assert wrong_way_imports(PACKAGE) == []


def test_no_import_cycles():
    assert cycles(PACKAGE) == []


def test_engine_never_imports_files_pictures_or_command_line():
    """The engine runs from data: no YAML, no matplotlib, no argparse, no file writing modules."""
    banned = {"yaml", "matplotlib", "argparse", "sim.io", "sim.presentation", "sim.cli"}
    for path in sorted((PACKAGE / "engine").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else ([node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            )
            for name in names:
                assert not any(name == b or name.startswith(b + ".") for b in banned), f"{path.name} imports {name}"


@pytest.fixture()
def package_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "sim"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "scenarios"))
    return copy


@pytest.mark.parametrize(
    "planted",
    [
        "from sim.cli.common import user_error\n",
        "from sim import cli\n",
        "from sim.presentation import figures\n",
        "def later():\n    from sim.experiments.runs import run\n    return run\n",
        "import sim.io.loader\n",
    ],
)
def test_a_planted_wrong_way_import_is_found(package_copy: Path, planted: str):
    target = package_copy / "engine" / "dispatch.py"
    target.write_text(target.read_text(encoding="utf-8") + "\n" + planted, encoding="utf-8")
    problems = wrong_way_imports(package_copy)
    assert len(problems) == 1 and problems[0].startswith("sim.engine.dispatch:"), problems


def test_a_planted_relative_wrong_way_import_is_found(package_copy: Path):
    target = package_copy / "scenario" / "schema.py"
    target.write_text(target.read_text(encoding="utf-8") + "\nfrom ..engine import model\n", encoding="utf-8")
    assert [p.split(" ")[0] for p in wrong_way_imports(package_copy)] == [f"sim.scenario.schema:{_last_line(target)}"]


def test_a_planted_cycle_is_found(package_copy: Path):
    target = package_copy / "engine" / "rng.py"
    target.write_text(
        target.read_text(encoding="utf-8") + "\ndef f():\n    from sim.engine import model\n", encoding="utf-8"
    )
    assert any("sim.engine.rng" in c and "sim.engine.model" in c for c in cycles(package_copy))


def _last_line(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())
