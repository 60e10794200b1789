"""The types a skops file needs are read from its schema alone, without reading its arrays back."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import skops.io
from lightgbm import LGBMRegressor
from sklearn.ensemble import RandomForestRegressor, VotingRegressor

from automlops.mlops._skops import untrusted_types


def _peak_mb(function, *args) -> tuple[object, float]:
    tracemalloc.start()
    try:
        result = function(*args)
        return result, tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def test_the_audit_names_the_same_types_as_skops_without_holding_the_models_arrays(tmp_path: Path) -> None:
    from statsmodels.datasets import fair

    table = fair.load_pandas().data  # 6,366 marriages: fully grown trees on them hold ~20 MB of arrays
    X, y = table.drop(columns="affairs"), table["affairs"]
    model = VotingRegressor([("forest", RandomForestRegressor(n_estimators=60, random_state=0)),
                             ("lightgbm", LGBMRegressor(n_estimators=20, verbose=-1))]).fit(X, y)
    path = tmp_path / "model.skops"
    skops.io.dump(model, path)

    theirs, their_peak = _peak_mb(lambda: sorted(skops.io.get_untrusted_types(file=path)))
    ours, our_peak = _peak_mb(untrusted_types, path)
    assert ours == theirs and any("lightgbm" in name for name in ours)  # LightGBM is not trusted by default
    assert untrusted_types(path.read_bytes()) == theirs  # from bytes as from a file
    assert their_peak > 15 and our_peak < their_peak / 3, (their_peak, our_peak)
