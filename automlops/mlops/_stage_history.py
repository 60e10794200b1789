"""The stage history of a registered model, stored as tags of the model itself.

MLflow keeps no history of its aliases: ``set_registered_model_alias`` simply moves the alias.
The studio wants "who put v3 in production, when and why, and what was there before", and it
wants that answer from any machine, so the history lives *in the registry*: one
registered-model tag per transition, ``automlops.history.<milliseconds>.<random>`` whose value
is a small JSON object. The key sorts by time (milliseconds since 1970, zero-padded), so reading
the model's tags and sorting the keys gives the history oldest first; the random suffix keeps two
transitions of the same millisecond apart. Tags travel over MLflow's REST API like everything
else, so the history works the same on a local SQLite store and on a remote server.

:func:`holders` replays the history of one stage as a stack of versions: a promotion pushes a
version, a demotion (or archiving the holder) pushes "nobody", a rollback pops. Rolling back is
then "pop the current holder and skip what can no longer serve" (nobody, archived, gone).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["HISTORY_PREFIX", "Transition", "decode_history", "history_tag", "holders", "rollback_target"]

HISTORY_PREFIX = "automlops.history."
ACTIONS = ("register", "promote", "demote", "archive", "rollback")
MAX_REASON = 2000


@dataclass(frozen=True)
class Transition:
    """One change of a registered model: a registration, promotion, demotion, archiving or rollback.

    ``version`` is the ModelStore version it concerns (for a demotion: the version that left the
    stage); ``previous_version`` is the version that held ``stage`` before (or None).
    """

    name: str
    version: int | None
    action: str
    stage: str | None
    previous_version: int | None
    who: str
    when: str
    reason: str

    def to_json(self) -> str:
        return json.dumps({"v": self.version, "a": self.action, "s": self.stage, "p": self.previous_version,
                           "w": self.who, "t": self.when, "r": self.reason[:MAX_REASON]},
                          separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, name: str, text: str) -> Transition | None:
        """The transition a history tag holds; None for a value that is not one (skipped, never fatal)."""
        try:
            raw = json.loads(text)
            return cls(name=name, version=_int(raw.get("v")), action=str(raw["a"]), stage=raw.get("s"),
                       previous_version=_int(raw.get("p")), who=str(raw.get("w") or ""),
                       when=str(raw.get("t") or ""), reason=str(raw.get("r") or ""))
        except (ValueError, KeyError, TypeError, AttributeError):
            return None


def _int(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def history_tag() -> str:
    """A fresh history key: sorts by time, unique within a millisecond."""
    return f"{HISTORY_PREFIX}{int(time.time() * 1000):015d}.{secrets.token_hex(3)}"


def decode_history(name: str, tags: Mapping[str, str]) -> list[Transition]:
    """The transitions stored in a registered model's tags, oldest first."""
    found = (Transition.from_json(name, tags[key]) for key in sorted(k for k in tags if k.startswith(HISTORY_PREFIX)))
    return [t for t in found if t is not None]


def holders(history: Iterable[Transition], stage: str) -> list[int | None]:
    """The stack of versions that held ``stage`` (None: nobody), replayed from the history."""
    stack: list[int | None] = []
    for t in history:
        if t.stage != stage:
            continue
        if t.action == "promote":
            stack.append(t.version)
        elif t.action in ("demote", "archive"):
            stack.append(None)
        elif t.action == "rollback":
            if stack:
                stack.pop()
            if not stack or stack[-1] != t.version:
                stack.append(t.version)
    return stack


def rollback_target(history: Iterable[Transition], stage: str, current: int | None,
                    usable: Callable[[int], bool]) -> int | None:
    """The version to give ``stage`` back to: the one before ``current`` that can still serve, or None."""
    stack = holders(history, stage)
    while stack and stack[-1] == current:  # the current holder (possibly promoted twice in a row)
        stack.pop()
    while stack and (stack[-1] is None or not usable(stack[-1]) or stack[-1] == current):
        stack.pop()
    return stack[-1] if stack else None
