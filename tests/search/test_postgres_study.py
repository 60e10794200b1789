"""Distributed search on a real PostgreSQL: a coordinator and worker processes share one Optuna study.

Every test runs real processes against a throwaway PostgreSQL server (``pg_database``): the
coordinator is ``SearchDriver.fit`` in this process (through ``AutoMLRunner``), the workers are
separate Python processes running ``SearchDriver.search_only`` on the tabular engine, as
``automlops worker`` does. Nothing is mocked: a worker is really killed with SIGKILL mid-trial, and
the heartbeat, the stale-trial check and the retry are Optuna's, on PostgreSQL.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState
from sklearn.datasets import load_breast_cancer

from automlops.config import Settings
from automlops.errors import ConfigError
from automlops.search.driver import DriverConfig, SearchDriver
from automlops.search.storage import open_storage
from automlops.tabular import AutoMLRunner
from automlops.tabular.engine import TabularData, TabularEngine
from tests.postgres import PostgresServer
from tests.servers import free_port

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
MODELS = ["logistic", "knn", "decision_tree"]
FAST = {"preset": "fast", "ensemble": "none", "validation": "holdout"}
# A worker process: prepares the data, says "ready" while it waits for the coordinator's study, then searches.
WORKER = textwrap.dedent("""
    import json, sys
    from sklearn.datasets import load_breast_cancer
    from automlops.search.driver import DriverConfig, SearchDriver
    from automlops.tabular.engine import TabularData, TabularEngine
    url, study, search, models, n_trials, budget = sys.argv[1:7]
    df = load_breast_cancer(as_frame=True).frame
    def ready(event):  # the data is prepared: only the coordinator's study is missing
        if "waiting up to" in event.message:
            print("ready", flush=True)
    engine = TabularEngine("target", preset="fast", search=search, models=models.split(","), ensemble="none",
                           validation="holdout")
    config = DriverConfig(preset="fast", search=search, storage=url, study_name=study,
                          n_trials=int(n_trials) if n_trials != "-" else None,
                          time_budget=float(budget) if budget != "-" else None)
    report = SearchDriver(engine, config, callbacks=[ready]).search_only(TabularData(df, None), wait=60)
    print(json.dumps(report.__dict__), flush=True)
""")


def _start_worker(url: str, study: str, *, search: str = "tpe", models: list[str] = MODELS, n_trials: int | None = None,
                  budget: float | None = 60.0, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER, url, study, search, ",".join(models), str(n_trials or "-"),
         str(budget or "-")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})
    return proc


def _wait_ready(procs: list[subprocess.Popen[str]]) -> None:
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "ready", (line, proc.stderr.read() if proc.stderr else "")


def _report(proc: subprocess.Popen[str]) -> dict:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def _worker_id(proc: subprocess.Popen[str]) -> str:
    return f"{socket.gethostname()}:{proc.pid}"


@pytest.fixture(scope="module")
def cancer():  # type: ignore[no-untyped-def]
    return load_breast_cancer(as_frame=True).frame


def test_a_coordinator_and_two_workers_share_one_study_and_survive_a_worker_killed_mid_trial(  # type: ignore[no-untyped-def]
        pg_database: str, cancer, monkeypatch: pytest.MonkeyPatch) -> None:
    fast_heartbeat = {"HPO_HEARTBEAT_INTERVAL": "1", "HPO_GRACE_PERIOD": "3"}  # for every process, this one too
    for key, value in fast_heartbeat.items():
        monkeypatch.setenv(key, value)
    models = ["random_forest", "logistic"]  # a random forest trial lasts long enough to be killed in
    survivor = _start_worker(pg_database, "shared", models=models, env=fast_heartbeat)
    victim = _start_worker(pg_database, "shared", models=models, env=fast_heartbeat)
    _wait_ready([survivor, victim])
    killed: dict[str, Any] = {}

    def kill_when_running() -> None:  # SIGKILL the victim 0.3 s into one of its trials (heartbeat recorded)
        storage, seen, seen_at = open_storage(pg_database), -1, 0.0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and victim.poll() is None:
            try:
                study = optuna.load_study(study_name="shared", storage=storage)
            except KeyError:  # the coordinator has not created it yet
                time.sleep(0.05)
                continue
            running = {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
                       if t.user_attrs.get("worker") == _worker_id(victim)}
            if seen in running and time.monotonic() - seen_at > 0.3:
                # Freeze the victim first, let a commit already on the wire land, then look again: a trial that
                # is still RUNNING now cannot finish before the SIGKILL (a fast trial once did, in CI).
                victim.send_signal(signal.SIGSTOP)
                time.sleep(0.3)
                trials_now = study.get_trials(deepcopy=False)
                complete = {t.number: t.value for t in trials_now if t.state is TrialState.COMPLETE}
                if seen in complete:  # it finished before the freeze: wait for the victim's next trial
                    victim.send_signal(signal.SIGCONT)
                    seen = -1
                    continue
                killed["complete_before"] = complete
                victim.send_signal(signal.SIGKILL)
                killed["number"] = seen
                return
            if running and seen not in running:
                seen, seen_at = min(running), time.monotonic()
            time.sleep(0.05)

    killer = threading.Thread(target=kill_when_running)
    killer.start()
    runner = AutoMLRunner("target", models=models, time_budget=22, storage=pg_database, study_name="shared",
                          **FAST).fit(cancer)
    killer.join()
    report = _report(survivor)
    victim.communicate(timeout=30)
    assert victim.returncode == -signal.SIGKILL and "number" in killed, "the worker was not killed mid-trial"

    study = optuna.load_study(study_name="shared", storage=pg_database)
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    story = [(n, t.state.name, t.user_attrs.get("worker"), t.system_attrs.get("failed_trial"), t.datetime_start,
              t.datetime_complete) for n, t in trials.items()]  # shown when an assertion below fails
    ran = [t for t in trials.values() if t.state is not TrialState.WAITING]
    assert all(t.state.is_finished() for t in ran), (killed, story)  # the survivor finished its last trial
    by_worker = Counter(t.user_attrs.get("worker") for t in ran)
    me = f"{socket.gethostname()}:{os.getpid()}"
    assert report["stopped_because"] == "search closed", report  # the coordinator closed the search
    assert report["trials_run"] >= 1 and by_worker[_worker_id(survivor)] == report["trials_run"], (report, story)
    assert by_worker[me] >= 1 and by_worker[_worker_id(victim)] >= 1, story
    assert len(ran) == sum(by_worker.values())  # one study, unique numbers (the dict), every trial accounted for
    assert study.user_attrs["search_open"] is False
    # the warm start was queued once for the study, not once per process
    defaults = [t for t in trials.values() if "fixed_params" in t.system_attrs and "failed_trial" not in t.system_attrs]
    assert sorted(t.params["model"] for t in defaults) == sorted(models)

    lost = trials[killed["number"]]
    assert lost.state is TrialState.FAIL, (killed, story)  # failed by a live process once its heartbeat was 3 s old
    retries = [t for t in trials.values() if t.system_attrs.get("failed_trial") == lost.number]
    assert len(retries) == 1, (killed, story)  # retried once, with the same candidate, by a live process
    retry = retries[0]
    assert retry.params == lost.params and retry.state is TrialState.COMPLETE, (killed, story, retry.user_attrs)
    # the engine rebuilt the same candidate from them (the objective rewrites these from its suggestion)
    assert (retry.user_attrs["model"], retry.user_attrs["params"]) == (lost.user_attrs["model"],
                                                                       lost.user_attrs["params"])
    assert retry.user_attrs["retry_of"] == lost.number
    assert retry.user_attrs["worker"] in {me, _worker_id(survivor)}
    for number, value in killed["complete_before"].items():  # no completed trial was lost
        assert trials[number].state is TrialState.COMPLETE and trials[number].value == value
    # the coordinator ranked the trials of every process, not only its own
    assert int(runner.leaderboard_["trials"].sum()) > by_worker[me]
    assert int(runner.leaderboard_["failed"].sum()) >= 1


def test_a_grid_searched_by_three_processes_runs_every_point_exactly_once(pg_database: str, cancer) -> None:  # type: ignore[no-untyped-def]
    models = ["logistic", "knn"]  # 5 + 8 grid points
    workers = [_start_worker(pg_database, "grid", search="grid", models=models) for _ in range(2)]
    _wait_ready(workers)
    runner = AutoMLRunner("target", models=models, search="grid", n_trials=1000, storage=pg_database,
                          study_name="grid", **FAST).fit(cancer)
    reports = [_report(p) for p in workers]
    grid_size = len(runner.engine_.space.grid_points)
    study = optuna.load_study(study_name="grid", storage=pg_database)
    points = [t.params["grid_point"] for t in study.trials if "grid_point" in t.params]
    assert sorted(points) == list(range(grid_size))  # every grid point, each exactly once
    assert all(t.state is TrialState.COMPLETE for t in study.trials if "grid_point" in t.params)
    workers_seen = {t.user_attrs["worker"] for t in study.trials if "grid_point" in t.params}
    assert len(workers_seen) >= 2  # really shared
    assert all(r["stopped_because"] == "grid done" for r in reports)
    assert sum(r["completed"] for r in reports) + sum(
        1 for t in study.trials if t.user_attrs.get("worker", "").endswith(f":{os.getpid()}")
        and "grid_point" in t.params) == grid_size


def test_a_bad_storage_url_names_the_host_and_never_the_password(postgres: PostgresServer) -> None:
    wrong = "Wr0ng-" + "pw" * 4
    cases = [
        (postgres.url("postgres", password=wrong), "password authentication failed"),
        (postgres.url("no_such_db"), 'database "no_such_db" does not exist'),
        (f"postgresql+psycopg2://studio:{wrong}@127.0.0.1:{free_port()}/optuna", "connection refused"),
        (f"postgresql+psycopg2//studio:{wrong}@127.0.0.1/optuna", "not a database URL"),
    ]
    for url, reason in cases:
        with pytest.raises(ConfigError) as caught:
            open_storage(url, Settings())
        message = str(caught.value)
        assert reason in message and "\n" not in message
        assert wrong not in message and postgres.password not in message
        assert "studio:***@127.0.0.1" in message
    port = free_port()
    with pytest.raises(ConfigError, match=rf"127\.0\.0\.1:{port}/optuna: connection refused") as caught:
        AutoMLRunner("target", models=["logistic"], n_trials=1, storage=f"postgresql+psycopg2://studio:{wrong}@"
                     f"127.0.0.1:{port}/optuna", study_name="s", **FAST).fit(load_breast_cancer(as_frame=True).frame)
    assert wrong not in str(caught.value)


def test_a_worker_never_creates_a_study_and_a_pinned_study_refuses_other_settings(pg_database: str,  # type: ignore[no-untyped-def]
                                                                                  cancer) -> None:
    def driver(study: str, **config) -> SearchDriver:  # type: ignore[no-untyped-def]
        engine = TabularEngine("target", preset="fast", models=["logistic"], ensemble="none", validation="holdout")
        return SearchDriver(engine, DriverConfig(preset="fast", n_trials=1, storage=pg_database, study_name=study,
                                                 **config))

    driver("pinned", study_attrs={"data": "lake:cancer@v1", "recipe": {"metric": "roc_auc"}}).fit(TabularData(cancer))
    with pytest.raises(ConfigError, match=r"study 'missing' does not exist in this storage \(studies there: "
                                          r"'pinned'\)"):
        driver("missing").search_only(TabularData(cancer))
    assert optuna.get_all_study_names(pg_database) == ["pinned"]  # the worker created nothing
    with pytest.raises(ConfigError, match=r"study 'pinned' was created for data \"lake:cancer@v1\", not "
                                          r"\"lake:cancer@v2\""):
        driver("pinned", study_attrs={"data": "lake:cancer@v2"}).search_only(TabularData(cancer))
    with pytest.raises(ConfigError, match=r"created for recipe \{\"metric\": \"roc_auc\"\}, not "
                                          r"\{\"metric\": \"accuracy\"\}"):
        driver("pinned", study_attrs={"recipe": {"metric": "accuracy"}}).fit(TabularData(cancer))
    # the search is closed (the coordinator finished): a worker does not start
    report = driver("pinned", study_attrs={"data": "lake:cancer@v1"}).search_only(TabularData(cancer))
    assert (report.trials_run, report.stopped_because) == (0, "search closed")
