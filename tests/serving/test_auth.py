"""The API key: every route but health/readiness/docs needs it, and the service refuses bad keys."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.routing import iter_route_contexts

from automlops.config import API_KEY_PLACEHOLDER, REPO_ROOT
from automlops.errors import ConfigError
from automlops.serving.app import create_app
from automlops.serving.routes import PUBLIC_PATHS
from tests.serving.conftest import AUTH, KEY, make_settings


def _routes(app) -> list[tuple[str, str]]:
    """Every (method, path) the app answers, through included routers too."""
    out = []
    for route in iter_route_contexts(app.routes):
        out += [(method, route.path) for method in sorted(route.methods or ()) if method != "HEAD"]
    assert len(out) >= 9
    return out


def test_every_route_but_the_public_ones_needs_the_key(serve) -> None:
    """Generated from ``app.routes``: a future route registered without auth fails here."""
    client = serve("cancer")
    routes = _routes(client.app)
    assert ("POST", "/predict") in routes and ("GET", "/metrics") in routes
    for method, path in routes:
        if path in PUBLIC_PATHS:
            assert client.request(method, path).status_code == 200, path
            continue
        for headers in ({}, {"x-api-key": "wrong"}, {"x-api-key": ""}, {"x-api-key": KEY + "x"}):
            r = client.request(method, path, headers=headers)
            assert r.status_code == 401, (method, path, headers)
            assert r.json()["error"]["code"] == "unauthorized"
        assert client.request(method, path, headers=AUTH).status_code != 401, (method, path)


def _wrong_keys() -> list[bytes]:
    """Wrong keys of every length and every shared prefix, plus non-ASCII ones (sent as UTF-8)."""
    real = KEY.encode()
    keys = [b"z" * n for n in range(1, 2 * len(real) + 2)]  # nothing in common, every length
    keys += [real[:n] for n in range(1, len(real))]  # every proper prefix of the real key
    keys += [real[:n] + b"#" + real[n + 1:] for n in range(len(real))]  # right length, one byte wrong
    keys += [real + b"x", real * 2, real[:-1] + "é".encode(), "é".encode(), "é".encode() * len(real),
             "clé-😀".encode()]
    assert len(set(keys)) == len(keys) and real not in keys
    return keys


def test_the_key_is_compared_in_constant_time(serve, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every wrong key, whatever it shares with the real one, takes the same path: one constant-time
    comparison of two byte strings, and the same 401. A length check, a prefix test or a plain ``==``
    before (or instead of) ``compare_digest`` would answer some guesses faster and fails here."""
    import hmac
    import secrets

    calls: list[tuple[object, object]] = []
    real_compare = hmac.compare_digest

    def spy(a, b):  # type: ignore[no-untyped-def]
        calls.append((a, b))
        return real_compare(a, b)

    monkeypatch.setattr(secrets, "compare_digest", spy)
    monkeypatch.setattr(hmac, "compare_digest", spy)
    client = serve("cancer")
    answers = set()
    for wrong in _wrong_keys():
        calls.clear()
        r = client.get("/model", headers={"x-api-key": wrong})
        assert r.status_code == 401, (wrong, r.status_code, r.text)  # never a 500, even for non-ASCII bytes
        answers.add((r.text, r.headers.get("www-authenticate")))
        assert len(calls) == 1, (wrong, calls)
        sent, expected = calls[0]
        assert type(sent) is bytes and type(expected) is bytes, (wrong, calls)  # str would raise on non-ASCII
        assert expected == KEY.encode() and sent == wrong
    assert len(answers) == 1, answers  # a near miss and a wild guess get the very same answer
    calls.clear()
    assert client.get("/model", headers={"x-api-key": ""}).status_code == 401
    assert calls == []  # an empty header is a missing key: nothing to compare
    assert client.get("/model", headers=AUTH).status_code == 200
    assert calls == [(KEY.encode(), KEY.encode())]


def test_a_non_ascii_key_is_accepted_when_right(serve) -> None:
    key = "clé-secrète-0123456789"
    client = serve("cancer", key=key)
    assert client.get("/model", headers={"x-api-key": key.encode()}).status_code == 200
    for wrong in ("clé".encode(), b"cle-secrete-0123456789", key.encode()[:-1]):
        assert client.get("/model", headers={"x-api-key": wrong}).status_code == 401


@pytest.mark.parametrize("key", [None, "", "   ", API_KEY_PLACEHOLDER])
def test_refuses_to_start_without_a_real_key(tmp_path: Path, key: str | None) -> None:
    with pytest.raises(ConfigError) as info:
        create_app(make_settings(tmp_path, key=key))
    message = str(info.value)
    assert "\n" not in message and "API_KEY" in message


def test_dev_mode_generates_a_key_printed_once_and_never_logged(serve, capsys, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    client = serve("cancer", key=None, api_dev_mode=True)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "API key" in line]
    assert len(lines) == 1
    key = lines[0].split("API key is ")[1].split()[0]
    assert len(key) >= 32
    assert client.get("/model", headers={"x-api-key": key}).status_code == 200
    assert client.get("/model", headers=AUTH).status_code == 401
    assert key not in caplog.text


def test_the_key_never_reaches_the_log(serve, demo_rows, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    client = serve("cancer")
    client.post("/predict", json={"records": demo_rows("cancer", 2)}, headers=AUTH)
    client.get("/model", headers={"x-api-key": "wrong-guess"})
    assert KEY not in caplog.text and "wrong-guess" not in caplog.text


def test_api_module_imports_fast_and_exits_with_one_line_without_a_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("API_KEY", "AUTOMLOPS_DEV")}
    env.update(PYTHONPATH=str(REPO_ROOT), AUTOMLOPS_HOME=str(tmp_path))
    code = "import time, sys; t = time.perf_counter(); import api; print(time.perf_counter() - t); " \
           "print(sorted(m for m in ('pandas', 'sklearn', 'mlflow', 'numpy') if m in sys.modules))"
    started = time.perf_counter()
    ok = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env | {"API_KEY": "k" * 32},
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    seconds, heavy = ok.stdout.splitlines()
    assert float(seconds) < 3.0 and heavy == "[]"
    refused = subprocess.run([sys.executable, "-c", "import api"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1
    assert refused.stderr.strip().count("\n") == 0 and "API_KEY is not set" in refused.stderr
    assert time.perf_counter() - started < 30
