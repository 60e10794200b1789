"""A native crash (a segfault in compiled code) leaves the stacks of every thread in a file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGSEGV exit codes are POSIX")


def _run(code: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AUTOMLOPS_HOME": str(home)}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True,
                          timeout=120)


def test_a_segfault_writes_every_threads_stack_to_the_crash_log(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "crash.log"
    done = _run(f"""
        import ctypes
        from pathlib import Path
        from automlops.crash_log import enable_crash_log

        assert enable_crash_log(Path({str(log)!r})) is not None

        def deep_inside_a_fit():
            ctypes.string_at(0)  # reads address 0: SIGSEGV, as a crash in compiled code would

        deep_inside_a_fit()
        """, tmp_path)
    assert done.returncode == -signal.SIGSEGV, done.stderr
    text = log.read_text()
    assert "Segmentation fault" in text and "deep_inside_a_fit" in text
    assert "Segmentation fault" not in done.stderr  # the terminal gets no traceback


def test_the_train_command_logs_a_crash_under_the_studios_home(tmp_path: Path) -> None:
    """The crash is injected where the command reads its data; the log names the command's frames."""
    done = _run("""
        import ctypes
        import automlops.cli_training as training
        from automlops.cli import main

        training.load_training_data = lambda *args, **kwargs: ctypes.string_at(0)
        main(["train", "table.csv", "--target", "y", "--time-budget", "10"])
        """, tmp_path)
    assert done.returncode == -signal.SIGSEGV, done.stderr
    text = (tmp_path / "logs" / "crash.log").read_text()
    assert "Segmentation fault" in text and "cmd_train" in text


def test_an_unwritable_home_only_skips_the_crash_log(tmp_path: Path) -> None:
    from automlops.crash_log import enable_crash_log

    blocker = tmp_path / "logs"
    blocker.write_text("a file where the folder should be")
    assert enable_crash_log(blocker / "crash.log") is None
