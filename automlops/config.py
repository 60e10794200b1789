"""One place that reads the environment.

Every other module receives a :class:`Settings` (or calls :func:`get_settings`) instead of
reading ``os.environ``; that keeps configuration typed, documented and testable. Each field
lists the environment variable that sets it; ``.env.example`` shows them all.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
API_KEY_PLACEHOLDER = "change-me"

__all__ = ["API_KEY_PLACEHOLDER", "REPO_ROOT", "Settings", "get_settings"]


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
    def resolved_api_url(self) -> str:
        return (self.api_url or f"http://127.0.0.1:{self.api_port}").rstrip("/")

    @property
    def resolved_mlflow_ui_url(self) -> str:
        return (self.mlflow_ui_url or f"http://127.0.0.1:{self.mlflow_ui_port}").rstrip("/")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


def get_settings(**overrides: object) -> Settings:
    """Fresh settings from the environment (cheap; not cached so tests can change env)."""
    return Settings(**overrides)  # type: ignore[arg-type]
