"""Under log-loss, logistic regression gets a second start with a weak penalty (``C = 100``).

scikit-learn adds the penalty to the *sum* of the rows' losses, so the default ``C = 1`` weighs
heavily on a small table and makes a clean one's probabilities timid; the second start measures the
other end of the range (``automlops/tabular/zoo_entries.py``, ``_weak_penalty``).
"""

from __future__ import annotations

import optuna
from sklearn.datasets import load_iris

from automlops.core.metrics import get_metric
from automlops.core.problem import Problem, TaskType
from automlops.tabular import AutoMLRunner
from automlops.tabular.search import SearchSpace
from automlops.tabular.zoo import get_model


def _problem(metric: str) -> Problem:
    return Problem(TaskType.CLASSIFICATION, "target", metric, get_metric(metric).direction, classes=(0, 1, 2))


def test_the_second_start_is_the_weak_end_and_only_where_confidence_is_scored() -> None:
    spec = get_model("logistic")
    first, second = spec.defaults(_problem("log_loss")), spec.second_start(_problem("log_loss"))
    assert second is not None and second["C"] >= 100 * first["C"]
    for metric in ("roc_auc", "accuracy", "f1_macro"):  # ranks and counts keep the one start
        assert spec.second_start(_problem(metric)) is None


def test_it_is_queued_after_every_first_start() -> None:
    study = optuna.create_study()
    specs = [get_model(n) for n in ("logistic", "lightgbm", "knn")]
    labels = SearchSpace(specs, _problem("log_loss")).warm_start(study)
    queued = [t.system_attrs["fixed_params"] for t in study.get_trials(deepcopy=False)]
    assert [q["model"] for q in queued] == ["lightgbm", "logistic", "knn", "logistic"]
    assert [q["logistic__C"] for q in queued if q["model"] == "logistic"] == [1.0, 100.0]
    assert labels[-1] == "logistic again (C=100.0)", labels


def test_on_a_small_clean_table_the_weak_penalty_scores_better_out_of_fold() -> None:
    """Iris (120 search rows): the two starts are the search's first two trials, and C = 100 wins."""
    frame = load_iris(as_frame=True).frame
    runner = AutoMLRunner("target", models=["logistic"], n_trials=2, ensemble="none", seed=0).fit(frame)
    by_c = {t.params["logistic__C"]: t.value for t in runner.study_.trials}
    assert set(by_c) == {1.0, 100.0}, by_c
    assert runner.problem_.metric == "log_loss"
    assert by_c[100.0] < 0.8 * by_c[1.0], by_c
    assert runner.best_params_ == {"C": 100.0}
    assert any("logistic again (C=100.0)" in str(d) for d in runner.result_.decisions)
