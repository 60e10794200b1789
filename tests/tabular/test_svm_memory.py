"""The zoo's SVM keeps libsvm's kernel cache to what a trial needs (zoo_entries.SVM_CACHE_MB)."""

from __future__ import annotations

import json
import subprocess
import sys

# One fit in a fresh interpreter, so the process's peak resident size is this fit's alone.
FIT = """
import json, resource
import numpy as np
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler
from automlops.core.problem import Problem, TaskType
from automlops.tabular.zoo import get_model

digits = load_digits()
rng = np.random.default_rng(0)
X = np.vstack([digits.data] * 4) + rng.normal(0, 0.5, (4 * len(digits.data), 64))  # 7,188 rows
X = StandardScaler().fit_transform(X)
y = np.concatenate([digits.target] * 4).astype(float)
problem = Problem(task=TaskType.REGRESSION, target="digit", metric="rmse", direction="minimize")
model = get_model("svm").build({"C": 10.0, "gamma": 0.1, "epsilon": 0.1}, problem, 0)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
model.fit(X, y)
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"grown_mb": grown / 1024, "cache": model.regressor_.cache_size,
                  "r2": float(model.score(X, y))}))
"""


def test_the_svm_fit_on_7k_rows_grows_the_process_by_its_kernel_cache_not_scikit_learns_200_mb() -> None:
    """7,188 rows at C = 10, gamma = 0.1: with scikit-learn's 200 MB cache the fit grew the process by
    ~149 MB; the zoo's SVM stops its cache at 50 MB (~48 MB grown here; 100 MB grew it ~79 MB) and learns
    the digits as well."""
    out = subprocess.run([sys.executable, "-c", FIT], capture_output=True, text=True, check=True, timeout=110)
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["cache"] == 50
    assert found["r2"] > 0.9
    assert found["grown_mb"] < 75, f"the fit grew the process by {found['grown_mb']:.0f} MB"
