"""Reading CSV files written by real people, and saying clearly why one cannot be read.

A "CSV" from the wild is rarely plain comma-separated UTF-8: Excel in France or Germany writes
``;`` between fields and ``,`` as the decimal mark (``3,14``), older tools write Latin-1
(``café`` as the single byte ``0xE9``), Windows adds a byte-order mark, and some "CSV" uploads
are really a ZIP, a PNG or a spreadsheet. :func:`read_csv_robust` detects the encoding, the
delimiter and the decimal mark from the bytes themselves, reports what it detected (so the
choice can be checked), and refuses bad input with a message that names the problem and the
line ("line 7 has 4 fields but the header has 3") instead of silently guessing. Columns of
date strings become real ``datetime64`` columns, so later steps can sort and split by time.
The lake keeps an upload byte for byte, and reading it back must give the same table: a quoted
carriage return stays a carriage return, and every float is parsed with ``round_trip`` precision
(pandas' default fast parser can land one unit in the last place away: 0.1 + 1e-17).

Limits come first. pandas builds a Python object per header name and per field, so a 50 MB
single-line header grows to several GB before any error: the number of columns and the length
of the longest field are checked (``AUTOMLOPS_MAX_COLUMNS``, ``AUTOMLOPS_MAX_FIELD_CHARS``)
while scanning with the standard :mod:`csv` module, before pandas sees the bytes.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import os
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pandas as pd

from automlops.errors import DataError, NotFoundError
from automlops.mlops._canonical import canonical_csv, check_frame, read_canonical_csv, table_digest
from automlops.mlops.cells import CURRENCY_SIGNS, MISSING_MARKERS, read_marked_cells, read_missing_markers
from automlops.mlops.date_columns import DAY_MONTH_ORDERS, day_month_order, parse_date_columns

__all__ = ["DAY_MONTH_ORDERS", "DELIMITERS", "MISSING_MARKERS", "IngestResult", "canonical_csv", "check_frame",
           "day_month_order", "detect_decimal", "detect_delimiter", "parse_date_columns",
           "read_canonical_csv", "read_marked_cells", "read_missing_markers",
           "read_csv_robust", "read_source_bytes", "table_digest"]

DELIMITERS = (",", ";", "\t")
_SAMPLE_CHARS = 64 * 1024
_MB = 1024 * 1024
_FIELD_LIMIT_LOCK = threading.Lock()  # csv.field_size_limit is process-wide

# First bytes of common non-CSV files a student may upload by mistake.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx file is one too: save it as CSV)"),
    (b"\x1f\x8b", "a gzip archive (decompress it first)"),
    (b"%PDF", "a PDF document"),
    (b"PAR1", "a Parquet file"),
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls / Office file (save it as CSV)"),
    (b"SQLite format 3", "an SQLite database"),
)
ONE_COLUMN_SAMPLE = 50  # lines read to judge whether a one-column table is really one column
_COMMA_DECIMAL = re.compile(r"^[-+]?\d{1,3}(?:\.\d{3})*,\d+$|^[-+]?\d+,\d+$")
_DOT_DECIMAL = re.compile(r"^[-+]?\d*\.\d+(?:[eE][-+]?\d+)?$")


@dataclass(frozen=True)
class IngestResult:
    """A parsed table plus what was detected to read it."""

    frame: pd.DataFrame
    encoding: str
    delimiter: str
    decimal: str
    n_bytes: int


def read_csv_robust(source: str | Path | bytes | IO[bytes], *, max_bytes: int, max_columns: int | None = None,
                    max_field_chars: int | None = None, min_columns: int = 2) -> IngestResult:
    """Read a CSV from a path, raw bytes or a binary file object, detecting its dialect.

    A ``str`` is a file path, never CSV text. Raises :class:`DataError` (with a message a
    student can act on) for empty, binary, oversized, too wide, undecodable or malformed
    tables. ``max_columns`` and ``max_field_chars`` default to the Settings. A table to train on
    may have one column (the values of one sensor, to search for anomalies), unless its lines look
    split by another separator (``a|b``, ``1 2``), the sign of a wrong delimiter; ``min_columns=1``
    (rows to predict: the future months a forecaster is asked about, say) accepts even those.
    """
    if max_columns is None or max_field_chars is None:
        from automlops.config import get_settings

        settings = get_settings()
        max_columns = settings.max_columns if max_columns is None else max_columns
        max_field_chars = settings.max_field_chars if max_field_chars is None else max_field_chars
    data = _read_bytes(source, max_bytes)
    _reject_binary(data)
    text, encoding = _decode(data)
    if not text.strip():
        raise DataError("the file contains only blank lines: there is no header and no data")
    delimiter = detect_delimiter(text)
    _check_width(text, delimiter, max_columns)
    header = _check_shape(text, delimiter, max_field_chars, min_columns)
    decimal = detect_decimal(text, delimiter)
    frame = read_marked_cells(_parse(text, delimiter, decimal, header), decimal)
    return IngestResult(parse_date_columns(frame), encoding, delimiter, decimal, len(data))


# --------------------------------------------------------------------------- bytes


def read_source_bytes(source: str | Path | bytes | IO[bytes], max_bytes: int) -> bytes:
    """The bytes of a path, a bytes object or a binary file, refused if empty or over ``max_bytes``."""
    return _read_bytes(source, max_bytes)


def _read_bytes(source: str | Path | bytes | IO[bytes], max_bytes: int) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise NotFoundError(f"no file at '{path}'")
        _check_size(path.stat().st_size, max_bytes)
        data = path.read_bytes()
        _check_size(len(data), max_bytes)  # the file may have grown since stat()
    elif hasattr(source, "read"):
        data = source.read(max_bytes + 1)
        if isinstance(data, str):
            raise TypeError("open the file in binary mode ('rb'): CSV detection needs the raw bytes")
        _check_size(len(data), max_bytes, exact=False)
    else:
        raise TypeError(f"cannot read a CSV from {type(source).__name__}")
    _check_size(len(data), max_bytes)
    if not data:
        raise DataError("the file is empty (0 bytes): there is no header and no data")
    return data


def _mb(n_bytes: int) -> str:
    size = n_bytes / _MB
    return f"{size:.1f} MB" if size >= 1 else f"{size:.3f} MB"


def _check_size(n_bytes: int, max_bytes: int, *, exact: bool = True) -> None:
    if n_bytes > max_bytes:
        size = _mb(n_bytes) if exact else f"more than {_mb(max_bytes)}"
        raise DataError(
            f"the file is too large: {size} while the limit is {_mb(max_bytes)}; "
            "upload a smaller sample or raise AUTOMLOPS_MAX_UPLOAD_MB"
        )


def _reject_binary(data: bytes) -> None:
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            raise DataError(f"this is not a CSV file: its first bytes say it is {kind}")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return  # UTF-16 text (Excel "Unicode text"): NUL bytes are expected there
    if b"\x00" in data[:_SAMPLE_CHARS]:
        raise DataError("this is not a text CSV: it contains NUL bytes, so it is a binary file")


def _decode(data: bytes) -> tuple[str, str]:
    """Return (text, encoding): UTF-8 (with or without BOM), UTF-16 with BOM, else Latin-1."""
    if data.startswith(b"\xef\xbb\xbf"):
        candidates = ["utf-8-sig"]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "latin-1"]
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "latin-1" and re.search("[\x80-\x9f]", text):
            try:  # bytes 0x80-0x9F are control codes in Latin-1 but €, ’, “ in Windows-1252
                text, encoding = data.decode("cp1252"), "cp1252"
            except UnicodeDecodeError:
                pass
        _reject_control_chars(text, encoding)
        return text, encoding  # line ends stay: the csv readers split rows, quoted \r stays data
    raise DataError(f"the file could not be decoded as text ({' or '.join(candidates)}); save it as UTF-8")


def _reject_control_chars(text: str, encoding: str) -> None:
    sample = text[:_SAMPLE_CHARS]
    controls = sum(1 for ch in sample if ch not in "\t\n\r\f" and unicodedata.category(ch) == "Cc")
    if controls > max(2, len(sample) // 100):
        raise DataError(
            f"the file could not be decoded as text: read as {encoding} it has {controls} control "
            "characters, so it is probably a binary file; save the table as a UTF-8 CSV"
        )


# --------------------------------------------------------------------------- dialect


def _sample_lines(text: str, limit: int = 200) -> list[str]:
    sample = text[:_SAMPLE_CHARS].replace("\r\n", "\n").replace("\r", "\n")  # a heuristic sample only
    if len(text) > _SAMPLE_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    return [line for line in sample.split("\n") if line.strip()][:limit]


def _widths(lines: list[str], delimiter: str) -> list[int]:
    try:
        return [len(row) for row in csv.reader(lines, delimiter=delimiter) if row]
    except csv.Error:
        return []


def _consistency(lines: list[str], delimiter: str) -> tuple[float, int]:
    """(share of rows as wide as the header, header width) for one candidate delimiter."""
    widths = _widths(lines, delimiter)
    if not widths or widths[0] < 2:
        return (0.0, widths[0] if widths else 0)
    return (sum(w == widths[0] for w in widths) / len(widths), widths[0])


def detect_delimiter(text: str) -> str:
    """csv.Sniffer restricted to , ; and tab; if it fails or disagrees with the rows, count fields."""
    lines = _sample_lines(text)
    try:
        sniffed = csv.Sniffer().sniff("\n".join(lines), delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        sniffed = None
    if sniffed in DELIMITERS and _consistency(lines, sniffed)[0] == 1.0:
        return sniffed
    scores = {d: _consistency(lines, d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: scores[d])
    return best if scores[best][1] >= 2 else ","


def _check_width(text: str, delimiter: str, max_columns: int) -> None:
    """Refuse a header with more than ``max_columns`` fields, counted without building them."""
    body = text.lstrip("\r\n")
    ends = [i for i in (body.find("\n"), body.find("\r")) if i >= 0]
    head = body[: min(ends)] if ends else body
    width = head.count(delimiter) + 1
    if width > max_columns and '"' in head:  # a quoted name may contain the delimiter: count exactly
        with _field_limit(len(head) + 1):
            width = len(next(csv.reader([head], delimiter=delimiter), []))
    if width > max_columns:
        raise DataError(f"the table has {width} columns while the limit is {max_columns}; keep fewer columns "
                        "or raise AUTOMLOPS_MAX_COLUMNS")


@contextlib.contextmanager
def _field_limit(limit: int) -> Iterator[None]:
    """Run with :func:`csv.field_size_limit` set to ``limit`` (process-wide, hence the lock)."""
    with _FIELD_LIMIT_LOCK:
        previous = csv.field_size_limit(limit)
        try:
            yield
        finally:
            csv.field_size_limit(previous)


def _check_shape(text: str, delimiter: str, max_field_chars: int, min_columns: int = 2) -> list[str]:
    """Validate the header, field sizes and that every row has as many fields; return the header."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        with _field_limit(max_field_chars):
            return _check_rows(reader, delimiter, min_columns)
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise DataError(f"line {reader.line_num} has a field longer than {max_field_chars} characters (the "
                            "limit); shorten it or raise AUTOMLOPS_MAX_FIELD_CHARS") from None
        raise DataError(f"the CSV could not be parsed: {exc}") from None


def _check_rows(reader: Any, delimiter: str, min_columns: int = 2) -> list[str]:
    header: list[str] = next((row for row in reader if any(f.strip() for f in row)), [])
    names = [name.strip() for name in header]
    first = list(itertools.islice(reader, ONE_COLUMN_SAMPLE)) if len(names) == 1 else []
    other = _other_separator([header, *first]) if len(names) == 1 else None
    if not names or (len(names) < min_columns and other is not None):
        shown = repr(header[0][:60]) if header else "''"
        raise DataError(
            f"only one column was found (header {shown}), and its lines look separated by {other or 'nothing'}: "
            "the delimiter must be a comma, a semicolon or a tab"
        )
    for row in first:  # read ahead to judge the single column: the checks below still see every row
        if len(row) != 1 and any(f.strip() for f in row):
            raise DataError(f"a line has {len(row)} fields but the header has 1; check for a stray "
                            f"'{_show(delimiter)}' or a missing quote on that line")
    dupes = sorted(name for name, n in Counter(n for n in names if n).items() if n > 1)
    if dupes:
        raise DataError(f"duplicate column names: {', '.join(repr(d) for d in dupes)}; rename them")
    expected = len(header)
    for row in reader:
        if len(row) != expected and any(f.strip() for f in row):
            raise DataError(
                f"line {reader.line_num} has {len(row)} fields but the header has {expected}; "
                f"check for a stray '{_show(delimiter)}' or a missing quote on that line"
            )
    return names


def _other_separator(rows: list[list[str]]) -> str | None:
    """What seems to separate the fields of a one-column table's lines, if anything: a table one
    column wide is usually a wrong delimiter, but it may be real (the values of one sensor, to
    search for anomalies; the months to forecast). It is a wrong delimiter when every line splits
    on the same other separator into the same number of fields (``a|b|c``, ``1 2 3``)."""
    lines = [row[0].strip() for row in rows if row and row[0].strip()]
    for separator, name in (("|", "'|'"), (":", "':'"), (None, "spaces")):
        counts = {len(line.split(separator)) for line in lines}
        if len(counts) == 1 and counts.pop() >= 2:
            return name
    return None


def _show(delimiter: str) -> str:
    return "\\t" if delimiter == "\t" else delimiter


def detect_decimal(text: str, delimiter: str) -> str:
    """',' when a ';' (or tab) file writes its numbers like ``3,14``; otherwise '.'."""
    if delimiter == ",":
        return "."
    comma = dot = 0
    for line in _sample_lines(text)[1:]:
        for field in line.split(delimiter):
            value = re.sub(CURRENCY_SIGNS + "|%", "", field.strip().strip('"')).strip()  # "1.234,50 €" too
            comma += bool(_COMMA_DECIMAL.fullmatch(value))
            dot += bool(_DOT_DECIMAL.fullmatch(value))
    return "," if comma > dot else "."


def _parse(text: str, delimiter: str, decimal: str, header: list[str]) -> pd.DataFrame:
    try:
        frame = pd.read_csv(io.StringIO(text, newline=""), sep=delimiter, decimal=decimal, low_memory=False,
                            float_precision="round_trip")
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataError(f"the CSV could not be parsed: {exc}") from None
    if len(frame) == 0:
        raise DataError(f"the file has a header ({len(header)} columns) but no data rows")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame
