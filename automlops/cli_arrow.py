"""Keeping pyarrow out of command-line trainings that do not need it (see :func:`_without_arrow`)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

_USES_ARROW = ("timeseries", "time_series", "time-series")  # statsforecast's fugue backend imports pyarrow


def _without_arrow(argv: Sequence[str] = ()) -> None:
    """Keep pandas from loading pyarrow where no library needs it: ~35 MB less memory per process.

    pandas imports pyarrow as soon as it is installed (to offer Arrow-backed columns), and MLflow
    installs it. A tabular, clustering or anomaly training reads and writes CSV, JSON and skops
    only, so the CLI marks the module as absent before pandas is first imported; an import of it
    would then fail loudly, not quietly use memory. Forecasting needs it (statsforecast imports
    fugue, which imports pyarrow), and so may ``predict``/``forecast`` with a forecasting model:
    only ``train`` of another task gets the hook. (No effect where pandas is imported already.)
    """
    if not argv or argv[0] != "train" or any(t.split("=")[-1] in _USES_ARROW for t in argv):
        return
    if "pandas" not in sys.modules and "pyarrow" not in sys.modules:
        sys.meta_path.insert(0, _NoArrow())


class _NoArrow:
    """An import hook that answers "not installed" for pyarrow (see :func:`_without_arrow`).

    (A ``None`` entry in ``sys.modules`` would also stop the import, but libraries that look the
    module up there, as scikit-learn does, would then find ``None`` instead of nothing. A hook that
    refused pyarrow to pandas only and let other libraries import it was tried: two importers
    then met a half-initialised pyarrow, which is worse than either choice.)
    """

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "pyarrow" or name.startswith("pyarrow."):
            raise ModuleNotFoundError("pyarrow is not used by the automlops command line", name=name)
