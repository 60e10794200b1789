"""Fit FLAML on a benchmark train CSV and write its test predictions (run inside ``.venv-flaml``).

Usage: ``.venv-flaml/bin/python benchmarks/_flaml_runner.py TRAIN.csv TEST.csv OUT.json
--target T --task classification|regression --metric M --time-budget B``.

It is started as its own process by ``automl_quality.py``, which times the whole process and
polls its memory; this script only fits, predicts and writes. Scoring happens in the parent with
the studio's metric functions, so every contender is scored by the same code.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import contender_parser, read_table, split_xy, write_predictions  # noqa: E402


def main() -> int:
    parser = contender_parser(__doc__)
    parser.add_argument("--metric", required=True, help="FLAML metric name: roc_auc, log_loss, rmse")
    parser.add_argument("--time-budget", type=float, required=True)
    args = parser.parse_args()

    import flaml
    from flaml import AutoML

    X, y = split_xy(read_table(args.train), args.target)
    X_test, _ = split_xy(read_table(args.test), args.target)
    automl = AutoML()
    started = time.perf_counter()
    automl.fit(X_train=X, y_train=y, task=args.task, time_budget=args.time_budget, metric=args.metric,
               seed=args.seed, verbose=0)
    fit_seconds = time.perf_counter() - started
    pred = automl.predict(X_test)
    proba = classes = None
    if args.task == "classification":
        proba = automl.predict_proba(X_test)
        classes = automl.classes_
    write_predictions(args.out, pred=pred, proba=proba, classes=classes, fit_seconds=fit_seconds,
                      info={"library": f"flaml {flaml.__version__}", "best_estimator": automl.best_estimator,
                            "best_config": automl.best_config})
    return 0


if __name__ == "__main__":
    sys.exit(main())
