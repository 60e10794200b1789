"""How a model becomes a file: one :class:`ModelFormat` per kind of object, in a registry.

**Why not pickle everything?** ``joblib`` (like ``pickle``) writes a *program*: the file is a
list of instructions ("import this, call that with these arguments") that loading executes.
That is why it can save almost anything, and also why loading a pickle you did not write is
running code you did not read: a pickle can say "call ``os.system(...)``" and it will happen.

**skops** writes *data* instead: a zip with a JSON tree that names, for every object, its type
(``"sklearn.linear_model._logistic.LogisticRegression"``) and its state (numbers, arrays,
nested objects). Loading rebuilds the objects from that tree, and only for types you said to
trust: nothing in the file can make the loader call a function it was not asked to. Before
loading, :func:`skops.io.get_untrusted_types` lists the types in a file that skops does not
trust by default (skops trusts scikit-learn's estimators, numpy arrays and plain Python values).

**An allow-list** is a list of what *is* permitted, everything else being refused; a deny-list
names what is forbidden and lets everything else through. A deny-list is only as good as the
attacker's imagination is poor, so the studio uses an allow-list: the type-name prefixes of
the libraries its own models are made of (scikit-learn, numpy, scipy, LightGBM, XGBoost, CatBoost,
``collections``, the studio's own ``automlops.`` classes) and a handful of harmless builtin
types. A skops file that needs any other type is refused, with the type named, before one
object is built. (The model store checks every version's signature and SHA-256 first anyway; the
allow-list is a second, independent wall.)

**Loading from bytes.** Every format loads from the bytes the store has already read and
verified, never from a path: between a check and a second open, a file could be swapped.

**The registry** (:data:`FORMATS`) is in order of preference: ``skops`` for scikit-learn
objects, ``torch-state-dict`` and ``torchscript`` for PyTorch modules, and ``joblib`` last,
for anything picklable. The store tries each format that ``can_save`` the object and takes
the first that succeeds (see :func:`write_model`). torch is imported only to load a torch
model: an object can only *be* a torch module if torch was imported already, so ``can_save``
looks in ``sys.modules`` and a torch-less install never pays for it.
"""

from __future__ import annotations

import io
import os
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from automlops.core.registry import Registry
from automlops.errors import AutoMLOpsError, ConfigError, IntegrityError, ModelError

__all__ = ["ALLOWED_BUILTINS", "ALLOWED_TYPE_PREFIXES", "ARCHITECTURES", "DEFAULT_FORMAT", "FORMATS", "JoblibFormat",
           "ModelFormat", "SkopsFormat", "TorchScriptFormat", "TorchStateDictFormat", "get_format",
           "outside_allow_list", "unpack_artifact", "write_model", "write_model_file"]

DEFAULT_FORMAT = "joblib"  # what versions written before formats existed hold, and still that of bare objects

ALLOWED_TYPE_PREFIXES = ("sklearn.", "numpy.", "scipy.", "lightgbm.", "xgboost.", "catboost.", "collections.", "automlops.")
ALLOWED_BUILTINS = frozenset(  # exact names: "builtins." as a prefix would also allow eval, exec and open
    f"builtins.{t}" for t in ("bool", "bytearray", "bytes", "complex", "dict", "float", "frozenset", "int", "list",
                              "NoneType", "range", "set", "slice", "str", "tuple"))

ArchitectureBuilder = Callable[..., Any]
ARCHITECTURES: Registry[ArchitectureBuilder] = Registry("architecture")
"""``name -> builder(**params)`` returning an untrained ``torch.nn.Module``; engines register theirs.

A state dict holds only weights; reloading it needs the same architecture, built by the
builder that ``meta["architecture"]`` names, with ``meta.get("architecture_params", {})``.
"""


class ModelFormat(ABC):
    """One way to write a model to a file and read it back.

    Subclasses set ``name`` (the registry key recorded as ``meta["model_format"]``),
    ``file_name`` (inside the version folder) and ``library`` (a distribution whose version
    ``meta.json`` records), and implement the three methods.
    """

    name: str = ""
    file_name: str = ""
    library: str | None = None

    @abstractmethod
    def can_save(self, obj: object) -> bool:
        """Cheap check: is ``obj`` something this format is meant for? (``save`` may still fail.)"""

    @abstractmethod
    def save(self, obj: object, path: Path, meta: Mapping[str, Any]) -> None:
        """Write ``obj`` to ``path``; raise ModelError if this format cannot represent it."""

    @abstractmethod
    def load(self, data: bytes, meta: Mapping[str, Any]) -> Any:
        """Rebuild the object from the file's ``data`` (the store has checked signature and SHA-256)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


FORMATS: Registry[ModelFormat] = Registry("model format")


def get_format(name: str) -> ModelFormat:
    """The registered format called ``name`` (ModelError naming the known ones otherwise)."""
    try:
        return FORMATS.get(name)
    except ConfigError as exc:
        raise ModelError(str(exc)) from None


def outside_allow_list(type_names: list[str]) -> list[str]:
    """The type names that neither start with an allowed prefix nor are allowed builtins."""
    return [t for t in type_names if t not in ALLOWED_BUILTINS and not t.startswith(ALLOWED_TYPE_PREFIXES)]


def write_model(obj: object, folder: Path, meta: Mapping[str, Any],
                format: str | None = None) -> tuple[ModelFormat, Path, list[str]]:
    """Save ``obj`` under ``folder``; returns the format used, the file, and notes on formats skipped.

    With ``format`` only that format is tried. Otherwise every registered format whose
    ``can_save`` accepts the object is tried in registry order until one succeeds; each one
    that failed leaves a note ("skops: ...") so ``meta.json`` can say why the fallback happened.
    """
    if format is not None:
        chosen = get_format(format)
        if not chosen.can_save(obj):
            raise ModelError(f"the {format!r} format cannot save a {type(obj).__name__}")
        return chosen, _save_with(chosen, obj, folder, meta), []
    notes: list[str] = []
    for name, fmt in FORMATS.items():
        if fmt.can_save(obj):
            try:
                return fmt, _save_with(fmt, obj, folder, meta), notes
            except ModelError as exc:
                notes.append(f"{name}: {exc}")
    raise ModelError(f"no model format could save a {type(obj).__name__}: {'; '.join(notes) or 'none applies'}")


def unpack_artifact(model: object, meta: Mapping[str, Any] | None,
                    format: str | None) -> tuple[object, dict[str, Any], str | None]:
    """``(object, meta, format)`` from an Artifact (its kind goes into meta) or a bare object.

    A ``None`` format means "the best one" for an artifact, and joblib for a bare object.
    """
    from automlops.core.fit import Artifact  # imported here: it pulls in pandas

    if isinstance(model, Artifact):
        merged = {**model.meta, **(meta or {}), "kind": model.kind}
        return model.obj, merged, format or model.format
    return model, dict(meta or {}), format or DEFAULT_FORMAT


def write_model_file(folder: Path, name: str, obj: object, meta: Mapping[str, Any],
                     format: str | None) -> dict[str, Any]:
    """Write the model file into ``folder``, flushed to disk; return what meta.json must say about it."""
    from automlops.mlops._atomic import sha256_file
    from automlops.mlops._libraries import library_versions

    try:
        fmt, path, notes = write_model(obj, folder, meta, format)
    except ModelError as exc:
        raise ModelError(f"could not serialize the model for {name!r}: {exc}") from exc
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())
    info: dict[str, Any] = {
        "model_format": fmt.name, "model_file": path.name, "model_sha256": sha256_file(path),
        "model_bytes": path.stat().st_size, "libraries": library_versions([fmt.library] if fmt.library else []),
    }
    if notes:  # a preferred format could not represent the object
        info["format_note"] = f"{'; '.join(notes)}; saved with {fmt.name} instead"
    return info


def _save_with(fmt: ModelFormat, obj: object, folder: Path, meta: Mapping[str, Any]) -> Path:
    path = folder / fmt.file_name
    try:
        fmt.save(obj, path, meta)
    except Exception as exc:
        path.unlink(missing_ok=True)
        if isinstance(exc, AutoMLOpsError):
            raise
        raise ModelError(f"could not serialize the model with {fmt.name}: {type(exc).__name__}: {exc}") from exc
    return path


# ---------------------------------------------------------------------------------------- formats
class SkopsFormat(ModelFormat):
    """scikit-learn estimators and pipelines as skops data, reloaded through the allow-list."""

    name, file_name, library = "skops", "model.skops", "skops"

    def can_save(self, obj: object) -> bool:
        sklearn_base = sys.modules.get("sklearn.base")  # a scikit-learn object means it is imported
        return (sklearn_base is not None and isinstance(obj, sklearn_base.BaseEstimator)
                and find_spec("skops") is not None)

    def save(self, obj: object, path: Path, meta: Mapping[str, Any]) -> None:
        """Copy the model's skops snapshot (zip-compressed: ~10× smaller), after checking that every
        type it needs is in the allow-list, so a model the API could not load is caught now and the
        store falls back to another format.

        The snapshot (:mod:`automlops.mlops.skops_snapshot`) is the same file MLflow got when the
        run was tracked: a model is serialised once per training, not once per destination. Only
        the file's type list is checked; a full reload would double the cost of saving (a 300-tree
        forest: ~1 s more) inside the user's time budget.
        """
        from automlops.mlops.skops_snapshot import skops_snapshot

        snapshot = skops_snapshot(obj)
        self._allowed(list(snapshot.untrusted_types), path.name)
        snapshot.copy_to(path)

    def load(self, data: bytes, meta: Mapping[str, Any]) -> Any:
        from automlops.mlops._skops import load_skops_io

        return load_skops_io().loads(data, trusted=self.trusted_types(data, str(meta.get("model_file", self.file_name))))

    @staticmethod
    def trusted_types(data: bytes, file_name: str = "model.skops") -> list[str]:
        """The extra types the file needs, all inside the allow-list; IntegrityError names any other."""
        from automlops.mlops._skops import untrusted_types

        return SkopsFormat._allowed(untrusted_types(data), file_name)

    @staticmethod
    def _allowed(needed: list[str], file_name: str) -> list[str]:
        refused = outside_allow_list(needed)
        if refused:
            raise IntegrityError(f"{file_name} needs type(s) outside the studio's allow-list: {', '.join(refused)}; "
                                 "nothing was loaded")
        return needed


def _torch(required: bool = False) -> Any:
    """The torch module if it is imported already (or, with ``required``, importable); else None."""
    if "torch" in sys.modules or not required:
        return sys.modules.get("torch")
    try:
        import torch
    except ImportError:
        raise ModelError("this model was saved with PyTorch, which is not installed here: pip install torch") from None
    return torch


class TorchStateDictFormat(ModelFormat):
    """A torch module's weights (``state_dict``) only; the architecture is rebuilt by name.

    Loading uses ``torch.load(weights_only=True)``, which reads tensors and plain containers
    and refuses anything else: the file cannot carry code. The price is that the module's
    class must be known at load time, from :data:`ARCHITECTURES`.
    """

    name, file_name, library = "torch-state-dict", "model.pt", "torch"

    def can_save(self, obj: object) -> bool:
        torch = _torch()
        return torch is not None and isinstance(obj, torch.nn.Module) and not isinstance(obj, torch.jit.ScriptModule)

    def save(self, obj: object, path: Path, meta: Mapping[str, Any]) -> None:
        architecture = meta.get("architecture")
        if architecture not in ARCHITECTURES:
            known = ", ".join(ARCHITECTURES.names()) or "none registered"
            raise ModelError(f"meta['architecture'] is {architecture!r}, not a registered architecture ({known}); "
                             "the weights could not be loaded back into a model")
        _torch(required=True).save(obj.state_dict(), path)  # type: ignore[attr-defined]

    def load(self, data: bytes, meta: Mapping[str, Any]) -> Any:
        torch = _torch(required=True)
        name = str(meta.get("architecture"))
        if name not in ARCHITECTURES:
            known = ", ".join(ARCHITECTURES.names()) or "none registered"
            raise ModelError(f"architecture {name!r} is not registered ({known}): import the engine that "
                             "registers it before loading this model")
        model = ARCHITECTURES.get(name)(**dict(meta.get("architecture_params") or {}))
        model.load_state_dict(torch.load(io.BytesIO(data), map_location="cpu", weights_only=True))
        model.eval()
        return model


class TorchScriptFormat(ModelFormat):
    """A torch module compiled to TorchScript: the architecture travels with the weights.

    TorchScript is a program too, but one in torch's own small language of tensor
    operations, not arbitrary Python; still, load only files the store wrote.
    """

    name, file_name, library = "torchscript", "model.torchscript.pt", "torch"

    def can_save(self, obj: object) -> bool:
        torch = _torch()
        return torch is not None and isinstance(obj, torch.nn.Module)

    def save(self, obj: object, path: Path, meta: Mapping[str, Any]) -> None:
        torch = _torch(required=True)
        scripted = obj if isinstance(obj, torch.jit.ScriptModule) else torch.jit.script(obj)
        torch.jit.save(scripted, str(path))

    def load(self, data: bytes, meta: Mapping[str, Any]) -> Any:
        return _torch(required=True).jit.load(io.BytesIO(data), map_location="cpu")


class JoblibFormat(ModelFormat):
    """Anything picklable, compressed: the fallback, and what every version before formats used."""

    name, file_name, library = "joblib", "model.joblib", None

    def can_save(self, obj: object) -> bool:
        return True

    def save(self, obj: object, path: Path, meta: Mapping[str, Any]) -> None:
        import joblib

        joblib.dump(obj, path, compress=3)

    def load(self, data: bytes, meta: Mapping[str, Any]) -> Any:
        import joblib

        return joblib.load(io.BytesIO(data))


for _format in (SkopsFormat(), TorchStateDictFormat(), TorchScriptFormat(), JoblibFormat()):  # preference order
    FORMATS.add(_format.name, _format)
