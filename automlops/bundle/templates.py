"""The files of a bundle that are not the model: its service (``app.py``), ``Dockerfile`` and README.

``app.py`` is the same for every bundle (it reads ``bundle.json`` and ``model/meta.json``), so it is
kept here as text, like the ``main`` of an exported script: it is the service's source, not studio
code (the studio never imports FastAPI outside ``serving/``), and it runs only inside a bundle.
It answers the studio API's contract (``GET /``, ``GET /ready``, ``POST /predict``, ``GET /model``,
the ``x-api-key`` header, the ``{"error": {...}}`` body) with the studio's own row validation.
"""

from __future__ import annotations

from string import Template

__all__ = ["APP", "DOCKERFILE", "DOCKERIGNORE", "README"]

APP = '''"""The prediction service of one bundled model, written by AutoMLOps Studio's `automlops bundle`.

Start it from this folder (the key is required: the service refuses to start without it):

    API_KEY=<secret> python -m uvicorn app:app --host 0.0.0.0 --port 8000

GET / (alive, which model) and GET /ready (200 once the model is loaded) need no key;
POST /predict and GET /model need the x-api-key header. The model file is checked against the
SHA-256 in model/meta.json before it is read, and a skops file loads only the types listed in
bundle.json. Rows are validated by the studio's own code (automlops/serving/validation.py, copied
unchanged), so answers match the studio's API.
Settings (environment): API_KEY, API_MAX_ROWS (10000), API_MAX_BODY_BYTES (1048576),
API_UNKNOWN_COLUMNS (ignore | reject).
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import os
import secrets
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))  # the vendored automlops/ folder beside this file

import pydantic_core  # noqa: E402
from fastapi import Depends, FastAPI, Request  # noqa: E402
from fastapi.responses import JSONResponse, Response  # noqa: E402
from starlette.exceptions import HTTPException  # noqa: E402

from automlops.serving.validation import FeatureSchema, RowsError, prepare_rows  # noqa: E402

PLACEHOLDER = "change-me"  # the .env.example value: never a real key
MAX_ROWS = int(os.environ.get("API_MAX_ROWS", "10000"))
MAX_BODY = int(os.environ.get("API_MAX_BODY_BYTES", str(1024 * 1024)))
UNKNOWN = os.environ.get("API_UNKNOWN_COLUMNS", "ignore")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, fields: list[Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.fields, self.headers = status, code, message, fields or [], headers


def _json(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(pydantic_core.to_json(body, inf_nan_mode="null"), status_code=status,
                    media_type="application/json", headers=headers)


def load_model(folder: Path = HERE) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """(model, meta, manifest): the model file checked against its SHA-256, then read."""
    manifest = json.loads((folder / "bundle.json").read_text(encoding="utf-8"))
    meta = json.loads((folder / "model" / "meta.json").read_text(encoding="utf-8"))
    data = (folder / "model" / meta["model_file"]).read_bytes()
    if hashlib.sha256(data).hexdigest() != meta["model_sha256"]:
        raise SystemExit(f"model/{meta['model_file']} does not match the SHA-256 in model/meta.json: the bundle "
                         "was modified; refusing to serve it")
    if meta["model_format"] == "skops":
        from automlops.mlops._skops import load_skops_io  # skops.io without importing torch (see that file)

        model = load_skops_io().loads(data, trusted=manifest["trusted_types"])
    else:
        import joblib

        model = joblib.load(io.BytesIO(data))
    return model, meta, manifest


class Served:
    """The loaded model and what every request needs (prediction as the studio API computes it)."""

    def __init__(self, folder: Path = HERE) -> None:
        self.model, self.meta, manifest = load_model(folder)
        self.kind, self.task, self.stage = manifest["kind"], manifest["task"], manifest.get("stage")
        self.ref = {"name": self.meta["name"], "version": int(self.meta["version"]), "task": self.task}
        self.schema = FeatureSchema.from_meta(self.meta)
        self.columns = list(self.schema.columns)
        steps = getattr(self.model, "steps", None)
        self.prep = self.model[:-1] if steps and len(steps) > 1 else None
        self.final = steps[-1][1] if steps and len(steps) > 1 else self.model
        self.proba = self.task == "classification" and hasattr(self.final, "predict_proba")
        found = getattr(self.final, "classes_", None)
        self.classes = (list(found.tolist()) if found is not None else list(self.meta.get("classes") or [])
                        ) if self.proba else None
        self.answer_table = None  # a kind whose answer is not predict(): the studio function that gives it
        if manifest.get("answer"):
            module, _, function = manifest["answer"].partition(":")
            self.answer_table = getattr(importlib.import_module(module), function)
        self.loaded_at = datetime.now(UTC)

    def answer(self, payload: dict[str, Any]) -> dict[str, Any]:
        import pandas as pd

        prepared = prepare_rows(payload, self.schema, unknown=UNKNOWN)
        source = prepared.matrix if prepared.matrix is not None else prepared.columns
        X = pd.DataFrame(source, columns=self.columns, copy=False)
        if self.answer_table is not None:  # anomaly detection: a 0/1 flag per row, its score and the threshold
            table = self.answer_table(self.model, self.meta, X)
            return {"n_rows": prepared.n_rows, "predictions": [int(flag) for flag in table["is_anomaly"]],
                    "scores": [float(score) for score in table["score"]], "threshold": self.meta.get("threshold"),
                    "warnings": prepared.warnings}
        if self.prep is not None:
            X = self.prep.transform(X)
        predictions = self.final.predict(X).tolist()
        if self.kind == "clustering":
            predictions = [int(p) for p in predictions]
        proba = self.final.predict_proba(X).tolist() if self.proba else None
        return {"n_rows": prepared.n_rows, "predictions": predictions, "classes": self.classes,
                "probabilities": proba, "warnings": prepared.warnings}


def _api_key() -> bytes:
    key = os.environ.get("API_KEY", "").strip()
    if not key or key == PLACEHOLDER:
        print("error: API_KEY is " + ("not set" if not key else "still the placeholder") + ": the prediction "
              "service will not start without a secret key (python -c 'import secrets; "
              "print(secrets.token_urlsafe(32))')", file=sys.stderr, flush=True)
        raise SystemExit(2)
    return key.encode("utf-8")


def create_app() -> FastAPI:
    key = _api_key()
    served = Served()
    started = time.time()
    app = FastAPI(title=f"{served.ref['name']} v{served.ref['version']}", version=str(served.ref["version"]))
    app.state.served = served

    async def require_key(request: Request) -> None:
        sent = request.headers.get("x-api-key")
        if sent is None or not secrets.compare_digest(sent.encode("latin-1", "replace"), key):
            raise ApiError(401, "unauthorized", "missing or wrong API key: send it in the x-api-key header",
                           headers={"WWW-Authenticate": "ApiKey"})

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return _json({"error": {"code": exc.code, "message": exc.message, "fields": exc.fields}}, exc.status,
                     exc.headers)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        return JSONResponse({"error": {"code": "http_error", "message": str(exc.detail), "fields": []}},
                            status_code=exc.status_code)

    @app.get("/")
    async def health() -> Response:
        return _json({"status": "ok", "model": served.ref, "loaded_at": served.loaded_at.isoformat(),
                      "uptime_seconds": round(time.time() - started, 3),
                      "studio_version": served.meta.get("automlops_version")})

    @app.get("/ready")
    async def ready() -> Response:
        return _json({"ready": True, "model": served.ref})

    @app.get("/model", dependencies=[Depends(require_key)])
    async def model_info() -> Response:
        meta = served.meta
        lineage = ("dataset", "run_id", "model_sha256", "model_bytes", "libraries", "automlops_version", "preset",
                   "search", "n_trials")
        return _json({
            "name": served.ref["name"], "version": served.ref["version"], "task": served.task,
            "target": meta.get("target"), "classes": served.classes or meta.get("classes"),
            "input_columns": served.columns, "feature_schema": meta.get("feature_schema") or {},
            "metric": meta.get("metric"),
            "metrics": {"validation": meta.get("val_score"), "validation_std": meta.get("val_std"),
                        "validation_kind": meta.get("validation"), "test": meta.get("test_metrics"),
                        "n_test_rows": meta.get("n_test_rows")},
            "best_model": meta.get("best_model"), "created": meta.get("created"),
            "loaded_at": served.loaded_at.isoformat(),
            "lineage": {**{k: meta.get(k) for k in lineage}, "parent": meta.get("parent"), "registry_version": None},
            "stage": served.stage, "image_input": None})

    @app.post("/predict", dependencies=[Depends(require_key)])
    async def predict(request: Request) -> Response:
        media = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
        if media != "application/json":
            raise ApiError(415, "unsupported_media_type", "send the rows as JSON (content-type: application/json)")
        body = await request.body()
        if len(body) > MAX_BODY:
            raise ApiError(413, "body_too_large", f"the body is larger than {MAX_BODY:,} bytes (API_MAX_BODY_BYTES)")
        payload = _payload(body)
        try:
            answer = served.answer(payload)
        except RowsError as exc:
            raise ApiError(422, "invalid_rows", str(exc), [f.to_dict() for f in exc.fields]) from None
        except (ValueError, TypeError) as exc:
            raise ApiError(422, "unscorable_rows", f"the model could not score these rows: {exc}") from None
        request_id = uuid.uuid4().hex
        return _json({"request_id": request_id, "model": served.ref, **answer}, headers={"x-request-id": request_id})

    return app


def _payload(body: bytes) -> dict[str, Any]:
    """``{"records": [...]}`` or ``{"columns": [...], "data": [[...]]}``, shape-checked; ApiError otherwise."""
    shape = '{"records": [...]} or {"columns": [...], "data": [[...]]}'
    try:
        sent = json.loads(body)
    except ValueError as exc:
        raise ApiError(422, "invalid_json", f"the body is not valid JSON ({exc}); send {shape}") from None
    if not isinstance(sent, dict) or set(sent) - {"records", "columns", "data"}:
        raise ApiError(422, "invalid_request", f"send {shape}")
    records, columns, data = sent.get("records"), sent.get("columns"), sent.get("data")
    if records is not None and (columns is not None or data is not None):
        raise ApiError(422, "invalid_request", "send either 'records' or 'columns' + 'data', not both")
    if records is not None:
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise ApiError(422, "invalid_request", "'records' must be a list of objects")
        n_rows = len(records)
    elif isinstance(columns, list) and isinstance(data, list) and all(isinstance(r, list) for r in data):
        n_rows = len(data)
    else:
        raise ApiError(422, "invalid_request", f"send {shape}")
    if n_rows > MAX_ROWS:
        raise ApiError(413, "too_many_rows", f"{n_rows:,} rows in one request; the limit is {MAX_ROWS:,} "
                       "(API_MAX_ROWS): send them in smaller batches")
    if n_rows == 0:
        raise ApiError(422, "invalid_request", "no rows to predict")
    return {"records": records, "columns": columns, "data": data}


app = create_app()
'''

DOCKERFILE = Template('''# The prediction service of $ref, written by `automlops bundle`.
#   docker build -t $image .
#   docker run --rm -p 8000:8000 -e API_KEY=<secret> $image
FROM python:$python-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
$system_packages
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
RUN useradd --create-home --uid 10001 app && chown -R app /app
USER app
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \\
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/ready', timeout=2)" || exit 1
CMD ["python", "-m", "uvicorn", "app:app", "--host", "0.0.0.0", "--port", "8000"]
''')

DOCKERIGNORE = "__pycache__/\n*.pyc\n.env\n"

README = Template('''# $ref: a self-contained prediction service

Written by AutoMLOps Studio's `automlops bundle` on $built UTC, from the verified model
**$ref** ($kind, $task$best). Model file SHA-256: `$sha256`.

## Run it

```bash
docker build -t $image .
docker run --rm -p 8000:8000 -e API_KEY=<secret> $image
```

Without Docker (Python $python): `pip install -r requirements.txt`, then, from this folder,
`API_KEY=<secret> python -m uvicorn app:app --port 8000`.

## Ask it

```bash
curl localhost:8000/ready
curl -H "x-api-key: <secret>" localhost:8000/model
curl -H "x-api-key: <secret>" -H "content-type: application/json" \\
     -d '$example' localhost:8000/predict
```

`GET /` and `GET /ready` need no key; `POST /predict` and `GET /model` need `x-api-key`. Rows are
`{"records": [{column: value}]}` or `{"columns": [...], "data": [[...]]}`; `null` is a missing value.
Input columns: $columns.

## What is in here

| file | what |
|---|---|
| `model/$model_file`, `model/meta.json` | the model file and its metadata, byte for byte as the studio stored and verified them |
| `app.py` | the FastAPI service (the studio API's `/`, `/ready`, `/predict`, `/model` contract) |
| `automlops/` | only the studio code the model file and the row validation need (see `bundle.json`) |
| `requirements.txt` | what the service and the model import, pinned to the versions that were checked |
| `bundle.json` | what was bundled, when, and what the check at bundling time found |

The service checks the model file against the SHA-256 in `model/meta.json` before reading it. The
studio's signature on `meta.json` cannot be checked here (its key stays with the studio): the image
you build is what you trust.
''')
