"""``make run`` (scripts/run.sh) prints the API key in its summary, not somewhere "above" it.

The script runs for real against a fake virtual environment: ``automlops``, ``mlflow`` and
``streamlit`` are stubs that record what they were started with, ``python`` is this interpreter.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.ui.helpers import REPO

STUB = """#!/usr/bin/env bash
if [ "$1" = serve ]; then echo "$API_KEY" > "$AUTOMLOPS_HOME/served-key"; fi
exit 0
"""


def _fake_venv(root: Path) -> Path:
    bin_dir = root / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("automlops", "mlflow", "streamlit"):
        (bin_dir / name).write_text(STUB)
        (bin_dir / name).chmod(0o755)
    (bin_dir / "python").symlink_to(sys.executable)
    return bin_dir.parent


def _run(tmp_path: Path, **env: str) -> str:
    home = tmp_path / "home"
    home.mkdir()
    clean = {k: v for k, v in os.environ.items() if k not in ("API_KEY", "AUTOMLOPS_DEV")}
    clean.update(AUTOMLOPS_HOME=str(home), PYTHONPATH=str(REPO), **env)
    proc = subprocess.run(["bash", str(REPO / "scripts" / "run.sh"), str(_fake_venv(tmp_path)), "127.0.0.1"],
                          cwd=tmp_path, env=clean, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_a_throwaway_key_is_printed_in_the_summary_and_is_the_one_served(tmp_path: Path) -> None:
    out = _run(tmp_path)
    assert "above" not in out
    match = re.search(r"this run's key is (\S+)\)", out)
    assert match, out
    assert (tmp_path / "home" / "served-key").read_text().strip() == match.group(1)


def test_a_configured_key_is_used_and_never_printed(tmp_path: Path) -> None:
    out = _run(tmp_path, API_KEY="my-own-secret-key")
    assert "my-own-secret-key" not in out and "your API_KEY" in out
    assert (tmp_path / "home" / "served-key").read_text().strip() == "my-own-secret-key"
