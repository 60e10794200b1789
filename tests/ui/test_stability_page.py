"""The Stability page (AppTest): no models, the form on a real saved model, a finished report read back
from the analysis table, a failed analysis, and (slow) a real analysis started, followed, cancelled."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from sklearn.datasets import load_breast_cancer
from streamlit.testing.v1 import AppTest

from automlops.config import Settings
from automlops.stability.types import Fit, SensitivityCurve, Spread, StabilityReport
from automlops.ui import analysis_jobs
from automlops.ui.analysis_store import AnalysisStore
from tests.ui.helpers import REPO, assert_clean, run_until, texts

PAGE = str(REPO / "automlops/ui/pages/stability.py")
JOB_KEY = "automlops.stability_job_id"


def _page() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=60)


@pytest.fixture(scope="module")
def trained_once(tmp_path_factory: pytest.TempPathFactory, empty_db: Path) -> Path:
    """bc@v1: logistic regression on breast_cancer, trained and saved by `automlops train`."""
    from automlops.cli import main

    home = tmp_path_factory.mktemp("stability-page") / "home"
    home.mkdir()
    shutil.copy(empty_db, home / "mlflow.db")
    bc = home.parent / "bc.csv"
    load_breast_cancer(as_frame=True).frame.to_csv(bc, index=False)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AUTOMLOPS_HOME", str(home))
        for var in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
            env.delenv(var, raising=False)
        assert main(["train", str(bc), "--target", "target", "--models", "logistic", "--n-trials", "2",
                     "--name", "bc", "--preset", "fast", "--ensemble", "none", "--seed", "0"]) == 0
    return home


@pytest.fixture
def trained(ui_home: Path, trained_once: Path) -> Path:
    """The trained home copied into this test's own home."""
    shutil.rmtree(ui_home)
    shutil.copytree(trained_once, ui_home)
    return ui_home


STABLE = ("stable: ±0.006 across 5 splits (95 % CI 0.974–0.990); seeds move it ±0.001, so most of the spread is "
          "the data; most sensitive to C (0.010 swing)")


def _report(cancelled: bool = False, verdict: str = STABLE) -> StabilityReport:
    """A report built by hand: 5 splits, 3 seeds, one sensitivity curve, two importances."""
    splits = (0.981, 0.975, 0.990, 0.984, 0.979)
    seeds = (0.983, 0.984, 0.983)
    fits = tuple([Fit("split", i, s, 0.1 + i / 100) for i, s in enumerate(splits)]
                 + [Fit("seed", i, s, 0.1, seed=i) for i, s in enumerate(seeds)]
                 + [Fit("sensitivity", i, 0.97 + i / 200, 0.1, param="C", value=c) for i, c in enumerate((0.1, 1.0, 10.0))]
                 + [Fit("split", 5, float("nan"), 0.0, error="the time budget ran out")])
    curve = SensitivityCurve("C", 1.0, True, False, tuple((c, Spread.of([0.97 + i / 200, 0.971 + i / 200]))
                                                       for i, c in enumerate((0.1, 1.0, 10.0))))
    return StabilityReport(
        model="bc@v1", kind="tabular", label="logistic", metric="roc_auc", direction="maximize", params={"C": 1.0},
        resampling="repeated stratified 5-fold (classification: each split keeps the class shares)",
        splits=Spread.of(splits), seeds=Spread.of(seeds), sensitivity=(curve,), importances={"C": 0.8, "penalty": 0.2},
        fits=fits, decisions=("splits: repeated stratified K-fold", "1 refit skipped: the time budget ran out"),
        verdict=verdict,
        seconds=4.2, cancelled=cancelled, run_id="0123456789abcdef")


def _store_job(settings: Settings, status: str, *, result: StabilityReport | None = None,
               error: str | None = None) -> str:
    store = AnalysisStore(settings.home.resolve() / "analyses.db")
    job_id = f"{os.getpid():x}{time.time_ns() % 10**8:x}"[:12]
    params = {"model": "bc@v1", "splits": 5, "seeds": 3, "sensitivity": True, "points": 3, "time_budget": 60.0}
    store.add(job_id, "stability", analysis_jobs.ANALYSES["stability"], json.dumps(params), created=time.time(),
              owner_pid=os.getpid(), owner_started=None)
    store.update(job_id, status=status, progress=1.0, started=time.time() - 4, ended=time.time(), error=error,
                 result=json.dumps(result.to_dict()) if result is not None else None)
    return job_id


# ---------------------------------------------------------------------- default tests
def test_no_saved_model_says_what_to_do(settings: Settings) -> None:
    at = _page().run()
    assert_clean(at)
    assert any("No saved model to analyse yet" in t for t in texts(at.info))
    assert not [b for b in at.button if b.key == "stab_start"]


def test_a_finished_report_shows_verdict_spreads_figures_refits_and_downloads(settings: Settings) -> None:
    report = _report()
    at = _page()
    at.session_state[JOB_KEY] = _store_job(settings, "finished", result=report)
    at.run()
    assert_clean(at)
    assert report.verdict in texts(at.success)
    sections = at.dataframe[0].value
    assert list(sections["section"]) == ["splits", "seeds"] and list(sections["n"]) == [5, 3]
    assert sections["mean"].iloc[0] == pytest.approx(sum(report.splits.scores) / 5)
    assert [m.label for m in at.metric] == ["Mean roc_auc", "95 % interval", "Refits", "Time"]
    assert at.metric[2].value == "11"  # 5 splits + 3 seeds + 3 sweep points; the failed refit is not counted
    assert len(at.get("plotly_chart")) == 3  # spread boxes, sensitivity curve, fANOVA importances
    sens = at.dataframe[1].value
    assert list(sens["value"]) == ["0.1", "1.0", "10.0"] and list(sens["chosen"]) == [False, True, False]
    fits = at.dataframe[2].value
    assert len(fits) == 12 and fits["error"].iloc[-1] == "the time budget ran out"
    assert any("1 refit skipped" in m for m in texts(at.markdown))
    assert any("0123456789abcdef" in c for c in texts(at.caption))
    assert len(at.get("download_button")) == 2
    assert at.button(key="stab_hide").click().run().session_state[JOB_KEY] is None
    assert_clean(at)
    assert not at.get("plotly_chart")


def test_a_failed_or_cancelled_analysis_says_so_without_a_traceback(settings: Settings) -> None:
    at = _page()
    at.session_state[JOB_KEY] = _store_job(settings, "failed", error="column 'mean radius' is gone from the data")
    at.run()
    assert_clean(at)
    assert "The analysis failed: column 'mean radius' is gone from the data" in texts(at.error)
    at = _page()
    unstable = "unstable: ±0.041 across 5 splits (95 % CI 0.93–1.00)"
    at.session_state[JOB_KEY] = _store_job(settings, "cancelled", result=_report(cancelled=True, verdict=unstable),
                                           error="cancelled: the analysis stopped early")
    at.run()
    assert_clean(at)
    assert any("covers the refits that finished" in t for t in texts(at.warning))
    assert unstable in texts(at.warning) and not at.success
    assert len(at.get("plotly_chart")) == 3


def test_a_running_analysis_shows_its_progress_and_cancel_asks_it_to_stop(settings: Settings) -> None:
    job_id = _store_job(settings, "running")
    AnalysisStore(settings.home.resolve() / "analyses.db").update(job_id, progress=0.4, message="refit 4 of 10",
                                                                   ended=None)
    at = _page()
    at.session_state[JOB_KEY] = job_id
    at.run()
    assert_clean(at)
    assert "Analysing bc@v1: 5 splits, 3 seeds, sensitivity (3 points)" in [h.value for h in at.subheader]
    assert at.get("progress")[0].value == 40 and "refit 4 of 10" in at.get("progress")[0].proto.text
    assert not at.button(key="stab_cancel").disabled and not at.selectbox
    at.button(key="stab_cancel").click().run()
    assert analysis_jobs.get(job_id, settings=settings).cancel_requested
    at.run()  # the panel's next redraw (every second in a browser)
    assert at.button(key="stab_cancel").disabled
    assert any("Cancel requested" in c for c in texts(at.caption))


def test_the_form_lists_models_with_data_and_refuses_an_empty_analysis(settings: Settings) -> None:
    from sklearn.linear_model import LogisticRegression

    from automlops.mlops.store import ModelStore

    store = ModelStore(settings=settings)
    model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    meta = {"kind": "tabular", "task": "classification", "metric": "roc_auc", "best_model": "logistic",
            "test_score": 0.991, "dataset": {"name": "bc", "version": 1}}
    for version in (1, 2):
        store.save("bc", model, {**meta, "test_score": 0.99 + version / 1000})
    store.save("uploaded", model, {"kind": "tabular", "task": "classification", "source": "upload"})
    at = _page().run()
    assert_clean(at)
    assert at.selectbox(key="stab_model").options == ["bc@v2", "bc@v1"]  # newest first, the upload left out
    assert any("1 uploaded model version(s) are not listed" in c for c in texts(at.caption))
    assert "tabular · classification · logistic · test roc_auc = 0.9920 · trained on bc v0001" in texts(at.caption)
    at.checkbox(key="stab_use_splits").uncheck().run()
    assert at.number_input(key="stab_splits").disabled
    at.button(key="stab_start").click().run()
    assert any("nothing to analyse" in t for t in texts(at.error))
    assert analysis_jobs.recent("stability", settings=settings) == []


# ---------------------------------------------------------------------- slow: real analyses
@pytest.mark.slow
def test_start_follow_and_finish_a_real_analysis(trained: Path, settings: Settings) -> None:
    at = _page().run()
    at.number_input(key="stab_splits").set_value(2)
    at.button(key="stab_start").click().run()
    assert_clean(at)
    job_id = at.session_state[JOB_KEY]
    assert job_id and analysis_jobs.get(job_id, settings=settings).params["splits"] == 2
    run_until(at, lambda a: bool(a.success) or bool(a.error) or bool(a.warning), timeout=240)
    assert_clean(at)
    snap = analysis_jobs.get(job_id, settings=settings)
    assert snap is not None and snap.status == "finished", snap.error
    report = StabilityReport.from_dict(snap.result)
    assert report.model == "bc@v1" and report.splits is not None and report.splits.n == 2 and report.seeds is None
    assert report.verdict in texts(at.success) and at.metric[2].value == "2"
    assert at.selectbox(key="stab_model").value == "bc@v1"  # the form is back below the report
    assert not [s for s in analysis_jobs.recent("stability", settings=settings) if s.job_id != job_id]


@pytest.mark.slow
def test_cancel_keeps_the_refits_that_finished(trained: Path, settings: Settings) -> None:
    at = _page().run()
    at.number_input(key="stab_splits").set_value(100)
    at.number_input(key="stab_budget").set_value(0)
    at.button(key="stab_start").click().run()
    job_id = at.session_state[JOB_KEY]
    deadline = time.monotonic() + 180
    while (snap := analysis_jobs.get(job_id, settings=settings)).progress <= 0.0:
        assert snap.running and time.monotonic() < deadline, snap
        time.sleep(0.2)
    at.run()
    at.button(key="stab_cancel").click().run()
    run_until(at, lambda a: not any(b.key == "stab_cancel" for b in a.button), timeout=60)
    assert_clean(at)
    snap = analysis_jobs.get(job_id, settings=settings)
    assert snap is not None and snap.status == "cancelled"
    assert snap.result is not None, snap.error  # it stopped between two batches of refits
    report = StabilityReport.from_dict(snap.result)
    assert report.cancelled and 1 <= report.n_fits < 100
    assert any("covers the refits that finished" in t for t in texts(at.warning))
    assert at.metric[2].value == str(report.n_fits)
