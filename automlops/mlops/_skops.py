"""Import ``skops.io`` without paying for PyTorch it never uses.

When skops first loads, it lists every scikit-learn estimator it trusts with
``sklearn.utils.all_estimators()``, which walks scikit-learn's packages with
``pkgutil.walk_packages``. Walking *imports every package* on the way, including
``sklearn.externals.array_api_compat.torch``, scikit-learn's adapter for PyTorch tensors, and
that imports torch itself: about 2.3 s of a tabular training's time budget, for a library the
tabular model does not use (the studio installs torch for its vision engine).

The adapter holds no estimator, so skops loses nothing if that one package is not found during
its first import. :func:`load_skops_io` hides it for that moment only (``walk_packages`` skips a
package that fails to import); nothing is hidden when torch is loaded already, and afterwards
scikit-learn imports the adapter normally whenever array-API code asks for it.
"""

from __future__ import annotations

import importlib
import sys
from importlib.abc import MetaPathFinder
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = ["load_skops_io", "untrusted_types"]

_TORCH_ADAPTER = "sklearn.externals.array_api_compat.torch"


class _HideTorchAdapter(MetaPathFinder):
    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if fullname == _TORCH_ADAPTER or fullname.startswith(_TORCH_ADAPTER + "."):
            raise ModuleNotFoundError(f"{fullname} is not needed to list scikit-learn's estimators", name=fullname)
        return None


def load_skops_io() -> ModuleType:
    """``skops.io``, imported without importing torch along the way (see the module docstring)."""
    if "skops.io" in sys.modules or "torch" in sys.modules:
        return importlib.import_module("skops.io")
    finder = _HideTorchAdapter()
    sys.meta_path.insert(0, finder)
    try:
        return importlib.import_module("skops.io")
    finally:
        sys.meta_path.remove(finder)


class _TypesOnly:
    """A skops file opened for its types only: every stored array reads as empty bytes.

    skops's audit builds one node per stored object, and an array's node reads the array's bytes
    (decompressed) as it is built, although only its *type*, written in ``schema.json``, decides
    whether it is trusted. Auditing a trained ensemble thus held a copy of all its arrays at once:
    +42 MB at the end of a 22k-row training, the run's memory peak.
    """

    def __init__(self, zip_file: Any) -> None:
        self._zip_file = zip_file

    def read(self, name: str) -> bytes:  # noqa: ARG002 - the audit never looks inside
        return b""

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._zip_file, attribute)


def untrusted_types(source: Path | str | bytes) -> list[str]:
    """The types a skops file (a path or its bytes) needs beyond skops's defaults, sorted.

    The same answer as ``skops.io.get_untrusted_types`` — the same schema, nodes and audit — but
    without reading any array (see :class:`_TypesOnly`). On a skops whose internals moved, its public
    function answers instead.
    """
    import io
    import zipfile

    skops_io = load_skops_io()
    try:
        from skops.io._audit import get_tree
        from skops.io._utils import LoadContext, read_schema
    except ImportError:
        return _public_untrusted_types(skops_io, source)
    content = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    with zipfile.ZipFile(content, "r") as zip_file:
        schema, context = read_schema(zip_file)
        try:
            types_only = LoadContext(src=_TypesOnly(zip_file), protocol=context.protocol)
        except TypeError:  # LoadContext's fields changed
            return _public_untrusted_types(skops_io, source)
        tree = get_tree(schema, load_context=types_only, trusted=None)
        return sorted(tree.get_unsafe_set())


def _public_untrusted_types(skops_io: ModuleType, source: Path | str | bytes) -> list[str]:
    if isinstance(source, bytes | bytearray):
        return sorted(skops_io.get_untrusted_types(data=bytes(source)))
    return sorted(skops_io.get_untrusted_types(file=source))
