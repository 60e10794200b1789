"""The shared flock helper: a lock whose folder is removed while others wait still excludes them."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from automlops.mlops._locks import flock

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts open files through /proc")


def _open_handles(path: Path) -> int:
    """How many of this process's file descriptors point at ``path`` (also once it is deleted)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        count += target in (str(path), f"{path} (deleted)")
    return count


def _wait_for(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_waiter_relocks_when_the_holder_removes_the_folder(tmp_path: Path) -> None:
    """The lake's failed first add removes ``<dataset>/`` while another add waits for ``.lock``."""
    path = tmp_path / "dataset" / ".lock"
    holds, release = threading.Event(), threading.Event()

    def waiter() -> None:
        with flock(path, create_folder=True):
            holds.set()
            release.wait(10)

    with flock(path, create_folder=True):
        thread = threading.Thread(target=waiter)
        thread.start()
        _wait_for(lambda: _open_handles(path) == 2)  # the waiter opened this very file and waits
        shutil.rmtree(path.parent)  # roll back: folder and lock file are gone
    try:
        assert holds.wait(10)
        assert path.exists()
        with flock(path, blocking=False, create_folder=True) as free:  # a newcomer
            assert not free, "the waiter holds a lock on a deleted file, so the newcomer got one too"
    finally:
        release.set()
        thread.join(10)


def test_non_blocking_lock_reports_a_busy_lock(tmp_path: Path) -> None:
    path = tmp_path / ".lock"
    with flock(path) as first:
        assert first
        with flock(path, blocking=False) as second:
            assert not second
        with flock(path, shared=True, blocking=False) as reader:
            assert not reader
    with flock(path, blocking=False) as again:
        assert again
