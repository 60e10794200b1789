"""Several workers opening the same fresh study database at once all get in.

The first use of an empty database creates Optuna's tables; processes started together (three
``automlops worker`` containers, say) race to create them, and the losers must retry and find them
rather than exit with "table ... already exists".
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OPEN = """
import sys, time
from automlops.search.storage import open_storage
while time.time() < float(sys.argv[2]):  # start together
    pass
open_storage(sys.argv[1]).get_all_studies()
print("ok")
"""


def test_processes_opening_a_fresh_sqlite_study_file_at_once_all_succeed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hpo.db'}"
    start = time.time() + 6.0  # after every interpreter has imported optuna and sqlalchemy
    procs = [subprocess.Popen([sys.executable, "-c", OPEN, url, str(start)], cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    results = [p.communicate(timeout=120) for p in procs]
    failures = [err.strip().splitlines()[-1] for p, (_, err) in zip(procs, results, strict=True) if p.returncode]
    assert not failures, failures
    assert all(out.strip() == "ok" for out, _ in results)
