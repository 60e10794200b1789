"""``automlops bundle``: a saved model as a self-contained build context for its own prediction service.

    automlops bundle churn@v3 --out churn-bundle
    automlops bundle churn@production --out churn-bundle --json
    cd churn-bundle && docker build -t churn-v3 . && docker run -p 8000:8000 -e API_KEY=... churn-v3

The folder holds the verified model file and meta.json, ``app.py`` (the studio API's ``/``,
``/ready``, ``/predict``, ``/model`` and ``x-api-key`` contract), only the studio code the model
needs, a pinned ``requirements.txt``, a ``Dockerfile`` and a README. Before the folder appears the
bundle is run once in a fresh Python and must answer probe rows exactly as the studio does.

Bad input (an unknown model, version or stage holder; a version that fails verification; a kind
a bundle cannot serve; an ``--out`` that exists and is not empty) exits with code 2 and one line on
stderr, and writes nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["add_commands", "cmd_bundle"]


def add_commands(sub: Any) -> None:
    """Add the `bundle` subcommand to the `automlops` parser."""
    p = sub.add_parser("bundle", help="write a saved model as a Docker build context with its own prediction service",
                       description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="NAME, NAME@vN, NAME@production or NAME@staging (default: the latest version)")
    p.add_argument("--out", required=True, help="the folder to write (must not exist, or be empty)")
    p.add_argument("--skip-check", action="store_true",
                   help="do not run the bundle once before writing it (faster; its answers are then unchecked)")
    p.add_argument("--json", action="store_true", help="print one JSON summary line last")
    p.set_defaults(handler=cmd_bundle)


def cmd_bundle(args: argparse.Namespace) -> int:
    """Build the bundle and say how to run it."""
    from automlops.bundle import build_bundle

    result = build_bundle(args.model, args.out, check=not args.skip_check)
    checked = (f"checked: answers {result.check['rows']} probe rows as the studio does" if result.check
               else "not checked (--skip-check)")
    print(f"wrote {result.out} ({len(result.files)} files): {result.name} v{result.version} ({result.kind}, "
          f"{result.task}{', ' + result.stage if result.stage else ''}); {checked}; requirements: "
          f"{', '.join(result.requirements)}", file=sys.stderr)
    print(f"run it: cd {result.out} && docker build -t {result.name.lower().replace('_', '-')}-v{result.version} . "
          "(see its README.md)", file=sys.stderr)
    if args.json:
        print(json.dumps(result.summary(), default=str))
    return 0
