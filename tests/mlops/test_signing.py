"""Signed versions: only what this studio published loads; no link is followed; re-signing is deliberate."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import stat
import threading
from pathlib import Path

import pytest

from automlops.config import Settings, get_settings
from automlops.errors import ConfigError, IntegrityError, ModelError, NotFoundError
from automlops.mlops._signing import Signer, VersionReader, load_or_create_key, signer_for
from automlops.mlops.store import ModelStore

META = {"task": "test", "features": ["a"]}
KEY_A = "a" * 40
KEY_B = "b" * 40


class _Touch:
    """Unpickling this creates ``path``: a stand-in for "a pickle that runs code"."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return open, (str(self.path), "w")


@pytest.fixture
def store(settings: Settings) -> ModelStore:
    return ModelStore(settings=settings)


def _meta(folder: Path) -> dict:
    return json.loads((folder / "meta.json").read_text())


# ---------------------------------------------------------------------------------- the signer
def test_a_signature_covers_every_field_and_depends_on_the_key() -> None:
    signer = Signer(KEY_A.encode())
    meta = signer.signed({"model_sha256": "0" * 64, "name": "m", "version": 1, "metrics": {"auc": 0.9}})
    assert signer.is_signed(meta) and meta["signature"].startswith("hmac-sha256:")
    assert signer.is_signed(dict(reversed(list(meta.items()))))  # key order does not matter: canonical JSON
    for change in ({"model_sha256": "1" * 64}, {"version": 2}, {"metrics": {"auc": 0.91}}, {"extra": None}):
        assert not signer.is_signed({**meta, **change})
    assert not Signer(KEY_B.encode()).is_signed(meta)
    assert not signer.is_signed({k: v for k, v in meta.items() if k != "signature"})
    assert "a" * 10 not in repr(signer)


def test_refusals_say_why_and_how_to_re_sign() -> None:
    signer = Signer(KEY_A.encode())
    with pytest.raises(IntegrityError, match=r"m@v1 is not signed by this studio: it has no signature.*"
                                             r"automlops models trust m@v1"):
        signer.check({"model_sha256": "0" * 64}, "m@v1")
    with pytest.raises(IntegrityError, match="signature does not match"):
        signer.check({"model_sha256": "0" * 64, "signature": "hmac-sha256:00"}, "m@v1")
    with pytest.raises(ConfigError, match="at least 32"):
        Signer(b"short")


# ---------------------------------------------------------------------------------- the key
def test_the_key_file_is_created_once_private_and_outside_models(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "signing.key"
    key = load_or_create_key(path)
    assert len(key) == 64 and load_or_create_key(path) == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["signing.key"]  # no temp file left behind


def test_processes_racing_to_create_the_key_agree_on_one(tmp_path: Path) -> None:
    path = tmp_path / "signing.key"
    keys: list[bytes] = []
    threads = [threading.Thread(target=lambda: keys.append(load_or_create_key(path))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(keys)) == 1 and len(keys) == 8


def test_a_linked_or_short_key_file_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real.key"
    real.write_text("x" * 64)
    (tmp_path / "link.key").symlink_to(real)
    with pytest.raises(ConfigError, match="not a link"):
        load_or_create_key(tmp_path / "link.key")
    (tmp_path / "short.key").write_text("abc")
    with pytest.raises(ConfigError, match="shorter than 32"):
        load_or_create_key(tmp_path / "short.key")


def test_settings_choose_the_key(home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AUTOMLOPS_SIGNING_KEY_FILE", str(tmp_path / "k" / "signing.key"))
    monkeypatch.delenv("AUTOMLOPS_SIGNING_KEY", raising=False)
    from_file = signer_for(get_settings())
    assert (tmp_path / "k" / "signing.key").is_file()
    monkeypatch.setenv("AUTOMLOPS_SIGNING_KEY", KEY_A)
    from_env = signer_for(get_settings())
    meta = from_env.signed({"model_sha256": "0" * 64})
    assert Signer(KEY_A.encode()).is_signed(meta) and not from_file.is_signed(meta)
    assert KEY_A not in repr(get_settings())
    monkeypatch.setenv("AUTOMLOPS_SIGNING_KEY", "too-short")
    with pytest.raises(ConfigError, match="AUTOMLOPS_SIGNING_KEY") as err:
        get_settings()
    assert "too-short" not in str(err.value)  # a secret is named, never shown


# ---------------------------------------------------------------------------------- the store
def test_save_signs_and_load_checks(store: ModelStore) -> None:
    saved = store.save("m", {"w": [1, 2]}, META)
    assert store.signer.is_signed(_meta(saved.path)) and store.verify("m", 1)
    assert store.load("m").model == {"w": [1, 2]}


def test_a_rewritten_meta_with_a_recomputed_sha_is_refused_and_never_unpickled(
    store: ModelStore, tmp_path: Path
) -> None:
    """The attack of the issue: swap the pickle, fix the SHA in meta.json, keep or drop the signature."""
    saved = store.save("m", {"w": 1}, META)
    marker = tmp_path / "code-ran"
    evil = pickle.dumps(_Touch(marker))
    (saved.path / "model.joblib").write_bytes(evil)
    meta = {**_meta(saved.path), "model_sha256": hashlib.sha256(evil).hexdigest(), "model_bytes": len(evil)}
    (saved.path / "meta.json").write_text(json.dumps(meta))  # the old signature no longer matches
    with pytest.raises(IntegrityError, match="m@v1 is not signed by this studio: its signature does not match"):
        store.load("m")
    del meta["signature"]
    (saved.path / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(IntegrityError, match="it has no signature"):
        store.load("m")
    assert not store.verify("m") and not marker.exists()


def test_a_folder_copied_from_another_studio_is_refused(home: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOMLOPS_SIGNING_KEY", KEY_B)
    other = ModelStore(tmp_path / "other" / "models")
    other.save("m", {"w": 1}, META)
    monkeypatch.setenv("AUTOMLOPS_SIGNING_KEY", KEY_A)
    mine = ModelStore(settings=get_settings())
    os.rename(other.root / "m", mine.root / "m")
    with pytest.raises(IntegrityError, match="not signed by this studio"):
        mine.load("m")


def test_a_version_moved_to_another_folder_is_refused(store: ModelStore) -> None:
    store.save("a", {"w": 1}, META)
    store.save("b", {"w": 2}, META)
    os.rename(store.root / "a" / "v0001", store.root / "b" / "v0002")  # signed, but for a@v1
    with pytest.raises(IntegrityError, match="b@v2 describes 'a' v1"):
        store.load("b", 2)
    assert store.load("b", 1).model == {"w": 2}


def test_a_symlinked_model_file_pointing_outside_is_refused(store: ModelStore, tmp_path: Path) -> None:
    saved = store.save("m", {"w": 1}, META)
    outside = tmp_path / "outside.joblib"
    (saved.path / "model.joblib").rename(outside)
    (saved.path / "model.joblib").symlink_to(outside)  # same bytes, signature and SHA still match
    with pytest.raises(IntegrityError, match="symbolic link"):
        store.load("m")
    assert not store.verify("m")


def test_a_symlinked_meta_is_refused(store: ModelStore, tmp_path: Path) -> None:
    saved = store.save("m", {"w": 1}, META)
    (saved.path / "meta.json").rename(tmp_path / "meta.json")
    (saved.path / "meta.json").symlink_to(tmp_path / "meta.json")
    with pytest.raises(IntegrityError, match="symbolic link"):
        store.load("m")


def test_symlinked_version_and_name_folders_are_never_listed_or_loaded(store: ModelStore, tmp_path: Path) -> None:
    store.save("m", {"w": 1}, META)
    elsewhere = ModelStore(tmp_path / "elsewhere")
    elsewhere.save("m", {"w": 2}, META)  # same key, so only the link stands between it and loading
    (store.root / "m" / "v0002").symlink_to(elsewhere.root / "m" / "v0001", target_is_directory=True)
    (store.root / "linked").symlink_to(elsewhere.root / "m", target_is_directory=True)
    assert [m.ref for m in store.list_models()] == ["m@v1"]
    with pytest.raises(NotFoundError):
        store.load("m", 2)
    with pytest.raises(ModelError, match="symbolic link"):
        store.load("linked")
    with VersionReader(store.root, "m", "v0001") as reader:  # the reader refuses links on its own too
        assert reader.read("meta.json", 1 << 20)
    with pytest.raises(IntegrityError, match="symbolic link"), VersionReader(store.root, "m", "v0002"):
        pass


def test_the_reader_refuses_a_fifo_and_an_oversized_file(store: ModelStore) -> None:
    saved = store.save("m", {"w": 1}, META)
    os.mkfifo(saved.path / "pipe")
    with VersionReader(store.root, "m", "v0001") as reader:
        with pytest.raises(IntegrityError, match="not a regular file"):
            reader.read("pipe", 100)
        with pytest.raises(IntegrityError, match="larger than"):
            reader.read("meta.json", 10)
        with pytest.raises(IntegrityError, match="not a plain file name"):
            reader.read("../v0001/meta.json", 100)


def test_an_old_unsigned_version_is_refused_until_trusted(store: ModelStore) -> None:
    saved = store.save("old", {"w": 1}, META)
    meta = _meta(saved.path)
    del meta["signature"]  # what a version saved before signing existed looks like
    (saved.path / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(IntegrityError, match="automlops models trust old@v1"):
        store.load("old")
    trusted = store.trust("old@v1")
    assert trusted.meta["trusted"] and store.load("old").model == {"w": 1}
    resaved = store.save("old", store.load("old").model, trusted.meta)  # a new version is simply the studio's
    assert "trusted" not in resaved.meta and store.signer.is_signed(resaved.meta)


def test_trust_refuses_a_file_that_does_not_match_its_meta(store: ModelStore) -> None:
    saved = store.save("m", {"w": 1}, META)
    (saved.path / "model.joblib").write_bytes(pickle.dumps({"w": 2}))
    with pytest.raises(IntegrityError, match="will not be signed"):
        store.trust("m", 1)
    with pytest.raises(IntegrityError, match="does not match the SHA-256"):
        store.load("m")


def test_the_cli_trusts_one_exact_version(store: ModelStore, capsys: pytest.CaptureFixture[str]) -> None:
    from automlops.cli import main

    saved = store.save("old", {"w": 1}, META)
    meta = _meta(saved.path)
    del meta["signature"]
    (saved.path / "meta.json").write_text(json.dumps(meta))
    assert main(["predict", "--model", "old@v1", str(saved.path / "meta.json")]) == 2
    assert "automlops models trust old@v1" in capsys.readouterr().err
    assert main(["models", "trust", "old"]) == 2  # "latest" is not one exact version
    assert "name one exact version" in capsys.readouterr().err
    assert main(["models", "trust", "old@v1"]) == 0
    assert "signed old@v1 (joblib)" in capsys.readouterr().out and store.load("old").model == {"w": 1}
