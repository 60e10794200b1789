"""``AnomalyEngine``: unsupervised anomaly detection searched by the same driver as every task.

Anomaly detection ranks rows by how unlike the rest they are. There is usually no column saying
which rows *are* anomalies, so the engine works in three parts:

1. **Search.** Optuna tries PyOD detectors (:mod:`automlops.anomaly.detectors`) and their
   hyperparameters on 80 % of the rows (a fifth is kept aside to test the final model). Each
   candidate is judged by the unsupervised criterion of :mod:`automlops.anomaly.selection` –
   agreement with a panel of diverse default detectors plus stability across two halves of the
   rows – or, when a label column of known anomalies
   is given *and* ``select_by_label=True``, by ROC-AUC (or PR-AUC, precision@k) against it.
2. **Choose.** The best candidate of each of the top two detector families is averaged into a
   rank ensemble (without labels: always, it is the safer bet; with labels: only when it scores
   better than the best single one on the training rows). With labels, a bootstrap then replays
   the choice to see whether tuning on the labels pays on rows it did not see; if not, the best
   detector at its defaults is shipped instead (:mod:`automlops.anomaly.label_choice`).
3. **Threshold and refit.** Scores become 0/1 flags at a threshold set by ``contamination`` (the
   expected share of anomalies: given, or estimated by a median + 3·MAD rule). The model scored on
   the test rows is kept as ``Artifact.tested_obj``; the shipped model is refitted on every row.

A label column is never a feature; it only evaluates (and, if asked, selects).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
import pandas as pd

from automlops.anomaly.detectors import DETECTORS, PANEL, fit_detector, score_after_fit_on
from automlops.anomaly.finalize import FINALIZE_COST, affordable_members, finalize_anomaly
from automlops.anomaly.label_choice import MAX_CANDIDATES, replay_choice
from automlops.anomaly.labels import parse_label
from automlops.anomaly.model import Member
from automlops.anomaly.panel import PANEL_SHARE, check_budget, fit_panel
from automlops.anomaly.selection import (
    ANOMALY_METRICS,
    LABEL_METRICS,
    Panel,
    agreement,
    rank_scores,
    stability,
)
from automlops.core.fit import ValidationSummary
from automlops.core.metrics import MetricContext
from automlops.core.problem import Problem, TaskType
from automlops.core.registry import Registry
from automlops.errors import ConfigError, DataError
from automlops.search.deadline import DeadlineExceeded, interrupt_at
from automlops.search.engine import (
    Candidate,
    Choice,
    DecisionLog,
    Evaluation,
    Finalized,
    SearchPlan,
    TrialOutcome,
)
from automlops.search.suggest import Suggest
from automlops.search.trials import pack_arrays, unpack_arrays
from automlops.tabular.encodings import build_preprocessor
from automlops.tabular.preprocessing import FeaturePlan, plan_features

__all__ = ["ANOMALY_PRESETS", "AT_DEFAULTS", "AnomalyEngine", "AnomalyPreset", "MIN_ROWS"]

MIN_ROWS = 10
AT_DEFAULTS = "at_defaults"  # user attr of a warm-start trial: the detector at PyOD's defaults (see warm_start)
REPLAY_SECONDS = 1.0  # label_choice.replay_choice: ~0.2 s on 300 rows, ~0.8 s at its caps (2 cores)


@dataclass(frozen=True)
class AnomalyPreset:
    name: str
    n_trials: int | None
    time_budget: float | None
    ensemble_size: int
    description: str


ANOMALY_PRESETS: Registry[AnomalyPreset] = Registry("anomaly preset")
# Ensembles of 2 families: measured on planted anomalies (breast_cancer, wine, digits; 10 tables), 2 members
# were as good as 3 or 5 on the first two and better on digits, where few detectors see the anomalies.
for _p in (AnomalyPreset("fast", 12, None, 2, "each detector's defaults, a few tuned; ensemble of 2 families"),
           AnomalyPreset("medium", 40, None, 2, "about 40 trials; ensemble of the 2 best families"),
           AnomalyPreset("best", 120, None, 2, "about 120 trials; ensemble of the 2 best families")):
    ANOMALY_PRESETS.add(_p.name, _p)


def _check_contamination(value: float | str) -> float | str:
    if isinstance(value, str):
        if value.strip().lower() == "auto":
            return "auto"
        try:
            value = float(value)
        except ValueError:
            raise ConfigError(f"contamination must be 'auto' or a number in (0, 0.5], not {value!r}") from None
    if isinstance(value, bool) or not (0.0 < float(value) <= 0.5):
        raise ConfigError(f"contamination must be in (0, 0.5] (the expected share of anomalies), not {value!r}")
    return float(value)


class AnomalyEngine:
    """PyOD anomaly detection searched by the driver (see the module docstring)."""

    name = "anomaly"
    kind = "anomaly"
    models = DETECTORS
    presets = ANOMALY_PRESETS
    metrics = ANOMALY_METRICS

    def __init__(self, *, label: str | None = None, contamination: float | str = "auto",
                 select_by_label: bool = False, metric: str | None = None, preset: str = "medium",
                 models: Sequence[str] | None = None, seed: int = 0, test_size: float = 0.2) -> None:
        self.label, self.select_by_label, self.seed, self.test_size = label or None, select_by_label, seed, test_size
        self.contamination = _check_contamination(contamination)
        self.preset = ANOMALY_PRESETS.get(preset)
        if select_by_label and self.label is None:
            raise ConfigError("select_by_label needs a label column of known anomalies (label=...)")
        self.metric = metric or ("roc_auc" if select_by_label else "agreement_stability")
        ANOMALY_METRICS.get(self.metric)
        if (self.metric in LABEL_METRICS) != select_by_label:
            raise ConfigError(f"metric '{self.metric}' " + ("needs labels: pass label=... and select_by_label=True"
                                                            if not select_by_label else
                                                            "uses no labels; with select_by_label choose one of: "
                                                            + ", ".join(LABEL_METRICS)))
        self.model_names = [DETECTORS.get(m).name for m in models] if models else DETECTORS.names()
        self._cache: dict[str, Evaluation] = {}
        self.finalize_estimate = 0.0
        self.panel_seconds: dict[str, float] = {}  # each panel member's fit + scoring of the training rows

    # ------------------------------------------------------------------ prepare
    def prepare(self, data: pd.DataFrame, log: DecisionLog) -> SearchPlan:
        if not isinstance(data, pd.DataFrame) or len(data) < MIN_ROWS:
            n = len(data) if isinstance(data, pd.DataFrame) else 0
            raise DataError(f"anomaly detection needs a table of at least {MIN_ROWS} rows (got {n})")
        self.data = data.reset_index(drop=True)
        self.y: np.ndarray | None = None
        if self.label is not None:
            self.y, how = parse_label(self.data, self.label)
            log("label", how + "; it is never a feature, only used to "
                + ("select and evaluate" if self.select_by_label else "evaluate"))
        spec = ANOMALY_METRICS.get(self.metric)
        self.problem = Problem(TaskType.ANOMALY, None, spec.name, spec.direction,
                               reasons=(f"metric {spec.name}: {spec.explanation}",))
        self.plan = self._plan_features(log)
        test_rows = self._split(log)
        self.prep = build_preprocessor(self.plan, scale=True, encoding="onehot")
        self.Xt = np.asarray(self.prep.fit_transform(self.train[self.plan.input_columns]), dtype=float)
        if self.Xt.shape[1] == 0 or float(np.ptp(self.Xt, axis=0).max(initial=0.0)) == 0.0:
            raise DataError("every feature is constant on the training rows: no row can stand out")
        self.panel = self._fit_panel(log)
        self.default_ranks: dict[str, np.ndarray] = {}  # filled at the choice (see _default_ranks)
        reason = ("no labels: each candidate is scored by its agreement with the panel's consensus and its "
                  "stability across two halves of the training rows" if self.unsupervised else
                  f"{self.metric} against the known anomalies of the {len(self.train)} training rows")
        log("validation", reason)
        digest = hashlib.sha256(self.Xt.tobytes() + str((self.label, self.metric)).encode()).hexdigest()[:16]
        return SearchPlan(problem=self.problem, validation=ValidationSummary("in-sample", 1, reason),
                          test_rows=test_rows, n_steps=1, models=tuple(self.model_names), fingerprint=digest,
                          input_columns=tuple(self.plan.input_columns), feature_schema=self.plan.schema())

    def _plan_features(self, log: DecisionLog) -> FeaturePlan:
        exclude = (self.label,) if self.label else ()
        plan = plan_features(self.data, self.problem, exclude=exclude)  # no target: many-category text is dropped
        for note in plan.dropped_notes():
            log("data", note)
        return plan

    def _split(self, log: DecisionLog) -> np.ndarray:
        order = np.random.default_rng(self.seed).permutation(len(self.data))
        cut = int(round(len(self.data) * (1 - self.test_size)))
        train_rows, test_rows = np.sort(order[:cut]), np.sort(order[cut:])
        self.train, self.test = self.data.iloc[train_rows], self.data.iloc[test_rows]
        halves = np.random.default_rng(self.seed + 1).permutation(len(train_rows))
        self.halves = (np.sort(halves[: len(halves) // 2]), np.sort(halves[len(halves) // 2:]))
        self.y_train = None if self.y is None else self.y[train_rows]
        self.y_test = None if self.y is None else self.y[test_rows]
        if self.select_by_label and (self.y_train is None or self.y_train.sum() == 0):
            raise DataError(f"label column '{self.label}' marks no anomaly among the {len(train_rows)} training rows, "
                            "so it cannot select a detector; mark known anomalies with 1 or drop select_by_label")
        log("data", f"{len(self.plan.input_columns)} feature column(s) imputed, scaled to unit variance and one-hot "
                    f"encoded, so no column dominates distances; {len(test_rows)} random rows (seed {self.seed}) kept "
                    "aside to test the final model")
        return test_rows

    def _fit_panel(self, log: DecisionLog) -> Panel:
        """The panel of default detectors, within a share of the time budget (see :mod:`automlops.anomaly.panel`)."""
        total, elapsed = log.time_budget(), log.elapsed  # the driver's budget and its clock
        # a share of the time *left*: the budget's clock starts with the process, and at --time-budget 15 a
        # share of the whole budget was nearly all spent on start-up (3.5 s), leaving the panel its 3 cheapest
        left = None if total is None else max(0.0, total - elapsed())
        allowance = None if left is None else PANEL_SHARE * left
        fit = fit_panel(self.Xt, self.seed, allowance=allowance)
        self.panel_seconds = dict(fit.seconds)
        if fit.failed:
            log("selection", f"panel member(s) {', '.join(fit.failed)} failed on this data and were left out")
        if fit.skipped:
            log("budget", f"panel member(s) {', '.join(fit.skipped)} left out: on {len(self.Xt):,} rows they would "
                          f"take the panel past {PANEL_SHARE:.0%} of the {left:.1f} s left of the {total:g} s budget "
                          "(a larger budget keeps them)")
        first = next((m for m in PANEL if m in self.model_names), self.model_names[0])
        check_budget(fit, first, len(self.train), len(self.test), total=total, elapsed=elapsed)
        ranks = fit.panel.ranks
        log("selection", "criterion: " + ("mean of (a) agreement (Spearman) with the consensus of a fixed panel of "
                                          "default detectors (" + ", ".join(ranks) + "), leaving the candidate's own "
                                          "family out, and (b) stability: Spearman between the rankings of two fits "
                                          "on random halves of the training rows; see automlops.anomaly.selection"
                                          if self.unsupervised else
                                          f"{self.metric} against the known anomalies (select_by_label)"))
        return fit.panel

    def _default_ranks(self) -> dict[str, np.ndarray]:
        """Each searchable detector at its defaults, as far as it was scored: rank scores of the training rows.

        The panel's members were fitted before the search; every other detector's defaults are its
        warm-start trial, queued first and run under the budget's deadline like any trial. Fitting the
        missing ones here, after the search, was work no budget priced: on 43k rows a One-class SVM
        alone ran the choice past a 15 s budget, and no model shipped.
        """
        ranks = {name: r for name, r in self.panel.ranks.items() if name in self.model_names}
        for name in self.model_names:
            found = self._cache.get(self._key(name, {}))
            if name not in ranks and found is not None and found.payload is not None:
                ranks[name] = unpack_arrays(found.payload)["rank"].astype(float)
        return ranks

    # ------------------------------------------------------------------ search
    def suggest(self, trial: optuna.Trial) -> Candidate:
        name = str(trial.suggest_categorical("model", self.model_names))
        if trial.user_attrs.get(AT_DEFAULTS):  # a warm-start trial: the detector as PyOD ships it, nothing sampled
            return Candidate(name, {})
        return Candidate(name, DETECTORS.get(name).search_space(Suggest(trial, name)))

    def warm_start(self, study: optuna.Study) -> list[str]:
        """Each detector at PyOD's own defaults first, panel members first.

        The trials are marked (:data:`AT_DEFAULTS`) rather than given default values: some defaults are not
        points of the search space (Isolation Forest's ``max_samples="auto"``, 256 rows; PCA's every
        component). Queued with the model's name alone, Optuna sampled the rest (an Isolation Forest of
        156 trees on 73 % of the rows), and when the budget let one trial finish, that is what shipped.
        """
        order = [m for m in PANEL if m in self.model_names] + [m for m in self.model_names if m not in PANEL]
        for name in order:
            study.enqueue_trial({"model": name}, user_attrs={AT_DEFAULTS: True}, skip_if_exists=True)
        return order

    @property
    def unsupervised(self) -> bool:
        return self.metric not in LABEL_METRICS

    def criterion(self, candidate: Candidate, scores: np.ndarray) -> tuple[float, dict[str, float]]:
        """The value a candidate earns (and its parts): agreement + stability, or a label metric."""
        if not self.unsupervised:
            return ANOMALY_METRICS.get(self.metric).fn(MetricContext(y_true=self.y_train, pred=scores)), {}
        spec, params = DETECTORS.get(candidate.model), dict(candidate.params)
        parts = {"agreement": agreement(scores, self.panel.consensus(leave_out=candidate.model)),
                 "stability": stability(lambda rows: score_after_fit_on(spec, params, self.Xt, rows, self.seed),
                                        self.halves)}
        return ANOMALY_METRICS.get(self.metric).fn(MetricContext(extra=parts)), parts

    def evaluate(self, candidate: Candidate, trial: optuna.Trial | None, deadline: float | None) -> Evaluation:
        key = self._key(candidate.model, candidate.params)
        if key not in self._cache:  # parameter-free detectors (ECOD, COPOD) are suggested again and again
            t0 = time.perf_counter()
            try:
                with interrupt_at(deadline):
                    _, scores = fit_detector(DETECTORS.get(candidate.model), dict(candidate.params), self.Xt,
                                             self.seed)
                    value, parts = self.criterion(candidate, scores)
            except DeadlineExceeded:
                raise optuna.TrialPruned("stopped at the time budget's deadline") from None
            payload = pack_arrays({"rank": rank_scores(scores).astype(np.float32)})
            notes = [", ".join(f"{k} {v:.4f}" for k, v in parts.items())] if parts else []
            self._cache[key] = Evaluation(value, 0.0, [value], time.perf_counter() - t0, 0.0, payload=payload,
                                          notes=notes)
        result = self._cache[key]
        if trial is not None:
            trial.report(result.mean, 1)
        return result

    @staticmethod
    def _key(model: str, params: Any) -> str:
        return f"{model}:{sorted(dict(params).items())}"

    def _parts(self, outcome: TrialOutcome) -> str:
        found = self._cache.get(self._key(outcome.model, outcome.params))
        return f" ({found.notes[0]})" if found is not None and found.notes else ""

    def tail_seconds(self, ranked: Sequence[TrialOutcome]) -> float:
        members = ranked[: self.preset.ensemble_size]
        replay = 0.0 if self.unsupervised else REPLAY_SECONDS  # the bootstrap replay of a choice by labels
        consensus = sum(self.panel_seconds.values()) * len(self.test) / max(len(self.train), 1)  # panel on test rows
        return FINALIZE_COST * sum(o.fit_seconds for o in members) + 0.5 + replay + consensus

    # ------------------------------------------------------------------ choose / finalize
    def choose(self, ranked: Sequence[TrialOutcome], log: DecisionLog, budget: Any) -> Choice:
        values = "; ".join(f"{o.model} {o.value:.4f}" + self._parts(o) for o in ranked)
        log("selection", f"best of each detector by {self.metric}: {values}")
        choice, scores = self._search_choice(ranked, log, budget)
        self.default_ranks = {} if self.unsupervised else self._default_ranks()
        if self.unsupervised or scores is None or not self.default_ranks:
            return choice
        return self._weigh_against_defaults(choice, scores, log)

    def _search_choice(self, ranked: Sequence[TrialOutcome], log: DecisionLog,
                       budget: Any) -> tuple[Choice, np.ndarray | None]:
        """The search's own choice (a single detector or an ensemble) and its rank scores on the training rows."""
        best, top = ranked[0], affordable_members(list(ranked[: self.preset.ensemble_size]), log, budget)
        self.finalize_estimate = FINALIZE_COST * sum(o.fit_seconds for o in top)
        single = Choice(best.model, dict(best.params), best.value, best.std, recipe=[Member(best.model,
                                                                                              dict(best.params))])
        single_scores = unpack_arrays(best.payload)["rank"] if best.payload is not None else None
        if len(top) < 2:
            log("result", f"single detector {best.model} {dict(best.params)}")
            return single, single_scores
        ranks = [unpack_arrays(o.payload)["rank"] for o in top if o.payload is not None]
        value = float(np.mean([o.value for o in top]))
        blended = np.mean(ranks, axis=0) if len(ranks) == len(top) else None
        if not self.unsupervised and blended is not None:
            value = self.criterion(Candidate("ensemble", {}), blended)[0]
        label = f"ensemble({', '.join(o.model for o in top)})"
        params = {"members": [{"model": o.model, "params": dict(o.params)} for o in top]}
        row = {"model": label, "score": value, "std": 0.0, "trials": 0, "pruned": 0, "failed": 0, "params": params}
        if not self.unsupervised and value < best.value:
            log("ensemble", f"{label} scored {value:.4f} on the training labels, below {best.model} "
                            f"({best.value:.4f}); keeping the single detector")
            return Choice(single.label, single.params, single.val_score, single.val_std, single.recipe,
                          (row,)), single_scores
        why = ("averaging the best detectors of two families lowers the risk of an unsupervised choice; its "
               "score is its members' mean criterion" if self.unsupervised else
               f"it scored {value:.4f} on the training labels, not below the best single ({best.value:.4f})")
        log("ensemble", f"final model: {label}, the mean of the members' rank scores: {why}")
        return Choice(label, params, value, 0.0, recipe=[Member(o.model, dict(o.params)) for o in top],
                      extra_rows=(row,)), blended

    def _weigh_against_defaults(self, choice: Choice, scores: np.ndarray, log: DecisionLog) -> Choice:
        """With labels: ship the best default detector unless choosing among tuned candidates pays out of bag."""
        fn, y = ANOMALY_METRICS.get(self.metric).fn, self.y_train
        assert y is not None  # label selection is refused in prepare without a label column
        scores = np.asarray(scores, dtype=float)
        best_default = max(self.default_ranks, key=lambda name: fn(MetricContext(y_true=y,
                                                                                   pred=self.default_ranks[name])))
        # (the trials' rank scores are stored as float32: equal to 1e-6 means the same ranking)
        if np.allclose(scores, self.default_ranks[best_default], rtol=0, atol=1e-6):
            log("selection", f"the search's choice ranks the training rows exactly as {best_default} at its "
                             "defaults, the best default detector on the labels: nothing was tuned to them")
            return choice
        payloads = [e.payload for e in self._cache.values() if e.payload is not None]
        if len(payloads) >= MAX_CANDIDATES:  # a random sample (by score would peek at every row; see label_choice),
            # one place short of the replay's cap so that the search's own choice is never sampled away
            picked = np.random.default_rng(self.seed).choice(len(payloads), MAX_CANDIDATES - 1, replace=False)
            payloads = [payloads[i] for i in picked]
        candidates = [unpack_arrays(p)["rank"].astype(float) for p in payloads] + [scores]
        metric = None if self.metric == "roc_auc" else (lambda t, s: fn(MetricContext(y_true=t, pred=s)))
        replay = replay_choice(y, candidates, self.default_ranks, metric=metric, seed=self.seed)
        unscored = [m for m in self.model_names if m not in self.default_ranks]
        among = (f" ({', '.join(self.default_ranks)}; {', '.join(unscored)} at the defaults finished no trial of the "
                 "search)") if unscored else ""
        numbers = (f"bootstrap replay of the choice ({replay.draws} draws of the {len(y)} training rows "
                   f"with {int(y.sum())} known anomalies): on the rows left out of each draw, picking the best "
                   f"tuned candidate gained {replay.gain:+.4f} {self.metric} (± {replay.standard_error:.4f}) over "
                   f"picking the best detector at its defaults{among}")
        if replay.keep_search_choice:
            log("selection", f"{numbers}; the search's choice, {choice.label}, stays")
            return choice
        log("selection", f"{numbers}: tuning on these labels does not pay on rows it did not see, so "
                         f"{replay.champion} at its defaults ({self.metric} {replay.champion_value:.4f} on the "
                         "training rows) is shipped instead (see automlops.anomaly.label_choice)")
        row = {"model": f"{replay.champion} (defaults)", "score": replay.champion_value, "std": 0.0, "trials": 0,
               "pruned": 0, "failed": 0, "params": {}}
        return Choice(replay.champion, {}, replay.champion_value, 0.0, recipe=[Member(replay.champion, {})],
                      extra_rows=(*choice.extra_rows, row))

    def finalize(self, choice: Choice, log: DecisionLog, budget: Any) -> Finalized:
        return finalize_anomaly(self, choice, log, getattr(budget, "deadline", None))

    def run_params(self) -> dict[str, Any]:
        return {"label": self.label, "contamination": self.contamination, "select_by_label": self.select_by_label,
                "ensemble_size": self.preset.ensemble_size, "detectors": ",".join(self.model_names)}
