"""The exported script of a clustering model.

Clustering has no target, so its "test score" is the internal metric the search chose by
(silhouette by default) measured on rows kept aside: the clustering engine keeps a random fifth of
the rows (a seeded permutation), fits the pipeline - scaling, one-hot encoding, then the algorithm
(with a nearest-neighbour *assigner* for algorithms that cannot place new rows) - on the others,
assigns the kept rows with ``predict`` and scores them (see :mod:`automlops.clustering.engine`).
The script repeats exactly that; the silhouette's row sample (above 10,000 rows, or the smaller sample a
short time budget chose: the model records it) uses the same seed and size.
"""

from __future__ import annotations

from typing import Any

from automlops.clustering.metrics import CLUSTER_METRICS, n_clusters
from automlops.core.metrics import MetricContext
from automlops.errors import ConfigError
from automlops.export import runtime
from automlops.export.script import DataSource, ScriptParts, common_settings

__all__ = ["clustering_parts"]

DEFAULT_TEST_SIZE = 0.2  # ClusteringEngine's default share of rows kept aside
MIN_TRAIN_ROWS = 8  # ClusteringEngine keeps at least MIN_ROWS - 2 rows to cluster
SINGLE_THREAD_ROWS = 20_000  # below this the engine runs every thread pool with one thread

MAIN = '''
def main(argv: list[str] | None = None) -> int:
    """Load and check the data, keep the same rows aside, cluster the others, score the kept rows."""
    args = parse_args(__doc__.splitlines()[0], DATA_PATH, argv)
    path = Path(args.data)
    check_sha256(path, DATA_SHA256, args.skip_check)
    frame = load_table(path, TABLE)
    features = frame.drop(columns=[REFERENCE]) if REFERENCE else frame
    train_rows, test_rows = split_random_rows(len(features), test_size=TEST_SIZE, seed=SEED,
                                              min_train=MIN_TRAIN_ROWS)
    train, test = features.iloc[train_rows], features.iloc[test_rows]
    say(f"{len(features)} rows: {len(train)} to cluster, {len(test)} kept aside to assign and score")
    threads = None if len(train) < SINGLE_THREAD_ROWS else "openmp"
    model = fit_quietly(build_model(), train[INPUT_COLUMNS], user_api=threads)
    labels = np.asarray(model.predict(test[INPUT_COLUMNS]), dtype=int)
    X_test = np.asarray(model[:-1].transform(test[INPUT_COLUMNS]), dtype=float)
    test_score = score(X_test, labels)
    say(f"test {METRIC} = {test_score:.6f} on {len(test)} rows (recorded at training: {RECORDED_TEST_SCORE})")
    if args.refit_full:  # the studio ships the model fitted on the training rows; this is your choice
        model = fit_quietly(build_model(), features[INPUT_COLUMNS], user_api=threads)
        say(f"refitted on all {len(features)} rows")
    if args.mlflow:
        log_to_mlflow(args, RUN_NAME, {**RECORDED_PARAMS, "seed": SEED}, {f"test_{METRIC}": test_score},
                      model, test[INPUT_COLUMNS].head(5), REQUIREMENTS)
    print(f"test_score={test_score!r}")
    return 0
'''


def _score_function(metric: str, writer: Any) -> str:
    spec = CLUSTER_METRICS.get(metric)
    fn, context, count = writer.inline(spec.fn), writer.inline(MetricContext), writer.inline(n_clusters)
    return (f"def score(X: np.ndarray, labels: np.ndarray) -> float:\n"
            f'    """Test {spec.label}, computed by the studio\'s own code (copied above); NaN below two clusters.\n\n'
            f"    {spec.explanation[:1].upper() + spec.explanation[1:]}.\n"
            f'    """\n'
            f"    if {count}(labels) < 2 or int(np.sum(labels >= 0)) <= {count}(labels):\n"
            f"        return float(\"nan\")\n"
            f"    return {fn}({context}(pred=labels, X=X, extra={{\"seed\": SEED, \"sample\": SILHOUETTE_ROWS}}))")


def _reference(meta: dict[str, Any]) -> str | None:
    found = meta.get("reference_scores") or {}
    return str(found["column"]) if found.get("column") else None


def _check_split(meta: dict[str, Any], source: DataSource) -> None:
    from automlops.mlops.lake import DataLake

    frame = DataLake().load(source.name, source.version)
    missing = [c for c in meta.get("input_columns") or [] if c not in frame.columns]
    if missing:
        raise ConfigError(f"column(s) {', '.join(missing)} the model needs are not in dataset '{source.name}'")
    n = len(frame)
    kept = n - max(MIN_TRAIN_ROWS, int(round(n * (1 - DEFAULT_TEST_SIZE))))
    if meta.get("n_test_rows") is not None and kept != int(meta["n_test_rows"]):
        raise ConfigError(f"this clustering kept {meta['n_test_rows']} rows aside, not the default 20 % ({kept}): "
                          "it was trained with a custom test share that the model does not record")


def clustering_parts(loaded: Any, source: DataSource) -> ScriptParts:
    """The pieces of a clustering model's script (see the module docstring)."""
    meta = loaded.meta
    _check_split(meta, source)
    parts = ScriptParts(
        title=f"Rebuild and re-test clustering model '{meta['name']}' v{meta['version']}: {meta['best_model']}.",
        summary=[f"Trained on dataset '{source.name}' v{source.version:04d}; recorded test {meta['metric']} = "
                 f"{meta.get('test_score')} on {meta.get('n_test_rows')} rows kept aside.",
                 "The script reads the same CSV (checking its SHA-256), keeps the same random rows aside, fits the",
                 "pipeline below on the others, assigns the kept rows to clusters and scores them."])
    writer = parts.writer
    writer.name_list("INPUT_COLUMNS", list(meta.get("input_columns") or []))
    model_source = writer.model_expression(loaded.model)
    parts.functions = [
        'def build_model() -> Any:\n    """The chosen pipeline, untrained: scaling and one-hot encoding, then the '
        f'clustering."""\n    return {model_source}',
        _score_function(str(meta["metric"]), writer),
        MAIN.strip(),
    ]
    for helper in (runtime.parse_args, runtime.check_sha256, runtime.load_table, runtime.split_random_rows,
                   runtime.fit_quietly, runtime.log_to_mlflow, runtime.say):
        writer.inline(helper)
    writer.import_name("typing", "Any")
    e = writer.expression
    parts.settings = {**common_settings(meta, source, writer), "REFERENCE": e(_reference(meta)),
                      "TEST_SIZE": e(DEFAULT_TEST_SIZE), "MIN_TRAIN_ROWS": e(MIN_TRAIN_ROWS),
                      "SINGLE_THREAD_ROWS": e(SINGLE_THREAD_ROWS),
                      "SILHOUETTE_ROWS": e(meta.get("silhouette_rows"))}  # None: the usual sample
    return parts
