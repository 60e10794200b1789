"""Deploy bundles: a saved model as a self-contained build context for its own prediction service.

``build_bundle("churn@production", "churn-bundle")`` writes a folder holding the verified model file
and its ``meta.json`` (byte for byte), a small FastAPI service (``app.py``) with the studio API's
contract (``/``, ``/ready``, ``/predict``, ``/model``, ``x-api-key``), only the studio code the model
file refers to (:mod:`automlops.bundle.vendor` explains why and how), a ``requirements.txt`` of what
it imports, pinned, a ``Dockerfile`` and a README. ``docker build`` + ``docker run`` serve it
anywhere; so does ``python -m uvicorn app:app`` from inside the folder, with no studio installed.

Before the folder appears, the bundle is run once the way it will run (a fresh Python inside it)
and must answer probe rows exactly as the studio does (:mod:`automlops.bundle.build`).

Kinds: tabular classification and regression (labels, class probabilities, numbers), clustering
(each row's cluster) and anomaly detection (a 0/1 flag, the score and the threshold: the studio's
answer function travels with the model). Forecasting (asked for a horizon, not rows) and vision
(asked with images) are refused with a message naming the kind: ``automlops serve`` serves them.
"""

from __future__ import annotations

from automlops.bundle.archive import bundle_zip
from automlops.bundle.build import ANSWERS, BUNDLABLE, BundleResult, build_bundle, resolve_ref

__all__ = ["ANSWERS", "BUNDLABLE", "BundleResult", "build_bundle", "bundle_zip", "resolve_ref"]
