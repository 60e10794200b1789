"""Races between processes on the embedded SQLite study file (the one-machine default of --study).

* The first use of an empty database creates Optuna's tables; processes started together (three
  ``automlops worker`` processes, say) race to create them, and the losers must retry and find them
  rather than exit with "table ... already exists".
* Taking a queued trial must be atomic: SQLite ignores ``SELECT ... FOR UPDATE``, so without
  immediate transactions two processes take the same waiting trial and the second fails with
  "Cannot tell a COMPLETE trial" (seen in the shared-study test before the fix).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import optuna

REPO = Path(__file__).resolve().parents[2]
OPEN = """
import sys, time
from automlops.search.storage import open_storage
start = float(sys.argv[2])  # start together: sleep (no CPU taken from the rest), then spin the last 20 ms
time.sleep(max(0.0, start - time.time() - 0.02))
while time.time() < start:
    pass
open_storage(sys.argv[1]).get_all_studies()
print("ok")
"""


def test_processes_opening_a_fresh_sqlite_study_file_at_once_all_succeed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hpo.db'}"
    start = time.time() + 6.0  # after every interpreter has imported optuna and sqlalchemy
    procs = [subprocess.Popen([sys.executable, "-c", OPEN, url, str(start)], cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    results = [p.communicate(timeout=120) for p in procs]
    failures = [err.strip().splitlines()[-1] for p, (_, err) in zip(procs, results, strict=True) if p.returncode]
    assert not failures, failures
    assert all(out.strip() == "ok" for out, _ in results)


POP = """
import sys, time
import optuna
from automlops.search.storage import open_storage
optuna.logging.set_verbosity(optuna.logging.ERROR)
study = optuna.load_study(study_name="q", storage=open_storage(sys.argv[1]))
start = float(sys.argv[2])
time.sleep(max(0.0, start - time.time() - 0.02))
while time.time() < start:
    pass
ran = []
def objective(trial):
    point = trial.suggest_int("point", 0, 10_000)
    if "fixed_params" in study._storage.get_trial_system_attrs(trial._trial_id):  # a queued trial (not a fresh draw after the queue emptied)
        ran.append(point)
    return 0.0
while any(t.state == optuna.trial.TrialState.WAITING for t in study.get_trials(deepcopy=False)):
    study.optimize(objective, n_trials=1)
print(" ".join(map(str, ran)))
"""


def test_processes_taking_queued_trials_from_sqlite_never_take_the_same_one(tmp_path: Path) -> None:
    """Taking a waiting trial is atomic on SQLite too, so a queued grid point runs exactly once."""
    from automlops.search.storage import open_storage

    url = f"sqlite:///{tmp_path / 'hpo.db'}"
    study = optuna.create_study(study_name="q", storage=open_storage(url))
    for point in range(120):
        study.enqueue_trial({"point": point})
    start = time.time() + 6.0
    procs = [subprocess.Popen([sys.executable, "-c", POP, url, str(start)], cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [p.communicate(timeout=180) for p in procs]
    failures = [err.strip().splitlines()[-1] for p, (_, err) in zip(procs, results, strict=True) if p.returncode]
    assert not failures, failures
    ran = sorted(int(x) for out, _ in results for x in out.split())
    assert ran == list(range(120))  # every queued point once: none lost, none twice
    assert sum(1 for out, _ in results if out.split()) >= 2  # the processes really shared the queue
