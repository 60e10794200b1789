"""How each family of models sees the planned columns: the ``ColumnTransformer`` of :func:`build_preprocessor`.

:func:`automlops.tabular.preprocessing.plan_features` decides once per dataset what each column is;
this module turns that plan into the steps fitted inside every model's pipeline, one recipe per
``encoding`` a zoo entry names:

* ``"onehot"`` – linear and distance models (and CatBoost): a yes/no column per category, numbers
  imputed and, with ``scale``, standardised;
* ``"ordinal"`` – trees: one integer code per category, target encoding for many categories;
* ``"native"`` / ``"native_few"`` – models that split on categories themselves (HistGradientBoosting,
  LightGBM): the codes come first, so the model can be told their positions.
"""

from __future__ import annotations

from typing import Any

from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OneHotEncoder,
    OrdinalEncoder,
    StandardScaler,
    TargetEncoder,
)

from automlops.core.features import CATEGORICAL, DATETIME, HIGH_CARDINALITY
from automlops.tabular.preprocessing import DatetimeParts, FeaturePlan, TopCategories, _as_float, _as_text

__all__ = ["NATIVE_ENCODINGS", "NATIVE_MAX_CATEGORIES", "build_preprocessor", "native_categorical_count"]


def _numeric_blocks(plan: FeaturePlan, *, scale: bool, native_missing: bool) -> list[tuple[str, Any, list[str]]]:
    """Numbers: median-imputed, with a "was missing" flag where missingness is common enough.

    A model that learns where missing values go (boosting, ``native_missing``) keeps the NaN of a
    column with enough missing values to learn from, the same rule as the flag: that direction *is*
    a flag. Where a column has only a few gaps, the direction is learned from those few rows. In
    penguins the one all-missing training row is an Adelie, so LightGBM sent every missing
    measurement to the Adelie side, and a Gentoo with no measurements got P(Gentoo) = 1e-8 (a
    log-loss of 18 on one row). At the medians the studio's 30 s models give it 0.001-0.01 (the same
    LightGBM alone 0.08): still "probably an Adelie", as its median size says, but not a certainty.
    """
    if native_missing and not scale:
        as_float = FunctionTransformer(_as_float, feature_names_out="one-to-one")
        return [("numeric_flagged", as_float, plan.numeric_columns(flagged=True)),
                ("numeric", make_pipeline(clone(as_float), SimpleImputer(strategy="median")),
                 plan.numeric_columns(flagged=False))]
    blocks = []
    for name, flag in (("numeric_flagged", True), ("numeric", False)):
        steps: list[Any] = [SimpleImputer(strategy="median", add_indicator=flag)]
        if scale:
            steps.append(StandardScaler())
        blocks.append((name, make_pipeline(*steps), plan.numeric_columns(flagged=flag)))
    return blocks


def _target_encoder(plan: FeaturePlan) -> TargetEncoder:
    """Each category -> the target's mean over the rows of that category (per class for classification),
    cross-fitted over five folds so a row's own target never encodes it.

    The task is said, not guessed: scikit-learn reads whole-number targets as *classes*, so a regression
    target such as minutes of delay (378 distinct whole numbers) was encoded as 378 class shares per
    column: 743 features instead of 15 on a flights table, LightGBM 5x slower, +300 MB.
    """
    return TargetEncoder(target_type="continuous" if plan.regression else "auto", random_state=0)


# A model with native categorical splits (scikit-learn's HistGradientBoosting) takes at most 255 categories
# per column (its bins); the most frequent 250 keep their own code, the rest share "other".
NATIVE_MAX_CATEGORIES = 250


# The encodings whose leading columns are category codes for a model that splits on them itself, and
# whether many-category columns are among them ("native") or target-encoded after them ("native_few").
NATIVE_ENCODINGS = {"native": True, "native_few": False}


def native_categorical_count(plan: FeaturePlan, encoding: str = "native") -> int:
    """How many leading columns of a ``"native"`` (or ``"native_few"``) preprocessor's output are category codes."""
    many = len(plan.columns(HIGH_CARDINALITY)) if NATIVE_ENCODINGS[encoding] else 0
    return len(plan.columns(CATEGORICAL)) + many


def _native_preprocessor(plan: FeaturePlan, native_missing: bool, many_as_codes: bool = True) -> ColumnTransformer:
    """Every text column as one integer code per category, first, for a model that splits on categories itself.

    Target encoding turns a column of many categories (a country, a firm, a store) into one
    number: the category's mean target, cross-fitted so a row never encodes itself. That number
    is noisy where a category has few rows, and it is one fixed ordering. A model with native
    categorical splits instead sorts the categories by their gradient statistics at every split,
    so it can set any group of countries apart, and its trees learn each one's own pattern (on
    a 125-country GDP panel: RMSE 224 against 337 for the same model on target encoding). The
    codes come first, so their positions are known before the data is (:func:`native_categorical_count`).

    ``many_as_codes=False`` (``"native_few"``): columns of many categories are target-encoded instead, as for
    the other trees. Splitting on a column's categories sorts them by the rows in the node, which overfits
    where the column says little and has hundreds of values (a flights table's 3,571 aircraft: LightGBM's
    RMSE 16.4 on target encoding, 17.3 on native splits).
    """
    text = FunctionTransformer(_as_text, feature_names_out="one-to-one")

    def codes() -> OrdinalEncoder:  # an unseen category is -1, which the model reads as missing
        return OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)

    many: Pipeline = make_pipeline(TopCategories(min(plan.max_kept_categories, NATIVE_MAX_CATEGORIES)), codes()) \
        if many_as_codes else make_pipeline(TopCategories(plan.max_kept_categories), _target_encoder(plan))
    transformers = [
        ("categorical", make_pipeline(text, codes()), plan.columns(CATEGORICAL)),
        ("high_cardinality", many, plan.columns(HIGH_CARDINALITY)),
        *_numeric_blocks(plan, scale=False, native_missing=native_missing),
        ("datetime", make_pipeline(DatetimeParts(), SimpleImputer(strategy="median")), plan.columns(DATETIME)),
    ]
    return ColumnTransformer([t for t in transformers if t[2]], remainder="drop", verbose_feature_names_out=False)


def build_preprocessor(plan: FeaturePlan, *, scale: bool, encoding: str,
                       native_missing: bool = False) -> ColumnTransformer:
    """The ``ColumnTransformer`` that implements ``plan`` for one family of models.

    ``encoding`` is ``"onehot"`` (linear and distance models), ``"ordinal"`` (trees: integer codes,
    target encoding for many categories), ``"native"`` (category codes first, for a model that
    splits on categories itself: :func:`_native_preprocessor`) or ``"native_few"`` (the same for
    columns of up to 20 categories, target encoding for more).
    """
    if encoding in NATIVE_ENCODINGS:
        return _native_preprocessor(plan, native_missing, many_as_codes=NATIVE_ENCODINGS[encoding])
    text = FunctionTransformer(_as_text, feature_names_out="one-to-one")
    if encoding == "onehot":
        categorical: Any = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    else:
        categorical = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
    high_card: Pipeline = make_pipeline(TopCategories(plan.max_kept_categories), _target_encoder(plan))
    if scale:
        high_card.steps.append(("standardscaler", StandardScaler()))
    datetime_steps: list[Any] = [DatetimeParts(), SimpleImputer(strategy="median")]
    if scale:
        datetime_steps.append(StandardScaler())
    transformers = [
        *_numeric_blocks(plan, scale=scale, native_missing=native_missing),
        ("categorical", make_pipeline(text, categorical), plan.columns(CATEGORICAL)),
        ("high_cardinality", high_card, plan.columns(HIGH_CARDINALITY)),
        ("datetime", make_pipeline(*datetime_steps), plan.columns(DATETIME)),
    ]
    return ColumnTransformer([t for t in transformers if t[2]], remainder="drop", verbose_feature_names_out=False)
