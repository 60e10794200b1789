"""`automlops lab` (being built: issue 13)."""

from __future__ import annotations

from typing import Any


def add_commands(sub: Any) -> None:
    """Add the `lab` subcommand to the `automlops` parser."""
