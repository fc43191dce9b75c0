"""deepsee.pipeline: the notebooks' configuration and state (threads, data root, knobs, the typed state and its
recording steps), the training orchestration of notebook 20, the emergence figure's snapshots and stage marks, and
the scenes models of notebook 46."""
from __future__ import annotations

import os
from pathlib import Path

import pytest


def test_setup_carries_the_data_root_in_the_configuration_not_the_environment(tmp_path, monkeypatch):
    from deepsee.config import data_root, dataset_root
    from deepsee.pipeline import setup
    monkeypatch.delenv("DEEPSEE_DATA", raising=False)
    P = setup("smoke", run_root=str(tmp_path / "runs"), out_dir=str(tmp_path / "out"),
              data_root=str(tmp_path / "d"), interactive=False, overrides=["train.lambda_l1=2.5"])
    assert "DEEPSEE_DATA" not in os.environ
    assert data_root(P.cfg.data) == tmp_path / "d"
    sub = P.sub_config()
    assert sub.data.data_root == str(tmp_path / "d") and sub.train.lambda_l1 == 2.5
    assert dataset_root(sub.data).parent == tmp_path / "d"
    other = P.sub_config("smoke-32x")                              # another profile: same data root
    assert other.data.data_root == str(tmp_path / "d") and other.train.lambda_l1 != 2.5
    assert P.config().data.mask_dir == ""                          # no predicted masks recorded yet
    P.record(pred_masks=str(tmp_path / "masks"))
    assert P.config().data.mask_dir == str(tmp_path / "masks")
    assert P.config(masks="ground truth").data.mask_dir == ""
    with pytest.raises(ValueError, match="masks="):
        P.config(masks="guess")


def test_notebook_knobs_default_to_the_profile(tmp_path):
    from deepsee.pipeline import knob_overrides, setup
    P = setup("smoke", run_root=str(tmp_path / "runs"), out_dir=str(tmp_path / "out"),
              data_root=str(tmp_path / "d"), interactive=False)
    assert P.knob(None, "eval.oracle_samples") == P.cfg.eval.oracle_samples
    assert P.knob(7, "eval.oracle_samples") == 7
    with pytest.raises(KeyError, match="eval.no_such"):
        P.knob(None, "eval.no_such")
    assert knob_overrides({"a.b": None, "c.d": 3, "e.f": [1, 2], "g.h": "x", "i.j": 0.5}) == \
        ["c.d=3", "e.f=[1, 2]", "g.h=x", "i.j=0.5"]


def test_pipeline_state_is_typed_and_recorded_by_explicit_steps(tmp_path):
    """state.json is a PipelineState: getters record nothing, the record steps name their fields, the 32x
    job is marked as such, and titles and sidecars read typed fields."""
    import json

    from deepsee.metrics import LPIPS_NAME
    from deepsee.pipeline import EXTREME, PipelineState, setup
    P = setup("smoke", run_root=str(tmp_path / "runs"), out_dir=str(tmp_path / "out"),
              data_root=str(tmp_path / "d"), interactive=False)
    jobs = P.sr_jobs()
    assert [j.key for j in jobs if j.extreme] == [EXTREME] and jobs[0].key == "independent"
    assert all(j.cfg.model.variant == j.key for j in jobs if not j.extreme)
    assert not P.state_path.exists()                                   # a getter writes nothing
    runs = []
    for j in jobs:
        run = tmp_path / "runs" / f"sr-{j.key}"
        run.mkdir(parents=True)
        used = "none (no perceptual loss)" if j.extreme else "vgg19 (ImageNet, vgg.pth; Eq. 6 as in the paper)"
        (run / "run_info.json").write_text(json.dumps({"perceptual_used": used}))
        runs.append(run)
    assert P.record_sr_runs(jobs, runs)[EXTREME] == str(runs[jobs.index(next(j for j in jobs if j.extreme))])
    metric = P.perceptual_metric()                                     # chosen, said and recorded
    st = PipelineState.read(P.state_path)
    assert st.perceptual_metric == metric.name and bool(st.lpips_missing) == (metric.name != LPIPS_NAME)
    assert st == P.state and set(st.sr_runs) == {j.key for j in jobs if not j.extreme} and st.extreme_run
    assert st.perceptual_losses == ["vgg19 (ImageNet, vgg.pth; Eq. 6 as in the paper)"]
    out = P.out
    assert out.title().endswith("perceptual loss: vgg19")              # the paper's loss: no caveat
    assert f"(from {st.extreme_lr_size}x{st.extreme_lr_size})" in out.title(32)
    assert "models:" not in out.title()                                # no steps recorded: no budget
    (runs[0] / "run_info.json").write_text(json.dumps({"perceptual_used": "vgg19", "steps_done": 1234,
                                                       "status": "interim", "planned_steps": 20000}))
    jobs[0].cfg.save(runs[0] / "config.yaml")
    assert out.budget() == f"1,234 SR steps at batch {jobs[0].cfg.train.batch_size} (interim, of 20,000)"
    assert f"profile, models: {out.budget()}; perceptual loss" in out.title()
    seg = tmp_path / "seg"
    seg.mkdir()
    (seg / "run_info.json").write_text(json.dumps({"steps_done": 9600, "batch_size": 4, "status": "final"}))
    t = out.title(extra="training loss", segmenter=seg)            # a segmenter figure: its own budget
    assert t.endswith("profile, 9,600 segmenter steps at batch 4; training loss") and "SR steps" not in t
    notes = P.state.notes()
    assert notes["note_perceptual_loss"] == st.perceptual_losses[0]
    assert notes["note_perceptual_metric"].startswith(metric.name)
    with pytest.raises(KeyError, match="run notebook 10 first"):
        P.get("segmenter_run")


def test_emergence_steps_choose_snapshots_and_keep_the_final_model(tmp_path):
    import json

    from deepsee.pipeline import setup
    P = setup("smoke", run_root=str(tmp_path / "runs"), out_dir=str(tmp_path / "out"),
              data_root=str(tmp_path / "d"), interactive=False)
    run = tmp_path / "runs" / "sr-independent"
    for step in (100, 200, 400):
        (run / "snapshots" / f"step_{step:08d}").mkdir(parents=True)
        (run / "snapshots" / f"step_{step:08d}" / "model.safetensors").write_bytes(b"")
    (run / "model").mkdir()
    (run / "run_info.json").write_text(json.dumps({"steps_done": 800}))
    P.state.sr_runs["independent"] = str(run)
    assert [s for s, _ in P.snapshots("independent")] == [100, 200, 400, 800]
    assert [s for s, _ in P.snapshots("independent", [])] == [100, 200, 400, 800]
    assert [s for s, _ in P.snapshots("independent", [400, 100])] == [100, 400, 800]
    with pytest.raises(ValueError, match=r"step\(s\) 300; it has 100, 200, 400, 800"):
        P.snapshots("independent", [300])
    from deepsee.config import load_config
    from deepsee.showcase import export_snapshots, snapshots
    chosen = set(load_config("showcase").eval.emergence_steps)
    assert chosen <= set(export_snapshots("independent"))                 # the profile exports them
    assert chosen <= {s for s, _ in snapshots("independent")}              # and the repository ships them


def test_stage_marks_place_the_restarts_and_the_locality_term_on_the_emergence_figure(tmp_path):
    import pandas as pd

    from deepsee.pipeline import setup
    from deepsee.viz import emergence_figure
    P = setup("smoke", run_root=str(tmp_path / "runs"), out_dir=str(tmp_path / "out"), data_root=str(tmp_path / "d"),
              interactive=False, overrides=["pipeline.main_steps=100", "pipeline.restarts=[{steps: 200}, "
                                            "{steps: 400, set: [train.lambda_local=5, train.local_from=300]}]"])
    assert P.stage_marks() == [(100, "restart to 200"), (200, "restart to 400"), (300, "+ locality term")]
    assert setup("smoke", run_root=str(tmp_path / "runs"), out_dir=str(tmp_path / "out"),
                 data_root=str(tmp_path / "d"), interactive=False).stage_marks() == []
    df = pd.DataFrame({"step": [50, 150, 400], "psnr_lr_style": [20.0, 21, 22], "global_walk": [.01, .02, .05],
                       "lips_inside": [.01, .02, .1], "diversity_l1": [.01, .02, .04], "selection_gain": [.1, .2, .3],
                       "min_inside_outside": [2.0, 3.0, 9.0]})
    fig = emergence_figure(df, {"inside_outside_ratio": 5.0}, marks=P.stage_marks())
    assert len(fig.axes) == 5 and fig.axes[-1].get_yscale() == "log"       # + the locality panel
    assert [round(line.get_xdata()[0]) for line in fig.axes[0].lines if line.get_linestyle() == ":"] == [100, 200, 300]
    assert [t.get_text().strip() for t in fig.axes[1].texts] == ["restart to 200", "restart to 400", "+ locality term"]


def test_pipeline_threads_are_fixed_by_the_profile(tmp_path):
    """pipeline.threads: the notebooks' torch thread count comes from the profile, not the machine."""
    import torch

    from deepsee.pipeline import setup
    before = torch.get_num_threads()
    try:
        for n in (2, 1):
            setup("smoke", run_root=str(tmp_path / "runs"), out_dir=str(tmp_path / "out"), interactive=False,
                  data_root=str(tmp_path / "data"), overrides=[f"pipeline.threads={n}"])
            assert torch.get_num_threads() == n
    finally:
        torch.set_num_threads(before)


def test_notebook_20_trains_the_main_models_warm_restarts_and_records_their_last_stage(tmp_path, monkeypatch):
    """pipeline.restarts: notebook 20 (``train_sr_models``) trains the main models, then their restart
    stages (the ablation variants and the 32x model get none), and records the last stage's folders."""
    import deepsee.train.jobs as jobs
    from deepsee.pipeline import setup
    calls = []

    def many(cfgs, segs, **k):
        calls.append(("train", [c.model.variant for c in cfgs]))
        return [tmp_path / "runs" / f"sr-{c.model.variant}" for c in cfgs]

    def restarts(runs, stages, segs, **k):
        calls.append(("restarts", [Path(r).name for r in runs], [s["steps"] for s in stages]))
        return [jobs.stage_folder(r, stages[-1]["steps"]) for r in runs]

    def train(*a, **k):   # the kit's orchestration, with the trainings themselves replaced
        return jobs.train_staged(*a, **k, run_many=many, run_restarts=restarts)

    P = setup("smoke", run_root=str(tmp_path / "runs"), out_dir=str(tmp_path / "out"), interactive=False,
              data_root=str(tmp_path / "data"), overrides=[
                  "pipeline.variants=[independent, guided, prior_only]", "pipeline.extreme_profile=''",
                  "pipeline.restarts=[{steps: 3000}, {steps: 4000, set: [train.lambda_local=20]}]"])
    monkeypatch.setattr(P, "record", lambda **kw: calls.append(("record", kw["sr_runs"])))
    runs = P.train_sr_models(train=train)
    assert calls[0] == ("train", ["independent", "guided", "prior_only"])
    assert calls[1] == ("restarts", ["sr-independent", "sr-guided"], [3000, 4000])
    assert Path(runs["independent"]).name == "sr-independent-4k" and Path(runs["guided"]).name == "sr-guided-4k"
    assert Path(runs["prior_only"]).name == "sr-prior_only"


def test_scenes_models_say_why_fig19_is_skipped(tmp_path):
    """Notebook 46 without a scenes profile, and with the showcase profile before its scenes models ship: a reason
    that names the way to get them, and no training."""
    from deepsee.pipeline import setup
    from deepsee.showcase import registered
    kw = dict(run_root=str(tmp_path / "runs"), out_dir=str(tmp_path / "out"), data_root=str(tmp_path / "d"),
              interactive=False)
    quick = setup("quick", **kw).scenes_models()
    assert quick.keys() == {"skipped"} and "pipeline.scenes_profile=quick-scenes" in quick["skipped"]
    show = setup("showcase", **kw).scenes_models()
    if not registered().get("scenes-independent"):
        assert "not shipped" in show["skipped"] and "deepsee showcase train --part scenes" in show["skipped"]
        assert show["cfg"].data.labels == "outdoor" and show["cfg"].model.factor == 4
    else:                                                   # shipped: taken (verified), not trained
        assert show["source"] == "shipped" and show["model"].labels.name == "outdoor"
    assert not any(p.name == "stats.jsonl" or p.name.startswith("ckpt") for p in (tmp_path / "runs").rglob("*"))


def test_the_perceptual_metric_is_chosen_explicitly_and_stated(tmp_path, capsys):
    """eval.perceptual_metric: "texture" is taken as chosen and says so; every later sidecar states the metric
    and why it is not LPIPS; an unknown choice is refused with the key named."""
    import json

    import pandas as pd

    from deepsee.config import load_config
    from deepsee.pipeline import setup
    P = setup("smoke", run_root=str(tmp_path / "runs"), out_dir=str(tmp_path / "out"), data_root=str(tmp_path / "d"),
              interactive=False, overrides=["eval.perceptual_metric=texture"])
    metric = P.perceptual_metric()
    assert metric.name == "TexStatDist (LPIPS substitute)"
    assert "LPIPS not used: eval.perceptual_metric=texture (chosen)" in capsys.readouterr().out
    table = P.out.save_table(pd.DataFrame({"x": [1]}), "t")
    note = json.loads(table.with_suffix(".meta.json").read_text())["note_perceptual_metric"]
    assert note == "TexStatDist (LPIPS substitute) (LPIPS not used: eval.perceptual_metric=texture (chosen))"
    with pytest.raises(ValueError, match="eval.perceptual_metric='alex'"):
        load_config("smoke", ["eval.perceptual_metric=alex"])


def test_a_run_on_shipped_models_draws_only_the_evaluation_splits(tmp_path):
    """make showcase evaluates shipped models: notebook 00 draws val and test only; --retrain, or a profile that
    trains, draws all three."""
    from deepsee.pipeline import setup
    kw = dict(run_root=str(tmp_path / "runs"), out_dir=str(tmp_path / "out"), interactive=False)
    assert setup("showcase", **kw).data_splits() == ("val", "test")
    assert setup("showcase", **kw).data_splits(retrain=True) is None
    assert setup("quick", **kw).data_splits() is None
