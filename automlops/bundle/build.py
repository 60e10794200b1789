"""Writing a bundle: resolve the version, verify it, write every file into a temp folder, check, rename.

The order matters. The model store verifies the version (signature, SHA-256, allow-list) and loads
it *before* anything is written; what cannot be served by a bundle (a vision or forecasting model)
is refused before its file is read. The files go into a hidden temp folder beside ``out``; then the
bundle is **checked the way it will run**: a fresh Python, started inside the temp folder with no
``PYTHONPATH``, imports the bundle's ``app.py`` (which loads the model through the vendored code)
and predicts a few probe rows, which must equal the studio's own answer for the same rows - and no
module of the installed studio may have been imported on the way. Only then is the temp folder
renamed to ``out``: a bundle that exists is complete and was seen to work.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from automlops.bundle import templates
from automlops.bundle.requirements import pinned_requirements
from automlops.bundle.vendor import referenced_libraries, skops_trusted_types, studio_globals, write_vendored
from automlops.errors import ConfigError, IntegrityError, ModelError, NotFoundError

__all__ = ["ANSWERS", "BUNDLABLE", "BundleResult", "build_bundle", "check_bundle", "resolve_ref"]

BUNDLABLE = {"tabular": ("classification", "regression"), "clustering": ("clustering",),
             "anomaly": ("anomaly",)}  # kind -> tasks
# kind -> the studio function that turns the model's output into the API's answer (vendored with the model)
ANSWERS = {"anomaly": ("automlops.anomaly.predict", "predict_table")}
_FORMAT_LIBRARY = {"skops": "skops", "joblib": "joblib"}
_STAGES = ("staging", "production")
CHECK_TIMEOUT = 180.0
_CHECK = """
import json, os, sys
os.environ["API_KEY"] = sys.argv[3]  # app.py refuses to start without one; this one serves nothing
sys.path.insert(0, ".")
import app as service
served = service.app.state.served
answer = served.answer({"records": json.load(open(sys.argv[1], encoding="utf-8"))})
root = sys.argv[2]
leaked = sorted(n for n, m in list(sys.modules.items()) if (getattr(m, "__file__", None) or "").startswith(root))
print(json.dumps({"answer": answer, "leaked": leaked}))
"""


@dataclass(frozen=True)
class BundleResult:
    """What ``build_bundle`` wrote (``files`` relative to ``out``) and what its check measured."""

    name: str
    version: int
    kind: str
    task: str
    out: Path
    files: list[str]
    requirements: list[str]
    vendored: list[str]
    stage: str | None = None
    seconds: float = 0.0
    check: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {"model": self.name, "version": self.version, "kind": self.kind, "task": self.task,
                "stage": self.stage, "out": str(self.out), "files": self.files, "requirements": self.requirements,
                "vendored": self.vendored, "check": self.check, "seconds": round(self.seconds, 3)}


def resolve_ref(ref: str, store: Any, settings: Any = None) -> tuple[str, int, str | None]:
    """``NAME``, ``NAME@vN``, ``NAME@latest``, ``NAME@production``/``@staging`` → (name, version, stage)."""
    name, _, spec = ref.partition("@")
    stage = spec.strip().lower()
    if stage in _STAGES:
        from automlops.mlops.registry import ModelRegistry

        store.resolve(name)  # an unknown name: the store's message, before asking the registry
        version = ModelRegistry(settings=settings).version_at(name, stage)
        if version is None:
            raise NotFoundError(f"no version of {name!r} holds the {stage} stage (see automlops models list; "
                                f"promote one with automlops models promote {name}@vN --to {stage})")
        return name, int(version), stage
    name, version = store.resolve(name, spec or None)
    return name, version, None


def _refuse_kind(meta: dict[str, Any], ref: str) -> tuple[str, str]:
    kind = str(meta.get("kind") or "tabular")
    task = str(meta.get("task") or (BUNDLABLE.get(kind, ("",))[0]))
    if kind not in BUNDLABLE or task not in BUNDLABLE[kind]:
        supported = ", ".join(f"{k} ({', '.join(t)})" for k, t in BUNDLABLE.items())
        raise ConfigError(f"{ref} cannot be bundled: it is a model of kind {kind} (task {task}), and a bundle serves "
                          f"{supported} models only; serve it with `automlops serve` instead")
    return kind, task


def _check_out(out: Path) -> None:
    if out.exists() and (not out.is_dir() or out.is_symlink() or any(out.iterdir())):
        raise ConfigError(f"{out} already exists and is not an empty folder; choose a new --out (nothing was written)")
    if not out.parent.is_dir():
        raise ConfigError(f"cannot write {out}: the folder {out.parent} does not exist")


def _copy_verified(loaded: Any, folder: Path) -> tuple[bytes, bytes]:
    """The model file and meta.json of the loaded version, refused unless they are what the store verified."""
    meta = loaded.meta
    data = (loaded.path / str(meta["model_file"])).read_bytes()
    raw_meta = (loaded.path / "meta.json").read_bytes()
    if hashlib.sha256(data).hexdigest() != meta["model_sha256"] or json.loads(raw_meta) != json.loads(
            json.dumps(meta)):
        raise IntegrityError(f"{loaded.name}@v{loaded.version} changed on disk while it was being bundled; "
                             "nothing was written")
    (folder / "model").mkdir()
    (folder / "model" / str(meta["model_file"])).write_bytes(data)
    (folder / "model" / "meta.json").write_bytes(raw_meta)
    return data, raw_meta


def _probe_rows(loaded: Any) -> list[dict[str, Any]]:
    """Rows that exercise every column (typical, missing, an unseen category), as the API's own checks use.

    Only the rows the studio itself can answer: a model that refuses what it never saw (an uploaded
    pipeline whose plain ``OneHotEncoder`` raises on an unknown category, or that cannot take a
    missing value) refuses such a probe row in the studio as in the bundle, which says nothing about
    the bundle. A model that answers none of them cannot be checked, and is refused.
    """
    from automlops.serving.fastpath import probe_rows
    from automlops.serving.validation import FeatureSchema

    kept, refused = [], ""
    for row in probe_rows(FeatureSchema.from_meta(loaded.meta)):
        try:
            _studio_answer(loaded, [row])
        except Exception as exc:  # noqa: BLE001 - the model's own refusal, whatever its library raises
            refused = refused or f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            continue
        kept.append(row)
    if not kept:
        raise ModelError(f"the studio itself cannot predict a probe row with {loaded.name} v{loaded.version} "
                         f"({refused}), so its bundle cannot be checked; nothing was written")
    return kept


def _studio_answer(loaded: Any, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """What the studio's API answers for ``rows`` (its own ServedModel, the pipeline's plain path)."""
    from automlops.serving.predictors import build_served
    from automlops.serving.validation import prepare_rows

    served = build_served(dict(loaded.meta), loaded.name, loaded.version, loaded.model)
    return served.answer(prepare_rows({"records": rows}, served.schema))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return bool(a == b)


def check_bundle(folder: Path, loaded: Any, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Run the bundle's service code in a fresh Python inside ``folder``; ModelError unless it answers as the studio."""
    import automlops

    expected = _studio_answer(loaded, rows)
    with tempfile.TemporaryDirectory() as scratch:
        rows_file = Path(scratch) / "rows.json"
        rows_file.write_text(json.dumps(rows), encoding="utf-8")
        started = time.perf_counter()
        try:
            done = subprocess.run([sys.executable, "-E", "-c", _CHECK, str(rows_file),  # -E: no PYTHONPATH
                                   str(Path(automlops.__file__).parent), secrets.token_urlsafe(24)],
                                  cwd=folder, capture_output=True, text=True, timeout=CHECK_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            raise ModelError(f"the bundle's service did not load its model within {CHECK_TIMEOUT:g} s; nothing was "
                             "written") from None
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise ModelError(f"the bundle's service could not load and use its model in a fresh Python: {last}; "
                         "nothing was written")
    got = json.loads(done.stdout.strip().splitlines()[-1])
    if got["leaked"]:
        raise ModelError(f"the bundle imported studio code it does not carry ({', '.join(got['leaked'][:5])}); "
                         "nothing was written")
    answer = {k: v for k, v in got["answer"].items() if k not in ("n_rows", "warnings")}
    if not _same(answer, json.loads(json.dumps(expected))):  # compared as JSON, the form both answer in
        raise ModelError("the bundle's service answers the probe rows differently from the studio; nothing was written")
    return {"rows": len(rows), "same_as_studio": True, "seconds": round(seconds, 3)}


def _write_text_files(tmp: Path, loaded: Any, kind: str, task: str, requirements: list[str]) -> None:
    from automlops.serving.validation import FeatureSchema

    meta = loaded.meta
    ref = f"{loaded.name}@v{loaded.version}"
    image = f"{loaded.name.lower().replace('_', '-')}-v{loaded.version}"
    python = ".".join(platform.python_version_tuple()[:2])
    apt = ("RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 && rm -rf /var/lib/apt/lists/*"
           if any(r.lower().startswith("lightgbm==") for r in requirements) else "")
    example = json.dumps({"records": [FeatureSchema.from_meta(meta).example_row()]})
    (tmp / "app.py").write_text(templates.APP, encoding="utf-8")
    (tmp / "requirements.txt").write_text("\n".join(requirements) + "\n", encoding="utf-8")
    (tmp / "Dockerfile").write_text(templates.DOCKERFILE.substitute(
        ref=ref, image=image, python=python, system_packages=apt).replace("\n\n\n", "\n\n"), encoding="utf-8")
    (tmp / ".dockerignore").write_text(templates.DOCKERIGNORE, encoding="utf-8")
    best = f", {meta['best_model']}" if meta.get("best_model") else ""
    (tmp / "README.md").write_text(templates.README.substitute(
        ref=ref, built=datetime.now(UTC).strftime("%Y-%m-%d %H:%M"), kind=kind, task=task, best=best,
        sha256=meta["model_sha256"], image=image, python=python, example=example.replace("'", "'\\''"),
        columns=", ".join(f"`{c}`" for c in meta.get("input_columns") or []), model_file=meta["model_file"]),
        encoding="utf-8")


def build_bundle(ref: str, out: str | Path, *, settings: Any = None, check: bool = True) -> BundleResult:
    """Write the deploy bundle of a saved model (``NAME[@vN|@production|@staging]``) to ``out``.

    Raises NotFoundError (unknown name, version or stage holder), IntegrityError (a version that
    fails verification), ConfigError (a kind a bundle cannot serve, an ``out`` that is not new),
    ModelError (the bundle did not answer as the studio does). Nothing is left behind on failure.
    """
    from automlops.mlops.store import ModelStore
    from automlops.tasks import load_saved_model

    started = time.perf_counter()
    out = Path(out).absolute()
    _check_out(out)
    store = ModelStore(settings=settings)
    name, version, stage = resolve_ref(ref, store, settings)
    listed = next(v for v in store.versions(name) if v.version == version)
    _refuse_kind(listed.meta, f"{name}@v{version}")  # before the file is read (a vision model is not loaded)
    loaded = load_saved_model(f"{name}@v{version}", settings=settings)  # signature, SHA-256, allow-list
    kind, task = _refuse_kind(loaded.meta, f"{name}@v{version}")
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-bundle-", dir=out.parent))
    try:
        requirements, vendored, result = _fill(tmp, loaded, kind, task, stage, check)
        _move_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    return BundleResult(name, version, kind, task, out, files, requirements, vendored, stage,
                        time.perf_counter() - started, result)


def _fill(tmp: Path, loaded: Any, kind: str, task: str, stage: str | None,
          check: bool) -> tuple[list[str], list[str], dict[str, Any]]:
    """Write the bundle into the empty folder ``tmp`` (model file, vendored studio code, requirements,
    texts, ``bundle.json``) and, with ``check``, run it against the studio's own answers.
    Returns the pinned requirements, the vendored modules and the check's result."""
    from automlops import __version__

    name, version = loaded.meta["name"], loaded.meta["version"]
    data, _ = _copy_verified(loaded, tmp)
    trusted = skops_trusted_types(data) if loaded.meta.get("model_format") == "skops" else []
    needed = studio_globals(loaded.model, trusted)
    answer = ANSWERS.get(kind)
    if answer is not None and answer[1] not in needed.get(answer[0], []):
        needed.setdefault(answer[0], []).append(answer[1])
    skops = loaded.meta.get("model_format") == "skops"
    vendored, vendored_libs = write_vendored(tmp, needed, __version__, skops=skops)
    fmt = _FORMAT_LIBRARY.get(str(loaded.meta.get("model_format")))
    if fmt is None:
        raise ConfigError(f"{name}@v{version} is stored as {loaded.meta.get('model_format')}; a bundle ships "
                          "skops or joblib model files")
    requirements = pinned_requirements(referenced_libraries(loaded.model) | vendored_libs | {fmt})
    _write_text_files(tmp, loaded, kind, task, requirements)
    manifest: dict[str, Any] = {
        "model": name, "version": version, "stage": stage, "kind": kind, "task": task,
        "model_file": f"model/{loaded.meta['model_file']}", "model_sha256": loaded.meta["model_sha256"],
        "model_format": loaded.meta.get("model_format"), "trusted_types": trusted,
        "answer": ":".join(answer) if answer else None, "vendored": vendored,
        "requirements": requirements, "studio_version": __version__, "python": platform.python_version(),
        "built": datetime.now(UTC).isoformat(timespec="seconds")}
    (tmp / "bundle.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    result = check_bundle(tmp, loaded, _probe_rows(loaded)) if check else {}
    if result:
        manifest["check"] = result
        (tmp / "bundle.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    for cache in tmp.rglob("__pycache__"):  # the check's byte-code: not part of the bundle
        shutil.rmtree(cache, ignore_errors=True)
    return requirements, vendored, result


def _move_into_place(tmp: Path, out: Path) -> None:
    """Rename the finished folder to ``out`` (one step: a bundle is there whole or not at all)."""
    os.chmod(tmp, 0o755)  # mkdtemp made it private; a build context is meant to be read
    if out.exists():
        out.rmdir()  # empty (checked above): the rename needs the name free
    os.rename(tmp, out)
