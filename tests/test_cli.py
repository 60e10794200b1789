"""The `automlops` command as outside tools use it: a subprocess with AUTOMLOPS_HOME set."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from automlops.demo import DEMO_DATASETS, load_demo
from automlops.mlops.lake import DataLake

TRAIN_KEYS = {"name", "version", "model_path", "task", "best_model", "metric", "val_score", "test_score",
              "wall_seconds", "run_id"}
_SCRIPT = Path(sys.executable).parent / "automlops"
COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "automlops.cli"]


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "AUTOMLOPS_"))}
    env.update(AUTOMLOPS_HOME=str(home), PYTHONUNBUFFERED="1")
    return env


def run_cli(home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*COMMAND, *args], cwd=home, env=_env(home), capture_output=True, text=True,
                          timeout=timeout, check=False)


def last_json(proc: subprocess.CompletedProcess[str]) -> dict:
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One studio home for the module: seeded by `automlops demo`."""
    root = tmp_path_factory.mktemp("cli-home")
    proc = run_cli(root, "demo")
    assert proc.returncode == 0, proc.stderr
    assert "next: automlops train" in proc.stdout
    return root


@pytest.fixture(scope="module")
def iris_train(home: Path) -> tuple[dict, subprocess.CompletedProcess[str]]:
    proc = run_cli(home, "train", "lake:iris", "--target", "target", "--preset", "fast", "--n-trials", "4",
                   "--json")
    return last_json(proc), proc


@pytest.fixture(scope="module")
def iris_csv(home: Path) -> Path:
    path = home / "iris_new.csv"
    load_demo("iris").drop(columns="target").sample(25, random_state=0).to_csv(path, index=False)
    return path


def test_demo_seeds_every_dataset(home: Path) -> None:
    proc = run_cli(home, "lake", "list")
    assert proc.returncode == 0, proc.stderr
    for name in DEMO_DATASETS:
        assert name in proc.stdout
    assert (home / "data_lake" / "iris" / "manifest.json").is_file()


def test_train_json_contract(home: Path, iris_train: tuple[dict, subprocess.CompletedProcess[str]]) -> None:
    summary, proc = iris_train
    assert TRAIN_KEYS <= set(summary)
    assert summary["name"] == "iris" and summary["version"] == 1 and type(summary["version"]) is int
    assert Path(summary["model_path"]).is_file()
    assert Path(summary["model_path"]).resolve().is_relative_to(home.resolve())
    assert summary["task"] == "classification" and summary["metric"] == "log_loss"
    assert summary["best_model"] in {"logistic", "knn", "decision_tree", "random_forest"}
    assert isinstance(summary["val_score"], float) and isinstance(summary["test_score"], float)
    assert 0 < summary["wall_seconds"] < 120
    assert isinstance(summary["run_id"], str) and len(summary["run_id"]) >= 16
    assert "trial" in proc.stderr  # the progress line
    assert "Traceback" not in proc.stderr
    assert (home / "mlflow.db").is_file()


def test_train_file_adds_it_to_the_lake(home: Path, tmp_path: Path) -> None:
    csv = tmp_path / "my penguins.csv"
    load_demo("penguins").to_csv(csv, index=False)
    summary = last_json(run_cli(home, "train", str(csv), "--target", "species", "--preset", "fast",
                                "--n-trials", "3", "--models", "logistic,decision_tree", "--json"))
    assert summary["name"] == "my_penguins" and summary["version"] == 1
    assert summary["best_model"] in {"logistic", "decision_tree"}
    assert "my_penguins" in [d.name for d in DataLake(root=home / "data_lake").list_datasets()]
    listing = run_cli(home, "lake", "list")
    assert "my_penguins" in listing.stdout



def test_a_target_written_as_money_is_a_quantity(home: Path, tmp_path: Path) -> None:
    """A spreadsheet's "$3,750.00" target is a regression target (it was refused before: "that looks like a
    quantity or an ID"), and rows to predict written the same way are read the same way."""
    penguins = load_demo("penguins").dropna()
    written = penguins.assign(body_mass_g=[f"${v:,.2f}" for v in penguins["body_mass_g"]],
                              flipper_length_mm=[f"{v:,.1f}%" for v in penguins["flipper_length_mm"]])
    csv = tmp_path / "penguin_prices.csv"
    written.to_csv(csv, index=False)
    summary = last_json(run_cli(home, "train", str(csv), "--target", "body_mass_g", "--preset", "fast",
                                "--n-trials", "2", "--models", "ridge", "--json"))
    assert summary["task"] == "regression" and summary["metric"] == "rmse" and summary["test_score"] < 600
    rows = tmp_path / "rows.csv"
    written.drop(columns="body_mass_g").head(10).to_csv(rows, index=False)
    out = tmp_path / "predicted.csv"
    proc = run_cli(home, "predict", "--model", "penguin_prices", str(rows), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert pd.read_csv(out)["prediction"].between(2000, 7000).all()

# Slow (a 10 s budget on a shared machine, and this module's training fixture rebuilt for it in the serial
# part of `make test`): the whole CLI process's budget is checked from outside by
# tests/test_tracking_unreachable.py in the default run (and on 50k rows by test_budget_large_table.py, slow).
@pytest.mark.slow
def test_second_train_is_version_2_within_its_time_budget(
        home: Path, iris_train: tuple[dict, subprocess.CompletedProcess[str]]) -> None:
    """A second `train` of the same data is version 2; the whole process stays within its budget + 10 %."""
    budget = 10.0
    start = time.monotonic()
    proc = run_cli(home, "train", "lake:iris", "--target", "target", "--time-budget", f"{budget:g}", "--json")
    wall = time.monotonic() - start  # start-up, reading, search, refit, MLflow and saving included
    summary = last_json(proc)
    assert summary["name"] == "iris" and summary["version"] == 2
    assert summary["run_id"] != iris_train[0]["run_id"]
    assert Path(summary["model_path"]).is_file() and Path(iris_train[0]["model_path"]).is_file()
    assert wall <= budget * 1.1, f"the process ran {wall:.1f} s for a {budget:g} s budget"
    assert summary["wall_seconds"] <= budget * 1.1


def test_predict_with_proba(home: Path, iris_train: tuple[dict, subprocess.CompletedProcess[str]],
                            iris_csv: Path) -> None:
    out = home / "preds.csv"
    proc = run_cli(home, "predict", "--model", "iris@v1", str(iris_csv), "--proba", "--out", str(out))
    assert proc.stdout == ""  # the predictions went to the file
    assert proc.returncode == 0, proc.stderr
    preds = pd.read_csv(out)
    assert list(preds.columns) == ["prediction", "proba_setosa", "proba_versicolor", "proba_virginica"]
    assert len(preds) == 25
    assert set(preds["prediction"]) <= {"setosa", "versicolor", "virginica"}
    proba = preds.filter(like="proba_").to_numpy()
    assert np.allclose(proba.sum(axis=1), 1.0)
    best = np.array(["setosa", "versicolor", "virginica"])[proba.argmax(axis=1)]
    assert (best == preds["prediction"].to_numpy()).all()  # the label is the most probable class, every row


def test_lake_show_and_models_list(home: Path, iris_train: tuple[dict, subprocess.CompletedProcess[str]]) -> None:
    show = run_cli(home, "lake", "show", "iris", "--target", "target")
    assert show.returncode == 0, show.stderr
    assert "150 rows" in show.stdout and "petal length (cm)" in show.stdout and "setosa" in show.stdout
    models = run_cli(home, "models", "list")
    assert models.returncode == 0, models.stderr
    assert "iris@v1" in models.stdout and "classification" in models.stdout


def test_lake_add(home: Path, tmp_path: Path) -> None:
    csv = tmp_path / "wine.csv"
    load_demo("wine").head(50).to_csv(csv, index=False)
    proc = run_cli(home, "lake", "add", "wine_small", str(csv), "--note", "first 50")
    assert proc.returncode == 0, proc.stderr
    assert "wine_small" in proc.stdout and "50 rows" in proc.stdout


BAD = {
    "missing file": ("train", "{tmp}/no_such.csv", "--target", "y"),
    "unknown target column": ("train", "lake:iris", "--target", "species", "--preset", "fast", "--n-trials", "2"),
    "bad preset": ("train", "lake:iris", "--target", "target", "--preset", "turbo"),
    "non-numeric time budget": ("train", "lake:iris", "--target", "target", "--time-budget", "ten"),
    "unknown model ref": ("predict", "--model", "no_such_model@v1", "{tmp}/iris_new.csv"),
    "garbage bytes": ("train", "{tmp}/garbage.csv", "--target", "y"),
    "empty csv": ("train", "{tmp}/empty.csv", "--target", "y"),
    "unknown model name": ("train", "lake:iris", "--target", "target", "--models", "gpt", "--n-trials", "2"),
    "text in a numeric column": ("predict", "--model", "iris@v1", "{tmp}/iris_text.csv"),
}


@pytest.fixture(scope="module")
def bad_runs(home: Path, iris_train: tuple[dict, subprocess.CompletedProcess[str]],
             iris_csv: Path) -> dict[str, tuple[int, str, str]]:
    """Every bad-input case, started side by side (each is one short process)."""
    (home / "garbage.csv").write_bytes(bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)))
    (home / "empty.csv").write_bytes(b"")
    text = pd.read_csv(iris_csv).astype(object)
    text.iloc[2, 0] = "abc"  # a word among the numbers of 'sepal length (cm)'
    text.to_csv(home / "iris_text.csv", index=False)
    procs = {case: subprocess.Popen([*COMMAND, *(a.format(tmp=home) for a in args)], cwd=home, env=_env(home),
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for case, args in BAD.items()}
    out = {}
    for case, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=120)
        out[case] = (proc.returncode, stdout, stderr)
    return out


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_exits_2_with_one_line(bad_runs: dict[str, tuple[int, str, str]], case: str) -> None:
    code, stdout, stderr = bad_runs[case]
    assert code == 2, (case, code, stderr[-1500:])
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, (case, stderr)
    assert lines[0].startswith("automlops: error:")
    assert "Traceback" not in stderr
    assert stdout.strip() == ""


def test_bad_input_messages_say_what_is_wrong(bad_runs: dict[str, tuple[int, str, str]]) -> None:
    assert "no_such.csv" in bad_runs["missing file"][2]
    assert "'species'" in bad_runs["unknown target column"][2]
    assert "turbo" in bad_runs["bad preset"][2]
    assert "'ten' is not a number" in bad_runs["non-numeric time budget"][2]
    assert "no_such_model" in bad_runs["unknown model ref"][2]
    assert "gpt" in bad_runs["unknown model name"][2]
    assert "could not predict" in bad_runs["text in a numeric column"][2]


def test_main_returns_from_train_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """``main(["train", ...])`` called from Python returns 0: only the console script ends the process."""
    from automlops.cli import main

    monkeypatch.setenv("AUTOMLOPS_HOME", str(tmp_path))
    for var in [v for v in os.environ if v.startswith("MLFLOW_")]:
        monkeypatch.delenv(var)
    csv = tmp_path / "tiny.csv"
    load_demo("iris").sample(60, random_state=0).to_csv(csv, index=False)
    code = main(["train", str(csv), "--target", "target", "--preset", "fast", "--n-trials", "2",
                 "--models", "logistic", "--json"])
    assert code == 0, capsys.readouterr().err
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["name"] == "tiny" and Path(summary["model_path"]).is_file()


# ----------------------------------------------------------------------- malformed settings
SETTING_ERRORS = {
    "version_not_a_number": ({"MODEL_NAME": "m", "MODEL_VERSION": "abc"}, "MODEL_VERSION='abc' is not a whole number"),
    "version_without_name": ({"MODEL_VERSION": "3"}, "MODEL_VERSION is set but MODEL_NAME is not"),
    "port_not_a_number": ({"API_PORT": "http"}, "API_PORT='http' is not a whole number"),
    "short_signing_key": ({"AUTOMLOPS_SIGNING_KEY": "short-secret"}, "AUTOMLOPS_SIGNING_KEY "),
}


def _run_with(cwd: Path, command: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in _env(cwd).items() if not k.startswith(("MODEL_", "API_"))} | env
    full["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    return subprocess.run(command, cwd=cwd, env=full, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("case", sorted(SETTING_ERRORS))
def test_a_malformed_setting_is_one_line_and_exit_2(tmp_path: Path, case: str, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Through main() in this process (settings are read fresh from the environment on every call)."""
    from automlops.cli import main

    env, expected = SETTING_ERRORS[case]
    for var in ("MODEL_NAME", "MODEL_VERSION", "MODEL_STAGE", "API_PORT", "AUTOMLOPS_SIGNING_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AUTOMLOPS_HOME", str(tmp_path))
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    code = main(["models", "list"])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("automlops: error: ") and expected in lines[0], err
    assert "short-secret" not in err  # a secret is named, never echoed


@pytest.mark.parametrize("command", ["serve", "uvicorn"])
def test_the_api_refuses_a_malformed_setting_in_one_line(tmp_path: Path, command: str) -> None:
    argv = ([*COMMAND, "serve", "--port", "0"] if command == "serve"
            else [sys.executable, "-m", "uvicorn", "api:app", "--port", "0"])
    proc = _run_with(tmp_path, argv, API_KEY="k" * 32, MODEL_NAME="m", MODEL_VERSION="abc")
    assert proc.returncode == (2 if command == "serve" else 1), proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "MODEL_VERSION='abc' is not a whole number" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_bug_under_a_malformed_setting_is_still_one_line(monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    from automlops import cli

    def broken(args: object) -> int:
        raise RuntimeError("boom")

    monkeypatch.setenv("AUTOMLOPS_DEBUG", "maybe")  # the setting that decides on tracebacks is itself malformed
    monkeypatch.setattr(cli, "cmd_demo", broken)
    assert cli.main(["demo"]) == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        "automlops: internal error: RuntimeError: boom (set AUTOMLOPS_DEBUG=1 for details)"]


def test_the_command_line_keeps_pandas_from_loading_pyarrow() -> None:
    """pyarrow (installed by MLflow) costs ~35 MB a tabular training never uses; scikit-learn still works without it."""
    pytest.importorskip("pyarrow")
    code = ("import sys; from automlops.cli import _without_arrow; _without_arrow(['train', 'x.csv', '--target', 'y']); "
            "import pandas as pd; from sklearn.linear_model import Ridge; "
            "Ridge().fit(pd.DataFrame({'a': [0.0, 1.0]}), [0.0, 1.0]); print('pyarrow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_help_and_a_bad_flag_answer_without_importing_the_machine_learning_stack() -> None:
    """Building the parser imports neither scikit-learn nor pandas (~3 s and ~190 MB): ``train``'s choices
    are read when a value is checked or its help is written, and then they are all there."""
    code = ("import sys; from automlops.cli_parser import build_parser; parser = build_parser(); "
            "heavy = sorted(m for m in ('sklearn', 'pandas', 'optuna', 'mlflow', 'scipy') if m in sys.modules); "
            "print(heavy); parser.parse_args(['train', 'x.csv', '--time-budget', 'ten'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.stdout.strip() == "[]", out.stdout
    assert out.returncode == 2 and "'ten' is not a number" in out.stderr
    from automlops.cli_parser import build_parser
    from automlops.tabular.presets import PRESETS
    from automlops.tabular.search import STRATEGIES

    train_help = " ".join(subprocess.run([sys.executable, "-m", "automlops.cli", "train", "--help"],
                                         capture_output=True, text=True, check=True).stdout.split())
    assert f"--preset PRESET {', '.join(PRESETS.names())} (default: medium)" in train_help
    assert f"--search STRATEGY {', '.join(STRATEGIES.names())} (default: tpe)" in train_help
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["train", "x.csv", "--preset", "turbo"])
    assert exited.value.code == 2


@pytest.mark.parametrize(("argv", "hooked"), [
    (["train", "a.csv", "--target", "y"], True),
    (["train", "a.csv", "--task", "clustering"], True),
    (["train", "a.csv", "--task", "timeseries", "--time-column", "t", "--target", "y"], False),
    (["train", "a.csv", "--task=time-series"], False),
    (["predict", "--model", "co2", "f.csv"], False),  # the model may be a forecaster, whose library needs it
    (["forecast", "--model", "co2"], False),
])
def test_only_trainings_that_do_not_need_pyarrow_refuse_it(argv: list[str], hooked: bool,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from automlops import cli

    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    monkeypatch.delitem(sys.modules, "pandas")  # as in a fresh process, where the hook matters (restored after)
    monkeypatch.delitem(sys.modules, "pyarrow", raising=False)
    cli._without_arrow(argv)
    assert any(isinstance(f, cli._NoArrow) for f in sys.meta_path) is hooked


def test_a_reader_that_leaves_early_is_not_an_error(tmp_path: Path) -> None:
    """`automlops models zoo | head -1`: the pipe closes before the listing is written; the command ends
    quietly (exit 0, nothing on stderr) instead of "internal error: BrokenPipeError"."""
    proc = subprocess.Popen([*COMMAND, "models", "zoo"], cwd=tmp_path, env=_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the command has written anything
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 0 and err == "", err


def test_the_budget_clock_starts_when_the_process_did_not_up_to_a_second_earlier() -> None:
    """The time budget counts from the process start. Read through psutil's create_time (a boot time in whole
    seconds, on Linux) a 0.03 s old process was 0.78 s old: budgets lost up to a second. The age must lie
    between what the process measured itself and what its parent saw from outside."""
    import subprocess
    import sys
    import time

    code = ("import time; t0 = time.monotonic()\nfrom automlops.cli import _process_age\ntime.sleep(0.3)\n"
            "print(time.monotonic() - t0, _process_age())")
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60).stdout
    outside = time.monotonic() - started
    inside, age = map(float, out.split())
    assert inside - 0.02 <= age <= outside + 0.02, (inside, age, outside)
