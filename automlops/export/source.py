"""Turning live Python objects back into source code: the heart of "eject to code".

A fitted scikit-learn model remembers how it was built: ``get_params(deep=False)`` returns the
arguments its constructor was given (a ``Pipeline``'s steps, a ``ColumnTransformer``'s column
lists, a forest's ``n_estimators``...). Writing ``ClassName(arg=value, ...)`` for each of them,
recursively, gives a constructor expression that rebuilds the *same recipe*, untrained. Only the
arguments that differ from the class's defaults are written (as scikit-learn's own ``repr`` does),
so the script reads like something a person would write.

Some building blocks are the studio's own (a date splitter, an early-stopping wrapper, the
metric functions). The script must run without the studio installed, so their source is copied
in (*inlined*): :class:`SourceWriter` reads each one with :func:`inspect.getsource`, finds the
global names it uses (with :mod:`ast`, in :mod:`automlops.export.free_names`), and brings those
along too - an ``import`` line for a library, a constant's value, or the inlined source of
another studio function or class - in an order where everything is defined before it is used.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import math
import re
import sys
import textwrap
import types
from collections.abc import Mapping
from typing import Any

import numpy as np

from automlops.errors import ConfigError
from automlops.export.free_names import FreeNames, module_imports, public_module

__all__ = ["ExportError", "SourceWriter"]

STUDIO = "automlops"
LINE = 100  # wrap an expression over several lines beyond this width


class ExportError(ConfigError):
    """Something in the saved model cannot be written as plain Python."""


class SourceWriter:
    """Collects the imports and inlined definitions a script needs, and writes expressions.

    ``expression(value)`` returns Python source that evaluates to ``value`` (an estimator, a list,
    an array, a function...) once :meth:`preamble` has run; ``inline(obj)`` copies a studio
    function or class in. Names are kept as the studio wrote them, so the script can be read
    side by side with the studio's source.
    """

    def __init__(self) -> None:
        self.imports: dict[str, None] = {"import numpy as np": None}
        self.definitions: list[str] = []
        self._defined: dict[str, Any] = {}  # name -> object it stands for
        self._in_progress: set[int] = set()
        self._imports_of: dict[str, dict[str, ast.stmt]] = {}
        self.libraries: set[str] = {"numpy"}
        self.constants: dict[str, str] = {}  # NAME -> source: column lists named once, used by build_model
        self._named_lists: dict[tuple[str, ...], str] = {}
        self.hoisting = False  # name long column lists (inside build_model) instead of repeating them

    def name_list(self, name: str, values: list[str]) -> str:
        """Write ``values`` once as the constant ``name``; the same list elsewhere becomes that name."""
        self._named_lists.setdefault(tuple(values), name)
        self.constants[name] = self._wrap_words(values)
        return name

    @staticmethod
    def _wrap_words(values: list[str]) -> str:
        """A list of strings filled up to the line width (column lists can be long)."""
        lines, line = [], "    "
        for word in (repr(v) + "," for v in values):
            if len(line) + len(word) + 1 > LINE and line.strip():
                lines.append(line.rstrip())
                line = "    "
            line += word + " "
        lines.append(line.rstrip())
        return "[\n" + "\n".join(lines) + "\n]"

    def third_party(self) -> list[str]:
        """The libraries (top-level import names) the script imports that are not in Python's standard library."""
        return sorted(lib for lib in self.libraries if lib not in sys.stdlib_module_names and lib != "__future__")

    # ------------------------------------------------------------------ imports
    def import_module(self, module: str, alias: str | None = None) -> str:
        name = alias or module
        self.imports.setdefault(f"import {module}" + (f" as {alias}" if alias and alias != module else ""))
        self.libraries.add(module.split(".")[0])
        return name

    def import_name(self, module: str, name: str, alias: str | None = None) -> str:
        bound = alias or name
        self._claim(bound, (module, name))
        self.imports.setdefault(f"from {module} import {name}" + (f" as {alias}" if alias and alias != name else ""))
        self.libraries.add(module.split(".")[0])
        return bound

    def _claim(self, name: str, what: Any) -> None:
        known = self._defined.get(name)
        if known is not None and known != what and known is not what:
            raise ExportError(f"two different objects are both called '{name}' in the exported script; the export "
                              "cannot name them apart")
        self._defined[name] = what

    def reference(self, obj: Any) -> str:
        """The name under which a class or function is available in the script (imported or inlined)."""
        if getattr(obj, "__module__", "").split(".")[0] == STUDIO:
            return self.inline(obj)
        if isinstance(obj, types.ModuleType):
            return self.import_module(obj.__name__)
        if getattr(obj, "__module__", None) == "numpy" or obj in (np.float64, np.float32, np.int64, np.int32,
                                                                 np.object_, np.bool_):
            return f"np.{obj.__name__}"
        name = getattr(obj, "__name__", None)
        if name is None or getattr(obj, "__qualname__", name) != name or name == "<lambda>":
            raise ExportError(f"cannot refer to {obj!r} from a script (not a top-level class or function)")
        if obj.__module__ == "builtins":
            return name
        return self.import_name(public_module(obj), name)

    # ------------------------------------------------------------------ inlining
    def inline(self, obj: Any, name: str | None = None) -> str:
        """Copy the source of a studio function or class (and what it uses) into the script."""
        own = obj.__name__
        if self._defined.get(own) is obj:
            return own
        if id(obj) in self._in_progress:
            return own  # a recursive reference: defined by the time it runs
        self._claim(own, obj)
        self._in_progress.add(id(obj))
        module = sys.modules[obj.__module__]
        source, tree = self._source(obj)
        for free in self._free_names(tree):
            if free == own:
                continue
            self._bring(module, free)
        self.definitions.append(source)
        self._in_progress.discard(id(obj))
        return own

    def _source(self, obj: Any) -> tuple[str, ast.AST]:
        """The object's source with studio-only decorators (registrations) removed."""
        lines = textwrap.dedent(inspect.getsource(obj)).splitlines()
        tree = ast.parse("\n".join(lines))
        node = tree.body[0]
        module = sys.modules[obj.__module__]
        drop: set[int] = set()
        for deco in list(getattr(node, "decorator_list", [])):
            root = deco.func if isinstance(deco, ast.Call) else deco
            while isinstance(root, ast.Attribute):
                root = root.value
            value = getattr(module, root.id, None) if isinstance(root, ast.Name) else None
            if getattr(value, "__module__", "").split(".")[0] == STUDIO:
                drop.update(range(deco.lineno - 1, (deco.end_lineno or deco.lineno)))
                node.decorator_list.remove(deco)  # type: ignore[attr-defined]
        kept = [line for i, line in enumerate(lines) if i not in drop]
        return "\n".join(kept), tree

    @staticmethod
    def _free_names(tree: ast.AST) -> list[str]:
        visitor = FreeNames()
        node = tree.body[0]  # type: ignore[attr-defined]
        if isinstance(node, ast.ClassDef):
            for base in node.bases + [k.value for k in node.keywords] + node.decorator_list:
                visitor.visit(base)
            for stmt in node.body:
                visitor.visit(stmt)
            # a class body's own names (methods, attributes) are not globals
            visitor.local.update(n.name for n in node.body if isinstance(n, ast.FunctionDef | ast.ClassDef))
        else:
            visitor.visit(node)
        return [n for n in visitor.free() if not hasattr(builtins, n)]

    def _bring(self, module: types.ModuleType, name: str) -> None:
        """Make the global ``name`` of ``module`` available in the script."""
        if name not in vars(module):
            return  # a name bound elsewhere (a comprehension variable, a class attribute)
        value = vars(module)[name]
        if module.__name__ not in self._imports_of:
            self._imports_of[module.__name__] = module_imports(module)
        statement = self._imports_of[module.__name__].get(name)
        if statement is not None and not self._is_studio(statement):
            self._import_like(statement, name)
        elif inspect.isfunction(value) or inspect.isclass(value):
            if value.__module__.split(".")[0] == STUDIO:
                self.inline(value)
                if value.__name__ != name:
                    self._constant(name, value.__name__)
            else:
                self.reference(value)
        elif isinstance(value, types.ModuleType):
            self.import_module(value.__name__, name)
        else:
            self._constant(name, self.expression(value))

    @staticmethod
    def _is_studio(statement: ast.stmt) -> bool:
        if isinstance(statement, ast.ImportFrom):
            return (statement.module or "").split(".")[0] == STUDIO or statement.level > 0
        return any(a.name.split(".")[0] == STUDIO for a in statement.names)  # type: ignore[attr-defined]

    def _import_like(self, statement: ast.stmt, name: str) -> None:
        for alias in statement.names:  # type: ignore[attr-defined]
            bound = (alias.asname or alias.name).split(".")[0]
            if bound != name:
                continue
            if isinstance(statement, ast.ImportFrom):
                self.import_name(str(statement.module), alias.name, alias.asname)
            else:
                self.import_module(alias.name, alias.asname)

    def _constant(self, name: str, source: str) -> None:
        self._claim(name, ("constant", source))
        line = f"{name} = {source}"
        if line not in self.definitions:
            self.definitions.append(line)

    # ------------------------------------------------------------------ expressions
    def model_expression(self, value: Any, indent: int = 4) -> str:
        """Like :meth:`expression`, with each long column list written once as a named constant."""
        self.hoisting = True
        try:
            return self.expression(value, indent)
        finally:
            self.hoisting = False

    def expression(self, value: Any, indent: int = 0) -> str:
        """Python source evaluating to ``value`` (see the module docstring for what is supported)."""
        one_line = self._expr(value, None)
        if len(one_line) + indent <= LINE:
            return one_line
        return self._expr(value, indent)

    def _expr(self, value: Any, indent: int | None) -> str:
        if value is None or isinstance(value, bool | str | bytes):
            return repr(value)
        if isinstance(value, np.generic):
            return self._expr(value.item(), indent)
        if isinstance(value, int):
            return repr(value)
        if isinstance(value, float):
            if math.isnan(value):
                return "np.nan"
            if math.isinf(value):
                return "np.inf" if value > 0 else "-np.inf"
            return repr(value)
        if isinstance(value, np.ndarray):
            return f"np.array({self._expr(value.tolist(), indent)}, dtype={self._dtype(value.dtype)})"
        if isinstance(value, np.dtype):
            return f"np.dtype({str(value)!r})"
        if isinstance(value, re.Pattern):  # a compiled regular expression (the lake's number patterns)
            flags = value.flags & ~re.UNICODE  # implied for a text pattern
            return f"{self.import_module('re')}.compile({value.pattern!r}{f', {flags}' if flags else ''})"
        if self.hoisting and isinstance(value, list) and len(value) >= 4 and all(isinstance(v, str) for v in value):
            known = self._named_lists.get(tuple(value))
            return known or self.name_list(f"COLUMNS_{len(self._named_lists) + 1}", value)
        if isinstance(value, list | tuple | set | frozenset):
            return self._sequence(value, indent)
        if isinstance(value, Mapping):
            items = [f"{self._expr(k, None)}: {self._expr(v, self._deeper(indent))}" for k, v in value.items()]
            return self._wrap("{", items, "}", indent)
        if _is_registry(value):
            return self._expr({k: v for k, v in value.items()}, indent)
        if inspect.isclass(value) or inspect.isfunction(value) or isinstance(value, types.BuiltinFunctionType):
            return self.reference(value)
        if hasattr(value, "get_params") and not inspect.isclass(value):
            return self._estimator(value, indent)
        raise ExportError(f"cannot write a {type(value).__name__} ({value!r:.60}) as plain Python")

    @staticmethod
    def _dtype(dtype: np.dtype) -> str:
        return "object" if dtype.kind == "O" else f"np.{dtype.name}"

    @staticmethod
    def _deeper(indent: int | None) -> int | None:
        return None if indent is None else indent + 4

    def _sequence(self, value: Any, indent: int | None) -> str:
        if isinstance(value, tuple) and 1 < len(value) <= 3 and isinstance(value[0], str) and indent is not None:
            flat = self._expr(value, None)  # a named step ('prep', ColumnTransformer(...)): name on the same line
            if len(flat) + indent <= LINE:
                return flat
            return "(" + ", ".join([repr(value[0]), *(self._expr(v, indent) for v in value[1:])]) + ")"
        items = [self._expr(v, self._deeper(indent)) for v in value]
        if isinstance(value, list):
            return self._wrap("[", items, "]", indent)
        if isinstance(value, tuple):
            return self._wrap("(", items + ([""] if len(items) == 1 else []), ")", indent).replace(", )", ",)")
        # A set's order changes from one process to the next (string hashes are salted): written sorted,
        # the same model always gives the same script.
        return ("frozenset(" if isinstance(value, frozenset) else "set(") + self._wrap("[", sorted(items), "]", indent) + ")"

    def _wrap(self, left: str, items: list[str], right: str, indent: int | None) -> str:
        flat = left + ", ".join(items) + right
        if indent is None or len(flat) + indent <= LINE or not items:
            return flat
        pad = " " * (indent + 4)
        return left + "\n" + ",\n".join(pad + i for i in items) + ",\n" + " " * indent + right

    def _estimator(self, estimator: Any, indent: int | None) -> str:
        cls = type(estimator)
        name = self.reference(cls)
        args = [f"{k}={self._expr(v, self._deeper(indent))}" for k, v in _changed_params(estimator).items()]
        return self._wrap(f"{name}(", args, ")", indent)


def _is_registry(value: Any) -> bool:
    return type(value).__name__ == "Registry" and type(value).__module__.startswith(STUDIO)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray) or hasattr(a, "get_params"):
        return False
    try:
        return bool(type(a) is type(b) and a == b)
    except (TypeError, ValueError):
        return False


def _changed_params(estimator: Any) -> dict[str, Any]:
    """Constructor arguments that differ from the class's defaults (all of them for ``**kwargs``)."""
    params = estimator.get_params(deep=False)
    signature = inspect.signature(type(estimator).__init__)
    out: dict[str, Any] = {}
    for key, value in params.items():
        parameter = signature.parameters.get(key)
        if parameter is None:  # taken through **kwargs (LightGBM's verbose, XGBoost's settings)
            if value is not None:
                out[key] = value
        elif parameter.default is inspect.Parameter.empty or not _same(value, parameter.default):
            out[key] = value
    return out

