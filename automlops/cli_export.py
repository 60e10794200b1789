"""``automlops export``: a saved model as a plain Python script that rebuilds and re-tests it.

    automlops export breast_cancer@v1 --out train_breast_cancer.py
    automlops export iris --check --json        # also run it (without the studio) and compare scores

The script needs no AutoMLOps Studio: only numpy, pandas, scikit-learn and the model's own library.
It reads the same data-lake file (checking its SHA-256), repeats the split, refits the pipeline and
prints ``test_score=<value>`` as its last line. ``--check`` runs it in a fresh Python where the
studio cannot be imported and says whether it reproduces the recorded test score (to 1e-6); when it
does not, the command exits with code 2 (the script stays written, to be read).

With ``--json`` the last stdout line is one JSON object (model, version, kind, out, bytes, seconds,
recorded_test_score, and with ``--check`` script_test_score, difference, reproduced, run_seconds).
Bad input (an unknown model, an uploaded model - the studio did not train it, so there is no
training to rebuild -, a warm-started retrain - it continued its parent's learned state, which no
script repeats -, a dataset version gone from the lake, a kind that cannot be exported) exits with
code 2 and one line on stderr, before anything is written.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from automlops.errors import ConfigError

__all__ = ["add_commands", "cmd_export"]


def add_commands(sub: Any) -> None:
    """Add the `export` subcommand to the `automlops` parser."""
    p = sub.add_parser("export", help="write a saved model as a plain Python script that rebuilds and re-tests it",
                       description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="NAME or NAME@vN (default version: the latest)")
    p.add_argument("--out", default=None, help="where to write the script (default: ./train_NAME.py)")
    p.add_argument("--check", action="store_true",
                   help="run the script without the studio and compare its test score with the recorded one")
    p.add_argument("--json", action="store_true", help="print one JSON summary line last")
    p.set_defaults(handler=cmd_export)


def _out_path(args: argparse.Namespace, name: str) -> Path:
    from automlops.export import script_name
    from automlops.mlops.output_paths import check_output_path

    out = Path(args.out) if args.out else Path.cwd() / script_name(name)
    if out.is_dir():
        out = out / script_name(name)
    if not out.parent.is_dir():
        raise ConfigError(f"cannot write {out}: the folder {out.parent} does not exist")
    return check_output_path(out)  # never into the lake or the model store


def cmd_export(args: argparse.Namespace) -> int:
    """Write the script; with --check, run it and compare."""
    from automlops.export import export_script
    from automlops.mlops.store import ModelStore

    t0 = time.perf_counter()
    loaded = ModelStore().load(args.model)
    out = _out_path(args, loaded.name)
    text = export_script(loaded, out=out)
    summary: dict[str, Any] = {"model": loaded.name, "version": loaded.version, "kind": loaded.meta.get("kind"),
                               "out": str(out), "bytes": len(text.encode()), "seconds": round(time.perf_counter() - t0, 3),
                               "recorded_test_score": loaded.meta.get("test_score")}
    print(f"wrote {out} ({summary['bytes']:,} bytes): rebuilds {loaded.name} v{loaded.version} "
          f"({loaded.meta.get('best_model')}); run it with: python {out.name}", file=sys.stderr)
    if args.check:
        summary.update(_check(out, loaded.meta.get("test_score")))
    if args.json:
        print(json.dumps(summary, default=str))
    if args.check and not summary["reproduced"]:
        print(f"automlops: error: {out.name} did not reproduce the recorded test score of {loaded.name} "
              f"v{loaded.version}: {summary['script_test_score']!r}, recorded {summary['recorded_test_score']!r} "
              f"(difference {summary['difference']!r})", file=sys.stderr)
        return 2
    return 0


def _check(out: Path, recorded: float | None) -> dict[str, Any]:
    from automlops.export.verify import compare_scores, run_script

    run = run_script(out)
    same = compare_scores(run.test_score, recorded)
    difference = None if recorded is None else abs(run.test_score - float(recorded))
    if same:
        print(f"ran {out.name} without the studio in {run.seconds:.1f} s: test_score={run.test_score!r} "
              f"(recorded {recorded!r}): reproduced", file=sys.stderr)
    return {"script_test_score": run.test_score, "difference": difference, "reproduced": same,
            "run_seconds": round(run.seconds, 3)}
