"""``automlops predict`` and ``automlops forecast``: a saved model's answers, as CSV.

Any kind of model answers through the same command: a tabular model with its ``prediction`` (and
``proba_<class>`` columns), the others with what their kind answers (:mod:`automlops.tasks`).
Bad data is a :class:`~automlops.errors.DataError` (exit code 2 and one line, not a crash), and
``--out`` is written to a temp file and renamed into place.

A **vision** model takes images instead of a CSV: one image file, a folder (searched
recursively; files without an image extension are skipped, and counted on stderr) or a ``.zip``
(unpacked by :func:`automlops.vision.archive.safe_extract` into a temporary folder, with the
same checks as an upload to the lake)::

    automlops predict --model digits photo.png                  # CSV on stdout
    automlops predict --model digits photos/ --out preds.csv    # file, prediction, proba_<class>
    automlops predict --model shapes scans.zip --out seg.csv    # + seg_masks/<image>_mask.png
    automlops predict --model boxes street.jpg --out det.csv    # + det_boxes/<image>_boxes.json

Classification answers ``file``, ``prediction`` and one ``proba_<class>`` column per class.
Segmentation writes one mask per image (a PNG of class indices, at the image's size) and
detection one JSON list of boxes per image, into a folder beside ``--out`` named after it; the
CSV gives their paths relative to the CSV's folder (and per-class pixel counts, or the box count).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from automlops.errors import ConfigError, DataError
from automlops.tasks import answer_table, model_kind

__all__ = ["IMAGE_SUFFIXES", "cmd_forecast", "cmd_predict", "gather_images"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
_FILES_DIR = {"segmentation": "masks", "detection": "boxes"}  # <out stem>_<this>/ beside --out
# Kinds asked with rows of their training columns: checked as the API checks a request's rows, with its
# warnings (a forecaster is asked with future timestamps, which it checks itself)
ROWS_CHECKED = ("tabular", "clustering", "anomaly")


def cmd_predict(args: argparse.Namespace) -> int:
    """Write one ``prediction`` column (and ``proba_<class>`` columns with ``--proba``) as CSV.

    A tabular, clustering or anomaly model's rows are checked as the API checks a request's
    (:func:`_checked_rows`): bad data (a missing column, text in a numeric column, a date that does
    not parse...) is a :class:`DataError` naming the column, exit code 2 and one line, not a crash;
    the API's warnings (an unseen category, a filled-in missing value...) go to stderr as
    ``warning: ...`` lines.
    """
    from automlops.config import get_settings
    from automlops.mlops.store import ModelStore, parse_model_ref
    from automlops.tabular.predict import predict_frame

    settings = get_settings()
    _check_out(args.out, args.csv)
    name, version = parse_model_ref(args.model)
    store = ModelStore(settings=settings)
    meta = _stored_meta(store, name, version)
    if model_kind(meta) == "vision":
        return _predict_images(args, store, name, version, meta)
    loaded = store.load(name, version)
    source = Path(args.csv)
    if source.is_dir() or source.suffix.lower() in (*IMAGE_SUFFIXES, ".zip"):
        raise DataError(f"{loaded.name}@v{loaded.version} is a {loaded.meta.get('task', 'tabular')} model: it "
                        f"predicts the rows of a CSV file, not images ({args.csv})")
    if not source.is_file():
        raise DataError(f"no such file: {args.csv}")
    if args.proba and (loaded.meta.get("task") != "classification" or not hasattr(loaded.model, "predict_proba")):
        raise ConfigError("--proba needs a classification model with probabilities")
    frame = _read_rows(Path(args.csv), settings.max_upload_bytes, loaded.meta)
    warnings: list[str] = []
    if model_kind(loaded.meta) in ROWS_CHECKED:
        frame, warnings = _checked_rows(loaded.meta, frame)
    if model_kind(loaded.meta) == "tabular":
        answered = predict_frame(loaded.model, loaded.meta, frame, proba=args.proba)
        classes = list(loaded.model.classes_) if args.proba else []
        out = answered[["prediction", *(f"proba_{cls}" for cls in classes)]]  # the answers, not the inputs
    else:  # clusters, anomaly scores + flags, or forecasts for the rows' future timestamps
        out = answer_table(loaded.model, loaded.meta, frame)
    if model_kind(loaded.meta) == "forecasting":  # times as the model's steps call for, as the API writes them
        from automlops.forecasting.predict import written_times

        out = written_times(loaded.model, out)
    for warning in warnings:  # after the answers: a refusal stays one line
        print(f"warning: {warning}", file=sys.stderr)
    _write_answers(args, out, f"{len(out)} prediction{'' if len(out) == 1 else 's'} of {loaded.name}@v{loaded.version}")
    return 0


def _read_rows(path: Path, max_bytes: int, meta: dict[str, Any]) -> Any:
    """The CSV's rows. The model's date columns keep their text as written (:data:`_AS_WRITTEN`), so that
    they are read as training read them (day-first dates, times with UTC offsets) rather than as the CSV
    reader guessed from these rows alone (a lone ``09/11/2001`` reads month first)."""
    from automlops.mlops.ingest import read_csv_robust

    result = read_csv_robust(path, max_bytes=max_bytes, min_columns=1)
    frame = result.frame
    wanted = {c for c in _AS_WRITTEN.get(model_kind(meta), lambda _: [])(meta)
              if c in frame.columns and frame[c].dtype != object}
    if not wanted:
        return frame
    import pandas as pd

    try:
        raw = pd.read_csv(path, sep=result.delimiter, encoding=result.encoding, dtype=str,
                          usecols=lambda c: str(c).strip() in wanted)
    except (ValueError, UnicodeError, pd.errors.ParserError):
        return frame
    if len(raw) == len(frame) and len(raw.columns) == len(wanted):
        for column in raw.columns:
            frame[str(column).strip()] = raw[column].str.strip().to_numpy()
    return frame


def _date_features(meta: dict[str, Any]) -> list[str]:
    """A tabular model's date columns that recorded the day/month order of its training dates (a model
    saved without it is given the dates as the CSV reader parsed them, as before)."""
    from automlops.core.features import DATETIME

    features = (meta.get("feature_schema") or {}).get("features") or []
    return [str(f.get("name")) for f in features
            if isinstance(f, dict) and f.get("kind") == DATETIME and isinstance(f.get("dayfirst"), bool)]


# model kind -> the columns read from their text as written (see _read_rows)
_AS_WRITTEN: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "forecasting": lambda meta: [str(meta.get("time_column") or "")],  # forecasting.data.parse_times
    "tabular": _date_features,  # serving.validation._dates
}


def _checked_rows(meta: dict[str, Any], frame: Any) -> tuple[Any, list[str]]:
    """The model's columns of ``frame``, checked and converted as the API checks a request's rows
    (:func:`automlops.serving.validation.prepare_frame`), and the API's warnings about them.

    A model saved without a usable feature schema, or rows without all its columns, go to the model
    as they are (:func:`~automlops.tabular.predict.predict_frame` says which columns are missing).
    """
    import pandas as pd

    from automlops.errors import ModelError
    from automlops.serving.validation import FeatureSchema, RowsError, prepare_frame

    try:
        schema = FeatureSchema.from_meta(meta)
    except ModelError:
        return frame, []
    if not set(schema.columns) <= set(frame.columns):
        return frame, []
    try:
        prepared = prepare_frame(frame, schema)
    except RowsError as exc:
        raise DataError(_rows_message(exc, frame)) from None
    return pd.DataFrame(prepared.columns, columns=list(schema.columns)), prepared.warnings


def _rows_message(exc: Any, frame: Any, shown: int = 3) -> str:
    """One line for a :class:`~automlops.serving.validation.RowsError`: its first problems, each with its
    column, its data row (1 = the first row after the header) and the value."""
    parts = []
    for problem in exc.fields[:shown]:
        where = f"column '{problem.field}'"
        if problem.row is not None and problem.field in frame.columns:
            value = repr(frame[problem.field].iloc[problem.row])
            where += f", data row {problem.row + 1}" + ("" if value in problem.message else f" ({value})")
        parts.append(f"{where}: {problem.message}")
    more = f" (and {len(exc.fields) - shown} more)" if len(exc.fields) > shown else ""
    return f"the model could not predict on this table: {exc}: {'; '.join(parts)}{more}"


def _check_out(out: str | None, *inputs: str | None) -> None:
    """``--out`` names the CSV file to write, checked before any work: a folder, an input file or a path
    in the lake or the model store is refused (exit 2; :mod:`automlops.mlops.output_paths`)."""
    if out:
        from automlops.mlops.output_paths import check_output_path

        check_output_path(out, inputs=[i for i in inputs if i])


def _stored_meta(store: Any, name: str, version: int | None) -> dict[str, Any]:
    """A version's ``meta.json``, read before its file (a vision model needs its engine; {} if unreadable)."""
    name, number = store.resolve(name, version)
    return next((v.meta for v in store.versions(name) if v.version == number), {})


def gather_images(source: Path, scratch: Path) -> tuple[list[Path], list[str], int]:
    """The image files of ``source`` (a file, a folder, or a zip unpacked under ``scratch``).

    Returns the paths, the names to show for them (relative to the folder or the archive), and
    how many files were skipped for not having an image extension. DataError when there are none.
    """
    if not source.exists():
        raise DataError(f"no such file or folder: {source}")
    if source.is_file() and not _is_zip(source):
        return [source], [str(source)], 0
    root = source
    if source.is_file():
        from automlops.vision.archive import safe_extract

        root = scratch / "images"
        safe_extract(source, root)  # path escapes, links, zip bombs and fake images are refused here
    found = sorted((p for p in root.rglob("*") if p.is_file() and not _hidden(p.relative_to(root))),
                   key=lambda p: p.relative_to(root).as_posix())
    images = [p for p in found if p.suffix.lower() in IMAGE_SUFFIXES]
    if not images:
        raise DataError(f"no images in {source} (looked for {', '.join(IMAGE_SUFFIXES)} files"
                        f"{', in sub-folders too' if found else ''}; it holds {len(found)} other file(s))")
    return images, [p.relative_to(root).as_posix() for p in images], len(found) - len(images)


def _is_zip(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) == b"PK\x03\x04" or path.suffix.lower() == ".zip"


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in relative.parts)


def _predict_images(args: argparse.Namespace, store: Any, name: str, version: int | None, meta: dict[str, Any]
                    ) -> int:
    """A vision model's answers for an image, a folder or a zip (see the module docstring).

    The arguments and the images are checked before the model is loaded (seconds for a big network).
    """
    task, ref = str(meta.get("task")), f"{meta.get('name', name)}@v{meta.get('version', version)}"
    if args.proba and task != "image_classification":
        raise ConfigError(f"--proba needs a classification model; {ref} is a {task} model")
    files_dir = _files_dir(args.out, task, ref)
    with tempfile.TemporaryDirectory(prefix="automlops-predict-") as scratch:
        paths, shown, skipped = gather_images(Path(args.csv), Path(scratch))
        _refuse_clashes(paths, shown, files_dir)
        import automlops.vision.zoo  # noqa: F401 - registers the architectures the model store rebuilds
        from automlops.vision.predict import predict_paths

        loaded = store.load(name, version)  # the store checks the signature and SHA-256 of the file
        out = predict_paths(loaded.model, loaded.meta, paths, files_dir)
    out["file"] = shown
    base = Path(args.out).resolve().parent if args.out else Path.cwd()
    for column in ("mask_file", "boxes_file"):
        if column in out.columns:  # relative to the CSV: the CSV and its folder move together
            out[column] = [Path(p).resolve().relative_to(base).as_posix() for p in out[column]]
    if skipped:
        print(f"skipped {skipped} file(s) without an image extension ({', '.join(IMAGE_SUFFIXES)})", file=sys.stderr)
    where = f"; {'masks' if task == 'segmentation' else 'boxes'} in {files_dir}" if files_dir else ""
    _write_answers(args, out, f"{len(out)} prediction{'' if len(out) == 1 else 's'} of {ref}{where}")
    return 0


def _files_dir(out: str | None, task: str, ref: str) -> Path | None:
    """Where masks or box files go: ``<out stem>_masks/`` (or ``_boxes/``) beside ``--out``; None for labels."""
    kind = _FILES_DIR.get(task)
    if kind is None:
        return None
    if not out:
        raise ConfigError(f"{ref} is a {task} model: it writes one {kind[:-1]} file per image, so give --out "
                          f"(e.g. --out preds.csv writes preds_{kind}/ beside it)")
    path = Path(out)
    return path.parent / f"{path.stem}_{kind}"


def _refuse_clashes(paths: Sequence[Path], shown: Sequence[str], files_dir: Path | None) -> None:
    """Two images named alike (``a/1.png``, ``b/1.png``) would write the same mask or box file: refuse."""
    if files_dir is None:
        return
    seen: dict[str, str] = {}
    for path, name in zip(paths, shown, strict=True):
        if path.stem in seen:
            raise DataError(f"{seen[path.stem]} and {name} would write the same file in {files_dir} "
                            f"({path.stem}...): rename one, or predict the folders separately")
        seen[path.stem] = name


def _write_answers(args: argparse.Namespace, out: Any, what: str) -> None:
    """``out`` as CSV to ``--out`` (written to a temp file, then renamed) or to stdout."""
    from automlops.core.csv_safety import to_people_csv

    text = to_people_csv(out, raw=args.raw)  # formula-leading labels neutralised unless --raw
    if args.out:
        from automlops.mlops._atomic import atomic_write_text

        atomic_write_text(Path(args.out), text)
        print(f"wrote {what} to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)


def cmd_forecast(args: argparse.Namespace) -> int:
    """The next ``--horizon`` steps of every series a forecasting model knows, with 80 and 95 % intervals.

    ``--future`` gives the exogenous values of the steps ahead; a model without exogenous inputs does
    not need them: the file is then ignored with a warning on stderr (refused if it has not even the
    model's time column: it is another model's file).
    """
    from automlops.config import get_settings
    from automlops.mlops.store import ModelStore, parse_model_ref

    settings = get_settings()
    name, version = parse_model_ref(args.model)
    loaded = ModelStore(settings=settings).load(name, version)
    if model_kind(loaded.meta) != "forecasting":
        raise ConfigError(f"{loaded.name}@v{loaded.version} is a {loaded.meta.get('task', 'tabular')} model; "
                          "'automlops forecast' needs a forecasting model (train one with --task timeseries)")
    _check_out(args.out, args.future)
    future = None
    if args.future:
        if not Path(args.future).is_file():
            raise DataError(f"no such file: {args.future}")
        future = _read_rows(Path(args.future), settings.max_upload_bytes, loaded.meta)
    from automlops.forecasting import forecast_table

    if future is not None and not getattr(loaded.model, "exogenous", ()):
        from automlops.forecasting.predict import unused_future

        print(f"warning: --future {args.future}: {unused_future(loaded.model, loaded.meta, future)}", file=sys.stderr)
        future = None

    from automlops.forecasting.predict import written_times

    if future is None and (inputs := getattr(loaded.model, "inputs", None)):
        raise DataError(f"{loaded.name}@v{loaded.version} uses exogenous column(s) {', '.join(inputs.values())}: give "
                        f"their future values with --future FILE (a CSV with the time column"
                        f"{', the series id' if loaded.meta.get('series_id') else ''} and those columns, one row "
                        "per step ahead)")
    out = written_times(loaded.model, forecast_table(loaded.model, loaded.meta, args.horizon, future))
    _write_answers(args, out, f"{len(out)} forecast rows of {loaded.name}@v{loaded.version}")
    return 0
