"""Native allocators: CatBoost's mimalloc and glibc's malloc are told to hand freed pages back at once."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

# mimalloc prints its options when its library loads if MIMALLOC_VERBOSE is set.
LOAD_CATBOOST_THROUGH_THE_STUDIO = "import automlops.tabular.zoo as zoo, catboost; print(zoo.__name__)"


def _catboost_purge_delay(env_value: str | None) -> str:
    pytest.importorskip("catboost")
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


# Free a 24 MB block (glibc's dynamic rule then raises its thresholds to 24 and 48 MB), then take
# and free a 12 MB one, and print how much more is resident than before either.
GLIBC_SLACK_PROBE = """
import os, sys
if sys.argv[1] == "studio":
    import automlops
def resident():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
before = resident()
big = b"x" * (24 * 2**20)
del big
block = b"y" * (12 * 2**20)
del block
print(resident() - before)
"""


def _heap_slack_bytes(mode: str, **env_extra: str) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")} | env_extra
    done = subprocess.run([sys.executable, "-c", GLIBC_SLACK_PROBE, mode], env=env, capture_output=True,
                          text=True, timeout=60, check=True)
    return int(done.stdout.strip())


glibc_only = pytest.mark.skipif(platform.libc_ver()[0] != "glibc" or not Path("/proc/self/statm").exists(),
                                reason="glibc's malloc thresholds and /proc are what this checks")


@glibc_only
def test_glibc_keeps_a_freed_block_resident_after_its_thresholds_grew() -> None:
    assert _heap_slack_bytes("plain") > 8 * 2**20  # the habit the studio switches off


@glibc_only
def test_the_studio_gives_a_freed_heap_block_back_at_once() -> None:
    assert _heap_slack_bytes("studio") < 2 * 2**20


@glibc_only
def test_a_glibc_threshold_the_user_set_is_kept() -> None:
    # Blocks up to 64 MB from the heap, which keeps up to 1 GB free: the 12 MB stay.
    chosen = {"MALLOC_MMAP_THRESHOLD_": str(64 * 2**20), "MALLOC_TRIM_THRESHOLD_": str(2**30)}
    assert _heap_slack_bytes("studio", **chosen) > 8 * 2**20


# --------------------------------------------------------------------------- frozen_heap


class _Cycle:
    """An object in a reference cycle: only the garbage collector frees it."""

    def __init__(self) -> None:
        self.me = self


def test_a_frozen_heap_hides_older_objects_from_the_collector_and_gives_them_back() -> None:
    import gc
    import weakref

    from automlops.core.memory import frozen_heap

    gc.collect()
    old = _Cycle()
    old_ref = weakref.ref(old)
    del old  # garbage now, but only a collection can see it
    with frozen_heap():
        assert gc.get_freeze_count() > 0
        new = _Cycle()
        new_ref = weakref.ref(new)
        del new
        gc.collect()
        assert new_ref() is None  # what the training made is collected as usual
        assert old_ref() is not None  # what existed before is not even visited
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert old_ref() is None  # after the exit nothing is kept: the older garbage goes too


def test_nested_frozen_heaps_share_one_freeze() -> None:
    import gc

    from automlops.core.memory import frozen_heap

    with frozen_heap():
        with frozen_heap():
            pass
        assert gc.get_freeze_count() > 0  # the inner exit did not unfreeze the outer training's heap
    assert gc.get_freeze_count() == 0


def test_the_driver_trains_inside_a_frozen_heap() -> None:
    """The collection before the refit visits what the search made, not every object of the process."""
    import gc

    from sklearn.datasets import load_diabetes

    from automlops.tabular import AutoMLRunner

    frozen_during: list[int] = []
    AutoMLRunner("target", models=["ridge"], n_trials=2, ensemble="none",
                 callbacks=[lambda event: frozen_during.append(gc.get_freeze_count())]
                 ).fit(load_diabetes(as_frame=True).frame)
    assert frozen_during and min(frozen_during) > 0
    assert gc.get_freeze_count() == 0
