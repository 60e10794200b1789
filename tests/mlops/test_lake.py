"""DataLake: write-once numbered versions, SHA-256 checks, locking and crash safety."""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from palmerpenguins import load_penguins
from sklearn.datasets import load_diabetes, load_iris

from automlops.config import Settings
from automlops.errors import DataError, IntegrityError, NotFoundError
from automlops.mlops._atomic import sha256_file
from automlops.mlops.ingest import read_csv_robust, table_digest
from automlops.mlops.lake import DataLake, dataset_name_from_filename

from .test_ingest import BAD_FILES


@pytest.fixture
def lake(settings: Settings) -> DataLake:
    return DataLake(settings=settings)


@pytest.fixture(scope="module")
def penguins() -> pd.DataFrame:
    return load_penguins()


def snapshot(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")} if root.exists() else set()


def iris_csv(rows: slice = slice(None)) -> bytes:
    return load_iris(as_frame=True).frame.iloc[rows].to_csv(index=False).encode()


def test_root_defaults_to_settings_lake_dir(lake: DataLake, settings: Settings) -> None:
    assert lake.root == settings.lake_dir
    assert lake.list_datasets() == []


def test_first_add_layout_and_manifest(lake: DataLake, penguins: pd.DataFrame) -> None:
    penguins = penguins.rename(columns={"island": "île"})  # an accent makes Latin-1 ≠ UTF-8
    version = lake.add("penguins", penguins.to_csv(index=False, sep=";", decimal=",").encode("latin-1"),
                       note="palmer", filename="p.csv")
    assert (version.version, version.id, version.stage, version.reused) == (1, "v0001", "raw", False)
    assert version.full_path == lake.root / "penguins" / "raw" / "v0001.csv"
    assert version.rows == 344 and version.columns == list(penguins.columns)
    manifest = json.loads((lake.root / "penguins" / "manifest.json").read_text())
    record = manifest["versions"][0]
    assert manifest["name"] == "penguins"
    assert record["sha256"] == sha256_file(version.full_path)
    assert record["source"] == {"filename": "p.csv", "encoding": "latin-1", "delimiter": ";", "decimal": ","}
    assert record["parent"] is None and record["note"] == "palmer" and record["created"].endswith("+00:00")
    assert record["dtypes"]["species"] == "object" and record["dtypes"]["year"] == "int64"
    upload = penguins.to_csv(index=False, sep=";", decimal=",").encode("latin-1")
    assert version.full_path.read_bytes() == upload  # the upload, byte for byte
    assert record["sha256"] == hashlib.sha256(upload).hexdigest() and record["storage"] == "original"
    pd.testing.assert_frame_equal(lake.load("penguins"), read_csv_robust(upload, max_bytes=10**7).frame)


def test_versions_increment_across_stages_and_are_write_once(lake: DataLake) -> None:
    v1 = lake.add("iris", iris_csv(slice(0, 100)))
    first_bytes = v1.full_path.read_bytes()
    v2 = lake.add("iris", iris_csv())
    cleaned = lake.load("iris", 2).drop_duplicates()
    v3 = lake.add_processed("iris", cleaned, parent=2, note="drop duplicates")
    assert [v.version for v in lake.versions("iris")] == [1, 2, 3]
    assert (v3.stage, v3.path, v3.parent, v3.rows) == ("processed", "processed/v0003.csv", 2, len(cleaned))
    assert v1.full_path.read_bytes() == first_bytes and lake.verify("iris", 1)
    assert [lake.get_version("iris", key).version for key in (2, "2", "v0002", "V2")] == [2, 2, 2, 2]
    assert lake.get_version("iris").version == lake.get_version("iris", "latest").version == 3
    assert v2.id == "v0002"


def test_identical_content_is_reused_even_from_another_encoding(lake: DataLake, penguins: pd.DataFrame) -> None:
    first = lake.add("penguins", penguins.to_csv(index=False).encode())
    before = snapshot(lake.root)
    again = lake.add("penguins", penguins.to_csv(index=False, sep=";", decimal=",").encode("utf-8-sig"))
    same_frame = lake.add("penguins", penguins)
    assert again.reused and same_frame.reused
    assert again.version == same_frame.version == first.version == 1
    assert snapshot(lake.root) == before
    assert len(lake.versions("penguins")) == 1


def test_get_version_errors(lake: DataLake) -> None:
    lake.add("iris", iris_csv())
    with pytest.raises(NotFoundError, match="no version 7"):
        lake.get_version("iris", 7)
    with pytest.raises(NotFoundError, match="no dataset named 'wine'"):
        lake.get_version("wine")
    with pytest.raises(DataError, match="invalid version"):
        lake.get_version("iris", "seven")
    with pytest.raises(NotFoundError):
        lake.add_processed("iris", load_iris(as_frame=True).frame, parent=5)


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_csv_writes_nothing(lake: DataLake, case: str) -> None:
    with pytest.raises(DataError):
        lake.add("fresh", BAD_FILES[case][0])
    assert snapshot(lake.root) == set()
    lake.add("iris", iris_csv())
    before = snapshot(lake.root)
    with pytest.raises(DataError):
        lake.add("iris", BAD_FILES[case][0])
    assert snapshot(lake.root) == before


def test_over_size_limit_writes_nothing(home: Path) -> None:
    lake = DataLake(settings=Settings(max_upload_mb=0.001))
    with pytest.raises(DataError, match="too large"):
        lake.add("iris", iris_csv())
    assert snapshot(lake.root) == set()


@pytest.mark.parametrize("name", ["../escape", "a b", "a.b", "", "x" * 65, "sub/dir", ".hidden", "abc\n", "\nabc"])
def test_bad_names_are_refused(lake: DataLake, name: str) -> None:
    with pytest.raises(DataError, match="invalid dataset name"):
        lake.add(name, iris_csv())
    assert snapshot(lake.root) == set()
    assert not (lake.root.parent / "escape").exists()


def test_symlink_out_of_the_lake_is_refused(lake: DataLake, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    lake.root.mkdir(parents=True)
    (lake.root / "linked").symlink_to(outside)
    with pytest.raises(DataError, match="outside the data lake"):
        lake.add("linked", iris_csv())
    assert list(outside.iterdir()) == []


def test_bad_dataframes_are_refused(lake: DataLake) -> None:
    frame = load_iris(as_frame=True).frame
    with pytest.raises(DataError, match="no rows"):
        lake.add("iris", frame.iloc[:0])
    with pytest.raises(DataError, match="duplicate column names: 'target'"):
        lake.add("iris", pd.concat([frame, frame[["target"]]], axis=1))
    assert snapshot(lake.root) == set()


def test_verify_catches_a_tampered_file(lake: DataLake) -> None:
    version = lake.add("diabetes", load_diabetes(as_frame=True).frame)
    assert lake.verify("diabetes", 1)
    data = bytearray(version.full_path.read_bytes())
    data[-3] = ord("7") if data[-3] != ord("7") else ord("8")  # change one digit
    os.chmod(version.full_path, 0o644)
    version.full_path.write_bytes(bytes(data))
    assert not lake.verify("diabetes", 1)
    with pytest.raises(IntegrityError, match="SHA-256"):
        lake.load("diabetes")
    assert len(lake.load("diabetes", check=False)) == 442
    version.full_path.unlink()
    assert not lake.verify("diabetes", "v0001")


def test_load_restores_dtypes(lake: DataLake) -> None:
    frame = pd.DataFrame({
        "when": pd.to_datetime(["2024-01-01", "2024-02-03", None]),
        "stamp": pd.to_datetime(["2024-01-01 10:00", "2024-01-02 11:30", "2024-01-03 00:00"]).tz_localize("UTC"),
        "zip": ["00123", "04567", None],
        "grade": pd.Categorical(["b", "a", "b"]),
        "ok": [True, False, True],
        "maybe": pd.array([True, None, False], dtype="boolean"),
        "count": pd.array([1, None, 3], dtype="Int64"),
        "x": [0.1, 1 / 3, np.nan],
    })
    lake.add("mixed", frame)
    pd.testing.assert_frame_equal(lake.load("mixed"), frame)


def test_profile_numbers(lake: DataLake, penguins: pd.DataFrame) -> None:
    lake.add("penguins", penguins)
    profile = lake.profile("penguins", target="species")
    assert (profile.rows, profile.columns, profile.version) == (344, 8, 1)
    table = profile.table.set_index("name")
    assert table.loc["sex", "missing"] == 11 and table.loc["bill_length_mm", "missing"] == 2
    assert table.loc["sex", "missing_pct"] == pytest.approx(100 * 11 / 344, abs=0.01)
    assert table.loc["island", "unique"] == 3 and table.loc["species", "example"] == "Adelie"
    balance = profile.target_balance.set_index("value")  # type: ignore[union-attr]
    assert balance["count"].to_dict() == {"Adelie": 152, "Gentoo": 124, "Chinstrap": 68}
    assert balance["share"].sum() == pytest.approx(1.0)
    assert profile.target_stats is None
    lake.add("diabetes", load_diabetes(as_frame=True).frame)
    stats = lake.profile("diabetes", target="target").target_stats
    assert stats is not None and stats.loc["count"].iloc[0] == 442
    assert stats.loc["max"].iloc[0] == 346
    with pytest.raises(DataError, match="'price' is not in"):
        lake.profile("penguins", target="price")


def test_list_datasets(lake: DataLake) -> None:
    lake.add("iris", iris_csv())
    lake.add("diabetes", load_diabetes(as_frame=True).frame)
    lake.add("iris", iris_csv(slice(0, 50)))
    infos = lake.list_datasets()
    assert [(i.name, len(i.versions)) for i in infos] == [("diabetes", 1), ("iris", 2)]
    assert infos[1].latest.version == 2


@pytest.mark.parametrize(("filename", "expected"), [
    ("My Data (2024).csv", "My_Data_2024"), ("C:\\Users\\me\\sales.tsv", "sales"),
    ("/tmp/penguins.csv.gz", "penguins"), ("...csv", "dataset"), ("é" * 3 + ".csv", "dataset"),
    ("x" * 100 + ".csv", "x" * 64),
])
def test_dataset_name_from_filename(filename: str, expected: str) -> None:
    assert dataset_name_from_filename(filename) == expected


# ---------------------------------------------------------------------- processes and crashes


def _add_many(root: str, worker: int, count: int) -> None:
    frame = load_iris(as_frame=True).frame
    for i in range(count):  # a fresh DataLake each time: opening cleans temp files, not others' writes
        lake = DataLake(Path(root), settings=Settings())
        lake.add("shared", frame.iloc[: 10 + 20 * worker + i], note=f"worker {worker}")


def test_concurrent_adds_get_distinct_versions(lake: DataLake) -> None:
    ctx = mp.get_context("fork")
    workers = [ctx.Process(target=_add_many, args=(str(lake.root), w, 5)) for w in range(2)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(60)
        assert process.exitcode == 0
    manifest = json.loads((lake.root / "shared" / "manifest.json").read_text())
    assert sorted(r["version"] for r in manifest["versions"]) == list(range(1, 11))
    assert all(lake.verify("shared", v) for v in range(1, 11))
    assert sorted(v.rows for v in lake.versions("shared")) == sorted(
        10 + 20 * w + i for w in range(2) for i in range(5))


def _add_then_die(root: str, frame: pd.DataFrame, die_at_fsync: int) -> None:
    """Add ``frame``; the n-th fsync kills the process, like a power cut at that instant."""
    calls = {"n": 0}
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] == die_at_fsync:
            os.kill(os.getpid(), signal.SIGKILL)
        real_fsync(fd)

    os.fsync = fsync
    DataLake(Path(root), settings=Settings()).add("cars", frame)


@pytest.mark.parametrize(("die_at", "next_version"), [(1, 2), (3, 3)])
def test_kill_mid_write_keeps_previous_versions(lake: DataLake, die_at: int, next_version: int) -> None:
    """fsync 1 = while writing the data file; 3 = while writing the manifest (data file orphaned)."""
    first = lake.add("cars", load_iris(as_frame=True).frame)
    manifest_before = (lake.root / "cars" / "manifest.json").read_bytes()
    big = pd.DataFrame(np.random.default_rng(0).normal(size=(50_000, 8)), columns=list("abcdefgh"))
    process = mp.get_context("fork").Process(target=_add_then_die, args=(str(lake.root), big, die_at))
    process.start()
    process.join(60)
    assert process.exitcode == -signal.SIGKILL
    leftovers = [p for p in (lake.root / "cars").rglob(".tmp-*")]
    assert leftovers, "the killed write should have left a temp file behind"
    assert (lake.root / "cars" / "manifest.json").read_bytes() == manifest_before
    reopened = DataLake(lake.root, settings=Settings())
    assert not list((lake.root / "cars").rglob(".tmp-*"))
    assert [v.version for v in reopened.versions("cars")] == [1] and reopened.verify("cars", 1)
    assert first.full_path.read_bytes() and reopened.load("cars").shape == (150, 5)
    orphan = lake.root / "cars" / "raw" / "v0002.csv"
    orphan_bytes = orphan.read_bytes() if orphan.exists() else None
    added = reopened.add("cars", big)
    assert added.version == next_version and reopened.verify("cars", next_version)
    if orphan_bytes is not None:  # write-once: the orphan was skipped, never overwritten
        assert orphan.read_bytes() == orphan_bytes


@pytest.mark.parametrize("fail", ["link", "replace"])
def test_failed_rename_leaves_nothing_behind(lake: DataLake, monkeypatch: pytest.MonkeyPatch, fail: str) -> None:
    """os.link puts the data file in place, os.replace the manifest: make either one fail."""
    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, fail, broken)
    with pytest.raises(OSError, match="disk full"):
        lake.add("iris", iris_csv())
    assert snapshot(lake.root) == set()  # a failed first add leaves no dataset folder
    monkeypatch.undo()
    lake.add("iris", iris_csv())
    before = snapshot(lake.root)
    monkeypatch.setattr(os, fail, broken)
    with pytest.raises(OSError, match="disk full"):
        lake.add_processed("iris", load_iris(as_frame=True).frame.head(), parent=1)
    assert snapshot(lake.root) == before
    monkeypatch.undo()
    assert [v.version for v in lake.versions("iris")] == [1] and lake.verify("iris", 1)


def test_lineage_names_the_exact_data(lake: DataLake) -> None:
    entry = lake.add("iris", iris_csv())
    assert entry.lineage() == {"name": "iris", "version": 1, "sha256": entry.sha256, "rows": 150,
                               "columns": entry.dtypes, "source": str(entry.full_path)}
    assert sha256_file(Path(entry.lineage()["source"])) == entry.lineage()["sha256"]


def test_writers_wait_for_the_shared_lock(lake: DataLake) -> None:
    """The lake locks through ``_locks.flock`` (one lock implementation), on ``<dataset>/.lock``."""
    import ast
    import threading

    from automlops.mlops import lake as lake_module
    from automlops.mlops._locks import flock

    tree = ast.parse(Path(lake_module.__file__).read_text(encoding="utf-8"))
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert "fcntl" not in imported
    lake.add("iris", iris_csv(slice(0, 50)))
    done = threading.Event()
    with flock(lake.root / "iris" / ".lock"):
        writer = threading.Thread(target=lambda: (lake.add("iris", iris_csv(slice(50, 100))), done.set()))
        writer.start()
        assert not done.wait(0.5)  # blocked by our lock
    writer.join(10)
    assert done.is_set() and [v.version for v in lake.versions("iris")] == [1, 2]


# ---------------------------------------------------------------- issue 8: the raw version is the upload


def test_trailing_newline_names_are_refused_everywhere(lake: DataLake) -> None:
    for name in ("abc\n", "abc\r\n"):
        with pytest.raises(DataError, match="invalid dataset name"):
            lake.get_version(name)
    assert lake.list_datasets() == []


def test_upload_bytes_kept_and_quoted_carriage_return_round_trips(lake: DataLake) -> None:
    frame = pd.DataFrame({"note": ["a\rb", "c\r\nd", "plain"], "x": [0.1, 1 / 3, 2.5]})
    upload = frame.to_csv(index=False, lineterminator="\r\n").encode()
    entry = lake.add("notes", upload)
    assert entry.full_path.read_bytes() == upload
    assert entry.sha256 == hashlib.sha256(upload).hexdigest() == entry.lineage()["sha256"]
    pd.testing.assert_frame_equal(lake.load("notes"), frame)
    lake.add("notes_frame", frame)  # a DataFrame is stored as canonical CSV: its \r must survive too
    pd.testing.assert_frame_equal(lake.load("notes_frame"), frame)
    plain = lake.add("plain", frame.assign(note="x"))  # without \r, canonical bytes are as before
    assert b"\r" not in plain.full_path.read_bytes()


def test_floats_round_trip_exactly_through_the_lake(lake: DataLake) -> None:
    values = np.random.default_rng(3).lognormal(sigma=8, size=4000)
    frame = pd.DataFrame({"x": values, "y": -values / 7})
    lake.add("floats", frame.to_csv(index=False).encode())
    lake.add("floats_frame", frame)  # a DataFrame is stored as canonical CSV: also exact
    for name in ("floats", "floats_frame"):
        loaded = lake.load(name)
        assert (loaded["x"].to_numpy() == values).all() and (loaded["y"].to_numpy() == -values / 7).all()


def test_same_table_in_another_dialect_is_still_reused(lake: DataLake) -> None:
    frame = load_iris(as_frame=True).frame
    first = lake.add("iris", frame.to_csv(index=False).encode())
    again = lake.add("iris", frame.to_csv(index=False, sep=";", decimal=",").encode("utf-16"))
    assert again.reused and again.version == first.version and lake.find_raw("iris", table_digest(frame)) == first


def test_files_written_atomically_honour_the_umask(tmp_path: Path) -> None:
    """The temp file of an atomic write is created private (mkstemp: 0600) and renamed into place, so a
    `predict --out` file or a lake version was unreadable by the user's group where any other file is not."""
    import os
    import stat

    from automlops.mlops._atomic import atomic_write_text

    previous = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "open.csv", "a,b\n1,2\n")
        os.umask(0o077)
        atomic_write_text(tmp_path / "private.csv", "a,b\n1,2\n")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "open.csv").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "private.csv").stat().st_mode) == 0o600
