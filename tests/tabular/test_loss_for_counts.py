"""LightGBM also tries the Poisson loss when the target is a count (whole numbers, never negative).

The Poisson loss models log(mean): an error of 10 weighs less at 400 than at 20, and predictions are
never negative. It won on the mid-size benchmark's bike counts, so squared error stays LightGBM's first
start and Poisson is tried right after it; the search keeps what validates. Other targets (negative
values, or fractions such as wages) search exactly as before.
"""

from __future__ import annotations

import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes

from automlops.core.problem import Problem, TaskType
from automlops.tabular import AutoMLRunner
from automlops.tabular.early_stopping import _lightgbm_in_blocks
from automlops.tabular.search import SearchSpace
from automlops.tabular.zoo import get_model


def _regression(counts: bool) -> Problem:
    return Problem(TaskType.REGRESSION, "progression", "rmse", "minimize", count_target=counts)


@pytest.fixture(scope="module")
def diabetes() -> pd.DataFrame:
    return load_diabetes(as_frame=True, scaled=False).frame.rename(columns={"target": "progression"})


def test_the_poisson_start_follows_lightgbm_and_only_for_a_count_target() -> None:
    specs = [get_model(n) for n in ("lightgbm", "lightgbm_xt", "ridge")]
    study = optuna.create_study()
    labels = SearchSpace(specs, _regression(True)).warm_start(study)
    queued = [t.system_attrs["fixed_params"] for t in study.get_trials(deepcopy=False)]
    assert [q["model"] for q in queued] == ["lightgbm", "lightgbm", "lightgbm_xt", "ridge"]
    assert [queued[0]["lightgbm__objective"], queued[1]["lightgbm__objective"]] == ["regression", "poisson"]
    assert queued[2]["lightgbm_xt__objective"] == "regression"  # a searched parameter: every start names it
    assert labels[1] == "lightgbm again (objective=poisson)", labels

    study = optuna.create_study()
    SearchSpace(specs, _regression(False)).warm_start(study)
    queued = [t.system_attrs["fixed_params"] for t in study.get_trials(deepcopy=False)]
    assert [q["model"] for q in queued] == ["lightgbm", "lightgbm_xt", "ridge"]
    assert not any(key.endswith("__objective") for q in queued for key in q)


def test_a_poisson_model_predicts_positive_amounts_the_same_in_tree_blocks(diabetes: pd.DataFrame) -> None:
    """A large model predicts a block of trees at a time; Poisson's raw scores are log(mean), so the
    blocks' sum goes through exp, as LightGBM's own single pass does."""
    X, y = diabetes.drop(columns="progression"), diabetes["progression"]
    problem = _regression(True)
    params = {**get_model("lightgbm").defaults(problem), "objective": "poisson", "n_estimators": 600}
    model = get_model("lightgbm").build(params, problem, 0).fit(X, y)
    blocks = _lightgbm_in_blocks(model.estimator_, X)
    assert blocks is not None  # 600 trees, 442 rows: the block path, not the single pass
    single = model.estimator_.predict(X)
    np.testing.assert_allclose(blocks, single, rtol=1e-6)
    np.testing.assert_allclose(model.predict(X), single, rtol=1e-6)
    assert single.min() > 0


def test_a_search_on_a_count_target_runs_the_poisson_start(diabetes: pd.DataFrame) -> None:
    """diabetes' disease progression is a whole number from 25 to 346; shifted or scaled it is not a count."""
    runner = AutoMLRunner("progression", models=["lightgbm"], n_trials=2, ensemble="none", seed=0).fit(diabetes)
    assert runner.engine_.problem.count_target
    objectives = [t.params["lightgbm__objective"] for t in runner.study_.trials]
    assert objectives == ["regression", "poisson"]
    assert all(np.isfinite(t.value) for t in runner.study_.trials)
    assert any("lightgbm again (objective=poisson)" in str(d) for d in runner.result_.decisions)

    for not_counts in (diabetes["progression"] - 200, diabetes["progression"] / 7):
        runner = AutoMLRunner("progression", models=["lightgbm"], n_trials=2, ensemble="none",
                              seed=0).fit(diabetes.assign(progression=not_counts))
        assert not runner.engine_.problem.count_target
        assert not any("lightgbm__objective" in t.params for t in runner.study_.trials)
