"""The studio code a bundled model needs to load, and nothing more.

A saved model names every class and function it is made of by its *import path*: a skops file
records ``"automlops.tabular.preprocessing.DatetimeParts"`` in its JSON tree, a joblib file says
"import ``DatetimeParts`` from ``automlops.tabular.preprocessing``" in its pickle opcodes. Most of
those paths are scikit-learn's or numpy's, which ``pip`` installs; a few are the studio's own (the
date splitter, the top-categories grouper, the text cast of categorical columns). Loading the file
anywhere else needs *something* importable at exactly those paths.

Three ways to provide it were weighed:

* **a wheel of the whole studio** (``pip wheel --no-deps``): importing ``automlops.tabular``
  imports its runner, which needs Optuna, MLflow, pydantic-settings... a 2 GB image for a
  model that needs three small classes, and the full studio to audit inside a serving image;
* **rewriting the model file** to point at other names: its bytes would no longer match the
  SHA-256 the store verified, so the bundle could not prove it ships the model that was tested;
* **vendoring just the definitions** (what this module does): the names the file refers to are
  found (:func:`studio_globals`), and their source - with the studio functions, classes and
  constants they use, found the same way ``automlops export`` finds them
  (:class:`~automlops.export.source.SourceWriter`) - is written into a small ``automlops/``
  folder inside the bundle, at the same module paths. The model file is shipped byte for byte.

The service's request validation is the studio's own too: :data:`VERBATIM` modules (and the
studio modules they import) are copied *unchanged*, so the bundle answers bad rows with the
same per-field messages and feeds the model the same values as the studio's API.

How the names are found: for any format, the loaded object is pickled into nothing by a pickler
whose ``reducer_override`` sees every class and function the object graph refers to (pickle
writes each one as "module + name": exactly the references a joblib file holds); for skops,
the file's own list of non-default types is added (:func:`skops.io.get_untrusted_types`).
"""

from __future__ import annotations

import ast
import importlib
import io
import pickle
import re
import sys
import types
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from automlops.errors import ModelError

__all__ = ["SKOPS_LOADER", "STUDIO", "VERBATIM", "module_closure", "referenced_libraries", "skops_trusted_types", "studio_globals",
           "write_vendored"]

STUDIO = "automlops"
VERBATIM = ("automlops.serving.validation",)  # what app.py imports from the studio, copied unchanged
SKOPS_LOADER = "automlops.mlops._skops"  # also copied unchanged for a skops file: skops.io without torch
_ROOT = Path(__file__).resolve().parent.parent  # the studio package folder


class _Discard(io.RawIOBase):
    """A file that forgets what is written to it: only the pickler's side effects matter."""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return len(memoryview(data))


class _Recorder(pickle.Pickler):
    """Pickles into nothing and remembers every class and function it had to name."""

    def __init__(self) -> None:
        super().__init__(_Discard(), protocol=pickle.HIGHEST_PROTOCOL)
        self.found: set[tuple[str, str]] = set()

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, type | types.FunctionType | types.BuiltinFunctionType):
            module = getattr(obj, "__module__", None)
            name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
            if module and name:
                self.found.add((str(module), str(name)))
        return NotImplemented


def _pickled_globals(model: object) -> set[tuple[str, str]]:
    recorder = _Recorder()
    try:
        recorder.dump(model)
    except Exception as exc:  # noqa: BLE001 - a model pickle cannot write cannot be shipped by reference either
        raise ModelError(f"cannot list what the model is made of ({type(exc).__name__}: {exc}); it cannot be "
                         "bundled") from None
    return recorder.found


def skops_trusted_types(data: bytes) -> list[str]:
    """The non-default types a skops file needs (the store already checked them against its allow-list)."""
    from automlops.mlops._skops import untrusted_types

    return untrusted_types(data)


def studio_globals(model: object, trusted_types: Iterable[str] = ()) -> dict[str, list[str]]:
    """``{module: [names]}`` of the studio's own classes and functions the saved model refers to."""
    found = {(m, n) for m, n in _pickled_globals(model) if m.split(".")[0] == STUDIO}
    found |= {tuple(t.rsplit(".", 1)) for t in trusted_types if t.split(".")[0] == STUDIO}  # type: ignore[misc]
    out: dict[str, list[str]] = {}
    for module, name in sorted(found):
        if "." in name or "<" in name:
            raise ModelError(f"the model refers to {module}.{name}, which is not a top-level class or function; "
                             "it cannot be bundled")
        out.setdefault(module, []).append(name)
    return out


def referenced_libraries(model: object) -> set[str]:
    """Top-level import names (outside the standard library and the studio) the model's objects come from."""
    return {m.split(".")[0] for m, _ in _pickled_globals(model)} - set(sys.stdlib_module_names) - {STUDIO, "builtins"}


# ------------------------------------------------------------------------------------------ writing
def _source_path(module: str) -> Path:
    rel = Path(*module.split("."))
    path = _ROOT.parent / rel.with_suffix(".py")
    return path if path.is_file() else _ROOT.parent / rel / "__init__.py"


def _studio_imports(path: Path) -> list[str]:
    """The studio modules a file imports at its top level (what importing it runs)."""
    found: list[str] = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == STUDIO:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == STUDIO]
    return found


def module_closure(modules: Iterable[str]) -> list[str]:
    """``modules`` and every studio module they import at their top level, sorted."""
    pending, seen = list(modules), set()
    while pending:
        module = pending.pop()
        if module in seen or module == STUDIO:
            continue
        seen.add(module)
        pending += _studio_imports(_source_path(module))
    return sorted(seen)


def _inlined_module(module: str, names: list[str], version: str) -> tuple[str, set[str]]:
    """Source of a module defining ``names`` as the studio does, and the third-party libraries it imports."""
    from automlops.export.source import SourceWriter

    writer = SourceWriter()
    source = importlib.import_module(module)
    for name in names:
        writer.inline(getattr(source, name))
    body = "\n\n\n".join(d.rstrip() for d in writer.definitions)
    typing = {"from typing import Any"} if re.search(r"\bAny\b", body) else set()  # the studio's annotations
    stdlib = sorted(typing | {i for i in writer.imports if i.split()[1].split(".")[0] in sys.stdlib_module_names})
    others = sorted(set(writer.imports) - set(stdlib))
    header = (f'"""From AutoMLOps Studio {version}, {module}: only {", ".join(names)} (and what they use),\n'
              'copied by `automlops bundle`. The model file refers to them by this module path."""')
    text = "\n\n".join([header, "from __future__ import annotations", "\n".join(stdlib), "\n".join(others), body])
    return text.replace("\n\n\n\n", "\n\n\n") + "\n", set(writer.third_party())


def write_vendored(folder: Path, needed: dict[str, list[str]], version: str, *,
                   skops: bool = False) -> tuple[list[str], set[str]]:
    """Write the ``automlops/`` folder of a bundle; returns the files written and the libraries they import.

    :data:`VERBATIM` modules (and :data:`SKOPS_LOADER` for a skops file) and their studio imports are
    copied byte for byte; each other module the model needs gets the inlined definitions of just the
    names it refers to.
    """
    files: dict[str, str] = {}
    libraries: set[str] = set()
    verbatim = module_closure((*VERBATIM, SKOPS_LOADER) if skops else VERBATIM)
    for module in verbatim:
        files[module] = _source_path(module).read_text(encoding="utf-8")
    for module, names in needed.items():
        if module not in verbatim:
            files[module], libs = _inlined_module(module, names, version)
            libraries |= libs
    packages = {".".join(m.split(".")[:i]) for m in files for i in range(1, len(m.split(".")))}
    for package in packages - set(files):
        note = (f"AutoMLOps Studio {version}, vendored by `automlops bundle`: only the studio code this bundle's "
                "model and service use, not the studio." if package == STUDIO else "Vendored package (see automlops/).")
        files[package] = f'"""{note}"""\n'
    written = []
    for module, text in sorted(files.items()):
        rel = Path(*module.split("."))
        target = folder / (rel / "__init__.py" if module in packages else rel.with_suffix(".py"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(target.relative_to(folder).as_posix())
    return written, libraries
