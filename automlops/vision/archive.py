"""Safe extraction of an uploaded ``.zip``: nothing outside its folder, no bombs, only real images.

A zip file is a list of *members*, each with a name and a compressed payload, and every field of
it is written by whoever made the archive. ``zipfile.extractall`` trusts far too much of that, so
an upload can try to:

* **escape its folder** ("zip slip"): a member named ``../../.bashrc``, ``/etc/passwd``,
  ``C:\\evil`` or ``..\\evil`` would be written wherever it points;
* **plant a link**: a member whose Unix mode says *symlink*, which a later write would follow;
* **explode** (a "zip bomb"): 42 KB that decompress to petabytes. The sizes in the headers are
  written by the attacker too, so they are never trusted: the bytes are counted *while they are
  decompressed*, and extraction stops the moment a member passes its size cap, the archive its
  total cap, or a member its compression ratio (decompressed ÷ compressed bytes: photos barely
  compress, so a ratio of 1000:1 means a bomb, not a dataset);
* **lie about its content**: a ``.png`` that is really a script or HTML, or a tiny PNG that
  declares 100,000 × 100,000 pixels and takes 30 GB of memory to decode (Pillow's
  *decompression bomb*). Every image is identified by its first bytes (its *magic number*), not
  by its name, and opened by Pillow under a pixel cap.

:func:`safe_extract` checks all of that and writes into a temp folder beside ``dest``, renamed to
``dest`` only when every member has passed: a refused archive leaves nothing behind. Finder's
``__MACOSX/`` folder, ``._*`` resource forks, ``.DS_Store`` and ``Thumbs.db`` are skipped.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import shutil
import stat
import warnings
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from automlops.errors import DataError

__all__ = ["IMAGE_EXTENSIONS", "ArchiveLimits", "check_image", "image_format", "is_junk", "safe_extract"]

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"})
_CHUNK = 1 << 16
_TMP_PREFIX = ".tmp-"  # the lake's temp prefix: a crash leftover is cleaned like any other
_JUNK_FILES = frozenset({".ds_store", "thumbs.db", "desktop.ini"})
_DRIVE = re.compile(r"^[A-Za-z]:")
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF87a", "GIF"), (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"), (b"BM", "BMP"),
)


@dataclass(frozen=True)
class ArchiveLimits:
    """Caps an uploaded archive must stay under (defaults: the ``AUTOMLOPS_ARCHIVE_*`` settings).

    ``ratio_grace_bytes``: a member is judged on its ratio only past this many decompressed bytes
    (a 3 KB text file of spaces compresses 100:1 and is harmless). ``max_image_pixels``: width ×
    height of one image; ``None`` means Pillow's own ``Image.MAX_IMAGE_PIXELS`` at the time of the check.
    """

    max_entries: int = 20_000
    max_total_bytes: int = 2 * 1024**3
    max_ratio: float = 100.0
    max_file_bytes: int = 512 * 1024**2
    ratio_grace_bytes: int = 1024**2
    max_image_pixels: int | None = None

    @classmethod
    def from_settings(cls, settings: object | None = None) -> ArchiveLimits:
        """The limits configured in :class:`~automlops.config.Settings` (the environment)."""
        from automlops.config import Settings, get_settings

        s: Settings = settings if isinstance(settings, Settings) else get_settings()
        return cls(max_entries=s.archive_max_entries, max_total_bytes=int(s.archive_max_mb * 1024**2),
                   max_ratio=s.archive_max_ratio, max_file_bytes=int(s.archive_max_file_mb * 1024**2),
                   max_image_pixels=s.image_max_pixels)

    def pixel_cap(self) -> int:
        """The pixel cap in force: ours, else Pillow's ``Image.MAX_IMAGE_PIXELS`` (read now)."""
        if self.max_image_pixels is not None:
            return self.max_image_pixels
        from PIL import Image

        return int(Image.MAX_IMAGE_PIXELS or 89_478_485)


def is_junk(name: str) -> bool:
    """True for files an OS adds behind the user's back (``__MACOSX/``, ``._x``, ``.DS_Store``...)."""
    parts = [p for p in name.replace("\\", "/").split("/") if p]
    return bool(parts) and ("__MACOSX" in parts or parts[-1].lower() in _JUNK_FILES or parts[-1].startswith("._"))


def image_format(head: bytes) -> str | None:
    """The image format the first bytes announce (PNG, JPEG, GIF, TIFF, BMP, WEBP), or None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    for magic, fmt in _MAGIC:
        if head.startswith(magic):
            return fmt
    return None


def check_image(path: Path, *, max_pixels: int, shown: str | None = None) -> tuple[int, int]:
    """Check that ``path`` really is an image Pillow can read under ``max_pixels``; return (w, h).

    Identified by magic bytes, then opened by Pillow (header only) and ``verify()``-ed (PNG: every
    chunk's checksum). Anything else raises :class:`DataError` naming ``shown`` (default: the path).
    """
    from PIL import Image, UnidentifiedImageError

    shown = shown or str(path)
    with open(path, "rb") as fh:
        head = fh.read(16)
    if image_format(head) is None:
        raise DataError(f"'{shown}' is not an image: its content is not PNG, JPEG, BMP, GIF, TIFF or WEBP "
                        "whatever its name says")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                width, height = img.size
                if width * height > max_pixels:
                    raise Image.DecompressionBombError(f"{width * height} pixels")
                img.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DataError(f"'{shown}' is a decompression bomb: it declares more than {max_pixels:,} pixels "
                        "(AUTOMLOPS_IMAGE_MAX_PIXELS); shrink the image or raise the cap") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise DataError(f"'{shown}' is not a readable image ({type(exc).__name__}: {exc})") from None
    return width, height


def safe_extract(source: Path | bytes, dest: Path, limits: ArchiveLimits | None = None) -> list[str]:
    """Extract the zip ``source`` into the new folder ``dest``; return the files written (posix, sorted).

    Every member is checked before and while it is written (see the module docstring); the first
    problem raises :class:`DataError` naming the member, and then neither ``dest`` nor any temp
    folder exists. ``dest`` must not exist yet.
    """
    limits = limits or ArchiveLimits.from_settings()
    dest = Path(dest)
    if dest.exists():
        raise FileExistsError(f"{dest} already exists: extraction needs a new folder")
    size = len(source) if isinstance(source, bytes) else _file_size(Path(source))
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f"{_TMP_PREFIX}{dest.name}-{secrets.token_hex(4)}"
    tmp.mkdir()
    try:
        with _open_zip(source) as archive:
            members = _plan(archive.infolist(), limits, size)
            written = _extract(archive, members, tmp, limits)
        _check_images(tmp, written, limits)
        os.rename(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return written


# ---------------------------------------------------------------------- opening and planning


def _file_size(path: Path) -> int:
    if not path.is_file():
        raise DataError(f"no such archive: {path}")
    return path.stat().st_size


def _open_zip(source: Path | bytes) -> zipfile.ZipFile:
    shown = "the upload" if isinstance(source, bytes) else f"'{Path(source).name}'"
    handle: IO[bytes] | Path = io.BytesIO(source) if isinstance(source, bytes) else Path(source)
    try:
        return zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise DataError(f"{shown} is not a zip archive ({exc}); upload a .zip of the dataset folder") from None


def _plan(infos: list[zipfile.ZipInfo], limits: ArchiveLimits, archive_size: int) -> list[tuple[zipfile.ZipInfo,
                                                                                               tuple[str, ...]]]:
    """Check every member's header (name, type, count) before a single byte is written."""
    if len(infos) > limits.max_entries:
        raise DataError(f"refused archive: it has {len(infos):,} entries, more than the {limits.max_entries:,} "
                        "allowed (AUTOMLOPS_ARCHIVE_MAX_ENTRIES)")
    files: list[tuple[zipfile.ZipInfo, tuple[str, ...]]] = []
    seen_files: set[tuple[str, ...]] = set()
    seen_dirs: set[tuple[str, ...]] = set()
    for info in infos:
        parts = _safe_parts(info)
        if info.flag_bits & 0x1:
            raise DataError(f"refused archive: member '{info.filename}' is password-protected")
        if info.compress_size > archive_size:
            raise DataError(f"refused archive: member '{info.filename}' claims more compressed bytes than the "
                            "archive holds (a forged header)")
        if is_junk(info.filename) or not parts:
            continue
        if info.is_dir():
            seen_dirs.add(parts)
            continue
        if parts in seen_files:
            raise DataError(f"refused archive: member '{info.filename}' appears twice")
        seen_files.add(parts)
        files.append((info, parts))
    parents = {parts[:i] for parts in seen_files for i in range(1, len(parts))}
    clash = sorted(seen_files & (parents | seen_dirs))
    if clash:
        raise DataError(f"refused archive: '{'/'.join(clash[0])}' is both a file and a folder")
    return files


def _safe_parts(info: zipfile.ZipInfo) -> tuple[str, ...]:
    """The member's path as safe components, or DataError (absolute, ``..``, drive, backslash, link)."""
    raw = info.orig_filename
    name = info.filename
    problem = None
    if "\x00" in raw or any(ord(c) < 32 for c in raw):
        problem = "has control characters in its name"
    elif "\\" in raw:
        problem = "uses backslashes in its name (a Windows path trick; re-create the zip with a standard tool)"
    elif name.startswith("/"):
        problem = "has an absolute path"
    elif _DRIVE.match(name):
        problem = "names a drive letter"
    elif ".." in name.split("/"):
        problem = "points outside the dataset folder ('..')"
    else:
        kind = stat.S_IFMT(info.external_attr >> 16)  # the Unix mode lives in the high 16 bits
        if kind == stat.S_IFLNK:
            problem = "is a symbolic link"
        elif info.create_system == 3 and kind not in (0, stat.S_IFREG, stat.S_IFDIR):  # 3: made on Unix
            problem = "is a special file (device, pipe or socket)"
    if problem:
        raise DataError(f"refused archive: member {raw!r} {problem}")
    return tuple(p for p in name.split("/") if p not in ("", "."))


# ---------------------------------------------------------------------- streaming


def _extract(archive: zipfile.ZipFile, members: Iterable[tuple[zipfile.ZipInfo, tuple[str, ...]]], tmp: Path,
             limits: ArchiveLimits) -> list[str]:
    total = 0
    written: list[str] = []
    for info, parts in members:
        target = tmp.joinpath(*parts)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            total = _copy_member(archive, info, target, total, limits)
        except OSError as exc:  # a name too long for the disk, a full disk...
            raise DataError(f"member '{info.filename}' could not be written: {exc.strerror or exc}") from None
        written.append("/".join(parts))
    return sorted(written)


def _copy_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, total: int,
                 limits: ArchiveLimits) -> int:
    """Stream one member to ``target`` counting the bytes really produced; return the new total."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    size = 0
    try:
        with archive.open(info) as src, os.fdopen(os.open(target, flags, 0o644), "wb") as out:
            while chunk := src.read(_CHUNK):
                size += len(chunk)
                total += len(chunk)
                _check_counts(info, size, total, limits)
                out.write(chunk)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, NotImplementedError, EOFError, RuntimeError,
            ValueError) as exc:  # bad CRC, unknown compression method, truncated or corrupt data...
        raise DataError(f"refused archive: member '{info.filename}' cannot be read ({exc})") from None
    return total


def _check_counts(info: zipfile.ZipInfo, size: int, total: int, limits: ArchiveLimits) -> None:
    if size > limits.max_file_bytes:
        raise DataError(f"refused archive: member '{info.filename}' decompresses to more than "
                        f"{_mib(limits.max_file_bytes)} (AUTOMLOPS_ARCHIVE_MAX_FILE_MB)")
    if total > limits.max_total_bytes:
        raise DataError(f"refused archive: it decompresses to more than {_mib(limits.max_total_bytes)} in total "
                        "(a zip bomb, or raise AUTOMLOPS_ARCHIVE_MAX_MB)")
    if size > limits.ratio_grace_bytes and size / max(info.compress_size, 1) > limits.max_ratio:
        raise DataError(f"refused archive: member '{info.filename}' expands more than {limits.max_ratio:g}× "
                        "its compressed size (compression ratio: a zip bomb; AUTOMLOPS_ARCHIVE_MAX_RATIO)")


def _check_images(root: Path, written: list[str], limits: ArchiveLimits) -> None:
    """Every file named like an image, or starting like one, must be a real image under the pixel cap."""
    cap = limits.pixel_cap()
    for name in written:
        path = root / name
        if Path(name).suffix.lower() in IMAGE_EXTENSIONS:
            check_image(path, max_pixels=cap, shown=name)
        else:  # an image under another name; BMP's two-byte "BM" is too weak a sign to judge a text file by
            with open(path, "rb") as fh:
                if image_format(fh.read(16)) not in (None, "BMP"):
                    check_image(path, max_pixels=cap, shown=name)


def _mib(n: int) -> str:
    return f"{n / 1024**2:,.0f} MiB" if n >= 1024**2 else f"{n:,} bytes"
