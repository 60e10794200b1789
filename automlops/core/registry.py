"""A tiny name → object registry.

The studio grows by *registering* things (models, presets, metrics, architectures) instead
of adding ``if name == ...`` branches. ``@ZOO.register("lightgbm")`` adds an entry; the UI
and the CLI list ``ZOO.names()`` to offer choices.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from automlops.errors import ConfigError

T = TypeVar("T")

__all__ = ["Registry"]


class Registry(Generic[T]):
    """An ordered mapping of short lowercase keys to entries of one kind."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form: ``@REGISTRY.register("name")`` above a factory or object."""

        def decorator(entry: T) -> T:
            self.add(name, entry)
            return entry

        return decorator

    def add(self, name: str, entry: T) -> None:
        if name in self._entries:
            raise ConfigError(f"{self.kind} '{name}' is already registered")
        self._entries[name] = entry

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(self._entries) or "none"
            raise ConfigError(f"unknown {self.kind} '{name}'; choose one of: {known}") from None

    def names(self) -> list[str]:
        return list(self._entries)

    def items(self) -> list[tuple[str, T]]:
        return list(self._entries.items())

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)
