"""`automlops train --task timeseries|clustering|anomaly`, `predict` and `forecast`, as a user runs them.

Real subprocesses on a studio home seeded by `automlops demo` (the co2 series, iris, breast
cancer). The JSON contract of `train --json` keeps its keys for every task; bad input exits 2
with one line on stderr and leaves no model version and no lake version behind.
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.test_cli import COMMAND, TRAIN_KEYS, _env, last_json, run_cli


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli-tasks")
    assert run_cli(root, "demo").returncode == 0
    return root


@pytest.fixture(scope="module")
def trained(home: Path) -> dict[str, dict]:
    """The three trainings, started side by side (each is one process)."""
    commands = {
        "co2": ("train", "lake:co2", "--task", "timeseries", "--time-column", "month", "--target", "co2",
                "--horizon", "12", "--preset", "fast", "--n-trials", "4", "--json"),
        "iris": ("train", "lake:iris", "--task", "clustering", "--reference", "target", "--preset", "fast",
                 "--n-trials", "6", "--name", "iris_groups", "--json"),
        "cancer": ("train", "lake:breast_cancer", "--task", "anomaly", "--label", "target", "--contamination", "0.05",
                   "--preset", "fast", "--n-trials", "4", "--name", "cells", "--json"),
    }
    procs = {k: subprocess.Popen([*COMMAND, *args], cwd=home, env=_env(home), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for k, args in commands.items()}
    out = {}
    for key, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        out[key] = last_json(subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr))
    return out


def test_every_task_keeps_the_train_json_contract(trained: dict[str, dict]) -> None:
    expected = {"co2": ("timeseries", "mase"), "iris": ("clustering", "silhouette"), "cancer": ("anomaly", None)}
    for key, summary in trained.items():
        assert TRAIN_KEYS <= set(summary), key
        task, metric = expected[key]
        assert summary["task"] == task and (metric is None or summary["metric"] == metric), summary
        assert np.isfinite(summary["val_score"]) and np.isfinite(summary["test_score"])
        assert Path(summary["model_path"]).is_file() and summary["run_id"]


def test_forecast_writes_the_next_steps_with_intervals(home: Path, trained: dict[str, dict]) -> None:
    out = home / "forecast.csv"
    proc = run_cli(home, "forecast", "--model", "co2", "--horizon", "6", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    frame = pd.read_csv(out, parse_dates=["ds"])
    assert list(frame.columns) == ["unique_id", "ds", "yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"]
    assert list(frame["ds"]) == list(pd.date_range("2002-01-01", periods=6, freq="MS"))
    assert (frame["yhat_lo_95"] <= frame["yhat"]).all() and (frame["yhat"] <= frame["yhat_hi_95"]).all()


def test_predict_answers_each_kind(home: Path, trained: dict[str, dict]) -> None:
    from automlops.demo import load_demo

    def predict(model: str, path: Path) -> pd.DataFrame:  # main() in this process: the ML stack is imported once
        code, stdout, stderr = _main_in_process(home, ["predict", "--model", model, str(path)])
        assert code == 0, stderr
        return pd.read_csv(io.StringIO(stdout))

    future = home / "future.csv"
    pd.DataFrame({"month": pd.date_range("2002-01-01", periods=3, freq="MS")}).to_csv(future, index=False)
    forecast = predict("co2", future)
    assert len(forecast) == 3 and forecast["yhat"].between(350, 400).all()

    flowers = home / "flowers.csv"
    load_demo("iris").drop(columns="target").to_csv(flowers, index=False)
    clusters = predict("iris_groups", flowers)
    assert list(clusters.columns) == ["prediction"] and len(clusters) == 150 and clusters["prediction"].nunique() >= 2

    cells = home / "cells.csv"
    load_demo("breast_cancer").drop(columns="target").to_csv(cells, index=False)
    scores = predict("cells", cells)
    assert list(scores.columns) == ["score", "is_anomaly"] and len(scores) == 569
    assert set(scores["is_anomaly"]) <= {0, 1}
    assert scores.loc[scores["is_anomaly"] == 1, "score"].min() >= scores.loc[scores["is_anomaly"] == 0, "score"].max()


def test_predict_warns_about_clustering_and_anomaly_rows_as_for_tabular_ones(home: Path,
                                                                            trained: dict[str, dict]) -> None:
    """A missing value and a column the model does not read: answered, with the API's warnings on stderr."""
    from automlops.demo import load_demo

    for model, dataset in (("iris_groups", "iris"), ("cells", "breast_cancer")):
        frame = load_demo(dataset).drop(columns="target").head(5).assign(note="x")
        first = str(frame.columns[0])
        frame.loc[2, first] = np.nan
        path = home / f"{model}_gaps.csv"
        frame.to_csv(path, index=False)
        code, stdout, stderr = _main_in_process(home, ["predict", "--model", model, str(path)])
        assert code == 0, stderr
        assert len(pd.read_csv(io.StringIO(stdout))) == 5
        assert f"warning: column '{first}': a missing value was filled in" in stderr, stderr
        assert "warning: ignored 1 column(s) the model does not use: 'note'" in stderr, stderr


BAD = {
    "no target for a tabular task": (("train", "lake:iris"), "--target is required"),
    "contamination above one half": (("train", "lake:breast_cancer", "--task", "anomaly", "--contamination", "0.7"),
                                     "(0, 0.5]"),
    "contamination of zero": (("train", "lake:breast_cancer", "--task", "anomaly", "--contamination", "0"), "(0, 0.5]"),
    "a target for clustering": (("train", "lake:iris", "--task", "clustering", "--target", "target"), "--reference"),
    "forecasting without a time column": (("train", "lake:co2", "--task", "timeseries", "--target", "co2"),
                                          "--time-column"),
    "a horizon for classification": (("train", "lake:iris", "--target", "target", "--horizon", "3"), "--horizon"),
    "an unparsable time column": (("train", "{tmp}/bad_time.csv", "--task", "timeseries", "--time-column", "when",
                                   "--target", "y"), "when"),
    "a series with a single row": (("train", "{tmp}/lonely.csv", "--task", "timeseries", "--time-column", "ds",
                                    "--target", "y", "--series-id", "shop", "--horizon", "3"), "B"),
    "too short for the horizon": (("train", "lake:co2", "--task", "timeseries", "--time-column", "month",
                                   "--target", "co2", "--horizon", "400"), "400"),
    "clustering one row": (("train", "{tmp}/one_row.csv", "--task", "clustering"), "row"),
    "clustering constant columns": (("train", "{tmp}/constant.csv", "--task", "clustering"), "constant"),
    "a number of clusters for anomaly detection": (("train", "lake:iris", "--task", "anomaly", "--clusters", "3"),
                                                   "--clusters does not apply"),
    "a number of clusters for classification": (("train", "lake:iris", "--target", "target", "--clusters", "3"),
                                                "--clusters only apply"),
    "a contamination for clustering": (("train", "lake:iris", "--task", "clustering", "--contamination", "0.1"),
                                       "--contamination does not apply to --task clustering"),
    "selection by label for clustering": (("train", "lake:iris", "--task", "clustering", "--select-by-label"),
                                          "--select-by-label does not apply to --task clustering"),
    "a contamination for forecasting": (("train", "lake:co2", "--task", "timeseries", "--time-column", "month",
                                         "--target", "co2", "--contamination", "0.1"),
                                        "--contamination does not apply to --task timeseries"),
    "zero clusters": (("train", "lake:iris", "--task", "clustering", "--clusters", "0"), "--clusters"),
    "one cluster": (("train", "lake:iris", "--task", "clustering", "--clusters", "1"),
                    "--clusters: must be at least 2, got 1"),
    "more clusters than training rows": (("train", "{tmp}/twelve.csv", "--task", "clustering", "--clusters", "11"),
                                         "11 clusters cannot be found"),
    "forecast with a non-forecasting model": (("forecast", "--model", "iris_groups", "--horizon", "3"), "timeseries"),
    "forecast zero steps": (("forecast", "--model", "co2", "--horizon", "0"), "at least 1"),
}


def _main_in_process(home: Path, args: list[str]) -> tuple[int, str, str]:
    """``automlops ARGS`` through :func:`automlops.cli.main` in this process (the libraries are imported
    once for all the cases, not once per process): exit code, stdout, stderr."""
    import contextlib
    import io
    import os

    from automlops.cli import main

    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        mp.setenv("AUTOMLOPS_HOME", str(home))
        for var in [v for v in os.environ if v.startswith("MLFLOW_")]:
            mp.delenv(var)
        try:
            code = main(args)
        except SystemExit as exc:  # argparse's usage errors
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def bad_runs(home: Path, trained: dict[str, dict]) -> dict[str, tuple[int, str, str]]:
    rng = np.random.default_rng(0)
    pd.DataFrame({"when": ["soon", "later", "never"] * 10, "y": rng.normal(size=30)}).to_csv(
        home / "bad_time.csv", index=False)
    days = pd.date_range("2024-01-01", periods=20, freq="D")
    pd.DataFrame({"shop": ["A"] * 20 + ["B"], "ds": [*days, days[0]], "y": rng.normal(size=21)}).to_csv(
        home / "lonely.csv", index=False)
    pd.DataFrame({"a": [1.0], "b": [2.0]}).to_csv(home / "one_row.csv", index=False)
    pd.DataFrame({"a": [1.0] * 30, "b": ["x"] * 30}).to_csv(home / "constant.csv", index=False)
    pd.DataFrame({"a": rng.normal(size=12), "b": rng.normal(size=12)}).to_csv(home / "twelve.csv", index=False)
    before = sorted(p.relative_to(home) for p in (home / "models").rglob("*"))
    lake_before = sorted(p.relative_to(home) for p in (home / "data_lake").rglob("*"))
    out = {case: _main_in_process(home, [a.format(tmp=home) for a in args]) for case, (args, _) in BAD.items()}
    assert sorted(p.relative_to(home) for p in (home / "models").rglob("*")) == before  # no model written
    assert sorted(p.relative_to(home) for p in (home / "data_lake").rglob("*")) == lake_before  # no lake version
    return out


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_exits_2_with_one_line_naming_the_problem(bad_runs: dict[str, tuple[int, str, str]],
                                                            case: str) -> None:
    code, stdout, stderr = bad_runs[case]
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1, (case, code, stderr[-1500:])
    assert lines[0].startswith("automlops: error:") and "Traceback" not in stderr
    assert BAD[case][1] in lines[0], (case, lines[0])
    assert stdout.strip() == ""


def test_the_zoo_lists_every_engine_s_models(home: Path) -> None:
    code, stdout, stderr = _main_in_process(home, ["models", "zoo"])
    assert code == 0, stderr
    lines = {line.split(":")[0]: line for line in stdout.splitlines() if line.startswith("--task")}
    assert set(lines) == {"--task timeseries", "--task clustering", "--task anomaly"}
    assert "auto_ets" in lines["--task timeseries"] and "hdbscan" in lines["--task clustering"]
    assert "iforest" in lines["--task anomaly"]


def test_a_known_number_of_clusters_is_kept(home: Path, trained: dict[str, dict]) -> None:
    """``--clusters 4``: every candidate finds four clusters, whatever the silhouette prefers (two on iris)."""
    import json

    code, stdout, stderr = _main_in_process(home, ["train", "lake:iris", "--task", "clustering", "--clusters", "4",
                                                   "--n-trials", "6", "--name", "iris_four", "--json"])
    assert code == 0, stderr
    meta = json.loads((Path(json.loads(stdout.strip().splitlines()[-1])["model_path"]).parent / "meta.json").read_text())
    assert meta["n_clusters"] == 4 and len(meta["cluster_sizes"]) == 4
    assert any("k = 4, as asked" in str(d) for d in meta["decisions"])


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def test_json_writes_a_missing_score_as_null(tmp_path: Path) -> None:
    """Twelve wine rows leave two test rows, too few for a silhouette: the score is missing, written ``null``
    (Python's json would write ``NaN``, which JSON.parse and jq refuse)."""
    import json

    from sklearn.datasets import load_wine

    home = tmp_path / "home"
    home.mkdir()
    load_wine(as_frame=True).frame.head(12).to_csv(tmp_path / "wine12.csv", index=False)
    code, out, err = _main_in_process(home, ["train", str(tmp_path / "wine12.csv"), "--task", "clustering",
                                             "--clusters", "3", "--n-trials", "2", "--json"])
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1], parse_constant=_refuse_constant)
    assert summary["test_score"] is None and isinstance(summary["val_score"], float)


def test_another_task_gets_its_own_model_name_unless_told_and_the_summary_names_the_model(tmp_path: Path) -> None:
    """Anomaly detection on a table that already has a classifier: without --name it is saved as
    `<data>_anomalies`, so the classifier (and an API following its name) is untouched; told the classifier's
    name, it becomes that name's next version, and the command says what that means. The summary names the
    model it saved."""
    import json

    from automlops.demo import seed_demo
    from automlops.mlops.lake import DataLake
    from automlops.mlops.store import ModelStore

    home = tmp_path / "home"
    home.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AUTOMLOPS_HOME", str(home))
        seed_demo(DataLake(), ["breast_cancer"])
    code, out, err = _main_in_process(home, ["train", "lake:breast_cancer", "--target", "target", "--preset", "fast",
                                             "--models", "logistic", "--n-trials", "1"])
    assert code == 0, err
    assert "saved breast_cancer@v1" in out and "model: logistic" in out
    anomaly = ["train", "lake:breast_cancer", "--task", "anomaly", "--preset", "fast", "--n-trials", "2"]
    code, out, err = _main_in_process(home, [*anomaly, "--json"])
    assert code == 0, err
    assert json.loads(out.strip().splitlines()[-1])["name"] == "breast_cancer_anomalies" and "--name" not in err
    code, out, err = _main_in_process(home, [*anomaly, "--name", "breast_cancer"])
    assert code == 0, err
    assert "breast_cancer@v2 is an anomaly model, v1 a classification model" in err
    assert "give --name to keep them apart" in err
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AUTOMLOPS_HOME", str(home))
        assert [v.meta["task"] for v in ModelStore().versions("breast_cancer")] == ["classification", "anomaly"]
