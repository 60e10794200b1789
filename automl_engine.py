"""AutoMLOps Studio — the tabular AutoML engine, in one import.

A five-minute tour (each name links to a small module in ``automlops/tabular``)::

    from automl_engine import AutoMLRunner
    runner = AutoMLRunner("target", preset="fast", search="tpe").fit(df)
    runner.leaderboard_        # best trial of every model, mean ± std over folds
    runner.decisions_          # every automatic choice, in plain words
    runner.best_estimator_     # preprocessing + model, ready to predict

* ``infer_problem``   – classification or regression? which metric? (``automlops/core/problem.py``)
* ``plan_features``   – which column gets scaled, one-hot encoded or dropped (``preprocessing.py``)
* ``choose_validation`` – holdout, k-fold, stratified or time-series split (``validation.py``)
* ``ZOO``             – the algorithms and their search spaces (``zoo.py``)
* ``STRATEGIES``      – TPE, random, grid and Hyperband search with Optuna (``search.py``)
* ``PRESETS``         – fast / medium / best (``presets.py``)
* ``EnsembleConfig``  – voting and stacking (``ensemble.py``)
* ``SearchDriver``    – the one search loop every engine plugs into (``automlops/search/driver.py``);
  ``FitResult`` is what it returns, ``ClusteringEngine`` a second engine on the same driver::

      from automl_engine import ClusteringEngine, DriverConfig, SearchDriver
      result = SearchDriver(ClusteringEngine(), DriverConfig(preset="fast")).fit(features)

* ``explain_global`` / ``make_explainer`` / ``explain_rows`` – SHAP in the original columns (``explain.py``)
* ``import_model``    – bring your own .skops (or trusted pickle), validated on a lake version (``upload.py``)
* ``retrain_fit``     – a saved version's recipe fitted again on new data, warm where it can (``retrain.py``)
* ``retrain_on_drift`` – challenger vs champion on fresh labelled rows, then promote (``automlops/lifecycle.py``)
* ``stability_report`` / ``analyze`` – is a score real, or luck? refits over splits, seeds and nearby
  hyperparameters, with confidence intervals and a verdict (``automlops/stability/``)::

      report = stability_report("breast_cancer@v1", splits=10, seeds=5, sensitivity=True)
      report.verdict            # "stable: roc_auc 0.9958 ±0.0054 across 10 splits ..."

* ``run_lab``         – TPE vs random vs grid vs Hyperband vs CMA-ES vs QMC on one table, repeated over
  seeds, with convergence bands and test-score intervals (``automlops/lab/``)
* ``annotate_leaderboard`` / ``corrected_t_test`` / ``paired_bootstrap`` – a leaderboard that knows its
  noise: each row's 95 % interval and whether its lead over the next row is significant
  (``automlops/search/significance.py``); ``AutoMLRunner(select="robust")`` ships the simplest of the
  models tied with the best
* ``export_script``   – any saved model as a plain, runnable script that reproduces its test score
  (``automlops/export/``)
* ``build_bundle``    – a saved model as a Docker build context serving it (FastAPI, the API's contract,
  only the studio code it needs, pinned requirements), checked to answer as the studio does
  (``automlops/bundle/``)
"""

from __future__ import annotations

from automlops.bundle import build_bundle
from automlops.core.fit import Artifact, FitResult
from automlops.core.metrics import METRICS, get_metric
from automlops.core.problem import Problem, TaskType, infer_problem
from automlops.export import export_script
from automlops.lab import LabResult, run_lab
from automlops.lifecycle import RetrainOutcome, retrain_on_drift
from automlops.search.driver import DriverConfig, SearchDriver
from automlops.search.engine import Engine
from automlops.search.significance import annotate_leaderboard, corrected_t_test, paired_bootstrap
from automlops.stability import StabilityReport, analyze, leaderboard_subject, stability_report
from automlops.tabular.clustering import ClusteringEngine
from automlops.tabular.engine import TabularEngine
from automlops.tabular.ensemble import EnsembleConfig
from automlops.tabular.explain import explain_global, explain_rows, make_explainer
from automlops.tabular.persist import model_metadata, save_model
from automlops.tabular.preprocessing import plan_features
from automlops.tabular.presets import PRESETS, get_preset
from automlops.tabular.retrain import retrain_fit
from automlops.tabular.runner import AutoMLRunner
from automlops.tabular.search import STRATEGIES
from automlops.tabular.upload import import_model
from automlops.tabular.validation import choose_validation
from automlops.tabular.zoo import ZOO, available_models

__all__ = ["METRICS", "PRESETS", "STRATEGIES", "ZOO", "Artifact", "AutoMLRunner", "ClusteringEngine", "DriverConfig",
           "Engine", "EnsembleConfig", "FitResult", "LabResult", "Problem", "RetrainOutcome", "SearchDriver",
           "StabilityReport", "TabularEngine", "TaskType", "analyze", "annotate_leaderboard", "available_models", "build_bundle", "choose_validation",
           "corrected_t_test", "explain_global", "explain_rows", "export_script", "get_metric", "get_preset", "import_model",
           "infer_problem", "leaderboard_subject", "make_explainer", "model_metadata", "paired_bootstrap", "plan_features",
           "retrain_fit", "retrain_on_drift", "run_lab", "save_model", "stability_report"]
