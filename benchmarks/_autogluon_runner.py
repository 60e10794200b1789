"""Fit AutoGluon on a benchmark train CSV and write its test predictions (run inside ``.venv-autogluon``).

Usage: ``.venv-autogluon/bin/python benchmarks/_autogluon_runner.py TRAIN.csv TEST.csv OUT.json
--target T --task classification|regression --metric M --time-budget B``.

AutoGluon as its users run it: ``TabularPredictor(label, eval_metric, path, verbosity=0)
.fit(train, time_limit=B, presets="medium_quality")`` — AutoGluon's default preset: no bagging
or stacking (``auto_stack=False``); its default models (LightGBM, CatBoost, XGBoost, random and
extra trees, two neural networks) are fitted in turn until the time limit, then combined in a
weighted ensemble. The problem type (binary, multiclass,
regression) is given, as ``--task`` is to FLAML, so AutoGluon cannot guess another one from
whole-number targets. Models are written to a folder in the working directory (the parent
removes it). Like ``_flaml_runner.py``, this script only fits, predicts and writes; the parent
times the process, polls its memory and scores the predictions with the studio's metrics.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import contender_parser, read_table, split_xy, write_predictions  # noqa: E402


def main() -> int:
    parser = contender_parser(__doc__)
    parser.add_argument("--metric", required=True,
                        help="AutoGluon metric name: roc_auc, log_loss, root_mean_squared_error")
    parser.add_argument("--time-budget", type=float, required=True)
    parser.add_argument("--presets", default="medium_quality")
    args = parser.parse_args()

    import autogluon.tabular
    from autogluon.tabular import TabularPredictor

    train = read_table(args.train)
    X_test, _ = split_xy(read_table(args.test), args.target)
    if args.task == "regression":
        problem_type = "regression"
    else:
        problem_type = "binary" if train[args.target].nunique() == 2 else "multiclass"
    predictor = TabularPredictor(label=args.target, problem_type=problem_type, eval_metric=args.metric,
                                 path=str(Path.cwd() / "autogluon-models"), verbosity=0)
    started = time.perf_counter()
    predictor.fit(train, time_limit=args.time_budget, presets=args.presets)
    fit_seconds = time.perf_counter() - started
    pred = predictor.predict(X_test)
    proba = classes = None
    if args.task == "classification":
        classes = list(predictor.class_labels)
        proba = predictor.predict_proba(X_test, as_multiclass=True)[classes].to_numpy(dtype="float64")
        # AutoGluon's probabilities are float32: rows sum to 1 ± 1e-7, which scikit-learn's log-loss warns about.
        proba = proba / proba.sum(axis=1, keepdims=True)
    leaderboard = predictor.leaderboard(silent=True)
    write_predictions(args.out, pred=pred, proba=proba, classes=classes, fit_seconds=fit_seconds,
                      info={"library": f"autogluon.tabular {autogluon.tabular.__version__}",
                            "best_estimator": predictor.model_best, "presets": args.presets,
                            "problem_type": problem_type, "models_fitted": len(leaderboard)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
