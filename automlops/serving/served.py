"""The model as the API holds it: a :class:`ServedModel`, with everything requests need precomputed.

A ``ServedModel`` wraps a verified, loaded pipeline and answers ``predict`` with plain Python
lists ready for JSON. The preprocessing runs once per request and its output feeds both
``predict`` and ``predict_proba``; once verified, a compiled preprocessing path replaces it
(:mod:`automlops.serving.fastpath`). Subclasses answer differently for other kinds of model:
:class:`ClusterModel` gives each row's cluster, :class:`AnomalyModel` each row's anomaly
score and flag, :class:`ForecastModel` a forecast with its intervals. Which class wraps which stored model is
decided by :mod:`automlops.serving.predictors`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from automlops.serving.fastpath import FastPreprocessor, compile_preprocessor, probe_rows
from automlops.serving.validation import FeatureSchema, PreparedRows, prepare_rows

__all__ = ["AnomalyModel", "ClusterModel", "ForecastModel", "ServedModel"]

log = logging.getLogger("automlops.serving")


@dataclass
class ServedModel:
    """A verified model ready to answer, with everything precomputed that requests need."""

    name: str
    version: int
    task: str
    meta: dict[str, Any] = field(repr=False)
    schema: FeatureSchema = field(repr=False)
    pipeline: Any = field(repr=False)
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    classes: list[Any] | None = None
    fast: FastPreprocessor | None = field(default=None, repr=False)  # set once verified (see fastpath)
    kind: str = "tabular"
    stage: str | None = None  # the registry stage it was served for (MODEL_STAGE), cached for GET /model
    registry_version: int | None = None  # its MLflow registry version, when served for a stage

    def __post_init__(self) -> None:
        from sklearn.pipeline import Pipeline

        # Run the preprocessing once and give its output to both predict and predict_proba.
        model = self.pipeline
        if isinstance(model, Pipeline) and len(model.steps) > 1:
            self._prep: Any = model[:-1]
            self._final: Any = model.steps[-1][1]
        else:
            self._prep, self._final = None, model
        self._proba = self.task == "classification" and hasattr(self._final, "predict_proba")
        if self._proba:
            found = getattr(self._final, "classes_", None)
            self.classes = list(found.tolist()) if found is not None else list(self.meta.get("classes") or [])
        self._columns = list(self.schema.columns)
        self.ref = {"name": self.name, "version": self.version, "task": self.task}

    def frame(self, prepared: PreparedRows) -> Any:
        import pandas as pd

        if prepared.matrix is not None:
            return pd.DataFrame(prepared.matrix, columns=self._columns, copy=False)
        return pd.DataFrame(prepared.columns, columns=self._columns, copy=False)

    def predict(self, prepared: PreparedRows) -> tuple[list[Any], list[list[float]] | None]:
        """Predictions (and class probabilities) as plain Python lists, ready for JSON."""
        if self.fast is not None:
            X = self.fast.transform(prepared)
        else:
            X = self.frame(prepared)
            if self._prep is not None:
                X = self._prep.transform(X)
        predictions = self._final.predict(X)
        proba = self._final.predict_proba(X).tolist() if self._proba else None
        return predictions.tolist(), proba

    def smoke_test(self) -> None:
        """Score one plausible row (``schema.example_row``); ModelError if that fails or looks wrong."""
        from automlops.errors import ModelError

        try:
            predictions, proba = self.predict_records([self.schema.example_row()])
        except Exception as exc:
            raise ModelError(f"{self.name} v{self.version} failed its smoke test on an example row: {exc}") from exc
        if len(predictions) != 1 or (proba is not None and len(proba[0]) != len(self.classes or ())):
            raise ModelError(f"{self.name} v{self.version} answered the smoke test with the wrong shape")

    def answer(self, prepared: PreparedRows) -> dict[str, Any]:
        """The response fields for these rows: predictions, and probabilities for classifiers."""
        predictions, proba = self.predict(prepared)
        return {"predictions": predictions, "classes": self.classes, "probabilities": proba}

    def predict_records(self, records: list[dict[str, Any]]) -> tuple[list[Any], list[list[float]] | None]:
        return self.predict(prepare_rows({"records": records}, self.schema))

    def compile(self) -> bool:
        """Switch to the fast preprocessing path if it gives exactly the pipeline's features."""
        import numpy as np

        try:
            fast = compile_preprocessor(self.pipeline, self.schema)
            if fast is None or self._prep is None:
                return False
            probes = prepare_rows({"records": probe_rows(self.schema)}, self.schema)
            expected = np.asarray(self._prep.transform(self.frame(probes)), dtype=np.float64)
            got = np.asarray(fast.transform(probes), dtype=np.float64)
        except Exception as exc:  # any surprise: keep the normal path
            log.info("model %s v%d: fast preprocessing unavailable (%s)", self.name, self.version, exc)
            return False
        if got.shape != expected.shape or not np.allclose(got, expected, equal_nan=True):
            log.info("model %s v%d: fast preprocessing differs from the pipeline; not used", self.name, self.version)
            return False
        self.fast = fast
        return True



class ClusterModel(ServedModel):
    """A clusterer: each row's prediction is its cluster label (an int); there are no probabilities."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._proba, self.classes = False, None

    def predict(self, prepared: PreparedRows) -> tuple[list[Any], list[list[float]] | None]:
        labels, _ = super().predict(prepared)
        return [int(label) for label in labels], None


class AnomalyModel(ServedModel):
    """An anomaly detector: each row's prediction is its flag (1 = anomaly), with its score beside it.

    The score is higher for rows that look more anomalous; the flag says whether it passed the
    threshold chosen at training (``meta["threshold"]``), so a client can also apply its own.
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        self._proba, self.classes = False, None

    def answer(self, prepared: PreparedRows) -> dict[str, Any]:
        from automlops.tasks import answer_table

        table = answer_table(self.pipeline, self.meta, self.frame(prepared))
        return {"predictions": [int(flag) for flag in table["is_anomaly"]],
                "scores": [float(score) for score in table["score"]], "threshold": self.meta.get("threshold")}

    def predict(self, prepared: PreparedRows) -> tuple[list[Any], list[list[float]] | None]:
        return self.answer(prepared)["predictions"], None


class ForecastModel(ServedModel):
    """A forecaster: asked for a horizon (and, optionally, future rows), it answers the forecast.

    It is not fed rows to score like the others: the request names how far ahead to look
    (``horizon``) or which future timestamps to forecast (``records`` with the time column, the
    series id and any exogenous values the model uses).
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        self._proba, self.classes = False, None

    def smoke_test(self) -> None:
        """Forecast one step of every series; ModelError if that fails or gives no finite value.

        (A model with exogenous inputs needs their future values to forecast at all: nothing to try.)
        """
        import numpy as np

        from automlops.errors import ModelError

        if self.meta.get("exogenous"):
            return
        try:
            table = self.forecast(1, None)
        except Exception as exc:
            raise ModelError(f"{self.name} v{self.version} failed its smoke test (a one-step forecast): {exc}") from exc
        if not len(table) or not np.isfinite(np.asarray(table["yhat"], dtype=float)).all():
            raise ModelError(f"{self.name} v{self.version} answered its one-step smoke forecast with no finite value")

    def forecast(self, horizon: int | None, records: list[dict[str, Any]] | None) -> Any:
        """The forecast frame (``unique_id, ds, yhat`` and the 80/95 % bounds), ``ds`` as text written the
        model's way (``2020-01-02T00:00:00`` for an hourly model, midnight or not); DataError if impossible."""
        import pandas as pd

        from automlops.forecasting import forecast_table, predict_table
        from automlops.forecasting.predict import written_times

        if records:
            table = predict_table(self.pipeline, self.meta, pd.DataFrame.from_records(records))
        else:
            table = forecast_table(self.pipeline, self.meta, horizon, None)
        return written_times(self.pipeline, table)

    def answer_forecast(self, horizon: int | None, records: list[dict[str, Any]] | None) -> dict[str, Any]:
        """The response fields: the forecast, its ``yhat`` as ``predictions``, and warnings for the columns
        of ``records`` the model does not use (ignored, as ``automlops forecast --future`` says too), and for a
        ``horizon`` sent with future rows (the rows decide the steps)."""
        from automlops.forecasting.predict import unused_columns

        table = self.forecast(horizon, records)
        columns = dict.fromkeys(name for record in records or [] for name in record)
        warnings = unused_columns(self.pipeline, self.meta, columns) if columns else []
        if records and horizon is not None:
            warnings.append(f"horizon {horizon} ignored: the future rows say which steps to forecast")
        return {"n_rows": len(table), "predictions": table["yhat"].tolist(),
                "forecast": table.to_dict(orient="records"), "warnings": warnings}
