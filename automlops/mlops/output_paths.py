"""Where a command may write its ``--out`` file, checked before any work.

A command's output is written atomically (a temp file renamed into place), which protects the
file from a crash, not from the user's own typo. Three mistakes lose data and are refused:

* ``--out`` names a **folder** (the rename would fail after all the work, as an internal error);
* ``--out`` is one of the command's **inputs** (``predict rows.csv --out rows.csv`` replaced the
  rows with their predictions);
* ``--out`` lies in the studio's **write-once stores**, the data lake or the model store, whose
  versions are never overwritten (an ``export --out data_lake/x/raw/v0001.csv`` replaced the
  training data of a model, and every check of that version then failed on its SHA-256).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from automlops.errors import DataError

__all__ = ["check_output_path"]


def check_output_path(out: Path | str, *, inputs: Sequence[Path | str] = (), flag: str = "--out") -> Path:
    """``out`` as a path that can be written, or a :class:`DataError` saying why it cannot."""
    from automlops.config import get_settings

    path = Path(out).expanduser()
    if path.is_dir():
        raise DataError(f"{flag} {path} is a folder; give the name of the file to write")
    target = path.resolve()
    for source in inputs:
        source_path = Path(source).expanduser()
        if source_path.exists() and target.exists() and source_path.resolve() == target:
            raise DataError(f"{flag} {path} is also the input file; write the output to another file "
                            "so the input is not replaced")
    settings = get_settings()
    for store, what in ((settings.lake_dir, "data lake"), (settings.models_dir, "model store")):
        if target.is_relative_to(store.expanduser().resolve()):
            raise DataError(f"{flag} {path} is inside the studio's {what} ({store}), whose versions are never "
                            "overwritten; write the output elsewhere")
    return path
