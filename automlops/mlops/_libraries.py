"""Which libraries a saved model depends on, and which versions of them are installed.

A saved model is only as portable as the code that reads it back: a pickle written by
scikit-learn 1.9 may fail, or silently behave differently, under 1.4. So two places ask the
same question, "which of the studio's model libraries are installed, at what version?":

* the model store writes the answer into ``meta.json`` (``libraries``), so a failed load can
  say "saved with scikit-learn 1.9.1";
* MLflow logging turns it into pinned ``pip_requirements`` (which also saves MLflow a slow
  guessing subprocess).

Both read the one table below. A library can be published under several *distribution*
names (``xgboost`` and the smaller ``xgboost-cpu`` install the same ``import xgboost``), so
each import name maps to the distributions that may provide it; the first installed wins.
"""

from __future__ import annotations

import contextlib
import platform
from collections.abc import Iterable, Sequence
from importlib import metadata
from importlib.util import find_spec

__all__ = ["LIBRARIES", "installed", "library_versions", "pinned"]

LIBRARIES: dict[str, tuple[str, ...]] = {  # import name -> distributions that provide it (first installed wins)
    "sklearn": ("scikit-learn",), "numpy": ("numpy",), "pandas": ("pandas",), "joblib": ("joblib",),
    "xgboost": ("xgboost", "xgboost-cpu"), "lightgbm": ("lightgbm",),
    "catboost": ("catboost",),
}


def installed(dists: Sequence[str]) -> tuple[str, str] | None:
    """``(distribution, version)`` of the first of ``dists`` that is installed, else ``None``."""
    for dist in dists:
        with contextlib.suppress(metadata.PackageNotFoundError):
            return dist, metadata.version(dist)
    return None


def library_versions(extra: Iterable[str] = ()) -> dict[str, str]:
    """``{"python": ..., "automlops": ..., "sklearn": "1.9.1", ...}`` for ``meta.json``.

    ``extra`` names further distributions to record (e.g. ``"skops"`` or ``"torch"``: the
    library of the file format the model was written in).
    """
    from automlops import __version__

    found = {"python": platform.python_version(), "automlops": __version__}
    for key, dists in LIBRARIES.items():
        hit = installed(dists)
        if hit is not None:
            found[key] = hit[1]
    for dist in extra:
        hit = installed((dist,))
        if hit is not None:
            found[dist] = hit[1]
    return found


def pinned(extra: Iterable[str] = ()) -> list[str]:
    """``["scikit-learn==1.9.1", ...]`` for the importable libraries of the table, plus ``extra``.

    An ``extra`` distribution that is not installed is listed unpinned; none is listed twice.
    """
    found = [installed(dists) for module, dists in LIBRARIES.items() if find_spec(module) is not None]
    found += [installed((dist,)) or (dist, "") for dist in extra]
    pins: list[str] = []
    for dist, version in filter(None, found):
        pin = f"{dist}=={version}" if version else dist
        if pin not in pins:
            pins.append(pin)
    return pins
