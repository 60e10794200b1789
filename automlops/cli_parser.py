"""How the ``automlops`` command reads its arguments: one ``argparse`` parser, one subcommand each.

``argparse`` answers a bad flag with a usage error; :class:`_Parser` keeps that to one line on stderr
and exit code 2, the command line's contract for bad input. Typed flags are checked as they are read
(``--time-budget ten`` is refused before anything is loaded), and the larger subcommands add their
own flags from their modules (``cli_vision``, ``cli_lab``, ...), so this file only assembles them.

Building the parser imports nothing heavy: the choices of ``train`` (presets, search strategies,
ensembles...) live beside the code that uses them, which imports scikit-learn and pandas (~3 s), so
they are read only when argparse first needs them (:class:`_Later`; a flag with such choices names
its metavar, else argparse would list them as the flag is added). ``automlops --help`` and a
mistyped command answer at once instead of after those imports.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NoReturn, overload

from automlops.errors import ConfigError

__all__ = ["EXIT_USAGE", "build_parser"]

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (and exit code 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"automlops: error: {message} (see '{self.prog} --help')\n")


class _Later(Sequence[str]):
    """A flag's choices, read from their module the first time argparse checks a value or writes ``--help``."""

    def __init__(self, load: Callable[[], Iterable[str]]) -> None:
        self._load = load
        self._names: tuple[str, ...] | None = None

    def _all(self) -> tuple[str, ...]:
        if self._names is None:
            self._names = tuple(self._load())
        return self._names

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...

    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return self._all()[index]

    def __len__(self) -> int:  # with __getitem__, all Sequence needs: `in` and iteration come from these two
        return len(self._all())


def _tasks() -> list[str]:
    from automlops.core.problem import TaskType

    return [t.value for t in TaskType.tabular()]


def _presets() -> list[str]:
    from automlops.tabular.presets import PRESETS

    return list(PRESETS.names())


def _strategies() -> list[str]:
    from automlops.tabular.search import STRATEGIES

    return list(STRATEGIES.names())


def _validation_modes() -> list[str]:
    from automlops.tabular.validation import USER_MODES

    return list(USER_MODES)


def _ensembles() -> list[str]:
    from automlops.tabular.ensemble import ENSEMBLE_CHOICES

    return list(ENSEMBLE_CHOICES)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def _at_least(low: int) -> Callable[[str], int]:
    def whole(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    return whole


_positive_int = _at_least(1)
_cluster_count = _at_least(2)  # one "cluster" is no partition


def _contamination(text: str) -> float | str:
    from automlops.tasks import parse_contamination

    try:
        return parse_contamination(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_train(sub: Any) -> None:
    train = sub.add_parser("train", help="train, track and save a model (any of the five tasks)")
    train.add_argument("csv", help="training data (CSV) or a lake dataset as lake:NAME[@vN]")
    train.add_argument("--target", help="the column to predict (classification, regression) or to forecast "
                                        "(timeseries); none for clustering and anomaly detection")
    train.add_argument("--task", choices=_Later(_tasks), metavar="TASK",
                       help="%(choices)s (default: classification or regression, inferred from the target)")
    train.add_argument("--preset", choices=_Later(_presets), default="medium", metavar="PRESET",
                       help="%(choices)s (default: %(default)s)")
    train.add_argument("--time-budget", type=_positive_float, help="seconds for the whole run")
    train.add_argument("--search", choices=_Later(_strategies), default="tpe", metavar="STRATEGY",
                       help="%(choices)s (default: %(default)s)")
    train.add_argument("--validation", choices=_Later(_validation_modes), metavar="MODE",
                       help="%(choices)s (default: auto, the preset's rule for the data's size and order)")
    train.add_argument("--models", help="comma-separated model names (see 'automlops models zoo')")
    train.add_argument("--ensemble", choices=_Later(_ensembles), default="auto", metavar="KIND",
                       help="%(choices)s; auto: the preset's choice (default); none: no ensemble")
    train.add_argument("--select", choices=["best", "robust"], default="best",
                       help="best: the top validation score (default); robust: the simplest model statistically "
                            "tied with it (corrected t-test or paired bootstrap), and why")
    train.add_argument("--metric")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--n-trials", type=int)
    train.add_argument("--time-column", help="timeseries: when each value was seen; tabular: orders the rows")
    _add_task_flags(train)
    train.add_argument("--name", help="model name (default: the dataset name)")
    train.add_argument("--refit-full", action=argparse.BooleanOptionalAction, default=True,
                       help="after scoring the test rows, refit the final model on all rows (default); "
                            "--no-refit-full ships the model that was scored")
    train.add_argument("--json", action="store_true", help="print a JSON summary as the last line")
    _add_study_flags(train)


def _add_task_flags(train: Any) -> None:
    """The flags of the time-series, clustering and anomaly tasks, each task in its own help section."""
    series = train.add_argument_group("time-series forecasting (--task timeseries)")
    series.add_argument("--series-id", help="column naming the series, for many series in one long table")
    series.add_argument("--horizon", type=_positive_int, help="steps to forecast (default: one season)")
    series.add_argument("--freq", help="pandas frequency such as D, W, MS, QS (default: inferred)")
    unsupervised = train.add_argument_group("clustering and anomaly detection")
    unsupervised.add_argument("--reference", help="clustering: a column of known groups, compared with the "
                                                  "clusters (ARI/NMI), never used to choose them")
    unsupervised.add_argument("--clusters", dest="n_clusters", type=_cluster_count,
                              help="clustering: the number of clusters, when you know it (default: searched, 2-10)")
    unsupervised.add_argument("--contamination", type=_contamination, default="auto",
                              help="anomaly: expected share of anomalies in (0, 0.5], or auto (default)")
    unsupervised.add_argument("--label", help="anomaly: a column marking known anomalies, used to evaluate")
    unsupervised.add_argument("--select-by-label", action="store_true",
                              help="anomaly: also use --label to choose the detector")


def _add_study_flags(train: Any) -> None:
    """A search that ``automlops worker`` processes can join (a named study in shared storage)."""
    shared = train.add_argument_group("distributed search (see 'automlops worker --help')")
    shared.add_argument("--study", help="search a named study that 'automlops worker' processes can join; the same "
                                        "command again resumes it (default: an in-memory search)")
    shared.add_argument("--storage", help="SQLAlchemy URL of the study storage, e.g. postgresql+psycopg2://user:pw@"
                                          "host:5432/optuna (default: HPO_STORAGE_URL, else <home>/hpo.db)")


def _add_lake(sub: Any) -> None:
    lake = sub.add_parser("lake", help="the versioned data lake")
    lake_sub = lake.add_subparsers(dest="lake_command", required=True, parser_class=_Parser)
    add = lake_sub.add_parser("add", help="add a CSV as a new version")
    add.add_argument("name")
    add.add_argument("csv")
    add.add_argument("--note", default="")
    lake_sub.add_parser("list", help="list datasets and versions")
    show = lake_sub.add_parser("show", help="profile one version")
    show.add_argument("name")
    show.add_argument("--version")
    show.add_argument("--target")
    from automlops import cli_images

    cli_images.add_commands(lake_sub)  # add-images (its own handler)


def _add_predict(sub: Any) -> None:
    predict = sub.add_parser("predict", help="predict with a saved model")
    predict.add_argument("csv", metavar="INPUT", help="a CSV of rows; for a vision model an image, a folder of "
                         "images or a .zip (segmentation and detection need --out: masks or boxes go beside it)")
    predict.add_argument("--model", required=True, help="NAME or NAME@vN")
    predict.add_argument("--out", help="output CSV (default: stdout)")
    predict.add_argument("--proba", action="store_true", help="add one proba_<class> column per class")
    predict.add_argument("--raw", action="store_true",
                         help="machine output: keep text cells that start with = + - @ as they are "
                              "(by default they get a leading ' so spreadsheets do not run them)")
    forecast = sub.add_parser("forecast", help="forecast the next steps with a saved forecasting model")
    forecast.add_argument("--model", required=True, help="NAME or NAME@vN (a model trained with --task timeseries)")
    forecast.add_argument("--horizon", type=_positive_int, help="steps ahead (default: the trained horizon)")
    forecast.add_argument("--future", help="CSV of future exogenous values (time column, series id, columns)")
    forecast.add_argument("--out", help="output CSV (default: stdout)")
    forecast.add_argument("--raw", action="store_true", help="as for predict: keep formula-like text as it is")


def _add_models(sub: Any) -> None:
    from automlops import cli_models, cli_sources

    models = sub.add_parser("models", help="saved models and the model zoo")
    models_sub = models.add_subparsers(dest="models_command", required=True, parser_class=_Parser)
    cli_sources.add_commands(models_sub)  # upload, retrain
    cli_models.add_commands(models_sub)  # list, promote, history, ...
    models_sub.add_parser("zoo", help="list the algorithms AutoML can search")
    trust = models_sub.add_parser("trust", help="re-sign one version you know the origin of (a model file can "
                                                "run code when loaded: trust only what you or the studio made)")
    trust.add_argument("ref", help="NAME@vN: one exact version")


def build_parser() -> argparse.ArgumentParser:
    from automlops import (  # each adds its own subcommands (cheap imports)
        cli_bundle,
        cli_export,
        cli_lab,
        cli_monitor,
        cli_stability,
        cli_vision,
    )

    parser = _Parser(prog="automlops", description="AutoMLOps Studio command line")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_train(sub)
    cli_vision.add_commands(sub)  # train-vision (its own handler)
    from automlops import cli_distributed

    cli_distributed.add_commands(sub)  # worker (joins a named study: train --study)
    _add_predict(sub)
    _add_lake(sub)
    cli_monitor.add_commands(sub)  # monitor (drift of live traffic)
    cli_stability.add_commands(sub)  # stability (is the score real, or luck?)
    cli_lab.add_commands(sub)  # lab (search strategies compared on one table)
    cli_export.add_commands(sub)  # export (a run as a plain script)
    cli_bundle.add_commands(sub)  # bundle (a model as a Docker build context with its own service)
    _add_models(sub)
    sub.add_parser("demo", help="seed the data lake with bundled real datasets")
    serve = sub.add_parser("serve", help="serve a model over HTTP (x-api-key protected): MODEL_NAME (+ MODEL_STAGE: "
                                            "the registry's version), else the newest name, kept")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, help="default: API_PORT (8000)")
    return parser
