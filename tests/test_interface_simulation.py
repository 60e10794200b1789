"""The seed's interface simulation: every search mode × validation mode over the demo lake.

Each run does what a user of the studio does: read a dataset version from the data lake,
train with ``AutoMLRunner`` (tiny budget, light models), track it in MLflow (a real SQLite
store) and save the model to the model store. The checks are the user's: the run trained
(a leaderboard and a test score), it is in MLflow (parent run FINISHED, one nested run per
trial), and the model version exists and loads (SHA-checked) and predicts.

Run it with pytest (a fast selection by default; ``-m slow`` adds the full product), or as a
script for the whole matrix and a table::

    python tests/test_interface_simulation.py
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from automlops.core.problem import TaskType  # noqa: E402
from automlops.demo import DEMO_DATASETS, seed_demo  # noqa: E402
from automlops.mlops.lake import DataLake  # noqa: E402
from automlops.mlops.store import ModelStore  # noqa: E402
from automlops.mlops.tracking import PARENT_TAG, Tracker  # noqa: E402
from automlops.tabular import AutoMLRunner  # noqa: E402
from automlops.tabular.persist import save_model  # noqa: E402

SEARCHES = ("tpe", "random", "grid", "hyperband")
VALIDATIONS = ("auto", "kfold", "stratified", "holdout", "timeseries")
LIGHT = {TaskType.CLASSIFICATION: ["knn", "decision_tree"], TaskType.REGRESSION: ["ridge", "decision_tree"]}
N_TRIALS = 2
# A real time axis where the data has one; elsewhere time-series validation takes the file order,
# which only makes sense when the file is not sorted by class.
TIME_COLUMNS = {"cars": "Year"}
SORTED_BY_CLASS = {"iris", "wine", "penguins"}
FAST_DATASETS = ("breast_cancer", "cars")


@dataclass(frozen=True)
class Studio:
    """Everything a run touches, rooted in one temporary folder."""

    root: Path
    lake: DataLake
    store: ModelStore
    tracker: Tracker


def make_studio(root: Path) -> Studio:
    lake = DataLake(root=root / "data_lake")
    seed_demo(lake)
    return Studio(root, lake, ModelStore(root=root / "models"),
                  Tracker(tracking_uri=f"sqlite:///{(root / 'mlflow.db').resolve()}", experiment="simulation"))


def skip_reason(dataset: str, validation: str) -> str | None:
    task = DEMO_DATASETS[dataset].task
    if validation == "stratified" and task is not TaskType.CLASSIFICATION:
        return "stratified folds need classes"
    if validation == "timeseries" and dataset in SORTED_BY_CLASS and dataset not in TIME_COLUMNS:
        return "rows are sorted by class, so file order is no time axis"
    return None


def matrix(datasets: tuple[str, ...]) -> list[tuple[str, str, str]]:
    return [(d, s, v) for d in datasets for s in SEARCHES for v in VALIDATIONS if skip_reason(d, v) is None]


TABULAR_DATASETS = tuple(d for d, spec in DEMO_DATASETS.items() if spec.task in LIGHT)
# The tasks with an engine of their own, on the demo lake: (task, dataset, options, models to search)
ENGINE_CASES: dict[str, tuple[str, str, dict[str, Any], tuple[str, ...] | None]] = {
    "forecast co2": ("timeseries", "co2", {"target": "co2", "time_column": "month", "horizon": 12}, None),
    "cluster iris": ("clustering", "iris", {"reference": "target"}, None),
    "anomalies in cancer": ("anomaly", "breast_cancer", {"label": "target"}, None),
}
ENGINE_ARTIFACTS = {"timeseries": "forecast.html", "clustering": "projection.html", "anomaly": "scores.html"}


def simulate_engine(studio: Studio, case: str, search: str = "tpe", n_trials: int = 4) -> dict[str, Any]:
    """Train, track and save one engine task from the lake, as `automlops train --task ...` does."""
    from automlops.search.driver import DriverConfig, SearchDriver
    from automlops.tasks import TrainOptions, build_engine

    task, dataset, options, models = ENGINE_CASES[case]
    version = studio.lake.get_version(dataset)
    lineage = {"name": version.dataset, "version": version.version, "sha256": version.sha256}
    engine = build_engine(task, TrainOptions(preset="fast", models=models, **options))
    driver = SearchDriver(engine, DriverConfig(preset="fast", search=search, n_trials=n_trials, dataset=lineage,
                                               run_name=case.replace(" ", "-")), tracker=studio.tracker)
    start = time.perf_counter()
    result = driver.fit(studio.lake.load(dataset))
    stored = save_model(result, studio.store, f"sim_{case.replace(' ', '_')}", dataset=lineage)
    return {"task": task, "dataset": dataset, "result": result, "model": stored.ref,
            "seconds": time.perf_counter() - start}


def check_engine(studio: Studio, outcome: dict[str, Any]) -> None:
    """Tracked (parent FINISHED, one nested run per trial, the engine's plot logged), saved, and it answers."""
    from automlops.tasks import answer_table

    result = outcome["result"]
    assert math.isfinite(result.val_score) and math.isfinite(result.test_score), result.summary()
    assert result.problem.task.value == outcome["task"] and len(result.leaderboard) >= 1
    run = studio.tracker.get_run(result.run_id)
    assert run.status == "FINISHED" and run.params["engine"] == result.engine
    assert run.params["direction"] == result.problem.direction  # the dashboard reads which way is better
    assert "leaderboard.csv" in run.artifacts and ENGINE_ARTIFACTS[outcome["task"]] in run.artifacts
    children = studio.tracker.search_runs(f"tags.`{PARENT_TAG}` = '{result.run_id}'")
    assert len(children) == result.n_trials
    name, _, version = outcome["model"].partition("@v")
    loaded = studio.store.load(name, int(version))
    assert loaded.meta["run_id"] == result.run_id and loaded.meta["task"] == outcome["task"]
    frame = studio.lake.load(outcome["dataset"])
    if outcome["task"] == "timeseries":  # the 12 months after the data, by their timestamps
        months = pd.date_range(frame["month"].max(), periods=13, freq="MS")[1:]
        answer = answer_table(loaded.model, loaded.meta, pd.DataFrame({"month": months}))
        assert len(answer) == 12 and answer["yhat"].between(300, 450).all()
    else:
        answer = answer_table(loaded.model, loaded.meta, frame.head(10))
        assert len(answer) == 10 and answer.notna().all().all()


# The image tasks, as a user runs them: a zip into the image lake, train-vision, save, predict files.
# (task, architecture, writer of a dataset with known answers, image size) – tiny, one epoch, random weights.
VISION_CASES: dict[str, tuple[str, str, str, int | None]] = {
    "classify digits": ("image_classification", "resnet18", "digits", None),
    "segment shapes": ("segmentation", "deeplabv3_mobilenet_v3_large", "segmentation", None),
    "detect shapes": ("detection", "fasterrcnn_mobilenet_v3_large_320_fpn", "detection", 64),
}


def _image_archive(root: Path, kind: str) -> Path:
    from automlops.vision import samples

    folder = root / f"images-{kind}"
    if kind == "digits":
        samples.write_digits_imagefolder(folder, per_class=6, size=32, classes=3)
    elif kind == "segmentation":
        samples.write_shapes_segmentation(folder, n=12, size=32)
    else:
        samples.write_shapes_detection(folder, n=12, size=64, fmt="voc")
    return samples.zip_folder(folder, root / f"{kind}.zip")


def simulate_vision(studio: Studio, case: str) -> dict[str, Any]:
    """Upload, train (tracked), save and predict one image task, as the CLI and the Vision page do."""
    from automlops.mlops.image_lake import ImageLake
    from automlops.vision.predict import predict_paths
    from automlops.vision.runner import VisionRunner, save_vision_model

    task, model, kind, size = VISION_CASES[case]
    lake = ImageLake(root=studio.root / "image_lake")
    entry = lake.add_archive(kind, _image_archive(studio.root, kind))
    data = lake.load(entry.name, entry.version)
    start = time.perf_counter()
    runner = VisionRunner(task, models=[model], epochs=1, n_trials=1, image_size=size, batch_size=4,
                          download_weights=False, tracker=studio.tracker, dataset=entry.lineage(),
                          run_name=case.replace(" ", "-")).fit(data)
    stored = save_vision_model(runner.result_, studio.store, f"sim_{kind}", dataset=entry.lineage(), register=False)
    loaded = studio.store.load(stored.name, stored.version)
    paths = [data.root / item.path for item in data.items[:3]]
    table = predict_paths(loaded.model, loaded.meta, paths, studio.root / f"predictions-{kind}")
    return {"task": task, "result": runner.result_, "table": table, "meta": loaded.meta,
            "seconds": time.perf_counter() - start}


def check_vision(studio: Studio, outcome: dict[str, Any]) -> None:
    """Tracked with its predictions grid, saved with its preprocessing, and it answers for image files."""
    result, table = outcome["result"], outcome["table"]
    assert math.isfinite(result.test_score) and result.problem.task.value == outcome["task"]
    run = studio.tracker.get_run(result.run_id)
    assert run.status == "FINISHED" and run.params["engine"] == "vision"
    assert {"predictions.html", "history.csv", "leaderboard.csv"} <= set(run.artifacts)
    assert outcome["meta"]["run_id"] == result.run_id and outcome["meta"]["input_size"]
    assert len(table) == 3 and table["file"].notna().all()
    column = {"image_classification": "prediction", "segmentation": "mask_file", "detection": "boxes_file"}
    assert table[column[outcome["task"]]].notna().all()


def simulate(studio: Studio, dataset: str, search: str, validation: str) -> dict[str, Any]:
    """Train, track and save one combination; return what a user would look at."""
    demo = DEMO_DATASETS[dataset]
    version = studio.lake.get_version(dataset)
    frame = studio.lake.load(dataset)
    lineage = {"name": version.dataset, "version": version.version, "sha256": version.sha256,
               "rows": version.rows, "columns": dict(version.dtypes), "source": str(version.full_path)}
    time_column = TIME_COLUMNS.get(dataset) if validation == "timeseries" else None
    start = time.perf_counter()
    runner = AutoMLRunner(demo.target, preset="fast", search=search, validation=validation,
                          models=LIGHT[demo.task], n_trials=N_TRIALS, time_column=time_column, seed=0,
                          tracker=studio.tracker, dataset=lineage, run_name=f"{dataset}-{search}-{validation}")
    runner.fit(frame)
    name = f"sim_{dataset}_{search}_{validation}"
    stored = save_model(runner.result_, studio.store, name, dataset=lineage)
    return {"dataset": dataset, "search": search, "validation": validation, "split": runner.validation_.kind,
            "best_model": runner.best_model_name_, "metric": runner.problem_.metric,
            "val_score": runner.val_score_, "test_score": runner.test_score_,
            "trials": len(runner.study_.trials), "pruned": int(runner.leaderboard_["pruned"].sum()),
            "run_id": runner.run_id_, "model": stored.ref, "seconds": time.perf_counter() - start,
            "runner": runner}


def check(studio: Studio, result: dict[str, Any]) -> None:
    """The run trained, is tracked in MLflow, and its saved model loads and predicts."""
    runner: AutoMLRunner = result["runner"]
    assert math.isfinite(result["val_score"]) and math.isfinite(result["test_score"]), result
    assert len(runner.leaderboard_) >= 1 and result["trials"] >= 1
    expected_split = {"auto": None, "holdout": ("holdout", "holdout_stratified")}.get(
        result["validation"], (result["validation"],))
    if expected_split is not None:
        assert result["split"] in expected_split, result
    run = studio.tracker.get_run(result["run_id"])
    assert run.status == "FINISHED" and run.params["search"] == result["search"]
    assert "model/MLmodel" in run.artifacts and "leaderboard.csv" in run.artifacts
    children = studio.tracker.search_runs(f"tags.`{PARENT_TAG}` = '{result['run_id']}'")
    assert len(children) == result["trials"]
    name, _, version = result["model"].partition("@v")
    loaded = studio.store.load(name, int(version))
    assert loaded.meta["run_id"] == result["run_id"]
    frame = studio.lake.load(result["dataset"]).head(10)
    assert len(loaded.model.predict(frame[loaded.meta["input_columns"]])) == 10


# --------------------------------------------------------------------------------- pytest

@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Studio:
    return make_studio(tmp_path_factory.mktemp("simulation"))


# The default suite covers every search and every validation at least once, on a classification and a
# regression table (a covering set: 8 runs instead of the 37 of the product); `-m slow` runs the rest.
FAST = [("breast_cancer", "tpe", "stratified"), ("breast_cancer", "random", "holdout"),
        ("breast_cancer", "grid", "auto"), ("breast_cancer", "hyperband", "kfold"),
        ("cars", "tpe", "timeseries"), ("cars", "random", "kfold"), ("cars", "grid", "holdout"),
        ("cars", "hyperband", "auto")]
FULL = [c for c in matrix(TABULAR_DATASETS) if c not in FAST]


def test_matrix_covers_every_mode() -> None:
    assert {s for _, s, _ in FAST} == set(SEARCHES)
    assert {v for _, _, v in FAST} == set(VALIDATIONS)
    assert set(FAST) <= set(matrix(FAST_DATASETS)) and len(FAST) + len(FULL) == len(matrix(TABULAR_DATASETS))
    assert {d for d, _, _ in FAST + FULL} | {c[1] for c in ENGINE_CASES.values()} == set(DEMO_DATASETS)
    assert {c[0] for c in ENGINE_CASES.values()} == {"timeseries", "clustering", "anomaly"}


@pytest.mark.parametrize("case", list(ENGINE_CASES))
def test_engine_task_simulation(studio: Studio, case: str) -> None:
    check_engine(studio, simulate_engine(studio, case))


# With `-m slow`: the default suite trains each image task end to end in tests/vision/test_engine.py,
# tests/test_cli_vision.py and tests/ui/test_vision_page.py.
@pytest.mark.slow
@pytest.mark.parametrize("case", list(VISION_CASES))
def test_vision_task_simulation(studio: Studio, case: str) -> None:
    check_vision(studio, simulate_vision(studio, case))


@pytest.mark.parametrize(("dataset", "search", "validation"), FAST)
def test_simulation(studio: Studio, dataset: str, search: str, validation: str) -> None:
    check(studio, simulate(studio, dataset, search, validation))


@pytest.mark.slow
@pytest.mark.parametrize(("dataset", "search", "validation"), FULL)
def test_simulation_full(studio: Studio, dataset: str, search: str, validation: str) -> None:
    check(studio, simulate(studio, dataset, search, validation))


# --------------------------------------------------------------------------------- script

def main() -> int:
    columns = ("dataset", "search", "validation", "split", "best_model", "metric", "val_score", "test_score",
               "trials", "pruned", "seconds", "status")
    rows, failures = [], 0
    print(" | ".join(columns))
    with tempfile.TemporaryDirectory(prefix="automlops-sim-") as tmp:
        studio = make_studio(Path(tmp))
        cases = [(case, simulate_engine, check_engine) for case in ENGINE_CASES]
        cases += [(case, simulate_vision, check_vision) for case in VISION_CASES]
        for case, run, verify in cases:
            try:
                outcome = run(studio, case)
                verify(studio, outcome)
                print(f"{case}: {outcome['result'].best_model} {outcome['result'].problem.metric} "
                      f"test {outcome['result'].test_score:.4f} ({outcome['seconds']:.1f}s) ok", flush=True)
            except Exception as exc:
                failures += 1
                print(f"{case}: FAILED: {type(exc).__name__}: {exc}"[:160], flush=True)
        for dataset, search, validation in matrix(TABULAR_DATASETS):
            try:
                result = simulate(studio, dataset, search, validation)
                check(studio, result)
                result["status"] = "ok"
            except Exception as exc:  # report every combination, then fail at the end
                failures += 1
                result = {"dataset": dataset, "search": search, "validation": validation,
                          "status": f"FAILED: {type(exc).__name__}: {exc}"[:120]}
            rows.append(result)
            print(_format_row(result, columns), flush=True)
    print(f"\n{len(rows) - failures}/{len(rows)} runs trained, tracked and saved")
    return 1 if failures else 0


def _format_row(row: dict[str, Any], columns: tuple[str, ...]) -> str:
    cells = []
    for col in columns:
        value = row.get(col, "")
        cells.append(f"{value:.4f}" if isinstance(value, float) and col != "seconds"
                     else f"{value:.1f}s" if col == "seconds" and isinstance(value, float) else str(value))
    return " | ".join(cells)


if __name__ == "__main__":
    sys.exit(main())
