"""``automlops lab``: search strategies compared on one table, same budget, same seeds.

    automlops lab lake:breast_cancer --target target --budget 20 --repeats 3
    automlops lab data.csv --target price --budget 10 --repeats 3 --strategies tpe,random,hyperband --json
    automlops lab lake:iris@v1 --target target --budget 5 --repeats 2 --out lab.md   (or lab.html)

Every strategy runs ``--repeats`` times (seeds ``--seed``, ``--seed``+1, ...) with the whole
``--budget`` each, one run after the other, so the lab takes about strategies × repeats × budget
seconds (said on stderr before it starts). It prints the lab table and the verdict; with ``--json``
the last stdout line is :meth:`~automlops.lab.types.LabResult.summary`. A file given by path is read
but not added to the data lake. Bad input (an unknown strategy, fewer than 2 repeats, a budget too
small for one trial, an unknown column) exits with code 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from automlops.errors import ConfigError, DataError

__all__ = ["add_commands", "cmd_lab", "load_lab_data"]

OUT_SUFFIXES = (".md", ".markdown", ".html", ".htm")


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None


def add_commands(sub: Any) -> None:
    """Add the ``lab`` subcommand to the ``automlops`` parser."""
    from automlops.cli_parser import _positive_float

    lab = sub.add_parser("lab", help="compare search strategies (TPE, random, grid, Hyperband, CMA-ES, QMC) on one "
                                     "table: same budget, same seeds, curves, pruning, test score with CI")
    lab.add_argument("data", help="a CSV file or a lake dataset as lake:NAME[@vN]")
    lab.add_argument("--target", required=True, help="the column to predict")
    lab.add_argument("--budget", type=_positive_float, default=20.0, help="seconds per run (default 20)")
    lab.add_argument("--repeats", type=_whole_number, default=3, help="seeds per strategy, at least 2 (default 3)")
    lab.add_argument("--strategies", help="comma-separated (default: all six named above)")
    lab.add_argument("--seed", type=_whole_number, default=0, help="first seed (default 0)")
    lab.add_argument("--preset", default="medium", help="the models searched: fast | medium | best (default medium)")
    lab.add_argument("--models", help="comma-separated model names instead of the preset's")
    lab.add_argument("--out", help="write the report: .md or .html (with the figures)")
    lab.add_argument("--json", action="store_true", help="the last stdout line is the lab summary as JSON")
    lab.set_defaults(handler=cmd_lab)


def load_lab_data(source: str) -> tuple[Any, str]:
    """The table and a label for it: ``lake:NAME[@vN]`` from the data lake, else a CSV path (not stored)."""
    from automlops.config import get_settings
    from automlops.mlops.ingest import read_csv_robust, read_source_bytes
    from automlops.mlops.lake import DataLake

    settings = get_settings()
    if source.startswith("lake:"):
        name, _, version = source[5:].partition("@")
        lake = DataLake(settings=settings)
        entry = lake.get_version(name, version or None)
        return lake.load(entry.dataset, entry.version), f"{entry.dataset}@v{entry.version}"
    path = Path(source)
    if not path.is_file():
        raise DataError(f"no such file: {source}")
    data = read_source_bytes(path, settings.max_upload_bytes)
    parsed = read_csv_robust(data, max_bytes=settings.max_upload_bytes, max_columns=settings.max_columns,
                             max_field_chars=settings.max_field_chars)
    return parsed.frame, path.name


def _check_out(out: str | None) -> Path | None:
    if out is None:
        return None
    path = Path(out)
    if path.suffix.lower() not in OUT_SUFFIXES:
        raise ConfigError(f"--out must end in .md or .html, not '{path.suffix or path.name}'")
    if not path.parent.is_dir():
        raise ConfigError(f"--out: folder '{path.parent}' does not exist")
    from automlops.mlops.output_paths import check_output_path

    return check_output_path(path)


class _LabProgress:
    """One progress line on stderr per run change or every few seconds (never on stdout)."""

    def __init__(self) -> None:
        self.last, self.run = 0.0, ""

    def __call__(self, fraction: float, message: str) -> None:
        run = message.split(":")[0]
        now = time.monotonic()
        if run == self.run and now - self.last < 5.0:
            return
        self.last, self.run = now, run
        print(f"lab {fraction:5.0%} · {message}", file=sys.stderr, flush=True)


def cmd_lab(args: argparse.Namespace) -> int:
    """Check everything, load the data, run the lab, print the table (and write the report)."""
    from automlops.lab.report import markdown_table, summary_table
    from automlops.lab.runner import DEFAULT_STRATEGIES, check_lab_options, run_lab
    from automlops.tabular.presets import PRESETS

    PRESETS.get(args.preset)  # an unknown preset: ConfigError naming the known ones
    out = _check_out(args.out)
    models = [m.strip() for m in args.models.split(",") if m.strip()] if args.models else None
    frame, label = load_lab_data(args.data)
    strategies = check_lab_options(frame, args.target, budget=args.budget, repeats=args.repeats,
                                   strategies=(args.strategies or ",".join(DEFAULT_STRATEGIES)).split(","))
    runs = len(strategies) * args.repeats
    print(f"lab: {len(strategies)} strategies × {args.repeats} seeds = {runs} runs of {args.budget:g} s, one after "
          f"the other (each run gets the whole machine): about {runs * args.budget / 60:.1f} min", file=sys.stderr)
    result = run_lab(frame, args.target, budget=args.budget, repeats=args.repeats, strategies=strategies,
                     seed=args.seed, progress=_LabProgress(), preset=args.preset, models=models, dataset=label)
    print(markdown_table(summary_table(result)))
    print()
    print(result.verdict)
    if out is not None:
        _write_report(result, out)
        print(f"report written to {out}")
    if args.json:
        print(json.dumps(result.summary()))
    return 0


def _write_report(result: Any, out: Path) -> None:
    from automlops.lab.report import to_html, to_markdown

    if out.suffix.lower() in (".html", ".htm"):
        from automlops.lab.plots import figures

        out.write_text(to_html(result, list(figures(result).values())), encoding="utf-8")
    else:
        out.write_text(to_markdown(result), encoding="utf-8")
