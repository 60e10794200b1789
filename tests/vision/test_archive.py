"""Safe extraction: every refusal names the problem and leaves nothing behind (no dest, no temp folder)."""

from __future__ import annotations

import io
import os
import stat
import struct
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from automlops.errors import DataError
from automlops.vision.archive import ArchiveLimits, image_format, is_junk, safe_extract
from automlops.vision.samples import write_shapes_segmentation, zip_folder


def _png(size: tuple[int, int] = (8, 8), colour: int = 100) -> bytes:
    buf = io.BytesIO()
    Image.new("L", size, colour).save(buf, format="PNG")
    return buf.getvalue()


def _zip(entries: list[tuple[str | zipfile.ZipInfo, bytes]], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buf.getvalue()


def _patch_headers(data: bytes, local_offset: int, central_offset: int, fmt: str, value: int) -> bytes:
    """Overwrite one field of every member's local and central header (a forged archive)."""
    raw = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", local_offset), (b"PK\x01\x02", central_offset)):
        start = 0
        while (start := raw.find(signature, start)) >= 0:
            struct.pack_into(fmt, raw, start + offset, value)
            start += 4
    return bytes(raw)


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """An empty folder to extract into: after a refusal it must be empty again."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def _refused(source: Path | bytes, out: Path, *fragments: str, limits: ArchiveLimits | None = None) -> str:
    dest = out / "dataset"
    with pytest.raises(DataError) as caught:
        safe_extract(source, dest, limits or ArchiveLimits())
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, message
    assert not dest.exists()
    assert list(out.iterdir()) == [], "a temp folder was left behind"
    return message


def test_a_good_archive_is_extracted_whole(tmp_path: Path, out: Path) -> None:
    folder = write_shapes_segmentation(tmp_path / "seg", n=2, size=16)
    archive = zip_folder(folder, tmp_path / "seg.zip")
    files = safe_extract(archive, out / "dataset")
    assert files == ["classes.txt", "images/0000.png", "images/0001.png", "masks/0000.png", "masks/0001.png"]
    assert (out / "dataset" / "images" / "0000.png").read_bytes() == (folder / "images" / "0000.png").read_bytes()
    assert [p.name for p in out.iterdir()] == ["dataset"]  # the temp folder was renamed, not copied


def test_os_junk_is_skipped_and_bytes_work_like_a_file(out: Path) -> None:
    data = _zip([("cats/a.png", _png()), ("__MACOSX/cats/._a.png", b"\x00\x05\x16\x07junk"),
                 ("cats/.DS_Store", b"\x00\x00\x00\x01Bud1"), ("cats/._b.png", b"resource fork"),
                 ("Thumbs.db", b"junk")])
    assert safe_extract(data, out / "dataset") == ["cats/a.png"]
    assert is_junk("__MACOSX/x.png") and is_junk("a/.DS_Store") and not is_junk("a/b.png")


@pytest.mark.parametrize(("name", "fragment"), [
    ("../evil.txt", "outside the dataset folder"),
    ("cats/../../evil.txt", "outside the dataset folder"),
    ("/etc/evil.txt", "absolute path"),
    ("C:/evil.txt", "drive letter"),
    ("..\\evil.txt", "backslashes"),
    ("cats\\a.png", "backslashes"),
])
def test_member_names_that_escape_are_refused(out: Path, name: str, fragment: str) -> None:
    data = _zip([("ok.txt", b"fine"), (name, b"x")])
    _refused(data, out, fragment, repr(name))


def test_a_symlink_member_is_refused(out: Path) -> None:
    link = zipfile.ZipInfo("cats/link.png")
    link.create_system = 3  # Unix
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    _refused(_zip([("cats/a.png", _png()), (link, b"/etc/passwd")]), out, "symbolic link", "cats/link.png")


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_duplicate_names_and_file_folder_clashes_are_refused(out: Path) -> None:
    _refused(_zip([("a.txt", b"1"), ("a.txt", b"2")]), out, "appears twice", "a.txt")
    _refused(_zip([("cats", b"1"), ("cats/a.txt", b"2")]), out, "both a file and a folder", "cats")


def test_a_password_protected_member_is_refused(out: Path) -> None:
    data = _patch_headers(_zip([("secret.txt", b"x")], zipfile.ZIP_STORED), 6, 8, "<H", 0x1)  # "encrypted" flag
    assert zipfile.ZipFile(io.BytesIO(data)).getinfo("secret.txt").flag_bits & 0x1
    _refused(data, out, "password-protected", "secret.txt")


def test_too_many_entries_are_refused_before_extracting(out: Path) -> None:
    data = _zip([(f"f{i}.txt", b"x") for i in range(6)])
    _refused(data, out, "6 entries", "5 allowed", limits=ArchiveLimits(max_entries=5))


def test_a_zip_bomb_is_refused_by_its_compression_ratio(out: Path) -> None:
    data = _zip([("bomb.txt", b"\0" * (3 * 1024**2))])  # 3 MiB of zeros: ~3 KB compressed
    assert len(data) < 10_000
    _refused(data, out, "bomb.txt", "compression ratio")


def test_a_zip_bomb_is_refused_by_its_total_size(out: Path) -> None:
    data = _zip([(f"part{i}.bin", os.urandom(60_000)) for i in range(4)])  # incompressible: the ratio is fine
    _refused(data, out, "in total", limits=ArchiveLimits(max_total_bytes=200_000))


def test_one_oversized_member_is_refused(out: Path) -> None:
    _refused(_zip([("big.bin", os.urandom(150_000))]), out, "big.bin", "decompresses to more than",
             limits=ArchiveLimits(max_file_bytes=100_000))


def test_a_header_that_understates_the_size_does_not_get_a_member_through(out: Path) -> None:
    data = _patch_headers(_zip([("bomb.txt", b"\0" * (3 * 1024**2))]), 22, 24, "<I", 100)  # uncompressed size
    assert zipfile.ZipFile(io.BytesIO(data)).getinfo("bomb.txt").file_size == 100  # the header lies
    _refused(data, out, "bomb.txt")


def test_a_fake_png_is_refused_by_its_content(out: Path) -> None:
    data = _zip([("cats/a.png", _png()), ("cats/b.png", b"<html><script>alert(1)</script></html>")])
    _refused(data, out, "cats/b.png", "is not an image")


def test_an_image_behind_another_name_is_checked_too(out: Path) -> None:
    truncated = _png((64, 64))[:40]  # PNG magic, then nothing
    _refused(_zip([("notes.bin", truncated)]), out, "notes.bin", "not a readable image")


def test_pillows_decompression_bomb_limit_applies_to_every_image(out: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    data = _zip([("cats/small.png", _png((8, 8))), ("cats/large.png", _png((64, 64)))])
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 64×64 = 4096 pixels
    _refused(data, out, "cats/large.png", "decompression bomb")
    _refused(data, out, "decompression bomb", limits=ArchiveLimits(max_image_pixels=50))  # our own cap too


def test_not_a_zip_is_refused(tmp_path: Path, out: Path) -> None:
    _refused(b"name,age\nann,3\n", out, "not a zip archive")
    text = tmp_path / "data.zip"
    text.write_text("hello")
    _refused(text, out, "'data.zip' is not a zip archive")
    _refused(tmp_path / "missing.zip", out, "no such archive")


def test_a_damaged_member_is_refused(out: Path) -> None:
    data = bytearray(_zip([("a.txt", b"hello world " * 50)], zipfile.ZIP_STORED))
    data[data.find(b"hello")] ^= 0xFF  # one flipped byte: the CRC no longer matches
    _refused(bytes(data), out, "a.txt", "cannot be read")


def test_the_destination_must_be_new(out: Path) -> None:
    (out / "dataset").mkdir()
    with pytest.raises(FileExistsError):
        safe_extract(_zip([("a.txt", b"x")]), out / "dataset")


def test_magic_bytes_name_the_format() -> None:
    assert image_format(_png()) == "PNG"
    assert image_format(b"\xff\xd8\xff\xe0....") == "JPEG"
    assert image_format(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "WEBP"
    assert image_format(b"GIF89a") == "GIF" and image_format(b"II*\x00") == "TIFF"
    assert image_format(b"#!/bin/sh\n") is None


def test_limits_come_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from automlops.config import Settings

    monkeypatch.setenv("AUTOMLOPS_ARCHIVE_MAX_ENTRIES", "7")
    monkeypatch.setenv("AUTOMLOPS_ARCHIVE_MAX_MB", "1.5")
    limits = ArchiveLimits.from_settings(Settings())
    assert limits.max_entries == 7 and limits.max_total_bytes == int(1.5 * 1024**2)
    assert ArchiveLimits().max_entries == 20_000 and ArchiveLimits().max_ratio == 100
