"""What the engine adapters share: sweeps around a chosen value, random hold-outs, recorded search spaces."""

from __future__ import annotations

import math

import numpy as np
import pytest

from automlops.errors import DataError
from automlops.stability.adapter_kit import RecordingSuggest, Space, holdouts, sweep_for, to_distributions


def test_a_log_sweep_is_evenly_spaced_in_log_space_around_the_chosen_value() -> None:
    sweep = sweep_for(Space("lr", "float", 1e-4, 1e-2, log=True), 1e-3, 5)
    logs = [math.log10(v) for v in sweep.values]
    assert sweep.log and sweep.chosen == 1e-3 and 1e-3 in sweep.values
    assert np.allclose(np.diff(logs), 0.25) and logs[0] == pytest.approx(-3.5)  # half of 10^-4..10^-2, centred


def test_integer_sweeps_stay_centred_and_never_repeat_values() -> None:
    assert sweep_for(Space("k", "int", 2, 10), 3, 3).values == (2, 3, 4)
    assert sweep_for(Space("k", "int", 2, 10), 3, 5).values == (2, 3, 4, 5, 6)
    narrow = sweep_for(Space("n_init", "int", 2, 8), 5, 5).values
    assert len(narrow) == 5 and 5 in narrow and len(set(narrow)) == 5


def test_a_categorical_sweep_tries_every_choice_and_keeps_an_outside_choice() -> None:
    assert sweep_for(Space("init", "cat", choices=("a", "b")), "b", 5).values == ("a", "b")
    outside = sweep_for(Space("batch", "cat", choices=(8, 16)), 4, 5)
    assert outside.values == (4, 8, 16) and outside.categorical


def test_the_recording_suggest_answers_the_chosen_values_and_keeps_the_ranges() -> None:
    recorder = RecordingSuggest({"n": 7, "how": "b"})
    assert recorder.int("n", 1, 10, log=True) == 7 and recorder.cat("how", ["a", "b"]) == "b"
    assert recorder.float("alpha", 0.1, 1.0) == 0.1  # not chosen: the low end, and still recorded
    dists = to_distributions(recorder.spaces)
    assert dists["n"].log and dists["n"].high == 10 and dists["how"].choices == ("a", "b") and "alpha" in dists


def test_holdouts_are_stratified_when_every_class_can_be_split() -> None:
    labels = np.array([0] * 90 + [1] * 10)
    for r in holdouts(100, 3, seed=0, test_share=0.2, stratify=labels):
        assert len(r.test) == 20 and labels[r.test].sum() == 2 and not set(r.train) & set(r.test)
    lonely = np.array([0] * 99 + [1])  # one row of a class cannot be on both sides: plain random splits
    assert len(holdouts(100, 2, seed=0, test_share=0.2, stratify=lonely)) == 2
    with pytest.raises(DataError, match="too few"):
        holdouts(3, 2, seed=0, test_share=0.5)
