"""A time budget on a table large enough for a fit that cannot be interrupted (serial: it asserts wall time).

DBSCAN's neighbour search is one call into compiled code: on 40,000 rows it runs 3-9 s, and the
deadline's watchdog can only strike when it returns. Started with a second left, it used to carry the
search seconds past its budget; priced first, it is not started.
"""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.datasets import make_blobs

from automlops.clustering import ClusteringEngine
from automlops.search.driver import DriverConfig, SearchDriver

pytestmark = pytest.mark.serial


def test_a_fit_the_deadline_cannot_stop_is_not_started_when_it_would_end_past_the_budget() -> None:
    X, _ = make_blobs(n_samples=50_000, n_features=10, centers=5, random_state=0)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(10)])
    budget = 4.0
    result = SearchDriver(ClusteringEngine(models=["kmeans", "dbscan"]), DriverConfig(time_budget=budget)).fit(frame)
    assert result.wall_seconds <= budget * 1.25
    dbscan = result.trials[result.trials["model"] == "dbscan"]  # reached or not, it never ran
    assert all(str(note).startswith("skipped: priced") for note in dbscan["note"])
