"""The exported script of a forecasting model (statsforecast / mlforecast).

What the forecasting engine reports as the test score (see :mod:`automlops.forecasting.finalize`):
the table is cleaned into long-format series (``unique_id, ds, y``, a regular frequency, a few
holes interpolated), the **last h points of every series** are kept aside, the chosen models - one,
or the mean / median / weighted mean of several (the "comb" of AutoETS, AutoARIMA and AutoTheta by
default) - are fitted on everything before them and forecast those ``h`` points, and the error is
scored per series (MASE: the mean absolute error divided by the in-sample seasonal-naive error of
the history) and averaged over series.

The script repeats each step: the cleaning is the studio's own code (copied in), and each model is
written as the plain ``StatsForecast(models=[AutoETS(...)])`` or ``MLForecast(models={...}, lags=...)``
the engine built, with every setting the search chose resolved to a value (season length, lag list,
rolling window, differencing, calendar features, the regressor's hyperparameters and seed). The
statistical models and the ridge regression are deterministic; LightGBM and XGBoost are seeded and
run on one thread: all reproduce the recorded score.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from automlops.core.metrics import MetricContext
from automlops.errors import ConfigError
from automlops.export import runtime
from automlops.export.script import DataSource, ScriptParts, common_settings
from automlops.export.source import ExportError, SourceWriter

__all__ = ["forecasting_parts"]

MAIN = '''
def main(argv: list[str] | None = None) -> int:
    """Load and check the data, keep the last HORIZON points of every series aside, fit, forecast, score."""
    args = parse_args(__doc__.splitlines()[0], DATA_PATH, argv)
    path = Path(args.data)
    check_sha256(path, DATA_SHA256, args.skip_check)
    frame = load_table(path, TABLE)[COLUMNS]
    data = prepare_series(frame, TARGET, TIME_COLUMN, SERIES_ID, FREQ,
                          log=lambda topic, text: say(f"{topic}: {text}"))
    long = data.long
    last = position_from_end(long)  # 1 for each series' last point, 2 for the one before...
    history = long[last > HORIZON].reset_index(drop=True)
    test = long[last <= HORIZON].reset_index(drop=True)
    say(f"{long['unique_id'].nunique()} series, {len(long)} points: the last {HORIZON} of each ({len(test)} points)"
        f" kept aside to forecast and score, {len(history)} to fit on")
    columns = [fit_and_forecast(model, history, test, keep) for _, model, keep in build_members()]
    yhat = combine_forecasts(np.column_stack(columns), COMBINE, WEIGHTS)
    if FLOOR is not None:  # a never-negative target: the studio clips its forecasts there
        yhat = np.maximum(yhat, FLOOR)
    scales = {uid: naive_scale(y.to_numpy(), DATA_SEASON) for uid, y in history.groupby("unique_id", sort=False)["y"]}
    test_score = score(test, yhat, scales)
    say(f"test {METRIC} = {test_score:.6f} on {len(test)} points (recorded at training: {RECORDED_TEST_SCORE})")
    if args.refit_full:  # the studio ships the models refitted on all the data, to forecast what comes next
        future = ([fit_and_forecast(model, long, None, keep) for _, model, keep in build_members()]
                  if not EXOGENOUS else [])
        say("refitted on all the data" + (f"; next {HORIZON} step(s): "
                                          + ", ".join(f"{max(v, FLOOR if FLOOR is not None else v):.4g}" for v in
                                                      combine_forecasts(np.column_stack(future), COMBINE,
                                                                        WEIGHTS)[:HORIZON])
                                          if future else " is not possible without future exogenous values"))
    if args.mlflow:
        log_to_mlflow(args, RUN_NAME, {**RECORDED_PARAMS, "seed": SEED}, {f"test_{METRIC}": test_score},
                      None, None, REQUIREMENTS)
    print(f"test_score={test_score!r}")
    return 0
'''

FIT_AND_FORECAST = '''
def fit_and_forecast(model: Any, history: pd.DataFrame, future: pd.DataFrame | None,
                     keep: int | None = None) -> np.ndarray:
    """Fit one model on ``history`` and forecast HORIZON steps; the values in ``future``'s row order.

    ``future`` holds the points to forecast (``unique_id, ds`` and the exogenous columns, known in
    advance); ``None`` forecasts the steps after the end of ``history`` (series by series, in time order).
    ``keep``: a statistical model is fitted on the last ``keep`` points of each series only, as the studio
    fits it (their cost grows with the history while recent points decide their forecast).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if type(model).__name__ == "StatsForecast":  # one statistical model per series, on the target alone
            model.fit(df=recent_history(history[["unique_id", "ds", "y"]], keep))
            out = model.predict(h=HORIZON).rename(columns={model.models[0].alias: "yhat"})
        else:  # a regression on lags of all series at once, forecasting one step at a time
            model.fit(history[["unique_id", "ds", "y", *EXOGENOUS]], static_features=[])
            x_df = future[["unique_id", "ds", *EXOGENOUS]] if EXOGENOUS and future is not None else None
            out = model.predict(h=HORIZON, X_df=x_df).rename(columns={"m": "yhat"})
    out = out.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
    if future is None:
        return out["yhat"].to_numpy(dtype=float)
    merged = future[["unique_id", "ds"]].merge(out[["unique_id", "ds", "yhat"]], on=["unique_id", "ds"], how="left")
    return merged["yhat"].to_numpy(dtype=float)
'''

# metrics whose studio function is a lambda (no source to copy): the same arithmetic, written out
_WRITTEN_METRICS = {
    "rmse": ('def rmse(c: MetricContext) -> float:\n    """Root mean squared error, in the target\'s unit."""\n'
             "    return float(np.sqrt(np.mean((np.asarray(c.y_true) - np.asarray(c.pred)) ** 2)))"),
    "mae": ('def mae(c: MetricContext) -> float:\n    """Mean absolute error, in the target\'s unit."""\n'
            "    return float(np.mean(np.abs(np.asarray(c.y_true) - np.asarray(c.pred))))"),
}


def _metric_function(metric: str, writer: SourceWriter) -> str:
    from automlops.forecasting.backtest import FORECAST_METRICS

    spec = FORECAST_METRICS.get(metric)
    writer.inline(MetricContext)
    if spec.fn.__name__ == "<lambda>":
        if metric not in _WRITTEN_METRICS:
            raise ExportError(f"the forecasting metric '{metric}' cannot be written in a script yet")
        writer.definitions.append(_WRITTEN_METRICS[metric])
        fn = metric
    else:
        fn = writer.inline(spec.fn)
    return (f"def score(test: pd.DataFrame, yhat: np.ndarray, scales: dict[str, float]) -> float:\n"
            f'    """Test {spec.label} of each series (computed by the studio\'s own code, copied above), averaged.\n\n'
            f"    {spec.explanation[:1].upper() + spec.explanation[1:]}.\n"
            f'    """\n'
            f"    frame = test[[\"unique_id\", \"y\"]].assign(yhat=yhat)\n"
            f"    per_series = [{fn}(MetricContext(y_true=part[\"y\"].to_numpy(), pred=part[\"yhat\"].to_numpy(),\n"
            f"                                   extra={{\"scale\": float(scales[uid])}}))\n"
            f"                  for uid, part in frame.groupby(\"unique_id\", sort=False)]\n"
            f"    scored = [v for v in per_series if np.isfinite(v)]  # a constant series has no MASE\n"
            f"    return float(np.mean(scored if scored else per_series))")


def _constructor(obj: Any, writer: SourceWriter, indent: int) -> str:
    """``Class(arg=value, ...)`` for a statsforecast model: the arguments it keeps that differ from the defaults."""
    cls = type(obj)
    args = []
    for name, parameter in inspect.signature(cls.__init__).parameters.items():
        if name == "self" or parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if not hasattr(obj, name):
            raise ExportError(f"cannot read the setting '{name}' back from a {cls.__name__} to write it in a script")
        value = getattr(obj, name)
        if parameter.default is parameter.empty or not _same(value, parameter.default):
            written = (_constructor(value, writer, indent + 4) if _is_statistical_model(value)  # MSTL's inner model
                       else writer.expression(value, indent + 4))
            args.append(f"{name}={written}")
    return f"{writer.reference(cls)}({', '.join(args)})"


def _is_statistical_model(value: Any) -> bool:
    return type(value).__module__.startswith("statsforecast.models")


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(type(a) is type(b) and a == b)
    except (TypeError, ValueError):
        return False


def _statistical(model: str, params: Mapping[str, Any], ctx: Any, writer: SourceWriter) -> tuple[str, Any]:
    from automlops.forecasting import models as fm

    obj = fm.FORECAST_MODELS.get(model).build(params, fm.stats_season(params, ctx))
    sf = writer.import_name("statsforecast", "StatsForecast")
    fallback = fm.stats_forecast(obj, ctx.freq).fallback_model  # Naive where the model cannot be fitted (models.py)
    stand_in = "" if fallback is None else f", fallback_model={_constructor(fallback, writer, 8)}"
    return f"{sf}(models=[{_constructor(obj, writer, 8)}], freq={ctx.freq!r}, n_jobs=1{stand_in})", obj


def _machine_learning(model: str, params: Mapping[str, Any], ctx: Any, writer: SourceWriter) -> tuple[str, Any]:
    """The MLForecast the engine's ``_ml_fit`` builds, every choice resolved to a value."""
    from automlops.forecasting import lag_features as lf
    from automlops.forecasting import models as fm

    transforms = lf.target_transforms(params, ctx)
    lags = lf.lag_sets(ctx)[str(params.get("lags", "short"))]
    dates = lf.date_features(params, ctx)
    from mlforecast import MLForecast
    from mlforecast.lag_transforms import RollingMean

    estimator = fm.FORECAST_MODELS.get(model).build(params, ctx.seed)
    regressor = writer.expression(estimator, 12)
    ml = writer.import_name("mlforecast", "MLForecast")
    args = [f"models={{'m': {regressor}}}", f"freq={ctx.freq!r}", f"lags={lags!r}"]
    rolling = lf.rolling_window(params, ctx)
    if rolling:
        name = writer.import_name("mlforecast.lag_transforms", "RollingMean")
        args.append(f"lag_transforms={{1: [{name}(window_size={rolling})]}}")
    if dates:
        args.append(f"date_features={dates!r}")
    if transforms:
        written = []
        for transform in transforms:
            name = writer.import_name("mlforecast.target_transforms", type(transform).__name__)
            diffs = getattr(transform, "differences", None)
            written.append(f"{name}({list(diffs)!r})" if diffs is not None else f"{name}()")
        args.append(f"target_transforms=[{', '.join(written)}]")
    args.append("num_threads=1")
    obj = MLForecast(models={"m": estimator}, freq=ctx.freq, lags=lags,
                     lag_transforms={1: [RollingMean(window_size=rolling)]} if rolling else None,
                     date_features=dates, target_transforms=transforms or None, num_threads=1)
    return f"{ml}(\n" + "".join(f"            {a},\n" for a in args) + "        )", obj


def _settings_of(obj: Any) -> Any:
    """What makes two untrained members the same model (compared with the shipped, fitted ones)."""
    if hasattr(obj, "ts"):  # MLForecast: the features it computes, the target transforms, the regressor
        ts = obj.ts
        return ("mlforecast", ts.freq, list(ts.transforms), list(ts.date_features or []),
                [(type(t).__name__, list(getattr(t, "differences", []))) for t in ts.target_transforms or []],
                {k: (type(m).__name__, repr(m.get_params())) for k, m in obj.models.items()})
    cls = type(obj)
    names = [n for n in inspect.signature(cls.__init__).parameters if n != "self"]
    values = {n: getattr(obj, n, None) for n in names}
    return ("statsforecast", cls.__name__,
            {n: _settings_of(v) if _is_statistical_model(v) else repr(v) for n, v in values.items()})


def _check_against_shipped(rebuilt: list[Any], forecaster: Any) -> None:
    """The members written in the script must be configured as the shipped forecaster's members are."""
    shipped = []
    for member in getattr(forecaster, "members", []):
        if hasattr(member, "fc"):
            shipped.append(_settings_of(member.fc))
        elif hasattr(member, "sf"):
            shipped.append(_settings_of(member.sf.models[0]))
    mine = [_settings_of(o) for o in rebuilt]
    if shipped != mine:
        raise ConfigError("the model(s) rebuilt from this forecaster's recorded settings are not configured as its "
                          "saved models are (it was probably trained by another version of the studio), so the "
                          "script could not reproduce it")


def _members(meta: Mapping[str, Any]) -> tuple[list[tuple[str, dict[str, Any]]], str, list[float]]:
    from automlops.stability.forecasting import _recipe

    return _recipe(meta)


def _engine(meta: Mapping[str, Any], source: DataSource) -> Any:
    """The forecasting engine prepared on the same data version: its cleaning, horizon, season and lag limits."""
    from automlops.forecasting.engine import ForecastingEngine
    from automlops.mlops.lake import DataLake
    from automlops.search.engine import DecisionLog

    target, time_column, series_id = meta.get("target"), meta.get("time_column"), meta.get("series_id")
    if not target or not time_column:
        raise ConfigError(f"forecasting model '{meta.get('name')}' does not record its target and time column")
    frame = DataLake().load(source.name, source.version)
    needed = [str(time_column), str(target), *([str(series_id)] if series_id else []), *(meta.get("exogenous") or [])]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ConfigError(f"column(s) {', '.join(missing)} the model needs are not in dataset '{source.name}'")
    engine = ForecastingEngine(str(target), str(time_column), series_id=series_id, horizon=meta.get("horizon"),
                               freq=meta.get("freq"), metric=meta.get("metric"),
                               preset=str(meta.get("preset") or "medium"), seed=int(meta.get("seed") or 0))
    engine.prepare(frame[[c for c in frame.columns if c in needed]],
                   DecisionLog(lambda event: None, lambda: 0.0, lambda: None))
    if engine.season != int(meta.get("season", engine.season)) or engine.h != int(meta.get("horizon", engine.h)):
        raise ConfigError("the forecasting engine no longer prepares this data as it did at training (season or "
                          "horizon differ), so the script could not reproduce the model")
    return engine


def _build_members(members: list[tuple[str, dict[str, Any]]], ctx: Any,
                   writer: SourceWriter) -> tuple[list[str], list[str], list[Any]]:
    """Each member's label, its line for ``build_members()`` (name, constructor and the points of history a
    statistical model is fitted on), and the object that line builds."""
    from automlops.forecasting import models as fm

    labels, built, rebuilt = [], [], []
    for model, params in members:
        spec = fm.FORECAST_MODELS.get(model)
        statistical = spec.family == "statistical"
        source_text, obj = (_statistical if statistical else _machine_learning)(model, params, ctx, writer)
        keep = fm.stats_history(fm.stats_season(params, ctx)) if statistical else None
        labels.append(spec.label)
        built.append(f"        ({model!r}, {source_text}, {keep!r}),")
        rebuilt.append(obj)
    return labels, built, rebuilt


def _settings(meta: dict[str, Any], source: DataSource, engine: Any, writer: SourceWriter, combine: str,
              weights: list[float]) -> dict[str, str]:
    """The script's constants: what training read, the horizon, the season, how forecasts combine."""
    e = writer.expression
    series_id = meta.get("series_id")
    exogenous = list(engine.data.exogenous)  # their names in the long table (an input called 'ds' is 'exog_ds')
    columns = [str(meta["time_column"]), str(meta["target"]), *([str(series_id)] if series_id else []),
               *engine.data.inputs]
    return {
        **common_settings(meta, source, writer),
        "TARGET": e(str(meta["target"])),
        "TIME_COLUMN": e(str(meta["time_column"])),
        "SERIES_ID": e(series_id),
        "COLUMNS": e(columns, indent=0) + "  # the columns training read (the others are exogenous inputs)",
        "EXOGENOUS": e(exogenous, indent=0),
        "FREQ": e(engine.data.freq) + "  # as inferred (or given) at training",
        "HORIZON": e(int(engine.h)) + "  # the last HORIZON points of every series are the test window",
        "DATA_SEASON": e(int(engine.data.season)) + "  # steps in one season of this frequency (the MASE scale)",
        "COMBINE": e(combine) + "  # single | mean | median | weighted",
        "WEIGHTS": e([float(w) for w in weights]),
        "FLOOR": e((meta.get("model_detail") or {}).get("floor")) + "  # forecasts are clipped at it (None: no floor)",
    }


def forecasting_parts(loaded: Any, source: DataSource) -> ScriptParts:
    """The pieces of a forecasting model's script (see the module docstring)."""
    from automlops.forecasting.backtest import naive_scale, position_from_end
    from automlops.forecasting.data import prepare_series
    from automlops.forecasting.intervals import combine_forecasts
    from automlops.forecasting.models import recent_history

    meta = loaded.meta
    members, combine, weights = _members(meta)
    engine = _engine(meta, source)
    parts = ScriptParts(title="", summary=[])
    writer = parts.writer
    labels, built, rebuilt = _build_members(members, engine.ctx, writer)
    _check_against_shipped(rebuilt, loaded.model)
    how = "" if combine == "single" else f" ({combine} of {len(members)} forecasts)"
    parts.title = (f"Rebuild and re-test forecasting model '{meta['name']}' v{meta['version']}: "
                   f"{' + '.join(labels)}{how}.")
    parts.summary = [
        f"Trained on dataset '{source.name}' v{source.version:04d}; recorded test {meta['metric']} = "
        f"{meta.get('test_score')} on the last {engine.h} point(s) of each series.",
        "The script reads the same CSV (checking its SHA-256), cleans it into regular series as the studio does,",
        f"fits the model(s) below on all but the last {engine.h} points of each series, forecasts those points",
        "and scores them. Statistical models and ridge are deterministic; LightGBM / XGBoost are seeded."]
    parts.functions = [
        'def build_members() -> list[tuple[str, Any, int | None]]:\n'
        '    """The chosen model(s), untrained, with every setting the search chose (forecasts combined by COMBINE),\n'
        '    and how many of the latest points of each series a statistical one is fitted on."""\n'
        "    return [\n" + "\n".join(built) + "\n    ]",
        FIT_AND_FORECAST.strip(),
        _metric_function(str(meta["metric"]), writer),
        MAIN.strip(),
    ]
    for helper in (runtime.parse_args, runtime.check_sha256, runtime.load_table, runtime.log_to_mlflow, runtime.say,
                   prepare_series, position_from_end, naive_scale, combine_forecasts, recent_history):
        writer.inline(helper)
    writer.import_name("typing", "Any")
    writer.import_module("pandas", "pd")
    writer.import_module("warnings")
    parts.settings = _settings(meta, source, engine, writer, combine, weights)
    return parts
