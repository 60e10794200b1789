"""One name rule everywhere: 1-64 of ``A-Z a-z 0-9 _ -``, the *whole* string, nothing else.

``re.match(r"^...$")`` is not that rule: ``$`` also matches just before a final newline, so
``"abc\\n"`` passed and became a dataset and a model. Every check uses ``fullmatch`` (and the
store's pattern is anchored with ``\\A``/``\\Z``), and every entry point is tried with the same
bad names: models (store), datasets (lake), the CLI, the dashboard's job request.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from automlops.config import Settings
from automlops.errors import AutoMLOpsError, ConfigError, ModelError
from automlops.mlops.lake import DataLake
from automlops.mlops.store import NAME_PATTERN, ModelStore

BAD_NAMES = ["abc\n", "abc\r", "abc\r\n", "abc ", " abc", "a b", "\u0430bc",  # Cyrillic a
             "\uff41bc",  # fullwidth a
             "abc\u200b",  # zero-width space
             "..", ".", "a/b", "../x", "a\\b", "x" * 65, "", "abc\x00"]
GOOD_NAMES = ["abc", "A-b_9", "x" * 64]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_the_store_pattern_refuses_even_with_match(name: str) -> None:
    assert NAME_PATTERN.fullmatch(name) is None and NAME_PATTERN.match(name) is None


@pytest.mark.parametrize("name", BAD_NAMES)
def test_model_names(settings: Settings, name: str) -> None:
    store = ModelStore(settings=settings)
    with pytest.raises(ModelError, match="invalid model name"):
        store.save(name, {"w": 1}, {"task": "test"})
    with pytest.raises(ModelError, match="invalid model name"):
        store.load(name)
    assert list(store.root.iterdir()) == []


@pytest.mark.parametrize("name", BAD_NAMES)
def test_dataset_names(settings: Settings, tmp_path: Path, name: str) -> None:
    csv = tmp_path / "t.csv"
    csv.write_text("a,b\n1,2\n3,4\n")
    lake = DataLake(settings=settings)
    with pytest.raises(AutoMLOpsError):
        lake.add(name, csv)
    assert lake.list_datasets() == []


def test_good_names_still_work(settings: Settings, tmp_path: Path) -> None:
    store = ModelStore(settings=settings)
    for name in GOOD_NAMES:
        assert store.save(name, {"w": 1}, {"task": "test"}).name == name
    assert store.names() == sorted(GOOD_NAMES)


@pytest.mark.parametrize("name", ["abc\n", "abc ", "\u0430bc", "..", "a/b", "x" * 65])
def test_cli_names(home: Path, tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]) -> None:
    from automlops.cli import main

    csv = tmp_path / "t.csv"
    csv.write_text("a,b\n1,2\n3,4\n")
    assert main(["lake", "add", name, str(csv)]) == 2
    assert main(["predict", "--model", name, str(csv)]) == 2
    assert main(["train", str(csv), "--target", "b", "--name", name]) == 2  # refused before any training
    err = capsys.readouterr().err
    assert err.count("automlops: error:") == 3 and "internal error" not in err
    assert DataLake(settings=Settings()).list_datasets() == []


@pytest.mark.parametrize("name", ["abc\n", "abc\r", "abc ", "\u0430bc", "..", "a/b", "x" * 65])
def test_dashboard_job_request_names(name: str) -> None:
    from automlops.ui import jobs

    with pytest.raises(ConfigError, match="invalid model name"):
        jobs._validate(jobs.TrainRequest("iris", 1, "target", model_name=name))
    jobs._validate(jobs.TrainRequest("iris", 1, "target", model_name="abc"))


def test_dashboard_url_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """A dataset or job id read back from the page URL follows the same rule."""
    from types import SimpleNamespace

    from automlops.ui import state

    fake = SimpleNamespace(query_params={"dataset": "iris\n", "version": "1", "job": "abcdef\n"}, session_state={})
    monkeypatch.setattr(state, "st", fake)
    assert state._url_workspace() is None and state.active_job_id() is None
    fake.query_params.update(dataset="iris", job="abcdef")
    fake.session_state.clear()
    assert state._url_workspace() == state.Workspace("iris", 1) and state.active_job_id() == "abcdef"
