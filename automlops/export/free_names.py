"""Which global names a piece of studio source needs, and where a library exposes a name.

Inlining a studio function into an exported script (:class:`automlops.export.source.SourceWriter`)
means bringing along everything it reads from its module. Three small readers answer that:

* :class:`FreeNames` walks a function's or class's syntax tree (:mod:`ast`) and lists the names it
  *loads* but does not bind itself (arguments, locals and local imports are skipped);
* :func:`module_imports` maps each name a module binds by a top-level ``import`` to that statement,
  so a free name such as ``pd`` becomes ``import pandas as pd`` in the script;
* :func:`public_module` finds the shortest importable module exposing a class under its name
  (``sklearn.linear_model`` rather than ``sklearn.linear_model._logistic``), so the script's imports
  read as a person would write them.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import types
from typing import Any

__all__ = ["FreeNames", "module_imports", "public_module"]


def public_module(obj: Any) -> str:
    """The shortest importable module that exposes ``obj`` under its name (``sklearn.linear_model``)."""
    module = obj.__module__
    parts = module.split(".")
    for n in range(1, len(parts) + 1):
        candidate = ".".join(parts[:n])
        if any(p.startswith("_") for p in parts[1:n]):
            break
        try:
            if getattr(importlib.import_module(candidate), obj.__name__, None) is obj:
                return candidate
        except ImportError:
            continue
    return module


class FreeNames(ast.NodeVisitor):
    """Names a function or class reads from its module (annotations and local names skipped)."""

    def __init__(self) -> None:
        self.loaded: list[str] = []
        self.local: set[str] = set()

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.loaded.append(node.id)
        else:
            self.local.add(node.id)

    def visit_arg(self, node: ast.arg) -> None:
        self.local.add(node.arg)  # the annotation is not visited: with postponed annotations it is never run

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for deco in node.decorator_list:
            self.visit(deco)
        self.visit(node.args)
        for stmt in node.body:
            self.visit(stmt)

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        self.visit(node.target)

    def visit_Import(self, node: ast.Import) -> None:
        self.local.update((a.asname or a.name).split(".")[0] for a in node.names)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self.local.update(a.asname or a.name for a in node.names)

    def free(self) -> list[str]:
        seen: dict[str, None] = {}
        for name in self.loaded:
            if name not in self.local:
                seen.setdefault(name)
        return list(seen)


def module_imports(module: types.ModuleType) -> dict[str, ast.stmt]:
    """Each name a module binds by an import statement at its top level -> that statement."""
    tree = ast.parse(inspect.getsource(module))
    out: dict[str, ast.stmt] = {}
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                out[(alias.asname or alias.name).split(".")[0]] = node
    return out
