"""The benchmarks' memory measure (``benchmarks/_process_memory.py``) on real processes.

Each test starts a small Python "contender" that holds a known amount of memory, waits until it
says where it is, and samples it the way ``automl_quality.py`` does.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import _process_memory  # noqa: E402
from _process_memory import TreeMemory  # noqa: E402

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads Linux's /proc")

MB = 2**20
HOLD = 200  # MB each contender touches (numpy pages written, so they are resident)

_PRELUDE = f"""
import os, sys, time
import numpy as np
held = np.ones({HOLD} * 2**20 // 8)
def say(word):
    print(word, flush=True)
"""
_POSTLUDE = "\ntime.sleep(30)\n"  # stays alive until the test is done with it


@contextmanager
def contender(body: str, ready: str) -> Iterator[tuple[psutil.Process, TreeMemory]]:
    """A Python process running ``body`` after holding ``HOLD`` MB, handed over once it says ``ready``."""
    proc = subprocess.Popen([sys.executable, "-c", _PRELUDE + body + _POSTLUDE], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line == ready, f"the contender said {line!r}, expected {ready!r}"
        root = psutil.Process(proc.pid)
        yield root, TreeMemory(root)
    finally:
        proc.kill()
        proc.wait()


def test_a_child_between_fork_and_exec_is_not_its_parents_memory_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    # the child keeps its parent's pages and command line for 1.5 s before it execs (a real helper:
    # milliseconds); the window is widened to match, so a slow machine cannot age it into a "worker"
    monkeypatch.setattr(_process_memory, "FORK_WINDOW_SECONDS", 3.0)
    body = """
if os.fork() == 0:
    time.sleep(1.5)
    os.execv("/bin/sleep", ["sleep", "5"])
say("forked")
"""
    with contender(body, "forked") as (root, memory):
        children = root.children()
        assert len(children) == 1 and children[0].memory_info().rss > HOLD * MB  # what a plain RSS sum counted
        parent_alone = root.memory_info().rss
        memory.sample()
        assert memory.peak_bytes < parent_alone + 50 * MB
        assert memory.fork_windows == 1  # and the run's record says it happened


def test_a_worker_forked_without_exec_adds_only_its_private_pages() -> None:
    body = """
if os.fork() == 0:
    extra = np.full(150 * 2**20 // 8, 2.0)  # the worker's own 150 MB, the 200 MB stay shared
    time.sleep(10)
    os._exit(0)
time.sleep(1.0)  # older than the fork-to-exec window
say("working")
"""
    with contender(body, "working") as (root, memory):
        parent_alone = root.memory_info().rss
        memory.sample()
        assert parent_alone + 140 * MB < memory.peak_bytes < parent_alone + HOLD * MB


def test_a_peak_between_two_polls_still_counts() -> None:
    body = """
spike = np.ones(300 * 2**20 // 8)
del spike
say("spiked")
"""
    with contender(body, "spiked") as (root, memory):
        time.sleep(0.2)
        assert root.memory_info().rss < (HOLD + 250) * MB  # the spike is gone before the first poll
        memory.sample()
        assert memory.peak_bytes > (HOLD + 290) * MB


def test_a_helper_that_execd_counts_with_its_own_memory() -> None:
    body = """
import subprocess
helper = subprocess.Popen([sys.executable, "-c",
    "import numpy as np, time; x = np.ones(120 * 2**20 // 8); print('ready', flush=True); time.sleep(10)"],
    stdout=subprocess.PIPE, text=True)
helper.stdout.readline()
say("helped")
"""
    with contender(body, "helped") as (root, memory):
        parent_alone = root.memory_info().rss
        memory.sample()
        assert memory.peak_bytes > parent_alone + 120 * MB


def test_the_peers_do_not_inherit_the_studios_allocator_settings() -> None:
    import automl_quality  # imports automlops, which exports its allocator settings into this process

    assert "MALLOC_TRIM_THRESHOLD_" in automl_quality.os.environ
    assert not set(automl_quality.EXPORTED_VARIABLES) & set(automl_quality._clean_env())
