"""AutoML quality on the mid-size suite: ``automl_quality.py --suite midsize`` under its own name.

``make bench`` (``benchmarks/run_all.py``) runs every ``benchmarks/*.py`` with the same flags, so
this sibling is how it runs the mid-size suite after the demo one: 12 real tables of 2.7k–54k rows
(``benchmarks/_midsize.py``), contenders default, FLAML, AutoGluon and a HistGradientBoosting
baseline. Every flag of ``automl_quality.py`` works here; see its docstring for what is measured.

    .venv/bin/python benchmarks/automl_midsize.py --list            # the tables, with dropped columns
    .venv/bin/python benchmarks/automl_midsize.py --quick           # 3 small tables, 30 s, ~5 min
    .venv/bin/python benchmarks/automl_midsize.py --budgets 30,60   # 12 tables, ~1.5 h
    .venv/bin/python benchmarks/automl_midsize.py                   # 12 tables × 30/60/300 s, ~4.5 h
"""

from __future__ import annotations

import sys

from automl_quality import main

if __name__ == "__main__":
    sys.exit(main(["--suite", "midsize", *sys.argv[1:]]))
