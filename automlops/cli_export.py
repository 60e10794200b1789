"""`automlops export` (being built: issue 13)."""

from __future__ import annotations

from typing import Any


def add_commands(sub: Any) -> None:
    """Add the `export` subcommand to the `automlops` parser."""
