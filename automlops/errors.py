"""Errors a person can act on.

Engines raise these with a message a student understands ("target column 'price' has
412 missing values"); only the UI, the API and the CLI turn them into ``st.error``,
HTTP 4xx JSON or exit code 2. Anything else escaping is a bug in the studio.
"""

from __future__ import annotations

__all__ = [
    "AutoMLOpsError",
    "Cancelled",
    "ConfigError",
    "DataError",
    "IntegrityError",
    "ModelError",
    "NotFoundError",
    "TrackingError",
]


class AutoMLOpsError(Exception):
    """Base class: the message is meant to be shown to the user as it is."""


class ConfigError(AutoMLOpsError):
    """A setting or an argument is invalid (unknown preset, bad metric for the task...)."""


class DataError(AutoMLOpsError):
    """The data cannot be used: unreadable CSV, bad target column, too few rows..."""


class NotFoundError(AutoMLOpsError):
    """A dataset, version, model or run that does not exist."""


class ModelError(AutoMLOpsError):
    """A model cannot be trained, saved or loaded."""


class IntegrityError(ModelError):
    """A stored file does not match the SHA-256 recorded when it was written."""


class TrackingError(AutoMLOpsError):
    """MLflow could not be reached or refused the request."""


class Cancelled(AutoMLOpsError):
    """The user cancelled a search: nothing was refitted, tracked as finished, or saved."""
