"""The exported script of a forecaster whose inputs are named like the long format's own columns
(``ds``, ``y``): it reads them under their names, renames them as the studio does, and reproduces
the recorded test score (statsmodels' quarterly US macro data, a ridge on lags)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from automlops.export.verify import compare_scores
from automlops.mlops.lake import DataLake
from tests.export.test_forecasting_export import _export_and_run, _macro, train_forecaster


@pytest.fixture(scope="module")
def lake_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("forecast_export_renamed") / "home"
    home.mkdir()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AUTOMLOPS_HOME", str(home))
        for var in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
            env.delenv(var, raising=False)
        frame = _macro()
        DataLake().add("gdp_odd", frame[["quarter", "realgdp"]].assign(ds=frame["realint"], y=frame["infl"]))
        yield home


def test_inputs_named_ds_and_y_reproduce_in_the_script(lake_home: Path, tmp_path: Path) -> None:
    meta = train_forecaster("gdp_odd", ["ridge"], n_trials=1, horizon=8, dataset="gdp_odd", target="realgdp",
                            time_column="quarter")
    assert meta["uses_exogenous"] and meta["exogenous"] == ["ds", "y"]
    text, score = _export_and_run("gdp_odd", tmp_path)
    assert "EXOGENOUS = ['exog_ds', 'exog_y']" in text and "'ds', 'y']" in text
    assert compare_scores(score, meta["test_score"]), (score, meta["test_score"])
