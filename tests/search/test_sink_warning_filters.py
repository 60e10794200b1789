"""The MLflow sink's background imports do not leak library warnings onto the user's terminal.

A fresh interpreter (this test process has long imported ``requests``) plays a search: trial
after trial inside ``warnings.catch_warnings()`` on the main thread while the sink imports MLflow
on its own thread, with a real SQLite MLflow store. Then urllib3's SOCKS module is imported, as
``requests`` does for every session: PySocks is not installed, so urllib3 warns unless the filter
``requests`` installs at import is still in place. Before the sink imported ``requests`` on the
calling thread, the catch_warnings blocks dropped that filter and the warning reached stderr.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SEARCH_BESIDE_THE_SINK = """
import sys, time, warnings
from automlops.config import Settings
from automlops.core.problem import Problem, TaskType
from automlops.mlops.tracking import Tracker
from automlops.search.tracking_sink import TrackingSink

assert "requests" not in sys.modules, "requests was imported before the sink: the test would prove nothing"
problem = Problem(task=TaskType.CLUSTERING, target=None, metric="silhouette", direction="maximize")
sink = TrackingSink(Tracker(settings=Settings()), run_name="t", problem=problem, dataset=None)
sink.start({"preset": "fast"})
while not sink.run_id.done():  # the search: each trial silences its own warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        time.sleep(0.002)
assert sink.run_id.result() is not None
try:
    import urllib3.contrib.socks  # what requests tries for every proxy-capable session
except ImportError:
    pass
print("done")
"""


def test_a_search_beside_the_sink_keeps_the_socks_warning_silenced(home: Path) -> None:
    pytest.importorskip("urllib3.contrib")
    try:
        import socks  # noqa: F401
        pytest.skip("PySocks is installed: urllib3 has nothing to warn about")
    except ImportError:
        pass
    done = subprocess.run([sys.executable, "-c", SEARCH_BESIDE_THE_SINK], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "done"
    assert "DependencyWarning" not in done.stderr, done.stderr[-2000:]
