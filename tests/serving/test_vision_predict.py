"""``POST /predict`` with images: a real FastAPI app serving real saved torchvision models.

The models are untrained (random weights, built by the zoo and saved through the model store
exactly as training saves them): what is checked here is the serving contract (shapes, sizes,
limits, errors), not accuracy. ``test_a_trained_model_is_served_end_to_end`` (slow) serves a model
trained by :class:`VisionRunner`.
"""

from __future__ import annotations

import base64
import io
import shutil
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image

from automlops.core.fit import Artifact
from automlops.errors import ModelError
from automlops.mlops.store import ModelStore
from automlops.serving.app import create_app
from automlops.serving.loader import load_served
from automlops.serving.vision import VisionServed
from automlops.vision.zoo import IMAGENET_MEAN, IMAGENET_STD, build_model
from tests.serving.conftest import AUTH, make_settings

MAX_IMAGES, MAX_PIXELS, MAX_BODY = 4, 200_000, 512 * 1024
# name -> (architecture, task, classes, input side)
MODELS = {
    "digits": ("resnet18", "image_classification", ["zero", "one", "two"], 32),
    "shapes": ("deeplabv3_mobilenet_v3_large", "segmentation", ["background", "square", "circle"], 32),
    "boxes": ("fasterrcnn_mobilenet_v3_large_320_fpn", "detection", ["square", "circle"], 64),
}


def vision_meta(architecture: str, task: str, classes: list[str], size: int) -> dict[str, Any]:
    """The meta.json keys a trained vision model has (see the issue-12 contract)."""
    detection = task == "detection"
    return {"architecture": f"vision:{architecture}", "model_name": architecture, "task": task, "classes": classes,
            "architecture_params": {"n_classes": len(classes), "image_size": None,
                                    "detection_size": size if detection else None},
            "input_size": [size, size], "score_threshold": 0.5 if detection else None,
            "normalization": {} if detection else {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}}


@pytest.fixture(scope="module")
def vision_bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model store with one untrained model per vision task, saved as training saves them."""
    root = tmp_path_factory.mktemp("vision-bank") / "models"
    store = ModelStore(root)
    torch.manual_seed(0)
    for name, (architecture, task, classes, size) in MODELS.items():
        model = build_model(architecture, len(classes), detection_size=size if task == "detection" else None)
        store.save(name, Artifact("vision", model, vision_meta(architecture, task, classes, size),
                                  format="torch-state-dict"))
    return root


@pytest.fixture(scope="module")
def clients(vision_bank: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, TestClient]]:
    """One started service per vision model, with small limits so tests can cross them cheaply."""
    started: dict[str, TestClient] = {}
    for name in MODELS:
        home = tmp_path_factory.mktemp(f"home-{name}")
        shutil.copytree(vision_bank / name, home / "models" / name)
        settings = make_settings(home, api_max_images=MAX_IMAGES, api_max_image_pixels=MAX_PIXELS,
                                 api_max_image_body_bytes=MAX_BODY)
        client = TestClient(create_app(settings))
        client.__enter__()
        started[name] = client
    yield started
    for client in started.values():
        client.__exit__(None, None, None)


def image_bytes(width: int, height: int, fmt: str = "PNG", seed: int = 0) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt)
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny, valid-looking PNG whose header declares ``width`` × ``height`` pixels (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def files(*blobs: bytes, field: str = "files") -> list[tuple[str, tuple[str, bytes, str]]]:
    return [(field, (f"img{i}.png", blob, "image/png")) for i, blob in enumerate(blobs)]


def error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()["error"]
    assert body["code"] == code, body
    return body


# ---------------------------------------------------------------------------------------------- answers
def test_classification_answers_one_label_and_probabilities_per_image(clients) -> None:
    client = clients["digits"]
    one = client.post("/predict", files=files(image_bytes(40, 30)), headers=AUTH)
    assert one.status_code == 200, one.text
    body = one.json()
    assert body["model"] == {"name": "digits", "version": 1, "task": "image_classification"}
    assert body["n_images"] == 1 and body["warnings"] == [] and one.headers["x-request-id"] == body["request_id"]
    assert body["classes"] == ["zero", "one", "two"]
    [proba] = body["probabilities"]
    assert list(proba) == body["classes"] and sum(proba.values()) == pytest.approx(1.0, abs=1e-5)
    assert body["predictions"] == [max(proba, key=proba.get)]

    blobs = [image_bytes(40, 30), image_bytes(64, 48, "JPEG", seed=1), image_bytes(20, 90, seed=2)]
    three = client.post("/predict", files=files(*blobs, field="file"), headers=AUTH).json()
    assert three["n_images"] == 3 and len(three["predictions"]) == 3 and len(three["probabilities"]) == 3
    assert three["probabilities"][0] == pytest.approx(proba)  # request order, and the same image answers the same
    for p in three["probabilities"]:
        assert sum(p.values()) == pytest.approx(1.0, abs=1e-5)


def test_base64_json_answers_like_multipart(clients) -> None:
    client = clients["digits"]
    blob = image_bytes(40, 30, "JPEG", seed=3)
    text = base64.b64encode(blob).decode()
    wrapped = "\n".join(text[i:i + 76] for i in range(0, len(text), 76))  # as the base64 command writes it
    sent = {"images": [text, f"data:image/jpeg;base64,{wrapped}"]}
    r = client.post("/predict", json=sent, headers=AUTH)
    assert r.status_code == 200, r.text
    multipart = client.post("/predict", files=files(blob), headers=AUTH).json()
    assert r.json()["probabilities"] == [pytest.approx(multipart["probabilities"][0])] * 2
    note = client.post("/predict", json={"images": [text], "threshold": 0.3}, headers=AUTH).json()
    assert note["warnings"] == ["'threshold' is for detection models; ignored by this image_classification model"]


def test_a_segmentation_mask_is_a_png_of_the_image_size_with_its_pixel_counts(clients) -> None:
    client = clients["shapes"]
    r = client.post("/predict", files=files(image_bytes(50, 37), image_bytes(33, 61, seed=4)), headers=AUTH)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["n_images"] == 2 and body["classes"] == ["background", "square", "circle"]
    for answer, (width, height) in zip(body["masks"], [(50, 37), (33, 61)], strict=True):
        mask = Image.open(io.BytesIO(base64.b64decode(answer["png_base64"])))
        assert mask.format == "PNG" and mask.mode == "L" and mask.size == (width, height)
        assert (answer["width"], answer["height"]) == (width, height)
        values = np.asarray(mask)
        assert values.max() < 3
        counts = np.bincount(values.ravel(), minlength=3)
        assert answer["pixel_counts"] == dict(zip(body["classes"], counts.tolist(), strict=True))
        assert sum(answer["pixel_counts"].values()) == width * height


def test_detection_boxes_respect_the_threshold(clients) -> None:
    client = clients["boxes"]
    blob = image_bytes(80, 60, seed=5)
    everything = client.post("/predict", files=files(blob), data={"threshold": "0"}, headers=AUTH).json()
    assert everything["threshold"] == 0.0 and everything["classes"] == ["square", "circle"]
    [boxes] = everything["detections"]
    assert boxes, "an untrained detector still proposes boxes with low scores"
    for found in boxes:
        x1, y1, x2, y2 = found["box"]
        assert 0 <= x1 <= x2 <= 80 and 0 <= y1 <= y2 <= 60 and found["label"] in ("square", "circle")
    cut = sorted(b["score"] for b in boxes)[len(boxes) // 2]
    kept = client.post("/predict", json={"images": [base64.b64encode(blob).decode()], "threshold": cut},
                       headers=AUTH).json()["detections"][0]
    assert kept and all(b["score"] >= cut for b in kept)
    assert len(kept) == sum(b["score"] >= cut for b in boxes)
    default = client.post("/predict", files=files(blob), headers=AUTH).json()
    assert default["threshold"] == 0.5  # the model's score_threshold
    assert all(b["score"] >= 0.5 for b in default["detections"][0])


# ---------------------------------------------------------------------------------------------- refusals
def test_the_key_is_required(clients) -> None:
    r = clients["digits"].post("/predict", files=files(image_bytes(8, 8)))
    error(r, 401, "unauthorized")


def test_too_many_images_or_pixels_or_bytes_is_413(clients) -> None:
    client = clients["digits"]
    small = image_bytes(8, 8)
    body = error(client.post("/predict", files=files(*[small] * (MAX_IMAGES + 1)), headers=AUTH), 413,
                 "too_many_images")
    assert "API_MAX_IMAGES" in body["message"]
    text = base64.b64encode(small).decode()
    error(client.post("/predict", json={"images": [text] * (MAX_IMAGES + 1)}, headers=AUTH), 413, "too_many_images")
    flat = io.BytesIO()
    Image.new("RGB", (600, 400), (90, 20, 200)).save(flat, format="PNG")  # one colour: a few KB
    big = error(client.post("/predict", files=files(small, flat.getvalue()), headers=AUTH), 413,
                "image_too_large")
    assert "files[1] (img1.png) is 600 × 400 pixels" in big["message"] and "API_MAX_IMAGE_PIXELS" in big["message"]
    bomb = error(client.post("/predict", files=files(png_claiming(100_000, 100_000)), headers=AUTH), 413,
                 "image_too_large")
    assert bomb["fields"][0]["field"] == "files[0] (img0.png)"
    heavy = error(client.post("/predict", files=files(b"\0" * (MAX_BODY + 1)), headers=AUTH), 413,
                  "payload_too_large")
    assert "API_MAX_IMAGE_BODY_BYTES" in heavy["message"]


def test_what_is_not_an_image_is_422_naming_the_part(clients) -> None:
    client = clients["digits"]
    text = error(client.post("/predict", files=[("files", ("notes.txt", b"hello, not an image", "text/plain"))],
                             headers=AUTH), 422, "not_an_image")
    assert text["fields"][0]["field"] == "files[0] (notes.txt)"
    whole = image_bytes(120, 90)
    truncated = error(client.post("/predict", files=files(image_bytes(8, 8), whole[: len(whole) // 2]),
                                  headers=AUTH), 422, "not_an_image")
    assert truncated["message"].startswith("files[1] (img1.png) could not be decoded")
    as_json = {"images": [base64.b64encode(b"GIF89a? no").decode(), "not base64 at all!"]}
    error(client.post("/predict", json=as_json, headers=AUTH), 422, "not_an_image")
    bad64 = error(client.post("/predict", json={"images": ["not base64 at all!"]}, headers=AUTH), 422, "not_an_image")
    assert bad64["fields"][0]["field"] == "images[0]"
    error(client.post("/predict", json={"images": []}, headers=AUTH), 422, "invalid_request")
    error(client.post("/predict", files=files(image_bytes(8, 8)), data={"threshold": "high"}, headers=AUTH),
          422, "invalid_request")


def test_rows_to_a_vision_model_and_images_to_a_table_model_are_422(clients, serve) -> None:
    rows = error(clients["digits"].post("/predict", json={"records": [{"a": 1}]}, headers=AUTH), 422,
                 "images_required")
    assert "multipart/form-data" in rows["message"]
    wrong_type = error(clients["digits"].post("/predict", content=b"x", headers={**AUTH, "content-type": "text/plain"}),
                       415, "unsupported_media_type")
    assert "images" in wrong_type["message"]
    table = serve("penguins")
    text = base64.b64encode(image_bytes(8, 8)).decode()
    for r in (table.post("/predict", json={"images": [text]}, headers=AUTH),
              table.post("/predict", files=files(image_bytes(8, 8)), headers=AUTH)):
        body = error(r, 422, "images_not_supported")
        assert "penguins v1 is a classification model" in body["message"] and "not images" in body["message"]


# ---------------------------------------------------------------------------------------------- model, docs, log
def test_model_info_and_the_openapi_document_describe_image_input(clients) -> None:
    client = clients["boxes"]
    info = client.get("/model", headers=AUTH).json()
    assert info["task"] == "detection" and info["input_columns"] == [] and info["classes"] == ["square", "circle"]
    assert info["image_input"]["input_size"] == [64, 64] and info["image_input"]["score_threshold"] == 0.5
    doc = client.get("/openapi.json").json()
    content = doc["paths"]["/predict"]["post"]["requestBody"]["content"]
    multipart = content["multipart/form-data"]["schema"]
    assert multipart["properties"]["files"]["maxItems"] == MAX_IMAGES and "threshold" in multipart["properties"]
    images = content["application/json"]
    jsonschema.Draft202012Validator(images["schema"]).validate(images["example"])
    assert client.post("/predict", json=images["example"], headers=AUTH).status_code == 200  # "Try it out" works
    assert "threshold" not in clients["digits"].get("/openapi.json").json()["paths"]["/predict"]["post"][
        "requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]


def test_classification_requests_are_logged_for_feedback_and_counted(clients) -> None:
    client = clients["digits"]
    r = client.post("/predict", files=files(image_bytes(40, 30), image_bytes(8, 8)), headers=AUTH).json()
    feedback = client.post("/feedback", json={"feedback": [{"request_id": r["request_id"], "row": 1, "label": "one"}]},
                           headers=AUTH)
    assert feedback.status_code == 200, feedback.text  # the request id is in the prediction log
    metrics = client.get("/metrics", headers=AUTH).text
    assert 'model="digits"' in metrics


def test_only_a_torch_module_with_an_image_task_is_served(tmp_path: Path, vision_bank: Path) -> None:
    served = load_served(ModelStore(vision_bank), "digits", 1)
    assert isinstance(served, VisionServed) and served.kind == "vision" and served.schema.columns == ()
    with pytest.raises(ModelError, match="predicts images, not rows"):
        served.predict_records([{"a": 1}])
    store = ModelStore(tmp_path / "models")
    meta = vision_meta(*MODELS["digits"])
    store.save("odd", Artifact("vision", {"weights": [1, 2]}, meta, format="joblib"))
    with pytest.raises(ModelError, match="not a torch module"):
        load_served(store, "odd", 1)


@pytest.mark.slow
def test_a_trained_model_is_served_end_to_end(tmp_path: Path) -> None:
    """VisionRunner → save_vision_model → the API: the served answer is the engine's own (~20 s)."""
    from automlops.vision.datasets import load_image_dataset
    from automlops.vision.runner import VisionRunner, save_vision_model
    from automlops.vision.samples import write_digits_imagefolder

    data = load_image_dataset(write_digits_imagefolder(tmp_path / "digits", per_class=6, size=32, classes=3))
    runner = VisionRunner("image_classification", models=["resnet18"], epochs=1, n_trials=1, device="cpu",
                          weights="none", image_size=32, batch_size=8).fit(data)
    home = tmp_path / "home"
    save_vision_model(runner.result_, ModelStore(home / "models"), "digits", register=False)
    sample = tmp_path / "digits" / "2" / "0000.png"
    expected = runner.predict([Image.open(sample).convert("RGB")])[0]
    with TestClient(create_app(make_settings(home))) as client:
        r = client.post("/predict", files=files(sample.read_bytes()), headers=AUTH)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["model"]["task"] == "image_classification" and body["classes"] == ["0", "1", "2"]
        assert body["predictions"] == [expected["prediction"]]
        assert body["probabilities"][0] == pytest.approx(expected["probabilities"], abs=1e-5)
        assert client.get("/model", headers=AUTH).json()["image_input"]["model_name"] == "resnet18"
