"""What MLflow needs to log a model quickly and reload it safely.

Two slow or unsafe defaults are avoided here. Without explicit ``pip_requirements`` MLflow
spends 7-10 s in a subprocess guessing them; we pin what is installed instead. And MLflow 3
saves scikit-learn models with *skops*, a format that refuses to load types it does not trust
(a pickle can run any code); we list exactly the types of the model we just trained.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from importlib import metadata
from importlib.util import find_spec

__all__ = ["pip_requirements", "skops_trusted_types"]

_PIP_PACKAGES = {  # import name -> distributions that provide it (first installed wins)
    "sklearn": ("scikit-learn",), "pandas": ("pandas",), "numpy": ("numpy",), "joblib": ("joblib",),
    "xgboost": ("xgboost", "xgboost-cpu"), "lightgbm": ("lightgbm",),
}


def _installed(dists: Sequence[str]) -> tuple[str, str] | None:
    for dist in dists:
        with contextlib.suppress(metadata.PackageNotFoundError):
            return dist, metadata.version(dist)
    return None


def pip_requirements(*extra: str) -> list[str]:
    """Pinned requirements for a logged model: saves MLflow a 7-10 s inference subprocess."""
    found = [_installed(dists) for module, dists in _PIP_PACKAGES.items() if find_spec(module) is not None]
    found += [_installed((dist,)) or (dist, "") for dist in extra]
    return [f"{dist}=={version}" if version else dist for dist, version in filter(None, found)]


def skops_trusted_types(model: object) -> list[str] | None:
    """Types skops must trust to reload *our own* model, or ``None`` if skops cannot save it."""
    try:
        import skops.io

        return list(skops.io.get_untrusted_types(data=skops.io.dumps(model)))
    except Exception:
        return None


