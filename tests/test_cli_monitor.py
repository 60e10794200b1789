"""``automlops monitor`` through ``automlops.cli.main`` in this process (real lake, model, log, MLflow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from automlops.cli import main
from automlops.config import Settings
from tests.mlops.monitorkit import FEATURES, log_traffic, saved_model, use_mlflow_template, wine


@pytest.fixture
def traffic(settings: Settings, empty_db: Path) -> Settings:
    use_mlflow_template(settings, empty_db)
    saved_model(settings)
    live = wine()[FEATURES].sample(120, random_state=0).reset_index(drop=True)
    log_traffic(settings, live.assign(alcohol=live["alcohol"] + 2.0, proline=live["proline"] * 2.0,
                                      ash=live["ash"] + 0.8, magnesium=live["magnesium"] + 30))
    return settings


def test_json_last_line_and_text_report(traffic: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["monitor", "--model", "wine", "--window", "24h", "--min-rows", "50", "--json"]) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["drifted"] is True and last["share_drifted"] >= 0.5
    assert (last["n_reference"], last["n_current"]) == (178, 120)
    assert Path(last["report_path"]).is_file() and last["model"] == "wine@v1" and last["window"] == "24h"
    assert last["run_id"] and "alcohol" in last["drifted_columns"] and last["live_metrics"] == {}

    assert main(["monitor", "--model", "wine", "--min-rows", "50", "--no-mlflow"]) == 0
    text = capsys.readouterr().out
    assert "wine@v1 (trained on wine@v1) · window 1000: 120 live rows vs 178 training rows" in text
    assert "→ DRIFTED" in text and "alcohol" in text and "latency p50 2.5 ms" in text
    assert "prediction drift (the model's answers vs its answers on its training rows): chi-square p_value" in text


def test_every_repeats_and_carries_on_when_rows_are_missing(traffic: Settings,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["monitor", "--model", "wine", "--every", "1s", "--times", "2", "--min-rows", "50", "--json",
                 "--no-mlflow"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert len(lines) == 2 and all(line["n_current"] == 120 for line in lines)
    assert main(["monitor", "--model", "wine", "--every", "1s", "--times", "1", "--min-rows", "500"]) == 0
    assert "only 120 logged predictions" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "message"), [
    (["--model", "wine", "--min-rows", "500"], "only 120 logged predictions of wine in the window 1000"),
    (["--model", "nobody"], "no model named 'nobody'"),
    (["--model", "wine", "--window", "soon"], "invalid window 'soon'"),
])
def test_bad_input_is_exit_2_and_one_line(traffic: Settings, capsys: pytest.CaptureFixture[str], argv: list[str],
                                          message: str) -> None:
    assert main(["monitor", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_a_bad_interval_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["monitor", "--model", "wine", "--every", "0s"])
    assert exit_.value.code == 2 and "invalid interval '0s'" in capsys.readouterr().err
