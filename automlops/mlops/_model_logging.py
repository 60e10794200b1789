"""What MLflow needs to log a model quickly and reload it safely.

Two slow or unsafe defaults are avoided here. Without explicit ``pip_requirements`` MLflow
spends 7-10 s in a subprocess guessing them; we pin what is installed instead (the library
table is shared with the model store: :mod:`automlops.mlops._libraries`). And MLflow 3
saves scikit-learn models with *skops*, a format that refuses to load types it does not trust
(a pickle can run any code); we list exactly the types of the model we just trained.
"""

from __future__ import annotations

from automlops.mlops._libraries import pinned

__all__ = ["pip_requirements", "skops_trusted_types"]


def pip_requirements(*extra: str) -> list[str]:
    """Pinned requirements for a logged model: saves MLflow a 7-10 s inference subprocess."""
    return pinned(extra)


def skops_trusted_types(model: object) -> list[str] | None:
    """Types skops must trust to reload *our own* model, or ``None`` if skops cannot save it."""
    try:
        import skops.io

        return list(skops.io.get_untrusted_types(data=skops.io.dumps(model)))
    except Exception:
        return None
