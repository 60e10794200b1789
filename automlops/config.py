"""One place that reads the environment.

Every other module receives a :class:`Settings` (or calls :func:`get_settings`) instead of
reading ``os.environ``; that keeps configuration typed, documented and testable. Each field
lists the environment variable that sets it; ``.env.example`` shows them all.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from automlops.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
API_KEY_PLACEHOLDER = "change-me"

__all__ = ["API_KEY_PLACEHOLDER", "REPO_ROOT", "Settings", "describe_settings_error", "get_settings"]


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    """Typed configuration of the studio (environment variables, then ``.env``)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_ignore_empty=True,
                                      populate_by_name=True)

    studio_home: Path = Field(
        default=REPO_ROOT,
        validation_alias=_env("AUTOMLOPS_HOME"),
        description="Root folder for data_lake/, models/, mlflow.db and MLflow artifacts.",
    )
    tracking_uri: str | None = Field(
        default=None,
        validation_alias=_env("MLFLOW_TRACKING_URI"),
        description="MLflow tracking URI; empty means the embedded SQLite store under home.",
    )
    tracking_username: str | None = Field(default=None, validation_alias=_env("MLFLOW_TRACKING_USERNAME"))
    tracking_password: str | None = Field(
        default=None, validation_alias=_env("MLFLOW_TRACKING_PASSWORD"), repr=False
    )
    experiment_name: str = Field(default="automlops", validation_alias=_env("AUTOMLOPS_EXPERIMENT"))
    api_key: str | None = Field(default=None, validation_alias=_env("API_KEY"), repr=False)
    api_dev_mode: bool = Field(
        default=False,
        validation_alias=_env("AUTOMLOPS_DEV"),
        description="Development only: generate a random API key when API_KEY is unset.",
    )
    model_name: str | None = Field(default=None, validation_alias=_env("MODEL_NAME"))
    model_version: int | None = Field(default=None, validation_alias=_env("MODEL_VERSION"))
    model_stage: Literal["staging", "production"] | None = Field(
        default=None, validation_alias=_env("MODEL_STAGE"),
        description="With MODEL_NAME: serve the version holding this MLflow registry alias (staging or "
                    "production) and follow its promotions.",
    )
    register_models: bool = Field(
        default=True, validation_alias=_env("AUTOMLOPS_REGISTER_MODELS"),
        description="Register every saved model version in the MLflow Model Registry (best effort).",
    )
    max_upload_mb: float = Field(default=200.0, validation_alias=_env("AUTOMLOPS_MAX_UPLOAD_MB"))
    show_tracebacks: bool = Field(default=False, validation_alias=_env("AUTOMLOPS_DEBUG"),
                        description="Show full tracebacks in the CLI (for developers).")
    api_port: int = Field(default=8000, validation_alias=_env("API_PORT"))
    dashboard_port: int = Field(default=8501, validation_alias=_env("DASHBOARD_PORT"))
    mlflow_ui_port: int = Field(default=5000, validation_alias=_env("MLFLOW_UI_PORT"))
    api_url: str | None = Field(
        default=None, validation_alias=_env("API_URL"),
        description="Where the dashboard reaches the API (default http://127.0.0.1:<API_PORT>).",
    )
    mlflow_ui_url: str | None = Field(
        default=None, validation_alias=_env("MLFLOW_UI_URL"),
        description="Link to the MLflow UI shown in the dashboard (default http://127.0.0.1:<MLFLOW_UI_PORT>).",
    )
    # ---- prediction service (automlops.serving); appended for the API issue
    api_max_body_bytes: int = Field(
        default=1024 * 1024, gt=0, validation_alias=_env("API_MAX_BODY_BYTES"),
        description="Largest /predict request body accepted, in bytes (larger: HTTP 413).",
    )
    api_max_rows: int = Field(
        default=10_000, gt=0, validation_alias=_env("API_MAX_ROWS"),
        description="Most rows one /predict request may carry (more: HTTP 413).",
    )
    api_unknown_columns: Literal["ignore", "reject"] = Field(
        default="ignore", validation_alias=_env("API_UNKNOWN_COLUMNS"),
        description="Columns the model does not know: ignore them (with a warning) or answer 422.",
    )
    api_reload_interval: float = Field(
        default=0.5, gt=0, validation_alias=_env("API_RELOAD_INTERVAL"),
        description="Seconds between two looks at models/ for a new version to hot-reload.",
    )
    # ---- image requests to a served vision model (automlops.serving.vision); appended for the vision issue
    api_max_images: int = Field(
        default=16, gt=0, validation_alias=_env("API_MAX_IMAGES"),
        description="Most images one /predict request may carry (more: HTTP 413).",
    )
    api_max_image_pixels: int = Field(
        default=40_000_000, gt=0, validation_alias=_env("API_MAX_IMAGE_PIXELS"),
        description="Largest image accepted by /predict, in pixels (width x height; larger: HTTP 413). Checked "
                    "from the image's header before it is decoded, so a small file claiming huge dimensions "
                    "(a decompression bomb) is refused without using the memory.",
    )
    api_max_image_body_bytes: int = Field(
        default=32 * 1024 * 1024, gt=0, validation_alias=_env("API_MAX_IMAGE_BODY_BYTES"),
        description="Largest /predict body accepted while a vision model is served, in bytes (images are "
                    "bigger than rows; API_MAX_BODY_BYTES still caps every other request).",
    )
    prediction_log_path: Path | None = Field(
        default=None, validation_alias=_env("AUTOMLOPS_PREDICTION_LOG"),
        description="SQLite prediction log; empty means <home>/predictions.db.",
    )
    prediction_log_enabled: bool = Field(
        default=True, validation_alias=_env("AUTOMLOPS_PREDICTION_LOG_ENABLED"),
        description="Append every API prediction to the prediction log (for drift monitoring).",
    )
    # ---- dashboard training jobs (automlops.ui.jobs)
    max_training_jobs: int = Field(
        default_factory=lambda: os.cpu_count() or 1, ge=1, validation_alias=_env("MAX_TRAINING_JOBS"),
        description="Most dashboard trainings that run at once, each in its own worker process; "
                    "more wait in a queue (default: the number of CPU cores).",
    )
    # ---- resource caps and tracking bounds (issue 8: refusals, caps, slow servers)
    max_columns: int = Field(
        default=2000, gt=0, validation_alias=_env("AUTOMLOPS_MAX_COLUMNS"),
        description="Most columns a CSV may have; a wider header is refused before pandas parses it.",
    )
    max_field_chars: int = Field(
        default=131_072, gt=0, validation_alias=_env("AUTOMLOPS_MAX_FIELD_CHARS"),
        description="Longest single CSV field (cell or header name), in characters; longer is refused.",
    )
    leakage_max_features: int = Field(
        default=100, gt=0, validation_alias=_env("AUTOMLOPS_LEAKAGE_MAX_FEATURES"),
        description="Most features the leakage check fits a tree for; the rest are skipped (and said so).",
    )
    leakage_time_share: float = Field(
        default=0.1, gt=0, le=1, validation_alias=_env("AUTOMLOPS_LEAKAGE_TIME_SHARE"),
        description="Share of the time budget the leakage check may use before it stops checking.",
    )
    max_kept_categories: int = Field(
        default=1000, gt=1, validation_alias=_env("AUTOMLOPS_MAX_KEPT_CATEGORIES"),
        description="Categories a high-cardinality text column keeps (the most frequent); the rest "
                    "share one 'other' code, so saved models stay small.",
    )
    tracking_request_timeout: float = Field(
        default=10.0, gt=0, validation_alias=_env("MLFLOW_HTTP_REQUEST_TIMEOUT"),
        description="Seconds one MLflow HTTP request may wait (MLflow's own default is 120).",
    )
    tracking_request_retries: int = Field(
        default=2, ge=0, validation_alias=_env("MLFLOW_HTTP_REQUEST_MAX_RETRIES"),
        description="Retries of a failed MLflow HTTP request (MLflow's own default is 7, with growing waits).",
    )
    tracking_backoff_factor: int = Field(
        default=1, ge=0, validation_alias=_env("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"),
        description="Backoff factor between MLflow HTTP retries, a whole number as MLflow reads it "
                    "(MLflow's own default is 2).",
    )
    tracking_probe_timeout: float = Field(
        default=3.0, gt=0, validation_alias=_env("AUTOMLOPS_TRACKING_PROBE_TIMEOUT"),
        description="Seconds 'automlops train' waits for a remote MLflow server to answer before "
                    "training without it.",
    )
    # ---- model signing (automlops.mlops._signing); appended for the model-integrity issue
    signing_key: str | None = Field(
        default=None, min_length=32, validation_alias=_env("AUTOMLOPS_SIGNING_KEY"), repr=False,
        description="Secret (32+ characters) that signs the models the studio publishes; give the dashboard "
                    "and the API the same one. Empty: a key file, generated on first use.",
    )
    signing_key_file: Path | None = Field(
        default=None, validation_alias=_env("AUTOMLOPS_SIGNING_KEY_FILE"),
        description="Where the generated signing key lives when AUTOMLOPS_SIGNING_KEY is empty "
                    "(default ~/.automlops/signing.key; never inside models/).",
    )
    # ---- image archives (automlops.vision.archive); appended for the vision issue
    archive_max_entries: int = Field(
        default=20_000, gt=0, validation_alias=_env("AUTOMLOPS_ARCHIVE_MAX_ENTRIES"),
        description="Most entries (files and folders) an uploaded .zip may list.",
    )
    archive_max_mb: float = Field(
        default=2048.0, gt=0, validation_alias=_env("AUTOMLOPS_ARCHIVE_MAX_MB"),
        description="Most MiB an uploaded .zip may decompress to in total (counted while extracting).",
    )
    archive_max_file_mb: float = Field(
        default=512.0, gt=0, validation_alias=_env("AUTOMLOPS_ARCHIVE_MAX_FILE_MB"),
        description="Most MiB one file of an uploaded .zip may decompress to.",
    )
    archive_max_ratio: float = Field(
        default=100.0, gt=1, validation_alias=_env("AUTOMLOPS_ARCHIVE_MAX_RATIO"),
        description="Largest compression ratio (decompressed ÷ compressed bytes) of one file in a .zip: "
                    "photos barely compress, a zip bomb compresses 1000:1.",
    )
    image_max_pixels: int = Field(
        default=89_478_485, gt=0, validation_alias=_env("AUTOMLOPS_IMAGE_MAX_PIXELS"),
        description="Most pixels (width × height) of one image (Pillow's decompression-bomb limit).",
    )
    download_weights: bool = Field(
        default=True, validation_alias=_env("AUTOMLOPS_DOWNLOAD_WEIGHTS"),
        description="Vision: download pretrained weights through torchvision when they are not in the torch "
                    "cache (false on an offline machine: random initialisation at once, said in the decisions).",
    )

    # ---- distributed search (automlops.search.storage, `automlops worker`); appended for the scale-out issue
    hpo_storage_url: str | None = Field(
        default=None, validation_alias=_env("HPO_STORAGE_URL"), repr=False,  # may hold a password
        description="Where a named study (--study) lives: an SQLAlchemy URL such as "
                    "postgresql+psycopg2://user:password@host:5432/optuna, shared by every worker. Empty: the "
                    "embedded SQLite file <home>/hpo.db (one machine, no set-up).",
    )
    hpo_heartbeat_interval: float = Field(
        default=10.0, gt=0, validation_alias=_env("HPO_HEARTBEAT_INTERVAL"),
        description="Seconds between two heartbeats of a running trial in a shared study.",
    )
    hpo_grace_period: float = Field(
        default=60.0, gt=0, validation_alias=_env("HPO_GRACE_PERIOD"),
        description="A running trial whose last heartbeat is older than this (its worker died) is marked "
                    "failed and retried with the same hyperparameters.",
    )
    hpo_max_retry: int = Field(
        default=2, ge=0, validation_alias=_env("HPO_MAX_RETRY"),
        description="How many times a trial whose worker died is retried.",
    )

    @model_validator(mode="after")
    def _version_needs_a_name(self) -> Settings:
        if self.model_version is not None and not self.model_name:
            raise ValueError("MODEL_VERSION is set but MODEL_NAME is not: a version number only pins a model "
                             "together with its name (set both, or neither to serve the newest model)")
        return self

    @model_validator(mode="after")
    def _stage_needs_a_name(self) -> Settings:
        if self.model_stage is not None and (not self.model_name or self.model_version is not None):
            raise ValueError("MODEL_STAGE needs MODEL_NAME and no MODEL_VERSION: the stage picks the version "
                             "of that name (set MODEL_NAME=NAME MODEL_STAGE=production)")
        return self

    @property
    def resolved_signing_key_file(self) -> Path:
        """The signing key file in use: the configured one or ``~/.automlops/signing.key``."""
        return (self.signing_key_file or Path.home() / ".automlops" / "signing.key").expanduser()

    @property
    def home(self) -> Path:
        """The studio's root folder (a field name of ``home`` would also read the shell's $HOME)."""
        return self.studio_home

    @property
    def lake_dir(self) -> Path:
        return self.home / "data_lake"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def artifacts_dir(self) -> Path:
        return self.home / "mlartifacts"

    @property
    def resolved_tracking_uri(self) -> str:
        """The tracking URI in use: the configured one, or SQLite under ``home``."""
        if self.tracking_uri:
            return self.tracking_uri
        return f"sqlite:///{(self.home / 'mlflow.db').resolve()}"

    @property
    def resolved_hpo_storage_url(self) -> str:
        """The storage of named studies: HPO_STORAGE_URL, or the embedded SQLite file under ``home``."""
        return self.hpo_storage_url or f"sqlite:///{(self.home / 'hpo.db').resolve()}"

    @property
    def resolved_api_url(self) -> str:
        return (self.api_url or f"http://127.0.0.1:{self.api_port}").rstrip("/")

    @property
    def resolved_mlflow_ui_url(self) -> str:
        return (self.mlflow_ui_url or f"http://127.0.0.1:{self.mlflow_ui_port}").rstrip("/")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


_PROBLEMS = {"int_parsing": "is not a whole number", "int_from_float": "is not a whole number",
             "float_parsing": "is not a number", "bool_parsing": "is not true or false",
             "path_type": "is not a path"}


def describe_settings_error(error: ValidationError) -> str:
    """One line naming each bad variable: ``MODEL_VERSION='abc' is not a whole number``.

    Secret settings (API key, passwords, the signing key) are named but their value is never shown.
    """
    secret = {alias for f in Settings.model_fields.values() if not f.repr
              for alias in getattr(f.validation_alias, "choices", [])}
    lines = []
    for err in error.errors():
        if not err["loc"]:  # a rule about several settings: its message says it all
            lines.append(str(err["msg"]).removeprefix("Value error, "))
            continue
        var = str(err["loc"][0])
        shown = var if var in secret else f"{var}={err['input']!r}"
        problem = _PROBLEMS.get(err["type"], str(err["msg"]).lower())
        if err["type"] == "string_too_short":
            problem = f"is too short (at least {err.get('ctx', {}).get('min_length')} characters)"
        lines.append(f"{shown} {problem}")
    return "; ".join(lines)


def get_settings(**overrides: object) -> Settings:
    """Fresh settings from the environment (cheap; not cached so tests can change env).

    A malformed value raises :class:`~automlops.errors.ConfigError` with one line naming the
    variable, which the CLI and the API turn into a message instead of a traceback.
    """
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(describe_settings_error(exc)) from None
