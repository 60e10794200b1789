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
from types import ModuleType
from typing import Any

__all__ = ["load_skops_io"]

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
