"""The stability analysis on real tabular models: a saved breast_cancer k-NN and a diabetes LightGBM.

The k-NN is trained once per module by ``automlops train`` in a temporary home (real lake, real
MLflow SQLite); the LightGBM is a leaderboard entry of an in-memory ``AutoMLRunner``. They are
analysed: resampling without leakage, splits/seeds/sensitivity/fANOVA, the
time budget, cancel, bad input, the MLflow run nested under the training run, the reports, the
CLI and the dashboard's job function.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes

from automlops.cli import main
from automlops.core.problem import Problem, TaskType
from automlops.errors import ConfigError, DataError
from automlops.mlops.store import LoadedModel, ModelStore
from automlops.stability.analysis import analyze
from automlops.stability.report import figures, to_html, to_markdown
from automlops.stability.service import load_subject, stability_report
from automlops.stability.tabular import TabularSubject, leaderboard_subject, resample_rows
from automlops.stability.types import StabilityReport
from automlops.tabular.runner import AutoMLRunner


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def trained_once(tmp_path_factory: pytest.TempPathFactory, empty_db: Path) -> Path:
    """bc@v1: k-NN on breast_cancer, trained and saved by `automlops train` (6 trials, no randomness)."""
    home = tmp_path_factory.mktemp("stability") / "home"
    home.mkdir()
    shutil.copy(empty_db, home / "mlflow.db")
    bc = home.parent / "bc.csv"
    load_breast_cancer(as_frame=True).frame.to_csv(bc, index=False)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AUTOMLOPS_HOME", str(home))
        for var in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
            env.delenv(var, raising=False)
        assert main(["train", str(bc), "--target", "target", "--models", "knn", "--n-trials", "6", "--name", "bc",
                     "--preset", "fast", "--ensemble", "none", "--seed", "0"]) == 0
    return home


@pytest.fixture(scope="module")
def diabetes_runner() -> AutoMLRunner:
    """LightGBM (bagging: it has randomness) on diabetes, fitted in memory: a leaderboard to analyse."""
    frame = load_diabetes(as_frame=True).frame
    return AutoMLRunner("target", models=["lightgbm"], n_trials=1, ensemble="none", preset="fast").fit(frame)


@pytest.fixture
def trained(home: Path, trained_once: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Path]:
    shutil.rmtree(home)
    shutil.copytree(trained_once, home)
    capsys.readouterr()
    yield home


def test_resampling_is_stratified_and_never_leaks(trained: Path) -> None:
    loaded, subject, ref = load_subject("bc")
    assert ref == "bc@v1" and isinstance(subject, TabularSubject)
    assert len(subject.X) == 569 - loaded.meta["n_test_rows"]  # the model's test rows stay aside
    scheme, splits = subject.resampling(10, seed=0)
    assert len(splits) == 10 and "repeated 5-fold" in scheme and "stratified" in scheme
    share = float((subject.y == subject.y.iloc[0]).mean())
    for s in splits:
        assert not set(s.train) & set(s.test)
        assert abs(float((subject.y.iloc[s.test] == subject.y.iloc[0]).mean()) - share) < 0.03
    first_repeat = np.sort(np.concatenate([s.test for s in splits[:5]]))
    assert np.array_equal(first_repeat, np.arange(len(subject.y)))  # one repeat scores every row once
    ref_split = subject.reference_split()
    assert not set(ref_split.train) & set(ref_split.test)


def test_small_tables_bootstrap_and_time_series_learn_from_the_past() -> None:
    y = pd.Series(np.arange(60) % 3)
    problem = Problem(task=TaskType.CLASSIFICATION, target="y", metric="accuracy", direction="maximize")
    scheme, boots = resample_rows(y, problem, 4, seed=1)
    assert "bootstrap" in scheme and "out-of-bag" in scheme and len(boots) == 4
    for b in boots:
        assert len(b.train) == 60 and not set(b.test) & set(b.train) and len(b.test) > 0
    timed = Problem(task=TaskType.REGRESSION, target="y", metric="rmse", direction="minimize", time_column="t")
    scheme, cuts = resample_rows(pd.Series(np.arange(300.0)), timed, 5, seed=0)
    assert "time-series" in scheme and len(cuts) == 5
    for c in cuts:
        assert c.train.max() < c.test.min()
    with pytest.raises(ConfigError, match="fewer splits"):
        resample_rows(pd.Series(np.arange(20.0)), timed, 10, seed=0)


def test_splits_sensitivity_and_fanova_on_a_deterministic_model(trained: Path) -> None:
    loaded, subject, ref = load_subject("bc")
    assert not subject.has_randomness()  # k-NN: every seed gives the same model
    seen: list[float] = []
    report = analyze(subject, splits=4, seeds=3, sensitivity=True, points=3, repeats=2, n_jobs=1,
                     trials=loaded.meta["trials"], model_ref=ref, progress=lambda f, m: seen.append(f))
    assert report.splits is not None and report.splits.n == 4 and 0.9 < report.splits.mean <= 1.0
    assert report.splits.ci_low <= report.splits.mean <= report.splits.ci_high <= 1.0
    assert report.seeds is None and any("no randomness" in d for d in report.decisions)
    assert "no randomness" in report.verdict
    params = {c.param for c in report.sensitivity}
    assert params == {"n_neighbors", "weights"}
    chosen = loaded.meta["best_params"]["n_neighbors"]
    curve = next(c for c in report.sensitivity if c.param == "n_neighbors")
    assert curve.chosen == chosen and chosen in [v for v, _ in curve.points]
    assert all(s.n == 2 for _, s in curve.points)
    assert set(report.importances) == {"n_neighbors", "weights"}
    assert sum(report.importances.values()) == pytest.approx(1.0)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) == len(report.fits)
    assert report.summary()["most_sensitive"] in params
    only_seeds = analyze(subject, seeds=3, n_jobs=1, model_ref=ref)  # a decision, not a crash
    assert only_seeds.n_fits == 0 and only_seeds.verdict.startswith("no randomness")


def test_seeds_measure_the_algorithms_own_variance(diabetes_runner: AutoMLRunner) -> None:
    subject = leaderboard_subject(diabetes_runner, 0)
    assert subject.label == "lightgbm" and subject.params == diabetes_runner.leaderboard_.iloc[0]["params"]
    assert subject.has_randomness() and subject.metric == "rmse" and subject.direction == "minimize"
    report = analyze(subject, splits=2, seeds=2, n_jobs=2)  # two worker processes
    assert report.seeds is not None and report.seeds.n == 2 and report.seeds.std > 0
    assert report.splits is not None and report.splits.std > 0
    assert {f.seed for f in report.fits if f.kind == "seed"} == {0, 1}
    assert "splits of repeated 2-fold" in report.resampling and "shuffled" in report.resampling
    assert "seeds move it" in report.verdict and report.extra["workers"] == 2
    with pytest.raises(ConfigError, match="no leaderboard row"):
        leaderboard_subject(diabetes_runner, "svm")


def test_the_randomness_probe_counts_as_the_first_two_seed_refits(diabetes_runner: AutoMLRunner,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The probe fits seeds 0 and 1 on the reference split, which are exactly the seed refits 0 and 1:
    those are scored from the probe's predictions (the same score a new fit gives), not fitted again."""
    subject = leaderboard_subject(diabetes_runner, 0)
    assert subject.has_randomness()
    fresh = leaderboard_subject(diabetes_runner, 0)  # never probed: fits on every call
    ref = subject.reference_split()
    builds: list[int] = []
    original = TabularSubject.build
    monkeypatch.setattr(TabularSubject, "build", lambda self, seed, params=None: builds.append(seed)
                        or original(self, seed, params))
    for seed in (0, 1):
        assert subject.fit_score(ref, seed=seed) == pytest.approx(fresh.fit_score(ref, seed=seed))
    assert builds == [0, 1]  # only the unprobed subject fitted
    subject.fit_score(ref, seed=2)  # a seed the probe did not fit
    subject.fit_score(ref, seed=0, params={"learning_rate": 0.2})  # another configuration
    other = subject.resampling(2, 0)[1][0]
    subject.fit_score(other, seed=0)  # another split
    assert builds == [0, 1, 2, 0, 0]


def test_the_time_budget_is_kept_and_what_was_skipped_is_said(trained: Path) -> None:
    _, subject, ref = load_subject("bc")
    started = time.monotonic()
    # hundreds of planned k-NN refits (0.013-0.04 s each, the lower on a fast, quiet machine, where
    # the 115 of 60 splits and 9 points once all fitted in 1.5 s): far more than 1.5 s holds
    report = analyze(subject, splits=200, sensitivity=True, points=15, repeats=10, time_budget=1.5, n_jobs=1,
                     model_ref=ref)
    assert time.monotonic() - started < 1.5 + 1.0
    assert 0 < report.n_fits < report.extra["planned"] and report.extra["skipped"] > 0
    assert any("were not run" in d and "time budget" in d for d in report.decisions)
    with pytest.raises(ConfigError, match="too small"):
        analyze(subject, splits=3, time_budget=1e-6, n_jobs=1)


def test_cancel_returns_a_partial_report(trained: Path) -> None:
    _, subject, ref = load_subject("bc")
    calls = {"n": 0}

    def cancelled() -> bool:
        calls["n"] += 1
        return calls["n"] > 3

    report = analyze(subject, splits=10, n_jobs=1, cancelled=cancelled, model_ref=ref)
    assert report.cancelled and report.n_fits == 3 and report.verdict.startswith("partial (cancelled)")
    assert any("cancelled by the user" in d for d in report.decisions)


def test_bad_input_gets_clear_errors(trained: Path) -> None:
    store = ModelStore()
    loaded = store.load("bc", 1)
    from automlops.mlops.lake import DataLake

    frame = DataLake().load("bc", 1).drop(columns=["mean radius", "worst area"])
    version = DataLake().add_processed("bc", frame, parent=1).version
    moved = {**loaded.meta, "dataset": {**loaded.meta["dataset"], "version": version}}
    with pytest.raises(DataError, match="'mean radius', 'worst area'"):
        load_subject(LoadedModel(loaded.model, moved, loaded.path))
    bare = {**loaded.meta, "dataset": None}
    with pytest.raises(ConfigError, match="no dataset version"):
        load_subject(LoadedModel(loaded.model, bare, loaded.path))


def test_report_is_tracked_nested_under_the_training_run(trained: Path) -> None:
    from automlops.mlops.tracking import Tracker

    report = stability_report("bc@v1", splits=3, n_jobs=1)
    assert report.run_id is not None
    run = Tracker().get_run(report.run_id)
    meta = ModelStore().load("bc", 1).meta
    assert run.parent_run_id == meta["run_id"] and run.run_name == "stability-bc-v1"
    assert run.metrics["mean"] == pytest.approx(report.splits.mean) and run.metrics["n_fits"] == 3
    assert run.params["splits"] == "3" and run.params["config.n_neighbors"] == str(meta["best_params"]["n_neighbors"])
    assert {"report.md", "report.html", "report.json", "fits.csv"} <= set(run.artifacts)
    again = StabilityReport.from_dict(json.loads(json.dumps(report.to_dict(), default=str)))
    assert again.summary()["mean"] == report.summary()["mean"]


def test_markdown_and_html_reports(trained: Path) -> None:
    _, subject, ref = load_subject("bc")
    report = analyze(subject, splits=3, sensitivity=True, points=2, repeats=1, n_jobs=1, model_ref=ref)
    md = to_markdown(report)
    assert md.startswith("# Stability of bc@v1") and "**Verdict:**" in md and "| splits | 3 |" in md
    assert "## Sensitivity" in md and "★" in md
    page = to_html(report)
    assert page.startswith("<!doctype html>") and "Plotly" in page and "<script src=\"http" not in page
    assert set(figures(report)) == {"distribution", "sensitivity"}


def test_cli_json_out_and_bad_input(trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bc.md"
    code, stdout, err = _run(capsys, "stability", "bc@v1", "--splits", "3", "--jobs", "1", "--out", str(out),
                             "--json")
    assert code == 0, err
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert {"metric", "mean", "std", "ci_low", "ci_high", "n_fits", "verdict"} <= set(summary)
    assert summary["metric"] == "roc_auc" and summary["n_fits"] == 3 and summary["run_id"]
    assert out.read_text().startswith("# Stability of bc@v1")
    for argv, words in ((["bc", "--splits", "1"], "at least 2"), (["nope", "--splits", "3"], "no model named"),
                        (["bc", "--seeds", "1"], "at least 2"), (["bc", "--out", str(tmp_path / "r.pdf")], ".md"),
                        (["bc", "--out", str(trained / "models" / "bc" / "report.md")], "model store")):
        code, _, err = _run(capsys, "stability", *argv, "--no-track")
        assert code == 2 and len(err.strip().splitlines()) == 1 and words in err, err


def test_dashboard_job_returns_the_report_as_a_dict(trained: Path) -> None:
    from automlops.stability.jobs import run_job

    updates: list[tuple[float, str]] = []
    data = run_job({"model": "bc@v1", "splits": 3, "n_jobs": 1, "track": False},
                   lambda f, m: updates.append((f, m)), lambda: False)
    report = StabilityReport.from_dict(data)
    assert report.splits is not None and report.splits.n == 3 and not report.cancelled
    assert updates[0][0] == 0.0 and updates[-1][0] == 1.0
    stopped = StabilityReport.from_dict(run_job({"model": "bc@v1", "splits": 3, "n_jobs": 1, "track": False},
                                                lambda f, m: None, lambda: True))
    assert stopped.cancelled and stopped.n_fits == 0
