"""A holdout-validated model is scored by the search's own trial model: the script fits that model again.

With one holdout split the studio scores the test rows with the model the search fitted on the
split's training part (not a fit on every training row), and a blend reuses its members' trial
models. The exported script must fit on those same rows to print the recorded test score; and
``export --check`` must fail (exit 2) when a script does not reproduce it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_wine

from automlops.cli import main
from automlops.export import export_script, runtime
from automlops.export.scored_fit import scored_by
from automlops.mlops.lake import DataLake
from automlops.mlops.store import ModelStore
from automlops.tabular.validation import ValidationPlan
from tests.export.conftest import last_score, run_without_studio, train_tabular

TOLERANCE = 1e-6


def _decisions(name: str) -> str:
    return "\n".join(ModelStore().load(name).meta["decisions"])


def test_a_holdout_validated_model_is_refitted_on_the_rows_its_trial_learned_from(studio: Path,
                                                                                   tmp_path: Path) -> None:
    train_tabular(DataLake(), "diabetes", "diabetes_holdout", models=["ridge"], n_trials=2, ensemble="none",
                  validation="holdout")
    assert "scored by the model the search fitted for this trial" in _decisions("diabetes_holdout")
    recorded = ModelStore().load("diabetes_holdout").meta["scored_fit"]  # what the script reads, in meta.json
    assert recorded["splitter"] == "holdout" and recorded["members"] is None and recorded["rows"] > 0
    script = tmp_path / "train.py"
    text = export_script("diabetes_holdout", out=script)
    done = run_without_studio(script)
    assert abs(last_score(done) - ModelStore().load("diabetes_holdout").meta["test_score"]) <= TOLERANCE
    assert "SCORED_BY = {" in text and "'splitter': 'holdout'" in text
    assert "validation split trained on" in done.stderr


def test_a_holdout_validated_blend_reuses_its_members_trial_models_in_the_script(studio: Path,
                                                                                 tmp_path: Path) -> None:
    train_tabular(DataLake(), "breast_cancer", "cancer_holdout_blend", models=["random_forest", "knn"], n_trials=2,
                  ensemble="weighted", validation="holdout")
    meta = ModelStore().load("cancer_holdout_blend").meta
    assert meta["best_model"].startswith("weighted(") and meta["validation"] == "holdout_stratified"
    assert "scored by a blend whose members" in _decisions("cancer_holdout_blend")
    assert scored_by(meta)["members"] == meta["scored_fit"]["members"]  # type: ignore[index]
    assert set(meta["scored_fit"]["members"]) <= {"random_forest", "knn"}
    script = tmp_path / "train.py"
    export_script("cancer_holdout_blend", out=script)
    assert abs(last_score(run_without_studio(script)) - meta["test_score"]) <= TOLERANCE


def test_a_vote_with_one_trial_member_is_fitted_as_the_studio_fits_it() -> None:
    """One member is the search's model (fitted on the split's rows), the other fitted on every training row."""
    from sklearn.ensemble import VotingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from automlops.tabular.blend_refit import fit_members

    wine = load_wine(as_frame=True)
    X, y = wine.data, wine.target.map(dict(enumerate(wine.target_names)))
    split = {"splitter": "holdout_stratified", "n_splits": None, "holdout_size": 0.2, "rows": 142}
    rows = runtime.search_split_rows(y, split, 0)

    def vote() -> VotingClassifier:
        return VotingClassifier([("logistic", make_pipeline(StandardScaler(), LogisticRegression())),
                                 ("knn", make_pipeline(StandardScaler(), KNeighborsClassifier()))],
                                voting="soft", weights=[0.7, 0.3])

    trial_model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X.iloc[rows], y.iloc[rows])
    studio = fit_members(vote(), X, y, [trial_model, None])
    script = runtime.fit_as_scored(vote(), X, y, {**split, "members": ["logistic"]}, 0)
    np.testing.assert_array_equal(script.predict_proba(X), studio.predict_proba(X))
    assert not np.array_equal(vote().fit(X, y).predict_proba(X), studio.predict_proba(X))


@pytest.mark.parametrize("kind, first_fold_of", [("holdout", None), ("holdout_stratified", None),
                                                 ("holdout", "kfold"), ("holdout_stratified", "stratified")])
def test_the_script_splits_the_training_rows_as_the_search_did(kind: str, first_fold_of: str | None) -> None:
    wine = load_wine(as_frame=True)
    X, y = wine.data, wine.target.map(dict(enumerate(wine.target_names)))
    size = 0.25 if first_fold_of else 0.2
    plan = ValidationPlan(kind, 4, size, "test", first_fold_of=first_fold_of)
    studio_rows = plan.splits(X, y, 7)[0][0]
    split = {"splitter": first_fold_of or kind, "n_splits": 4, "holdout_size": size, "rows": len(studio_rows)}
    np.testing.assert_array_equal(runtime.search_split_rows(y, split, 7), studio_rows)
    np.testing.assert_array_equal(runtime.search_split_rows(y, {**split, "sorted_rows": True}, 7),
                                  np.sort(studio_rows))


def test_a_first_fold_holdout_is_read_from_the_decisions() -> None:
    meta = {"validation": "holdout_stratified", "search": "tpe", "decisions": [
        "[validation] 1,500 rows, but 5 folds cost too much; so the first of the 5 folds is one 20% holdout instead",
        "[result] the test rows are scored by the model the search fitted for this trial (1200 rows), so it is not "
        "fitted a second time"]}
    assert scored_by(meta) == {"rows": 1200, "splitter": "stratified", "n_splits": 5, "holdout_size": 0.2,
                               "sorted_rows": False, "members": None}
    assert scored_by({**meta, "validation": "stratified"}) is None  # k folds: fitted on every training row
    recorded = {"rows": 10, "splitter": "holdout", "n_splits": None, "holdout_size": 0.2, "sorted_rows": True,
                "members": ["ridge"]}
    assert scored_by({**meta, "scored_fit": recorded}) == recorded  # the field, when the studio records it


def test_check_exits_2_when_the_script_does_not_reproduce_the_score(studio: Path, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    store = ModelStore()
    loaded = store.load("cancer_logistic")
    meta = {k: v for k, v in loaded.meta.items() if k not in ("name", "version")}
    store.save("cancer_off_score", loaded.model, {**meta, "test_score": float(meta["test_score"]) + 0.01})
    code = main(["export", "cancer_off_score", "--out", str(tmp_path / "off.py"), "--check", "--json"])
    out, err = capsys.readouterr()
    assert code == 2
    assert json.loads(out.strip().splitlines()[-1])["reproduced"] is False
    errors = [line for line in err.strip().splitlines() if line.startswith("automlops: error: ")]
    assert len(errors) == 1 and "did not reproduce" in errors[0] and "cancer_off_score" in errors[0]


def test_the_scripts_bad_input_exits_2_and_a_semicolon_copy_is_read(studio: Path, tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    export_script("cancer_logistic", out=script)
    recorded = ModelStore().load("cancer_logistic").meta["test_score"]
    gone = run_without_studio(script, "--data", str(tmp_path / "nowhere.csv"))
    assert gone.returncode == 2 and "does not exist" in gone.stderr
    source = DataLake().get_version("breast_cancer").full_path
    semicolons = tmp_path / "semicolons.csv"
    frame = pd.read_csv(source, dtype=str, keep_default_na=False)
    frame.to_csv(semicolons, sep=";", index=False)
    other = run_without_studio(script, "--data", str(semicolons))
    assert other.returncode == 2 and "SHA-256" in other.stderr
    assert abs(last_score(run_without_studio(script, "--data", str(semicolons), "--skip-check")) - recorded) <= TOLERANCE
    no_target = tmp_path / "no_target.csv"
    frame.drop(columns="target").to_csv(no_target, index=False)
    missing = run_without_studio(script, "--data", str(no_target), "--skip-check")
    assert missing.returncode == 2 and "'target' is not in the data" in missing.stderr
