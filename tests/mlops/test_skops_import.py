"""Saving a scikit-learn model must not import PyTorch (2+ s of a tabular time budget) through skops."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import sys
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from automlops.core.fit import Artifact
from automlops.mlops.store import ModelStore

X, y = load_iris(return_X_y=True)
model = LogisticRegression(max_iter=200).fit(X, y)
store = ModelStore(root=sys.argv[1])
stored = store.save("iris", Artifact("tabular", model, {"task": "classification"}), {"task": "classification"})
assert stored.meta["model_format"] == "skops", stored.meta["model_format"]
assert (store.load("iris").model.predict(X) == model.predict(X)).all()
print("torch" in sys.modules)
"""


def test_a_skops_save_and_load_leave_torch_unimported(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "models")], capture_output=True, text=True,
                          timeout=120, env={"AUTOMLOPS_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-800:]
    assert done.stdout.strip() == "False"


def test_scikit_learn_still_lists_every_estimator_after_it() -> None:
    from sklearn.utils import all_estimators

    from automlops.mlops._skops import load_skops_io

    load_skops_io()
    assert len(all_estimators()) > 150
