"""A studio home with real datasets in the lake and a few real models trained on them (once for the whole tests/export package).

The models are trained in-process (no MLflow: nothing here needs tracking) and saved with their
dataset lineage, exactly as ``automlops train lake:NAME`` saves them.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris

from automlops.mlops.lake import DataLake
from automlops.mlops.persist import save_model
from automlops.mlops.store import ModelStore

LAUNCH = ("import sys, runpy; sys.modules['automlops'] = None; script = sys.argv[1]; sys.argv = sys.argv[1:]; "
          "runpy.run_path(script, run_name='__main__')")


def run_without_studio(script: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run an exported script in a fresh Python where ``import automlops`` fails."""
    return subprocess.run([sys.executable, "-c", LAUNCH, str(script), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=script.parent, check=False)


def last_score(done: subprocess.CompletedProcess[str]) -> float:
    assert done.returncode == 0, done.stderr[-2000:]
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("test_score="), done.stdout
    return float(last.split("=", 1)[1])


def train_tabular(lake: DataLake, dataset: str, name: str, **options: Any) -> None:
    """Train an AutoMLRunner on a lake dataset and save it with its lineage (as the CLI does)."""
    from automlops.tabular.runner import AutoMLRunner

    entry = lake.get_version(dataset)
    frame = lake.load(dataset)
    runner = AutoMLRunner(**{"target": "target", "preset": "fast", **options}).fit(frame)
    save_model(runner.result_, ModelStore(), name, dataset=entry.lineage(), register=False)


def train_clustering(lake: DataLake, dataset: str, name: str, **options: Any) -> None:
    from automlops.clustering import ClusteringEngine
    from automlops.search.driver import DriverConfig, SearchDriver

    entry = lake.get_version(dataset)
    result = SearchDriver(ClusteringEngine(**options), DriverConfig(preset="fast", n_trials=3)).fit(lake.load(dataset))
    save_model(result, ModelStore(), name, dataset=entry.lineage(), register=False)


@pytest.fixture(scope="package")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """AUTOMLOPS_HOME with breast_cancer, diabetes (canonical CSVs) and iris (an upload kept as sent)."""
    home = tmp_path_factory.mktemp("export") / "home"
    home.mkdir()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AUTOMLOPS_HOME", str(home))
        for var in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
            env.delenv(var, raising=False)
        lake = DataLake()
        cancer = load_breast_cancer(as_frame=True).frame
        cancer["target"] = cancer["target"].map({0: "malignant", 1: "benign"})
        lake.add("breast_cancer", cancer)
        lake.add("diabetes", load_diabetes(as_frame=True).frame)
        iris = load_iris(as_frame=True).frame.drop(columns="target")
        lake.add("iris", iris.to_csv(index=False, sep=";", decimal=",").encode(), filename="iris.csv")
        train_tabular(lake, "breast_cancer", "cancer_logistic", models=["logistic"], n_trials=1, ensemble="none")
        yield home
