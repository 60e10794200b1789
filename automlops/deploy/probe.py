"""Healthcheck of a search worker: can it reach the database that holds its study?

A worker has no HTTP port to ask, and its one dependency is the study storage
(``HPO_STORAGE_URL``): if the database is unreachable or refuses the password, every trial it
would start fails. ``python -m automlops.deploy.probe`` opens one connection (5 s timeout),
runs ``SELECT 1``, and exits 0, or 1 with a one-line reason that names the host but never the
password. Compose runs it as the worker's healthcheck; it is cheap enough to run every 30 s.
"""

from __future__ import annotations

import sys

from automlops.config import get_settings

__all__ = ["check_storage", "main"]


def check_storage(url: str, timeout: float = 5.0) -> str | None:
    """``None`` when the database at ``url`` answers ``SELECT 1``, else the reason (password hidden)."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - any parse error means the same thing here
        return "HPO_STORAGE_URL is not a database URL"
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite":  # the embedded store: its folder must exist
        from pathlib import Path

        folder = Path(parsed.database or ".").parent
        return None if folder.is_dir() else f"{shown}: folder {folder} does not exist"
    connect_args = {"connect_timeout": max(1, int(timeout))} if parsed.get_backend_name() == "postgresql" else {}
    engine = sa.create_engine(parsed, connect_args=connect_args, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - report, never raise: this is a probe
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if parsed.password:
            reason = reason.replace(str(parsed.password), "***")
        return f"{shown}: {reason}"
    finally:
        engine.dispose()
    return None


def main() -> int:
    problem = check_storage(get_settings().resolved_hpo_storage_url)
    if problem is None:
        print("ok: the study storage answers")
        return 0
    print(f"unhealthy: {problem}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
