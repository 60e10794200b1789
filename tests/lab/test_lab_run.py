"""A real, tiny lab: the tabular engine searching iris with two strategies, two seeds, 5 s per run;
the dashboard's job function on a lake dataset with a cancel; and the `automlops lab` command."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from sklearn.datasets import load_iris

from automlops.cli import main
from automlops.config import Settings
from automlops.lab import LabResult, run_lab
from automlops.lab.jobs import lab_params, run_job
from automlops.lab.plots import figures
from automlops.lab.report import to_html, to_markdown
from automlops.mlops.lake import DataLake

LIGHT = ["logistic", "decision_tree", "knn"]  # cheap models: many trials fit in a few seconds
BUDGET = 5.0  # per run: a few trials even when the 2 cores are busy with other work


@pytest.fixture(scope="module")
def iris() -> pd.DataFrame:
    return load_iris(as_frame=True).frame


@pytest.fixture(scope="module")
def lab(iris: pd.DataFrame) -> tuple[LabResult, list[tuple[float, str]]]:
    seen: list[tuple[float, str]] = []
    result = run_lab(iris, "target", budget=BUDGET, repeats=2, strategies=["random", "hyperband"], seed=7,
                     preset="fast", models=LIGHT, dataset="iris", progress=lambda f, m: seen.append((f, m)))
    return result, seen


def test_every_strategy_runs_once_per_seed_on_the_real_engine(lab: tuple[LabResult, list]) -> None:
    result, _ = lab
    assert sorted((r.strategy, r.seed) for r in result.runs) == [("hyperband", 7), ("hyperband", 8),
                                                                  ("random", 7), ("random", 8)]
    assert result.metric == "log_loss" and result.direction == "minimize"
    for run in result.runs:
        assert run.ok and run.n_complete >= 1 and run.best_model in LIGHT
        assert run.wall_seconds < 1.5 * BUDGET  # each run keeps its budget (some slack for a loaded machine)
        assert run.n_steps == 5  # iris is cross-validated in 5 folds: Hyperband's resource
        bests = [p.best for p in run.history if p.best is not None]
        assert bests == sorted(bests, reverse=True)  # best-so-far only improves (log_loss: goes down)
        assert bests[-1] == pytest.approx(run.best_val)
        assert [p.seconds for p in run.history] == sorted(p.seconds for p in run.history)
        assert run.n_trials == run.n_complete + run.n_pruned + run.n_stopped + run.n_failed == len(run.history)
    # a seed fixes the data cut: both strategies start with the same warm-start trial, so score it the same
    firsts = {(r.strategy, r.seed): r.history[0] for r in result.runs}
    for seed in (7, 8):
        a, b = firsts[("random", seed)], firsts[("hyperband", seed)]
        if a.value is not None and b.value is not None:
            assert a.value == pytest.approx(b.value)
    assert all(r.history[0].warm for r in result.runs)  # each model's defaults come first (the warm start)
    assert all(0 <= r.n_own < r.n_trials for r in result.runs)
    random_runs = [r for r in result.runs if r.strategy == "random"]
    assert all(r.n_pruned == 0 and r.saved_seconds == 0 for r in random_runs)  # no pruner, nothing saved


def test_the_table_curves_and_verdict_summarise_the_runs(lab: tuple[LabResult, list]) -> None:
    result, seen = lab
    rnd = result.summary_of("random")
    assert rnd is not None and rnd.runs == 2 and rnd.test.n == 2
    assert rnd.test.ci_low <= rnd.test.mean <= rnd.test.ci_high
    assert rnd.trials_per_min > 0
    assert {(b.strategy, b.axis) for b in result.curves} == {(s, a) for s in ("random", "hyperband")
                                                             for a in ("seconds", "trials")}
    band = next(b for b in result.curves if b.strategy == "random" and b.axis == "seconds")
    assert band.x[0] == 0.0 and band.x[-1] == pytest.approx(BUDGET)
    for low, mid, high in zip(band.low, band.median, band.high, strict=True):
        assert (mid is None) == (low is None) or (low is not None and low <= mid <= high)
    assert result.target_level is not None and math.isfinite(result.target_level)
    assert "log_loss" in result.verdict and ("within noise" in result.verdict or "beyond noise" in result.verdict)
    assert seen[-1] == (1.0, "lab finished")
    assert [f for f, _ in seen] == sorted(f for f, _ in seen) or max(f for f, _ in seen[:-1]) < 1.0
    assert LabResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result


def test_reports_and_figures(lab: tuple[LabResult, list], tmp_path: Path) -> None:
    result, _ = lab
    figs = figures(result)
    assert set(figs) == {"convergence_seconds", "convergence_trials", "test_scores"}
    assert len(figs["convergence_seconds"].data) == 6  # per strategy: band top, band bottom, median
    text = to_markdown(result)
    assert "| random |" in text and "| hyperband |" in text and result.verdict in text
    page = to_html(result, list(figs.values()))
    assert page.count("plotly.js") >= 1 and "Search-strategy lab" in page


def test_job_function_runs_on_a_lake_dataset_and_stops_when_cancelled(iris: pd.DataFrame,
                                                                        settings: Settings) -> None:
    DataLake(settings=settings).add("iris", iris)
    messages: list[str] = []
    state = {"cancel": False}

    def report(fraction: float, message: str) -> None:
        messages.append(message)
        if message.startswith("run 2/"):
            state["cancel"] = True  # press Cancel as the second run starts

    out = run_job(lab_params("iris", "target", budget=BUDGET, repeats=2, strategies=["tpe", "qmc"], preset="fast",
                             models=LIGHT), report, lambda: state["cancel"])
    result = LabResult.from_dict(json.loads(json.dumps(out)))
    assert result.cancelled and result.dataset == "iris@v1"
    assert len(result.runs) == 1 and result.runs[0].ok  # the first run finished, the second was stopped
    assert any("cancelled during" in d for d in result.decisions)
    assert result.verdict.startswith("Cancelled after 1 of 4 runs")
    assert messages[0] == "loading iris@v1"


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["lab", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(("extra", "message"), [
    (["--strategies", "tpe,bayes"], "unknown search strategy 'bayes'"),
    (["--repeats", "1"], "at least 2 repeats"),
    (["--budget", "1"], "too small"),
    (["--out", "lab.txt"], "--out must end in .md or .html"),
    (["--preset", "huge"], "unknown preset 'huge'"),
])
def test_cli_refuses_bad_input_with_one_line(capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path,
                                             iris: pd.DataFrame, extra: list[str], message: str) -> None:
    csv = tmp_path / "iris.csv"
    iris.to_csv(csv, index=False)
    code, out, err = _cli(capsys, str(csv), "--target", "target", *extra)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("automlops: error:") and message in err


def test_cli_refuses_unknown_column_and_missing_data(capsys: pytest.CaptureFixture[str], home: Path,
                                                     tmp_path: Path, iris: pd.DataFrame) -> None:
    csv = tmp_path / "iris.csv"
    iris.to_csv(csv, index=False)
    code, _, err = _cli(capsys, str(csv), "--target", "species")
    assert code == 2 and "target column 'species' is not in the data" in err and err.count("\n") == 1
    code, _, err = _cli(capsys, "lake:nothing", "--target", "y")
    assert code == 2 and err.count("\n") == 1


def test_cli_runs_a_lab_and_prints_the_table_and_json(capsys: pytest.CaptureFixture[str], home: Path,
                                                      tmp_path: Path, iris: pd.DataFrame) -> None:
    DataLake().add("iris", iris)
    report = tmp_path / "lab.md"
    code, out, err = _cli(capsys, "lake:iris", "--target", "target", "--budget", "2.5", "--repeats", "2",
                          "--strategies", "grid,cmaes", "--preset", "fast", "--models", "logistic,decision_tree",
                          "--json", "--out", str(report))
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert set(summary["strategies"]) == {"grid", "cmaes"} and summary["dataset"] == "iris@v1"
    assert summary["repeats"] == 2 and summary["seeds"] == [0, 1] and summary["verdict"]
    assert "| grid |" in out and "| cmaes |" in out
    assert "4 runs of 2.5 s, one after the other" in err
    assert "# Search-strategy lab" in report.read_text()
