"""Several processes search one study on a shared SQLite storage, and the ensemble and refit still work.

Everything a finishing process needs from a trial (the candidate, its out-of-fold predictions) is read
back from the study, so trials run by *another* process can win, be refitted and join an ensemble.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import optuna
import pytest
from sklearn.datasets import load_breast_cancer, load_wine

from automlops.core.metrics import get_metric, score
from automlops.errors import ConfigError
from automlops.tabular import AutoMLRunner
from automlops.tabular.evaluate import predict_outputs

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
MODELS = ["logistic", "knn", "decision_tree"]
WORKER = textwrap.dedent("""
    import json, sys
    from sklearn.datasets import load_breast_cancer
    from automlops.tabular import AutoMLRunner
    df = load_breast_cancer(as_frame=True).frame
    r = AutoMLRunner("target", preset="fast", models={models!r}, ensemble="voting", n_trials=int(sys.argv[2]),
                     storage=sys.argv[1], study_name="shared").fit(df)
    print(json.dumps({{"best": r.best_model_name_, "n_trials": len(r.study_.trials), "val": r.val_score_}}))
""").format(models=MODELS)


def _worker(storage: str, n_trials: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-c", WORKER, storage, str(n_trials)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)


def _finish(proc: subprocess.Popen[str]) -> dict:
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err[-2000:]
    return json.loads(out.strip().splitlines()[-1])


def test_a_trial_run_by_another_process_is_refitted_and_ensembled(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    other = _finish(_worker(storage, 6))
    assert other["n_trials"] == 6
    df = load_breast_cancer(as_frame=True).frame
    runner = AutoMLRunner("target", preset="fast", models=MODELS, ensemble="voting", n_trials=1,
                          storage=storage, study_name="shared").fit(df)
    trials = runner.study_.get_trials(deepcopy=False)
    assert len(trials) == 7 and len({t.number for t in trials}) == 7
    mine = {t.number for t in trials if t.user_attrs.get("worker", "").endswith(f":{os.getpid()}")}
    assert len(mine) == 1  # this process ran one trial; the six others come from the other process
    members = runner.leaderboard_.loc[runner.leaderboard_["model"].str.startswith("voting("), "params"].iloc[0]
    assert sorted(members["members"]) == sorted(MODELS)  # every member's out-of-fold rows came from the study
    best_single = runner.leaderboard_[~runner.leaderboard_["model"].str.startswith("voting(")].iloc[0]
    assert int(best_single["best_trial"]) not in mine  # the winner was found by the other process
    # the final model was really rebuilt and refitted: its test score is what it scores on the test rows
    test = df.iloc[runner.test_rows_]
    pred, proba = predict_outputs(runner.result_.artifact.scored_obj, test[runner.plan_.input_columns], runner.problem_)
    metric = get_metric(runner.problem_.metric)
    assert score(metric, test["target"].to_numpy(), pred, proba, runner.problem_.classes) == \
        pytest.approx(runner.test_score_, abs=1e-12)


def test_two_processes_search_one_study_at_once(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    optuna.create_study(storage=storage, study_name="shared", direction="maximize")  # created once, up front
    procs = [_worker(storage, 5), _worker(storage, 5)]
    results = [_finish(p) for p in procs]
    study = optuna.load_study(study_name="shared", storage=storage)
    numbers = [t.number for t in study.trials]
    assert len(numbers) == len(set(numbers)) >= 10  # one study, unique trial numbers, no trial lost
    assert {t.user_attrs["worker"] for t in study.trials if "worker" in t.user_attrs}.__len__() == 2
    for r in results:
        assert r["best"].startswith("voting(") or r["best"] in MODELS
        assert np.isfinite(r["val"])


def test_a_worker_with_other_data_is_refused(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    cancer = load_breast_cancer(as_frame=True).frame
    AutoMLRunner("target", preset="fast", models=MODELS, n_trials=2, storage=storage, study_name="s").fit(cancer)
    wine = load_wine(as_frame=True).frame
    with pytest.raises(ConfigError, match="study 's' was created for other data"):
        AutoMLRunner("target", preset="fast", models=MODELS, n_trials=2, storage=storage, study_name="s").fit(wine)
