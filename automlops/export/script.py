"""Assembling an exported script: header, imports, copied studio code, recorded settings, ``main``.

Every exported script has the same five parts, in this order, so a student who has read one can
read them all:

1. a docstring saying which model it rebuilds, how to run it and which libraries it needs;
2. the imports (third-party only: numpy, pandas, scikit-learn, and the model's own library);
3. the studio's building blocks the model uses, copied in (:mod:`automlops.export.source`);
4. the settings recorded at training (data file and SHA-256, target, seed, test share, columns);
5. ``build_model()`` (the untrained recipe), ``score(...)`` and ``main()``.

The dataset a model was trained on is found through its ``meta.json`` lineage (name, version,
SHA-256). A model uploaded without data, or whose data version has left the lake, cannot be
rebuilt, and the export says so instead of writing a script that cannot run.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from automlops.errors import AutoMLOpsError, ConfigError, DataError
from automlops.export.source import SourceWriter

__all__ = ["DataSource", "PIP_NAMES", "ScriptParts", "assemble", "common_settings", "data_source", "requirements"]

PIP_NAMES = {"sklearn": "scikit-learn"}  # import name -> the name pip installs it by


@dataclass(frozen=True)
class DataSource:
    """Where the training data lives and how to read it (what the script's TABLE constant holds)."""

    name: str
    version: int
    path: Path
    sha256: str
    how: dict[str, Any]


@dataclass
class ScriptParts:
    """The kind-specific pieces of a script (the rest is shared)."""

    title: str
    summary: list[str]
    settings: dict[str, str] = field(default_factory=dict)  # NAME -> source of its value
    functions: list[str] = field(default_factory=list)  # build_model, score, main... as source
    writer: SourceWriter = field(default_factory=SourceWriter)


def data_source(meta: dict[str, Any], settings: Any = None) -> DataSource:
    """The lake file a saved model was trained on, checked to be still there and unchanged."""
    from automlops.mlops.lake import DataLake

    lineage = meta.get("dataset") or {}
    name, version = lineage.get("name"), lineage.get("version")
    if not name or version is None:
        raise ConfigError(f"model '{meta.get('name')}' v{meta.get('version')} was not trained on a data-lake dataset "
                          "(it was uploaded or trained on a table in memory), so there is no data to rebuild it from")
    lake = DataLake(settings=settings)
    try:
        entry = lake.get_version(str(name), int(version))
    except AutoMLOpsError:
        raise DataError(f"dataset '{name}' v{int(version):04d}, which trained this model, is no longer in the data "
                        "lake; add it back (same file) to export the model") from None
    if not lake.verify(entry.dataset, entry.version):
        raise DataError(f"dataset '{name}' {entry.id} at {entry.full_path} is missing or no longer matches its "
                        "recorded SHA-256, so the model cannot be rebuilt from it")
    if lineage.get("sha256") and lineage["sha256"] != entry.sha256:
        raise DataError(f"dataset '{name}' {entry.id} is not the file this model was trained on (SHA-256 differs)")
    return DataSource(entry.dataset, entry.version, entry.full_path, entry.sha256, _how_to_read(entry))


def _how_to_read(entry: Any) -> dict[str, Any]:
    if entry.storage == "canonical":
        return {"storage": "canonical", "dtypes": dict(entry.dtypes)}
    from automlops.mlops.ingest import read_csv_robust

    big = 2**31 - 1
    found = read_csv_robust(entry.full_path, max_bytes=big, max_columns=big, max_field_chars=big)
    return {"storage": "original", "encoding": found.encoding, "delimiter": found.delimiter,
            "decimal": found.decimal}


def requirements(writer: SourceWriter) -> list[str]:
    """What ``pip install`` needs for the script (also what MLflow records with a logged model)."""
    return [PIP_NAMES.get(lib, lib) for lib in writer.third_party()]


def common_settings(meta: dict[str, Any], source: DataSource, writer: SourceWriter) -> dict[str, str]:
    """The settings every script starts with: the data, the seed, the metric and the recorded score."""
    e = writer.expression
    seed = meta.get("seed")
    return {
        "DATA_PATH": e(str(source.path)),
        "DATA_SHA256": e(source.sha256),
        "TABLE": e(source.how, indent=0) + "  # how the data lake reads this file",
        "SEED": e(int(seed) if seed is not None else 0) + ("" if seed is not None else
                                                           "  # not recorded by this older model: the default"),
        "METRIC": e(str(meta["metric"])),
        "RECORDED_TEST_SCORE": e(meta.get("test_score")),
        "RECORDED_PARAMS": e({"model": meta.get("best_model"), **{str(k): v for k, v in
                                                                  dict(meta.get("best_params") or {}).items()}},
                             indent=0),
        "RUN_NAME": e(f"script-{meta['name']}-v{meta['version']}"),
    }


def header(meta: dict[str, Any], parts: ScriptParts, out_name: str) -> str:
    """The script's docstring (its first line is also the ``--help`` description)."""
    libraries = dict(meta.get("libraries") or {})
    wanted = parts.writer.third_party()
    needs = ", ".join(f"{PIP_NAMES.get(lib, lib)} {libraries[lib]}" if lib in libraries else PIP_NAMES.get(lib, lib)
                      for lib in wanted)
    lines = [parts.title, "", *parts.summary, "",
             f"Run:    python {out_name} [--data PATH] [--refit-full] [--mlflow [--tracking-uri URI]]",
             f"Needs:  {needs} (the versions it was trained with; others may round differently)",
             "Output: progress on stderr; the last line on stdout is test_score=<value>.",
             "",
             f"Written by AutoMLOps Studio's `automlops export` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. It does not",
             "import the studio: the studio's own building blocks it uses are copied below."]
    return '"""' + "\n".join(lines).replace('"""', "'''") + '\n"""'


def _imports(writer: SourceWriter, extra: list[str]) -> str:
    """Standard library first, then the third-party libraries (each: ``import x`` lines, then ``from``)."""
    def key(line: str) -> tuple[bool, bool, str]:
        top = line.split()[1].split(".")[0]
        return top not in sys.stdlib_module_names, line.startswith("from "), line

    lines = sorted(set(writer.imports) | set(extra), key=key)
    split = next((i for i, line in enumerate(lines) if key(line)[0]), len(lines))
    return "\n".join(["from __future__ import annotations", "", *lines[:split], "", *lines[split:]])


def assemble(meta: dict[str, Any], parts: ScriptParts, out_name: str) -> str:
    """The whole script as text (see the module docstring for its parts)."""
    base_imports = ["import sys", "from pathlib import Path"]
    definitions = "\n\n\n".join(d.rstrip() for d in parts.writer.definitions)
    constants = {**parts.settings, "REQUIREMENTS": parts.writer.expression(requirements(parts.writer), indent=0),
                 **parts.writer.constants}
    settings = "\n".join(f"{name} = {value}" for name, value in constants.items())
    body = [
        "#!/usr/bin/env python3\n" + header(meta, parts, out_name),
        _imports(parts.writer, base_imports),
        "# " + "-" * 30 + " the studio's building blocks (copied, so the studio need not be installed)",
        definitions,
        "# " + "-" * 30 + " recorded when the model was trained",
        settings,
        *parts.functions,
        'if __name__ == "__main__":\n    sys.exit(main())',
    ]
    return "\n\n\n".join(part.rstrip() for part in body if part.strip()) + "\n"
