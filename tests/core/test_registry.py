"""Registry[T]: ordered names, duplicates and unknown names are ConfigErrors."""

from __future__ import annotations

import pytest

from automlops.core.registry import Registry
from automlops.errors import ConfigError


def test_register_get_and_order() -> None:
    reg: Registry[int] = Registry("widget")

    @reg.register("b")
    def b() -> int:
        return 2

    reg.add("a", 1)  # type: ignore[arg-type]
    assert reg.names() == ["b", "a"]
    assert reg.get("b") is b
    assert "a" in reg and "c" not in reg
    assert len(reg) == 2 and list(reg) == ["b", "a"]
    assert reg.items()[1] == ("a", 1)


def test_duplicate_is_config_error() -> None:
    reg: Registry[int] = Registry("widget")
    reg.add("a", 1)
    with pytest.raises(ConfigError, match="widget 'a' is already registered"):
        reg.add("a", 2)
    assert reg.get("a") == 1


def test_unknown_is_config_error_listing_choices() -> None:
    reg: Registry[int] = Registry("widget")
    reg.add("a", 1)
    reg.add("b", 2)
    with pytest.raises(ConfigError, match="unknown widget 'z'; choose one of: a, b"):
        reg.get("z")
    with pytest.raises(ConfigError, match="none"):
        Registry("thing").get("x")
