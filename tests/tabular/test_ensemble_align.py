"""Aligning members' out-of-fold predictions: the rows every member predicted, in one order."""

from __future__ import annotations

import numpy as np
import pytest

from automlops.tabular.ensemble import _aligned
from automlops.tabular.evaluate import OutOfFold


def _oof(rows: list[int], tag: int, fold_of=lambda r: r % 3) -> OutOfFold:  # type: ignore[no-untyped-def]
    """Out-of-fold predictions whose values name their row: pred = 10·row + tag, proba = [row, tag]."""
    r = np.asarray(rows)
    return OutOfFold(r, np.array([fold_of(x) for x in rows]), 10.0 * r + tag,
                     np.column_stack([r, np.full(len(r), tag)]).astype(float))


def test_rows_are_the_sorted_intersection_and_positions_point_at_each_members_rows() -> None:
    a = _oof([4, 0, 2, 6, 1], tag=1)
    b = _oof([2, 5, 4, 1, 7, 6], tag=2)
    c = _oof([6, 1, 2, 4, 9, 3], tag=3)
    rows, folds, positions = _aligned([a, b, c])
    assert rows.tolist() == [1, 2, 4, 6]  # 0, 3, 5, 7 and 9 were not predicted by every member
    assert [p.tolist() for p in positions] == [[4, 2, 0, 3], [3, 0, 2, 5], [1, 2, 3, 0]]
    for member, tag, pos in zip((a, b, c), (1, 2, 3), positions, strict=True):
        assert (member.rows[pos] == rows).all()
        assert (member.pred[pos] == 10 * rows + tag).all()
        assert (member.proba[pos][:, 0] == rows).all() and (member.proba[pos][:, 1] == tag).all()  # type: ignore[index]
    assert folds.tolist() == [1, 2, 1, 0]  # each row's fold, as the first member recorded it


def test_members_with_the_same_rows_in_different_orders() -> None:
    first = _oof([3, 1, 2, 0], tag=1, fold_of=lambda r: r // 2)
    second = _oof([0, 1, 2, 3], tag=2, fold_of=lambda r: r // 2)
    rows, folds, (p1, p2) = _aligned([first, second])
    assert rows.tolist() == [0, 1, 2, 3] and folds.tolist() == [0, 0, 1, 1]
    assert p1.tolist() == [3, 1, 2, 0] and p2.tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("seed", range(5))
def test_random_row_sets_and_orders(seed: int) -> None:
    rng = np.random.default_rng(seed)
    members = []
    for tag in range(1, 5):
        chosen = rng.choice(60, size=int(rng.integers(30, 60)), replace=False)  # a random subset, shuffled
        members.append(_oof(chosen.tolist(), tag, fold_of=lambda r: r % 5))
    expected = sorted(set.intersection(*(set(m.rows.tolist()) for m in members)))
    rows, folds, positions = _aligned(members)
    assert rows.tolist() == expected
    assert (folds == rows % 5).all()
    for tag, (member, pos) in enumerate(zip(members, positions, strict=True), start=1):
        assert (member.rows[pos] == rows).all()
        assert (member.pred[pos] == 10 * rows + tag).all()
