"""Retrain on drift: the step that closes the loop from live traffic back to a better model.

Drift says *the inputs changed*; it does not say the model got worse, nor that a new one would be
better. So a careful retrain answers three questions, in order, and stops at the first "no":

1. **Is there drift?** The monitor's verdict (:func:`automlops.mlops.monitoring.monitor_model`).
2. **Is there enough fresh ground truth?** Labels arrive through ``POST /feedback``; only rows predicted
   after the champion was saved count (so rows an earlier retrain learned from are never reused). With
   fewer than ``min_labelled`` of them any comparison is noise, so nothing is trained.
3. **Is the challenger better?** The labelled rows are split by time. The older half joins the
   lake version *the champion was trained on* (never the newest one, which may hold other columns
   or rows an earlier retrain added), and a *challenger* is trained on it with the champion's
   exact configuration (:func:`automlops.tabular.retrain.retrain_fit`: same pipeline, same
   hyperparameters — only the data changed). The newer half is data neither model has seen:
   both are scored on it with the champion's metric. The challenger is promoted only if it is at
   least as good there; it goes to ``staging`` for a person to review (the default), or straight
   to ``production`` with ``auto_promote``.

The grown table is written to the lake (with its parent) only once the challenger is trained, so
a failed retrain leaves nothing behind; a table the lake already holds is reused, and a check that
finds no labelled rows beyond those a challenger already learned from trains nothing (idempotent).

Every step is logged: the challenger's own MLflow run (with its parent version), a ``retrain``
run holding both scores and the verdict, the decision in the challenger's ``decisions_``, and the
promotion with its numbers in the registry's stage history.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from automlops.config import Settings, get_settings
from automlops.core.results import Decision
from automlops.errors import AutoMLOpsError, DataError

if TYPE_CHECKING:
    import pandas as pd

    from automlops.core.fit import FitResult
    from automlops.mlops.lake import DataLake, DatasetVersion
    from automlops.mlops.monitoring import MonitorResult
    from automlops.mlops.store import ModelStore
    from automlops.mlops.tracking import Tracker

__all__ = ["RetrainOutcome", "retrain_on_drift"]

MIN_LABELLED = 100
RETRAINER = "automlops monitor --retrain"  # the "who" of the registry history


@dataclass(frozen=True)
class RetrainOutcome:
    """What the retrain step did and why, with the numbers behind it."""

    action: str  # "skipped" | "kept_champion" | "promoted"
    reason: str
    champion: str
    metric: str | None = None
    challenger: str | None = None
    champion_score: float | None = None
    challenger_score: float | None = None
    stage: str | None = None
    n_labelled: int = 0
    n_train_rows: int = 0
    n_compare_rows: int = 0
    dataset_version: int | None = None
    run_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def retrain_on_drift(monitored: MonitorResult, *, min_labelled: int = MIN_LABELLED, auto_promote: bool = False,
                     force: bool = False, settings: Settings | None = None,
                     tracker: Tracker | None = None) -> RetrainOutcome:
    """Decide, train and compare after one monitor check (see the module docstring); never raises for a "no"."""
    from automlops.mlops.feedback import labelled_rows
    from automlops.mlops.store import ModelStore, parse_model_ref

    settings = settings or get_settings()
    name, version = parse_model_ref(monitored.model)
    champion_ref = monitored.model
    if not (monitored.report.drifted or force):
        return RetrainOutcome("skipped", f"no drift: {monitored.report.share_drifted:.0%} of columns drifted, "
                              f"below the {monitored.report.drift_share:.0%} threshold", champion_ref)
    store = ModelStore(settings=settings)
    created = next((s.created for s in store.versions(name) if s.version == version), None)
    # only traffic that came after the champion was saved: rows an earlier retrain trained on are older
    labelled = labelled_rows(name, settings=settings, since=created)
    if len(labelled) < min_labelled:
        return RetrainOutcome("skipped", f"drift, but only {len(labelled)} labelled live rows since {champion_ref} "
                              f"was saved (POST /feedback); a fair comparison needs at least {min_labelled}",
                              champion_ref, n_labelled=len(labelled))
    champion = store.load(name, version)
    labelled = _as_model_classes(labelled, champion.meta, champion_ref)
    labelled = labelled.sort_values("time", kind="stable").reset_index(drop=True)
    half = len(labelled) // 2
    train_part, compare_part = labelled.iloc[:half], labelled.iloc[half:]
    grown = _grow_dataset(champion.meta, train_part, settings)
    tried = _challenger_on(store, name, champion_ref, grown.existing)
    if tried is not None:
        return RetrainOutcome("skipped", f"{tried} was already trained on {grown.label} (the data {champion_ref} "
                              f"learned from plus these {grown.n_added} labelled live rows); no new labelled rows "
                              "since, so a new challenger would learn nothing new", champion_ref,
                              challenger=tried, n_labelled=len(labelled), dataset_version=grown.existing.version
                              if grown.existing else None)
    return _train_and_judge(champion, grown, compare_part, auto_promote=auto_promote, settings=settings,
                            tracker=tracker, n_labelled=len(labelled))


def _as_model_classes(labelled: pd.DataFrame, meta: dict[str, Any], ref: str) -> pd.DataFrame:
    """A classifier's labels as its own class values (JSON's ``1`` for the class ``"1"``); refuses
    labels that name no class of the model (``0``/``1`` sent for ``benign``/``malignant``, say)."""
    classes = list(meta.get("classes") or []) if meta.get("task") == "classification" else []
    if not classes:
        return labelled
    by_text = {str(c): c for c in classes}
    unknown = sorted({str(label) for label in labelled["label"]} - set(by_text))
    if unknown:
        shown = ", ".join(repr(u) for u in unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        raise DataError(f"the labels sent back through /feedback for {ref} include {shown}, which "
                        f"{'is' if len(unknown) == 1 else 'are'} not among its classes "
                        f"({', '.join(map(repr, classes[:10]))}): send each row's true class as the model names it; "
                        "nothing was retrained")
    return labelled.assign(label=[by_text[str(label)] for label in labelled["label"]])


@dataclass(frozen=True)
class _Grown:
    """The challenger's training data: the champion's lake version plus the older labelled live rows.

    Nothing is written yet: the new lake version is added only once the challenger is trained
    (``existing`` is a version that already holds exactly this table, reused instead).
    """

    name: str
    frame: pd.DataFrame
    base: DatasetVersion
    learned: pd.DataFrame  # the rows the champion learned from (its own lake version)
    n_added: int
    existing: DatasetVersion | None

    @property
    def label(self) -> str:
        return f"{self.name}@v{self.existing.version}" if self.existing else f"{self.name}@v{self.base.version}+live"

    def store(self, lake: DataLake, champion_ref: str) -> DatasetVersion:
        """The lake version holding :attr:`frame`: the existing one, or a new one derived from :attr:`base`."""
        if self.existing is not None:
            return self.existing
        note = (f"v{self.base.version:04d} + {self.n_added} labelled live rows (feedback) for retraining "
                f"{champion_ref}")
        return lake.add_processed(self.name, self.frame, parent=self.base.version, note=note)


def _grow_dataset(meta: dict[str, Any], train_part: pd.DataFrame, settings: Settings) -> _Grown:
    """The version the champion was trained on, grown by the labelled rows (see :class:`_Grown`).

    Always the champion's own version, never the lake's newest: a newer version may hold other
    columns, or the rows an earlier retrain already added, which would then be added twice.
    Also gives the rows the champion learned from, so a warm-started challenger can say how many of
    its own held-out rows the champion had already seen (its test score is then optimistic; the
    verdict never uses that score, only the newer labelled rows).
    """
    import pandas as pd

    from automlops.mlops.ingest import check_frame, table_digest
    from automlops.mlops.lake import DataLake

    dataset = meta.get("dataset") or {}
    ref = f"{meta.get('name')}@v{meta.get('version')}"
    if not dataset.get("name") or not dataset.get("version"):
        raise AutoMLOpsError(f"{ref} records no training dataset version, so there is nothing to retrain it on")
    lake = DataLake(settings=settings)
    base = lake.get_version(dataset["name"], dataset["version"])
    learned = lake.load(dataset["name"], base.version)
    target, columns = meta["target"], list(meta.get("input_columns") or [])
    fresh = train_part[columns].copy()
    fresh[target] = train_part["label"].to_numpy()
    grown = check_frame(pd.concat([learned, fresh[[c for c in learned.columns if c in fresh.columns]]],
                                  ignore_index=True))
    digest = table_digest(grown)
    existing = next((v for v in lake.versions(dataset["name"])
                     if v.parent == base.version and v.content_sha256 == digest), None)
    return _Grown(dataset["name"], grown, base, learned, len(fresh), existing)


def _challenger_on(store: ModelStore, name: str, champion_ref: str, data: DatasetVersion | None) -> str | None:
    """A challenger of ``champion_ref`` already trained on lake version ``data``, if any (its reference)."""
    if data is None:
        return None
    for stored in store.versions(name):
        trained_on = stored.meta.get("dataset") or {}
        if (stored.meta.get("parent") == champion_ref and trained_on.get("name") == data.dataset
                and trained_on.get("version") == data.version):
            return f"{stored.name}@v{stored.version}"
    return None


def _score(loaded_model: Any, meta: dict[str, Any], rows: pd.DataFrame) -> float:
    """The champion's metric on labelled live rows (never seen by either model)."""
    import numpy as np

    from automlops.core.metrics import get_metric, score
    from automlops.tabular.evaluate import predict_labels_and_proba

    X = rows[list(meta["input_columns"])]
    classify = meta.get("task") == "classification"
    labels, proba = predict_labels_and_proba(loaded_model, X, classify=classify)
    y = rows["label"].to_numpy()
    classes = list(getattr(loaded_model, "classes_", [])) if classify else []
    if classify and classes and isinstance(classes[0], str):
        y = y.astype(str)
    return float(score(get_metric(meta["metric"]), np.asarray(y), labels, proba, classes))


def _train_and_judge(champion: Any, grown: _Grown, compare: pd.DataFrame, *, auto_promote: bool,
                     settings: Settings, tracker: Tracker | None, n_labelled: int) -> RetrainOutcome:
    """Train the challenger, score both, and only then write: lake version, model, registry, runs.

    A refusal or a failure while training leaves the lake as it was (no orphan version behind).
    """
    from automlops.core.metrics import get_metric
    from automlops.mlops.lake import DataLake
    from automlops.mlops.registry import ModelRegistry
    from automlops.mlops.store import ModelStore
    from automlops.mlops.tracking import Tracker
    from automlops.tabular.persist import save_model
    from automlops.tabular.retrain import retrain_fit

    meta = champion.meta
    ref = f"{meta['name']}@v{meta['version']}"
    pending = {"name": grown.name, "version": _PENDING}
    result = retrain_fit(champion, grown.frame, dataset=pending, tracker=None, parent_frame=grown.learned)
    metric = get_metric(meta["metric"])
    old = _score(champion.model, meta, compare)
    new = _score(result.artifact.obj, meta, compare)
    better = new >= old if metric.greater_is_better else new <= old
    stage = ("production" if auto_promote else "staging") if better else None
    verdict = (f"challenger {metric.name} {new:.4f} vs champion {ref} {old:.4f} on {len(compare)} fresh labelled "
               f"rows neither model saw: " + (f"not worse, promoted to {stage}" if better else
                                                "worse, the champion stays"))
    tracker = tracker or Tracker(settings=settings)
    data_version = grown.store(DataLake(settings=settings), ref)
    result = _with_lineage(result, champion, grown.frame, data_version.lineage(), tracker)
    result = dataclasses.replace(result, decisions=(*result.decisions, Decision("retrain on drift", verdict)))
    store = ModelStore(settings=settings)
    stored = save_model(result, store, str(meta["name"]), dataset=data_version.lineage())
    registry = ModelRegistry(tracker, settings=settings)
    registry.sync(store, stored.name)  # in case registering at save time failed
    if stage is not None:
        registry.promote(stored.name, stored.version, stage, reason=verdict, who=RETRAINER)
    else:  # the history says a challenger was tried and why it lost
        registry.note(stored.name, stored.version, verdict, action="challenge", who=RETRAINER)
    run_id = _log_retrain_run(tracker, settings, ref, stored.ref, metric.name, old, new, verdict, len(compare))
    return RetrainOutcome("promoted" if better else "kept_champion", verdict, ref, metric=metric.name,
                          challenger=stored.ref, champion_score=old, challenger_score=new, stage=stage,
                          n_labelled=n_labelled, n_train_rows=len(grown.frame), n_compare_rows=len(compare),
                          dataset_version=data_version.version, run_id=run_id)


_PENDING = "<pending>"  # the lake version's number while the challenger trains (it is written afterwards)


def _with_lineage(result: FitResult, champion: Any, frame: pd.DataFrame, lineage: dict[str, Any],
                  tracker: Tracker) -> FitResult:
    """The challenger's result once its data is in the lake: decisions name the version, and its
    MLflow run (with that lineage as the dataset input) is logged now rather than during the fit."""
    from automlops.tabular.retrain import log_retrained_model

    label = f"{lineage['name']}@v{lineage['version']}"
    decisions = tuple(Decision(d.topic, d.message.replace(f"{lineage['name']}@v{_PENDING}", label))
                      for d in result.decisions)
    columns = list(result.input_columns)
    run_id, errors = log_retrained_model(tracker, champion, result.artifact.obj, result.problem,
                                         dict(result.test_metrics), dict(result.best_params), frame[columns].head(5),
                                         lineage, decisions, f"{champion.meta['name']}@v{champion.meta['version']}",
                                         str(result.artifact.meta["retrain"]))
    return dataclasses.replace(result, decisions=decisions, run_id=run_id,
                               tracking_errors=(*result.tracking_errors, *errors))


def _log_retrain_run(tracker: Tracker | None, settings: Settings, champion: str, challenger: str, metric: str,
                     old: float, new: float, verdict: str, n_compare: int) -> str | None:
    """One MLflow run for the decision itself: both scores, the rows they were measured on, the verdict."""
    from automlops.mlops.tracking import Tracker

    try:
        tracker = tracker or Tracker(settings=settings)
        run_id = tracker.start_run(f"retrain {challenger}", tags={"automlops.kind": "retrain",
                                                                  "champion": champion, "challenger": challenger})
        tracker.log_params(run_id, {"metric": metric, "n_compare_rows": n_compare})
        tracker.log_metrics(run_id, {f"champion_{metric}": old, f"challenger_{metric}": new})
        tracker.log_text(run_id, verdict, "retrain_decision.txt")
        tracker.end_run(run_id)
        return run_id
    except AutoMLOpsError:
        return None  # the decision is already in the challenger's decisions_ and the registry history
