"""The forecasting stability subject: AirPassengers, a ridge regression on lags saved with its data version."""

from __future__ import annotations

import dataclasses
import math
import pickle
from collections.abc import Iterator

import pandas as pd
import pytest

from automlops.errors import DataError
from automlops.mlops.lake import DataLake
from automlops.mlops.persist import save_model
from automlops.mlops.store import LoadedModel, ModelStore
from automlops.stability.forecasting import ForecastSubject, saved_subject


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoadedModel]:
    from statsforecast.utils import AirPassengersDF

    from automlops.forecasting import ForecastingEngine
    from automlops.search.driver import DriverConfig, SearchDriver

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AUTOMLOPS_HOME", str(tmp_path_factory.mktemp("forecasting-home")))
        frame = AirPassengersDF.drop(columns="unique_id").rename(columns={"ds": "month", "y": "passengers"})
        entry = DataLake().add("air", frame)
        engine = ForecastingEngine("passengers", "month", horizon=12, preset="fast", models=["ridge"])
        result = SearchDriver(engine, DriverConfig(preset="fast", n_trials=2)).fit(frame)
        stored = save_model(result, ModelStore(), "air", dataset=entry.lineage(), register=False)
        yield ModelStore().load(stored.name, stored.version)


@pytest.fixture(scope="module")
def subject(loaded: LoadedModel) -> ForecastSubject:
    return saved_subject(loaded)


def test_the_test_window_reproduces_the_saved_test_score(subject: ForecastSubject, loaded: LoadedModel) -> None:
    assert subject.kind == "forecasting" and subject.metric == "mase" and subject.direction == "minimize"
    assert subject.label == "ridge" and subject.h == 12
    assert subject.fit_score(subject.reference_split(), seed=0) == pytest.approx(loaded.meta["test_score"], abs=1e-9)


def test_origins_fit_on_the_past_only_and_score_finite_mase(subject: ForecastSubject) -> None:
    scheme, resamples = subject.resampling(3, seed=0)
    assert "forecast origins" in scheme and len(resamples) == 3
    long = subject.long
    assert list(resamples[0].test) == list(subject.reference_split().test)  # the latest origin is the test window
    ends = []
    for r in resamples:
        train, test = long.iloc[r.train], long.iloc[r.test]
        assert train["ds"].max() < test["ds"].min() and len(test) == 12  # strictly before, h points after
        assert len(train) + len(test) <= len(long) and not set(r.train) & set(r.test)
        ends.append(train["ds"].max())
    assert ends == sorted(ends, reverse=True) and len(set(ends)) == 3  # distinct origins, stepping back in time
    scores = [subject.fit_score(r, seed=0) for r in resamples[1:]]
    assert all(math.isfinite(s) and s >= 0 for s in scores)


def test_too_many_origins_for_the_history_is_a_clear_error(subject: ForecastSubject) -> None:
    with pytest.raises(DataError, match="forecast origin"):
        subject.resampling(200, seed=0)


def test_sweeps_hold_the_chosen_values_and_only_sampling_models_have_a_seed(subject: ForecastSubject) -> None:
    sweeps = {s.param: s for s in subject.sweeps(3)}
    assert {"lags", "diff", "alpha"} <= set(sweeps)
    for name, sweep in sweeps.items():
        assert sweep.chosen == subject.params[name] and sweep.chosen in sweep.values
    assert sweeps["alpha"].log and sweeps["lags"].categorical
    assert not subject.has_randomness()  # a ridge regression is a closed-form fit
    split = subject.reference_split()
    assert subject.fit_score(split, seed=0) == subject.fit_score(split, seed=5)
    boosted = ForecastSubject(subject.long, [("lightgbm", {"lags": "short", "n_estimators": 30})], combine="single",
                              weights=(), h=subject.h, ctx=subject.ctx, season=subject.season)
    assert boosted.has_randomness()
    assert boosted.fit_score(split, seed=0) != boosted.fit_score(split, seed=1)  # row subsampling follows the seed


def test_the_subject_survives_a_pickle_round_trip(subject: ForecastSubject) -> None:
    split = subject.resampling(2, seed=0)[1][1]
    again = pickle.loads(pickle.dumps(subject))
    assert again.fit_score(split, seed=0) == subject.fit_score(split, seed=0)
    assert again.fit_score(split, seed=0, params={"alpha": 500.0}) != subject.fit_score(split, seed=0)


def test_a_missing_time_column_is_named(loaded: LoadedModel) -> None:
    broken = dataclasses.replace(loaded, meta={**loaded.meta, "time_column": "when"})
    with pytest.raises(DataError, match="'when' are missing"):
        saved_subject(broken)


def test_analyze_runs_on_the_forecasting_subject(subject: ForecastSubject) -> None:
    from automlops.stability.analysis import analyze

    report = analyze(subject, splits=3, seeds=2, n_jobs=1)
    assert report.kind == "forecasting" and report.metric == "mase" and report.direction == "minimize"
    assert report.splits is not None and report.splits.n == 3
    assert report.seeds is None or report.seeds.n == 0  # no randomness: the seeds section is skipped, not crashed
    assert any("seed" in d for d in report.decisions) and report.verdict
    assert isinstance(report.to_dict(), dict) and pd.notna(report.summary()["mean"])
