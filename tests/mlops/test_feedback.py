"""Ground-truth feedback beside the prediction log: all or nothing, replace on resend, joined back."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from automlops.errors import DataError
from automlops.mlops.feedback import FeedbackItem, UnknownFeedbackError, labelled_rows, record_feedback
from automlops.mlops.monitor import PredictionLog, PredictionRecord


def _log(path: Path) -> None:
    with PredictionLog(path) as log:
        log.submit(PredictionRecord(1000.0, "r1", "m", 1, ("a", "label"), [(1.0, "x"), (2.0, "y"), (3.0, "z")],
                                    ["yes", "no", "yes"]))
        log.submit(PredictionRecord(1001.0, "r2", "m", 2, ("a", "label"), [(4.0, "w")], ["no"]))
        log.submit(PredictionRecord(1002.0, "r3", "other", 1, ("a",), [(5.0,)], [7.5]))
        assert log.flush()


def _count(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'feedback'").fetchone():
            return 0  # never created: nothing written either
        return int(conn.execute("SELECT COUNT(*) FROM feedback").fetchone()[0])


def test_labels_join_their_predictions_and_a_resend_replaces(tmp_path: Path) -> None:
    path = tmp_path / "predictions.db"
    _log(path)
    result = record_feedback([FeedbackItem("r1", "yes", 0), FeedbackItem("r1", "yes", 2),
                              FeedbackItem("r2", "yes")], path=path)
    assert (result.recorded, result.replaced, result.request_ids) == (3, 0, 2)
    again = record_feedback([FeedbackItem("r1", "no", 2)], path=path)  # a correction
    assert (again.recorded, again.replaced) == (1, 1) and _count(path) == 3
    frame = labelled_rows("m", path=path)
    where = frame.attrs["meta_columns"]
    assert frame[where["request_id"]].tolist() == ["r1", "r1", "r2"]
    assert frame[where["row"]].tolist() == [0, 2, 0]
    assert frame[where["prediction"]].tolist() == ["yes", "yes", "no"]
    assert frame[where["label"]].tolist() == ["yes", "no", "yes"]  # the corrected label
    assert frame["label"].tolist() == ["x", "z", "w"]  # the feature called "label" keeps its name
    assert where["label"] == "_label" and frame["a"].tolist() == [1.0, 3.0, 4.0]
    assert frame[where["model_version"]].tolist() == [1, 1, 2]
    assert labelled_rows("m", path=path, since=1000.5)[where["request_id"]].tolist() == ["r2"]
    assert labelled_rows("m", path=path, limit=1)[where["request_id"]].tolist() == ["r2"]
    assert labelled_rows("other", path=path).empty


def test_unknown_ids_and_rows_out_of_range_are_named_and_nothing_is_written(tmp_path: Path) -> None:
    path = tmp_path / "predictions.db"
    _log(path)
    with pytest.raises(UnknownFeedbackError) as caught:
        record_feedback([FeedbackItem("r1", "yes", 0), FeedbackItem("nope", 1), FeedbackItem("r2", "no", 1),
                         FeedbackItem("r1", "no", 3)], path=path)
    message = str(caught.value)
    assert "unknown request id 'nope'" in message
    assert "'r1' row 3 (it has 3 rows)" in message and "'r2' row 1 (it has 1 row)" in message
    assert caught.value.unknown == ["nope"] and isinstance(caught.value, DataError)
    assert _count(path) == 0  # the valid first item was not written either


@pytest.mark.parametrize(("items", "match"), [
    ([], "no feedback to record"),
    ([FeedbackItem("r1", None)], "no usable label"),
    ([FeedbackItem("r1", float("nan"))], "no usable label"),
    ([FeedbackItem("r1", [1, 2])], "a label must be"),
    ([FeedbackItem("r1", "yes", -1)], "row must be a whole number"),
])
def test_bad_items_are_refused(tmp_path: Path, items: list[FeedbackItem], match: str) -> None:
    path = tmp_path / "predictions.db"
    _log(path)
    with pytest.raises(DataError, match=match):
        record_feedback(items, path=path)
    assert _count(path) == 0


def test_no_log_yet_means_every_id_is_unknown(tmp_path: Path) -> None:
    with pytest.raises(UnknownFeedbackError, match="'r1'"):
        record_feedback([FeedbackItem("r1", 1)], path=tmp_path / "fresh.db")
    assert labelled_rows("m", path=tmp_path / "missing.db").empty


def test_an_old_log_gains_the_latency_column(tmp_path: Path) -> None:
    """A log written before latency was logged still opens, and new rows carry latency."""
    path = tmp_path / "predictions.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE prediction_requests (id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, "
                     "request_id TEXT NOT NULL, model_name TEXT NOT NULL, model_version INTEGER NOT NULL, n_rows "
                     "INTEGER NOT NULL, columns TEXT NOT NULL, inputs TEXT NOT NULL, predictions TEXT NOT NULL, "
                     "classes TEXT, probabilities TEXT)")
        conn.execute("INSERT INTO prediction_requests (ts, request_id, model_name, model_version, n_rows, columns, "
                     "inputs, predictions) VALUES (1, 'old', 'm', 1, 1, '[\"a\"]', '[[1]]', '[0]')")
    with PredictionLog(path) as log:
        log.submit(PredictionRecord(2.0, "new", "m", 1, ("a",), [(2,)], [1], latency_ms=3.5))
        assert log.flush()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT request_id, latency_ms FROM prediction_requests ORDER BY id").fetchall() == [
            ("old", None), ("new", 3.5)]
    assert record_feedback([FeedbackItem("old", 1)], path=path).recorded == 1
