"""Bad input gets a clear ConfigError / DataError, never a library traceback."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automlops.anomaly import AnomalyEngine
from automlops.errors import ConfigError, DataError
from automlops.search.driver import DriverConfig, SearchDriver


def _fit(frame: pd.DataFrame, **kw: object) -> None:
    SearchDriver(AnomalyEngine(**kw), DriverConfig(preset="fast", n_trials=2)).fit(frame)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [0, 0.0, -0.1, 0.51, 1, "lots", True])
def test_contamination_outside_range(value: object) -> None:
    with pytest.raises(ConfigError, match="contamination"):
        AnomalyEngine(contamination=value)  # type: ignore[arg-type]


def test_contamination_accepts_auto_and_numbers() -> None:
    assert AnomalyEngine(contamination="auto").contamination == "auto"
    assert AnomalyEngine(contamination="0.5").contamination == 0.5


def test_metric_and_label_settings() -> None:
    with pytest.raises(ConfigError, match="needs labels"):
        AnomalyEngine(metric="roc_auc")
    with pytest.raises(ConfigError, match="needs a label column"):
        AnomalyEngine(select_by_label=True)
    with pytest.raises(ConfigError, match="unknown anomaly detector 'nope'"):
        AnomalyEngine(models=["iforest", "nope"])


def test_label_column_missing_or_not_two_valued(planted: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="label column 'flag' is not in the data"):
        _fit(planted, label="flag")
    three = planted.assign(anomaly=np.arange(len(planted)) % 3)
    with pytest.raises(DataError, match="must have two values"):
        _fit(three, label="anomaly")
    holes = planted.astype({"anomaly": float})
    holes.loc[3, "anomaly"] = np.nan
    with pytest.raises(DataError, match="missing value"):
        _fit(holes, label="anomaly")


def test_two_valued_text_label_marks_the_rarer_value(planted: pd.DataFrame) -> None:
    from automlops.anomaly.labels import parse_label

    text = planted.assign(anomaly=planted["anomaly"].map({0: "benign", 1: "malignant"}))
    y, how = parse_label(text, "anomaly")
    assert (y == planted["anomaly"].to_numpy()).all() and "'malignant'" in how


def test_too_few_rows_and_constant_columns() -> None:
    with pytest.raises(DataError, match="at least 10 rows"):
        _fit(pd.DataFrame({"a": range(9), "b": range(9)}))
    with pytest.raises(DataError, match="no usable feature columns"):
        _fit(pd.DataFrame({"a": [1.0] * 30, "b": ["x"] * 30}))


def test_label_selection_without_any_anomaly(planted: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="marks no anomaly"):
        _fit(planted.assign(anomaly=0), label="anomaly", select_by_label=True)
