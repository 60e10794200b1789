"""Helpers for the dashboard tests: AppTest navigation, polling, tiny data."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from pathlib import Path

from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "app.py"
PAGES = {name: f"automlops/ui/pages/{name}.py" for name in
         ("home", "data_lake", "train", "experiments", "models", "stability", "lab", "monitoring", "settings")}
CRED_VARS = ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")
GENERIC = "Something went wrong"


def new_app() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=60)


def open_page(at: AppTest, name: str) -> AppTest:
    """Switch to a page and run it (the first run goes to Home, as a browser would)."""
    try:
        at.main  # noqa: B018 - raises before the first run
    except KeyError:
        at.run()
    at.switch_page(PAGES[name])
    return at.run()


def assert_clean(at: AppTest) -> None:
    """No exception element and no generic error box: every failure was an expected one."""
    assert not at.exception, [e.value for e in at.exception]
    assert not [e.value for e in at.error if GENERIC in e.value]


def texts(elements: object) -> list[str]:
    return [str(e.value) for e in elements]  # type: ignore[attr-defined]


def run_until(at: AppTest, done: Callable[[AppTest], bool], timeout: float = 120.0, every: float = 0.5) -> AppTest:
    """Re-run the page until ``done(at)`` (a background job finishing), or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not done(at):
        if time.monotonic() > deadline:
            raise AssertionError(f"not done after {timeout} s; errors: {texts(at.error)}")
        time.sleep(every)
        at.run()
    return at


def training_done(at: AppTest) -> bool:
    return not any(b.label == "Cancel" for b in at.button) and (bool(at.success) or bool(at.error))


def iris_csv() -> bytes:
    from sklearn.datasets import load_iris

    frame = load_iris(as_frame=True).frame
    frame["species"] = frame.pop("target").map(dict(enumerate(["setosa", "versicolor", "virginica"])))
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue().encode()


def start_tiny_training(at: AppTest, *, name: str = "iris_tiny", trials: int = 2) -> AppTest:
    """On the Train page (iris in the lake): logistic only, ``trials`` trials, then press Start."""
    at.radio(key="train_selection").set_value("manual").run()
    at.multiselect(key="train_models_classification").set_value(["logistic"])
    at.number_input(key="train_trials").set_value(trials)
    at.text_input(key="train_name_iris").set_value(name)
    at.run()
    return at.button(key="train_start").click().run()
