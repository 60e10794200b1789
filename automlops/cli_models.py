"""``automlops models list|register|promote|demote|archive|rollback|history|card``: stages from the terminal.

Versions are named as everywhere in the studio, ``NAME@vN`` (the model store's numbers). A
promotion first registers the saved versions MLflow does not know yet (a training that ran while
the tracking server was down), so ``promote`` always works on what ``models list`` shows::

    automlops models promote iris@v3 --to staging --reason "beats v2 on the holdout"
    automlops models promote iris@v3 --to production
    automlops models rollback iris                 # production goes back to the previous holder
    automlops models history iris [--json]

Building these parsers imports nothing heavy; MLflow is imported when a command runs.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from automlops.core.jsonable import json_line
from automlops.errors import ConfigError, NotFoundError, TrackingError

__all__ = ["add_commands"]

STAGE_CHOICES = ("staging", "production")


def add_commands(models_sub: Any) -> None:
    """Add the registry subcommands (and ``list``, with its stage column) to ``automlops models``."""
    listing = models_sub.add_parser("list", help="list saved models with their registry stage")
    listing.set_defaults(handler=cmd_list)
    register = models_sub.add_parser("register", help="register saved versions MLflow does not know yet")
    register.add_argument("name", nargs="?", help="one model name (default: every model)")
    register.set_defaults(handler=cmd_register)
    promote = models_sub.add_parser("promote", help="give a version a stage: staging or production")
    promote.add_argument("ref", help="NAME@vN: one exact version")
    promote.add_argument("--to", required=True, choices=STAGE_CHOICES, dest="stage")
    promote.add_argument("--reason", default="", help="why (kept in the registry's history)")
    promote.set_defaults(handler=cmd_promote)
    demote = models_sub.add_parser("demote", help="take a stage away (no version holds it afterwards)")
    demote.add_argument("name")
    demote.add_argument("--from", required=True, choices=STAGE_CHOICES, dest="stage")
    demote.add_argument("--reason", default="")
    demote.set_defaults(handler=cmd_demote)
    archive = models_sub.add_parser("archive", help="retire a version: it loses its stages and is never promoted")
    archive.add_argument("ref", help="NAME@vN")
    archive.add_argument("--reason", default="")
    archive.set_defaults(handler=cmd_archive)
    rollback = models_sub.add_parser("rollback", help="give a stage back to the version that held it before")
    rollback.add_argument("name")
    rollback.add_argument("--stage", default="production", choices=STAGE_CHOICES)
    rollback.add_argument("--reason", default="")
    rollback.set_defaults(handler=cmd_rollback)
    history = models_sub.add_parser("history", help="who moved which version to which stage, when and why")
    history.add_argument("name")
    history.add_argument("--json", action="store_true", help="one JSON array on stdout")
    history.set_defaults(handler=cmd_history)
    card = models_sub.add_parser("card", help="the model card of a version (data, scores ± spread, SHAP, drift, "
                                              "stages) as Markdown")
    card.add_argument("ref", help="NAME@vN (or NAME: the newest version)")
    card.add_argument("--out", help="write it to this .md file (default: stdout)")
    card.set_defaults(handler=cmd_card)


def _registry() -> Any:
    from automlops.config import get_settings
    from automlops.mlops._probe import bound_http_requests
    from automlops.mlops.registry import ModelRegistry

    settings = get_settings()
    bound_http_requests(settings)  # a dead server answers within seconds, not minutes of retries
    return ModelRegistry(settings=settings)


def _exact(ref: str) -> tuple[str, int]:
    from automlops.mlops.store import parse_model_ref

    name, version = parse_model_ref(ref)
    if version is None:
        raise ConfigError(f"name one exact version, such as {name}@v1 (not {ref!r})")
    return name, version


def _synced(registry: Any, name: str, version: int) -> None:
    """Check ``name@v<version>`` is saved, then register the saved versions the registry misses."""
    from automlops.mlops.store import ModelStore

    store = ModelStore(settings=registry.settings)
    store.resolve(name, version)  # NotFoundError naming the known versions
    registry.sync(store, name)


def _said(transition: Any) -> str:
    reason = f" ({transition.reason})" if transition.reason else ""
    return f"{transition.who} at {transition.when}{reason}"


def cmd_promote(args: argparse.Namespace) -> int:
    name, version = _exact(args.ref)
    registry = _registry()
    _synced(registry, name, version)
    t = registry.promote(name, version, args.stage, reason=args.reason)
    before = f" (was v{t.previous_version})" if t.previous_version and t.previous_version != version else ""
    print(f"{name}@v{version} is now in {args.stage}{before}: {_said(t)}")
    return 0


def cmd_demote(args: argparse.Namespace) -> int:
    t = _registry().demote(args.name, args.stage, reason=args.reason)
    print(f"{args.name}@v{t.version} left {args.stage}; no version holds it now: {_said(t)}")
    return 0


def cmd_archive(args: argparse.Namespace) -> int:
    name, version = _exact(args.ref)
    registry = _registry()
    _synced(registry, name, version)
    t = registry.archive(name, version, reason=args.reason)
    left = f", it left {t.stage}" if t.stage else ""
    print(f"{name}@v{version} is archived{left}: {_said(t)}")
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    t = _registry().rollback(args.name, args.stage, reason=args.reason)
    was = f"v{t.previous_version}" if t.previous_version else "no version"
    print(f"{args.name} {args.stage}: back to v{t.version} (was {was}): {_said(t)}")
    return 0


def cmd_register(args: argparse.Namespace) -> int:
    from automlops.mlops.store import ModelStore

    registry = _registry()
    added = registry.sync(ModelStore(settings=registry.settings), args.name)
    for rv in added:
        print(f"registered {rv.ref} (MLflow version {rv.registry_version})")
    if not added:
        print("every saved version is registered already")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    import dataclasses

    transitions = _registry().history(args.name)
    if args.json:
        print(json_line([dataclasses.asdict(t) for t in transitions]))
        return 0
    if not transitions:
        print(f"no transitions recorded for {args.name!r} yet")
    for t in transitions:
        version = f"v{t.version}" if t.version is not None else "-"
        previous = f"(was v{t.previous_version})" if t.previous_version is not None else ""
        print(f"{t.when:<26} {t.action:<9} {version:<6} {t.stage or '':<11} {previous:<11} {t.who:<12} {t.reason}")
    return 0


def _stages(stored: list[Any]) -> dict[tuple[str, int], str] | None:
    """Each version's stage (``-``: registered, no stage); None when there is no registry to read."""
    from automlops.config import get_settings
    from automlops.mlops.tracking import sqlite_path

    db = sqlite_path(get_settings().resolved_tracking_uri)
    if not stored or (db is not None and not db.exists()):
        return None  # no local registry yet
    registry = _registry()
    stages: dict[tuple[str, int], str] = {}
    for name in sorted({m.name for m in stored}):
        try:
            stages.update({(name, rv.version): rv.stage or "-" for rv in registry.versions(name)})
        except NotFoundError:
            continue
        except TrackingError as exc:
            print(f"automlops: warning: stages not shown: {' '.join(str(exc).split())}", file=sys.stderr)
            return None
    return stages


def _score(meta: dict[str, Any]) -> str:
    score = meta.get("test_score")
    return f"{meta.get('metric', '')}={score:.4f}" if isinstance(score, int | float) else ""


def cmd_list(args: argparse.Namespace) -> int:
    """``models list``: every saved version with its stage (``unregistered`` when MLflow does not know it)."""
    from automlops.config import get_settings
    from automlops.mlops.store import ModelStore

    stored = ModelStore(settings=get_settings()).list_models()
    if not stored:
        print("no saved models yet: run 'automlops train FILE.csv --target COLUMN'")
    stages = _stages(stored)
    for m in stored:
        stage = stages.get((m.name, m.version), "unregistered") if stages is not None else "?"
        print(f"{m.ref:<24} {stage:<12} {m.meta.get('task', '?'):<15} {m.meta.get('best_model', '?'):<28} "
              f"{_score(m.meta):<20} {m.created:%Y-%m-%d %H:%M}")
    return 0


def cmd_card(args: argparse.Namespace) -> int:
    """``models card NAME@vN [--out FILE]``: the version's model card as Markdown (written atomically)."""

    from automlops.config import get_settings
    from automlops.mlops._atomic import atomic_write_text
    from automlops.mlops.model_card import model_card_for
    from automlops.mlops.output_paths import check_output_path
    from automlops.mlops.store import ModelStore, parse_model_ref

    settings = get_settings()
    name, version = ModelStore(settings=settings).resolve(*parse_model_ref(args.ref))
    text = model_card_for(name, version, settings=settings, registry=_registry()).to_markdown()
    if args.out is None:
        print(text, end="")
        return 0
    out = check_output_path(args.out)
    if not out.parent.is_dir():
        raise ConfigError(f"--out: no such folder: {out.parent}")
    atomic_write_text(out, text)
    print(f"wrote the model card of {name}@v{version} to {out}")
    return 0
