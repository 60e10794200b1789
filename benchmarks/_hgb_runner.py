"""Fit the default HistGradientBoosting baseline and write its test predictions.

Usage: ``python benchmarks/_hgb_runner.py TRAIN.csv TEST.csv OUT.json --target T --task
classification|regression``.

The baseline is what a careful user writes in five lines without any AutoML: scikit-learn's
``HistGradientBoostingClassifier``/``Regressor`` with default settings, text columns ordinal
encoded (and flagged as categorical to the model), dates turned into integers (nanoseconds since
1970). No search, no budget. It runs as its own process so that its wall time and peak memory are
measured exactly like the other contenders'.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import contender_parser, read_table, split_xy, write_predictions  # noqa: E402


def main() -> int:
    parser = contender_parser(__doc__)
    args = parser.parse_args()

    import numpy as np
    import pandas as pd
    import sklearn
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OrdinalEncoder

    X, y = split_xy(read_table(args.train), args.target)
    X_test, _ = split_xy(read_table(args.test), args.target)
    dates = [c for c in X.columns if pd.api.types.is_datetime64_any_dtype(X[c])]
    texts = [c for c in X.columns if c not in dates and not pd.api.types.is_numeric_dtype(X[c])]
    numbers = [c for c in X.columns if c not in dates and c not in texts]

    def dates_to_int(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.apply(lambda s: s.astype("int64").where(s.notna()))

    prep = ColumnTransformer(
        [("text", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan,
                                 encoded_missing_value=np.nan), texts),
         ("date", FunctionTransformer(dates_to_int), dates),
         ("num", "passthrough", numbers)],
        verbose_feature_names_out=False)
    categorical = [True] * len(texts) + [False] * (len(dates) + len(numbers))
    model_cls = HistGradientBoostingClassifier if args.task == "classification" else HistGradientBoostingRegressor
    model: Pipeline = make_pipeline(prep, model_cls(categorical_features=categorical or None,
                                                    random_state=args.seed))
    started = time.perf_counter()
    model.fit(X, y)
    fit_seconds = time.perf_counter() - started
    pred = model.predict(X_test)
    proba = classes = None
    if args.task == "classification":
        proba = model.predict_proba(X_test)
        classes = model.classes_
    write_predictions(args.out, pred=pred, proba=proba, classes=classes, fit_seconds=fit_seconds,
                      info={"library": f"scikit-learn {sklearn.__version__}",
                            "best_estimator": model_cls.__name__})
    return 0


if __name__ == "__main__":
    sys.exit(main())
