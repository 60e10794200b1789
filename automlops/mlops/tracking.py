"""Experiment tracking: a thin, thread-safe layer over MLflow's ``MlflowClient``.

MLflow records *runs*: one training attempt with its parameters (inputs you chose),
metrics (numbers you measured), tags (labels), dataset inputs (which data, by hash) and
artifacts (files: plots, tables, the model itself). A run can have a parent, so an AutoML
search shows up as one parent run with one child run per trial.

Why explicit run ids? ``mlflow.start_run()`` keeps an "active run" in a global stack; with
several dashboard sessions training at once in threads, runs would end up in each other's
logs. Every method here therefore takes the ``run_id`` it writes to, and nothing relies on
global MLflow state.

By default the tracking store is an embedded SQLite file under the studio home and the
artifacts sit beside it in ``mlartifacts/``; a remote server (DagsHub or any MLflow server)
is "URI + username + token". The credentials stay with the tracker: they are bound to the
calls of its own client and never exported to the process environment (see
:mod:`automlops.mlops._credentials`), so trackers for two servers can work side by side.
``mlflow`` is imported inside the methods because importing it costs about a second.
"""

from __future__ import annotations

import contextlib
import json
import re
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from automlops.config import Settings, get_settings
from automlops.core.redact import redact
from automlops.errors import AutoMLOpsError, ConfigError, TrackingError
from automlops.mlops._credentials import BoundClient, ServerCredentials, bound
from automlops.mlops._locks import flock
from automlops.mlops._mlflow_template import seed_sqlite_store
from automlops.mlops._model_logging import write_sklearn_model_folder
from automlops.mlops._probe import State, probe_http

if TYPE_CHECKING:
    import pandas as pd
    from mlflow.tracking import MlflowClient

__all__ = ["ConnectionStatus", "RunDetails", "Tracker"]

PARENT_TAG = "mlflow.parentRunId"
RUN_STATUSES = ("FINISHED", "FAILED", "KILLED")
_MAX_PARAM_VALUE = 6000  # MLflow's limits
_MAX_TAG_VALUE = 8000
_MAX_PARAMS_PER_BATCH = 100
_MAX_METRICS_PER_BATCH = 1000
_MAX_ARTIFACTS_LISTED = 1000


@dataclass(frozen=True)
class ConnectionStatus:
    """The outcome of :meth:`Tracker.check_connection`, ready to show in a sidebar badge."""

    state: State
    message: str
    latency_ms: float
    user: str | None = None

    @property
    def ok(self) -> bool:
        return self.state == "connected"


@dataclass(frozen=True)
class RunDetails:
    """What one run holds: its parameters, metrics, tags and artifact paths."""

    run_id: str
    run_name: str
    status: str
    parent_run_id: str | None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    artifacts: list[str] = field(default_factory=list)


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (``None`` for other stores or ``:memory:``)."""
    if not uri.startswith("sqlite:///"):
        return None
    raw = uri[len("sqlite:///"):].split("?", 1)[0]
    return None if raw in ("", ":memory:") else Path(raw)


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class Tracker:
    """Log runs to MLflow through an explicit-run-id client (see the module docstring).

    ``tracking_uri`` and ``experiment`` default to ``settings``. For a remote URI, the
    username and password of ``settings`` go with every request of *this* tracker's client,
    and with nobody else's; they are never logged, stored as params or put into messages.
    """

    def __init__(
        self, tracking_uri: str | None = None, experiment: str | None = None, *, settings: Settings | None = None
    ) -> None:
        self.settings = settings or get_settings()
        self.tracking_uri = tracking_uri or self.settings.resolved_tracking_uri
        self.experiment_name = experiment or self.settings.experiment_name
        self._credentials = self._server_credentials()
        self._client: MlflowClient | None = None
        self._experiment_id: str | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Tracker(tracking_uri={self._redact(self.tracking_uri)!r}, experiment={self.experiment_name!r})"

    # ------------------------------------------------------------------ plumbing
    @property
    def is_remote(self) -> bool:
        return self.tracking_uri.startswith(("http://", "https://"))

    def _redact(self, text: str) -> str:
        """Remove credentials from a message: ``user:pass@`` in URLs and the password itself."""
        return redact(text, self.settings.tracking_password)

    def _server_credentials(self) -> ServerCredentials | None:
        user, password = self.settings.tracking_username, self.settings.tracking_password
        if self.is_remote and user and password:
            return ServerCredentials(self.tracking_uri, user, password)
        return None

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn any MLflow/HTTP/database failure into a TrackingError a person can read."""
        try:
            yield
        except AutoMLOpsError:
            raise
        except Exception as exc:
            detail = self._redact(str(exc)).strip().splitlines()
            reason = detail[0][:500] if detail else type(exc).__name__
            raise TrackingError(
                f"MLflow could not {action} ({self._redact(self.tracking_uri)}): {reason}"
            ) from exc

    @property
    def client(self) -> MlflowClient:
        """The ``MlflowClient`` (built on first use; thread-safe), speaking with this tracker's credentials."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = cast("MlflowClient", BoundClient(self._make_client(), self._credentials))
        return self._client

    def _make_client(self) -> MlflowClient:
        """Build the client; a local SQLite DB is created here, under a lock, from one process."""
        from mlflow.tracking import MlflowClient

        db = sqlite_path(self.tracking_uri)
        with self._errors("open the tracking store"):
            if db is None:
                return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)
            db.parent.mkdir(parents=True, exist_ok=True)
            # A fresh DB hit by several processes races on CREATE TABLE: create it while holding the lock.
            with flock(db.with_name(db.name + ".lock")):
                seed_sqlite_store(db, db.parent / "mlartifacts")
                client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)
                client.search_experiments(max_results=1)
            return client

    def _artifact_location(self) -> str | None:
        """Local stores keep artifacts in ``mlartifacts/<experiment>/``; servers choose their own."""
        db = sqlite_path(self.tracking_uri)
        if db is None:
            return None
        root = (self.settings.artifacts_dir if self.tracking_uri == self.settings.resolved_tracking_uri
                else db.parent / "mlartifacts")
        return (root.resolve() / re.sub(r"[^A-Za-z0-9_.-]", "_", self.experiment_name)).as_uri()

    @property
    def experiment_id(self) -> str:
        """The id of ``experiment_name``, created (or restored if deleted) on first use."""
        if self._experiment_id is None:
            with self._errors(f"open experiment {self.experiment_name!r}"):
                self._experiment_id = self._get_or_create_experiment()
        return self._experiment_id

    def _get_or_create_experiment(self) -> str:
        client = self.client
        experiment = client.get_experiment_by_name(self.experiment_name)
        if experiment is None:
            try:
                return client.create_experiment(self.experiment_name, artifact_location=self._artifact_location())
            except Exception:  # another process created it first
                experiment = client.get_experiment_by_name(self.experiment_name)
                if experiment is None:
                    raise
        if experiment.lifecycle_stage == "deleted":
            client.restore_experiment(experiment.experiment_id)
        return str(experiment.experiment_id)

    # ------------------------------------------------------------------ runs
    def start_run(self, name: str, *, tags: dict[str, Any] | None = None, parent_run_id: str | None = None) -> str:
        """Create a run (a child of ``parent_run_id`` if given) and return its id."""
        run_tags = {str(k): str(v)[:_MAX_TAG_VALUE] for k, v in (tags or {}).items()}
        if parent_run_id:
            run_tags[PARENT_TAG] = parent_run_id
        experiment_id = self.experiment_id
        with self._errors(f"start run {name!r}"):
            return str(self.client.create_run(experiment_id, run_name=name, tags=run_tags).info.run_id)

    def end_run(self, run_id: str, status: str = "FINISHED") -> None:
        """Mark a run FINISHED, FAILED or KILLED."""
        if status not in RUN_STATUSES:
            raise ConfigError(f"run status must be one of {', '.join(RUN_STATUSES)}, not {status!r}")
        with self._errors(f"end run {run_id}"):
            self.client.set_terminated(run_id, status=status)

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Log parameters as strings (values cut to MLflow's 6000 characters), batched."""
        from mlflow.entities import Param

        entries = [Param(str(k), str(v)[:_MAX_PARAM_VALUE]) for k, v in params.items()]
        with self._errors(f"log params to run {run_id}"):
            for chunk in _chunks(entries, _MAX_PARAMS_PER_BATCH):
                self.client.log_batch(run_id, params=chunk, synchronous=True)

    def log_metrics(self, run_id: str, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Log numeric metrics (``None`` values are skipped), batched."""
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        try:
            entries = [Metric(str(k), float(v), now, step or 0) for k, v in metrics.items() if v is not None]
        except (TypeError, ValueError) as exc:
            raise TrackingError(f"metrics must be numbers: {exc}") from exc
        with self._errors(f"log metrics to run {run_id}"):
            for chunk in _chunks(entries, _MAX_METRICS_PER_BATCH):
                self.client.log_batch(run_id, metrics=chunk, synchronous=True)

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        """Set run tags (stringified, cut to 8000 characters), batched."""
        from mlflow.entities import RunTag

        entries = [RunTag(str(k), str(v)[:_MAX_TAG_VALUE]) for k, v in tags.items()]
        with self._errors(f"set tags on run {run_id}"):
            for chunk in _chunks(entries, _MAX_PARAMS_PER_BATCH):
                self.client.log_batch(run_id, tags=chunk, synchronous=True)

    def log_dataset_input(
        self, run_id: str, *, name: str, version: int | str, sha256: str, rows: int,
        columns: Sequence[str] | Mapping[str, str] = (), source: str, context: str = "training", **extra: Any,
    ) -> None:
        """Record which dataset version trained the run (lineage: name@version + SHA-256).

        ``extra`` lineage fields (an image dataset's ``kind`` and ``task``...) go into the profile.
        """
        from mlflow.entities import Dataset, DatasetInput, InputTag

        label = f"v{version}" if isinstance(version, int) else str(version)
        colspec = ([{"name": c, "type": t} for c, t in columns.items()] if isinstance(columns, Mapping)
                   else [{"name": c} for c in columns])
        dataset = Dataset(
            name=f"{name}@{label}", digest=sha256[:16], source_type="local",
            source=json.dumps({"uri": source}), schema=json.dumps({"mlflow_colspec": colspec}),
            profile=json.dumps({"num_rows": rows, "num_columns": len(colspec), "sha256": sha256,
                                "version": label, **{k: str(v) for k, v in extra.items()}}),
        )
        with self._errors(f"log dataset {name!r} to run {run_id}"):
            inputs = [DatasetInput(dataset, [InputTag("mlflow.data.context", context)])]
            try:
                self.client.log_inputs(run_id, inputs)
            except Exception as exc:  # two runs registering the same new dataset at once: the
                if "UNIQUE constraint" not in str(exc):  # loser retries and links the winner's row
                    raise
                time.sleep(0.05)
                self.client.log_inputs(run_id, inputs)

    # ------------------------------------------------------------------ artifacts
    def log_artifact(self, run_id: str, path: str | Path, artifact_path: str | None = None) -> None:
        """Upload a local file (or folder) into the run's artifacts."""
        with self._errors(f"upload {Path(path).name} to run {run_id}"):
            self.client.log_artifact(run_id, str(path), artifact_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        """Store ``text`` as the artifact ``artifact_file`` (e.g. ``"reports/decisions.md"``)."""
        with self._errors(f"log {artifact_file} to run {run_id}"):
            self.client.log_text(run_id, text, artifact_file)

    def log_dataframe(self, run_id: str, df: pd.DataFrame, artifact_file: str) -> None:
        """Store a DataFrame as a CSV artifact (e.g. ``"leaderboard.csv"``)."""
        folder, _, filename = artifact_file.rpartition("/")
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / filename
            df.to_csv(local, index=False)
            self.log_artifact(run_id, local, folder or None)

    def log_sklearn_model(
        self, run_id: str, model: Any, *, input_example: pd.DataFrame, artifact_path: str = "model"
    ) -> str:
        """Log a fitted scikit-learn-style model as an MLflow model; returns its ``runs:/`` URI.

        The signature and pinned requirements are given explicitly (no slow inference). The model
        is saved with skops, trusting only the types found in this very model, from the same file
        the model store copies (one serialisation per training); objects skops cannot represent
        fall back to cloudpickle.
        """
        with self._errors(f"log the model to run {run_id}"), tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / "model"
            write_sklearn_model_folder(model, local, input_example=input_example.head(5))
            self.client.log_artifacts(run_id, str(local), artifact_path)
        return f"runs:/{run_id}/{artifact_path}"

    def load_sklearn_model(self, model_uri: str) -> Any:
        """Load a model logged by :meth:`log_sklearn_model` (``runs:/<id>/model``) from this store."""
        import mlflow.sklearn

        run_id, _, path = model_uri.removeprefix("runs:/").partition("/")
        if not model_uri.startswith("runs:/") or not run_id or not path:
            raise ConfigError(f"expected a model URI like runs:/<run id>/model, not {model_uri!r}")
        with self._errors(f"load {model_uri}"), tempfile.TemporaryDirectory() as tmp:
            return mlflow.sklearn.load_model(self.client.download_artifacts(run_id, path, tmp))

    # ------------------------------------------------------------------ reading
    def search_runs(self, filter_string: str = "", max_results: int = 100) -> pd.DataFrame:
        """Runs of the experiment, newest first, one row each with params.*, metrics.*, tags.*."""
        import pandas as pd

        experiment_id = self.experiment_id
        with self._errors("search runs"):
            runs = self.client.search_runs([experiment_id], filter_string, max_results=max_results)
        base = ["run_id", "run_name", "status", "start_time", "end_time", "duration", "parent_run_id"]
        frame = pd.DataFrame([self._run_row(run) for run in runs])
        return frame.reindex(columns=base + [c for c in frame.columns if c not in base])

    @staticmethod
    def _run_row(run: Any) -> dict[str, Any]:
        import pandas as pd

        info, data = run.info, run.data
        start = pd.to_datetime(info.start_time, unit="ms", utc=True) if info.start_time else pd.NaT
        end = pd.to_datetime(info.end_time, unit="ms", utc=True) if info.end_time else pd.NaT
        row: dict[str, Any] = {
            "run_id": info.run_id, "run_name": info.run_name, "status": info.status,
            "start_time": start, "end_time": end,
            "duration": (info.end_time - info.start_time) / 1000 if info.end_time and info.start_time else None,
            "parent_run_id": data.tags.get(PARENT_TAG),
        }
        row.update({f"params.{k}": v for k, v in data.params.items()})
        row.update({f"metrics.{k}": v for k, v in data.metrics.items()})
        row.update({f"tags.{k}": v for k, v in data.tags.items() if not k.startswith("mlflow.")})
        return row

    def get_run(self, run_id: str) -> RunDetails:
        """One run's params, latest metrics, tags and artifact file paths."""
        with self._errors(f"read run {run_id}"):
            run = self.client.get_run(run_id)
            artifacts = self._artifact_files(run_id)
        return RunDetails(
            run_id=run.info.run_id, run_name=run.info.run_name, status=run.info.status,
            parent_run_id=run.data.tags.get(PARENT_TAG), params=dict(run.data.params),
            metrics=dict(run.data.metrics), tags=dict(run.data.tags), artifacts=artifacts,
        )

    def _artifact_files(self, run_id: str) -> list[str]:
        files: list[str] = []
        pending: list[str | None] = [None]
        while pending and len(files) < _MAX_ARTIFACTS_LISTED:
            for entry in self.client.list_artifacts(run_id, pending.pop()):
                (pending if entry.is_dir else files).append(entry.path)
        return sorted(files)

    # ------------------------------------------------------------------ health
    def check_connection(self, timeout: float = 3.0) -> ConnectionStatus:
        """Make one real, cheap request and report connected / unauthorized / unreachable / error."""
        user = self.settings.tracking_username if self.is_remote else None
        start = time.perf_counter()
        try:
            if self.is_remote:
                with bound(self._credentials):
                    state, message = probe_http(self.tracking_uri, timeout, where=self._redact(self.tracking_uri))
            else:
                with self._errors("reach the local tracking store"):
                    self.client.search_experiments(max_results=1)
                state, message = "connected", f"local store {self._redact(self.tracking_uri)}"
        except Exception as exc:  # a health check reports, it never raises
            state, message = "error", self._redact(str(exc)).strip()[:300] or type(exc).__name__
        latency = round((time.perf_counter() - start) * 1000, 1)
        return ConnectionStatus(state=state, message=message, latency_ms=latency, user=user)
