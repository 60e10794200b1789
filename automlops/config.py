"""One place that reads the environment.

Every other module receives a :class:`Settings` (or calls :func:`get_settings`) instead of
reading ``os.environ``; that keeps configuration typed, documented and testable. Each field
lists the environment variable that sets it; ``.env.example`` shows them all.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
API_KEY_PLACEHOLDER = "change-me"

__all__ = ["API_KEY_PLACEHOLDER", "REPO_ROOT", "Settings", "get_settings"]


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    """Typed configuration of the studio (environment variables, then ``.env``)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True, env_ignore_empty=True)

    home: Path = Field(
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
    debug: bool = Field(default=False, validation_alias=_env("AUTOMLOPS_DEBUG"),
                        description="Show full tracebacks in the CLI (for developers).")
    api_port: int = Field(default=8000, validation_alias=_env("API_PORT"))
    dashboard_port: int = Field(default=8501, validation_alias=_env("DASHBOARD_PORT"))
    mlflow_ui_port: int = Field(default=5000, validation_alias=_env("MLFLOW_UI_PORT"))

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
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


def get_settings(**overrides: object) -> Settings:
    """Fresh settings from the environment (cheap; not cached so tests can change env)."""
    return Settings(**overrides)  # type: ignore[arg-type]
