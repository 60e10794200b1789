"""A bundle as one zip file (the dashboard's download): built in a temp folder, zipped, removed."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path
from typing import Any

__all__ = ["bundle_zip", "zip_folder"]


def zip_folder(folder: Path, prefix: str) -> bytes:
    """Every file under ``folder`` in a zip, under ``prefix/`` (so unzipping makes one folder)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            archive.write(path, f"{prefix}/{path.relative_to(folder).as_posix()}")
    return buffer.getvalue()


def bundle_zip(ref: str, *, settings: Any = None, check: bool = True) -> tuple[str, bytes]:
    """``(file name, zip bytes)`` of the bundle of ``ref`` (``NAME@vN``...), checked like the CLI's."""
    from automlops.bundle.build import build_bundle

    with tempfile.TemporaryDirectory(prefix="automlops-bundle-") as scratch:
        result = build_bundle(ref, Path(scratch) / "bundle", settings=settings, check=check)
        prefix = f"{result.name}-v{result.version}-bundle"
        return f"{prefix}.zip", zip_folder(result.out, prefix)
