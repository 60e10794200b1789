"""``automlops monitor --retrain [--auto-promote]``: the retrain-on-drift step of the monitor command.

After each drift check, :func:`retrain_step` asks :func:`automlops.lifecycle.retrain_on_drift`
whether to train a challenger (drift, and enough labelled live rows) and whether to promote it
(at least as good as the champion on fresh labelled rows); the outcome joins the check's JSON
object under ``"retrain"``. Without ``--retrain`` the step does nothing.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from automlops.mlops.monitoring import MonitorResult

__all__ = ["add_retrain_arguments", "retrain_step"]


def _at_least_two(text: str) -> int:
    if not text.isdigit() or int(text) < 2:
        raise argparse.ArgumentTypeError(f"expected a whole number ≥ 2, got {text!r}")
    return int(text)


def add_retrain_arguments(monitor: argparse.ArgumentParser) -> None:
    """The retrain flags of ``monitor`` (cheap: nothing heavy imported)."""
    from automlops.lifecycle import MIN_LABELLED

    group = monitor.add_argument_group("retrain on drift")
    group.add_argument("--retrain", action="store_true",
                       help="on drift, train a challenger with the champion's configuration on its data plus the "
                            "older half of the labelled live rows, and compare both on the newer half")
    group.add_argument("--auto-promote", action="store_true",
                       help="implies --retrain; promote a winning challenger straight to production (default: to staging)")
    group.add_argument("--min-labelled", type=_at_least_two, default=MIN_LABELLED,
                       help=f"labelled live rows needed before retraining (default {MIN_LABELLED})")


def retrain_step(result: MonitorResult, args: argparse.Namespace) -> dict[str, Any]:
    """Run the retrain decision after a check when ``--retrain`` was given; its outcome as JSON keys."""
    if not (getattr(args, "retrain", False) or getattr(args, "auto_promote", False)):
        return {}
    from automlops.lifecycle import retrain_on_drift

    outcome = retrain_on_drift(result, min_labelled=args.min_labelled, auto_promote=args.auto_promote)
    if not args.json:
        print(f"retrain: {outcome.action}: {outcome.reason}", flush=True)
    return {"retrain": outcome.as_dict()}
