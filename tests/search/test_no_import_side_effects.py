"""Importing the studio changes no global state: warning filters, logging levels and Optuna's verbosity
are the caller's (they are set only for the duration of a search, or at the entry points)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_importing_the_engines_changes_no_global_state() -> None:
    code = textwrap.dedent("""
        import logging, warnings
        import optuna, pandas, scipy.special, scipy.stats, sklearn.ensemble, sklearn.linear_model  # third party first
        before = (list(warnings.filters), optuna.logging.get_verbosity(), logging.getLogger("optuna").level)
        import automlops.cli, automlops.tabular.runner, automlops.tabular.clustering, automlops.search.driver
        import automl_engine, mlops_utils
        from automlops.tabular.zoo import ZOO
        ZOO.names()
        after = (list(warnings.filters), optuna.logging.get_verbosity(), logging.getLogger("optuna").level)
        assert before == after, (before, after)
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_a_search_restores_optuna_verbosity() -> None:
    import optuna
    from sklearn.datasets import load_iris

    from automlops.tabular import AutoMLRunner

    optuna.logging.set_verbosity(optuna.logging.DEBUG)
    try:
        AutoMLRunner("target", preset="fast", models=["logistic"], n_trials=1).fit(load_iris(as_frame=True).frame)
        assert optuna.logging.get_verbosity() == optuna.logging.DEBUG
    finally:
        optuna.logging.set_verbosity(optuna.logging.INFO)
