"""How fast is the prediction API? Latency and throughput of ``POST /predict`` over HTTP.

Three ways to score the same rows with the same fitted pipeline (breast cancer, 30 numeric
features, logistic regression):

* **in-process** ``pipeline.predict`` — the floor: no HTTP, no JSON, no validation;
* **in-process served path** — what the service does per request minus HTTP and JSON: schema
  checks, the compiled preprocessing (:mod:`automlops.serving.fastpath`), predict + probabilities;
* **automlops** — ``uvicorn api:app`` on loopback (one worker, prediction log on, access log
  off), answering predictions *and* class probabilities, after checking every row;
* **mlflow serve** — ``mlflow models serve --env-manager local`` of the same pipeline saved
  with ``mlflow.sklearn.save_model`` (one uvicorn worker too; it answers predictions only).

Each HTTP client is one persistent ``httpx.Client`` (keep-alive), request bodies are encoded
before timing starts. Single-row latency is measured one request at a time (p50/p99);
throughput as rows per second with 1,000-row requests. Targets (issue 4): p50 overhead over
in-process ≤ 1 ms for one row, batch throughput ≥ 2 × mlflow serve.

Then ``POST /explain`` of one row on a tree model (LightGBM): p50/p95 of single requests, one at
a time, against its own uvicorn service (target: p50 <= 50 ms).

    python benchmarks/api_latency.py                 # full run (~1-2 min)
    python benchmarks/api_latency.py --quick         # fewer requests (~30-40 s)
    python benchmarks/api_latency.py --explain-only  # only the /explain figure (1,000 requests)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from _servers import free_port, running_server  # noqa: E402 - benchmarks/ is sys.path[0]

KEY = "bench-key-0123456789abcdef0123456789"
BATCH = 1000


def _train(home: Path) -> tuple[Any, Any]:
    """A tiny real model in ``home``'s store, and the feature table it was trained on."""
    from automlops.config import Settings
    from automlops.demo import load_demo
    from automlops.mlops.store import ModelStore
    from automlops.tabular import AutoMLRunner
    from automlops.tabular.persist import save_model

    frame = load_demo("breast_cancer")
    runner = AutoMLRunner("target", preset="fast", models=["logistic"], n_trials=2).fit(frame)
    save_model(runner.result_, ModelStore(settings=Settings(_env_file=None, AUTOMLOPS_HOME=str(home))), "breast_cancer")
    return runner.best_estimator_, frame.drop(columns=["target"])


def _summary(single: list[float], batch: list[float]) -> dict[str, float]:
    ordered = sorted(single)
    return {"p50_ms": statistics.median(single) * 1e3, "p99_ms": ordered[int(0.99 * (len(ordered) - 1))] * 1e3,
            "batch_ms": statistics.median(batch) * 1e3, "rows_per_s": BATCH * len(batch) / sum(batch)}


def _interleaved(targets: dict[str, tuple[Callable[[int], Any], Callable[[], Any]]], n_single: int,
                 n_batch: int) -> dict[str, dict[str, float]]:
    """Time every target in turn, request after request, so that load from other processes on a
    shared machine hits all of them alike (rather than whichever happened to run during a spike)."""
    names = list(targets)
    single: dict[str, list[float]] = {n: [] for n in names}
    batch: dict[str, list[float]] = {n: [] for n in names}
    for i in range(100):  # warm-up: connections, caches, lazy imports
        for name in names:
            targets[name][0](i)
    for name in names:
        targets[name][1]()
    for i in range(n_single):
        for name in names[i % len(names):] + names[:i % len(names)]:
            t0 = time.perf_counter()
            targets[name][0](i)
            single[name].append(time.perf_counter() - t0)
    for i in range(n_batch):
        for name in names[i % len(names):] + names[:i % len(names)]:
            t0 = time.perf_counter()
            targets[name][1]()
            batch[name].append(time.perf_counter() - t0)
    return {name: _summary(single[name], batch[name]) for name in names}


def _poster(client: Any, url: str) -> Callable[[bytes], None]:
    def post(body: bytes) -> None:
        r = client.post(url, content=body)
        if r.status_code != 200:
            raise RuntimeError(f"{url} answered {r.status_code}: {r.text[:300]}")

    return post


def _payloads(features: Any) -> tuple[list[list[Any]], list[list[Any]], list[str]]:
    columns = list(features.columns)
    singles = features.head(200).to_numpy().tolist()
    batch = features.sample(BATCH, replace=True, random_state=0).to_numpy().tolist()
    return singles, batch, columns


def _start_automlops(stack: contextlib.ExitStack, home: Path, features: Any, client: Any) -> tuple[Any, Any]:
    singles, batch, columns = _payloads(features)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("API_", "MODEL_", "AUTOMLOPS_"))}
    env |= {"API_KEY": KEY, "AUTOMLOPS_HOME": str(home), "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "uvicorn", "api:app", "--app-dir", str(REPO), "--host", "127.0.0.1",
           "--port", str(port), "--no-access-log", "--log-level", "warning"]
    base = f"http://127.0.0.1:{port}"
    stack.enter_context(running_server(cmd, env, f"{base}/ready", home / "automlops-server.log"))
    post = _poster(client, f"{base}/predict")
    one = [json.dumps({"records": [dict(zip(columns, row, strict=True))]}).encode() for row in singles]
    many = json.dumps({"columns": columns, "data": batch}).encode()
    return (lambda i: post(one[i % len(one)])), (lambda: post(many))


def _start_mlflow(stack: contextlib.ExitStack, home: Path, pipeline: Any, features: Any,
                  client: Any) -> tuple[Any, Any]:
    import mlflow.sklearn
    from mlflow.models import infer_signature

    singles, batch, columns = _payloads(features)
    model_dir = home / "mlflow-model"
    sample = features.head(5)
    # the same pickle our store writes; MLflow's default (skops) refuses numpy dtypes without a trust list
    mlflow.sklearn.save_model(pipeline, model_dir, signature=infer_signature(sample, pipeline.predict(sample)),
                              pip_requirements=["scikit-learn", "pandas"],
                              serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_PICKLE)
    port = free_port()
    bin_dir = str(Path(sys.executable).parent)  # `mlflow models serve` runs `uvicorn` from PATH
    env = dict(os.environ) | {"PYTHONPATH": str(REPO), "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    cmd = [str(Path(bin_dir) / "mlflow"), "models", "serve", "-m", str(model_dir), "--env-manager", "local",
           "-h", "127.0.0.1", "-p", str(port)]
    base = f"http://127.0.0.1:{port}"
    stack.enter_context(running_server(cmd, env, f"{base}/ping", home / "mlflow-server.log", timeout=180))
    post = _poster(client, f"{base}/invocations")
    one = [json.dumps({"dataframe_split": {"columns": columns, "data": [row]}}).encode() for row in singles]
    many = json.dumps({"dataframe_split": {"columns": columns, "data": batch}}).encode()
    return (lambda i: post(one[i % len(one)])), (lambda: post(many))


def _compiled(home: Path, features: Any) -> tuple[Any, Any]:
    """What the service runs per request, minus HTTP: schema checks + compiled preprocessing + predict."""
    from automlops.mlops.store import ModelStore
    from automlops.serving.loader import load_served
    from automlops.serving.validation import prepare_rows

    served = load_served(ModelStore(home / "models"), "breast_cancer", 1)
    singles, batch, columns = _payloads(features)
    one = [{"records": [dict(zip(columns, row, strict=True))]} for row in singles]
    many = {"columns": columns, "data": batch}
    return ((lambda i: served.predict(prepare_rows(one[i % len(one)], served.schema))),
            (lambda: served.predict(prepare_rows(many, served.schema))))


def _inprocess(pipeline: Any, features: Any) -> tuple[Any, Any]:
    singles = [features.iloc[[i]] for i in range(200)]
    batch = features.sample(BATCH, replace=True, random_state=0)
    return (lambda i: pipeline.predict(singles[i % len(singles)])), (lambda: pipeline.predict(batch))


def _explain_latency(root: Path, n_requests: int) -> dict[str, float]:
    """``POST /explain`` of one row on a tree model (LightGBM, breast cancer), one request at a time.

    Its own service (one uvicorn worker, loopback) serves a LightGBM model; 20 warm-up requests
    (the first builds the explainer: SHAP's import and the TreeExplainer), then ``n_requests``
    single-row requests over 200 different rows, timed like the /predict ones."""
    import httpx

    from automlops.config import Settings
    from automlops.demo import load_demo
    from automlops.mlops.store import ModelStore
    from automlops.tabular import AutoMLRunner
    from automlops.tabular.persist import save_model

    home = root / "explain-home"
    frame = load_demo("breast_cancer")
    runner = AutoMLRunner("target", preset="fast", models=["lightgbm"], n_trials=1, ensemble="none").fit(frame)
    save_model(runner.result_, ModelStore(settings=Settings(_env_file=None, AUTOMLOPS_HOME=str(home))), "cancer_trees")
    features = frame.drop(columns=["target"])
    bodies = [json.dumps({"records": [row]}).encode() for row in features.head(200).to_dict(orient="records")]
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("API_", "MODEL_", "AUTOMLOPS_"))}
    env |= {"API_KEY": KEY, "AUTOMLOPS_HOME": str(home), "PYTHONPATH": str(REPO), "MODEL_NAME": "cancer_trees"}
    cmd = [sys.executable, "-m", "uvicorn", "api:app", "--app-dir", str(REPO), "--host", "127.0.0.1",
           "--port", str(port), "--no-access-log", "--log-level", "warning"]
    base = f"http://127.0.0.1:{port}"
    times: list[float] = []
    with running_server(cmd, env, f"{base}/ready", root / "explain-server.log"), \
            httpx.Client(headers={"x-api-key": KEY, "content-type": "application/json"}, timeout=60) as client:
        post = _poster(client, f"{base}/explain")
        t0 = time.perf_counter()
        post(bodies[0])
        first = time.perf_counter() - t0
        for i in range(20):
            post(bodies[i % len(bodies)])
        for i in range(n_requests):
            t0 = time.perf_counter()
            post(bodies[i % len(bodies)])
            times.append(time.perf_counter() - t0)
    ordered = sorted(times)
    return {"p50_ms": statistics.median(times) * 1e3, "p95_ms": ordered[int(0.95 * (len(ordered) - 1))] * 1e3,
            "p99_ms": ordered[int(0.99 * (len(ordered) - 1))] * 1e3, "first_ms": first * 1e3,
            "requests": float(n_requests)}


def _explain_line(r: dict[str, float]) -> str:
    return (f"/explain, 1 row, LightGBM (tree SHAP, top_k 5): p50 {r['p50_ms']:.2f} ms, p95 {r['p95_ms']:.2f} ms, "
            f"p99 {r['p99_ms']:.2f} ms over {int(r['requests'])} requests (first request, building the explainer: "
            f"{r['first_ms']:.0f} ms); target p50 <= 50 ms: {'met' if r['p50_ms'] <= 50 else 'NOT met'}")


def _table(results: dict[str, dict[str, float]]) -> str:
    lines = [f"{'':<24}{'1-row p50 ms':>14}{'1-row p99 ms':>14}{'1000-row ms':>13}{'rows/s':>12}"]
    for name, r in results.items():
        lines.append(f"{name:<24}{r['p50_ms']:>14.3f}{r['p99_ms']:>14.3f}{r['batch_ms']:>13.2f}{r['rows_per_s']:>12,.0f}")
    return "\n".join(lines)


def _verdict(results: dict[str, dict[str, float]]) -> list[str]:
    floor, ours = results["in-process predict"], results["automlops /predict"]
    overhead = ours["p50_ms"] - floor["p50_ms"]
    served = results["in-process served path"]
    out = [f"p50 overhead of /predict over in-process predict: {overhead:.3f} ms (target <= 1 ms: "
           f"{'met' if overhead <= 1.0 else 'NOT met'})",
           f"p50 of HTTP + JSON alone (/predict minus the in-process served path): "
           f"{ours['p50_ms'] - served['p50_ms']:.3f} ms",
           f"batch throughput, /predict vs in-process: {ours['rows_per_s'] / floor['rows_per_s']:.2f}x"]
    if "mlflow models serve" in results:
        ml = results["mlflow models serve"]
        ratio = ours["rows_per_s"] / ml["rows_per_s"]
        out += [f"batch throughput, /predict vs mlflow serve: {ratio:.2f}x (target >= 2x: "
                f"{'met' if ratio >= 2 else 'NOT met'})",
                f"1-row p50, mlflow serve / automlops: {ml['p50_ms'] / ours['p50_ms']:.2f}x"]
    return out


def main(argv: Sequence[str] | None = None) -> int:
    import httpx

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests (for CI and make bench)")
    parser.add_argument("--no-mlflow", action="store_true", help="skip the mlflow models serve comparison")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--explain-only", action="store_true", help="only the /explain latency (tree model)")
    args = parser.parse_args(argv)
    n_single, n_batch = (400, 15) if args.quick else (2000, 60)
    home = Path(tempfile.mkdtemp(prefix="automlops-bench-"))
    if args.explain_only:
        try:
            explained = _explain_latency(home, 200 if args.quick else 1000)
        finally:
            shutil.rmtree(home, ignore_errors=True)
        print(_explain_line(explained))
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps({"automlops /explain": explained}, indent=2))
        return 0
    try:
        with contextlib.ExitStack() as stack:
            pipeline, features = _train(home)
            ours = stack.enter_context(httpx.Client(headers={"x-api-key": KEY, "content-type": "application/json"},
                                                    timeout=60))
            targets = {"in-process predict": _inprocess(pipeline, features),
                       "in-process served path": _compiled(home, features),
                       "automlops /predict": _start_automlops(stack, home, features, ours)}
            if not args.no_mlflow:
                theirs = stack.enter_context(httpx.Client(headers={"content-type": "application/json"}, timeout=60))
                try:
                    targets["mlflow models serve"] = _start_mlflow(stack, home, pipeline, features, theirs)
                except Exception as exc:  # noqa: BLE001 - the comparison is optional; say why it is missing
                    print(f"mlflow models serve skipped: {exc}", file=sys.stderr)
            results = _interleaved(targets, n_single, n_batch)
        explained = _explain_latency(home, 200 if args.quick else 1000)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(f"API latency and throughput ({'quick' if args.quick else 'full'}: {n_single} single-row requests and "
          f"{n_batch} x {BATCH}-row requests per target, interleaved; loopback, one uvicorn worker each)")
    print(_table(results))
    for line in _verdict(results):
        print(line)
    print(_explain_line(explained))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({**results, "automlops /explain": explained}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
