"""A tiny name → object registry.

The studio grows by *registering* things (models, presets, metrics, architectures) instead
of adding ``if name == ...`` branches. ``@ZOO.register("lightgbm")`` adds an entry; the UI
and the CLI list ``ZOO.names()`` to offer choices.

A registry may be given a ``loader``: a function called once, on first use, that adds the
built-in entries. Importing a module then changes nothing global; the entries arrive
explicitly, when someone first asks for them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from automlops.errors import ConfigError

T = TypeVar("T")

__all__ = ["Registry"]


class Registry(Generic[T]):
    """An ordered mapping of short lowercase keys to entries of one kind."""

    def __init__(self, kind: str, *, loader: Callable[[Registry[T]], None] | None = None) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._loader = loader

    def _load(self) -> dict[str, T]:
        """The entries, after running the loader once (see the module docstring)."""
        if self._loader is not None:
            loader, self._loader = self._loader, None
            loader(self)
        return self._entries

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form: ``@REGISTRY.register("name")`` above a factory or object."""

        def decorator(entry: T) -> T:
            self.add(name, entry)
            return entry

        return decorator

    def add(self, name: str, entry: T) -> None:
        if name in self._load():
            raise ConfigError(f"{self.kind} '{name}' is already registered")
        self._entries[name] = entry

    def get(self, name: str) -> T:
        try:
            return self._load()[name]
        except KeyError:
            known = ", ".join(self._entries) or "none"
            raise ConfigError(f"unknown {self.kind} '{name}'; choose one of: {known}") from None

    def names(self) -> list[str]:
        return list(self._load())

    def items(self) -> list[tuple[str, T]]:
        return list(self._load().items())

    def __contains__(self, name: object) -> bool:
        return name in self._load()

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())
