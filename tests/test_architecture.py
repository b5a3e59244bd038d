"""The layers of the package, read from its source with ``ast``: core → stages → pipeline → DAGs.

- no import circle anywhere in ``include/cchc`` (imports inside functions count: they are edges too);
- the core imports nothing of ``cchc`` outside itself;
- no module but the settings reads the environment;
- no period path (``<output>/<authority>/<period>``) is built outside the period folder object;
- one atomic-write helper: nothing else renames a temporary file over its target;
- the package ``__init__`` files are plain (no lazy ``__getattr__``);
- the tables module imports no stage and loads neither pandas nor the stages when imported.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from support.paths import ROOT

PACKAGE = ROOT / "include" / "cchc"
MIGRATIONS = PACKAGE / "warehouse" / "migrations"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


SOURCES = {
    _module_name(path): path for path in sorted(PACKAGE.rglob("*.py")) if MIGRATIONS not in path.parents
}
TREES = {name: ast.parse(path.read_text(encoding="utf-8")) for name, path in SOURCES.items()}


def _imports(name: str) -> set[str]:
    """Every ``cchc`` module the module imports, at any depth of its code."""
    out: set[str] = set()
    for node in ast.walk(TREES[name]):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("cchc"))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("cchc"):
            module = node.module or ""
            for alias in node.names:
                candidate = f"{module}.{alias.name}"
                out.add(candidate if candidate in SOURCES else module)
    return {m for m in out if m in SOURCES and m != name}


GRAPH = {name: _imports(name) for name in SOURCES}


def _cycles() -> list[list[str]]:
    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(GRAPH[node]):
            if state.get(target) == 1:
                found.append(stack[stack.index(target) :] + [target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in sorted(GRAPH):
        if node not in state:
            visit(node)
    return found


def test_no_import_cycle_in_the_package():
    assert _cycles() == []


def test_the_core_imports_no_stage():
    outside = {
        name: sorted(t for t in targets if not t.startswith("cchc.core"))
        for name, targets in GRAPH.items()
        if name.startswith("cchc.core")
    }
    assert {k: v for k, v in outside.items() if v} == {}


def test_the_tables_import_no_stage():
    stages = ("cchc.portal", "cchc.quality", "cchc.rules", "cchc.letter", "cchc.delivery", "cchc.pipeline")
    assert [t for t in GRAPH["cchc.warehouse.schema"] if t.startswith(stages)] == []


def test_importing_the_tables_loads_neither_pandas_nor_a_stage():
    script = (
        "import sys, cchc.warehouse.schema; "
        "print(sorted(m for m in sys.modules if m == 'pandas' or m.startswith(('cchc.rules', 'cchc.letter', "
        "'cchc.delivery', 'cchc.portal', 'cchc.quality'))))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _attribute_chain(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def _nodes(outside: str | None = None):
    """(module name, node) for every AST node of the package, but those of the module ``outside``."""
    for name, tree in TREES.items():
        if name != outside:
            for node in ast.walk(tree):
                yield name, node


def test_only_the_settings_read_the_environment():
    readers = []
    for name, node in _nodes(outside="cchc.core.settings"):
        if isinstance(node, ast.Attribute) and _attribute_chain(node) in ("os.environ", "os.getenv"):
            readers.append(f"{name}:{node.lineno}")
        if (
            isinstance(node, ast.ImportFrom)
            and node.module == "os"
            and {"environ", "getenv"} & {a.name for a in node.names}
        ):
            readers.append(f"{name}:{node.lineno}")
    assert readers == []


PERIOD_PATH_NAMES = {
    "raw",
    "extracted",
    "validation",
    "decisions.json",
    "letter.docx",
    "letter.pdf",
    "annex_chart.png",
    "extracted.csv",
    "parent_totals.json",
    "mail",
    "warehouse.db",
}


def test_no_period_path_is_built_outside_the_period_folder():
    """A ``/``-join with one of the period folder's names, or with ``authority_id`` then a period."""
    builders = []
    for name, node in _nodes(outside="cchc.core.paths"):
        if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div)):
            continue
        right = node.right
        if "templates" in ast.unparse(node.left):  # the shipped Word template, not an artefact
            continue
        if isinstance(right, ast.Constant) and right.value in PERIOD_PATH_NAMES:
            builders.append(f"{name}:{node.lineno} / {right.value!r}")
        left = node.left
        if (
            isinstance(left, ast.BinOp)
            and isinstance(left.op, ast.Div)
            and "authority" in ast.unparse(left.right)
            and "period" in ast.unparse(right)
        ):
            builders.append(f"{name}:{node.lineno} {ast.unparse(node)}")
    assert builders == []


def test_one_atomic_write_helper():
    """``os.replace`` (a rename over the target) appears in the core's file helpers only."""
    replacing = sorted(
        f"{name}:{node.lineno}"
        for name, node in _nodes(outside="cchc.core.files")
        if isinstance(node, ast.Attribute) and _attribute_chain(node) in ("os.replace", "os.rename")
    )
    assert replacing == []
    temporaries = sorted(
        f"{name}:{node.lineno}"
        for name, node in _nodes()
        if isinstance(node, ast.Attribute)
        and _attribute_chain(node) in ("tempfile.mkstemp", "tempfile.NamedTemporaryFile")
    )
    assert temporaries == []


@pytest.mark.parametrize("name", sorted(n for n, p in SOURCES.items() if p.name == "__init__.py"))
def test_package_init_files_import_plainly(name):
    functions = {n.name for n in TREES[name].body if isinstance(n, ast.FunctionDef)}
    assert "__getattr__" not in functions


def test_no_stage_imports_the_page():
    """The page (cchc.ui) reads what the stages made; nothing of the pipeline depends on it."""
    assert {
        n: sorted(t for t in GRAPH[n] if t.startswith("cchc.ui"))
        for n in GRAPH
        if not n.startswith("cchc.ui")
    } == {n: [] for n in GRAPH if not n.startswith("cchc.ui")}


def test_importing_the_page_loads_neither_airflow_nor_fastapi():
    script = (
        "import sys, cchc.ui.app, cchc.ui.data, cchc.ui.runs; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('airflow', 'fastapi')))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_scenarios_are_a_tool_beside_the_pipeline():
    """cchc.scenario writes config folders from the core alone; nothing but the command line uses it."""
    assert {
        n: sorted(t for t in GRAPH[n] if not t.startswith(("cchc.core", "cchc.scenario")))
        for n in GRAPH
        if n.startswith("cchc.scenario")
    } == {n: [] for n in GRAPH if n.startswith("cchc.scenario")}
    users = sorted(
        n
        for n in GRAPH
        if not n.startswith("cchc.scenario") and any(t.startswith("cchc.scenario") for t in GRAPH[n])
    )
    assert users == []
