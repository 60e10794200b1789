"""The exported script of a tabular model (classification or regression, single model or ensemble).

It repeats what training did after the search (see :mod:`automlops.tabular.finalize`): the same
rows (targets present, time order), the same test rows (same seed, same stratification, same
share), the chosen pipeline *rebuilt from its hyperparameters*, fitted on the training rows, and
the test rows predicted once and scored with the studio's own metric code. With the same library
versions, a deterministic model - and a seeded forest or boosted model with a fixed thread count -
gives the recorded test score to the last digit; ``--refit-full`` then refits on every row, as the
shipped model was. Where the studio validated with one holdout split, the model that scored the
test rows is the search's own trial model, fitted on the split's training part: the script fits on
those rows too (``SCORED_BY``, :mod:`automlops.export.scored_fit`). An uploaded model is refused:
the studio did not train it, so there is no training to repeat; so is a warm-started retrain
(``automlops models retrain``, ``monitor --retrain``): it continued its parent's learned state, which
no fit from data and hyperparameters repeats (a ``--cold`` retrain is exported like any model).
"""

from __future__ import annotations

import math
from typing import Any

from automlops.core.metrics import MetricContext, get_metric
from automlops.errors import ConfigError
from automlops.export import runtime
from automlops.export.scored_fit import scored_by
from automlops.export.script import DataSource, ScriptParts, common_settings
from automlops.tabular.evaluate import predict_labels_and_proba
from automlops.tabular.retrain import warm_started

__all__ = ["tabular_parts"]

DEFAULT_TEST_SIZE = 0.2  # TabularEngine's default share of test rows

MAIN = '''
def main(argv: list[str] | None = None) -> int:
    """Load and check the data, split it as training did, fit, score the test rows once."""
    args = parse_args(__doc__.splitlines()[0], DATA_PATH, argv)
    path = Path(args.data)
    same_file = check_sha256(path, DATA_SHA256, args.skip_check)
    frame = clean_supervised(load_table(path, TABLE, detect=not same_file), TARGET, TIME_COLUMN)
    train, test = split_supervised(frame, TARGET, classify=CLASSIFY, test_size=TEST_SIZE, seed=SEED,
                                   ordered=ORDERED)
    classes = tuple(np.unique(pd.concat([train, test])[TARGET].to_numpy()).tolist()) if CLASSIFY else ()
    say(f"{len(frame)} rows: {len(train)} to train on, {len(test)} kept aside to test")
    model = fit_as_scored(build_model(), train[INPUT_COLUMNS], train[TARGET], SCORED_BY, SEED)
    pred, proba = predict_labels_and_proba(model, test[INPUT_COLUMNS], classify=CLASSIFY)
    test_score = score(test[TARGET].to_numpy(), pred, proba, classes)
    say(f"test {METRIC} = {test_score:.6f} on {len(test)} rows (recorded at training: {RECORDED_TEST_SCORE})")
    if args.refit_full:
        everything = pd.concat([train, test], ignore_index=True)
        model = fit_quietly(build_model(), everything[INPUT_COLUMNS], everything[TARGET])
        say(f"refitted on all {len(everything)} rows (the test score above was measured before)")
    if args.mlflow:
        log_to_mlflow(args, RUN_NAME, {**RECORDED_PARAMS, "seed": SEED}, {f"test_{METRIC}": test_score},
                      model, test[INPUT_COLUMNS].head(5), REQUIREMENTS)
    print(f"test_score={test_score!r}")
    return 0
'''


def _test_size(n_clean_rows: int, n_test_rows: int) -> float | int:
    """The share of test rows training used: the default 20 % when it gives the recorded count, else the count."""
    if math.ceil(DEFAULT_TEST_SIZE * n_clean_rows) == n_test_rows:  # what train_test_split takes from 20 %
        return DEFAULT_TEST_SIZE
    return int(n_test_rows)


def _ordered_test_size(n_clean_rows: int, n_test_rows: int) -> float | int:
    if n_clean_rows - int(round(n_clean_rows * (1 - DEFAULT_TEST_SIZE))) == n_test_rows:
        return DEFAULT_TEST_SIZE
    return int(n_test_rows)


def _clean_rows(meta: dict[str, Any], source: DataSource) -> int:
    from automlops.mlops.lake import DataLake

    frame = DataLake().load(source.name, source.version)
    target = meta["target"]
    if target not in frame.columns:
        raise ConfigError(f"the target column '{target}' is no longer in dataset '{source.name}'")
    missing = [c for c in meta.get("input_columns") or [] if c not in frame.columns]
    if missing:
        raise ConfigError(f"column(s) {', '.join(missing)} the model needs are not in dataset '{source.name}'")
    return int(frame[target].notna().sum())


def _score_function(metric: str, writer: Any) -> str:
    spec = get_metric(metric)
    fn = writer.inline(spec.fn)
    context = writer.inline(MetricContext)
    return (f'def score(y_true: np.ndarray, pred: np.ndarray, proba: np.ndarray | None, classes: tuple) -> float:\n'
            f'    """Test {spec.label}, computed by the studio\'s own code (copied above).\n\n'
            f'    {spec.explanation[:1].upper() + spec.explanation[1:]}.\n    """\n'
            f'    return {fn}({context}(np.asarray(y_true), pred, proba, classes))')


def _as_scored(model: Any) -> Any:
    """The recipe the test rows scored. The shipped model was refitted on all rows, where an early-stopped
    booster of at least 1,000 rows (``EARLY_STOPPING_FROM``) fits a known round count (``refit_rounds``, see
    ``final_fit._with_refit_rounds``); rebuilt with that count, the script would fit a different model on the
    training rows than the one that scored them. So the count is left out: the script's booster early-stops
    on its training rows, as the scored one did. (scikit-learn's HistGradientBoosting keeps its count as an
    attribute, which the script does not write.)"""
    from sklearn.base import clone

    from automlops.tabular.early_stopping import _EarlyStopped

    known = {f"{key}__refit_rounds": None for key, value in model.get_params(deep=True).items()
             if isinstance(value, _EarlyStopped) and value.refit_rounds is not None}
    return clone(model).set_params(**known) if known else model


def tabular_parts(loaded: Any, source: DataSource) -> ScriptParts:
    """The pieces of a tabular model's script (see the module docstring)."""
    meta = loaded.meta
    if meta.get("task") not in ("classification", "regression"):
        raise ConfigError(f"a tabular model of task '{meta.get('task')}' cannot be exported")
    if meta.get("source") == "upload":
        raise ConfigError(f"model '{meta['name']}' v{meta['version']} was uploaded, not trained by the studio: which rows "
                          "and which recipe trained it is unknown, so there is no training to rebuild (its recorded "
                          f"{meta.get('metric')}: {meta.get('score_note') or 'measured on the dataset it was validated on'})")
    if warm_started(meta):
        raise ConfigError(f"model '{meta['name']}' v{meta['version']} is a warm-started retrain of {meta.get('parent')}: "
                          "it continued that model's learned state on new rows, so no script can rebuild it from its "
                          f"data and hyperparameters alone; export {meta.get('parent')}, or retrain it with --cold (a "
                          "refit from scratch) and export that")
    ordered = bool(meta.get("time_column")) or meta.get("validation") == "timeseries"
    n_clean = _clean_rows(meta, source)
    test_size = meta.get("test_share") or (_ordered_test_size if ordered else _test_size)(
        n_clean, int(meta["n_test_rows"]))  # older models recorded only the count
    parts = ScriptParts(
        title=f"Rebuild and re-test model '{meta['name']}' v{meta['version']}: {meta['best_model']} "
              f"({meta['task']}, target '{meta['target']}').",
        summary=[f"Trained on dataset '{source.name}' v{source.version:04d}; recorded test {meta['metric']} = "
                 f"{meta.get('test_score')} on {meta['n_test_rows']} rows.",
                 "The script reads the same CSV (checking its SHA-256), drops rows without a target"
                 + (f", sorts by '{meta['time_column']}'" if meta.get("time_column") else "")
                 + ", keeps the same test rows aside,",
                 "fits the pipeline below on the other rows and scores the test rows once."
                 + (" As in the studio, the scored model learns from the rows its validation split trained on"
                    " (SCORED_BY)." if scored_by(meta) else "")])
    writer = parts.writer
    writer.name_list("INPUT_COLUMNS", list(meta.get("input_columns") or []))
    model_source = writer.model_expression(_as_scored(loaded.model))
    functions = [
        'def build_model() -> Any:\n    """The chosen pipeline, untrained: preprocessing by column kind, then the model."""\n'
        f"    return {model_source}",
        _score_function(str(meta["metric"]), writer),
        MAIN.strip(),
    ]
    for helper in (runtime.parse_args, runtime.check_sha256, runtime.load_table, runtime.clean_supervised,
                   runtime.split_supervised, runtime._single_classes, runtime.fit_quietly, runtime.fit_as_scored, runtime.log_to_mlflow, runtime.say,
                   predict_labels_and_proba):
        writer.inline(helper)
    writer.import_name("typing", "Any")
    writer.import_module("pandas", "pd")
    parts.settings = _settings(meta, source, test_size, ordered, writer)
    parts.functions = functions
    return parts


def _settings(meta: dict[str, Any], source: DataSource, test_size: float | int, ordered: bool,
              writer: Any) -> dict[str, str]:
    e = writer.expression
    return {
        **common_settings(meta, source, writer),
        "TARGET": e(meta["target"]),
        "CLASSIFY": e(meta["task"] == "classification"),
        "TIME_COLUMN": e(meta.get("time_column")),
        "ORDERED": e(ordered) + ("  # time order: the test rows are the last ones" if ordered else ""),
        "TEST_SIZE": e(test_size),
        "SCORED_BY": e(scored_by(meta), indent=0) + "  # None: the scored model learned from every training row",
    }
