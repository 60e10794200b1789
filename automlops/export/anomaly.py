"""The exported script of an anomaly-detection model.

What the anomaly engine reports as the test score (see :mod:`automlops.anomaly.finalize`): the
chosen detectors (one, or the rank-average of two families) are fitted on the training rows (a
seeded 80 %) and score the rows kept aside. Without labels the score is the mean of

* **agreement** - the Spearman correlation between that ranking and the consensus of a fixed panel
  of default detectors (also fitted on the training rows), and
* **stability** - the Spearman correlation between the rankings the detectors give the kept rows
  when fitted on each half of the training rows;

with a label column and ``select_by_label``, it is the label metric (ROC-AUC...) on the kept rows.
The script repeats each step with the studio's own functions (copied in): the same detectors,
seeds and row samples give the same number.
"""

from __future__ import annotations

from typing import Any

from automlops.anomaly.detectors import DETECTORS, PANEL, DetectorSpec, fit_detector
from automlops.anomaly.labels import parse_label
from automlops.anomaly.selection import (
    ANOMALY_METRICS,
    LABEL_METRICS,
    RankCalibrator,
    agreement,
    rank_scores,
    stability,
)
from automlops.core.metrics import MetricContext
from automlops.errors import ConfigError
from automlops.export import runtime
from automlops.export.script import DataSource, ScriptParts, common_settings

__all__ = ["anomaly_parts", "ensemble_scores", "half_rows"]

DEFAULT_TEST_SIZE = 0.2  # AnomalyEngine's default share of rows kept aside

MAIN = '''
def main(argv: list[str] | None = None) -> int:
    """Load and check the data, keep the same rows aside, fit the detectors on the others, score the kept rows."""
    args = parse_args(__doc__.splitlines()[0], DATA_PATH, argv)
    path = Path(args.data)
    check_sha256(path, DATA_SHA256, args.skip_check)
    frame = load_table(path, TABLE).reset_index(drop=True)
    train_rows, test_rows = split_random_rows(len(frame), test_size=TEST_SIZE, seed=SEED, min_train=0)
    train, test = frame.iloc[train_rows], frame.iloc[test_rows]
    say(f"{len(frame)} rows: {len(train)} to learn what is normal, {len(test)} kept aside to score")
    prep = build_preprocessor()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X_train = np.asarray(prep.fit_transform(train[INPUT_COLUMNS]), dtype=float)
        X_test = np.asarray(prep.transform(test[INPUT_COLUMNS]), dtype=float)
    scores = ensemble_scores(build_detectors(), X_train, X_test, SEED)
    if LABEL_METRIC:
        truth = parse_label(frame, LABEL)[0][test_rows]
        test_score = score_with_labels(truth, scores)
    else:
        test_score = score_without_labels(scores, X_train, X_test, len(train_rows))
    say(f"test {METRIC} = {test_score:.6f} on {len(test)} rows (recorded at training: {RECORDED_TEST_SCORE})")
    if args.refit_full:
        say("--refit-full: the studio's shipped model is refitted on every row; this script reports the test above")
    if args.mlflow:  # parameters and score (the detectors are not one scikit-learn model to log)
        log_to_mlflow(args, RUN_NAME, {**RECORDED_PARAMS, "seed": SEED}, {f"test_{METRIC}": test_score},
                      None, None, REQUIREMENTS)
    print(f"test_score={test_score!r}")
    return 0
'''

WITHOUT_LABELS = '''
def score_without_labels(scores: np.ndarray, X_train: np.ndarray, X_test: np.ndarray, n_train: int) -> float:
    """Mean of agreement with the panel's consensus and stability across two halves of the training rows."""
    if len(X_test) < 3:
        return float("nan")
    consensus = ensemble_scores(build_panel(), X_train, X_test, SEED, skip_failures=True)
    value = agreement(scores, consensus)
    if not WITH_STABILITY:  # the studio skipped it for time: the test score is the agreement alone
        return value

    def ensemble(rows: np.ndarray) -> np.ndarray:
        return np.mean([rank_scores(fit_detector(spec, {}, X_train[rows], SEED)[0].decision_function(X_test))
                        for spec in build_detectors()], axis=0)

    return (value + stability(ensemble, half_rows(n_train, SEED))) / 2
'''


def ensemble_scores(specs: list[Any], X_fit: Any, X_new: Any, seed: int, *, skip_failures: bool = False) -> Any:
    """Fit each detector on ``X_fit``; score ``X_new`` as "more anomalous than this share of the fitted rows",
    averaged over the detectors (what the studio's AnomalyModel and its panel consensus compute)."""
    import warnings

    import numpy as np

    parts = []
    for spec in specs:
        try:
            detector, raw = fit_detector(spec, {}, X_fit, seed)
        except (ValueError, np.linalg.LinAlgError):
            if skip_failures:
                continue
            raise
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parts.append(RankCalibrator(raw).transform(detector.decision_function(X_new)))
    return np.mean(parts, axis=0)


def half_rows(n_rows: int, seed: int) -> tuple[Any, Any]:
    """The two random halves of the training rows the stability is measured on (seed + 1, as the engine)."""
    import numpy as np

    order = np.random.default_rng(seed + 1).permutation(n_rows)
    return np.sort(order[: n_rows // 2]), np.sort(order[n_rows // 2:])


def _specs_source(members: list[tuple[str, dict[str, Any]]], seed: int, writer: Any) -> str:
    """``DetectorSpec(...)`` lines whose ``build`` returns the detector with its recorded settings."""
    cls = writer.inline(DetectorSpec)
    lines = []
    for name, params in members:
        spec = DETECTORS.get(name)
        detector = writer.expression(spec.build(dict(params), seed), indent=8)
        lines.append(f"        {cls}({name!r}, {spec.label!r}, build=lambda params, seed: {detector},\n"
                     f"            search_space=None, max_rows={spec.max_rows}),")
    return "[\n" + "\n".join(lines) + "\n    ]"


def _label_score(metric: str, writer: Any) -> str:
    fn, context = writer.inline(ANOMALY_METRICS.get(metric).fn), writer.inline(MetricContext)
    return ("def score_with_labels(truth: np.ndarray, scores: np.ndarray) -> float:\n"
            f'    """Test {metric} against the known anomalies (NaN when the kept rows hold one kind only)."""\n'
            "    if len(np.unique(truth)) < 2:\n        return float(\"nan\")\n"
            f"    return {fn}({context}(y_true=np.asarray(truth, dtype=int), pred=np.asarray(scores, dtype=float)))")


def _check(meta: dict[str, Any], source: DataSource) -> None:
    from automlops.mlops.lake import DataLake

    frame = DataLake().load(source.name, source.version)
    missing = [c for c in meta.get("input_columns") or [] if c not in frame.columns]
    if missing:
        raise ConfigError(f"column(s) {', '.join(missing)} the model needs are not in dataset '{source.name}'")
    kept = len(frame) - int(round(len(frame) * (1 - DEFAULT_TEST_SIZE)))
    if meta.get("n_test_rows") is not None and kept != int(meta["n_test_rows"]):
        raise ConfigError(f"this model kept {meta['n_test_rows']} rows aside, not the default 20 % ({kept}): it was "
                          "trained with a custom test share that the model does not record")


def anomaly_parts(loaded: Any, source: DataSource) -> ScriptParts:
    """The pieces of an anomaly model's script (see the module docstring)."""
    meta, model = loaded.meta, loaded.model
    _check(meta, source)
    seed = int(meta.get("seed") or 0)
    parts = ScriptParts(
        title=f"Rebuild and re-test anomaly model '{meta['name']}' v{meta['version']}: {meta['best_model']}.",
        summary=[f"Trained on dataset '{source.name}' v{source.version:04d}; recorded test {meta['metric']} = "
                 f"{meta.get('test_score')} on {meta.get('n_test_rows')} rows kept aside.",
                 "The script reads the same CSV (checking its SHA-256), keeps the same random rows aside, fits the",
                 "detectors below on the others and scores the kept rows as the studio does."])
    writer = parts.writer
    writer.name_list("INPUT_COLUMNS", list(meta.get("input_columns") or []))
    members = [(m["model"], dict(m["params"])) for m in meta.get("members") or []]
    label_metric = meta["metric"] in LABEL_METRICS
    parts.functions = [
        'def build_preprocessor() -> Any:\n    """Median imputation, scaling and one-hot encoding (untrained)."""\n'
        f"    return {writer.model_expression(model.prep)}",
        'def build_detectors() -> list:\n    """The chosen detector(s), with the settings the search found."""\n'
        f"    return {_specs_source(members, seed, writer)}",
    ]
    if label_metric:
        writer.inline(parse_label)
        parts.functions.append(_label_score(str(meta["metric"]), writer))
    else:
        parts.functions.append('def build_panel() -> list:\n    """The fixed panel of default detectors the '
                               'agreement compares with."""\n'
                               f"    return {_specs_source([(n, {}) for n in meta.get('panel') or PANEL], seed, writer)}")
        parts.functions.append(WITHOUT_LABELS.strip())
        for scorer in (agreement, stability, rank_scores, half_rows):
            writer.inline(scorer)
    parts.functions.append(MAIN.strip())
    for helper in (runtime.parse_args, runtime.check_sha256, runtime.load_table, runtime.split_random_rows,
                   runtime.say, runtime.log_to_mlflow, ensemble_scores, fit_detector):
        writer.inline(helper)
    writer.import_name("typing", "Any")
    writer.import_module("warnings")
    e = writer.expression
    parts.settings = {**common_settings(meta, source, writer), "LABEL": e(meta.get("label")),
                      "LABEL_METRIC": e(label_metric), "TEST_SIZE": e(DEFAULT_TEST_SIZE),
                      "WITH_STABILITY": e("stability" in (meta.get("test_metrics") or {}))}
    return parts
