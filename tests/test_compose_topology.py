"""The production stack of docker-compose.yml, run as plain processes on 127.0.0.1 (no Docker).

The compose file is the one source of truth: every command, variable, volume and healthcheck
below is read from it (automlops.deploy.compose: Compose's interpolation, then ``service:port``
→ ``127.0.0.1:<free port>`` and each volume → a folder). PostgreSQL is a real throwaway cluster
(tests/postgres.py) on which deploy/postgres-init.sql itself creates the databases; ``mlflow
server`` runs on it; the dashboard, the API and one worker start as the compose file starts
them, in ``depends_on`` order, each once the services it depends on pass *their own compose
healthcheck*. A coordinator (the README's ``docker compose run --rm worker automlops train ...``,
i.e. the worker service's environment) trains a shared study; then:

* the run is in the MLflow server's PostgreSQL store, its artifacts on the artifacts volume;
* the worker ran trials of that study (its ``--json`` summary, and the study in PostgreSQL);
* the API (non-root in the image; here the same command) serves the new model over HTTP with
  the x-api-key, and its predictions equal ``automlops predict``'s on the same rows.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from automlops.config import REPO_ROOT
from automlops.deploy.compose import Service, Stack, load_stack
from tests.postgres import PostgresServer, pg_bindir, run_postgres
from tests.servers import free_port, stop_process

pytestmark = pytest.mark.integration

KEY = "topology-key-" + "k" * 32
STUDY = "topology"
BIN = Path(sys.executable).parent  # the image's PATH holds the studio's python and its console scripts


class Topology:
    """The compose services as processes: start in dependency order, gate on each healthcheck."""

    def __init__(self, stack: Stack, ports: dict[str, int], mounts: dict[str, Path], logs: Path) -> None:
        self.stack, self.ports, self.mounts, self.logs = stack, ports, mounts, logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def service(self, name: str) -> Service:
        return self.stack.localize(name, self.ports, self.mounts)

    def env(self, name: str) -> dict[str, str]:
        """A container's environment: the image's basics plus the service's variables, nothing of ours."""
        base = {k: os.environ[k] for k in ("HOME", "LANG", "LC_ALL", "TMPDIR") if k in os.environ}
        path = os.pathsep.join([str(BIN), str(pg_bindir() or ""), "/usr/local/bin", "/usr/bin", "/bin"])
        return base | {"PATH": path, "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"} | \
            {k: v for k, v in self.service(name).environment.items() if v != ""}

    def argv(self, command: list[str]) -> list[str]:
        exe = shutil.which(command[0], path=str(BIN)) or shutil.which(command[0])
        assert exe, f"{command[0]} is not installed"
        return [exe, *command[1:]]

    def start(self, name: str, extra: list[str] | None = None) -> subprocess.Popen[bytes]:
        for dep, condition in self.stack.services[name].depends_on.items():
            assert condition == "service_healthy"
            self.wait_healthy(dep)
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(self.argv(self.service(name).command + (extra or [])), env=self.env(name),
                                cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)  # cwd: the image's WORKDIR
        self.procs[name] = proc
        return proc

    def healthy(self, name: str) -> bool:
        """Run the service's compose healthcheck (``CMD`` or ``CMD-SHELL``), as Docker would in its container."""
        test = self.service(name).healthcheck
        argv = ["/bin/sh", "-c", test[1]] if test[0] == "CMD-SHELL" else self.argv(test[1:])
        done = subprocess.run(argv, env=self.env(name), cwd=REPO_ROOT, capture_output=True, timeout=30)
        return done.returncode == 0

    def wait_healthy(self, name: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not self.healthy(name):
            proc = self.procs.get(name)
            assert proc is None or proc.poll() is None, f"{name} exited:\n{self.log(name)}"
            assert time.monotonic() < deadline, f"{name} never passed its healthcheck:\n{self.log(name)}"
            time.sleep(0.5)

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else "(no log)"

    def stop(self) -> None:
        """SIGTERM to every service at once (as ``docker compose down``), SIGKILL after 15 s."""
        running = [proc for proc in self.procs.values() if proc.poll() is None]
        for proc in running:
            proc.terminate()
        deadline = time.monotonic() + 15
        for proc in running:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                stop_process(proc)


def _run_init_sql(pg: PostgresServer, stack: Stack) -> set[str]:
    """Execute the postgres service's /docker-entrypoint-initdb.d/ script, as the image's entrypoint does."""
    import psycopg2

    (init,) = [REPO_ROOT / src for target, src in stack.services["postgres"].mounts.items()
               if target.startswith("/docker-entrypoint-initdb.d/")]
    sql = "\n".join(line for line in init.read_text().splitlines() if not line.lstrip().startswith("--"))
    conn = psycopg2.connect(host=pg.host, port=pg.port, user=pg.user, password=pg.password, dbname="postgres")
    conn.autocommit = True  # CREATE DATABASE cannot run inside a transaction (psql's default: autocommit)
    try:
        with conn.cursor() as cur:
            for statement in filter(str.strip, sql.split(";")):
                cur.execute(statement)
    finally:
        conn.close()
    return set(re.findall(r"CREATE DATABASE (\w+)", sql))


def _query(pg: PostgresServer, database: str, sql: str, *params: object) -> list[tuple[object, ...]]:
    import psycopg2

    conn = psycopg2.connect(host=pg.host, port=pg.port, user=pg.user, password=pg.password, dbname=database)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall())
    finally:
        conn.close()


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[tuple[Topology, PostgresServer]]:
    user = load_stack({"POSTGRES_PASSWORD": "-", "API_KEY": "-"}).services["postgres"].environment["POSTGRES_USER"]
    with run_postgres(tmp_path / "pg", user=user) as pg:
        dotenv = {"POSTGRES_PASSWORD": pg.password, "API_KEY": KEY, "HPO_STUDY": STUDY}
        stack = load_stack(dotenv)
        assert _run_init_sql(pg, stack) >= {"mlflow", "optuna"}
        ports = {"postgres": pg.port} | {name: free_port() for name in ("mlflow", "api", "dashboard")}
        mounts = {volume: tmp_path / volume for volume in stack.volumes}
        for folder in mounts.values():
            folder.mkdir()
        logs = tmp_path / "logs"
        logs.mkdir()
        topo = Topology(stack, ports, mounts, logs)
        try:
            yield topo, pg
        finally:
            topo.stop()


def test_train_through_the_stack_and_predict_through_the_api(topology: tuple[Topology, PostgresServer],
                                                              tmp_path: Path) -> None:
    topo, pg = topology
    topo.wait_healthy("postgres")  # pg_isready, as compose runs it
    topo.start("mlflow")  # its depends_on (postgres) passed its healthcheck
    worker = topo.start("worker", ["--json"])  # waits for the study (--wait), as a scaled container does
    topo.start("api")
    topo.start("dashboard")
    for name in ("mlflow", "worker", "api", "dashboard"):
        topo.wait_healthy(name)

    frame = load_breast_cancer(as_frame=True).frame
    data = tmp_path / "tumours.csv"
    frame.to_csv(data, index=False)
    coordinator_env = topo.env("worker")  # docker compose run --rm worker automlops train ...
    storage = coordinator_env["HPO_STORAGE_URL"]
    train = subprocess.run(
        topo.argv(["automlops", "train", str(data), "--target", "target", "--name", "tumours", "--study", STUDY,
                   "--storage", storage, "--preset", "fast", "--models", "logistic,decision_tree",
                   "--n-trials", "12", "--json"]),  # a few seconds: the worker, polling every 0.2 s, joins in them
        env=coordinator_env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=180)
    assert train.returncode == 0, train.stdout[-3000:] + train.stderr[-3000:] + topo.log("worker")
    summary = json.loads(train.stdout.strip().splitlines()[-1])
    assert pg.password not in train.stdout + train.stderr
    expected_ref = f"{summary['name']}@v{summary['version']}"
    rows = frame.drop(columns="target").sample(40, random_state=1)
    rows_csv = tmp_path / "rows.csv"
    rows.to_csv(rows_csv, index=False)
    predict = subprocess.Popen(topo.argv(["automlops", "predict", str(rows_csv), "--model", expected_ref]),
                               env=topo.env("api"), cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)  # the CLI's answer, computed while the checks below run
    topo.procs["predict"] = predict  # stopped with the stack if a check fails first

    # the worker stops by itself once the coordinator closes the search, having run trials of the study
    try:
        worker.wait(60)
    except subprocess.TimeoutExpired:
        pytest.fail("the worker did not stop after the search closed:\n" + topo.log("worker"))
    assert worker.returncode == 0, topo.log("worker")
    report = json.loads(topo.log("worker").strip().splitlines()[-1])
    assert report["study"] == STUDY and report["trials_run"] >= 1 and report["completed"] >= 1, report
    numbers = _query(pg, "optuna", "SELECT t.number FROM trials t JOIN studies s USING (study_id) "
                                   "WHERE s.study_name = %s", STUDY)
    assert len(numbers) == len({n for (n,) in numbers}) > report["trials_run"]  # the coordinator's trials too

    # the run is in the MLflow server's PostgreSQL store, its artifacts on the artifacts volume
    assert summary["run_id"], train.stderr
    runs = _query(pg, "mlflow", "SELECT status FROM runs WHERE run_uuid = %s", summary["run_id"])
    assert runs == [("FINISHED",)], runs
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=f"http://127.0.0.1:{topo.ports['mlflow']}")
    assert client.get_run(summary["run_id"]).info.status == "FINISHED"
    (location,) = _query(pg, "mlflow", "SELECT artifact_location FROM experiments WHERE name = %s",
                         coordinator_env.get("AUTOMLOPS_EXPERIMENT", "automlops"))[0]
    assert str(location).startswith("mlflow-artifacts:"), location  # proxied by the server (--serve-artifacts)
    assert any(p.is_file() for p in topo.mounts["mlartifacts"].rglob("*")), "no artifact reached the volume"

    # the API serves that version over HTTP, and predicts what `automlops predict` predicts
    base = f"http://127.0.0.1:{topo.ports['api']}"
    served = {"name": summary["name"], "version": summary["version"], "task": "classification"}
    deadline = time.monotonic() + 90  # the first model load imports scikit-learn & co. in the API process
    while (ready := httpx.get(f"{base}/ready", timeout=5)).status_code != 200 or ready.json()["model"] != served:
        assert time.monotonic() < deadline, f"API not serving {expected_ref}: {ready.text}\n{topo.log('api')}"
        time.sleep(0.3)
    records = json.loads(rows.to_json(orient="records"))
    assert httpx.post(f"{base}/predict", json={"records": records}, timeout=30).status_code == 401  # no key
    answer = httpx.post(f"{base}/predict", json={"records": records}, headers={"x-api-key": KEY}, timeout=30)
    assert answer.status_code == 200, answer.text
    out, err = predict.communicate(timeout=120)
    assert predict.returncode == 0, err
    cli = pd.read_csv(io.StringIO(out))["prediction"].tolist()
    assert answer.json()["predictions"] == cli
    assert answer.json()["model"] == served
    for name in ("mlflow", "worker", "api", "dashboard"):  # no service logged the database password
        assert pg.password not in (topo.logs / f"{name}.log").read_text(errors="replace"), name
