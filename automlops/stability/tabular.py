"""The tabular adapter: a saved table model (or a leaderboard entry) as a refittable subject.

To refit a configuration honestly the analysis needs *the same problem*: the same rows (the
model's dataset version, from the lake), the same cleaning and the same untouched test rows, the
same feature plan and the same validation split. So the subject is rebuilt by running the tabular
engine's own ``prepare`` with the model's target, task, metric, seed and time column: the test
rows stay aside (never used here), and every refit learns and scores on the training rows only.

How the rows are resampled (folds, time-series splits or the bootstrap) is
:mod:`automlops.stability.resampling`'s choice.

A configuration is a single model (preprocessing + estimator, as the search built it) or an
ensemble of them (their parameters named ``member__param``). Whether it has randomness is not
guessed from its parameters: it is fitted with two seeds and the predictions compared (LightGBM
without bagging, or a logistic regression, give the same model for every seed).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from automlops.core.problem import Problem, TaskType
from automlops.errors import ConfigError, DataError, NotFoundError
from automlops.search.engine import Candidate, DecisionLog
from automlops.stability.resampling import BOOTSTRAP_ROWS, resample_rows
from automlops.stability.space import record_space, sweeps_from
from automlops.stability.types import Resample, Sweep

__all__ = ["BOOTSTRAP_ROWS", "TabularSubject", "leaderboard_subject", "resample_rows", "saved_subject"]

ENSEMBLE_KINDS = ("weighted", "voting", "stacking")


class TabularSubject:
    """A tabular configuration on its training rows (see the module docstring); picklable."""

    kind = "tabular"

    def __init__(self, *, label: str, problem: Problem, plan: Any, X: pd.DataFrame, y: pd.Series,
                 reference: Resample, members: Sequence[Candidate], ensemble: Any = None, seed: int = 0,
                 fit_seconds: float | None = None, estimator: Any = None, notes: Sequence[str] = ()) -> None:
        self.label, self.problem, self.plan = label, problem, plan
        self.X, self.y = X.reset_index(drop=True), y.reset_index(drop=True)
        self.reference, self.members, self.ensemble = reference, list(members), ensemble
        self.seed, self.fit_seconds, self.estimator = seed, fit_seconds, estimator
        self.notes = list(notes)
        self.metric, self.direction = problem.metric, problem.direction
        self.rounds: int | None = None  # boosting rounds every refit fits (see :func:`_rounds_cut_by_time`)
        self._random: bool | None = None
        self._probed: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}  # seed -> the probe's predictions

    # ----------------------------------------------------------------- the configuration
    @property
    def params(self) -> dict[str, Any]:
        if self.estimator is not None:
            return {}
        if self.ensemble is None:
            return dict(self.members[0].params)
        return {f"{m.model}__{k}": v for m in self.members for k, v in m.params.items()}

    @property
    def search_model(self) -> str | None:
        """The model whose search trials fANOVA reads (an ensemble's first member)."""
        return self.members[0].model if self.members else None

    def search_distributions(self) -> dict[str, Any]:
        """The search space's distribution of each hyperparameter of :attr:`search_model`."""
        return self._space(self.members[0]) if self.members else {}

    def _space(self, member: Candidate) -> dict[str, Any]:
        from automlops.tabular.zoo import get_model

        return record_space(get_model(member.model).search_space, member.params, member.model, self.problem)

    def _members(self, params: Mapping[str, Any] | None) -> list[Candidate]:
        if not params:
            return self.members
        if self.ensemble is None:
            return [Candidate(self.members[0].model, {**self.members[0].params, **params})]
        out = []
        for m in self.members:
            mine = {k.split("__", 1)[1]: v for k, v in params.items() if k.startswith(f"{m.model}__")}
            out.append(Candidate(m.model, {**m.params, **mine}))
        return out

    def build(self, seed: int, params: Mapping[str, Any] | None = None) -> Any:
        """The unfitted estimator of the configuration (``params`` overriding its hyperparameters)."""
        from sklearn.base import clone

        from automlops.tabular import ensemble as ens
        from automlops.tabular.evaluate import build_pipeline

        if self.estimator is not None:
            model = clone(self.estimator)
            seeds = {k: seed for k in model.get_params(deep=True) if k.endswith("random_state")}
            return model.set_params(**seeds) if seeds else model
        members = self._members(params)
        if self.ensemble is None:
            model = build_pipeline(members[0], self.plan, self.problem, seed)
            if self.rounds is not None and "n_estimators" not in (params or {}) \
                    and "model__refit_rounds" in model.get_params():
                model.set_params(model__refit_rounds=self.rounds)
            return model
        built = [(m.model, build_pipeline(m, self.plan, self.problem, seed)) for m in members]
        return ens.build_ensemble(self.ensemble, built, self.problem, seed)

    # ----------------------------------------------------------------- the protocol
    def resampling(self, k: int, seed: int) -> tuple[str, list[Resample]]:
        return resample_rows(self.y, self.problem, k, seed)

    def reference_split(self) -> Resample:
        return self.reference

    def has_randomness(self) -> bool:
        if self._random is None:
            self._random = self._probe()
        return self._random

    def _probe(self) -> bool:
        """Fit with two seeds on the reference split: different predictions = randomness.

        The seeds are the model's own and the next: the analysis' first two seed refits on the same
        split. So their predictions are kept and :meth:`fit_score` scores them instead of fitting them
        again: on a 20k-row model the probe was 11 s of a 60 s analysis, spent twice."""
        if not any(k.endswith("random_state") for k in self.build(0).get_params(deep=True)):
            return False
        first, second = self.seed, self.seed + 1
        self._probed = {seed: self._predict(seed, self.reference) for seed in (first, second)}
        (pred_a, proba_a), (pred_b, proba_b) = self._probed[first], self._probed[second]
        return not np.array_equal(pred_a if proba_a is None else proba_a, pred_b if proba_b is None else proba_b)

    @property
    def probed_seeds(self) -> tuple[int, ...]:
        """The seeds whose refit on the reference split the randomness probe already made."""
        return tuple(self._probed)

    def sweeps(self, points: int) -> list[Sweep]:
        if self.estimator is not None:
            return []
        if self.ensemble is None:
            return sweeps_from(self._space(self.members[0]), self.members[0].params, points)
        return [replace(s, param=f"{m.model}__{s.param}") for m in self.members
                for s in sweeps_from(self._space(m), m.params, points)]

    def _predict(self, seed: int, resample: Resample, params: Mapping[str, Any] | None = None,
                 deadline: float | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """Fit the configuration on ``resample.train``; its predictions (and probabilities) on ``.test``."""
        from automlops.search.deadline import interrupt_at
        from automlops.tabular.evaluate import one_openmp_thread, predict_outputs
        from automlops.tabular.forest_growth import fit_before_deadline

        model = self.build(seed, params)
        train, test = np.asarray(resample.train), np.asarray(resample.test)
        with warnings.catch_warnings(), one_openmp_thread(), interrupt_at(deadline):
            warnings.simplefilter("ignore")
            fit_before_deadline(model, self.X.iloc[train], self.y.iloc[train])
            pred, proba = predict_outputs(model, self.X.iloc[test], self.problem)
        return pred, proba

    def _is_reference(self, resample: Resample) -> bool:
        ref = self.reference
        return resample is ref or (resample.label == ref.label and np.array_equal(resample.test, ref.test)
                                   and np.array_equal(resample.train, ref.train))

    def fit_score(self, resample: Resample, *, seed: int, params: Mapping[str, Any] | None = None,
                  deadline: float | None = None) -> float:
        from automlops.core.metrics import get_metric, score

        probed = self._probed.get(seed) if not params and self._is_reference(resample) else None
        pred, proba = probed if probed is not None else self._predict(seed, resample, params, deadline)
        test = np.asarray(resample.test)
        return float(score(get_metric(self.metric), self.y.iloc[test].to_numpy(), pred, proba, self.problem.classes))


# --------------------------------------------------------------------- building subjects
def _ref(meta: Mapping[str, Any]) -> str:
    return f"{meta.get('name', 'model')}@v{meta.get('version', '?')}"


def _recipe(meta: Mapping[str, Any]) -> tuple[list[Candidate], Any, float | None]:
    """Members, ensemble config (None for one model) and expected refit seconds, from meta.json."""
    from automlops.tabular import ensemble as ens
    from automlops.tabular.zoo import ZOO

    params, rows = dict(meta.get("best_params") or {}), list(meta.get("leaderboard") or [])
    by_model = {r.get("model"): r for r in rows}
    kind = params.get("kind")
    if kind in ENSEMBLE_KINDS and isinstance(params.get("members"), list):
        missing = [m for m in params["members"] if m not in by_model or not isinstance(by_model[m].get("params"), dict)]
        if missing:
            raise ConfigError(f"{_ref(meta)}: the ensemble's member(s) {', '.join(missing)} are not in the saved "
                              "leaderboard, so their hyperparameters are unknown")
        members = [Candidate(m, dict(by_model[m]["params"])) for m in params["members"]]
        weights = params.get("weights")
        config = ens.EnsembleConfig(kind=kind, voting=params.get("voting") or "soft",
                                    weights=tuple(weights) if weights else None, meta_model=params.get("meta_model"),
                                    members=tuple(params["members"]))
    else:
        name = str(meta.get("best_model"))
        if name not in ZOO.names():
            raise ConfigError(f"{_ref(meta)}: '{name}' is not a model of the studio's zoo, so it cannot be refitted")
        members, config = [Candidate(name, params)], None
    seconds = [float(by_model[m.model].get("fit_seconds") or "nan") for m in members if m.model in by_model]
    total = sum(seconds) if seconds and all(math.isfinite(s) for s in seconds) else None
    if total is not None and config is not None and config.kind == "stacking":
        total *= 1 + ens.STACKING_CV
    return members, config, total


def _check_columns(frame: pd.DataFrame, meta: Mapping[str, Any], source: str) -> None:
    wanted = [meta.get("target"), *(meta.get("input_columns") or [])]
    if meta.get("time_column"):
        wanted.append(meta["time_column"])
    gone = [c for c in dict.fromkeys(wanted) if c and c not in frame.columns]
    if gone:
        raise DataError(f"the configuration no longer fits the data: {source} has no column(s) "
                        f"{', '.join(repr(c) for c in gone)} that the model was trained with")


def _load_frame(meta: Mapping[str, Any]) -> tuple[pd.DataFrame, str]:
    from automlops.mlops.lake import DataLake

    dataset = meta.get("dataset") or {}
    if not dataset.get("name") or dataset.get("version") is None:
        raise ConfigError(f"{_ref(meta)} records no dataset version (it was uploaded or trained outside the lake), "
                          "so there is no data to refit it on")
    try:
        frame = DataLake().load(dataset["name"], dataset["version"])
    except NotFoundError as exc:
        raise NotFoundError(f"{_ref(meta)} was trained on {dataset['name']} v{dataset['version']}, which is no "
                            f"longer in the data lake ({exc})") from None
    return frame, f"{dataset['name']} v{dataset['version']}"


def _validation_mode(kind: str | None) -> str | None:
    return {"holdout_stratified": "holdout"}.get(str(kind), kind) if kind and kind != "upload" else None


def _prepared(meta: Mapping[str, Any], frame: pd.DataFrame, members: Sequence[Candidate]) -> Any:
    """A tabular engine prepared exactly as for the training (same test rows, features, validation)."""
    from automlops.tabular.engine import TabularEngine

    engine = TabularEngine(meta.get("target"), task=meta.get("task"), metric=meta.get("metric"),
                           preset=meta.get("preset") or "medium", search="random",
                           validation=_validation_mode(meta.get("validation")),
                           models=sorted({m.model for m in members}), ensemble="none", seed=int(meta.get("seed") or 0),
                           time_column=meta.get("time_column"))
    engine.prepare(frame, DecisionLog(lambda event: None, lambda: 0.0, lambda: None))
    return engine


def _upload_subject(loaded: Any, frame: pd.DataFrame, source: str) -> TabularSubject:
    from automlops.core.problem import infer_problem

    meta = loaded.meta
    problem = infer_problem(frame, meta["target"], task=meta.get("task"), metric=meta.get("metric"))
    if problem.task is TaskType.CLASSIFICATION:
        problem = replace(problem, classes=tuple(np.unique(frame[problem.target].dropna().to_numpy()).tolist()))
    rows = frame[frame[problem.target].notna()].reset_index(drop=True)
    X, y = rows[list(meta.get("input_columns") or [])], rows[problem.target]
    _, splits = resample_rows(y, problem, 5, 0)
    return TabularSubject(label=str(meta.get("best_model")), problem=problem, plan=None, X=X, y=y,
                          reference=replace(splits[0], label="fold 1 of 5"), members=[], estimator=loaded.model,
                          notes=[f"{_ref(meta)} was uploaded: it is refitted as given (a clone of the uploaded "
                                 f"estimator) on the {len(rows)} rows of {source} it was validated on; it has no "
                                 "search space, so there is nothing to sweep"])


def saved_subject(loaded: Any) -> TabularSubject:
    """The subject of a saved tabular model (:class:`~automlops.mlops.store.LoadedModel`)."""
    meta = loaded.meta
    frame, source = _load_frame(meta)
    _check_columns(frame, meta, source)
    if meta.get("source") == "upload":
        return _upload_subject(loaded, frame, source)
    members, config, seconds = _recipe(meta)
    engine = _prepared(meta, frame, members)
    notes = [f"rebuilt from {source}: the same {len(engine.test)} test rows are kept aside and never used; every "
             f"refit learns and scores on the {len(engine.X)} training rows"]
    if meta.get("n_test_rows") is not None and int(meta["n_test_rows"]) != len(engine.test):
        notes.append(f"warning: the training kept {meta['n_test_rows']} test rows, the rebuild {len(engine.test)}")
    subject = _subject(engine, str(meta.get("best_model")), members, config, seconds, notes)
    subject.rounds = _rounds_cut_by_time(loaded.model) if config is None else None
    if subject.rounds is not None:
        subject.notes.append(f"the search's time budget stopped the saved model's boosting after {subject.rounds} "
                             f"rounds, before early stopping would have: every refit fits those {subject.rounds} "
                             "rounds (left to early stopping, a refit could run to 10,000 rounds and cost many "
                             "times the saved fit)")
    return subject


def _rounds_cut_by_time(model: Any) -> int | None:
    """The rounds a saved boosting model fitted when a deadline, not early stopping, ended its fit."""
    step = model.steps[-1][1] if hasattr(model, "steps") else model
    if getattr(step, "stopped_for_time_", False) and getattr(step, "n_rounds_", None):
        return int(step.n_rounds_)
    return None


def _subject(engine: Any, label: str, members: list[Candidate], config: Any, seconds: float | None,
             notes: list[str]) -> TabularSubject:
    train, val = engine.validation.splits(engine.X, engine.y, engine.seed)[0]
    ref = Resample(np.asarray(train), np.asarray(val), f"{engine.validation.kind} validation, split 1")
    return TabularSubject(label=label, problem=engine.problem, plan=engine.plan, X=engine.X, y=engine.y,
                          reference=ref, members=members, ensemble=config, seed=engine.seed, fit_seconds=seconds,
                          notes=notes)


def leaderboard_subject(runner: Any, row: int | str | Mapping[str, Any]) -> TabularSubject:
    """The subject of one leaderboard entry of a fitted :class:`~automlops.tabular.runner.AutoMLRunner`.

    ``row``: its position in ``runner.leaderboard_`` (0 = best), its model label, or the row itself.
    """
    engine = getattr(runner, "engine_", None)
    board = getattr(runner, "leaderboard_", None)
    if engine is None or board is None:
        raise ConfigError("leaderboard_subject needs a fitted AutoMLRunner (call fit first)")
    rows = board.to_dict(orient="records")
    if isinstance(row, int):
        if not 0 <= row < len(rows):
            raise ConfigError(f"the leaderboard has {len(rows)} rows; row {row} does not exist")
        entry = rows[row]
    elif isinstance(row, str):
        found = [r for r in rows if r.get("model") == row]
        if not found:
            raise ConfigError(f"no leaderboard row for '{row}'; rows: {', '.join(str(r.get('model')) for r in rows)}")
        entry = found[0]
    else:
        entry = dict(row)
    meta = {"best_model": entry.get("model"), "best_params": entry.get("params") or {}, "leaderboard": rows,
            "name": "leaderboard", "version": 0}
    members, config, seconds = _recipe(meta)
    return _subject(engine, str(entry.get("model")), members, config, seconds,
                    [f"leaderboard entry {entry.get('model')}: refitted on the search's {len(engine.X)} training rows"])
