"""Reading the prediction log back: every input feature survives, whatever its name."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from automlops.mlops.monitor import META_COLUMNS, PredictionLog, PredictionRecord, read_predictions


def _log(path: Path, columns: tuple[str, ...], rows: list[tuple[object, ...]], predictions: list[object]) -> None:
    with PredictionLog(path) as log:
        log.submit(PredictionRecord(ts=1000.0, request_id="r1", model_name="m", model_version=2, columns=columns,
                                    rows=rows, predictions=predictions))
        assert log.flush()


def test_features_named_like_log_columns_are_kept(tmp_path: Path) -> None:
    """A model with inputs ``time`` and ``prediction`` (a lag feature, say) keeps both in the frame."""
    path = tmp_path / "p.db"
    _log(path, ("time", "prediction", "_time", "x"), [(7, 0.25, "a", 1.0), (8, 0.5, "b", 2.0)], ["yes", "no"])
    frame = read_predictions(path=path)
    assert frame["time"].tolist() == [7, 8]  # the features, under their own names
    assert frame["prediction"].tolist() == [0.25, 0.5]
    assert frame["_time"].tolist() == ["a", "b"] and frame["x"].tolist() == [1.0, 2.0]
    where = frame.attrs["meta_columns"]
    assert where["time"] == "__time" and where["prediction"] == "_prediction"  # the log's own, stepped aside
    assert where["request_id"] == "request_id"
    assert frame[where["prediction"]].tolist() == ["yes", "no"]
    assert all(isinstance(t, datetime) for t in frame[where["time"]])
    assert frame.attrs["input_columns"] == ["time", "prediction", "_time", "x"]
    assert len(frame.columns) == len(set(frame.columns)) == len(META_COLUMNS) + 4


def test_ordinary_features_leave_the_log_columns_alone(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    _log(path, ("a",), [(1,)], [3.5])
    frame = read_predictions(path=path)
    assert list(frame.columns) == [*META_COLUMNS, "a"]
    assert frame.attrs["meta_columns"] == {name: name for name in META_COLUMNS}
    assert read_predictions(path=tmp_path / "missing.db").attrs["input_columns"] == []
