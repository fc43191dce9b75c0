"""SR training (supplementary Section 2.2): schedule, per-variant steps, checkpoints, resume, DDP.

Runs on the smoke profile with a tiny in-memory stand-in dataset (``TinyFaces``), so the tests do not
depend on dataset generation; one test uses the kit's SynthFaces when it is available.
"""
from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

import pytest
import torch

from deepsee.config import VARIANTS, load_config
from deepsee.models import DeepSEE, build_discriminator
from deepsee.train import CheckpointError, Plan, SRTrainer, lr_multiplier, read_checkpoint, train_sr
from deepsee.train.checkpoint import write_checkpoint
from deepsee.train.data import EpochSampler, SeededItems, item_seed
from deepsee.train.samples import fixed_batch, grid_image
from deepsee.train.schedule import (PlanMultiplier, budget_plan, build_optimizers, build_schedulers, epoch_plan,
                                    refit_plan)
from deepsee.models.masks import to_onehot
from deepsee.train.step import choose_style
from fixtures import TinyFaces


# ------------------------------------------------------------------------------------- stand-ins
def smoke(tmp_path, *overrides):
    return load_config("smoke", [f"run_root={tmp_path / 'runs'}", *overrides])


def trainer_for(cfg, seed=0):
    torch.manual_seed(seed)
    model, disc = DeepSEE(cfg.model), build_discriminator(cfg.model)
    return SRTrainer(model, disc, cfg, Plan(16, 16, 32))


def batch_for(cfg, guided=False, n=2):
    return fixed_batch(TinyFaces(cfg, "train", train=True, guided=guided), n)


# -------------------------------------------------------------------------------------- schedule
def test_lr_multiplier_constant_then_linear_to_zero():
    assert lr_multiplier(0, 8, 12) == 1.0
    assert lr_multiplier(7, 8, 12) == 1.0
    assert lr_multiplier(8, 8, 12) == 1.0
    assert lr_multiplier(10, 8, 12) == pytest.approx(0.5)
    assert lr_multiplier(12, 8, 12) == 0.0
    assert lr_multiplier(20, 8, 12) == 0.0


def test_learning_rates_of_every_group_start_mid_decay_end():
    cfg = load_config("smoke")
    model, disc = DeepSEE(cfg.model), build_discriminator(cfg.model)
    opt_g, opt_d = build_optimizers(model, disc, cfg.train)
    assert opt_g.defaults["betas"] == (0.0, 0.9) and opt_d.defaults["betas"] == (0.0, 0.9)
    scheds = build_schedulers([opt_g, opt_d], PlanMultiplier(Plan(4, 8, 12)))
    base = {"generator": 1e-4, "lr_encoder": 2.5e-5, "hr_encoder": 1e-4, "shared_encoder": 1e-4,
            "discriminator": 4e-4}

    def lrs():
        return {g["name"]: g["lr"] for o in (opt_g, opt_d) for g in o.param_groups}

    assert lrs() == pytest.approx(base)
    for step in range(1, 13):
        opt_g.step(), opt_d.step()
        for s in scheds:
            s.step()
        if step == 8:
            assert lrs() == pytest.approx(base)
        if step == 10:
            assert lrs() == pytest.approx({k: v * 0.5 for k, v in base.items()})
    assert lrs() == pytest.approx({k: 0.0 for k in base})
    # Every trainable parameter sits in exactly one group; style-noise weights go with the shared encoder.
    names = {id(p): n for n, p in model.named_parameters()}
    shared = [names[id(p)] for g in opt_g.param_groups if g["name"] == "shared_encoder" for p in g["params"]]
    assert any(n.startswith("style_noise") for n in shared)


def test_epoch_and_budget_plans():
    cfg = load_config("paper")
    plan = epoch_plan(cfg.train, 162_770, world_size=1)
    assert plan.steps_per_epoch == 40_692 and plan.const_steps == 5 * 40_692 and plan.total_steps == 8 * 40_692
    assert epoch_plan(cfg.train, 162_770, world_size=4).steps_per_epoch == 162_770 // 16
    short = budget_plan(plan, cfg.train, 800)
    assert (short.total_steps, short.const_steps, short.source) == (800, 500, "budget")
    assert lr_multiplier(short.total_steps, short.const_steps, short.total_steps) == 0.0
    assert budget_plan(plan, cfg.train, 10**9).total_steps == plan.total_steps
    with pytest.raises(ValueError, match="fewer than one batch"):
        epoch_plan(cfg.train, 3)


def test_refit_plan_keeps_the_rate_continuous():
    cfg = load_config("smoke")                       # epochs 1 + 1
    base = Plan(100, 100, 200)
    plan = refit_plan(base, base, cfg.train, 10, 60)       # constant phase: proportion kept
    assert (plan.const_steps, plan.total_steps) == (30, 60)
    late = refit_plan(base, base, cfg.train, 40, 60)       # past the new constant end: decay starts now
    assert (late.const_steps, late.total_steps) == (40, 60)
    before = lr_multiplier(45, plan.const_steps, plan.total_steps)    # in the decay, the machine slowed
    slower = refit_plan(plan, base, cfg.train, 45, 50)
    assert lr_multiplier(45, slower.const_steps, slower.total_steps) == pytest.approx(before)
    assert lr_multiplier(50, slower.const_steps, slower.total_steps) == 0.0
    faster = refit_plan(plan, base, cfg.train, 45, 500)           # never beyond the epoch plan
    assert faster.total_steps == 200
    assert lr_multiplier(45, faster.const_steps, faster.total_steps) == pytest.approx(before)


# ---------------------------------------------------------------------------------------- style
def test_choose_style_per_variant():
    ind = ("lr", "hr")
    assert choose_style(ind, (0.1, 0.9)) == ("lr", False)
    assert choose_style(ind, (0.7, 0.2)) == ("hr", True)
    assert choose_style(ind, (0.3, 0.9), hr_share=0.75) == ("hr", False)   # train.hr_style_share
    assert choose_style(ind, (0.2, 0.9), hr_share=0.75) == ("lr", False)
    assert choose_style(ind, (0.99, 0.9), hr_share=0.0) == ("lr", False)
    assert choose_style(("hr",), (0.9, 0.9)) == ("hr", True)      # guided / hr_style_only: noise always
    assert choose_style(("lr",), (0.1, 0.9)) == ("lr", True)
    assert choose_style((), (0.1, 0.1)) == (None, False)


@pytest.mark.parametrize("variant", VARIANTS)
def test_one_step_per_variant_changes_weights_and_stays_finite(tmp_path, variant):
    cfg = smoke(tmp_path, f"model.variant={variant}", "train.lambda_l1=1.0")
    t = trainer_for(cfg)
    before = {k: v.clone() for k, v in t.model.state_dict().items()}
    d_before = {k: v.clone() for k, v in t.disc.state_dict().items()}
    losses = t.train_step(batch_for(cfg, guided=variant == "guided"))
    assert t.step == 1 and all(torch.isfinite(torch.tensor(v)) for v in losses.values())
    assert {"g_adv", "g_feat", "g_l1", "g_total", "d_real", "d_fake", "d_total"} <= set(losses)
    after, d_after = t.model.state_dict(), t.disc.state_dict()
    assert all(torch.isfinite(v.float()).all() for v in list(after.values()) + list(d_after.values()))
    assert not torch.equal(before["generator.out_conv.weight"], after["generator.out_conv.weight"])
    assert any(not torch.equal(d_before[k], d_after[k]) for k in d_before)
    changed = {k.split(".")[0] for k in before if not torch.equal(before[k], after[k])}
    sources = t.sources
    if sources:
        assert "shared_encoder" in changed
        used = ("lr" if losses["style_lr"] else "hr") if len(sources) > 1 else sources[0]
        assert f"{used}_encoder" in changed
        if len(sources) > 1:   # the encoder the coin did not pick is untouched
            assert ({"lr", "hr"} - {used}).pop() + "_encoder" not in changed


@pytest.mark.parametrize("mode,calls", [("regenerate", 2), ("detach", 1)])
def test_d_step_fake_regenerated_or_detached(tmp_path, mode, calls):
    cfg = smoke(tmp_path, f"train.d_fake={mode}")
    t = trainer_for(cfg)
    seen = []
    t.generate.register_forward_hook(lambda m, i, o: seen.append(torch.is_grad_enabled()))
    t.train_step(batch_for(cfg))
    assert seen == [True, False][:calls]
    with pytest.raises(ValueError, match="train.d_fake"):
        trainer_for(smoke(tmp_path, "train.d_fake=reuse"))


def test_grad_checkpointing_gives_the_same_step(tmp_path):
    cfg = smoke(tmp_path)
    batch = batch_for(cfg)
    results = []
    for gc in (False, True):
        torch.manual_seed(0)
        model = DeepSEE(cfg.model, grad_checkpoint=gc)
        assert all(nb.grad_checkpoint == gc for nb in model.generator.norm_blocks())
        t = SRTrainer(model, build_discriminator(cfg.model), cfg, Plan(16, 16, 32))
        torch.manual_seed(1)
        t.train_step(batch)
        results.append(t.model.state_dict())
    for k in results[0]:
        assert torch.allclose(results[0][k], results[1][k], atol=1e-6), k


def test_bf16_autocast_step_is_finite(tmp_path):
    cfg = smoke(tmp_path, "train.amp=bf16")
    t = trainer_for(cfg)
    losses = t.train_step(batch_for(cfg))
    assert all(torch.isfinite(torch.tensor(v)) for v in losses.values())
    with pytest.raises(ValueError, match="train.amp"):
        trainer_for(smoke(tmp_path, "train.amp=int8"))


def test_locality_walk_moves_one_present_class_and_masks_it_out():
    from deepsee.train.step import locality_walk
    labels = torch.zeros(3, 8, 8, dtype=torch.long)
    labels[0, :4], labels[1, :, :2], labels[2] = 5, 7, 2          # sample 2: one class only
    onehot = to_onehot(labels, 10)
    draws = [locality_walk(onehot, 0.6, torch.Generator().manual_seed(s)) for s in range(20)]
    for walk, outside in draws:
        assert walk.shape == (3, 10) and outside.shape == (3, 1, 8, 8)
        for b in range(3):
            (cls,) = walk[b].nonzero().flatten().tolist()
            assert abs(float(walk[b, cls])) == pytest.approx(0.6)
            assert onehot[b, cls].any()                            # a class present in that mask
            assert torch.equal(outside[b, 0], 1 - onehot[b, cls])  # outside = every other pixel
    assert {int(w[0].nonzero()) for w, _ in draws} == {0, 5}       # both present classes get drawn
    assert {int(w[2].nonzero()) for w, _ in draws} == {2}
    assert {float(w[1].sum().sign()) for w, _ in draws} == {-1.0, 1.0}
    a, b = locality_walk(onehot, 0.6, torch.Generator().manual_seed(3)), draws[3]
    assert torch.equal(a[0], b[0])                                 # seeded


def test_locality_hinge_penalises_only_walks_below_the_ratio():
    from deepsee.train.step import locality_loss
    out = torch.zeros(2, 3, 4, 4)
    outside = torch.ones(2, 1, 4, 4)
    outside[:, :, :2] = 0                                      # the walked class: the top half
    walked = out.clone()
    walked[:, :, :2] = 0.5                                     # inside change 0.5 in both samples
    walked[0, :, 2:] = 0.01                                    # sample 0: ratio 50, sample 1: ratio 5
    walked[1, :, 2:] = 0.1
    assert float(locality_loss(walked, out, outside)) == pytest.approx((0.01 + 0.1) / 2)   # all outside change
    assert float(locality_loss(walked, out, outside, ratio=10)) == pytest.approx((0.1 - 0.05) / 2)   # sample 1 only
    assert float(locality_loss(walked, out, outside, ratio=4)) == 0.0                     # both local enough
    w = walked.clone().requires_grad_()
    locality_loss(w, out, outside, ratio=10).backward()
    assert (w.grad[1, :, :2] < 0).all() and (w.grad[1, :, 2:] > 0).all()   # more inside, less outside change
    assert (w.grad[0] == 0).all()


def test_locality_term_starts_at_local_from(tmp_path):
    cfg = smoke(tmp_path, "train.lambda_local=1", "train.local_from=2", "model.variant=lr_style_only")
    t = trainer_for(cfg)
    batch = batch_for(cfg)
    assert ["g_local" in t.train_step(batch) for _ in range(3)] == [False, False, True]


def test_locality_term_lowers_what_a_region_walk_moves_outside(tmp_path):
    # Two runs from the same weights on the same batch, with and without the term (on a fixed walk):
    # with it, the walk moves the pixels outside its class less; without it, no g_local is logged.
    from deepsee.train.step import locality_loss, locality_walk
    common = ["model.variant=lr_style_only", "train.lambda_feat=0", "train.lambda_vgg=0", "train.perceptual=none",
              "train.lr_g=0.001", "train.lambda_l1=1"]
    batch = batch_for(smoke(tmp_path, *common))
    onehot = to_onehot(batch["mask"], smoke(tmp_path).model.num_classes)
    walk, outside = locality_walk(onehot, 0.6, torch.Generator().manual_seed(0))
    moved = {}
    for weight in (0, 100):
        t = trainer_for(smoke(tmp_path, *common, f"train.lambda_local={weight}"))
        t.local_generator = lambda: torch.Generator().manual_seed(0)   # always the measured walk
        for _ in range(8):
            losses = t.train_step(batch)
            assert ("g_local" in losses) == (weight > 0)
        t.model.eval()
        with torch.no_grad():
            s = t.model.encode_style(batch["lr"], batch["mask"], source="lr")
            out = t.model(batch["lr"], batch["mask"], s)
            walked = t.model(batch["lr"], batch["mask"], (s + walk[..., None]).clamp(-1, 1))
        moved[weight] = float(locality_loss(walked, out, outside))
    assert moved[100] < 0.5 * moved[0]
    with pytest.raises(ValueError, match="train.lambda_local"):
        smoke(tmp_path, "train.lambda_local=-1")
    with pytest.raises(ValueError, match="train.local_delta"):
        smoke(tmp_path, "train.local_delta=0")


# ------------------------------------------------------------------------------------ data order
def test_sampler_shards_resumes_and_is_seeded():
    full = EpochSampler(10, seed=3)
    full.set_epoch(2)
    order = [i for i, _ in full]
    assert sorted(order) == list(range(10))
    again = EpochSampler(10, seed=3)
    again.set_epoch(2)
    again.set_start(4)
    assert [i for i, _ in again] == order[4:]
    other = EpochSampler(10, seed=3)
    other.set_epoch(3)
    assert [i for i, _ in other] != order
    r0, r1 = (EpochSampler(11, seed=3, rank=r, world_size=2) for r in (0, 1))
    a, b = [i for i, _ in r0], [i for i, _ in r1]
    assert len(a) == len(b) == 5 and not set(a) & set(b)
    assert next(iter(full))[1] == item_seed(3, 2, order[0])


def test_seeded_items_are_reproducible_and_leave_global_rng_alone():
    cfg = load_config("smoke")
    items = SeededItems(TinyFaces(cfg, "train", train=True))
    state = torch.get_rng_state()
    flips = [torch.equal(items[(0, s)]["hr"], items.dataset.hr[0]) for s in range(16)]
    assert torch.equal(torch.get_rng_state(), state)
    assert flips == [torch.equal(items[(0, s)]["hr"], items.dataset.hr[0]) for s in range(16)]
    assert 0 < sum(flips) < 16          # the flip still happens, deterministically per seed


def test_sample_grid_layout():
    cfg = load_config("smoke")
    b = fixed_batch(TinyFaces(cfg, "val"), 3)
    grid = grid_image(b["lr"], b["mask"], b["hr"], b["hr"], pad=2)
    assert grid.shape == (3 * 66, 4 * 66, 3) and grid.dtype.name == "uint8"
    # columns 3 and 4 show the same image here
    assert (grid[:64, 132:196] == grid[:64, 198:262]).all()


# ---------------------------------------------------------------------------------- train + files
def test_train_sr_writes_run_folder(tmp_path, tiny_data):
    cfg = smoke(tmp_path, tiny_data, "train.max_steps=3", "train.save_every=2", "train.sample_every=2")
    run = train_sr(cfg, progress=False)
    assert run.name == "sr-smoke-independent"
    for name in ("config.yaml", "run_info.json", "stats.jsonl", "checkpoint.json", "model/model.safetensors"):
        assert (run / name).is_file(), name
    assert sorted(p.name for p in (run / "samples").glob("*.png")) == ["step_00000002.png", "step_00000003.png"]
    assert [p.name for p in run.glob("ckpt-*.safetensors")] == ["ckpt-00000003.safetensors"]
    info = json.loads((run / "run_info.json").read_text())
    assert info["perceptual_used"].startswith("none") and info["stopped_by"] == "max_steps"
    assert info["planned_total_steps"] == 32 and info["steps_done"] == 3
    stats = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    assert [s["step"] for s in stats] == [1, 2, 3]
    assert stats[0]["lr"]["lr_encoder"] == pytest.approx(2.5e-5) and stats[0]["img_per_s"] > 0
    model = DeepSEE.load(run / "model")
    tensors, meta = read_checkpoint(run)
    assert torch.equal(model.state_dict()["generator.out_conv.weight"], tensors["G.generator.out_conv.weight"])
    with pytest.raises(FileExistsError, match="resume"):
        train_sr(cfg, run_dir=run, progress=False)


def test_wall_clock_budget_compresses_the_schedule(tmp_path, tiny_data, monkeypatch):
    """train.max_minutes: the plan shrinks to the steps that fit and still decays to zero."""
    import types
    import deepsee.train.loop as loop
    clock = {"t": 0.0}
    monkeypatch.setattr(loop, "time", types.SimpleNamespace(perf_counter=lambda: clock["t"]))
    step = SRTrainer.train_step

    def timed(self, batch):           # every step costs one (fake) second
        clock["t"] += 1.0
        return step(self, batch)

    monkeypatch.setattr(SRTrainer, "train_step", timed)
    # 32 items / batch 4 = 8 steps per epoch; epochs 1 + 1 = 16 steps; the budget fits about 9.
    cfg = smoke(tmp_path, tiny_data, "train.batch_size=4", "train.max_steps=0", "train.max_minutes=0.15",
                "train.save_every=0", "train.sample_every=0")
    run = train_sr(cfg, progress=False)
    info = json.loads((run / "run_info.json").read_text())
    plan = info["plan"]
    assert info["epoch_plan_total_steps"] == 16
    assert plan["source"] == "budget" and 6 <= plan["total_steps"] < 16
    assert info["steps_done"] == plan["total_steps"] and info["stopped_by"] == "schedule"
    assert all(v == 0.0 for v in info["lr_at_end"].values())


def test_step_budget_fixes_the_schedule_and_the_result(tmp_path, tiny_data):
    """train.schedule_steps: the schedule (constant 1/2, decay 1/2 for epochs 1 + 1) ends at exactly
    that step, whatever the data size; two runs give identical weights (no clock involved)."""
    common = ["train.batch_size=4", "train.max_steps=0", "train.schedule_steps=5", "train.save_every=0",
              "train.sample_every=0"]
    runs = [train_sr(smoke(tmp_path, tiny_data, *common), run_dir=tmp_path / f"r{i}", progress=False) for i in range(2)]
    info = json.loads((runs[0] / "run_info.json").read_text())
    assert info["plan"]["source"] == "steps" and info["plan"]["total_steps"] == 5
    assert info["plan"]["const_steps"] == 2          # round(5 * 1 / 2) = 2 (banker's rounding of 2.5)
    assert info["steps_done"] == 5 and info["stopped_by"] == "schedule" and info["schedule_steps"] == 5
    assert all(v == 0.0 for v in info["lr_at_end"].values())
    a, b = (read_checkpoint(r)[0] for r in runs)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_minute_budgets_of_earlier_versions_name_their_replacement():
    from deepsee.config import load_config
    with pytest.raises(KeyError, match="pipeline.main_steps"):
        load_config("quick", ["pipeline.main_minutes=5"])
    for profile in ("quick", "quick-32x"):   # the shipped profiles use no wall-clock budget
        cfg = load_config(profile)
        assert cfg.train.max_minutes == 0 and cfg.seg.max_minutes == 0
        assert cfg.train.schedule_steps > 0 and cfg.seg.max_steps > 0


def _all_tensors(run):
    tensors, meta = read_checkpoint(run)
    return tensors, meta


@pytest.mark.parametrize("variant,batch,extra", [("independent", 2, ()), ("guided", 4, ()),
                                                 ("independent", 2, ("train.lambda_local=5",))])
def test_resume_is_bit_for_bit(tmp_path, tiny_data, monkeypatch, variant, batch, extra):
    # 12 items, batch 4: 3 steps per epoch, so 2 + 3 crosses an epoch boundary after the resume.
    monkeypatch.setitem(TinyFaces.SIZES, "train", 12)
    common = [f"model.variant={variant}", f"train.batch_size={batch}", "train.save_every=1", *extra]
    whole = train_sr(smoke(tmp_path, tiny_data, "train.max_steps=5", *common), run_dir=tmp_path / "whole", progress=False)
    part = train_sr(smoke(tmp_path, tiny_data, "train.max_steps=2", *common), run_dir=tmp_path / "part", progress=False)
    part = train_sr(smoke(tmp_path, tiny_data, "train.max_steps=5", *common), run_dir=part, resume=True, progress=False)
    ta, ma = _all_tensors(whole)
    tb, mb = _all_tensors(part)
    assert ma["step"] == mb["step"] == 5 and set(ta) == set(tb)
    differ = [k for k in ta if not torch.equal(ta[k], tb[k])]
    assert differ == []
    assert json.loads((part / "run_info.json").read_text())["resumed_from"] == [2]
    steps = [json.loads(x)["step"] for x in (part / "stats.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5]


def test_resume_after_kill_between_checkpoints(tmp_path, tiny_data, monkeypatch):
    whole = train_sr(smoke(tmp_path, tiny_data, "train.max_steps=4", "train.save_every=2"), run_dir=tmp_path / "w",
                     progress=False)
    import deepsee.train.loop as loop

    def killed(self, elapsed, stopped_by):
        raise KeyboardInterrupt("killed after step 3")

    with monkeypatch.context() as m:     # killed after step 3: checkpoint of step 2, stats up to step 3
        m.setattr(loop._Run, "_finish", killed)
        with pytest.raises(KeyboardInterrupt):
            train_sr(smoke(tmp_path, tiny_data, "train.max_steps=3", "train.save_every=2"), run_dir=tmp_path / "p",
                     progress=False)
    part = tmp_path / "p"
    assert read_checkpoint(part)[1]["step"] == 2
    train_sr(smoke(tmp_path, tiny_data, "train.max_steps=4", "train.save_every=2"), run_dir=part, resume=True,
             progress=False)
    ta, _ = _all_tensors(whole)
    tb, _ = _all_tensors(part)
    assert [k for k in ta if not torch.equal(ta[k], tb[k])] == []
    steps = [json.loads(x)["step"] for x in (part / "stats.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]


def test_truncated_checkpoint_is_detected(tmp_path, tiny_data):
    run = train_sr(smoke(tmp_path, tiny_data, "train.max_steps=1"), run_dir=tmp_path / "r", progress=False)
    data = next(run.glob("ckpt-*.safetensors"))
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    with pytest.raises(CheckpointError, match=data.name):
        read_checkpoint(run)
    with pytest.raises(CheckpointError, match="truncated"):
        train_sr(smoke(tmp_path, tiny_data, "train.max_steps=2"), run_dir=run, resume=True, progress=False)
    (run / "checkpoint.json").write_text('{"file": ')
    with pytest.raises(CheckpointError, match="checkpoint.json"):
        read_checkpoint(run)
    with pytest.raises(FileNotFoundError, match="no training checkpoint"):
        read_checkpoint(tmp_path)


def test_failed_write_keeps_previous_checkpoint(tmp_path, monkeypatch):
    write_checkpoint(tmp_path, 1, {"w": torch.ones(3)}, {"note": "first"})
    import deepsee.train.checkpoint as ck

    def boom(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"partial")
        raise KeyboardInterrupt("killed while writing")

    monkeypatch.setattr(ck, "save_file", boom)
    with pytest.raises(KeyboardInterrupt):
        write_checkpoint(tmp_path, 2, {"w": torch.zeros(3)}, {"note": "second"})
    tensors, meta = read_checkpoint(tmp_path)
    assert meta["step"] == 1 and torch.equal(tensors["w"], torch.ones(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.json", "ckpt-00000001.safetensors"]


def test_tensorboard_needs_package(tmp_path, tiny_data):
    try:
        import tensorboard  # noqa: F401
        pytest.skip("tensorboard installed")
    except ImportError:
        pass
    with pytest.raises(RuntimeError, match="tensorboard"):
        train_sr(smoke(tmp_path, tiny_data, "train.tensorboard=true"), progress=False)
    assert not (tmp_path / "runs").exists()      # stopped before creating a run folder


def test_tensorboard_logging_with_stand_in_writer(tmp_path, tiny_data, monkeypatch):
    import types
    calls = []

    class Writer:
        def __init__(self, logdir, purge_step=None):
            calls.append(("init", Path(logdir).name))

        def add_scalar(self, tag, value, step):
            calls.append(("scalar", tag, step))

        def add_image(self, tag, image, step, dataformats="CHW"):
            calls.append(("image", tag, step, image.shape, dataformats))

        def close(self):
            calls.append(("close",))

    monkeypatch.setitem(sys.modules, "tensorboard", types.ModuleType("tensorboard"))
    fake = types.ModuleType("torch.utils.tensorboard")
    fake.SummaryWriter = Writer
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", fake)
    train_sr(smoke(tmp_path, tiny_data, "train.tensorboard=true", "train.max_steps=2", "train.sample_every=2"),
             progress=False)
    assert calls[0] == ("init", "tensorboard") and calls[-1] == ("close",)
    assert ("scalar", "train/g_total", 2) in calls and ("scalar", "lr/lr_encoder", 1) in calls
    assert ("image", "samples", 2, (4 * 66, 4 * 66, 3), "HWC") in calls


def test_vgg_missing_stops_before_run_folder(tmp_path, tiny_data, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(Exception, match="vgg19-dcbb9e9d.pth"):
        train_sr(smoke(tmp_path, tiny_data, "train.perceptual=vgg19"), progress=False)
    assert not (tmp_path / "runs").exists()


def test_cli_train_and_resume(tmp_path, tiny_data, capsys):
    from deepsee.cli import main
    root = tmp_path / "runs"
    assert main(["train-sr", "--config", "smoke", "--set", f"run_root={root}", "--set", "train.max_steps=1",
                 "--set", tiny_data, "--no-progress"]) == 0
    run = root / "sr-smoke-independent"
    assert "trained model" in capsys.readouterr().out
    assert main(["train-sr", "--resume", str(run), "--set", "train.max_steps=2", "--no-progress"]) == 0
    assert read_checkpoint(run)[1]["step"] == 2
    assert main(["train-sr", "--resume", str(tmp_path / "nothing"), "--no-progress"]) == 1


def test_train_on_synthfaces_smoke(tmp_path, data_root):
    """The real data layer (smoke SynthFaces generated on the fly), not the stand-in."""
    run = train_sr(smoke(tmp_path, "train.max_steps=2", "model.variant=guided"), progress=False)
    assert (run / "model" / "model.safetensors").is_file()


# ------------------------------------------------------------------------------------------- DDP
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, root: str, tests_dir: str) -> None:
    sys.path.insert(0, tests_dir)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    import deepsee.train.loop as loop
    from safetensors.torch import save_file
    loop.build_dataset = TinyFaces
    writes: list[str] = []
    if rank != 0:   # record any file write attempted by a non-zero rank
        for name in ("append_jsonl", "atomic_write_text", "write_json", "write_checkpoint", "save_png",
                     "new_run_dir"):
            setattr(loop, name, lambda *a, _n=name, **k: writes.append(_n))
        DeepSEE.save = lambda self, d: writes.append("DeepSEE.save")
    holder = {}

    class Keep(SRTrainer):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            holder["t"] = self

    loop.SRTrainer = Keep
    cfg = load_config("smoke", [f"run_root={root}/runs", "train.max_steps=2", "train.save_every=2"])
    train_sr(cfg, run_dir=Path(root) / "ddp", progress=False)
    t = holder["t"]
    params = {f"G.{k}": v.detach().clone() for k, v in t.model.named_parameters()}
    params.update({f"D.{k}": v.detach().clone() for k, v in t.disc.named_parameters()})
    out = Path(root) / "replicas"
    out.mkdir(exist_ok=True)
    save_file(params, str(out / f"rank{rank}.safetensors"))
    (out / f"rank{rank}.json").write_text(json.dumps({"writes": writes, "step": t.step,
                                                      "world": t.info.world_size}))


@pytest.mark.slow
def test_ddp_two_cpu_processes(tmp_path):
    import torch.multiprocessing as mp
    from safetensors.torch import load_file
    mp.spawn(_ddp_worker, args=(2, _free_port(), str(tmp_path), str(Path(__file__).parent)), nprocs=2,
             join=True)
    out = tmp_path / "replicas"
    r0, r1 = (load_file(str(out / f"rank{r}.safetensors")) for r in (0, 1))
    assert set(r0) == set(r1)
    assert [k for k in r0 if not torch.equal(r0[k], r1[k])] == []
    info0, info1 = (json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1))
    assert info0["world"] == info1["world"] == 2 and info0["step"] == info1["step"] == 2
    assert info1["writes"] == []
    run = tmp_path / "ddp"
    assert (run / "model" / "model.safetensors").is_file() and (run / "checkpoint.json").is_file()
    ckpt, meta = read_checkpoint(run)
    assert meta["world_size"] == 2 and len(meta["rng"]) == 2
    assert torch.equal(ckpt["G.generator.out_conv.weight"], r0["G.generator.out_conv.weight"])
    # 32 items / (batch 2 x 2 processes) = 8 steps per epoch
    assert json.loads((run / "run_info.json").read_text())["plan"]["steps_per_epoch"] == 8


@pytest.mark.slow
def test_parallel_training_runs_give_the_weights_of_one_after_the_other(tmp_path, data_root):
    """pipeline.train_workers: two runs in two spawned processes (one thread each) end with exactly
    the weights of the same runs trained here one after the other with one thread."""
    from deepsee.data import ensure_synthfaces
    from deepsee.train.jobs import train_many
    base = ["train.max_steps=0", "train.schedule_steps=3", "train.save_every=0", "train.sample_every=0"]
    ensure_synthfaces(smoke(tmp_path))
    cfgs = [smoke(tmp_path / "par", *base, f"model.variant={v}") for v in ("independent", "guided")]
    par = train_many(cfgs, workers=2, threads=1, progress=False)
    torch.set_num_threads(2)
    try:
        seq = train_many([smoke(tmp_path / "seq", *base, f"model.variant={v}") for v in ("independent", "guided")],
                         workers=1, threads=1, progress=False)
        assert torch.get_num_threads() == 2            # the caller's thread count is left as it was
    finally:
        torch.set_num_threads(1)
    assert [p.name for p in par] == [p.name for p in seq] == ["sr-smoke-independent", "sr-smoke-guided"]
    for a, b in zip(par, seq):
        ta, tb = read_checkpoint(a)[0], read_checkpoint(b)[0]
        assert set(ta) == set(tb) and all(torch.equal(ta[k], tb[k]) for k in ta)
    bad = [smoke(tmp_path / "bad", *base, "data.dataset=folder", f"data.root={tmp_path / 'missing'}")] * 2
    with pytest.raises(RuntimeError, match="smoke/independent"):
        train_many(bad, workers=2, threads=1, progress=False)


def test_branch_without_a_new_schedule_is_a_resume_and_a_longer_one_warm_restarts(tmp_path, tiny_data, capsys):
    from deepsee.cli import main
    from deepsee.train.loop import branch_run
    common = ["train.batch_size=4", "train.save_every=1", "train.sample_every=0", "train.schedule_steps=5"]
    whole = train_sr(smoke(tmp_path, tiny_data, "train.max_steps=0", *common), run_dir=tmp_path / "whole", progress=False)
    part = train_sr(smoke(tmp_path, tiny_data, "train.max_steps=2", *common), run_dir=tmp_path / "part", progress=False)
    before = read_checkpoint(part)[0]
    # the same schedule: a branch is the resume of its source, bit for bit, and leaves the source alone
    same = branch_run(part, tmp_path / "same", ["train.max_steps=0"])
    same = train_sr(load_config(str(same / "config.yaml")), run_dir=same, resume=True, progress=False)
    ta, tb = read_checkpoint(whole)[0], read_checkpoint(same)[0]
    assert [k for k in ta if not torch.equal(ta[k], tb[k])] == []
    assert all(torch.equal(before[k], v) for k, v in read_checkpoint(part)[0].items())
    # a finished run (rate 0 at step 5) trained on with a longer schedule, through the CLI
    assert main(["train-sr", "--branch", str(whole), "--run-dir", str(tmp_path / "longer"),
                 "--set", "train.schedule_steps=8", "--no-progress"]) == 0
    info = json.loads((tmp_path / "longer" / "run_info.json").read_text())
    assert info["steps_done"] == 8 and info["plan"]["total_steps"] == 8
    assert info["branched_from"]["step"] == 5 and info["branched_from"]["overrides"] == ["train.schedule_steps=8"]
    steps = [json.loads(x)["step"] for x in (tmp_path / "longer" / "stats.jsonl").read_text().splitlines()]
    assert steps == list(range(1, 9))
    assert (tmp_path / "longer" / "snapshots" / "step_00000005" / "model.safetensors").is_file()   # the source's final
    tl = read_checkpoint(tmp_path / "longer")[0]
    assert any(not torch.equal(ta[k], tl[k]) for k in ta if k.startswith("G."))   # the rate is up again
    with pytest.raises(ValueError, match="branch step 5"):
        branch_run(whole, tmp_path / "short", ["train.schedule_steps=5"])
    assert main(["train-sr", "--branch", str(whole), "--no-progress"]) == 1      # no --run-dir: refused
    assert "--run-dir" in capsys.readouterr().err


def test_warm_restart_stages_continue_a_finished_run_and_resume(tmp_path, tiny_data):
    from deepsee.config import restart_stages
    from deepsee.train.jobs import stage_folder, train_restarts
    common = ["train.batch_size=4", "train.save_every=1", "train.sample_every=0", "train.schedule_steps=4",
              "train.snapshot_steps=[2]", "train.max_steps=0"]
    base = train_sr(smoke(tmp_path, tiny_data, *common), run_dir=tmp_path / "sr-independent", progress=False)
    stages = [{"steps": 6, "snapshots": [5]}, {"steps": 8, "set": ["train.lambda_local=5"]}]
    final = train_restarts([base], stages, workers=1, threads=1, progress=False)[0]
    assert final == stage_folder(base, 8) == tmp_path / "sr-independent-8"
    info = json.loads((final / "run_info.json").read_text())
    assert info["steps_done"] == 8 and info["branched_from"]["step"] == 6
    assert "train.lambda_local=5" in info["branched_from"]["overrides"]
    assert info["locality"]["lambda_local"] == 5 and "not in the paper" in info["locality"]["note"]
    assert load_config(str(final / "config.yaml")).train.lambda_local == 5
    assert load_config(str(stage_folder(base, 6) / "config.yaml")).train.lambda_local == 0
    snaps = sorted(p.name for p in (final / "snapshots").iterdir())
    assert snaps == ["step_00000002", "step_00000004", "step_00000005", "step_00000006"]   # + each stage's end
    logged = [json.loads(x) for x in (final / "stats.jsonl").read_text().splitlines()]
    assert [r["step"] for r in logged] == list(range(1, 9)) and "g_local" in logged[-1]
    before = read_checkpoint(final)[0]
    # a clone with only the last stage's checkpoint: the stages before it are not trained again
    import shutil
    from deepsee.train.jobs import first_stage
    shutil.copytree(final, tmp_path / "clone" / final.name)
    assert first_stage(tmp_path / "clone" / "sr-independent", stages) == 2
    assert first_stage(base, stages) == 2 and first_stage(base, []) == 0
    assert train_restarts([tmp_path / "clone" / "sr-independent"], stages, workers=1, progress=False,
                          overrides=["data.mask_dir=/elsewhere/masks"])[0] == tmp_path / "clone" / final.name
    assert not (tmp_path / "clone" / "sr-independent").exists()
    assert not (tmp_path / "clone" / "sr-independent-6").exists()
    # run again: every stage is there and finished, nothing trains or changes
    assert train_restarts([base], stages, workers=1, threads=1, progress=False)[0] == final
    assert all(torch.equal(before[k], v) for k, v in read_checkpoint(final)[0].items())
    for bad, match in [([{"steps": 3}], "after 4"), ([{"steps": 6}, {"steps": 6}], r"restarts\[1\]"),
                       ([{"steps": 6, "snapshots": [7]}], "snapshots"), ([{"steps": 6, "lr": 1}], "unknown"),
                       ([{"steps": 6, "set": ["lambda"]}], "set")]:
        with pytest.raises(ValueError, match=match):
            restart_stages(bad, 4)
    with pytest.raises(ValueError, match="pipeline.restarts"):
        smoke(tmp_path, tiny_data, "pipeline.restarts=[{steps: 0}]")
