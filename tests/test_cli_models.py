"""`automlops models promote|demote|archive|rollback|history|register|list`, through `cli.main` in-process.

A real training saves and registers a version (the hook in save_model); more versions are saved
straight to the store, unregistered, so `promote` has to register them first. Bad input exits 2
with one line on stderr.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sklearn.datasets import load_iris

from automlops.cli import main
from automlops.mlops.store import ModelStore


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse refuses before a command runs
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def trained_once(tmp_path_factory: pytest.TempPathFactory, empty_db: Path) -> Path:
    """iris v1 trained by `automlops train` (registered by the hook), v2 and v3 saved but not registered."""
    home = tmp_path_factory.mktemp("cli-models") / "home"
    home.mkdir()
    shutil.copy(empty_db, home / "mlflow.db")
    csv = home.parent / "iris.csv"
    load_iris(as_frame=True).frame.to_csv(csv, index=False)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AUTOMLOPS_HOME", str(home))
        for var in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
            env.delenv(var, raising=False)
        code = main(["train", str(csv), "--target", "target", "--preset", "fast", "--models", "logistic",
                     "--n-trials", "1", "--name", "iris"])
        assert code == 0
        store = ModelStore()
        loaded = store.load("iris", 1)
        for _ in range(2):
            store.save("iris", loaded.model, {k: v for k, v in loaded.meta.items() if k not in ("name", "version")})
    return home


@pytest.fixture
def trained(home: Path, trained_once: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A fresh copy of that home for each test (the registry is the home's mlflow.db)."""
    shutil.rmtree(home)
    shutil.copytree(trained_once, home)
    capsys.readouterr()
    return home


def test_promote_registers_first_and_history_tells_the_story(trained: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "models", "list")
    assert code == 0
    lines = {line.split()[0]: line.split()[1] for line in out.splitlines()}
    assert lines == {"iris@v1": "-", "iris@v2": "unregistered", "iris@v3": "unregistered"}

    code, out, err = _run(capsys, "models", "promote", "iris@v3", "--to", "staging", "--reason", "new data")
    assert code == 0, err
    assert out.startswith("iris@v3 is now in staging") and "(new data)" in out
    assert _run(capsys, "models", "promote", "iris@v1", "--to", "production")[0] == 0
    code, out, _ = _run(capsys, "models", "promote", "iris@v3", "--to", "production", "--reason", "better")
    assert code == 0 and "(was v1)" in out
    code, out, _ = _run(capsys, "models", "rollback", "iris", "--reason", "alerts")
    assert code == 0 and "back to v1 (was v3)" in out
    assert _run(capsys, "models", "archive", "iris@v2", "--reason", "bad rows")[0] == 0
    code, out, _ = _run(capsys, "models", "list")
    assert [line.split()[1] for line in out.splitlines()] == ["production", "archived", "-"]

    code, out, _ = _run(capsys, "models", "history", "iris", "--json")
    history = json.loads(out.strip().splitlines()[-1])
    steps = [(h["action"], h["version"], h["stage"], h["reason"]) for h in history if h["action"] != "register"]
    assert steps == [("promote", 3, "staging", "new data"), ("promote", 1, "production", ""),
                     ("promote", 3, "production", "better"), ("rollback", 1, "production", "alerts"),
                     ("archive", 2, None, "bad rows")]
    assert [h["version"] for h in history if h["action"] == "register"] == [1, 2, 3]
    assert all(h["who"] and h["when"] for h in history)
    code, out, _ = _run(capsys, "models", "history", "iris")
    assert code == 0 and len(out.strip().splitlines()) == len(history) and "alerts" in out

    card = trained / "iris-v1.md"
    code, out, err = _run(capsys, "models", "card", "iris@v1", "--out", str(card))
    assert code == 0, err
    text = card.read_text()
    assert text.startswith("# Model card: iris@v1") and "**Stage**: production" in text
    assert "| rollback | production |" in text and "alerts" in text  # the stage history, with its why


BAD = {
    "no version": (("models", "promote", "iris", "--to", "production"), "name one exact version, such as iris@v1"),
    "missing version": (("models", "promote", "iris@v9", "--to", "production"), "no version v9"),
    "unknown model": (("models", "history", "nope"), "no registered model named 'nope'"),
    "bad stage": (("models", "promote", "iris@v1", "--to", "prod"), "invalid choice: 'prod'"),
    "nothing to demote": (("models", "demote", "iris", "--from", "staging"), "no version of 'iris' is in staging"),
    "nothing to roll back": (("models", "rollback", "iris"), "nothing to roll back to"),
    "card of a missing version": (("models", "card", "iris@v7"), "v7"),
    "card into a missing folder": (("models", "card", "iris@v1", "--out", "/no/such/dir/card.md"), "no such folder"),
}


def test_out_never_replaces_a_folder_or_a_write_once_version(trained: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """A card written over the lake's training data (or the model store's files) destroyed that version: every
    later check failed on its SHA-256. Those stores, and a folder, are refused before anything is written."""
    lake_file = next((trained / "data_lake").rglob("v0001.csv"))
    model_file = next((trained / "models").rglob("meta.json"))
    before = {p: p.read_bytes() for p in (lake_file, model_file)}
    for out, expected in ((lake_file, "inside the studio's data lake"), (model_file, "inside the studio's model store"),
                          (trained, "is a folder")):
        code, _, err = _run(capsys, "models", "card", "iris@v1", "--out", str(out))
        assert code == 2 and expected in err, err
    assert {p: p.read_bytes() for p in before} == before


def test_bad_input_is_exit_2_and_one_line(trained: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for case, (argv, expected) in BAD.items():
        code, out, err = _run(capsys, *argv)
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and lines[0].startswith("automlops: error: "), (case, err)
        assert expected in lines[0], (case, lines[0])
    assert _run(capsys, "models", "archive", "iris@v1")[0] == 0
    code, _, err = _run(capsys, "models", "promote", "iris@v1", "--to", "production")
    assert code == 2 and "iris@v1 is archived" in err
