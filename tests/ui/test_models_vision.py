"""AppTest of the Models page for a saved vision model: its plots, "Try an image" instead of a CSV upload."""

from __future__ import annotations

from pathlib import Path

from automlops.mlops.store import ModelStore
from tests.ui.helpers import assert_clean, new_app, open_page, texts


def test_a_vision_model_shows_its_curves_and_answers_an_image(ui_home: Path, empty_db: Path, tmp_path: Path) -> None:
    import shutil

    from automlops.vision.datasets import load_image_dataset
    from automlops.vision.runner import VisionRunner, save_vision_model
    from automlops.vision.samples import write_digits_imagefolder

    shutil.copy(empty_db, ui_home / "mlflow.db")
    data = load_image_dataset(write_digits_imagefolder(tmp_path / "digits", per_class=8, size=32, classes=3))
    runner = VisionRunner("classification", models=["resnet18"], epochs=1, n_trials=1, weights="none",
                          batch_size=4).fit(data)
    save_vision_model(runner.result_, ModelStore(ui_home / "models"), "digits", register=False)
    at = open_page(new_app(), "models")
    assert_clean(at)
    headers = texts(at.subheader)
    assert "Try an image" in headers and "Predict on a CSV" not in headers
    assert len(at.get("plotly_chart")) >= 2  # learning curves + confusion matrix from meta.json
    assert any("weights" in c and "no code" in c for c in texts(at.caption))
