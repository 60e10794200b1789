"""The shipped MLflow store template: same schema as a migrated store, created in milliseconds."""

from __future__ import annotations

import gzip
import sqlite3
import time
from pathlib import Path

from automlops.config import Settings
from automlops.mlops._mlflow_template import seed_sqlite_store, template_path
from automlops.mlops.tracking import Tracker


def _schema(db: Path) -> set[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return set(conn.execute("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"))


def test_template_matches_the_installed_mlflow(tmp_path: Path) -> None:
    template = template_path()
    assert template.is_file(), "regenerate with: python -m automlops.mlops._mlflow_template"
    db = tmp_path / "t.db"
    db.write_bytes(gzip.decompress(template.read_bytes()))
    with sqlite3.connect(db) as conn:
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    from alembic.script import ScriptDirectory
    from mlflow.store.db.utils import _get_alembic_config

    head = ScriptDirectory.from_config(_get_alembic_config(f"sqlite:///{db}")).get_current_head()
    assert revision == head


def test_seeded_store_is_usable_and_fast(tmp_path: Path) -> None:
    db = tmp_path / "mlflow.db"
    started = time.perf_counter()
    assert seed_sqlite_store(db, tmp_path / "mlartifacts")
    assert time.perf_counter() - started < 1.0
    assert not seed_sqlite_store(db, tmp_path / "mlartifacts")  # never overwrites an existing store
    tracker = Tracker(f"sqlite:///{db}", "seeded", settings=Settings(studio_home=tmp_path))
    run_id = tracker.start_run("r")
    tracker.log_metrics(run_id, {"m": 1.0})
    tracker.end_run(run_id)
    assert tracker.client.get_run(run_id).data.metrics["m"] == 1.0
    with sqlite3.connect(db) as conn:
        location = conn.execute("SELECT artifact_location FROM experiments WHERE experiment_id = 0").fetchone()[0]
    assert location == str(tmp_path / "mlartifacts" / "0")
