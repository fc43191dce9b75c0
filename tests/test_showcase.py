"""Shipped showcase models (issue 22): export with provenance, SHA-256 registry, verification that names
the bad file, ``deepsee weights status``, ``deepsee explore`` without model arguments, the repository's
own shipped models; and the training options the showcase recipe uses (scheduled L1, snapshots)."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
from PIL import Image

from deepsee import showcase
from deepsee.cli import main
from deepsee.config import ABLATION_VARIANTS, load_config
from deepsee.data import render_face
from deepsee.models.deepsee import DeepSEE
from deepsee.train.jobs import stage_folder, stage_folders
from deepsee.train.schedule import Plan, l1_weight
from deepsee.weights import MissingWeightsError, WeightsChecksumError

from fixtures import smoke_segmenter


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished smoke segmenter run and an SR run folder as train-sr leaves it (model/, snapshots/)."""
    root = tmp_path_factory.mktemp("showcase")
    cfg = load_config("smoke", [f"run_root={root / 'runs'}", f"data.root={root / 'data'}", "device=cpu"])
    seg = smoke_segmenter(cfg)
    sr = root / "runs" / "sr-smoke-independent"
    torch.manual_seed(0)
    DeepSEE(cfg.model).save(sr / "snapshots" / "step_00000001")
    DeepSEE(cfg.model).save(sr / "model")
    cfg.save(sr / "config.yaml")
    (sr / "stats.jsonl").write_text('{"step": 2, "g_total": 1.0}\n')
    (sr / "run_info.json").write_text(json.dumps({"steps_done": 2, "elapsed_s": 3.5, "variant": "independent",
                                                  "perceptual_used": "none"}))
    (sr / "ckpt-00000002.safetensors").write_bytes(b"resumable state, not shipped")
    images = root / "images"
    images.mkdir()
    for i in range(3):
        Image.fromarray(render_face(0, 100 + i, 100 + i, 128)[0]).save(images / f"person{i}.png")
    return {"seg": seg, "sr": sr, "images": images, "root": root}


@pytest.fixture
def shipping(tmp_path, monkeypatch):
    """``pretrained/showcase`` and its registry module redirected to ``tmp_path``."""
    registry = tmp_path / "shipped_sha256.py"
    registry.write_text(showcase.REGISTRY_MODULE.read_text().split("FILES:")[0]
                        + "FILES: dict[str, dict[str, str]] = {\n}\n")
    monkeypatch.setattr(showcase, "REGISTRY_MODULE", registry)
    monkeypatch.setattr(showcase, "SHOWCASE_DIR", tmp_path / "pretrained" / "showcase")
    return tmp_path


def test_export_ships_weights_config_log_provenance_and_hashes(trained, shipping):
    seg = showcase.export_run(trained["seg"], "segmenter")
    ind = showcase.export_run(trained["sr"], "independent", snapshot_steps=[1], note="test export")
    for folder in (seg, ind):
        assert {"config.yaml", "stats.jsonl", "run_info.json"} <= {p.name for p in folder.iterdir()}
    assert (seg / "model.safetensors").is_file() and not (seg / "ckpt").exists()
    assert (ind / "model" / "model.safetensors").is_file() and not list(ind.glob("ckpt-*"))
    info = json.loads((ind / "run_info.json").read_text())
    assert info["steps_done"] == 2 and info["images_seen"] == 2 * 2 and info["wall_time_s"] == 3.5
    assert info["machine"]["cpu"] and info["commit"] and info["note"] == "test export"
    registered = showcase.registered()
    assert set(registered) == {"segmenter", "independent"}
    assert "snapshots/step_00000001/model.safetensors" in registered["independent"]
    assert showcase.verify_model("independent") == ind
    assert [s for s, _ in showcase.snapshots("independent")] == [1, 2]
    rows = {r["name"]: r for r in showcase.status_rows()}
    assert rows["showcase_independent"]["ok"] and rows["showcase_segmenter"]["ok"]
    assert not rows["showcase_guided"]["present"]
    assert 0 < showcase.total_size_mb() < 5


def test_a_corrupt_or_missing_shipped_file_is_named(trained, shipping, capsys):
    ind = showcase.export_run(trained["sr"], "independent", snapshot_steps=[1])
    weights = ind / "model" / "model.safetensors"
    original = weights.read_bytes()
    data = bytearray(original)
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    with pytest.raises(WeightsChecksumError, match=r"model/model\.safetensors is corrupt"):
        showcase.shipped("independent")
    assert main(["weights", "status"]) == 0
    assert "showcase_independent" in capsys.readouterr().out
    weights.write_bytes(original)
    assert showcase.shipped("independent") == ind
    (ind / "stats.jsonl").unlink()
    with pytest.raises(MissingWeightsError, match=r"stats\.jsonl is missing"):
        showcase.shipped("independent")
    with pytest.raises(MissingWeightsError, match="no showcase model 'guided' has been shipped"):
        showcase.shipped("guided")
    with pytest.raises(KeyError, match="shipped: segmenter, independent, guided"):
        showcase.shipped("no-such-model")


def test_explore_without_model_arguments_takes_the_shipped_models(trained, shipping, capsys):
    showcase.export_run(trained["seg"], "segmenter")
    ind = showcase.export_run(trained["sr"], "independent")
    out = trained["root"] / "explored"
    assert main(["explore", "--images", str(trained["images"]), "--out", str(out), "--device", "cpu",
                 "--samples", "2", "--no-progress", "--downsample"]) == 0
    err = capsys.readouterr().err
    assert "--model not given: the shipped showcase model" in err and "--segmenter not given" in err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_images"] == 3 and summary["model"].endswith(str(ind.relative_to(shipping)))
    assert all((out / f"person{i}" / "contact_sheet.png").is_file() for i in range(3))


def test_explore_without_shipped_models_says_what_to_pass(trained, shipping, capsys):
    rc = main(["explore", "--images", str(trained["images"]), "--out", str(trained["root"] / "o")])
    assert rc == 1 and "pass --model" in capsys.readouterr().err


def test_the_repository_ships_verified_showcase_models_under_40_mb():
    """The models committed in pretrained/showcase verify against deepsee/shipped_sha256.py."""
    registered = showcase.registered()
    assert {"segmenter", "independent"} <= set(registered), "no showcase models registered"
    for name in registered:
        assert showcase.verify_model(name) == showcase.SHOWCASE_DIR / name
    info = json.loads((showcase.SHOWCASE_DIR / "independent" / "run_info.json").read_text())
    # the emergence figure's points: >= 5 once training is final; an interim model has what it reached
    assert len(showcase.snapshots("independent")) >= (5 if info["status"] == "final" else 4)
    assert info["status"] in ("final", "interim") and info["steps_done"] <= info["planned_steps"]
    assert showcase.total_size_mb() < showcase.SIZE_LIMIT_MB
    cfg = load_config(str(showcase.SHOWCASE_DIR / "independent" / "config.yaml"))
    assert cfg.profile == "showcase" and cfg.data.splits[0] >= 5000


# ------------------------------------------------------------------ the recipe's training options
def test_l1_weight_is_constant_or_decays_with_the_learning_rate():
    plan = Plan(steps_per_epoch=10, const_steps=60, total_steps=90)
    const = load_config("smoke", ["train.lambda_l1=10"]).train
    assert [l1_weight(const, plan, s) for s in (0, 60, 75, 90)] == [10.0] * 4
    decay = load_config("smoke", ["train.lambda_l1=10", "train.lambda_l1_final=1"]).train
    assert [l1_weight(decay, plan, s) for s in (0, 60, 75, 90, 200)] == pytest.approx([10, 10, 5.5, 1, 1])
    with pytest.raises(ValueError, match="train.lambda_l1=-1"):
        load_config("smoke", ["train.lambda_l1=-1"])
    with pytest.raises(ValueError, match="train.snapshot_steps"):
        load_config("smoke", ["train.snapshot_steps=[0]"])


def test_snapshots_are_the_model_at_their_step(tmp_path, tiny_data):
    """A snapshot at step 1 of a 2-step run equals the final model of the same run stopped at step 1."""
    from deepsee.train import train_sr
    a = train_sr(load_config("smoke", [f"run_root={tmp_path}", tiny_data, "train.snapshot_steps=[1]"]),
                 run_dir=tmp_path / "a", progress=False)
    b = train_sr(load_config("smoke", [f"run_root={tmp_path}", tiny_data, "train.max_steps=1"]), run_dir=tmp_path / "b",
                 progress=False)
    snap = DeepSEE.load(a / "snapshots" / "step_00000001").state_dict()
    one, two = DeepSEE.load(b / "model").state_dict(), DeepSEE.load(a / "model").state_dict()
    assert all(torch.equal(snap[k], one[k]) for k in snap)
    assert any(not torch.equal(snap[k], two[k]) for k in snap)


def test_showcase_goal_set_adds_diversity_and_colour_regions():
    from deepsee.eval.style_usage import GOAL_SETS, emergence_row, summarize_style_usage
    div = pd.DataFrame({"K": [16], "scale": [0.3], "l1_all": [0.025]})
    quick = summarize_style_usage({"diversity": div}, goals=GOAL_SETS["quick"])
    show = summarize_style_usage({"diversity": div}, goals=GOAL_SETS["showcase"])
    assert quick.met.iloc[0] == "" and show.met.iloc[0] == "no" and show.goal.iloc[0] == ">= 0.03"
    assert emergence_row(show)["diversity_l1"] == pytest.approx(0.025)
    with pytest.raises(ValueError, match="eval.usage_goals='paper'"):
        load_config("smoke", ["eval.usage_goals=paper"])


def test_train_on_a_fresh_clone_predicts_with_the_shipped_segmenter_and_never_retrains_it(
        trained, shipping, monkeypatch):
    """``deepsee showcase train`` on a clone that ships the final segmenter: the masks come from the shipped
    model, also when a first call already wrote ``seg-drn/pred_masks`` (or was stopped while writing it)."""
    import deepsee.seg
    import deepsee.train.jobs
    seg = showcase.export_run(trained["seg"], "segmenter")
    calls = []

    def predict(cfg, seg_dir, out):
        calls.append(("predict", seg_dir))
        out.mkdir(parents=True, exist_ok=True)
        (out / "0.png").write_bytes(b"")
        if len([c for c in calls if c[0] == "predict"]) > 1:
            (out / "predicted_masks.json").write_text("{}")

    def many(cfgs, segs, **k):
        calls.append(("sr", segs))
        return k["run_dirs"]

    def restarts(runs_, stages, segs, **k):
        calls.append(("restarts", [p.name for p in runs_], stages))
        assert f"data.mask_dir={runs / 'seg-drn' / 'pred_masks'}" in k["overrides"]   # this clone's masks
        return runs_

    def train_sr(*a, **k):   # the kit's orchestration, with the trainings themselves replaced
        return deepsee.train.jobs.train_staged(*a, **k, run_many=many, run_restarts=restarts)

    monkeypatch.setattr(showcase, "STATE_DIR", shipping / "no-state")
    runs = shipping / "runs"
    for _ in range(3):  # 1st: masks half written (stopped); 2nd: finished; 3rd: masks there
        showcase.train(runs, export=False, log=lambda *_: None, predict=predict, train_sr=train_sr,
                       train_seg=lambda *a, **k: calls.append(("train_seg",)))
    assert ("train_seg",) not in calls
    assert [c[1] for c in calls if c[0] == "predict"] == [seg, seg]
    assert [c[1] for c in calls if c[0] == "sr"] == [[str(seg)] * 2] * 3
    stages = load_config("showcase").pipeline.restarts   # the profile's warm restarts follow every time
    assert [c[1:] for c in calls if c[0] == "restarts"] == [(["sr-independent", "sr-guided"], stages)] * 3


def test_save_and_restore_state_keep_the_showcase_runs_and_recipe_candidates(tmp_path):
    """``save-state`` keeps each unfinished SR run's config, log, latest checkpoint and snapshots (not its
    sample grids or older checkpoints), recipe candidates (other ``sr-*`` folders) included; a fresh
    clone's ``train`` restores them all, and never over a run that is already there."""
    runs, state = tmp_path / "runs", tmp_path / "state"
    for name in ("sr-independent", "sr-independent-l1decay", "sr-guided"):
        run = runs / name
        (run / "samples").mkdir(parents=True)
        (run / "samples" / "step_1.png").write_bytes(b"png")
        for f in ("config.yaml", "stats.jsonl", "run_info.json"):
            (run / f).write_text(name)
        if name != "sr-guided":                      # the guided run has no checkpoint yet: nothing to save
            (run / "ckpt-00000500.safetensors").write_bytes(b"old")
            (run / "ckpt-00001000.safetensors").write_bytes(b"new")
            (run / "checkpoint.json").write_text('{"file": "ckpt-00001000.safetensors"}')
    (runs / "sr-independent" / "snapshots" / "step_00000500").mkdir(parents=True)
    (runs / "sr-independent" / "model").mkdir()                 # a finished stage: what the next one branches from
    (runs / "sr-independent" / "model" / "config.json").write_text("{}")
    (runs / "sr-independent" / "branch.json").write_text("{}")
    showcase.save_state(runs, state, log=lambda *_: None)
    assert (state / "sr-independent" / "model" / "config.json").is_file()
    assert (state / "sr-independent" / "branch.json").is_file()
    assert sorted(p.name for p in state.iterdir()) == ["sr-independent", "sr-independent-l1decay"]
    assert sorted(p.name for p in (state / "sr-independent-l1decay").iterdir()) == [
        "checkpoint.json", "ckpt-00001000.safetensors", "config.yaml", "run_info.json", "stats.jsonl"]
    assert (state / "sr-independent" / "snapshots" / "step_00000500").is_dir()
    fresh = tmp_path / "fresh"
    (fresh / "sr-independent").mkdir(parents=True)   # a run already there is left as it is
    assert showcase.restore_state(fresh, state, log=lambda *_: None) == ["sr-independent-l1decay"]
    assert (fresh / "sr-independent-l1decay" / "ckpt-00001000.safetensors").read_bytes() == b"new"
    assert not list((fresh / "sr-independent").iterdir())
    assert showcase.restore_state(tmp_path / "none", tmp_path / "no-state") == []


def test_the_32x_and_ablation_trainings_are_configured_as_issue_31_asks():
    """The 32x model: 8x8 -> 256 on the showcase faces, >= 40,000 images (20,000 steps at batch 2), the locality
    hinge late in the schedule; the ablation variants: the main models' first-stage budget and recipe."""
    from deepsee import showcase
    c = showcase.extreme_config()
    assert (c.model.factor, c.model.lr_size, c.data.hr_size, c.data.synth_n) == (32, 8, 256, 6000)
    assert c.train.schedule_steps * c.train.batch_size >= 40000 and c.pipeline.restarts == []
    assert c.train.lambda_local > 0 and 0 < c.train.local_from < c.train.schedule_steps
    main = showcase.showcase_config("independent", masks="/m")
    for v in ABLATION_VARIANTS:
        a = showcase.showcase_config(v, masks="/m")
        assert a.model.variant == v and a.train.schedule_steps == main.train.schedule_steps == 20000
        assert a.train.batch_size == main.train.batch_size and a.data.mask_dir == "/m"
        assert a.train.lambda_local == main.train.lambda_local == 0      # the first stage has no locality term
    with pytest.raises(ValueError, match="not an ablation variant"):
        showcase.train_ablation(variants=("independent",), log=lambda *_: None)


def test_save_state_leaves_out_a_stage_that_a_later_stage_supersedes(tmp_path):
    """Training continues from the last stage with a checkpoint, so the first stage's state is not kept then."""
    runs, state = tmp_path / "runs", tmp_path / "state"
    stage = stage_folder(runs / "sr-independent", showcase.showcase_config().pipeline.restarts[0]["steps"])
    for run in (runs / "sr-independent", stage, runs / "sr-guided"):
        run.mkdir(parents=True)
        (run / "ckpt-00001000.safetensors").write_bytes(b"x")
        (run / "checkpoint.json").write_text('{"file": "ckpt-00001000.safetensors"}')
    assert sorted(showcase.state_folders(runs)) == ["guided", stage.name]
    showcase.save_state(runs, state, log=lambda *_: None)
    assert sorted(p.name for p in state.iterdir()) == ["sr-guided", stage.name]


def _finished_sr_run(folder, steps=20000):
    (folder / "model").mkdir(parents=True)
    (folder / "model" / "model.safetensors").write_bytes(b"x")
    (folder / "ckpt-00020000.safetensors").write_bytes(b"x")
    (folder / "checkpoint.json").write_text('{"file": "ckpt-00020000.safetensors"}')
    (folder / "run_info.json").write_text(json.dumps({"steps_done": steps, "planned_total_steps": 20000}))


def test_a_finished_ablation_variant_is_not_trained_again_and_the_others_are(tmp_path):
    """Resuming a finished run would append an empty segment and rewrite its model: train_ablation skips it."""
    runs = tmp_path / "runs"
    (runs / "seg-drn" / "pred_masks").mkdir(parents=True)
    (runs / "seg-drn" / "state.json").write_text("{}")
    (runs / "seg-drn" / "pred_masks" / "predicted_masks.json").write_text("{}")
    _finished_sr_run(runs / "sr-prior_only")
    _finished_sr_run(runs / "sr-lr_style_only", steps=8000)     # stopped midway: continues
    calls = []
    out = showcase.train_ablation(runs, variants=("prior_only", "lr_style_only"), export=False, log=lambda *_: None,
                                  state=tmp_path / "no-state", train=lambda cfg, seg, run, **_: calls.append(
                                      (cfg.model.variant, Path(run).name)))
    assert calls == [("lr_style_only", "sr-lr_style_only")]
    assert set(out) == {"prior_only", "lr_style_only"}
    assert showcase.sr_finished(runs / "sr-prior_only") and not showcase.sr_finished(runs / "sr-lr_style_only")


def test_save_state_leaves_out_a_finished_run_that_is_shipped(tmp_path):
    """A finished run whose model ships in pretrained/showcase needs no resumable state; an unfinished one keeps it."""
    runs = tmp_path / "runs"
    _finished_sr_run(runs / "sr-guided")                              # the shipped final guided model's run
    _finished_sr_run(runs / "sr-lr_style_only", steps=8000)
    assert showcase._shipped_final("guided")
    assert sorted(showcase.state_folders(runs)) == ["lr_style_only"]


def test_the_new_showcase_models_have_names_and_folders():
    """Issue 31's 32x and ablation models and issue 32's scenes models are registry names with a training folder."""
    folders = showcase.run_folders(Path("/r"))
    for name in ("independent-32x", "scenes-segmenter", "scenes-independent", *ABLATION_VARIANTS):
        assert name in showcase.MODELS and folders[name].parent == Path("/r")
    assert folders["independent-32x"].name == showcase.EXTREME_RUN
    assert showcase.export_snapshots("independent-32x") == sorted(showcase.extreme_config().train.snapshot_steps)
    assert showcase.export_snapshots("prior_only") is None
    with pytest.raises(ValueError, match="not an LR segmenter"):
        showcase.record_confidence("judge")


def test_notebook_20_takes_every_shipped_model_and_trains_the_rest(trained, shipping, tmp_path):
    """Once the 32x model and an ablation variant ship, the showcase pipeline takes them (verified) instead of
    training them; a model not shipped is trained."""
    from deepsee.pipeline import EXTREME, setup
    x32 = showcase.export_run(trained["sr"], "independent-32x")
    prior = showcase.export_run(trained["sr"], "prior_only")
    P = setup("showcase", run_root=str(tmp_path / "runs"), out_dir=str(tmp_path / "out"), interactive=False,
              overrides=["pipeline.variants=[guided, prior_only]", "pipeline.extreme_profile=showcase-32x",
                         "pipeline.restarts=[]"])
    assert [P.takes_shipped(k) for k in ("guided", "prior_only", EXTREME)] == [False, True, True]
    assert not P.takes_shipped(EXTREME, retrain=True)
    trainings = []

    def train(cfgs, segs, **_):
        trainings.extend(c.model.variant for c in cfgs)
        return [tmp_path / "runs" / f"sr-{c.model.variant}" for c in cfgs]

    runs = P.train_sr_models(train=train)
    assert trainings == ["guided"]
    assert Path(runs[EXTREME]) == x32 and Path(runs["prior_only"]) == prior
    assert P.state.extreme_profile == "showcase-32x"


def test_save_state_prunes_the_state_of_a_model_that_now_ships_final(trained, shipping):
    """Once a new showcase model ships as final, its committed training state goes; a run still training keeps it."""
    runs, state = shipping / "runs", shipping / "state"
    showcase.export_run(trained["sr"], "prior_only")
    showcase.export_run(trained["sr"], "semantics_only")
    for name in ("sr-prior_only", "sr-semantics_only", "sr-lr_style_only"):
        (state / name).mkdir(parents=True)
    _finished_sr_run(runs / "sr-semantics_only", steps=8000)          # shipped, but training on here
    assert showcase.prune_state(runs, state, log=lambda *_: None) == ["sr-prior_only"]
    assert sorted(p.name for p in state.iterdir()) == ["sr-lr_style_only", "sr-semantics_only"]


def _scenes_jobs(tmp_path, state):
    """train_scenes with every job recorded instead of run; returns (calls, result)."""
    calls = []

    def restart(runs, stages, segs, **kw):
        calls.append(("restart", [Path(r).name for r in runs], stages, kw["overrides"]))
        return [stage_folders(r, stages)[-1] for r in runs]

    out = showcase.train_scenes(tmp_path / "runs", export=False, log=lambda *_: None, state=state,
                                train=lambda *a, **k: calls.append("sr"), train_seg=lambda *a, **k: calls.append("seg"),
                                predict=lambda cfg, seg, masks: calls.append(("predict", Path(masks).name)),
                                restart=restart)
    return calls, out


def test_the_scenes_model_restarts_on_predicted_masks_from_the_committed_first_stage(tmp_path):
    """A fresh clone with the committed 20,000-step scenes run trains only the warm restart: the shipped segmenter
    predicts the scenes' masks once, and the stage trains on them ({pred_masks} resolved, also for a resumed stage)."""
    stages = showcase.scenes_config().pipeline.restarts
    assert stages and any("{pred_masks}" in o for o in stages[-1]["set"])
    assert not showcase._shipped_final("scenes-independent")     # shipped at 20,000, its last stage still to train
    state = tmp_path / "state"
    _finished_sr_run(state / showcase.SCENES_RUN)
    calls, (seg, last) = _scenes_jobs(tmp_path, state)
    assert seg == showcase.SHOWCASE_DIR / "scenes-segmenter"
    masks = tmp_path / "runs" / showcase.SCENES_SEG_RUN / "pred_masks"
    assert calls[0] == ("predict", "pred_masks") and len(calls) == 2
    kind, runs, resolved, overrides = calls[1]
    assert kind == "restart" and runs == [showcase.SCENES_RUN]
    assert f"data.mask_dir={masks}" in resolved[-1]["set"] and f"data.mask_dir={masks}" in overrides
    assert not any("{pred_masks}" in o for st in resolved for o in st["set"])
    assert last == stage_folders(tmp_path / "runs" / showcase.SCENES_RUN, stages)[-1]
    assert showcase.final_folders(tmp_path / "runs")["scenes-independent"] == last


def test_a_finished_scenes_restart_is_not_trained_again_and_its_state_is_pruned_once_shipped(tmp_path, shipping,
                                                                                             trained):
    """The last stage finished: nothing trains. Once it ships (steps_done = the last stage's steps), save-state
    drops the committed state of both stages; while the shipped model is the first stage's, the state stays."""
    stages = showcase.scenes_config().pipeline.restarts
    runs, state = tmp_path / "runs", tmp_path / "state"
    first = runs / showcase.SCENES_RUN
    last = stage_folders(first, stages)[-1]
    _finished_sr_run(first)
    _finished_sr_run(last, steps=20000)     # run_info planned_total 20000 -> finished
    calls, (_, out) = _scenes_jobs(tmp_path, tmp_path / "none")
    assert [c for c in calls if c != "seg"] == [] and out == last
    for f in (first, last):
        (state / f.name).mkdir(parents=True)
    model = showcase.export_run(trained["sr"], "scenes-independent")
    info = json.loads((model / "run_info.json").read_text())
    info.update(status="final", steps_done=stages[-1]["steps"] - 1)
    (model / "run_info.json").write_text(json.dumps(info))
    assert showcase.prune_state(runs, state, log=lambda *_: None) == []      # not the last stage's model yet
    info["steps_done"] = stages[-1]["steps"]
    (model / "run_info.json").write_text(json.dumps(info))
    assert sorted(showcase.prune_state(runs, state, log=lambda *_: None)) == sorted([first.name, last.name])


def test_save_state_drops_the_committed_first_stage_once_the_scenes_restart_has_a_checkpoint(tmp_path):
    runs, state = tmp_path / "runs", tmp_path / "state"
    first = runs / showcase.SCENES_RUN
    last = stage_folders(first, showcase.scenes_config().pipeline.restarts)[-1]
    _finished_sr_run(first)
    _finished_sr_run(last, steps=1000)
    (state / first.name).mkdir(parents=True)
    showcase.save_state(runs, state, log=lambda *_: None)
    assert not (state / first.name).exists() and (state / last.name / "checkpoint.json").is_file()
