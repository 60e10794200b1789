"""How fast does each dashboard page paint? Headless Chromium against ``streamlit run app.py``.

The dashboard runs as a user starts it, on a home seeded with the demo datasets (``automlops
demo``) so that pages have something to draw. Debian's Chromium, driven by Playwright, opens each
page by its URL; the time from navigation to the page's title (its ``h1``) being visible is that
page's first paint. Every page is visited ``--visits`` times, pages interleaved (so a load spike
on a shared machine hits all of them alike); the median per page is reported, and the first visit
to the fresh server (a cold start: imports, first script run) is reported apart.

Target (the developers' guide): every page paints in under 2 s. The exit code is 1 when a median
misses it, so ``make bench`` shows it.

    python benchmarks/first_paint.py            # 5 visits per page (~1 min)
    python benchmarks/first_paint.py --quick    # 3 visits per page
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from _servers import free_port, running_server  # benchmarks/ is sys.path[0] when a benchmark runs

REPO = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "first_paint.json"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TARGET_S = 2.0
# URL path -> the page's title, as the sidebar names them.
PAGES = {"": "AutoMLOps Studio", "data-lake": "Data Lake", "train": "Train", "vision": "Vision",
         "experiments": "Experiments", "models": "Models", "stability": "Stability", "search-lab": "Search-strategy lab",
         "monitoring": "Monitoring", "settings": "Settings / Tracking"}


@contextlib.contextmanager
def dashboard(home: Path) -> Iterator[str]:
    """``streamlit run app.py`` on a free loopback port, serving ``home``; ready once its health check answers."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "AUTOMLOPS_"))}
    env.update(AUTOMLOPS_HOME=str(home), API_PORT=str(free_port()), MLFLOW_UI_PORT=str(free_port()))
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.address",
           "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false"]
    with running_server(cmd, env, f"http://127.0.0.1:{port}/_stcore/health", home / "streamlit.log", timeout=90,
                        cwd=REPO):
        yield f"http://127.0.0.1:{port}"


def measure(url: str, visits: int) -> tuple[float, dict[str, list[float]]]:
    """The cold first paint of the home page, then ``visits`` timed visits of every page."""
    from playwright.sync_api import sync_playwright

    def paint(page, path: str, title: str) -> float:  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        page.goto(f"{url}/{path}", wait_until="commit")
        page.locator("h1", has_text=title).wait_for()
        return time.perf_counter() - start

    timings: dict[str, list[float]] = {path or "home": [] for path in PAGES}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.set_default_timeout(60_000)
        cold = paint(page, "", PAGES[""])
        for _ in range(visits):
            for path, title in PAGES.items():
                timings[path or "home"].append(round(paint(page, path, title), 3))
        browser.close()
    return cold, timings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 visits per page instead of 5")
    parser.add_argument("--visits", type=int, help="visits per page (overrides --quick)")
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"where the figures go (default {RESULTS})")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"first_paint: {CHROMIUM} is missing (apt-get install chromium)", file=sys.stderr)
        return 2
    visits = args.visits or (3 if args.quick else 5)
    with tempfile.TemporaryDirectory(prefix="first-paint-") as tmp:
        home = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "AUTOMLOPS_"))}
        subprocess.run([sys.executable, "-m", "automlops.cli", "demo"], cwd=home, check=True, capture_output=True,
                       env={**env, "AUTOMLOPS_HOME": str(home)})
        with dashboard(home) as url:
            cold, timings = measure(url, visits)
    medians = {name: statistics.median(values) for name, values in timings.items()}
    print(f"cold start (first page of a fresh server): {cold:.2f} s")
    print(f"| page | median s ({visits} visits) | slowest s | under {TARGET_S:g} s |\n|---|---:|---:|---|")
    for name, values in timings.items():
        print(f"| {name} | {medians[name]:.2f} | {max(values):.2f} | {'yes' if medians[name] < TARGET_S else 'NO'} |")
    report = {"target_s": TARGET_S, "visits": visits, "cold_home_s": round(cold, 3), "median_s": medians,
              "runs_s": timings, "machine": {"cpus": os.cpu_count(), "load1": os.getloadavg()[0]}}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    slow = {name: m for name, m in medians.items() if m >= TARGET_S}
    if slow:
        print(f"first_paint: over {TARGET_S:g} s: {slow}", file=sys.stderr)
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
