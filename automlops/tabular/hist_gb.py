"""scikit-learn's HistGradientBoosting, early-stopped from 2,000 rows as the zoo's other boosters are from 1,000.

How many boosting rounds? scikit-learn's own answer (``early_stopping="auto"``) holds out a tenth
of the rows and stops adding trees once the loss there has not improved for ``n_iter_no_change``
rounds, but only above 10,000 rows. Below, it fits exactly ``max_iter`` rounds, so a search has
to guess that count blind, and above, a searched ``max_iter`` caps what early stopping may find.
On the mid-size tables the default 100 rounds were wrong both ways (3 splits each, default
settings otherwise):

==================  =======  =========  ====================  ==========================
table               rows     metric     100 rounds            early-stopped (rounds)
==================  =======  =========  ====================  ==========================
Males (12 classes)   4,360   log-loss   1.732                 1.560 (~42)
ISLP Wage            3,000   RMSE       35.75                 35.13 (~44)
Bikeshare            8,645   RMSE       32.76                 31.41 (~270)
nycflights weather  26,114   RMSE       2.646                 1.552 (~2,600)
==================  =======  =========  ====================  ==========================

So these classes read ``early_stopping="auto"`` the way ``early_stopping.py`` treats LightGBM,
XGBoost and CatBoost: from :data:`EARLY_STOPPING_FROM` rows, hold out a tenth, stop after
:data:`PATIENCE` rounds without improvement, up to :data:`MAX_TREES` trees (rounds × one tree per
class above two classes: each tree costs ~0.75 ms to save, so a 10-class model stops by 400
rounds); below it, fit the searched ``max_iter`` rounds (a tenth of 1,000 rows is too few to
judge a round by). The settings are applied for the fit only: ``get_params()`` still reads as
given, so a clone makes the same choice on its own rows. The rounds kept are ``n_iter_``, the
last :data:`PATIENCE` of them past the best one; the refit on all rows fits only up to the best,
holding nothing out (``final_fit._with_refit_rounds``). An explicit ``early_stopping=True/False``,
and a warm-started fit that continues a fitted model (``automlops models retrain``), are left to
scikit-learn as they are.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.utils.validation import _num_samples

from automlops.tabular.boosting_clock import trees_per_round

__all__ = ["EARLY_STOPPING_FROM", "HIST_GB", "MAX_TREES", "PATIENCE", "HistGradientBoostingEarlyStopClassifier",
           "HistGradientBoostingEarlyStopRegressor", "early_stopping_settings"]

# rows. The other boosters' wrappers hold rows out from 1,000 (``early_stopping.EARLY_STOPPING_FROM``). Here
# 1,000 changed the 60 s search on the seven tables of 1,300-2,000-row folds by less than its seed-to-seed
# spread (medians of three seeds: hdma_deny AUC 0.8869 -> 0.8881, jtrain3 0.9804 -> 0.9792, wage RMSE
# 35.709 -> 35.697, cracker, sumhes, gpa2 and card within 0.0002), so it stays at 2,000.
EARLY_STOPPING_FROM = 2000
MAX_TREES = 4000  # rounds × trees a round: ~3 s to save, and far past where the mid-size tables stopped
PATIENCE = 20  # HistGradientBoosting keeps the rounds after its best one, so a shorter wait than LightGBM's 50


def early_stopping_settings(rows: int, trees_a_round: int) -> dict[str, Any]:
    """The parameters an ``early_stopping="auto"`` fit on ``rows`` rows runs with."""
    if rows < EARLY_STOPPING_FROM:
        return {"early_stopping": False}
    return {"early_stopping": True, "n_iter_no_change": PATIENCE,
            "max_iter": max(100, MAX_TREES // trees_a_round)}


class _RowsAwareEarlyStopping:
    """The fit of the two classes below (a mixin: it runs before scikit-learn's own ``fit``).

    ``refit_rounds`` is for the refit on all rows (``final_fit._with_refit_rounds``): exactly that many
    rounds on every row, nothing held out. It is an attribute, not a parameter, set on the one
    unfitted copy that is refitted: the parameters stay the recipe the test rows scored, which is
    what ``automlops export`` rebuilds (a clone forgets it, as it should).
    """

    refit_rounds: int | None = None

    def fit(self, X: Any, y: Any, sample_weight: Any = None, **fit_params: Any) -> Any:
        continues = self.warm_start and self._is_fitted()  # type: ignore[attr-defined]
        if self.refit_rounds is not None and not continues:
            settings: dict[str, Any] = {"early_stopping": False, "max_iter": int(self.refit_rounds)}
        elif self.early_stopping != "auto" or continues:  # type: ignore[attr-defined]
            return super().fit(X, y, sample_weight=sample_weight, **fit_params)  # type: ignore[misc]
        else:
            settings = early_stopping_settings(_num_samples(X), self._trees_per_round(y))
        given = {name: getattr(self, name) for name in settings}
        self.set_params(**settings)  # type: ignore[attr-defined]
        try:
            return super().fit(X, y, sample_weight=sample_weight, **fit_params)  # type: ignore[misc]
        finally:
            self.set_params(**given)  # type: ignore[attr-defined]

    def _trees_per_round(self, y: Any) -> int:
        return 1


class HistGradientBoostingEarlyStopRegressor(_RowsAwareEarlyStopping, HistGradientBoostingRegressor):
    """:class:`~sklearn.ensemble.HistGradientBoostingRegressor` early-stopped from 2,000 rows (module docstring)."""


class HistGradientBoostingEarlyStopClassifier(_RowsAwareEarlyStopping, HistGradientBoostingClassifier):
    """:class:`~sklearn.ensemble.HistGradientBoostingClassifier` early-stopped from 2,000 rows (module docstring)."""

    def _trees_per_round(self, y: Any) -> int:
        return trees_per_round(len(np.unique(np.asarray(y))))


HIST_GB = (HistGradientBoostingEarlyStopRegressor, HistGradientBoostingEarlyStopClassifier)
