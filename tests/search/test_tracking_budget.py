"""A tracking server that never answers cannot break the time budget (the wait for MLflow is bounded)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from sklearn.datasets import load_breast_cancer

from automlops.config import Settings
from automlops.mlops.tracking import Tracker
from automlops.tabular import AutoMLRunner


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP server on 127.0.0.1 that accepts connections and never sends a byte (a hung MLflow)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    server.close()


def test_a_hung_tracking_server_does_not_break_the_budget(silent_server: str, settings: Settings) -> None:
    df = load_breast_cancer(as_frame=True).frame
    tracker = Tracker(silent_server, settings=settings)
    started = time.monotonic()
    runner = AutoMLRunner("target", preset="fast", models=["logistic", "knn"], time_budget=6, tracker=tracker,
                          started_at=started).fit(df)
    wall = time.monotonic() - started
    assert wall <= 6 * 1.1 + 0.5, f"took {wall:.1f} s for a 6 s budget"
    assert runner.run_id_ is None and runner.best_estimator_ is not None  # the model is trained all the same
    assert any("not logged within" in e for e in runner.tracking_errors_)
    assert any(d.topic == "tracking" and "the results and the model" in d.message for d in runner.decisions_)
