"""Does a second process speed a search up? Trials completed per minute with 1 and 2 processes on one study.

A throwaway PostgreSQL server (``tests/postgres.py``: ``initdb`` + ``pg_ctl`` on a free port) holds
the study. Each run is the real command line on a fresh database and a fresh studio home:
``automlops train cancer.csv --study S --storage URL --time-budget T`` (the coordinator, which
searches too), plus for 2 processes one ``automlops worker --study S --storage URL`` started at the
same time. Same data (scikit-learn's breast-cancer table, 569 × 30), same fixed, single-threaded
model set (logistic, k-NN, decision tree, SVM: one core per process, so the processes, not the
libraries, share the cores), random search (the mix of models stays the same all along, where TPE
would drift towards cheaper or dearer ones), 5-fold cross-validation per trial.

**Throughput** is measured on the trials' own timestamps in the database, over the window when
*every* process was searching (from the last process's first trial start to the first process's
last trial end): start-up, data loading, the coordinator's refit and saving are left out, so the
number is the search's steady rate. Each setting runs ``--repeats`` times (the two settings
alternate); the table shows medians, and the **ratio** is 2-process over 1-process throughput: the ratio
of the medians, and the median of the ratios of back-to-back pairs (a change of the machine's load
between pairs cancels out).

    python benchmarks/distributed_search.py            # 60 s budgets, 3 repeats (~9 min)
    python benchmarks/distributed_search.py --quick    # 40 s budgets, 3 repeats (~6 min)

Results go to ``benchmarks/results/distributed_search[_quick].json``. On a 2-core machine the ideal
ratio is 2.0; what is lost goes to the database round-trips of each trial (Optuna reads the
study's trials to sample, writes params, attributes, heartbeats and the result), to the sampler's
work, and to whatever else the machine is running.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.postgres import PostgresServer, pg_bindir, run_postgres  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
MODELS = "logistic,knn,decision_tree,svm"
_SCRIPT = Path(sys.executable).parent / "automlops"
COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "automlops.cli"]


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "AUTOMLOPS_", "HPO_"))}
    env.update(AUTOMLOPS_HOME=str(home), PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               MKL_NUM_THREADS="1")
    return env


def one_run(pg: PostgresServer, root: Path, csv: Path, processes: int, budget: float, index: int) -> dict[str, Any]:
    """One coordinator (+ ``processes - 1`` workers) on a fresh study; the steady-state rate from the DB."""
    import optuna

    name = f"bench_{processes}_{index}"
    url, home = pg.create_database(name), root / name
    home.mkdir()
    coordinator = [*COMMAND, "train", str(csv), "--target", "target", "--preset", "fast", "--models", MODELS,
                   "--search", "random", "--ensemble", "none", "--study", "bench", "--storage", url,
                   "--time-budget", f"{budget:g}", "--json"]
    worker = [*COMMAND, "worker", "--study", "bench", "--storage", url, "--wait", "120", "--json"]
    procs = [subprocess.Popen(coordinator, cwd=home, env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)]
    procs += [subprocess.Popen(worker, cwd=home, env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True) for _ in range(processes - 1)]
    for proc in procs:
        out, err = proc.communicate(timeout=budget + 300)
        if proc.returncode != 0:
            raise RuntimeError(f"{proc.args[1]} failed ({proc.returncode}): {err[-1500:]}")
    trials = optuna.load_study(study_name="bench", storage=url).get_trials(deepcopy=False)
    return _steady_rate(trials, processes)


def _steady_rate(trials: list[Any], processes: int) -> dict[str, Any]:
    import optuna

    done = [t for t in trials if t.state is optuna.trial.TrialState.COMPLETE and t.datetime_start
            and t.datetime_complete and "worker" in t.user_attrs]
    by_process: dict[str, list[Any]] = {}
    for t in done:
        by_process.setdefault(t.user_attrs["worker"], []).append(t)
    if len(by_process) < processes:
        raise RuntimeError(f"only {len(by_process)} of {processes} processes completed trials")
    start = max(min(t.datetime_start for t in ts) for ts in by_process.values())
    end = min(max(t.datetime_complete for t in ts) for ts in by_process.values())
    window = (end - start).total_seconds()
    inside = [t for t in done if start <= t.datetime_start and t.datetime_complete <= end]
    if window <= 0 or not inside:
        raise RuntimeError("the processes never searched at the same time; use a longer --budget")
    durations = [(t.datetime_complete - t.datetime_start).total_seconds() for t in inside]
    return {"processes": processes, "window_s": round(window, 2), "trials_in_window": len(inside),
            "trials_per_min": round(60 * len(inside) / window, 2), "median_trial_s": round(statistics.median(durations), 3),
            "trials_total": len(trials), "per_process": {k: len(v) for k, v in sorted(by_process.items())}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40 s budgets instead of 60 s")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--budget", type=float, help="the coordinator's --time-budget (s)")
    args = parser.parse_args()
    if pg_bindir() is None:
        print("distributed_search: PostgreSQL is not installed (apt-get install postgresql)", file=sys.stderr)
        return 2
    budget = args.budget or (40.0 if args.quick else 60.0)
    from sklearn.datasets import load_breast_cancer

    runs: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-distributed-") as tmp:
        root = Path(tmp)
        os.chmod(root, 0o755)  # the postgres user reaches its cluster below
        csv = root / "cancer.csv"
        load_breast_cancer(as_frame=True).frame.to_csv(csv, index=False)
        with run_postgres(root / "pg") as pg:
            for repeat in range(args.repeats):
                for processes in (1, 2):  # alternate, so a change of the machine's load hits both
                    run = one_run(pg, root, csv, processes, budget, repeat)
                    runs[processes].append(run)
                    print(f"repeat {repeat + 1}: {processes} process(es): {run['trials_per_min']:.1f} trials/min "
                          f"({run['trials_in_window']} in {run['window_s']:.0f} s, median trial "
                          f"{run['median_trial_s']:.2f} s)", flush=True)
    rates = {p: statistics.median(r["trials_per_min"] for r in rs) for p, rs in runs.items()}
    trial_s = {p: statistics.median(r["median_trial_s"] for r in rs) for p, rs in runs.items()}
    ratio = rates[2] / rates[1]
    paired = statistics.median(two["trials_per_min"] / one["trials_per_min"] for one, two in zip(runs[1], runs[2], strict=True))
    print(f"\n{os.cpu_count()} CPU(s); coordinator budget {budget:g} s; models {MODELS}; random search; "
          f"medians of {args.repeats}")
    print(f"{'processes':<10}{'trials/min':>12}{'median trial (s)':>18}")
    for p in (1, 2):
        print(f"{p:<10}{rates[p]:>12.1f}{trial_s[p]:>18.2f}")
    print(f"ratio 2/1: {ratio:.2f} of the medians, {paired:.2f} median of the back-to-back pairs (ideal "
          f"{min(2, os.cpu_count() or 1)}.0); {time.perf_counter() - started:.0f} s in all")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / ("distributed_search_quick.json" if args.quick else "distributed_search.json")
    out.write_text(json.dumps({"cpus": os.cpu_count(), "budget_s": budget, "models": MODELS, "repeats": args.repeats,
                               "trials_per_min": {str(k): v for k, v in rates.items()},
                               "median_trial_s": {str(k): v for k, v in trial_s.items()}, "ratio": round(ratio, 3), "paired_ratio": round(paired, 3),
                               "runs": runs}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
