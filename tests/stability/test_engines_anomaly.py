"""The anomaly stability subject: breast cancer cells with 5 % planted malignant rows, an Isolation Forest + COPOD."""

from __future__ import annotations

import dataclasses
import math
import pickle
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from automlops.errors import DataError
from automlops.mlops.lake import DataLake
from automlops.mlops.persist import save_model
from automlops.mlops.store import LoadedModel, ModelStore
from automlops.stability.anomaly import AnomalySubject, saved_subject


def planted() -> pd.DataFrame:
    """Benign cells plus malignant ones subsampled to 5 %, marked in an 'anomaly' column (1 = known anomaly)."""
    d = load_breast_cancer(as_frame=True).frame
    benign, malignant = d[d.target == 1], d[d.target == 0]
    malignant = malignant.sample(int(round(0.05 / 0.95 * len(benign))), random_state=0)
    frame = pd.concat([benign, malignant]).sample(frac=1, random_state=0).reset_index(drop=True)
    frame["anomaly"] = (frame.pop("target") == 0).astype(int)
    return frame


MEMBERS = [("iforest", {"n_estimators": 80, "max_samples": 0.7, "max_features": 0.8}), ("copod", {})]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with pytest.MonkeyPatch.context() as mp:
        root = tmp_path_factory.mktemp("anomaly-home")
        mp.setenv("AUTOMLOPS_HOME", str(root))
        yield root


@pytest.fixture(scope="module")
def handmade(home: Path) -> LoadedModel:
    """A real fitted anomaly model (the engine's own fit_anomaly_model) with the meta a saved one carries."""
    from sklearn.preprocessing import StandardScaler

    from automlops.anomaly.model import Member, fit_anomaly_model

    frame = planted()
    entry = DataLake().add("cells", frame)
    columns = [c for c in frame.columns if c != "anomaly"]
    model, _, _ = fit_anomaly_model(StandardScaler(), [Member(m, p) for m, p in MEMBERS], frame, columns, 0)
    meta = {"name": "cells", "version": 1, "kind": "anomaly", "dataset": entry.lineage(), "input_columns": columns,
            "label": "anomaly", "metric": "agreement_stability", "members": [{"model": m, "params": p}
                                                                              for m, p in MEMBERS]}
    return LoadedModel(model, meta, home / "models" / "cells" / "v0001")


@pytest.fixture(scope="module")
def subject(handmade: LoadedModel) -> AnomalySubject:
    return saved_subject(handmade)


def test_with_a_label_the_score_is_roc_auc_on_the_test_rows(subject: AnomalySubject) -> None:
    assert subject.kind == "anomaly" and subject.metric == "roc_auc" and subject.direction == "maximize"
    assert subject.label == "ensemble(iforest, copod)"
    split = subject.reference_split()
    assert len(split.test) == round(0.2 * len(subject.frame))
    assert 0.5 < subject.fit_score(split, seed=0) <= 1.0  # planted malignant cells do stand out


@pytest.mark.slow
def test_the_reference_split_reproduces_an_engine_trained_model_s_test_score(home: Path) -> None:
    from automlops.anomaly import AnomalyEngine
    from automlops.search.driver import DriverConfig, SearchDriver

    frame = planted()
    entry = DataLake().add("cells", frame)
    engine = AnomalyEngine(label="anomaly", contamination=0.05, models=["iforest", "copod"], preset="fast")
    result = SearchDriver(engine, DriverConfig(preset="fast", n_trials=3)).fit(frame)
    stored = save_model(result, ModelStore(), "cells_engine", dataset=entry.lineage(), register=False)
    loaded = ModelStore().load(stored.name, stored.version)
    subject = saved_subject(loaded)
    assert subject.label == loaded.meta["best_model"]
    expected = loaded.meta["test_metrics"]["roc_auc"]
    assert subject.fit_score(subject.reference_split(), seed=0) == pytest.approx(expected, abs=1e-12)
    unlabelled = AnomalySubject(subject.frame, subject.prep, subject.members, subject.input_columns)
    assert unlabelled.fit_score(unlabelled.reference_split(), seed=0) == pytest.approx(loaded.meta["test_score"],
                                                                                       abs=1e-12)


def test_splits_are_stratified_by_the_known_anomalies_and_score_in_range(subject: AnomalySubject) -> None:
    scheme, resamples = subject.resampling(2, seed=5)
    assert "stratified" in scheme and len(resamples) == 2
    assert subject.y is not None
    share = subject.y.mean()
    for r in resamples:
        assert not set(r.train) & set(r.test) and len(r.train) + len(r.test) == len(subject.frame)
        assert subject.y[r.test].mean() == pytest.approx(share, abs=0.02)  # every test part holds anomalies
    scores = [subject.fit_score(r, seed=0) for r in resamples]
    assert all(math.isfinite(s) and 0.0 <= s <= 1.0 for s in scores)


def test_sweeps_name_each_member_s_parameters_and_hold_the_chosen_values(subject: AnomalySubject) -> None:
    sweeps = {s.param: s for s in subject.sweeps(3)}
    assert set(sweeps) == {"iforest__n_estimators", "iforest__max_samples", "iforest__max_features"}
    for name, sweep in sweeps.items():
        assert sweep.chosen == subject.params[name] and sweep.chosen in sweep.values and len(sweep.values) >= 2
    assert sweeps["iforest__n_estimators"].log  # the search space is a log scale
    assert subject.has_randomness()  # an isolation forest draws its trees


def test_a_deterministic_detector_without_labels_uses_the_engine_criterion(subject: AnomalySubject) -> None:
    ecod = AnomalySubject(subject.frame, subject.prep, [("ecod", {})], subject.input_columns)
    assert ecod.metric == "agreement_stability" and not ecod.has_randomness() and ecod.sweeps(5) == []
    split = ecod.resampling(2, seed=0)[1][0]
    first = ecod.fit_score(split, seed=0)
    assert -1.0 <= first <= 1.0 and ecod.fit_score(split, seed=9) == first


def test_the_subject_survives_a_pickle_round_trip(subject: AnomalySubject) -> None:
    split = subject.reference_split()
    again = pickle.loads(pickle.dumps(subject))
    assert again.fit_score(split, seed=3) == subject.fit_score(split, seed=3)
    assert again.fit_score(split, seed=3, params={"iforest__max_samples": 0.05}) != subject.fit_score(split, seed=3)


def test_a_label_column_gone_from_the_data_is_named(handmade: LoadedModel) -> None:
    broken = dataclasses.replace(handmade, meta={**handmade.meta, "label": "diagnosis"})
    with pytest.raises(DataError, match="'diagnosis' are missing"):
        saved_subject(broken)
    with pytest.raises(DataError, match="without a dataset version"):
        saved_subject(dataclasses.replace(handmade, meta={**handmade.meta, "dataset": None}))


def test_analyze_runs_on_the_anomaly_subject(subject: AnomalySubject) -> None:
    from automlops.stability.analysis import analyze

    report = analyze(subject, splits=2, seeds=2, n_jobs=1)
    assert report.kind == "anomaly" and report.metric == "roc_auc" and report.n_fits == 4
    assert report.splits is not None and report.seeds is not None and report.verdict
    assert np.all([0.0 <= f.score <= 1.0 for f in report.fits])
