"""Feature planning and the ColumnTransformer built from it, on real tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer
from sklearn.preprocessing import TargetEncoder

from automlops.core.problem import infer_problem
from automlops.demo import load_demo
from automlops.errors import DataError
from automlops.tabular.encodings import build_preprocessor
from automlops.tabular.evaluate import build_pipeline
from automlops.tabular.preprocessing import DatetimeParts, plan_features
from automlops.tabular.search import Candidate
from automlops.tabular.zoo import get_model


@pytest.fixture(scope="module")
def cars() -> pd.DataFrame:
    return load_demo("cars")


def _with_junk(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    n = len(out)
    out["penguin_id"] = np.arange(1000, 1000 + n)  # integer identifier
    out["tag"] = [f"P-{i:05d}" for i in range(n)]  # distinct string on every row
    out["colony"] = "Palmer"  # constant
    out["notes"] = np.nan  # empty
    return out


def test_drops_id_constant_and_empty_columns_with_reasons(penguins: pd.DataFrame) -> None:
    df = _with_junk(penguins)
    plan = plan_features(df, infer_problem(df, "species"))
    assert "identifier" in plan.dropped["penguin_id"]
    assert "identifier" in plan.dropped["tag"]
    assert "constant" in plan.dropped["colony"]
    assert "missing" in plan.dropped["notes"]
    kept = set(plan.input_columns)
    assert kept.isdisjoint(plan.dropped) and "species" not in kept
    assert {"island", "sex", "bill_length_mm", "body_mass_g", "year"} <= kept
    assert plan.schema()["dropped"] == plan.dropped


def test_the_row_numbers_of_a_csv_written_with_its_index_are_dropped(penguins: pd.DataFrame) -> None:
    """``df.to_csv(path)`` (pandas) or ``write.csv`` (R) writes the row index as an unnamed first column,
    read back as "Unnamed: 0". Sorted by species, then shuffled, those numbers would tell the species."""
    from automlops.mlops.ingest import read_csv_robust

    shuffled = penguins.sort_values("species").reset_index(drop=True).sample(frac=1.0, random_state=0)
    frame = read_csv_robust(shuffled.to_csv().encode(), max_bytes=10 * 2**20).frame
    assert frame.columns[0] == "Unnamed: 0" and not frame["Unnamed: 0"].is_monotonic_increasing
    plan = plan_features(frame, infer_problem(frame, "species"))
    assert "identifier" in plan.dropped["Unnamed: 0"] and "Unnamed: 0" not in plan.input_columns


def test_kinds_and_schema(penguins: pd.DataFrame) -> None:
    plan = plan_features(penguins, infer_problem(penguins, "species"))
    kinds = {f.name: f.kind for f in plan.features}
    assert kinds["island"] == "categorical" and kinds["sex"] == "categorical"
    assert kinds["bill_length_mm"] == "numeric"
    island = next(f for f in plan.features if f.name == "island")
    assert island.categories == ("Biscoe", "Dream", "Torgersen")
    sex = next(f for f in plan.features if f.name == "sex")
    assert sex.nullable  # 11 penguins have no recorded sex
    schema = plan.schema()["features"]
    assert {"name", "kind", "dtype", "nullable"} <= set(schema[0])


def test_float_measurements_are_not_ids() -> None:
    df = load_breast_cancer(as_frame=True).frame  # every float column is (almost) unique
    plan = plan_features(df, infer_problem(df, "target"))
    assert not plan.dropped
    assert len(plan.input_columns) == 30


def test_a_date_on_every_row_is_a_feature_not_an_identifier() -> None:
    """Daily readings carry a different date on each row; their year, month and weekday still explain
    the target, so the column is kept (as a date), where a distinct *string* on every row is dropped."""
    df = load_breast_cancer(as_frame=True).frame
    df["measured"] = pd.date_range("2001-01-01", periods=len(df), freq="D")
    plan = plan_features(df, infer_problem(df, "target"))
    assert "measured" not in plan.dropped
    assert plan.columns("datetime") == ["measured"]


def test_nothing_left_is_a_data_error(penguins: pd.DataFrame) -> None:
    df = pd.DataFrame({"id": np.arange(50), "c": 1, "y": ["a", "b"] * 25})
    with pytest.raises(DataError, match="no usable feature"):
        plan_features(df, infer_problem(df, "y"))


def test_datetime_parts(cars: pd.DataFrame) -> None:
    plan = plan_features(cars, infer_problem(cars, "Miles_per_Gallon"))
    assert plan.columns("datetime") == ["Year"]
    parts = DatetimeParts().fit(cars[["Year"]])
    out = parts.transform(cars[["Year"]])
    names = list(parts.get_feature_names_out(["Year"]))
    assert "Year_year" in names and "Year_month" in names
    year = out[:, names.index("Year_year")]
    assert np.array_equal(year, cars["Year"].dt.year.to_numpy(dtype=float))
    assert year.min() == 1970 and year.max() == 1982
    prep = build_preprocessor(plan, scale=False, encoding="ordinal").fit(cars[plan.input_columns],
                                                                         cars["Miles_per_Gallon"])
    assert any(n.startswith("Year_") for n in prep.get_feature_names_out())


def test_datetime_as_text_is_parsed(cars: pd.DataFrame) -> None:
    text = cars[["Year"]].astype(str)
    out = DatetimeParts().fit(text).transform(text)
    assert out[0, 0] == 1970.0 and not np.isnan(out).any()


def test_a_whole_number_regression_target_is_encoded_as_one_mean_per_column(cars: pd.DataFrame) -> None:
    """scikit-learn reads whole numbers as classes: horsepower (93 distinct whole numbers) target-encoded
    the ~300 car names into 93 class-share columns. A regression encodes one mean per column."""
    frame = cars.dropna(subset=["Horsepower"]).astype({"Horsepower": int})
    plan = plan_features(frame, infer_problem(frame, "Horsepower"))
    assert plan.columns("high_cardinality") == ["Name"] and plan.regression
    prep = build_preprocessor(plan, scale=False, encoding="ordinal").fit(frame[plan.input_columns], frame["Horsepower"])
    names = list(prep.get_feature_names_out())
    assert names.count("Name") == 1 and not any(n.startswith("Name_") for n in names)
    labels = cars.assign(origin_code=cars["Origin"].map({"USA": 0, "Europe": 1, "Japan": 2}))
    plan = plan_features(labels, infer_problem(labels, "origin_code"))  # three whole-number classes: one share each
    prep = build_preprocessor(plan, scale=False, encoding="ordinal").fit(labels[plan.input_columns],
                                                                        labels["origin_code"])
    assert sum(n.startswith("Name") for n in prep.get_feature_names_out()) == 3


def test_times_with_an_offset_become_offset_free_utc(cars: pd.DataFrame) -> None:
    """A tz-aware column (what reading "2013-01-01T10:00:00Z" from a CSV gives) and times with mixed offsets
    are read as UTC without the offset, as the API reads them; every model failed on them before."""
    naive = cars[["Year"]].sort_values("Year").iloc[[0, -1]].reset_index(drop=True)
    utc = naive.assign(Year=naive["Year"].dt.tz_localize("UTC"))
    expected = DatetimeParts().fit(naive).transform(naive)
    assert np.array_equal(DatetimeParts().fit(utc).transform(utc), expected)
    mixed = pd.DataFrame({"when": ["2013-01-01T10:00:00Z", "2013-01-01T12:00:00+02:00", "2013-07-01T06:00:00-04:00"]})
    hours = DatetimeParts().fit(mixed)
    out = hours.transform(mixed)
    assert list(out[:, list(hours.get_feature_names_out(["when"])).index("when_hour")]) == [10.0, 10.0, 10.0]
    aware = cars.assign(Year=cars["Year"].dt.tz_localize("UTC"))
    plan = plan_features(aware, infer_problem(aware, "Miles_per_Gallon"))
    assert plan.columns("datetime") == ["Year"]
    prep = build_preprocessor(plan, scale=False, encoding="ordinal").fit(aware[plan.input_columns],
                                                                         aware["Miles_per_Gallon"])
    assert np.isfinite(prep.transform(aware[plan.input_columns]).astype(float)).all()


def test_high_cardinality_uses_target_encoding(cars: pd.DataFrame) -> None:
    plan = plan_features(cars, infer_problem(cars, "Miles_per_Gallon"))
    assert plan.columns("high_cardinality") == ["Name"]  # ~300 car names: one-hot would explode
    assert plan.columns("categorical") == ["Origin"]
    prep = build_preprocessor(plan, scale=True, encoding="onehot")
    assert isinstance(prep, ColumnTransformer)
    prep.fit(cars[plan.input_columns], cars["Miles_per_Gallon"])
    high = prep.named_transformers_["high_cardinality"]
    assert any(isinstance(step, TargetEncoder) for _, step in high.steps)
    names = list(prep.get_feature_names_out())
    assert names.count("Name") == 1  # one numeric column, not ~300 one-hot columns
    assert {"Origin_Europe", "Origin_Japan", "Origin_USA"} <= set(names)


@pytest.mark.parametrize("model", ["logistic", "decision_tree"])  # one-hot and ordinal encodings
def test_unseen_category_and_missing_values_at_predict_time(penguins: pd.DataFrame, model: str) -> None:
    problem = infer_problem(penguins, "species")
    plan = plan_features(penguins, problem)
    spec = get_model(model)
    pipe = build_pipeline(Candidate(model, spec.defaults(problem)), plan, problem, 0)
    pipe.fit(penguins[plan.input_columns], penguins["species"])
    new = penguins[plan.input_columns].head(4).copy()
    new.loc[new.index[0], "island"] = "Anvers"  # an island never seen in training
    new.loc[new.index[1], "sex"] = "unknown"
    new.loc[new.index[2], ["bill_length_mm", "body_mass_g"]] = np.nan
    new.loc[new.index[3], "island"] = np.nan
    pred = pipe.predict(new)
    assert len(pred) == 4 and set(pred) <= set(problem.classes)
    assert np.isfinite(pipe.predict_proba(new)).all()


def test_missing_values_are_imputed(penguins: pd.DataFrame) -> None:
    problem = infer_problem(penguins, "species")
    plan = plan_features(penguins, problem)
    X = penguins[plan.input_columns]
    assert X.isna().any().any()  # the raw table has gaps
    for scale, encoding in ((True, "onehot"), (False, "ordinal")):
        out = build_preprocessor(plan, scale=scale, encoding=encoding).fit_transform(X, penguins["species"])
        assert not np.isnan(np.asarray(out, dtype=float)).any()
    names = build_preprocessor(plan, scale=True, encoding="onehot").fit(X, penguins["species"]) \
        .get_feature_names_out()
    # penguins has 2 rows with missing measurements: too few for a "was missing" flag to mean anything
    assert not any("missingindicator" in n for n in names)
    gappy = penguins.copy()
    gappy.loc[gappy.index[:20], "body_mass_g"] = np.nan  # 22 missing: now the flag is a signal
    plan = plan_features(gappy, problem)
    names = build_preprocessor(plan, scale=True, encoding="onehot").fit(gappy[plan.input_columns],
                                                                        gappy["species"]).get_feature_names_out()
    assert [n for n in names if "missingindicator" in n] == ["missingindicator_body_mass_g"]


def test_boosting_keeps_missing_values_only_where_there_are_enough_to_learn_from(penguins: pd.DataFrame) -> None:
    def boosting_view(frame: pd.DataFrame) -> pd.DataFrame:
        plan = plan_features(frame, infer_problem(frame, "species"))
        prep = build_preprocessor(plan, scale=False, encoding="ordinal", native_missing=True)
        return prep.set_output(transform="pandas").fit_transform(frame[plan.input_columns], frame["species"])

    # 2 missing measurements (one training row, an Adelie): a learned "missing -> Adelie" would be
    # that row memorised, so the booster sees the median instead
    out = boosting_view(penguins)
    assert penguins["body_mass_g"].isna().sum() == 2 and out["body_mass_g"].isna().sum() == 0
    assert (out["body_mass_g"][penguins["body_mass_g"].isna()] == penguins["body_mass_g"].median()).all()
    gappy = penguins.copy()
    gappy.loc[gappy.index[:20], "body_mass_g"] = np.nan  # 21 missing: the model may learn where they go
    out = boosting_view(gappy)
    assert out["body_mass_g"].isna().sum() == gappy["body_mass_g"].isna().sum() == 21
    assert out["bill_length_mm"].isna().sum() == 0  # still 2 missing there: imputed


def test_scaling_only_when_asked(penguins: pd.DataFrame) -> None:
    problem = infer_problem(penguins, "species")
    plan = plan_features(penguins, problem)
    X = penguins[plan.input_columns]
    scaled = build_preprocessor(plan, scale=True, encoding="onehot").set_output(transform="pandas").fit_transform(X)
    raw = build_preprocessor(plan, scale=False, encoding="ordinal").set_output(transform="pandas").fit_transform(X)
    assert abs(scaled["body_mass_g"].mean()) < 1e-6 and scaled["body_mass_g"].std() == pytest.approx(1, abs=0.01)
    assert raw["body_mass_g"].mean() > 1000  # grams, untouched for trees


def test_leakage_warning_for_a_copied_target() -> None:
    df = load_breast_cancer(as_frame=True).frame
    clean = plan_features(df, infer_problem(df, "target"))
    assert clean.warnings == []
    df["diagnosis_code"] = df["target"] * 10 + 3  # the answer, disguised
    plan = plan_features(df, infer_problem(df, "target"))
    assert len(plan.warnings) == 1
    assert "leakage" in plan.warnings[0] and "diagnosis_code" in plan.warnings[0]


def test_leakage_warning_for_a_regression_copy(cars: pd.DataFrame) -> None:
    df = cars.copy()
    df["mpg_copy"] = df["Miles_per_Gallon"]  # the target itself, under another name
    df["l_per_100km"] = 235.2 / df["Miles_per_Gallon"]  # the target in other units
    plan = plan_features(df, infer_problem(df, "Miles_per_Gallon"))
    flagged = {name for name in ("mpg_copy", "l_per_100km") if any(f"'{name}'" in w for w in plan.warnings)}
    assert flagged == {"mpg_copy", "l_per_100km"}, plan.warnings
    assert not any("Weight_in_lbs" in w for w in plan.warnings)


def test_leakage_warning_for_a_regression_copy_diabetes() -> None:
    from sklearn.datasets import load_diabetes

    df = load_diabetes(as_frame=True).frame
    df["target_copy"] = df["target"]
    plan = plan_features(df, infer_problem(df, "target"))
    assert [w for w in plan.warnings if "'target_copy'" in w]
    assert len(plan.warnings) == 1


def test_columns_dropped_for_one_reason_make_one_decision_line() -> None:
    """digits' blank border pixels are constant: one line names a few of them, not one line per pixel."""
    from sklearn.datasets import load_digits

    frame = load_digits(as_frame=True).frame.assign(serial=lambda d: [f"id{i}" for i in range(len(d))])
    plan = plan_features(frame, infer_problem(frame, "target"))
    constant = [c for c, why in plan.dropped.items() if "single value" in why]
    assert len(constant) >= 2  # digits has blank pixels in every image
    notes = plan.dropped_notes(shown=2)
    grouped = [n for n in notes if n.startswith(f"dropped {len(constant)} columns ('{constant[0]}', '{constant[1]}'")]
    assert len(grouped) == 1 and "), each for the same reason: it holds a single value" in grouped[0]
    assert (f"and {len(constant) - 2} more" in grouped[0]) == (len(constant) > 2)
    assert len(notes) == len(set(plan.dropped.values()))  # one line per reason
    assert "dropped 'serial': " in " ".join(notes)  # a reason of its own keeps its single-column line


@pytest.mark.parametrize("model", ["lightgbm", "hist_gb"])
def test_a_penguin_without_measurements_is_not_called_after_the_one_training_row_like_it(
        penguins: pd.DataFrame, model: str) -> None:
    """penguins has two rows with every measurement missing: an Adelie and a Gentoo. Trained with the
    Adelie one, a booster that learned "missing -> Adelie" from that single row put P(Gentoo) ~1e-8 on
    the other (log-loss 18 on one row). Imputed, the measurements say little and the model hedges."""
    pytest.importorskip(model if model != "hist_gb" else "sklearn")
    blank = penguins["bill_length_mm"].isna()
    assert sorted(penguins.loc[blank, "species"]) == ["Adelie", "Gentoo"]
    train = penguins[~(blank & (penguins["species"] == "Gentoo"))]
    question = penguins[blank & (penguins["species"] == "Gentoo")]
    problem = infer_problem(train, "species")
    plan = plan_features(train, problem)
    pipe = build_pipeline(Candidate(model, get_model(model).defaults(problem)), plan, problem, seed=0)
    pipe.fit(train[plan.input_columns], train["species"])
    proba = pipe.predict_proba(question[plan.input_columns])[0]
    assert proba[list(pipe.classes_).index("Gentoo")] > 1e-3
