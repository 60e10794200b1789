"""``automlops predict`` and ``automlops forecast``: a saved model's answers for a table, as CSV.

Any kind of model answers through the same command: a tabular model with its ``prediction`` (and
``proba_<class>`` columns), the others with what their kind answers (:mod:`automlops.tasks`).
Bad data is a :class:`~automlops.errors.DataError` (exit code 2 and one line, not a crash), and
``--out`` is written to a temp file and renamed into place.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from automlops.errors import ConfigError, DataError
from automlops.tasks import answer_table, model_kind

__all__ = ["cmd_forecast", "cmd_predict"]


def cmd_predict(args: argparse.Namespace) -> int:
    """Write one ``prediction`` column (and ``proba_<class>`` columns with ``--proba``) as CSV.

    Bad data (a missing column, text in a numeric column...) is a :class:`DataError` raised by
    :func:`~automlops.tabular.predict.predict_frame`: exit code 2 and one line, not a crash.
    """
    from automlops.config import get_settings
    from automlops.mlops.ingest import read_csv_robust
    from automlops.mlops.store import ModelStore, parse_model_ref
    from automlops.tabular.predict import predict_frame

    settings = get_settings()
    name, version = parse_model_ref(args.model)
    loaded = ModelStore(settings=settings).load(name, version)
    if not Path(args.csv).is_file():
        raise DataError(f"no such file: {args.csv}")
    if args.proba and (loaded.meta.get("task") != "classification" or not hasattr(loaded.model, "predict_proba")):
        raise ConfigError("--proba needs a classification model with probabilities")
    frame = read_csv_robust(Path(args.csv), max_bytes=settings.max_upload_bytes, min_columns=1).frame
    if model_kind(loaded.meta) == "tabular":
        answered = predict_frame(loaded.model, loaded.meta, frame, proba=args.proba)
        classes = list(loaded.model.classes_) if args.proba else []
        out = answered[["prediction", *(f"proba_{cls}" for cls in classes)]]  # the answers, not the inputs
    else:  # clusters, anomaly scores + flags, or forecasts for the rows' future timestamps
        out = answer_table(loaded.model, loaded.meta, frame)
    _write_answers(args, out, f"{len(out)} predictions of {loaded.name}@v{loaded.version}")
    return 0


def _write_answers(args: argparse.Namespace, out: Any, what: str) -> None:
    """``out`` as CSV to ``--out`` (written to a temp file, then renamed) or to stdout."""
    from automlops.core.csv_safety import to_people_csv

    text = to_people_csv(out, raw=args.raw)  # formula-leading labels neutralised unless --raw
    if args.out:
        from automlops.mlops._atomic import atomic_write_text

        atomic_write_text(Path(args.out), text)
        print(f"wrote {what} to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)


def cmd_forecast(args: argparse.Namespace) -> int:
    """The next ``--horizon`` steps of every series a forecasting model knows, with 80 and 95 % intervals."""
    from automlops.config import get_settings
    from automlops.mlops.ingest import read_csv_robust
    from automlops.mlops.store import ModelStore, parse_model_ref

    settings = get_settings()
    name, version = parse_model_ref(args.model)
    loaded = ModelStore(settings=settings).load(name, version)
    if model_kind(loaded.meta) != "forecasting":
        raise ConfigError(f"{loaded.name}@v{loaded.version} is a {loaded.meta.get('task', 'tabular')} model; "
                          "'automlops forecast' needs a forecasting model (train one with --task timeseries)")
    future = None
    if args.future:
        if not Path(args.future).is_file():
            raise DataError(f"no such file: {args.future}")
        future = read_csv_robust(Path(args.future), max_bytes=settings.max_upload_bytes, min_columns=1).frame
    from automlops.forecasting import forecast_table

    out = forecast_table(loaded.model, loaded.meta, args.horizon, future)
    _write_answers(args, out, f"{len(out)} forecast rows of {loaded.name}@v{loaded.version}")
    return 0
