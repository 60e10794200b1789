"""``automlops models upload`` and ``models retrain`` through ``automlops.cli.main``, in process.

The ``--json`` contract: the last stdout line is one object with name, version, parent, metric,
test_score and run_id. Bad input: exit code 2 and one line on stderr, nothing saved.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from automlops.cli import main
from automlops.config import Settings
from automlops.mlops.tracking import Tracker
from tests.sources_kit import fit_logistic, iris_lake, newer_iris, tree, write_model

KEYS = {"name", "version", "parent", "metric", "test_score", "run_id"}


@pytest.fixture
def lab(settings: Settings, empty_db: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    shutil.copyfile(empty_db, settings.home / "mlflow.db")
    lake, first = iris_lake(settings)
    model = write_model(fit_logistic(lake.load("iris", 1)), tmp_path, "flowers.skops")
    return settings, lake, first, model


def _last_json(capsys: pytest.CaptureFixture[str], code: int) -> dict:
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out.strip().splitlines()[-1])


def test_upload_then_retrain_warm_and_cold(lab, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    settings, lake, _, model = lab
    code = main(["models", "upload", str(model), "--name", "flowers", "--dataset", "lake:iris@v1",
                 "--target", "target", "--json"])
    uploaded = _last_json(capsys, code)
    assert KEYS <= uploaded.keys() and uploaded["name"] == "flowers" and uploaded["version"] == 1
    assert uploaded["parent"] is None and uploaded["source"] == "upload" and uploaded["metric"] == "log_loss"
    second = newer_iris(lake)
    code = main(["models", "retrain", "flowers@v1", "--data", f"lake:iris@v{second.version}", "--name", "flowers2",
                 "--json"])
    retrained = _last_json(capsys, code)
    assert (retrained["name"], retrained["version"], retrained["parent"]) == ("flowers2", 1, "flowers@v1")
    assert retrained["dataset"] == f"iris@v{second.version}" and 0 < retrained["test_score"] < 1
    tags = Tracker(settings=settings).client.get_run(retrained["run_id"]).data.tags
    assert tags["parent"] == "flowers@v1" and tags["source"] == "registry"
    code = main(["models", "retrain", "flowers2", "--data", "lake:iris@v1", "--cold"])  # NAME alone: its latest
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "saved flowers2@v2 from flowers2@v1 trained on iris@v1" in out.out and "cold refit" in out.out


BAD = {
    "pickle without trust": (["models", "upload", "{pkl}", "--name", "x", "--dataset", "lake:iris", "--target",
                              "target"], "a pickle is code"),
    "missing file": (["models", "upload", "nowhere.skops", "--name", "x", "--dataset", "lake:iris", "--target",
                      "target"], "no such file"),
    "unknown dataset version": (["models", "upload", "{skops}", "--name", "x", "--dataset", "lake:iris@v9",
                                 "--target", "target"], "has no version 9"),
    "bad dataset version": (["models", "upload", "{skops}", "--name", "x", "--dataset", "lake:iris@latest2",
                             "--target", "target"], "invalid dataset version"),
    "bad model name": (["models", "upload", "{skops}", "--name", "../x", "--dataset", "lake:iris", "--target",
                        "target"], "invalid model name"),
    "wrong target": (["models", "upload", "{skops}", "--name", "x", "--dataset", "lake:iris", "--target", "kind"],
                     "target column 'kind' is not in the dataset"),
    "unknown parent": (["models", "retrain", "ghost@v1", "--data", "lake:iris"], "no model named 'ghost'"),
    "missing --data": (["models", "retrain", "ghost@v1"], "the following arguments are required: --data"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_exits_2_with_one_line(lab, tmp_path: Path, capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
                                         case: str) -> None:
    settings, lake, _, model = lab
    pkl = write_model(fit_logistic(lake.load("iris", 1)), tmp_path, "flowers.pkl")
    argv, message = BAD[case]
    argv = [a.format(pkl=pkl, skops=model) for a in argv]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        code = int(exc.code or 0)
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and len(err.splitlines()) == 1, err
    assert tree(settings.models_dir) == []
