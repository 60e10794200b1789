"""Exported scripts run without the studio and reproduce the recorded test score (to 1e-6).

Each test trains a real model on a real dataset stored in the lake, exports it, runs the script in
a fresh Python where ``import automlops`` fails, and compares the ``test_score=`` of its last
output line with ``meta.json``'s ``test_score``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes

from automlops.export import export_script, runtime
from automlops.mlops.lake import DataLake
from automlops.mlops.persist import save_model
from automlops.mlops.store import ModelStore
from tests.export.conftest import last_score, run_without_studio, train_clustering, train_tabular

TOLERANCE = 1e-6


def _export_and_run(name: str, folder: Path, *args: str) -> tuple[float, float, str]:
    loaded = ModelStore().load(name)
    script = folder / f"train_{name}.py"
    text = export_script(loaded, out=script)
    return last_score(run_without_studio(script, *args)), float(loaded.meta["test_score"]), text


def _imports(text: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_a_single_logistic_model_is_reproduced_without_the_studio(studio: Path, tmp_path: Path) -> None:
    script_score, recorded, text = _export_and_run("cancer_logistic", tmp_path)
    assert abs(script_score - recorded) <= TOLERANCE
    assert "automlops" not in _imports(text)
    assert _imports(text) <= {"__future__", "argparse", "csv", "hashlib", "io", "math", "re", "sys", "warnings", "dataclasses",
                              "pathlib", "typing", "collections", "numpy", "pandas", "sklearn", "threadpoolctl",
                              "mlflow", "scipy"}
    assert "LogisticRegression(" in text and "def build_model" in text
    compile(text, "train.py", "exec")


def test_a_weighted_lightgbm_ensemble_is_reproduced(studio: Path, tmp_path: Path) -> None:
    pytest.importorskip("lightgbm")
    train_tabular(DataLake(), "breast_cancer", "cancer_blend", models=["lightgbm", "logistic"], n_trials=2,
                  ensemble="weighted")
    meta = ModelStore().load("cancer_blend").meta
    assert meta["best_model"].startswith("weighted(") and "lightgbm" in meta["best_model"]
    script_score, recorded, text = _export_and_run("cancer_blend", tmp_path)
    assert abs(script_score - recorded) <= TOLERANCE
    assert "VotingClassifier(" in text and "LGBMClassifier(" in text and "class EarlyStoppedClassifier" in text
    # the script's copy of the wrapper predicts a large LightGBM model block by block as the studio does
    import lightgbm as lgb
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    import runpy

    namespace = runpy.run_path(str(tmp_path / "train_cancer_blend.py"), run_name="exported")  # not __main__
    big = lgb.LGBMClassifier(n_estimators=600, learning_rate=0.01, num_leaves=7, verbose=-1).fit(X, y)
    wrapper = namespace["EarlyStoppedClassifier"](big)  # type: ignore[operator]
    wrapper.estimator_, wrapper.classes_ = big, big.classes_
    assert namespace["_lightgbm_in_blocks"](big, X) is not None  # type: ignore[operator]
    np.testing.assert_allclose(wrapper.predict_proba(X), big.predict_proba(X), rtol=1e-9, atol=1e-12)


def test_a_catboost_model_is_reproduced(studio: Path, tmp_path: Path) -> None:
    """On penguins, whose text columns reach CatBoost one-hot (zoo_boosting.py) and have gaps."""
    pytest.importorskip("catboost")
    from automlops.demo import load_demo

    DataLake().add("penguins", load_demo("penguins"))
    train_tabular(DataLake(), "penguins", "penguins_catboost", target="species", models=["catboost"], n_trials=1,
                  ensemble="none")
    assert ModelStore().load("penguins_catboost").meta["best_model"] == "catboost"
    script_score, recorded, text = _export_and_run("penguins_catboost", tmp_path)
    assert abs(script_score - recorded) <= TOLERANCE
    assert "CatBoostClassifier(" in text and "allow_writing_files=False" in text and "OneHotEncoder(" in text
    assert "catboost" in _imports(text) and "automlops" not in _imports(text)


def test_a_model_with_tempered_probabilities_is_reproduced_with_its_temperature(studio: Path, tmp_path: Path) -> None:
    """A search scored by log-loss ships a temperature (tabular/calibration.py): the script keeps it."""
    from sklearn.datasets import load_digits

    DataLake().add("digits", load_digits(as_frame=True).frame)
    train_tabular(DataLake(), "digits", "digits_tempered", models=["random_forest"], n_trials=1, ensemble="none",
                  metric="log_loss")
    temperature = ModelStore().load("digits_tempered").meta["temperature"]
    script_score, recorded, text = _export_and_run("digits_tempered", tmp_path)
    assert abs(script_score - recorded) <= TOLERANCE
    assert "class TemperatureScaled" in text and f"temperature={temperature!r}" in text
    assert "automlops" not in _imports(text)


def test_a_regression_model_is_reproduced_and_refits_on_every_row(studio: Path, tmp_path: Path) -> None:
    train_tabular(DataLake(), "diabetes", "diabetes_ridge", models=["ridge"], n_trials=2, ensemble="none")
    script_score, recorded, _ = _export_and_run("diabetes_ridge", tmp_path, "--refit-full")
    assert abs(script_score - recorded) <= TOLERANCE  # the score is measured before the refit, as in the studio
    assert ModelStore().load("diabetes_ridge").meta["metric"] in ("rmse", "mae", "r2")


def test_classes_training_left_out_are_left_out_by_the_script(studio: Path, tmp_path: Path) -> None:
    """A class of one row (dropped before the split) and three of two rows, one of which the split leaves a
    single training row (dropped after it): the script drops the same rows, so it scores the same test rows."""
    from sklearn.datasets import load_wine

    wine = load_wine(as_frame=True).frame
    wine.loc[[0, 1], "target"], wine.loc[[60, 61], "target"], wine.loc[[130, 131], "target"] = 3, 4, 5
    wine.loc[100, "target"] = 6
    DataLake().add("wine_tail", wine)
    train_tabular(DataLake(), "wine_tail", "wine_tail", models=["logistic"], n_trials=1, ensemble="none")
    decisions = " ".join(ModelStore().load("wine_tail").meta.get("decisions_text", ""))
    script_score, recorded, _ = _export_and_run("wine_tail", tmp_path)
    assert abs(script_score - recorded) <= TOLERANCE, decisions


@pytest.mark.parametrize("model", ["hist_gb", "lightgbm"])
def test_a_model_with_native_categorical_splits_is_reproduced(studio: Path, tmp_path: Path, model: str) -> None:
    """Penguins' species, island and sex reach HistGradientBoosting and LightGBM as category codes they split on
    themselves: the script rebuilds the same column order and tells the model the same positions."""
    from palmerpenguins import load_penguins

    DataLake().add("penguins", load_penguins().dropna())
    name = f"penguins_{model}"
    train_tabular(DataLake(), "penguins", name, target="body_mass_g", models=[model], n_trials=2, ensemble="none")
    assert list(ModelStore().load(name).model[-1].categorical_features) == [0, 1, 2]
    script_score, recorded, text = _export_and_run(name, tmp_path)
    assert abs(script_score - recorded) <= TOLERANCE and "categorical_features=[0, 1, 2]" in text


@pytest.mark.parametrize("model", ["hist_gb", "lightgbm"])
def test_a_boosted_model_refitted_for_its_known_rounds_is_reproduced(studio: Path, tmp_path: Path, model: str) -> None:
    """From 2,000 rows a booster finds its round count on held-out rows, and the shipped model is the refit on all
    rows for that known count. The script rebuilds the recipe that *scored* the test rows (early stopping on
    its training rows), not the refit's count, so it lands on the recorded score; it carries the studio's
    classes, as the studio is not installed where it runs."""
    import statsmodels.api as sm

    from automlops.tabular.evaluate import boosters

    DataLake().add("marriages", sm.datasets.fair.load_pandas().data)
    name = f"marriages_{model}"
    train_tabular(DataLake(), "marriages", name, target="rate_marriage", task="classification", models=[model],
                  n_trials=2, ensemble="none")
    (booster,) = boosters(ModelStore().load(name).model)  # inside the calibrating wrapper
    assert booster.refit_rounds is not None  # shipped: the refit for a known count (hist_gb: its best round)
    script_score, recorded, text = _export_and_run(name, tmp_path)
    assert abs(script_score - recorded) <= TOLERANCE  # lightgbm: 1.1872 against 1.1937 when the count was written
    assert "import automlops" not in text
    assert ("class HistGradientBoostingEarlyStopClassifier" if model == "hist_gb" else "class _EarlyStopped") in text


def test_a_clustering_model_on_an_uploaded_csv_is_reproduced(studio: Path, tmp_path: Path) -> None:
    train_clustering(DataLake(), "iris", "iris_groups", models=["kmeans"])
    assert DataLake().get_version("iris").storage == "original"  # semicolons and decimal commas, read as uploaded
    script_score, recorded, text = _export_and_run("iris_groups", tmp_path)
    assert abs(script_score - recorded) <= TOLERANCE
    assert "KMeans(" in text and "def _silhouette" in text


def test_the_script_refuses_changed_data_unless_told(studio: Path, tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    export_script("cancer_logistic", out=script)
    changed = tmp_path / "changed.csv"
    source = DataLake().get_version("breast_cancer").full_path
    changed.write_text(source.read_text().replace("\n", "\n", 1) + "\n")  # one more line: other bytes
    done = run_without_studio(script, "--data", str(changed))
    assert done.returncode != 0 and "SHA-256" in done.stderr and "--skip-check" in done.stderr
    with pytest.raises(SystemExit, match="does not exist"):  # the same function, copied into the script
        runtime.check_sha256(tmp_path / "nowhere.csv", "0" * 64, skip=False)
    runtime.check_sha256(changed, "0" * 64, skip=True)  # told to go on: a warning, no exit


@pytest.mark.slow
def test_stacking_forests_and_boosting_are_reproduced(studio: Path, tmp_path: Path) -> None:
    pytest.importorskip("xgboost")
    train_tabular(DataLake(), "breast_cancer", "cancer_stack", models=["random_forest", "xgboost"],
                  n_trials=2, ensemble="stacking", validation="holdout")
    assert ModelStore().load("cancer_stack").meta["best_model"].startswith("stacking(")
    script_score, recorded, text = _export_and_run("cancer_stack", tmp_path)
    assert abs(script_score - recorded) <= TOLERANCE
    assert "StackingClassifier(" in text and "LabelEncodedClassifier" in text


@pytest.mark.slow
def test_an_anomaly_model_is_reproduced(studio: Path, tmp_path: Path) -> None:
    pytest.importorskip("pyod")
    from automlops.anomaly import AnomalyEngine
    from automlops.mlops.persist import save_model
    from automlops.search.driver import DriverConfig, SearchDriver

    lake = DataLake()
    entry = lake.get_version("breast_cancer")
    engine = AnomalyEngine(preset="fast", models=["iforest", "copod", "pca"])
    result = SearchDriver(engine, DriverConfig(preset="fast", n_trials=4)).fit(lake.load("breast_cancer"))
    save_model(result, ModelStore(), "cancer_anomaly", dataset=entry.lineage(), register=False)
    script_score, recorded, text = _export_and_run("cancer_anomaly", tmp_path)
    assert abs(script_score - recorded) <= TOLERANCE
    assert "def build_panel" in text and "class RankCalibrator" in text


@pytest.mark.slow
def test_the_script_logs_its_run_and_model_to_mlflow(studio: Path, tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    script_score, recorded, _ = _export_and_run("cancer_logistic", tmp_path, "--mlflow", "--tracking-uri", uri,
                                                "--experiment", "ejected")
    assert abs(script_score - recorded) <= TOLERANCE
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("ejected")
    assert experiment is not None
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.data.metrics["test_roc_auc"] == pytest.approx(recorded, abs=TOLERANCE)
    assert run.data.params["model"] == "logistic" and run.data.params["seed"] == "0"
    assert run.info.run_name == "script-cancer_logistic-v1"
    assert client.search_logged_models([experiment.experiment_id])  # the fitted pipeline, loadable by MLflow


@pytest.mark.slow
def test_a_dated_table_is_ordered_in_time_and_its_last_rows_are_the_test(studio: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    days = pd.date_range("2023-01-01", periods=240, freq="D")
    frame = pd.DataFrame({"when": days, "x": rng.normal(size=240), "shop": rng.choice(["a", "b", "c"], 240)})
    frame["target"] = 3 * frame["x"] + (frame["shop"] == "b") + 0.01 * np.arange(240) + rng.normal(0, 0.1, 240)
    frame.loc[5, "target"] = np.nan  # dropped, as training drops rows without a target
    lake = DataLake()
    lake.add("sales", frame.sample(frac=1.0, random_state=1).reset_index(drop=True))  # stored out of order
    train_tabular(lake, "sales", "sales_ridge", models=["ridge"], n_trials=1, ensemble="none",
                  time_column="when")
    assert ModelStore().load("sales_ridge").meta["time_column"] == "when"
    script_score, recorded, text = _export_and_run("sales_ridge", tmp_path)
    assert abs(script_score - recorded) <= TOLERANCE
    assert "ORDERED = True" in text and "TIME_COLUMN = 'when'" in text


def test_an_upload_with_formatted_numbers_and_question_marks_is_read_as_the_studio_read_it(
        studio: Path, tmp_path: Path) -> None:
    """The script reads an upload kept as sent with the studio's cell readers: "$25,100.00" is a number and
    "?" is missing (without them its target was text, and the script could not rebuild the model)."""
    frame = load_diabetes(as_frame=True).frame
    written = frame.assign(target=[f"${v * 100:,.2f}" for v in frame["target"]], bmi=frame["bmi"].astype(object))
    written.loc[::17, "bmi"] = "?"
    DataLake().add("diabetes_written", written.to_csv(index=False).encode(), filename="diabetes_written.csv")
    assert DataLake().get_version("diabetes_written").storage == "original"
    train_tabular(DataLake(), "diabetes_written", "diabetes_written_ridge", models=["ridge"], n_trials=1,
                  ensemble="none")
    meta = ModelStore().load("diabetes_written_ridge").meta
    assert meta["task"] == "regression"
    script_score, recorded, _ = _export_and_run("diabetes_written_ridge", tmp_path)
    assert abs(script_score - recorded) <= TOLERANCE


def test_a_clustering_trained_under_a_short_budget_is_reproduced_with_its_silhouette_sample(
        studio: Path, tmp_path: Path) -> None:
    """A short budget sizes the silhouette's sample below the 6,000 test rows; the script scores them on the
    same sample (the model records its size), not on every row."""
    from sklearn.datasets import make_blobs

    from automlops.clustering import ClusteringEngine
    from automlops.search.driver import DriverConfig, SearchDriver

    # 30,000 rows leave 6,000 test rows, above any sample a 10 s budget buys (~2,600 rows here, 4,500 on a
    # machine twice as fast); 10 s and not less, so that busy CI cores do not make the budget too small.
    X, _ = make_blobs(n_samples=30_000, n_features=6, centers=4, random_state=0)
    lake = DataLake()
    lake.add("blobs", pd.DataFrame(X, columns=[f"f{i}" for i in range(6)]))
    entry = lake.get_version("blobs")
    result = SearchDriver(ClusteringEngine(models=["kmeans"]), DriverConfig(time_budget=10, n_trials=2)).fit(lake.load("blobs"))
    save_model(result, ModelStore(), "blobs_budgeted", dataset=entry.lineage(), register=False)
    assert result.artifact.meta["silhouette_rows"] < result.artifact.meta["n_test_rows"] == 6000
    script_score, recorded, text = _export_and_run("blobs_budgeted", tmp_path)
    assert abs(script_score - recorded) <= TOLERANCE
    assert f"SILHOUETTE_ROWS = {result.artifact.meta['silhouette_rows']}" in text
