"""End to end in a real browser: headless Chromium (Debian's) driven by Playwright against
``streamlit run app.py``. Upload a CSV through the file chooser, pick the target, train with the
fast preset and a small budget, read the leaderboard, find the run in Experiments; reload the tab
during a training (it comes back attached to the job, with progress and a working Cancel) and
cancel it (no model version is published); then open every page by its URL. Screenshots go to
``test-artifacts/e2e/``. How fast each page paints is a benchmark: ``benchmarks/first_paint.py``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from tests.ui.conftest import free_port, stop_process, wait_http
from tests.ui.helpers import REPO, iris_csv

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
ARTIFACTS = REPO / "test-artifacts" / "e2e"
PAGES = {"": "AutoMLOps Studio", "data-lake": "Data Lake", "train": "Train", "vision": "Vision",
         "experiments": "Experiments", "models": "Models", "stability": "Stability", "search-lab": "Search-strategy lab",
         "monitoring": "Monitoring", "settings": "Settings / Tracking"}
SAVED = re.compile(r"^Saved model ")

if not Path(CHROMIUM).exists():  # .ci/run installs it; a laptop without it skips
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The served studio's home (its lake, model store and MLflow store)."""
    return tmp_path_factory.mktemp("e2e-home")


@pytest.fixture(scope="module")
def server(home: Path) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(AUTOMLOPS_HOME=str(home), API_PORT=str(free_port()), MLFLOW_UI_PORT=str(free_port()))
    log = open(home / "streamlit.log", "wb")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.address",
         "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{port}/_stcore/health", 60, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(proc)
        log.close()
        shutil.copy(home / "streamlit.log", ARTIFACTS / "streamlit.log")


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator[object]:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request: pytest.FixtureRequest) -> Iterator[object]:  # type: ignore[no-untyped-def]
    tab = browser.new_page(viewport={"width": 1400, "height": 1100})
    tab.set_default_timeout(30_000)
    yield tab
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:  # what the browser showed when it failed
        tab.screenshot(path=str(ARTIFACTS / f"FAILED-{request.node.name}.png"))
    tab.close()



def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_timeout(500)  # let charts finish their transition
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def go(page, label: str) -> None:  # type: ignore[no-untyped-def]
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=label, exact=True).click()
    page.locator("h1", has_text=label).wait_for()


def no_exception(page) -> None:  # type: ignore[no-untyped-def]
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.get_by_text("Something went wrong").count() == 0


def test_csv_to_tracked_model_in_the_browser(server: str, home: Path, page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    csv = tmp_path / "flowers.csv"
    csv.write_bytes(iris_csv())
    start = time.perf_counter()
    page.goto(server, wait_until="commit")
    page.locator("h1", has_text="AutoMLOps Studio").wait_for()
    cold = time.perf_counter() - start  # the first page a fresh server draws
    (ARTIFACTS / "cold_first_paint.json").write_text(json.dumps({"home_s": round(cold, 3)}) + "\n")
    page.get_by_text("Datasets in the lake").wait_for()
    shot(page, "01-home")

    go(page, "Data Lake")
    page.get_by_text("No datasets yet").first.wait_for()
    with page.expect_file_chooser() as chooser:
        page.locator('[data-testid="stFileUploaderDropzone"] button').click()
    chooser.value.set_files(str(csv))
    page.locator('input[aria-label="Dataset name"][value="flowers"]').wait_for()  # proposed from the file name
    page.wait_for_timeout(300)  # the rerun settles (the old, empty input goes away)
    page.get_by_role("button", name="Add to the data lake").click()
    page.get_by_text("was added as flowers v0001").wait_for()
    no_exception(page)
    shot(page, "02-data-lake-uploaded")

    go(page, "Train")
    page.get_by_text("1 · Data").wait_for()
    page.locator('[data-testid="stSelectbox"]', has_text="Target column").click()
    page.get_by_role("option", name="species", exact=True).click()
    page.get_by_text("task inferred as classification").wait_for()
    page.get_by_role("radiogroup", name="Preset").get_by_text("fast", exact=True).click()
    for label, value in (("Trials (0 = preset)", "3"), ("Time budget in seconds (0 = none)", "60")):
        box = page.get_by_label(label, exact=True)
        box.fill(value)
        box.press("Enter")
        page.wait_for_timeout(300)
    shot(page, "03-train-configured")
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("Now:").wait_for()  # the live panel replaced the form
    page.mouse.move(700, 400)
    page.mouse.wheel(0, -5000)
    page.get_by_text(re.compile(r"^[1-3]/3 trials")).or_(page.get_by_text(SAVED)).first.wait_for(
        timeout=120_000)
    page.screenshot(path=str(ARTIFACTS / "04-training-live.png"))
    page.get_by_text(SAVED).wait_for(timeout=180_000)
    page.get_by_role("tab", name="Leaderboard").wait_for()
    page.locator('[data-testid="stDataFrame"]').first.wait_for()
    no_exception(page)
    shot(page, "05-results-leaderboard")
    page.get_by_role("tab", name="Diagnostics").click()
    page.get_by_text("Confusion matrix").first.wait_for()
    shot(page, "06-results-diagnostics")

    go(page, "Experiments")
    run = page.get_by_role("combobox", name="Run")
    sync_api.expect(run).to_have_value(re.compile(r"^flowers-v1 · "))  # named after the version it saved
    no_exception(page)
    shot(page, "07-experiments")
    page.get_by_role("tab", name="Optimisation").click()
    page.mouse.move(700, 600)
    page.mouse.wheel(0, 700)  # bring the charts into view
    shot(page, "08-experiments-optimisation")

    go(page, "Models")
    sync_api.expect(page.get_by_role("combobox", name="Model version")).to_have_value("flowers@v1")
    shot(page, "09-models")
    go(page, "Settings / Tracking")
    shot(page, "10-settings")
    no_exception(page)
    # what the clicks left on disk: the uploaded version and the model trained from it
    from automlops.mlops.store import ModelStore

    stored = ModelStore(home / "models").load("flowers", 1)
    assert stored.meta["dataset"]["name"] == "flowers" and stored.meta["dataset"]["version"] == 1
    assert set(stored.model.predict(pd.read_csv(csv).drop(columns="species"))) <= {"setosa", "versicolor", "virginica"}


@pytest.mark.slow  # 22 s; the same reattach and cancel are covered in the default run by AppTest
# (tests/ui/test_dashboard_keeps_work.py) and by the job tests (tests/ui/test_jobs.py)
def test_a_reload_during_training_reattaches_and_a_cancel_publishes_nothing(  # type: ignore[no-untyped-def]
        server: str, home: Path, page) -> None:
    from automlops.mlops.lake import DataLake
    from automlops.mlops.store import ModelStore

    DataLake(home / "data_lake").add("flowers", iris_csv(), filename="flowers.csv")  # reused if already there
    store = ModelStore(home / "models")
    published = [v.version for v in store.versions("flowers")] if "flowers" in store.names() else []
    page.goto(f"{server}/train", wait_until="commit")
    page.get_by_text("1 · Data").wait_for()
    page.get_by_text("task inferred as classification").wait_for()  # target: species, the last column
    page.get_by_role("radiogroup", name="Preset").get_by_text("fast", exact=True).click()
    box = page.get_by_label("Trials (0 = preset)", exact=True)
    box.fill("2000")
    box.press("Enter")
    page.wait_for_timeout(300)
    page.get_by_role("button", name="Start training").click()
    progress = re.compile(r"^[1-9]\d*/2000 trials")
    page.get_by_text(progress).wait_for(timeout=120_000)
    sync_api.expect(page).to_have_url(re.compile(r"[?&]job=[0-9a-f]+"))

    page.reload(wait_until="commit")  # a new session: only the URL is left
    page.get_by_text("Training 'flowers' on flowers v0001").wait_for()
    page.get_by_text(progress).wait_for()
    page.get_by_text(re.compile(r"^Now: searching: trial")).wait_for()  # the trial, not the warm-start text
    sync_api.expect(page.locator('[data-testid="stSidebar"]')).to_contain_text("Workspace: flowers v0001")
    no_exception(page)
    shot(page, "11-reloaded-during-training")
    page.get_by_role("button", name="Cancel").click()
    page.get_by_text("Training cancelled: nothing was saved").wait_for(timeout=90_000)
    no_exception(page)
    shot(page, "12-cancelled-nothing-saved")
    now = [v.version for v in store.versions("flowers")] if "flowers" in store.names() else []
    assert now == published  # no new model version: nothing was published


@pytest.mark.slow  # the forecasting form, training and results are covered by AppTest (tests/ui/test_task_pages.py)
def test_a_forecast_in_the_browser(server: str, home: Path, page) -> None:  # type: ignore[no-untyped-def]
    """Forecasting from the Train page: the form asks for time column and horizon, the results show
    the forecast with its intervals and the backtest table, and the model forecasts future months."""
    from automlops.demo import DEMO_DATASETS, load_demo
    from automlops.mlops.lake import DataLake
    from automlops.mlops.store import ModelStore

    DataLake(home / "data_lake").add("co2", load_demo("co2"), note=DEMO_DATASETS["co2"].note, filename="co2.csv")
    page.goto(f"{server}/train", wait_until="commit")
    page.get_by_text("1 · Data").wait_for()
    page.locator('[data-testid="stSelectbox"]', has_text="Dataset").click()
    page.get_by_role("option", name="co2", exact=True).click()
    page.get_by_role("radiogroup", name="Task").get_by_text("Time-series forecasting", exact=True).click()
    page.locator('[data-testid="stSelectbox"]', has_text="Time column").wait_for()
    for label in ("Trials (0 = preset)", "Time budget in seconds (0 = none)"):  # the tabular form's twins are gone
        sync_api.expect(page.get_by_label(label, exact=True)).to_have_count(1)
    for label, value in (("Horizon: steps to forecast (0 = one season)", "12"), ("Trials (0 = preset)", "3"),
                         ("Time budget in seconds (0 = none)", "0")):  # the trial count bounds it
        box = page.get_by_label(label, exact=True)
        box.fill(value)
        box.press("Enter")
        page.wait_for_timeout(300)
    no_exception(page)
    shot(page, "13-forecast-configured")
    page.get_by_role("button", name="Start training").click()
    page.get_by_text(SAVED).wait_for(timeout=240_000)
    page.get_by_role("tab", name="Results").click()
    page.get_by_text("Backtest", exact=True).wait_for()
    page.get_by_text("Horizon 12 steps").wait_for()
    no_exception(page)
    shot(page, "14-forecast-results")
    stored = ModelStore(home / "models").load("co2")
    future = stored.model.forecast(6)
    assert len(future) == 6 and future["yhat"].between(360, 390).all()  # CO2 in 2002: about 372 ppm


def test_monitoring_shows_the_drift_verdict(server: str, home: Path, page) -> None:  # type: ignore[no-untyped-def]
    """A served model's drifted traffic (written through the real prediction log), checked from the page."""
    from automlops.config import Settings
    from tests.mlops.monitorkit import FEATURES, log_traffic, saved_model, wine

    settings = Settings(_env_file=None, AUTOMLOPS_HOME=str(home))  # type: ignore[call-arg]
    saved_model(settings, "winery")
    live = wine()[FEATURES].sample(120, random_state=0).reset_index(drop=True)
    log_traffic(settings, live.assign(alcohol=live["alcohol"] + 2.0, proline=live["proline"] * 2.0,
                                      ash=live["ash"] + 0.8), name="winery")
    page.goto(f"{server}/monitoring", wait_until="commit")
    page.locator("h1", has_text="Monitoring").wait_for()
    page.get_by_text("No drift check yet").wait_for()  # the model with traffic is picked first
    page.get_by_role("button", name="Check drift now").click()
    page.get_by_text(re.compile(r"^Drift detected — winery@v1")).wait_for(timeout=90_000)
    page.get_by_text("Drift over time", exact=True).wait_for()
    no_exception(page)
    shot(page, "15-monitoring")


def test_every_page_paints_in_the_browser(server: str, page) -> None:  # type: ignore[no-untyped-def]
    """Every page, opened by its URL, shows its title and no exception (its speed: benchmarks/first_paint.py)."""
    for path, title in PAGES.items():
        page.goto(f"{server}/{path}", wait_until="commit")
        page.locator("h1", has_text=title).wait_for()
        no_exception(page)
