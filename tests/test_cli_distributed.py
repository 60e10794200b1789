"""Distributed search from the command line, on a real PostgreSQL server and real processes.

``automlops train --study --storage`` coordinates, ``automlops worker`` processes join; they share
nothing but the database and the lake. The long cases run real processes (the coordinator, three
workers, a coordinator killed with SIGKILL); the refusals call ``cli.main`` in this process, which
runs the same code path as the installed command without paying its start-up each time.
"""

from __future__ import annotations

import io
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_wine

from automlops.cli import main
from tests.postgres import PostgresServer
from tests.servers import free_port

pytestmark = pytest.mark.integration

_SCRIPT = Path(sys.executable).parent / "automlops"
COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "automlops.cli"]
MODELS = "logistic,knn,decision_tree"
FAST_HEARTBEATS = {"HPO_HEARTBEAT_INTERVAL": "1", "HPO_GRACE_PERIOD": "3"}


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "AUTOMLOPS_", "HPO_"))}
    env.update(AUTOMLOPS_HOME=str(home), PYTHONUNBUFFERED="1", **extra)
    return env


def _start(home: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*COMMAND, *args], cwd=home, env=_env(home, **env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _last_json(proc: subprocess.Popen[str], timeout: float = 150) -> dict[str, Any]:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _wait_for_line(proc: subprocess.Popen[str], text: str, timeout: float = 90) -> None:
    """Read ``proc``'s stderr (unbuffered) until it holds ``text``; what was read is gone from its output."""
    assert proc.stderr is not None
    fd, deadline, seen = proc.stderr.fileno(), time.monotonic() + timeout, b""
    while time.monotonic() < deadline and text.encode() not in seen:
        if select.select([fd], [], [], 0.5)[0]:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            seen += chunk
    assert text.encode() in seen, f"no {text!r} from the worker: {seen.decode(errors='replace')[-2000:]}"


def _train_args(csv: Path, url: str, study: str, *budget: str) -> list[str]:
    return ["train", str(csv), "--target", "target", "--preset", "fast", "--models", MODELS, "--validation",
            "holdout", "--study", study, "--storage", url, "--json", *budget]  # holdout: one fit per trial


def _cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], home: Path,
         *argv: str) -> tuple[int, str, str]:
    """``automlops ARGV`` in this process, with ``home`` as AUTOMLOPS_HOME."""
    monkeypatch.setenv("AUTOMLOPS_HOME", str(home))
    for var in ("HPO_STORAGE_URL", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(var, raising=False)
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _password(url: str) -> str:
    return url.split("//", 1)[1].split("@", 1)[0].split(":", 1)[1]


def _csv(folder: Path, name: str, frame: pd.DataFrame) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_csv(folder / f"{name}.csv", index=False)
    return folder / f"{name}.csv"


@pytest.fixture(scope="module")
def searched(postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A coordinator and three workers on one PostgreSQL study, run once for the module."""
    root = tmp_path_factory.mktemp("distributed")
    home, url = root / "home", postgres.create_database("optuna_shared")
    home.mkdir()
    csv = _csv(root, "cancer", load_breast_cancer(as_frame=True).frame)
    workers = [_start(home, "worker", "--study", "cancer-search", "--storage", url, "--wait", "90", "--json")
               for _ in range(3)]
    for worker in workers:  # started first (as containers may be): each says it waits for the study
        _wait_for_line(worker, "waiting up to 90 s for study 'cancer-search'")
    coordinator = _start(home, *_train_args(csv, url, "cancer-search", "--n-trials", "15", "--time-budget", "40"))
    summary = _last_json(coordinator)
    reports = [_last_json(w) for w in workers]
    return {"home": home, "url": url, "csv": csv, "summary": summary, "reports": reports,
            "study": optuna.load_study(study_name="cancer-search", storage=url)}


def test_three_workers_and_the_coordinator_search_one_study(searched: dict[str, Any]) -> None:
    study, summary, reports = searched["study"], searched["summary"], searched["reports"]
    trials = study.get_trials(deepcopy=False)
    numbers = [t.number for t in trials]
    assert len(numbers) == len(set(numbers)) == summary["study"]["trials"] >= 7  # one study, no trial lost
    by_worker: dict[str, int] = {}
    for t in trials:
        if t.state is optuna.trial.TrialState.COMPLETE:
            by_worker[t.user_attrs["worker"]] = by_worker.get(t.user_attrs["worker"], 0) + 1
    assert len(by_worker) >= 3, by_worker  # the coordinator and at least two workers completed trials
    ran = sum(r["trials_run"] for r in reports)
    assert sum(1 for r in reports if r["completed"] > 0) >= 2 and ran <= len(trials)
    for report in reports:
        assert report["study"] == "cancer-search" and report["stopped_because"] == "search closed", report
        assert set(report) >= {"trials_run", "completed", "failed", "pruned", "seconds", "stopped_because"}
    assert study.user_attrs["search_open"] is False  # the coordinator closed the search before it refitted
    assert study.user_attrs["data"] == "lake:cancer@v1" and len(study.user_attrs["data_sha256"]) == 64
    assert study.user_attrs["recipe"]["options"]["models"] == MODELS.split(",")
    assert summary["version"] == 1 and summary["study"]["name"] == "cancer-search"
    assert "***" in summary["study"]["storage"] and _password(searched["url"]) not in \
        json.dumps(summary)  # the password never reaches the output


def test_the_saved_model_predicts(searched: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _cli(monkeypatch, capsys, searched["home"], "predict", "--model", "cancer", str(searched["csv"]))
    assert code == 0, err
    predictions = pd.read_csv(io.StringIO(out))
    truth = load_breast_cancer(as_frame=True).frame["target"]
    assert len(predictions) == len(truth) and (predictions["prediction"].to_numpy() == truth.to_numpy()).mean() > 0.9


def test_a_worker_whose_lake_version_differs_is_refused(searched: dict[str, Any], tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "copied-home"
    shutil.copytree(searched["home"] / "data_lake", copy / "data_lake")
    stored = copy / "data_lake" / "cancer" / "raw" / "v0001.csv"
    stored.write_bytes(stored.read_bytes().replace(b"0.", b"1.", 1))  # one digit changed
    code, out, err = _cli(monkeypatch, capsys, copy, "worker", "--study", "cancer-search",
                          "--storage", searched["url"])
    pinned = searched["study"].user_attrs["data_sha256"]
    assert code == 2 and err.count("\n") == 1, err
    assert "cancer v1" in err and pinned[:12] in err and "sha256" in err
    assert _password(searched["url"]) not in err + out
    # a worker whose lake lacks the version altogether
    code, _, err = _cli(monkeypatch, capsys, tmp_path / "empty-home", "worker", "--study", "cancer-search",
                        "--storage", searched["url"])
    assert code == 2 and "lake:cancer@v1" in err and "does not hold" in err, err


def test_a_study_created_for_another_dataset_or_options_is_refused(searched: dict[str, Any], tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    home = searched["home"]
    wine = _csv(tmp_path, "wine", load_wine(as_frame=True).frame)
    code, _, err = _cli(monkeypatch, capsys, home, *_train_args(wine, searched["url"], "cancer-search"))
    assert code == 2 and "study 'cancer-search' was created for lake:cancer@v1" in err, err
    assert not (home / "data_lake" / "wine").exists()  # refused before the data joined the lake
    code, _, err = _cli(monkeypatch, capsys, home, *_train_args(searched["csv"], searched["url"], "cancer-search"),
                        "--seed", "7")
    assert code == 2 and "--seed 0, not 7" in err, err
    assert _password(searched["url"]) not in err


def test_the_coordinator_killed_mid_search_resumes_when_run_again(pg_database: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    csv = _csv(tmp_path, "cancer", load_breast_cancer(as_frame=True).frame)
    first = _start(home, *_train_args(csv, pg_database, "resumable", "--n-trials", "200"), **FAST_HEARTBEATS)
    storage = optuna.storages.RDBStorage(pg_database)
    deadline, complete = time.monotonic() + 120, []
    while time.monotonic() < deadline and first.poll() is None:
        try:
            trials = optuna.load_study(study_name="resumable", storage=storage).get_trials(deepcopy=False)
        except KeyError:
            trials = []
        complete = [t.number for t in trials if t.state is optuna.trial.TrialState.COMPLETE]
        if len(complete) >= 2:
            break
        time.sleep(0.3)
    assert first.poll() is None and len(complete) >= 2, "the first coordinator did not get going"
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    time.sleep(float(FAST_HEARTBEATS["HPO_GRACE_PERIOD"]) + 1)  # its running trial's heartbeat is stale by now
    before = optuna.load_study(study_name="resumable", storage=storage).get_trials(deepcopy=False)
    summary = _last_json(_start(home, *_train_args(csv, pg_database, "resumable", "--n-trials", "2"),
                                **FAST_HEARTBEATS))
    after = {t.number: t for t in optuna.load_study(study_name="resumable", storage=storage).get_trials()
             if t.state is not optuna.trial.TrialState.WAITING}
    assert summary["study"]["trials"] == len(after) > len(before)  # the rerun added to the same study
    for t in before:  # every trial of the killed coordinator is still there; its completed ones intact
        if t.state is optuna.trial.TrialState.COMPLETE:
            assert after[t.number].state is optuna.trial.TrialState.COMPLETE and after[t.number].value == t.value
        elif t.state is optuna.trial.TrialState.RUNNING:  # killed mid-trial: failed, then retried, same params
            assert after[t.number].state is optuna.trial.TrialState.FAIL
            retries = [r for r in after.values() if r.system_attrs.get("failed_trial") == t.number]
            assert retries and t.params.items() <= retries[0].params.items()  # (what it had drawn so far)
    assert not [n for n, t in after.items() if t.state is optuna.trial.TrialState.RUNNING]
    assert summary["version"] == 1 and [p.name for p in (home / "models" / "cancer").iterdir()
                                        if p.name.startswith("v")] == ["v0001"]  # one model, from the rerun


def test_bad_storage_urls_exit_2_naming_the_host_never_the_password(
        postgres: PostgresServer, pg_database: str, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    wrong = postgres.url(pg_database.rsplit("/", 1)[1], password="Wr0ng-s3cret-pw")
    code, out, err = _cli(monkeypatch, capsys, home, "worker", "--study", "s", "--storage", wrong)
    assert code == 2 and err.count("\n") == 1 and f"127.0.0.1:{postgres.port}" in err, err
    assert "Wr0ng-s3cret-pw" not in out + err and "password" in err.lower()
    csv = _csv(tmp_path, "cancer", load_breast_cancer(as_frame=True).frame)
    dead = f"postgresql+psycopg2://studio:An0ther-s3cret@127.0.0.1:{free_port()}/optuna"
    code, out, err = _cli(monkeypatch, capsys, home, *_train_args(csv, dead, "s"))
    assert code == 2 and "127.0.0.1" in err and "An0ther-s3cret" not in out + err, err
    assert not (home / "data_lake" / "cancer").exists() and not (home / "models").exists()  # nothing written
    code, _, err = _cli(monkeypatch, capsys, home, "train", str(csv), "--target", "target", "--storage", dead)
    assert code == 2 and "--storage needs --study" in err and "An0ther-s3cret" not in err
    code, _, err = _cli(monkeypatch, capsys, home, "worker", "--study", "bad name", "--storage", dead)
    assert code == 2 and "invalid study name" in err


def test_a_worker_refuses_a_study_it_cannot_rebuild(pg_database: str, home: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    newer = optuna.create_study(study_name="newer", storage=pg_database)
    newer.set_user_attr("recipe", {"version": 99, "options": {}})
    newer.set_user_attr("data", "lake:cancer@v1")
    images = optuna.create_study(study_name="images", storage=pg_database)
    images.set_user_attr("fingerprint", "vision:0123456789abcdef")
    code, _, err = _cli(monkeypatch, capsys, home, "worker", "--study", "missing", "--storage", pg_database)
    assert code == 2 and "no study named 'missing'" in err and "images, newer" in err, err
    code, _, err = _cli(monkeypatch, capsys, home, "worker", "--study", "newer", "--storage", pg_database)
    assert code == 2 and "format version 99" in err, err
    code, _, err = _cli(monkeypatch, capsys, home, "worker", "--study", "images", "--storage", pg_database)
    assert code == 2 and "image (vision) study" in err, err
    started = time.monotonic()
    code, _, err = _cli(monkeypatch, capsys, home, "worker", "--study", "later", "--storage", pg_database,
                        "--wait", "1")
    assert code == 2 and "after waiting 1 s" in err and time.monotonic() - started >= 1.0, err


def test_every_train_option_that_shapes_the_search_travels_in_the_recipe() -> None:
    """A worker rebuilds the coordinator's ``automlops train`` from the study's recipe: an option the
    recipe forgets is missing from the rebuilt command (the worker then fails or searches something else)."""
    import argparse

    from automlops.cli import build_parser
    from automlops.distributed.recipe import TRAIN_OPTIONS, Recipe

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    train_dests = {a.dest for a in commands.choices["train"]._actions} - {"help"}
    per_process = {"csv", "time_budget", "n_trials", "name", "json", "study", "storage"}  # each process's own
    assert train_dests - per_process == set(TRAIN_OPTIONS)

    args = parser.parse_args(["train", "data.csv", "--task", "clustering", "--clusters", "3", "--time-budget", "5"])
    rebuilt = Recipe.from_attr(Recipe.from_args(args, 5.0).as_attr(), "study").train_args(time_budget=5.0)
    assert {name: getattr(rebuilt, name) for name in TRAIN_OPTIONS} == {name: getattr(args, name)
                                                                         for name in TRAIN_OPTIONS}
    assert Recipe.from_args(args, None).differences(Recipe.from_args(parser.parse_args(
        ["train", "data.csv", "--task", "clustering"]), None)) == ["--clusters 3, not (unset)"]
