"""Signing what the model store publishes, and reading it back without following links.

**Why a SHA-256 next to the file is not a signature.** ``meta.json`` records the SHA-256 of
the model file, and the store recomputes it before loading. That catches a flipped bit or a
truncated copy. It does not stop a person: whoever can replace the model file can also
rewrite ``meta.json`` with the SHA of *their* file, because computing a SHA needs no secret.
A model file can hold code (a pickle is a program), so "anyone who can write a version
folder" would become "anyone can run code in the API".

**An HMAC is a checksum that needs a secret.** HMAC-SHA256 mixes a secret *key* into the
hash: ``HMAC(key, message)`` is 64 hex digits that only someone holding the key can compute,
and changing one byte of the message (or using another key) gives a completely different
value. The store computes it over the model file's SHA-256 and the canonical JSON of
``meta.json`` (every field but the signature itself, keys sorted, no spaces) and writes it
into ``meta.json`` as ``"signature"``. Before reading a model it recomputes the HMAC and
compares the two with :func:`hmac.compare_digest` (which takes the same time whether the first
or the last digit differs, so timing leaks nothing). A version written by hand, copied from
another studio, or edited after the fact is then refused as "not signed by this studio":
forging a signature needs the key, and the key never lives inside ``models/``.

**Where the key lives.** ``AUTOMLOPS_SIGNING_KEY`` (at least 32 characters) if set: give the
dashboard and the API the same one. Otherwise a random key in a file,
``AUTOMLOPS_SIGNING_KEY_FILE`` or ``~/.automlops/signing.key`` by default, created on first use
with mode 0600 (readable by its owner only). It is written to a temp file and then *linked*
into place, which fails if the file exists: two processes starting at once agree on one key
instead of each overwriting the other's. A process reads the key once, so replacing the file
later does not change what a running API accepts.

**Links.** A symbolic link inside ``models/`` could make the store read a file anywhere on the
machine. :class:`VersionReader` opens the name folder, the version folder and each file one
component at a time, relative to the folder opened before, with ``O_NOFOLLOW``: a link at any
level is refused, even one swapped in between a check and the read.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
import tempfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from automlops.config import Settings
from automlops.errors import ConfigError, IntegrityError, ModelError

__all__ = ["MIN_KEY_CHARS", "SIGNATURE_FIELD", "Signer", "VersionReader", "load_or_create_key", "plain_json",
           "signer_for"]

SIGNATURE_FIELD = "signature"
TRUST_HINT = "'automlops models trust {ref}'"  # how a refusal tells the user to re-sign a version on purpose
MIN_KEY_CHARS = 32
_SCHEME = "hmac-sha256"
_DOMAIN = b"automlops-model-v1\n"  # what the signature is for: never valid as any other HMAC message
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_FD_RELATIVE = os.open in os.supports_dir_fd and bool(_NOFOLLOW)


def _json_default(value: Any) -> Any:
    """Let numpy scalars/arrays, paths and datetimes through ``json.dumps``."""
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def plain_json(meta: Mapping[str, Any]) -> dict[str, Any]:
    """``meta`` as it will read back from ``meta.json`` (numpy values, paths, dates made plain)."""
    try:
        return dict(json.loads(json.dumps(meta, default=_json_default)))
    except (TypeError, ValueError) as exc:
        raise ModelError(f"model metadata is not JSON-serializable: {exc}") from exc


def canonical_json(meta: Mapping[str, Any]) -> bytes:
    """``meta`` without its signature, as one canonical line: sorted keys, no spaces, ASCII."""
    unsigned = {k: v for k, v in meta.items() if k != SIGNATURE_FIELD}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


class Signer:
    """Signs and checks ``meta.json`` contents with one secret key (see the module docstring)."""

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_CHARS:
            raise ConfigError(f"the model signing key must have at least {MIN_KEY_CHARS} characters")
        self._key = key

    def sign(self, meta: Mapping[str, Any]) -> str:
        """The signature of ``meta`` (which must hold ``model_sha256``): ``"hmac-sha256:<hex>"``."""
        message = _DOMAIN + str(meta.get("model_sha256", "")).encode("ascii", "replace") + b"\n" + canonical_json(meta)
        return f"{_SCHEME}:{hmac.new(self._key, message, hashlib.sha256).hexdigest()}"

    def signed(self, meta: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of ``meta`` with its signature field set."""
        return {**meta, SIGNATURE_FIELD: self.sign(meta)}

    def is_signed(self, meta: Mapping[str, Any]) -> bool:
        """True if ``meta`` carries a signature this key made (compared in constant time)."""
        claimed = meta.get(SIGNATURE_FIELD)
        return isinstance(claimed, str) and hmac.compare_digest(claimed, self.sign(meta))

    def check(self, meta: Mapping[str, Any], ref: str) -> None:
        """Raise IntegrityError unless ``meta`` was signed with this key; ``ref`` is ``"name@vN"``."""
        if self.is_signed(meta):
            return
        why = ("it has no signature (saved before signing existed, or written by hand)"
               if SIGNATURE_FIELD not in meta else "its signature does not match (copied from another studio, "
               "signed with another key, or edited after saving)")
        raise IntegrityError(
            f"model {ref} is not signed by this studio: {why}; it was not loaded. If you know where it "
            f"came from and trust it, re-sign it deliberately with {TRUST_HINT.format(ref=ref)}")

    def __repr__(self) -> str:
        return "Signer(key=***)"


def signer_for(settings: Settings) -> Signer:
    """The signer ``settings`` call for: ``AUTOMLOPS_SIGNING_KEY``, else the key file (made if missing)."""
    if settings.signing_key:
        return Signer(settings.signing_key.encode("utf-8"))
    return Signer(load_or_create_key(settings.resolved_signing_key_file))


def load_or_create_key(path: Path) -> bytes:
    """The key stored in ``path``, created there (mode 0600, atomically) if it does not exist yet."""
    path = Path(path).expanduser()
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)  # mkstemp creates it with mode 0600
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(32) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # never replaces: if another process won the race, its key is the key
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ConfigError(f"cannot read the model signing key {path}: {exc.strerror} (it must be a regular file, "
                          "not a link)") from None
    with os.fdopen(fd, "rb") as fh:
        key = fh.read(4096).strip()
    if len(key) < MIN_KEY_CHARS:
        raise ConfigError(f"the model signing key in {path} is shorter than {MIN_KEY_CHARS} characters; "
                          "delete the file to generate a new one (models signed with it will need re-signing)")
    return key


class VersionReader:
    """Reads files of ``root/name/version`` without following a symbolic link at any level.

    Use as a context manager: ``with VersionReader(root, name, "v0003") as r: r.read("meta.json")``.
    Every refusal is an :class:`IntegrityError` naming the component.
    """

    def __init__(self, root: Path, name: str, version_dir: str) -> None:
        self.root, self.parts = Path(root), (name, version_dir)
        self.where = f"{name}/{version_dir}"
        self._fd: int | None = None

    def __enter__(self) -> VersionReader:
        if not _FD_RELATIVE:  # no dir_fd/O_NOFOLLOW here (Windows): check each component instead
            self._check_components()
            return self
        fd = os.open(self.root, os.O_RDONLY | _DIRECTORY)
        for part in self.parts:
            fd = self._open_child_dir(fd, part)  # closes the parent, whatever happens
        self._fd = fd
        return self

    def _open_child_dir(self, parent: int, part: str) -> int:
        """Open folder ``part`` inside the open folder ``parent`` (refusing a link), then close ``parent``."""
        try:
            child = os.open(part, os.O_RDONLY | _DIRECTORY | _NOFOLLOW, dir_fd=parent)
        except FileNotFoundError:
            raise IntegrityError(f"model folder {self.where} is missing") from None
        except OSError as exc:  # ELOOP: a link; ENOTDIR: a file, or a link on some systems
            raise IntegrityError(f"{part} in {self.where} is a symbolic link or not a folder ({exc.strerror}); "
                                 "the model store never follows links, nothing was loaded") from None
        finally:
            os.close(parent)
        return child

    def _check_components(self) -> None:
        path = self.root
        for part in self.parts:
            path = path / part
            if path.is_symlink() or not path.is_dir():
                raise IntegrityError(f"{part} in {self.where} is a symbolic link or not a folder; nothing was loaded")

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def read(self, file_name: str, max_bytes: int) -> bytes:
        """The bytes of a regular file in the version folder (IntegrityError: missing, a link, too big)."""
        if not file_name or file_name.startswith(".") or os.sep in file_name or "/" in file_name:
            raise IntegrityError(f"{file_name!r} is not a plain file name inside {self.where}; nothing was loaded")
        flags = os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            if self._fd is not None:
                fd = os.open(file_name, flags, dir_fd=self._fd)
            else:
                path = self.root.joinpath(*self.parts, file_name)
                if path.is_symlink():
                    raise OSError(40, "is a symbolic link")
                fd = os.open(path, flags)
        except FileNotFoundError:
            raise IntegrityError(f"{self.where}/{file_name} is missing; the model cannot be verified and will not "
                                 "be loaded") from None
        except OSError as exc:
            raise IntegrityError(f"{self.where}/{file_name} is a symbolic link or unreadable ({exc.strerror}); the "
                                 "model store never follows links, nothing was loaded") from None
        with os.fdopen(fd, "rb") as fh:
            info = os.fstat(fh.fileno())
            if not stat.S_ISREG(info.st_mode):  # a FIFO or a device: never block on it
                raise IntegrityError(f"{self.where}/{file_name} is not a regular file; nothing was loaded")
            data = fh.read(min(info.st_size, max_bytes) + 1)  # a file that grows meanwhile fails its SHA-256
        if len(data) > max_bytes:
            raise IntegrityError(f"{self.where}/{file_name} is larger than the {max_bytes} bytes expected; "
                                 "nothing was loaded")
        return data
