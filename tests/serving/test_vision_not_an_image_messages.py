"""What ``POST /predict`` of a vision model says about a part that is not a usable image.

The 422 stays ``not_an_image`` naming the part; its message must be for the client, not the
server's internals: before, a text file answered "cannot identify image file <_io.BytesIO object
at 0x7f4e97f34d60>", an empty part the same, an ICO file "could not be decoded: the image is not
an image (...)", and a truncated PNG "could not be decoded: the image could not be decoded".
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image

from automlops.core.fit import Artifact
from automlops.mlops.store import ModelStore
from automlops.serving.app import create_app
from automlops.vision.zoo import IMAGENET_MEAN, IMAGENET_STD, build_model
from tests.serving.conftest import AUTH, make_settings

META = {"architecture": "vision:mobilenet_v2", "model_name": "mobilenet_v2", "task": "image_classification",
        "classes": ["a", "b"], "architecture_params": {"n_classes": 2, "image_size": None, "detection_size": None},
        "input_size": [32, 32], "score_threshold": None,
        "normalization": {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}}


def encoded(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    home = tmp_path_factory.mktemp("home")
    torch.manual_seed(0)
    bank = tmp_path_factory.mktemp("bank")
    ModelStore(bank).save("digits", Artifact("vision", build_model("mobilenet_v2", 2), META,
                                             format="torch-state-dict"))
    shutil.copytree(bank / "digits", home / "models" / "digits")
    with TestClient(create_app(make_settings(home))) as started:
        yield started


@pytest.mark.parametrize(("data", "expected"), [
    (b"name,age\nada,36\n", "files[0] (part.png) is not an image Pillow can read"),
    (b"", "files[0] (part.png) is empty"),
    (encoded("ICO"), "files[0] (part.png) is not an image (its first bytes"),
    (encoded("PNG")[:200], "files[0] (part.png) could not be decoded (OSError: image file is truncated)"),
])
def test_a_part_that_is_not_an_image_is_named_in_plain_words(client: TestClient, data: bytes, expected: str) -> None:
    response = client.post("/predict", files=[("files", ("part.png", data, "image/png"))], headers=AUTH)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "not_an_image" and error["fields"][0]["field"] == "files[0] (part.png)"
    message = error["message"]
    assert message.startswith(expected), message
    assert "BytesIO" not in message and " 0x" not in message and "the image" not in message
