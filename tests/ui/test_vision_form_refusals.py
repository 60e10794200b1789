"""The Vision page's training form says what the engine would refuse before a job starts.

Before, an image size of 8 or a batch size of 1 started a background job (a worker process) that
failed seconds later with "Training failed: image size must be between 16 and 1024 pixels"; now
the form says it under the fields and *Train* stays disabled.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from automlops.mlops.image_lake import ImageLake
from automlops.ui import jobs
from automlops.vision.samples import write_digits_imagefolder, zip_folder
from tests.ui.helpers import assert_clean, new_app, texts


@pytest.mark.parametrize(("field", "value", "message"), [
    ("vision_size", 8, "Image size 8 is too small"),
    ("vision_batch", 1, "Batch size 1 cannot train"),
])
def test_a_size_the_engine_refuses_is_said_before_any_job(ui_home: Path, tmp_path: Path, field: str, value: int,
                                                         message: str) -> None:
    import automlops.vision.datasets  # noqa: F401 - registers the lake's image reader

    archive = zip_folder(write_digits_imagefolder(tmp_path / "digits", per_class=4, size=32, classes=2),
                         tmp_path / "digits.zip")
    ImageLake().add_archive("digits", archive)
    at = new_app()
    at.run()
    at.switch_page("automlops/ui/pages/vision.py")
    at.run()
    at.number_input(key=field).set_value(value).run()
    assert_clean(at)
    assert any(message in t for t in texts(at.error)), texts(at.error)
    assert at.button(key="vision_start").disabled  # AppTest, like a browser, cannot press it
    assert jobs.recent_jobs() == []
