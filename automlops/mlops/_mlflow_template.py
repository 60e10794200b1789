"""A fresh MLflow SQLite store in milliseconds instead of seconds.

The first time MLflow opens an empty SQLite file it runs every schema migration since MLflow
1.x: 5 s of CPU on an idle laptop, over 15 s on a busy 2-core machine — longer than a short
training budget. The schema of a given MLflow version never changes, so the studio ships the
empty, fully migrated database of the pinned MLflow version (17 KB gzipped) and copies it into
place. For any other MLflow version the template is ignored and MLflow migrates as usual.

Regenerate after an MLflow upgrade: ``python -m automlops.mlops._mlflow_template``.
"""

from __future__ import annotations

import gzip
import shutil
import sqlite3
import tempfile
from importlib import metadata
from pathlib import Path

from automlops.mlops._atomic import atomic_write_bytes

__all__ = ["build_template", "seed_sqlite_store", "template_path"]

TEMPLATES = Path(__file__).with_name("templates")


def template_path(version: str | None = None) -> Path:
    return TEMPLATES / f"mlflow-{version or metadata.version('mlflow')}.db.gz"


def seed_sqlite_store(db: Path, artifacts_root: Path) -> bool:
    """Create ``db`` from the template when it matches the installed MLflow; False if not used."""
    template = template_path()
    if db.exists() or not template.is_file():
        return False
    with gzip.open(template, "rb") as fh:
        data = fh.read()
    with tempfile.TemporaryDirectory(dir=db.parent) as tmp:
        staged = Path(tmp) / db.name
        staged.write_bytes(data)
        with sqlite3.connect(staged) as conn:  # MLflow's "Default" experiment points at our artifacts
            conn.execute("UPDATE experiments SET artifact_location = ? WHERE experiment_id = 0",
                         (str(artifacts_root / "0"),))
        try:
            atomic_write_bytes(db, staged.read_bytes(), overwrite=False)
        except FileExistsError:  # another process seeded it first
            return False
    return True


def build_template() -> Path:
    """Let MLflow create and migrate an empty store, then save it gzipped as the template."""
    from mlflow.tracking import MlflowClient

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "mlflow.db"
        MlflowClient(tracking_uri=f"sqlite:///{db}").search_experiments(max_results=1)
        TEMPLATES.mkdir(exist_ok=True)
        out = template_path()
        with open(db, "rb") as src, gzip.open(out, "wb", compresslevel=9) as dst:
            shutil.copyfileobj(src, dst)
    return out


if __name__ == "__main__":
    print(build_template())
