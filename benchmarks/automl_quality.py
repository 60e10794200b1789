"""AutoML quality at an equal time budget: our presets against FLAML and a plain baseline.

What is measured, and why
-------------------------
For every demo dataset (``automlops.demo.DEMO_DATASETS``) one train/test split is made (25 % test,
stratified for classification, seed 0) and written to two CSV files that **every contender
shares**: the same rows to learn from, the same untouched rows to be judged on.

Contenders, each run as its own process, one after the other (never in parallel, so that one
does not slow the other down):

* ``fast`` and ``medium`` — the studio exactly as a user runs it:
  ``automlops train TRAIN.csv --target T --preset P --time-budget B --json`` with
  ``AUTOMLOPS_HOME`` pointing at a fresh, empty folder. Its wall time therefore includes the
  interpreter start-up and imports, reading the CSV into the lake, the search, the MLflow logging
  (creating the SQLite store; ``--warm-home`` creates it beforehand, untimed, to measure a returning
  user instead) and saving the model: the budget is a promise about the whole command, not about
  the search loop. The saved model (``model_path`` of the JSON line) is then
  loaded from the model store (SHA-checked) and predicts the shared test CSV. The CLI keeps 20 %
  of the train CSV aside as its own test rows; ``--refit-full`` then refits the chosen pipeline on
  all train rows, as FLAML does by default (``retrain_full``), so both learn from the same rows.
* ``flaml`` — ``flaml.AutoML().fit(X, y, task, time_budget=B, metric=<same metric>, seed=0)`` in a
  separate virtual environment ``.venv-flaml`` (FLAML pins ``xgboost<3``, which conflicts with
  the studio's), created on first use; see ``benchmarks/_flaml_runner.py``.
* ``hgb`` — a default scikit-learn HistGradientBoosting model with ordinal-encoded text and
  dates as integers, fitted once, with no budget: the "no AutoML" floor
  (``benchmarks/_hgb_runner.py``).

Every contender's test predictions/probabilities are scored in this process by the same function,
:func:`automlops.core.metrics.score`, with the studio's default metric for the task (ROC-AUC for
binary classification, log-loss for multi-class, RMSE for regression). Wall time is measured from
outside (process start to exit) and peak memory is the largest sum of the resident set sizes of
the process and all its children, polled every 0.1 s with psutil.

Verdict rule: a preset *matches* FLAML when its test score is within 0.002 (absolute) of FLAML's
for bounded, higher-is-better metrics (ROC-AUC, accuracy, F1, R²) or within 1 % of FLAML's score
(relative) for the unbounded lower-is-better ones (log-loss, RMSE, MAE); better than that is
*beats*, worse is *loses*. The time target is wall time ≤ 1.1 × budget.

Usage::

    .venv/bin/python benchmarks/automl_quality.py                 # 6 datasets × 30/60 s × 4 contenders
    .venv/bin/python benchmarks/automl_quality.py --quick         # budget 10 s on iris and diabetes
    .venv/bin/python benchmarks/automl_quality.py --datasets wine --budgets 30 --contenders fast,flaml

Results are printed as Markdown and written to ``benchmarks/results/automl_quality-<time>.{json,md}``.
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
from collections.abc import Sequence
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

from automlops.core.metrics import MetricSpec, get_metric, score  # noqa: E402
from automlops.core.problem import infer_problem  # noqa: E402
from automlops.demo import DEMO_DATASETS  # noqa: E402

ALL_CONTENDERS = ("fast", "medium", "flaml", "hgb")
PRESETS = ("fast", "medium")
DEFAULT_BUDGETS = (30.0, 60.0)
QUICK_BUDGETS = (10.0,)
QUICK_DATASETS = ("iris", "diabetes")
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
VERDICT_RULE = (f"'matches' = within {ABS_TOLERANCE} absolute of FLAML's test score for bounded higher-is-better "
                f"metrics ({', '.join(sorted(BOUNDED_METRICS))}), within {REL_TOLERANCE:.0%} relative of FLAML's "
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


def prepare_split(name: str, workdir: Path) -> Split:
    from sklearn.model_selection import train_test_split

    spec = DEMO_DATASETS[name]
    frame = spec.loader()
    y = frame[spec.target]
    stratify = y if spec.task.value == "classification" else None
    train, test = train_test_split(frame, test_size=TEST_SIZE, random_state=SEED, stratify=stratify)
    folder = workdir / name
    folder.mkdir(parents=True, exist_ok=True)
    train_csv, test_csv = folder / f"{name}.csv", folder / f"{name}_test.csv"
    train.to_csv(train_csv, index=False)
    test.to_csv(test_csv, index=False)
    # Read back what was written, so that the truth is exactly what every contender sees.
    train_back, test_back = read_table(train_csv), read_table(test_csv)
    problem = infer_problem(train_back, spec.target, task=spec.task)
    return Split(name, spec.target, spec.task.value, get_metric(problem.metric), tuple(problem.classes),
                 train_csv, test_csv, test_back[spec.target].to_numpy(), len(train_back), len(test_back))


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


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    try:
        members = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for member in members:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            continue
    return total


def run_measured(cmd: Sequence[str], *, env: dict[str, str], cwd: Path, timeout: float, log_prefix: Path) -> Measured:
    """Run ``cmd`` to completion; wall time from outside and peak RSS of its process tree."""
    out_path, err_path = log_prefix.with_suffix(".stdout"), log_prefix.with_suffix(".stderr")
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        popen = subprocess.Popen(list(cmd), stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, cwd=cwd)
        proc = psutil.Process(popen.pid)
        peak, timed_out = 0, False
        while True:
            peak = max(peak, _tree_rss(proc))
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
    return Measured(popen.returncode, wall, peak / 2**20, timed_out,
                    out_path.read_text(errors="replace"), err_path.read_text(errors="replace"))


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "AUTOMLOPS_"))}
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


def run_ours(split: Split, preset: str, budget: float, workdir: Path, repeat: int, timeout: float,
             warm_home: bool = False) -> RunResult:
    home = Path(tempfile.mkdtemp(prefix=f"home-{preset}-", dir=workdir))
    if warm_home:  # a returning user: the MLflow store already exists (created here, untimed)
        subprocess.run([sys.executable, "-c", WARM_HOME_CODE], env=_clean_env(AUTOMLOPS_HOME=str(home)), cwd=home,
                       check=True, capture_output=True)
    cmd = [*_automlops_command(), "train", str(split.train_csv), "--target", split.target, "--preset", preset,
           "--time-budget", f"{budget:g}", "--refit-full", "--json"]
    m = run_measured(cmd, env=_clean_env(AUTOMLOPS_HOME=str(home)), cwd=home, timeout=timeout,
                     log_prefix=home / "train")
    result = RunResult(split.dataset, split.metric.name, budget, preset, repeat, None, m.wall_s, m.peak_mb,
                       detail={"load1": os.getloadavg()[0]})
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
                workdir: Path, repeat: int, timeout: float) -> RunResult:
    folder = Path(tempfile.mkdtemp(prefix=f"{contender}-", dir=workdir))
    out = folder / "predictions.json"
    cmd = [python, str(BENCH_DIR / script), str(split.train_csv), str(split.test_csv), str(out),
           "--target", split.target, "--task", split.task, "--seed", str(SEED), *extra]
    m = run_measured(cmd, env=_clean_env(), cwd=folder, timeout=timeout, log_prefix=folder / contender)
    result = RunResult(split.dataset, split.metric.name, budget, contender, repeat, None, m.wall_s, m.peak_mb,
                       detail={"load1": os.getloadavg()[0]})
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


def run_hgb(split: Split, workdir: Path, repeat: int, timeout: float) -> RunResult:
    return _run_script(split, "hgb", sys.executable, "_hgb_runner.py", [], None, workdir, repeat, timeout)


def run_flaml(split: Split, budget: float, python: str, workdir: Path, repeat: int, timeout: float) -> RunResult:
    metric = FLAML_METRICS.get(split.metric.name)
    if metric is None:
        return RunResult(split.dataset, split.metric.name, budget, "flaml", repeat, None, 0.0, 0.0,
                         error=f"no FLAML name for metric {split.metric.name}")
    return _run_script(split, "flaml", python, "_flaml_runner.py",
                       ["--metric", metric, "--time-budget", f"{budget:g}"], budget, workdir, repeat, timeout)


def ensure_flaml_venv(venv: Path) -> tuple[str, str]:
    """The FLAML interpreter and FLAML's version, creating ``venv`` on first use."""
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import flaml, flaml.automl, pandas, sklearn, psutil; print(flaml.__version__)"]

    def version() -> str | None:
        if not python.exists():
            return None
        done = subprocess.run(probe, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else None

    found = version()
    if found:
        return str(python), found
    base = shutil.which("python3.11") or shutil.which("python3") or sys.executable
    print(f"creating {venv} for FLAML ({' '.join(FLAML_REQUIREMENTS)}); this takes a minute or two",
          file=sys.stderr, flush=True)
    if not python.exists():
        subprocess.run([base, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *FLAML_REQUIREMENTS], check=True)
    found = version()
    if not found:
        raise RuntimeError(f"FLAML is still not importable from {python}")
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
        for preset in PRESETS:
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
    order = {c: i for i, c in enumerate(("hgb", "fast", "medium", "flaml"))}
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
    presets = [p for p in PRESETS if any(p in e["presets"] for e in entries)]
    head = ["dataset", "budget s", "metric", "flaml"] + [f"{p} vs flaml" for p in presets] + \
        ["best preset vs flaml"] + [f"{p} wall ≤ {WALL_TOLERANCE}×B" for p in presets]
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
        lines.append(f"Quality target (best preset matches or beats FLAML): {len(good)} of {len(with_flaml)} "
                     "dataset × budget cells.")
        misses = [f"{e['dataset']}@{e['budget']:g}s" for e in with_flaml if e not in good]
        if misses:
            lines.append(f"Below FLAML: {', '.join(misses)}.")
    if walls:
        lines.append(f"Wall target (≤ {WALL_TOLERANCE} × budget): {len(wall_ok)} of {len(walls)} preset runs.")
        over = [f"{e['dataset']}@{e['budget']:g}s {p} {v['wall_s']:.1f} s" for e, p, v in walls if not v["wall_ok"]]
        if over:
            lines.append(f"Over: {', '.join(over)}.")
    return lines


def environment(flaml_version: str | None) -> dict[str, Any]:
    import sklearn

    import automlops

    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1), "load_avg_at_start": os.getloadavg(),
            "automlops": getattr(automlops, "__version__", "?"), "scikit-learn": sklearn.__version__,
            "flaml": flaml_version}


# ----------------------------------------------------------------------------- main


def _csv_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="AutoML quality at an equal time budget (see the module docstring).")
    parser.add_argument("--budgets", help="comma-separated seconds (default 30,60; --quick: 10)")
    parser.add_argument("--datasets", help=f"comma-separated demo datasets (default all: {','.join(DEMO_DATASETS)})")
    parser.add_argument("--contenders", default=",".join(ALL_CONTENDERS),
                        help=f"comma-separated, among {','.join(ALL_CONTENDERS)} (default all)")
    parser.add_argument("--repeats", type=int, default=1, help="runs per cell; the median score and wall are shown")
    parser.add_argument("--quick", action="store_true", help="budget 10 s on iris and diabetes only")
    parser.add_argument("--flaml-venv", type=Path, default=FLAML_VENV, help="FLAML's virtual environment")
    parser.add_argument("--timeout-factor", type=float, default=20.0,
                        help="kill a contender after this many times its budget (+120 s)")
    parser.add_argument("--warm-home", action="store_true",
                        help="create the MLflow store in each AUTOMLOPS_HOME before the timed run (a returning "
                             "user) instead of timing a first run in an empty home (the default)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--keep", action="store_true", help="keep the work folder (CSVs, homes, logs)")
    args = parser.parse_args(argv)
    args.budget_list = [float(b) for b in _csv_list(args.budgets)] if args.budgets else \
        list(QUICK_BUDGETS if args.quick else DEFAULT_BUDGETS)
    args.dataset_list = _csv_list(args.datasets) if args.datasets else \
        list(QUICK_DATASETS if args.quick else DEMO_DATASETS)
    args.contender_list = _csv_list(args.contenders)
    unknown = [d for d in args.dataset_list if d not in DEMO_DATASETS]
    unknown += [c for c in args.contender_list if c not in ALL_CONTENDERS]
    if unknown or args.repeats < 1 or any(b <= 0 for b in args.budget_list):
        parser.error(f"unknown or invalid: {', '.join(unknown) or 'repeats/budgets must be positive'}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    flaml_python = flaml_version = None
    if "flaml" in args.contender_list:
        try:
            flaml_python, flaml_version = ensure_flaml_venv(args.flaml_venv)
        except (subprocess.CalledProcessError, RuntimeError, OSError) as exc:
            print(f"FLAML unavailable, skipping it: {exc}", file=sys.stderr)
            args.contender_list = [c for c in args.contender_list if c != "flaml"]
    started = datetime.now()
    env_info = environment(flaml_version)
    workdir = Path(tempfile.mkdtemp(prefix="automl-bench-"))
    plan = [(d, b, c, rep) for d in args.dataset_list for rep in range(args.repeats)
            for b, c in ([(None, "hgb")] if "hgb" in args.contender_list else [])
            + [(b, c) for b in args.budget_list for c in args.contender_list if c != "hgb"]]
    print(f"automl_quality: {len(plan)} runs, sequential; budgets {args.budget_list} s; datasets "
          f"{', '.join(args.dataset_list)}; contenders {', '.join(args.contender_list)}; work folder {workdir}",
          file=sys.stderr, flush=True)
    runs: list[RunResult] = []
    splits: dict[str, Split] = {}
    try:
        for i, (dataset, budget, contender, rep) in enumerate(plan, 1):
            split = splits.get(dataset) or splits.setdefault(dataset, prepare_split(dataset, workdir))
            timeout = args.timeout_factor * (budget or 30.0) + 120.0
            if contender == "hgb":
                result = run_hgb(split, workdir, rep, timeout)
            elif contender == "flaml":
                assert flaml_python is not None and budget is not None
                result = run_flaml(split, budget, flaml_python, workdir, rep, timeout)
            else:
                assert budget is not None
                result = run_ours(split, contender, budget, workdir, rep, timeout, warm_home=args.warm_home)
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
    split_info = {name: {"target": s.target, "task": s.task, "metric": s.metric.name, "direction": s.metric.direction,
                         "train_rows": s.n_train, "test_rows": s.n_test} for name, s in splits.items()}
    report = "\n\n".join(part for part in [
        f"## AutoML quality at an equal budget ({started:%Y-%m-%d %H:%M})",
        f"Same split for all (test {TEST_SIZE:.0%}, stratified for classification, seed {SEED}); scores on the test "
        f"rows with automlops.core.metrics.score; wall = whole process from outside; peak = process-tree RSS "
        f"(polled every {POLL_SECONDS} s); {args.repeats} repeat(s), median shown; our presets ran in "
        f"{'homes whose MLflow store already existed' if args.warm_home else 'an empty AUTOMLOPS_HOME (first run)'}. "
        f"Machine: {env_info['cpus']} CPUs, "
        f"load average at start {', '.join(f'{x:.2f}' for x in env_info['load_avg_at_start'])}. "
        f"FLAML {flaml_version or 'not run'}.",
        "| dataset | train rows | test rows | metric | direction |\n|---|---:|---:|---|---|\n" + "\n".join(
            f"| {n} | {s['train_rows']} | {s['test_rows']} | {s['metric']} | {s['direction']} |"
            for n, s in split_info.items()),
        results_table(rows),
        "### Verdict\n\n" + VERDICT_RULE,
        verdict_table(entries) if entries else "(no budgeted contenders run)",
        "\n".join(f"- {line}" for line in summary_lines(entries)),
    ] if part)
    print(report)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    stem = args.out_dir / f"automl_quality-{started:%Y%m%d-%H%M%S}"
    payload = {"started": started.isoformat(), "args": {"budgets": args.budget_list, "datasets": args.dataset_list,
               "contenders": args.contender_list, "repeats": args.repeats,
               "warm_home": args.warm_home}, "environment": env_info,
               "verdict_rule": VERDICT_RULE, "splits": split_info, "runs": [asdict(r) for r in runs], "rows": rows,
               "verdicts": entries}
    stem.with_suffix(".json").write_text(json.dumps(payload, indent=2, default=str))
    stem.with_suffix(".md").write_text(report + "\n")
    print(f"\nwrote {stem}.json and {stem}.md", file=sys.stderr)
    return 1 if any(r.error for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
