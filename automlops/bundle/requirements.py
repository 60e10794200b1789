"""The bundle's ``requirements.txt``: only what its service and model import, pinned to what runs here.

A model file is read back by the library versions that wrote it: scikit-learn 1.9 may refuse (or,
worse, silently misread) a pipeline pickled by 1.4. So every line is pinned with ``==`` to the
version installed in the studio at bundling time, the versions the bundle's own check just ran.

"Only what it needs" is measured, not guessed: the service's own imports (FastAPI, uvicorn,
pandas, numpy), the model file's format library (skops or joblib), the libraries the model's
objects come from (found while listing its classes, see :mod:`automlops.bundle.vendor`:
scikit-learn, LightGBM, SciPy...) and those the vendored studio code imports. Libraries these
pull in (starlette, threadpoolctl...) are left to pip's resolver.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from importlib import metadata

__all__ = ["SERVICE_IMPORTS", "pinned_requirements"]

SERVICE_IMPORTS = ("fastapi", "uvicorn", "pydantic", "pandas", "numpy")  # what app.py imports
_PREFERRED = {"sklearn": "scikit-learn", "xgboost": "xgboost"}  # when several distributions provide one import


def _distribution(module: str, index: Mapping[str, list[str]]) -> str | None:
    if module in _PREFERRED:
        try:
            metadata.version(_PREFERRED[module])
            return _PREFERRED[module]
        except metadata.PackageNotFoundError:
            pass
    dists = index.get(module) or []
    return sorted(dists)[0] if dists else None


def pinned_requirements(imports: Iterable[str]) -> list[str]:
    """``["fastapi==0.115.0", "scikit-learn==1.9.1", ...]`` for these import names (stdlib skipped)."""
    index = metadata.packages_distributions()
    pins: dict[str, str] = {}
    for module in sorted(set(imports) | set(SERVICE_IMPORTS)):
        if module in sys.stdlib_module_names or module.startswith("_"):
            continue
        dist = _distribution(module, index)
        if dist is not None:
            pins[dist.lower()] = f"{dist}=={metadata.version(dist)}"
    return [pins[k] for k in sorted(pins)]
