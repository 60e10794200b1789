"""Which hyperparameters mattered during the search: fANOVA importance from the trials.

The search already tried many configurations of the chosen model; their scores hold information
about which hyperparameter moved the score. **fANOVA** (functional ANOVA, Hutter et al. 2014)
fits a random forest that predicts the score from the hyperparameters, then decomposes the
forest's prediction variance into the share each hyperparameter explains on its own. An
importance of 0.6 for ``learning_rate`` means 60 % of the variation of the score across the
search space came from the learning rate alone.

It complements the sensitivity sweeps: a sweep moves one parameter *around the chosen
configuration*; fANOVA averages over *the whole region the search visited*. It needs enough
trials of the one model (a forest on four points explains nothing), so below
:data:`MIN_TRIALS` the analysis says so instead of printing numbers.

The trials come from the saved model (``meta["trials"]``: model, params, value, state) and are
put back into an in-memory Optuna study, each parameter with its distribution (from the model's
search space when known, else inferred from the values the trials took).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["MIN_TRIALS", "infer_distributions", "param_importances"]

MIN_TRIALS = 5


def _as_row(trial: Any) -> dict[str, Any] | None:
    """A trial as ``{"model", "params", "value"}`` (a mapping from meta.json or an Optuna FrozenTrial)."""
    if isinstance(trial, Mapping):
        state = str(trial.get("state", "COMPLETE")).upper()
        value = trial.get("value")
        params = trial.get("params") or {}
        model = trial.get("model")
    else:
        state = getattr(getattr(trial, "state", None), "name", "COMPLETE")
        value = getattr(trial, "value", None)
        params = dict(getattr(trial, "user_attrs", {}).get("params") or getattr(trial, "params", {}))
        model = getattr(trial, "user_attrs", {}).get("model")
    if state != "COMPLETE" or value is None or not math.isfinite(float(value)):
        return None
    return {"model": model, "params": dict(params), "value": float(value)}


def infer_distributions(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """An Optuna distribution per parameter, from the values the trials took (constants are left out)."""
    import optuna.distributions as od

    names = sorted({k for r in rows for k in r["params"]})
    out: dict[str, Any] = {}
    for name in names:
        values = [r["params"][name] for r in rows if name in r["params"]]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        if numeric:
            low, high = min(values), max(values)
            if low == high:
                continue
            if all(isinstance(v, int) for v in values):
                out[name] = od.IntDistribution(int(low), int(high))
            else:
                out[name] = od.FloatDistribution(float(low), float(high), log=low > 0 and high / low >= 100)
        else:
            choices = tuple(dict.fromkeys(v if isinstance(v, (str, int, float, bool)) or v is None else str(v)
                                          for v in values))
            if len(choices) > 1:
                out[name] = od.CategoricalDistribution(choices)
    return out


def _fits(dist: Any, value: Any) -> bool:
    try:
        return bool(dist._contains(dist.to_internal_repr(value)))
    except Exception:  # a value outside the distribution's type
        return False


def _study(rows: Sequence[Mapping[str, Any]], distributions: Mapping[str, Any], direction: str) -> Any:
    import optuna

    quiet = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "A new study created in memory" on stderr
    try:
        study = optuna.create_study(direction="maximize" if direction == "maximize" else "minimize")
    finally:
        optuna.logging.set_verbosity(quiet)
    for row in rows:
        params = {k: row["params"][k] for k in distributions if k in row["params"]
                  and _fits(distributions[k], row["params"][k])}
        if len(params) != len(distributions):
            continue  # a trial that did not use every parameter (a conditional space)
        study.add_trial(optuna.trial.create_trial(params=params, value=row["value"],
                                                  distributions={k: distributions[k] for k in params}))
    return study


def param_importances(trials: Sequence[Any], *, model: str | None, direction: str,
                      distributions: Mapping[str, Any] | None = None, seed: int = 0
                      ) -> tuple[dict[str, float], str]:
    """fANOVA importance of each hyperparameter of ``model`` and a sentence saying what was done.

    ``trials`` are the search's trials (mappings or Optuna trials); only complete trials of
    ``model`` count (all, when ``model`` is None). Returns ``({}, reason)`` when fANOVA cannot say
    anything (too few trials, no parameter that varied).
    """
    rows = [r for r in (_as_row(t) for t in trials) if r is not None and (model is None or r["model"] == model)]
    who = f"'{model}'" if model else "the model"
    if len(rows) < MIN_TRIALS:
        return {}, (f"fANOVA importance skipped: the search finished {len(rows)} trial(s) of {who}, and at least "
                    f"{MIN_TRIALS} are needed to say which hyperparameter mattered")
    dists = dict(distributions) if distributions else infer_distributions(rows)
    varied = infer_distributions(rows)
    dists = {k: v for k, v in dists.items() if k in varied}
    if not dists:
        return {}, f"fANOVA importance skipped: no hyperparameter of {who} varied across its {len(rows)} trials"
    study = _study(rows, dists, direction)
    used = len(study.trials)
    if used < MIN_TRIALS:
        return {}, (f"fANOVA importance skipped: only {used} trial(s) of {who} used every hyperparameter "
                    f"(at least {MIN_TRIALS} are needed)")
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = optuna.importance.get_param_importances(
            study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=seed), normalize=True)
    importances = {k: float(v) for k, v in values.items()}
    return importances, (f"fANOVA importance from {used} completed trial(s) of {who} in the search "
                         f"(Optuna's FanovaImportanceEvaluator over {len(dists)} hyperparameter(s))")
