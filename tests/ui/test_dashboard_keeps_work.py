"""The dashboard keeps the user's work: a reload lands back on the job and the workspace, "Train
again" starts from the last request, an upload does not inherit the previous one's note or view,
runs are told apart, and no text speaks of the studio's development.

AppTest with the real engines, a real lake, real worker processes and a real MLflow store.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from automlops.config import Settings
from automlops.mlops.lake import DataLake
from automlops.ui import jobs, tracking
from tests.ui.helpers import REPO, assert_clean, iris_csv, new_app, open_page, run_until, texts, training_done


def _sidebar(at) -> list[str]:  # type: ignore[no-untyped-def]
    return texts(at.sidebar.caption)


def test_a_reload_lands_back_on_the_running_job_and_the_workspace(ui_home: Path, iris_lake: DataLake) -> None:
    busy = jobs.submit(jobs.TrainRequest("iris", 1, "target", models=("logistic",), n_trials=10_000,
                                         model_name="busy"), settings=Settings())
    try:
        at = open_page(new_app(), "train")
        at.session_state["automlops.job_id"] = busy.id  # as if this tab had started it
        at.run()
        assert at.query_params.get("job") == busy.id and at.query_params.get("dataset") == "iris"

        reloaded = new_app()  # a reload: a new session, only the URL is left
        reloaded.query_params.update({"job": busy.id, "dataset": "iris", "version": "1"})
        open_page(reloaded, "train")
        assert_clean(reloaded)
        assert any("Training 'busy'" in t for t in texts(reloaded.subheader))
        assert reloaded.get("progress") and reloaded.button(key="train_cancel").label == "Cancel"
        assert any("Workspace: **iris v0001**" in t for t in _sidebar(reloaded))
        reloaded.button(key="train_cancel").click().run()
        assert busy.join(60)
        assert busy.snapshot().status == "cancelled"

        forged = new_app()  # a URL is user input: nonsense is ignored, not believed
        forged.query_params.update({"job": "../../etc", "dataset": "../x", "version": "one"})
        open_page(forged, "train")
        assert_clean(forged)
        assert forged.button(key="train_start") and not any("Training '" in t for t in texts(forged.subheader))
        assert "job" not in forged.query_params and forged.query_params.get("dataset") == "iris"  # the form's own
    finally:
        busy.cancel(grace_period=0)
        busy.join(30)


def test_train_again_starts_from_the_last_request_and_old_results_fold_away(ui_home: Path,
                                                                            iris_lake: DataLake) -> None:
    at = open_page(new_app(), "train")
    at.radio(key="train_selection").set_value("ensemble").run()
    at.multiselect(key="ens_members_classification").set_value(["logistic", "knn"]).run()
    at.number_input(key="ens_w_knn").set_value(2.0)
    at.number_input(key="train_trials").set_value(2)
    at.number_input(key="train_seed").set_value(7)
    at.text_input(key="train_name_iris").set_value("duo")
    at.run()
    at.button(key="train_start").click().run()
    run_until(at, training_done)
    assert_clean(at)
    [box] = [e for e in at.expander if e.label.startswith("Last training: 'duo'")]
    assert any("Saved model **duo v0001**" in t for t in texts(box.success))
    assert any("(weights [1.0, 2.0])" in t for t in texts(box.markdown)), texts(box.markdown)  # in Decisions
    assert at.radio(key="train_selection").value == "ensemble"
    assert at.multiselect(key="ens_members_classification").value == ["logistic", "knn"]
    assert at.number_input(key="ens_w_knn").value == 2.0
    assert (at.number_input(key="train_trials").value, at.number_input(key="train_seed").value) == (2, 7)
    assert at.text_input(key="train_name_iris").value == "duo"
    at.number_input(key="train_seed").set_value(8).run()  # the form is the user's again after the prefill
    assert at.number_input(key="train_seed").value == 8
    at.button(key="train_hide_results").click().run()
    assert_clean(at)
    assert not at.success and not [e for e in at.expander if e.label.startswith("Last training")]
    assert at.button(key="train_start")


def test_a_new_upload_starts_with_an_empty_note_and_the_viewer_follows_it(ui_home: Path, lake: DataLake) -> None:
    at = open_page(new_app(), "data_lake")
    at.file_uploader(key="lake_upload").upload("aaa.csv", iris_csv(), "text/csv")
    at.run()
    [note] = [t for t in at.text_input if t.label == "Note (optional)"]
    note.set_value("measured in the 1936 lab").run()
    at.button(key="lake_add").click().run()
    assert at.selectbox(key="lake_view_dataset").value == "aaa"
    at.file_uploader(key="lake_upload").upload("zzz.csv", iris_csv().replace(b"setosa", b"Setosa"), "text/csv")
    at.run()
    [note] = [t for t in at.text_input if t.label == "Note (optional)"]
    assert note.value == ""  # the previous file's provenance does not stick
    at.button(key="lake_add").click().run()
    assert_clean(at)
    assert at.selectbox(key="lake_view_dataset").value == "zzz"  # the viewer shows what was just added
    assert lake.get_version("zzz", 1).note == ""


def test_budget_and_preset_texts_say_what_bounds_the_search(ui_home: Path, iris_lake: DataLake) -> None:
    at = open_page(new_app(), "train")
    assert any("the preset's 15 trials" in t for t in texts(at.caption))
    at.number_input(key="train_budget").set_value(60).run()
    bound = [t for t in texts(at.caption) if t.startswith("→ a 60 s time budget")]
    assert bound and "the preset's trial count does not apply" in bound[0]
    assert not any("about 15 trials" in t for t in texts(at.caption))


def _runs(settings: Settings) -> dict[str, str]:
    """Three runs of one dataset: finished (v1), cancelled, and one still running."""
    from automlops.search.tracking_sink import mark_cancelled, name_run

    tracker = tracking.new_tracker()
    ids = {}
    for state, metrics in (("finished", {"test_r2": 0.91, "test_rmse": 42.0}),
                           ("cancelled", {"test_r2": 0.52, "test_rmse": 80.0}), ("running", {})):
        run_id = tracker.start_run("cars", tags={"automlops.kind": "automl"})
        tracker.log_params(run_id, {"metric": "r2", "task": "regression", "preset": "fast", "seed": state})
        tracker.log_metrics(run_id, metrics)
        if state == "finished":
            tracker.set_tags(run_id, {"best_model": "ridge"})
            tracker.end_run(run_id)
            name_run(tracker, run_id, "cars-v1")
        elif state == "cancelled":
            mark_cancelled(tracker, run_id)
        ids[state] = run_id
    return ids


def test_experiments_tell_runs_apart_and_compare_metric_by_metric(ui_home: Path, settings: Settings) -> None:
    from automlops.ui import runs_view

    ids = _runs(settings)
    at = open_page(new_app(), "experiments")
    assert_clean(at)
    pick = at.selectbox(key="exp_run")
    labels = {rid: pick.format_func(rid) for rid in ids.values()}
    assert labels[ids["finished"]].startswith("cars-v1 · ") and labels[ids["finished"]].endswith(" · ridge")
    assert labels[ids["cancelled"]].endswith(" · CANCELLED") and labels[ids["running"]].endswith(" · RUNNING")
    assert not any("nan" in label for label in labels.values())
    pick.set_value(ids["running"]).run()
    assert any("still running" in t for t in texts(at.info)) and not any("may have failed" in t for t in texts(at.info))

    compare = at.multiselect(key="exp_compare")
    compare.set_value([ids["finished"], ids["cancelled"]]).run()
    assert_clean(at)
    specs = [c.proto.spec for c in at.get("plotly_chart")]
    alone = {m: sum(m in s and other not in s for s in specs) for m, other in (("test_r2", "test_rmse"),
                                                                               ("test_rmse", "test_r2"))}
    assert alone == {"test_r2": 1, "test_rmse": 1}  # one chart per metric, each on its own axis
    runs = runs_view.load_runs().set_index("run_id").loc[[ids["finished"], ids["cancelled"]]]
    full = runs_view.comparison_table(runs, ["a", "b"], differences_only=False)
    diff = runs_view.comparison_table(runs, ["a", "b"], differences_only=True)
    assert "param · preset" in full.index and "param · preset" not in diff.index  # shared: hidden
    assert {"param · seed", "metric · test_r2"} <= set(diff.index)
    at.toggle(key="exp_diff_only").set_value(True).run()
    assert_clean(at)


USER_TEXT = re.compile(r"arrives with the|MLOps issue|\bwave \d|\bissue \d", re.IGNORECASE)


@pytest.mark.parametrize("root", ["automlops/ui", "automlops/tabular/presets.py", "app.py", "scripts/run.sh"])
def test_user_facing_text_never_speaks_of_development(root: str) -> None:
    path = REPO / root
    files = [path] if path.is_file() else sorted(path.rglob("*.py"))
    hits = [f"{f.relative_to(REPO)}: {m.group(0)}" for f in files for m in USER_TEXT.finditer(f.read_text())]
    assert not hits, hits
