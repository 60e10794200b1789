"""The vision stability subject: scikit-learn's handwritten digits as a tiny ImageFolder, short trainings."""

from __future__ import annotations

import math
import pickle
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from automlops.errors import ConfigError, DataError
from automlops.stability.vision import VisionSubject, _weights_arg, saved_subject

PARAMS = {"lr": 1e-3, "weight_decay": 1e-4, "batch_size": 4, "optimizer": "adamw", "freeze": 0.0}


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> object:
    """Digits 0-2, 6 images each, 32 px."""
    from automlops.vision.datasets import load_image_dataset
    from automlops.vision.samples import write_digits_imagefolder

    root = write_digits_imagefolder(tmp_path_factory.mktemp("digits") / "digits", per_class=6, size=32, classes=3)
    return load_image_dataset(root)


@pytest.fixture(scope="module")
def subject(digits: object) -> VisionSubject:
    return VisionSubject(digits, "resnet18", PARAMS, task="image_classification", metric="accuracy", image_size=32,
                         weights="none", epochs=1, device="cpu")


def test_splits_are_stratified_by_class_without_leakage(subject: VisionSubject) -> None:
    scheme, resamples = subject.resampling(2, seed=0)
    assert "stratified by class" in scheme and len(resamples) == 2
    labels = np.asarray(subject.data.labels())
    for r in resamples:
        assert not set(r.train) & set(r.test) and len(r.train) + len(r.test) == 18
        assert sorted(labels[r.test]) == [0, 1, 2]  # 15 % of 18 images, one of each class
    assert list(resamples[0].test) != list(resamples[1].test)


def test_analyze_trains_briefly_on_two_splits_and_scores_accuracies(subject: VisionSubject) -> None:
    from automlops.stability.analysis import analyze

    report = analyze(subject, splits=2, n_jobs=1)
    assert report.kind == "vision" and report.metric == "accuracy" and report.n_fits == 2
    assert all(math.isfinite(f.score) and 0.0 <= f.score <= 1.0 for f in report.fits)
    assert report.splits is not None and report.verdict


def test_sweeps_are_log_scaled_around_the_chosen_values(subject: VisionSubject) -> None:
    sweeps = {s.param: s for s in subject.sweeps(3)}
    assert set(sweeps) == {"lr", "weight_decay", "batch_size"}
    for name, sweep in sweeps.items():
        assert sweep.chosen == PARAMS[name] and sweep.chosen in sweep.values and sweep.log
    assert min(sweeps["lr"].values) >= 1e-4 and max(sweeps["lr"].values) <= 3e-3  # AdamW's range in the search
    assert subject.has_randomness()


@pytest.mark.slow
def test_the_reference_split_is_the_engine_s_and_the_subject_pickles(subject: VisionSubject) -> None:
    split = subject.reference_split()
    assert len(split.test) == 3 and not set(split.train) & set(split.test)
    again = pickle.loads(pickle.dumps(subject))
    assert again.fit_score(split, seed=1) == pytest.approx(subject.fit_score(split, seed=1), abs=1e-6)


def test_weights_that_cannot_be_found_again_are_refused() -> None:
    assert _weights_arg({"weights_source": "random"}) == "none"
    assert _weights_arg({"weights_source": "cache"}) == "auto"
    with pytest.raises(ConfigError, match="weights file"):
        _weights_arg({"name": "net", "version": 1, "weights_source": "file", "weights_detail": "weights from a.pt"})


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, object]]:
    """A resnet18 trained by the vision engine on the image lake's digits, saved with its lineage."""
    from automlops.mlops.image_lake import ImageLake
    from automlops.mlops.store import ModelStore
    from automlops.vision.runner import VisionRunner, save_vision_model
    from automlops.vision.samples import write_digits_imagefolder, zip_folder

    with pytest.MonkeyPatch.context() as mp:
        root = tmp_path_factory.mktemp("vision-home")
        mp.setenv("AUTOMLOPS_HOME", str(root))
        mp.setenv("AUTOMLOPS_DOWNLOAD_WEIGHTS", "false")
        archive = zip_folder(write_digits_imagefolder(root / "digits", per_class=6, size=32, classes=3),
                             root / "digits.zip")
        lake = ImageLake()
        entry = lake.add_archive("digits", archive)
        runner = VisionRunner("classification", models=["resnet18"], epochs=1, n_trials=1, weights="none",
                              batch_size=4, download_weights=False).fit(lake.load(entry.name, entry.version))
        stored = save_vision_model(runner.result_, ModelStore(), "digit_net", dataset=entry.lineage(), register=False)
        yield root, ModelStore().load(stored.name, stored.version)


@pytest.mark.slow
def test_a_saved_image_model_is_rebuilt_from_the_image_lake(saved: tuple[Path, object]) -> None:
    import dataclasses

    from automlops.stability.analysis import analyze

    _, loaded = saved
    subject = saved_subject(loaded)
    assert subject.architecture == "resnet18" and subject.weights == "none" and subject.image_size == 32
    assert subject.params == loaded.meta["best_params"] and subject.metric == "accuracy"  # type: ignore[attr-defined]
    assert subject.epochs == len(loaded.meta["history"]) == 1  # type: ignore[attr-defined]  # no more epochs than the search ran
    report = analyze(subject, splits=2, seeds=2, n_jobs=1)
    assert report.n_fits == 4 and report.seeds is not None and report.seeds.n == 2
    gone = dataclasses.replace(loaded, meta={**loaded.meta, "dataset": {"name": "digits", "version": 7}})  # type: ignore[type-var]
    with pytest.raises(DataError, match="no longer in the image lake"):
        saved_subject(gone)
