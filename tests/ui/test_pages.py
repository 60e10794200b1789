"""AppTest for every page with the real engines and tiny data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from automlops.mlops.lake import DataLake
from automlops.mlops.store import ModelStore
from tests.ui.conftest import free_port, wait_http
from tests.ui.helpers import (
    assert_clean,
    iris_csv,
    new_app,
    open_page,
    run_until,
    start_tiny_training,
    texts,
    training_done,
)

EMPTY_STATES = {
    "home": ("AutoMLOps Studio", "No datasets yet"),
    "data_lake": ("Data Lake", "No datasets yet"),
    "train": ("Train", "No datasets yet"),
    "experiments": ("Experiments", "No AutoML runs here yet"),
    "models": ("Models", "No saved models yet"),
    "stability": ("Stability", "No saved model to analyse yet"),
    "lab": ("Search-strategy lab", "The data lake is empty"),
}


def test_every_page_has_a_title_purpose_and_helpful_empty_state(ui_home: Path) -> None:
    at = new_app()
    for page, (title, empty) in EMPTY_STATES.items():
        open_page(at, page)
        assert_clean(at)
        assert texts(at.title) == [title]
        assert at.caption[0].value  # the one-line purpose under the title
        assert any(empty in t for t in texts(at.info)), (page, texts(at.info))
    open_page(at, "settings")
    assert_clean(at)
    assert texts(at.title) == ["Settings / Tracking"]
    assert at.radio(key="set_mode").options == ["DagsHub", "MLflow server (URI + username/password)", "Local SQLite"]


def test_demo_button_seeds_the_lake(ui_home: Path, lake: DataLake) -> None:
    at = open_page(new_app(), "data_lake")
    at.button(key="lake_demo").click().run()
    assert_clean(at)
    assert {"iris", "wine", "penguins", "breast_cancer", "diabetes", "cars"} <= {d.name for d in lake.list_datasets()}
    assert at.selectbox(key="lake_view_dataset").options


def test_upload_adds_a_version_sets_the_workspace_and_profiles_it(ui_home: Path, lake: DataLake) -> None:
    at = open_page(new_app(), "data_lake")
    at.file_uploader(key="lake_upload").upload("My Flowers.csv", iris_csv(), "text/csv")
    at.run()
    assert at.text_input[0].value == "My_Flowers"  # name proposed from the file name
    at.button(key="lake_add").click().run()
    assert_clean(at)
    assert any("was added as My_Flowers v0001" in t for t in texts(at.success))
    assert [d.name for d in lake.list_datasets()] == ["My_Flowers"]
    assert at.session_state["automlops.workspace"].label == "My_Flowers v0001"
    at.selectbox(key="lake_view_target_My_Flowers").set_value("species").run()
    assert_clean(at)
    assert len(at.get("plotly_chart")) == 1  # the target balance chart
    at.file_uploader(key="lake_upload").upload("again.csv", iris_csv(), "text/csv")
    at.run()
    at.radio(key="lake_mode").set_value("existing").run()
    at.button(key="lake_add").click().run()
    assert any("already stored as My_Flowers v0001" in t for t in texts(at.success))


@pytest.mark.parametrize(("filename", "content", "message"), [
    ("picture.csv", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "not a CSV file"),
    ("ragged.csv", b"a,b,c\n1,2,3\n4,5\n6,7,8,9\n", "fields"),
    ("empty.csv", b"", "empty"),
])
def test_bad_upload_shows_the_engine_error_and_writes_nothing(ui_home: Path, lake: DataLake, filename: str,
                                                              content: bytes, message: str) -> None:
    at = open_page(new_app(), "data_lake")
    at.file_uploader(key="lake_upload").upload(filename, content, "text/csv")
    at.run()
    at.button(key="lake_add").click().run()
    assert_clean(at)
    assert any(message in t for t in texts(at.error)), texts(at.error)
    assert lake.list_datasets() == []
    assert not (ui_home / "data_lake").exists() or not any((ui_home / "data_lake").iterdir())


def test_bad_dataset_name_is_refused(ui_home: Path, lake: DataLake) -> None:
    at = open_page(new_app(), "data_lake")
    at.file_uploader(key="lake_upload").upload("iris.csv", iris_csv(), "text/csv")
    at.run()
    at.text_input[0].set_value("../escape").run()
    at.button(key="lake_add").click().run()
    assert any("invalid dataset name" in t for t in texts(at.error))
    assert lake.list_datasets() == []


def test_train_form_offers_the_whole_configuration(ui_home: Path, iris_lake: DataLake) -> None:
    at = open_page(new_app(), "train")
    assert_clean(at)
    assert at.selectbox(key="train_dataset").value == "iris"
    assert at.selectbox(key="train_target_iris").value == "target"
    assert any("task inferred as classification" in t for t in texts(at.caption))
    assert at.radio(key="train_task").options == ["Auto-detect", "Classification", "Regression",
                                                  "Time-series forecasting", "Clustering", "Anomaly detection"]
    assert any("Auto-detect would choose **classification**" in t for t in texts(at.caption))
    assert at.radio(key="train_source").options == ["AutoML search", "From the registry", "Upload a model"]
    assert at.radio(key="train_preset").options == ["fast", "medium", "best"]
    from automlops.search.strategies import STRATEGIES

    assert len(at.radio(key="train_search").options) == len(STRATEGIES.names()) == 6  # + CMA-ES and QMC
    assert at.selectbox(key="train_metric_classification_log_loss").value == "log_loss"
    for key in ("train_trials", "train_budget", "train_seed"):
        assert at.number_input(key=key).value == 0
    at.selectbox(key="train_validation_classification").set_value("auto").run()
    assert any("5-fold cross-validation" in t for t in texts(at.caption))

    at.radio(key="train_selection").set_value("ensemble").run()
    assert at.multiselect(key="ens_members_classification").value
    assert at.radio(key="ens_voting").options == ["soft", "hard"]
    assert len([n for n in at.number_input if n.key.startswith("ens_w_")]) == 2
    at.radio(key="ens_kind").set_value("stacking").run()
    assert at.selectbox(key="ens_meta_classification").options == ["logistic", "random_forest"]
    at.multiselect(key="ens_members_classification").set_value(["logistic"]).run()
    assert at.button(key="train_start").disabled
    assert any("at least two members" in t for t in texts(at.warning))

    at.radio(key="train_task").set_value("regression").run()  # text labels cannot be regressed
    assert any("holds text" in t for t in texts(at.error))
    assert_clean(at)


def test_tiny_training_finishes_with_leaderboard_and_everything_after(ui_home: Path, iris_lake: DataLake) -> None:
    at = open_page(new_app(), "train")
    start_tiny_training(at)
    assert_clean(at)
    run_until(at, training_done)
    assert_clean(at)
    assert any("Saved model **iris_tiny v0001**" in t for t in texts(at.success)), texts(at.error)
    assert at.tabs[0].label == "Leaderboard"
    assert len(at.dataframe) >= 1
    assert any("[search]" in t or "Bayesian" in t for t in texts(at.markdown))  # the decisions log
    stored = ModelStore(settings=iris_lake.settings).list_models()
    assert [m.ref for m in stored] == ["iris_tiny@v1"]
    assert stored[0].meta["dataset"]["name"] == "iris"

    open_page(at, "experiments")  # the run is in MLflow, with its plots
    assert_clean(at)
    assert "iris_tiny" in at.selectbox(key="exp_run").format_func(at.selectbox(key="exp_run").value)
    assert len(at.get("plotly_chart")) >= 3  # history, confusion matrix, ROC (+ importance)
    at.text_input(key="exp_text").set_value("nothing-matches").run()
    assert any("No run matches" in t for t in texts(at.info))

    open_page(at, "models")
    assert_clean(at)
    assert at.selectbox(key="models_pick").value == "iris_tiny@v1"
    labels = [b.label for b in at.get("download_button")]
    assert {":material/download: model.skops", ":material/download: meta.json",
            ":material/download: model card (.md)"} <= set(labels)
    rows = iris_csv().decode().splitlines()
    at.file_uploader(key="models_predict_upload").upload("new.csv", "\n".join(rows[:6]).encode(), "text/csv")
    at.run()
    assert_clean(at)
    assert any("5 predictions from iris_tiny@v1" in t for t in texts(at.success))
    at.file_uploader(key="models_predict_upload").upload("wrong.csv", b"x,y\n1,2\n", "text/csv")
    at.run()
    assert any("lacks column(s)" in t for t in texts(at.error))


def test_the_metric_follows_the_target_s_default(ui_home: Path, lake: DataLake) -> None:
    """Switching the target from a 3-class to a yes/no column switches the metric to the binary default: one
    widget for every classification target kept log-loss selected where ROC-AUC is the default."""
    from palmerpenguins import load_penguins

    penguins = load_penguins().dropna()[["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "species", "sex"]]
    lake.add("penguins", penguins.to_csv(index=False).encode(), filename="penguins.csv")
    at = open_page(new_app(), "train")
    at.selectbox(key="train_target_penguins").set_value("species").run()
    assert at.selectbox(key="train_metric_classification_log_loss").value == "log_loss"
    at.selectbox(key="train_target_penguins").set_value("sex").run()
    assert_clean(at)
    assert at.selectbox(key="train_metric_classification_roc_auc").value == "roc_auc"


def test_unusable_data_is_explained_before_training(ui_home: Path, lake: DataLake) -> None:
    lake.add("rare", b"x,y\n1,a\n2,a\n3,a\n4,b\n5,a\n6,a\n", filename="rare.csv")  # class 'b' has one row
    at = open_page(new_app(), "train")
    at.selectbox(key="train_target_rare").set_value("y").run()
    assert_clean(at)
    assert any("needs at least 2 rows" in t for t in texts(at.error)), texts(at.error)


def test_a_failed_job_is_shown_without_traceback(ui_home: Path, iris_lake: DataLake) -> None:
    from automlops.ui import jobs

    job = jobs.submit(jobs.TrainRequest("iris", 1, "no_such_column", n_trials=1), settings=iris_lake.settings)
    assert job.join(60)
    at = new_app()
    at.session_state["automlops.job_id"] = job.id
    open_page(at, "train")
    assert_clean(at)
    assert any("Training failed" in t and "'no_such_column' is not in the data" in t for t in texts(at.error))
    assert at.button(key="train_start")  # the form is back, to train again


def test_settings_refuses_bad_input_and_unreachable_servers(ui_home: Path) -> None:
    import socket

    at = open_page(new_app(), "settings")
    at.radio(key="set_mode").set_value("server").run()
    at.text_input(key="set_uri").set_value("ftp://nope")
    at.button[-1].click().run()
    assert any("must start with http://" in t for t in texts(at.error))
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    at.text_input(key="set_uri").set_value(f"http://127.0.0.1:{port}")
    at.button[-1].click().run()
    assert_clean(at)
    assert any("unreachable" in t for t in texts(at.error)), texts(at.error)
    assert any("Still using Local SQLite store" in t for t in texts(at.warning))
    at.radio(key="set_mode").set_value("dagshub").run()
    at.text_input(key="set_owner").set_value("me")
    at.text_input(key="set_repo").set_value("bad/repo")
    at.text_input(key="set_token").set_value("tok")
    at.button[-1].click().run()
    assert any("repository 'bad/repo' is not valid" in t for t in texts(at.error))
    assert at.text_input(key="set_token").value == ""  # the secret never stays in the widget


# Slow (~40 s): tests/ui/test_jobs.py trains two jobs at once in workers (and after a restart) and
# tests/ui/test_dashboard_keeps_work.py follows a job across reloads in the default run.
@pytest.mark.slow
def test_two_sessions_train_at_once_and_survive_page_switches(ui_home: Path, iris_lake: DataLake) -> None:
    from automlops.demo import seed_demo

    seed_demo(iris_lake, ["wine"])  # a second dataset: see test_jobs for the same-dataset MLflow race
    first, second = open_page(new_app(), "train"), open_page(new_app(), "train")
    start_tiny_training(first, name="first", trials=3)
    assert first.get("progress") or first.success  # the live panel (or already the results)
    second.selectbox(key="train_dataset").set_value("wine").run()
    second.radio(key="train_selection").set_value("manual").run()
    second.multiselect(key="train_models_classification").set_value(["logistic"])
    second.number_input(key="train_trials").set_value(2)
    second.text_input(key="train_name_wine").set_value("second")
    second.run()
    second.button(key="train_start").click().run()
    open_page(first, "data_lake")  # leave while it trains...
    assert_clean(first)
    open_page(first, "train")  # ...and come back: the job is still this session's
    for at, name in ((first, "first"), (second, "second")):
        run_until(at, training_done)
        assert_clean(at)
        assert any(f"Saved model **{name} v0001**" in t for t in texts(at.success)), texts(at.error)
    open_page(second, "experiments")
    assert_clean(second)
    assert len(second.multiselect(key="exp_compare").value) == 2  # two runs compared side by side
    assert len(second.get("plotly_chart")) >= 4


@pytest.fixture
def studio_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The real prediction API (uvicorn, in a thread) on a free port, serving flowers_api v2."""
    import threading

    import uvicorn
    from sklearn.datasets import load_iris

    from automlops.serving.app import create_app
    from automlops.tabular import AutoMLRunner
    from automlops.tabular.persist import save_model
    from tests.serving.conftest import make_settings

    api_home = tmp_path / "api_home"
    store = ModelStore(api_home / "models")
    runner = AutoMLRunner("target", preset="fast", models=["logistic"], n_trials=1,
                          validation="holdout").fit(load_iris(as_frame=True).frame)
    save_model(runner.result_, store, "flowers_api")
    save_model(runner.result_, store, "flowers_api")  # v2: the page must name the version it is told
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(make_settings(api_home)), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_http(f"http://127.0.0.1:{port}/ready", 30)
        monkeypatch.delenv("API_URL", raising=False)
        monkeypatch.setenv("API_PORT", str(port))
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


def _api_line(at) -> str:  # type: ignore[no-untyped-def]
    lines = [t for t in texts(at.markdown) if t.startswith("**Prediction API** — ")]
    assert len(lines) == 1, texts(at.markdown)
    return lines[0].removeprefix("**Prediction API** — ")


def test_home_shows_the_studio_api_and_the_model_it_serves(ui_home: Path, studio_api: str) -> None:
    at = open_page(new_app(), "home")
    assert_clean(at)
    assert _api_line(at) == "online, serving flowers_api v2"
    assert [b.label for b in at.get("link_button")][:1] == ["API docs"]


@pytest.mark.parametrize("index", [None, '{"status": "ok", "model": null}'])
def test_home_does_not_take_any_web_server_for_the_api(ui_home: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch, index: str | None) -> None:
    """``python -m http.server`` on the API's port: a directory listing, or a JSON file that looks like
    a health check. It answers, but it is not the studio's API."""
    import functools
    import http.server
    import threading

    served = tmp_path / "www"
    served.mkdir()
    if index is not None:
        (served / "index.html").write_text(index)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.delenv("API_URL", raising=False)
    monkeypatch.setenv("API_PORT", str(server.server_address[1]))
    try:
        at = open_page(new_app(), "home")
        assert_clean(at)
        assert _api_line(at) == "something else answers there, not the studio's API"
        assert "API docs" not in [b.label for b in at.get("link_button")]
    finally:
        server.shutdown()
        server.server_close()


def test_models_page_shows_the_served_version_and_serves_another(ui_home: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The Models page names the version the API serves; *Serve this version* moves the API to another."""
    import threading
    import time

    import httpx
    import uvicorn
    from sklearn.datasets import load_iris

    from automlops.mlops.serving_pointer import read_serving_pointer
    from automlops.serving.app import create_app
    from automlops.tabular import AutoMLRunner
    from automlops.tabular.persist import save_model
    from tests.serving.conftest import make_settings

    store = ModelStore(ui_home / "models")
    runner = AutoMLRunner("target", preset="fast", models=["logistic"], n_trials=1,
                          validation="holdout").fit(load_iris(as_frame=True).frame)
    save_model(runner.result_, store, "flowers")
    save_model(runner.result_, store, "flowers")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(make_settings(ui_home)), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_http(f"http://127.0.0.1:{port}/ready", 30)
        monkeypatch.setenv("API_PORT", str(port))
        monkeypatch.delenv("API_URL", raising=False)
        at = open_page(new_app(), "models")
        assert_clean(at)
        assert any("serves **flowers@v2**" in t for t in texts(at.caption)), texts(at.caption)
        at.selectbox(key="models_pick").set_value("flowers@v1").run()
        at.button(key="models_serve").click().run()
        assert_clean(at)
        assert read_serving_pointer(store.root).ref == "flowers@v1"  # type: ignore[union-attr]
        assert any("switches to flowers@v1" in t for t in texts(at.success))
        deadline = time.monotonic() + 5
        while httpx.get(f"http://127.0.0.1:{port}/").json()["model"]["version"] != 1:
            assert time.monotonic() < deadline, "the API did not follow Serve this version"
            time.sleep(0.1)
        at.run()
        assert any("serves **flowers@v1**" in t and "You chose **flowers@v1**" in t for t in texts(at.caption))
        assert at.button(key="models_serve").disabled
        at.button(key="models_unpin").click().run()
        assert read_serving_pointer(store.root) is None
    finally:
        server.should_exit = True
        thread.join(15)
