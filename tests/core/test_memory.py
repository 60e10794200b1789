"""Native allocators: CatBoost's mimalloc is told to hand freed pages back at once."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("catboost")

# mimalloc prints its options when its library loads if MIMALLOC_VERBOSE is set.
LOAD_CATBOOST_THROUGH_THE_STUDIO = "import automlops.tabular.zoo as zoo, catboost; print(zoo.__name__)"


def _catboost_purge_delay(env_value: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIMALLOC_")}
    env["MIMALLOC_VERBOSE"] = "1"
    if env_value is not None:
        env["MIMALLOC_PURGE_DELAY"] = env_value
    done = subprocess.run([sys.executable, "-c", LOAD_CATBOOST_THROUGH_THE_STUDIO], env=env, capture_output=True,
                          text=True, timeout=120, check=True)
    lines = [line for line in done.stderr.splitlines() if "option 'purge_delay'" in line]
    assert lines, done.stderr[-2000:]  # CatBoost's mimalloc said its options
    return lines[-1].split(":")[-1].strip()


def test_catboost_memory_is_purged_at_once_when_the_studio_loads_it() -> None:
    assert _catboost_purge_delay(None) == "0"


def test_a_purge_delay_the_user_set_is_kept() -> None:
    assert _catboost_purge_delay("25") == "25"
