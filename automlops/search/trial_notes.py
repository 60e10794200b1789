"""What the search says about its trials when it ends: the ones that failed, and too few that finished.

Both are decisions (``decisions_``), in plain words, never tracebacks: a failed trial is left out and
counted with its model and first error; a budget that let only one or two trials finish is said with
its cure, so a model that is about the first settings tried is not read as the best a search can do.
"""

from __future__ import annotations

from collections.abc import Sequence

import optuna

__all__ = ["STARVED", "STARVED_TRIALS", "WARNED", "failures_note", "first_note", "starved_note", "warned",
           "warns"]

STARVED = "the time budget let only"  # how the decision starts when too few trials finished to compare models
STARVED_TRIALS = 3  # fewer finished trials than this, the budget ending the search: said, with the cure
WARNED: list[str] = [STARVED]  # decisions starting so are also a warning on train's stderr (engines add theirs)


def warns(prefix: str) -> str:
    """Register ``prefix``: a decision that starts with it is worth a warning, not only a line in ``decisions_``."""
    if prefix not in WARNED:
        WARNED.append(prefix)
    return prefix


def warned(messages: Sequence[str]) -> list[str]:
    """The decisions among ``messages`` that :func:`warns` registered, in their order."""
    return [m for m in messages if m.startswith(tuple(WARNED))]


def first_note(trials: Sequence[optuna.trial.FrozenTrial]) -> str:
    """The first note a trial left (its error, or why it stopped), or ``"none recorded"``."""
    return next((str(t.user_attrs["note"]) for t in trials if t.user_attrs.get("note")), "none recorded")


def failures_note(trials: Sequence[optuna.trial.FrozenTrial]) -> str | None:
    """One sentence for the trials that raised: how many, which models, and the first error (``None``: none)."""
    failed = [t for t in trials if t.state is optuna.trial.TrialState.FAIL]
    if not failed:
        return None
    models = sorted({str(t.user_attrs.get("model")) for t in failed if t.user_attrs.get("model")})
    return (f"{len(failed)} trial(s) failed and were left out ({', '.join(models) or 'unknown'}); "
            f"first error: {first_note(failed)}")


def starved_note(ran: Sequence[optuna.trial.FrozenTrial], budget: float) -> str | None:
    """When fewer than :data:`STARVED_TRIALS` of the trials ``ran`` under a ``budget`` of seconds finished:
    the search compared next to nothing (on a 59k-row table at 20 s, on a busy machine, one LightGBM trial
    finished; the same command on a quiet one ran a 4-model ensemble). ``None`` otherwise."""
    done = [t for t in ran if t.state == optuna.trial.TrialState.COMPLETE]
    if len(done) >= STARVED_TRIALS:
        return None
    return (f"{STARVED} {len(done)} trial(s) finish in {budget:g} s ({len(ran)} started): the search compared "
            "almost nothing, so the model is close to the first settings tried; a longer --time-budget (or a "
            "machine not busy with other work) lets it compare models")
