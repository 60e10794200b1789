"""The dependency direction of design.md, checked on the source (ast, nothing is imported).

    app.py, api.py, cli.py → ui/, serving/   (only these import streamlit / fastapi)
                           → tabular/, ...   (engines)
                           → search/         (the task-agnostic driver: never imports an engine)
                           → mlops/          (never imports the engines or the UI)
                           → core/, config.py, errors.py (import nothing internal)

And configuration is read in one place: only ``automlops/config.py`` touches the environment.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "automlops"
UI_LIBRARIES = ("streamlit", "fastapi", "starlette", "uvicorn")


def _modules(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """Every absolute module name imported by ``path`` (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            yield node.lineno, module
            for alias in node.names:  # `from automlops import tabular` imports a subpackage
                if module in ("automlops", *(f"automlops.{p}" for p in ("core", "mlops", "tabular", "search"))):
                    yield node.lineno, f"{module}.{alias.name}"
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant):
            yield node.lineno, str(node.args[0].value)


def _violations(folder: str, forbidden: tuple[str, ...], allowed: tuple[str, ...] = ()) -> list[str]:
    root = PACKAGE / folder
    if not root.exists():
        pytest.skip(f"automlops/{folder} does not exist yet")
    out = []
    for path in _modules(root):
        for line, module in _imports(path):
            if module in allowed or any(module.startswith(a + ".") for a in allowed):
                continue
            if any(module == f or module.startswith(f + ".") for f in forbidden):
                out.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {module}")
    return out


def test_the_scanner_sees_imports() -> None:
    found = {m for p in _modules(PACKAGE / "tabular") for _, m in _imports(p)}
    assert "automlops.core.problem" in found and "optuna" in found


ENGINES = ("tabular", "forecasting", "clustering", "anomaly", "vision")
ENGINE_MODULES = tuple(f"automlops.{e}" for e in (*ENGINES, "vision", "stability"))


@pytest.mark.parametrize("folder", ["core", "mlops", "search", *ENGINES])
def test_engines_never_import_ui_frameworks(folder: str) -> None:
    assert _violations(folder, UI_LIBRARIES) == []


def test_mlops_never_imports_engines_or_ui() -> None:
    engines = (*ENGINE_MODULES, "automlops.tasks", "automlops.ui", "automlops.serving", "automlops.cli")
    assert _violations("mlops", engines) == []


def test_the_search_driver_never_imports_an_engine_or_the_ui() -> None:
    forbidden = (*ENGINE_MODULES, "automlops.tasks", "automlops.ui", "automlops.serving", "automlops.cli")
    assert _violations("search", forbidden) == []


def test_core_imports_nothing_internal_but_errors() -> None:
    internal = ("automlops",)
    allowed = ("automlops.core", "automlops.errors")
    assert _violations("core", internal, allowed) == []


@pytest.mark.parametrize("folder", ["core", *ENGINES])
def test_engines_do_not_import_the_ui_layer(folder: str) -> None:
    layers = ("automlops.ui", "automlops.serving", "automlops.cli", "automlops.tasks")
    assert _violations(folder, layers) == []


@pytest.mark.parametrize("engine", ["forecasting", "clustering", "anomaly", "vision"])
def test_the_new_engines_do_not_reach_into_each_other(engine: str) -> None:
    # the table engines share the tabular feature preprocessing; the vision engine shares nothing with them
    shared = ("tabular",) if engine == "vision" else ()
    others = tuple(f"automlops.{e}" for e in ("forecasting", "clustering", "anomaly", "vision", *shared)
                   if e != engine)
    assert _violations(engine, others) == []


# Exporting credentials or a setting for a library is a write, not a read; ``setdefault`` exports one unless the
# user already set it (core/memory.py: CatBoost's allocator), which reads no configuration of the studio.
_WRITE_METHODS = ("pop", "update", "clear", "setdefault")


def _environment_reads(path: Path) -> Iterator[tuple[int, str]]:
    """``os.getenv``, ``os.environ.get``, ``os.environ[...]`` (loaded), ``in os.environ``... but not writes."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "os" and any(
                a.name in ("environ", "getenv", "environb") for a in node.names):
            yield node.lineno, "from os import environ/getenv"
        if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os"):
            continue
        if node.attr in ("getenv", "getenvb"):
            yield node.lineno, f"os.{node.attr}"
        elif node.attr in ("environ", "environb"):
            parent = parents.get(node)
            if isinstance(parent, ast.Subscript) and isinstance(parent.ctx, ast.Store | ast.Del):
                continue
            if isinstance(parent, ast.Attribute) and parent.attr in _WRITE_METHODS:
                continue
            what = f"os.environ.{parent.attr}" if isinstance(parent, ast.Attribute) else "os.environ"
            yield node.lineno, what


def test_the_environment_scanner(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    code = ("import os\nos.environ['A'] = '1'\nos.environ.pop('A', None)\nx = os.getenv('B')\n"
            "y = os.environ.get('C')\nz = os.environ['D']\nw = 'E' in os.environ\nos.environ.setdefault('F', '0')\n")
    sample.write_text(code, encoding="utf-8")
    assert sorted(line for line, _ in _environment_reads(sample)) == [4, 5, 6, 7]


def test_only_config_reads_the_environment() -> None:
    offenders = [f"{p.relative_to(PACKAGE.parent)}:{line} uses {what}"
                 for p in _modules(PACKAGE) if p != PACKAGE / "config.py"
                 for line, what in _environment_reads(p)]
    assert offenders == []


@pytest.mark.parametrize("folder", ["stability", "lab", "export"])
def test_the_analyses_are_engines_too(folder: str) -> None:
    """Stability analysis, the search lab and eject-to-code sit beside the engines: no UI, no server, no CLI."""
    layers = ("automlops.ui", "automlops.serving", "automlops.cli", *UI_LIBRARIES)
    assert _violations(folder, layers) == []
