"""The training-step speed-ups (``train.speedups``, deepsee/train/step.py, deepsee/models/fast.py) change no
numerics: the optimised step computes the same losses, the same G and D gradients and the same updated
weights as the plain step (every speed-up off, the paper's modules) from the same weights and the same
batch, for both style-branch variants. Tiny widths (smoke profile), CPU, seeded.

Criterion, per tensor: ``||fast - plain|| <= 1e-5 ||plain||`` (norm-wise relative). Run in float64 the
two differ only by rounding (~1e-12), so any real difference shows; in float32 (the training dtype)
the rounding of the reordered sums alone reaches ~7e-6 on some tensors, so that test allows 5e-5.
Exception: the biases of the convs right before a NormBlock (``conv_0.bias``) have a gradient that is
exactly zero in exact arithmetic (training-mode BatchNorm removes a per-channel constant); theirs is
compared with 1e-5 of the whole network's gradient norm instead, and their Adam updates (Adam scales
that rounding noise up to a full step) are not compared.
"""
from __future__ import annotations

import copy

import pytest
import torch

import deepsee.train.trainer as trainer_mod
from deepsee.config import load_config
from deepsee.losses import VGGPerceptualLoss
from deepsee.models import DeepSEE, build_discriminator
from deepsee.models.generator import NormBlock
from deepsee.models.layers import NoiseInjection
from deepsee.train import Plan, SRTrainer
from deepsee.train.step import SPEEDUPS, Speedups

RTOL = 1e-5
RTOL_FLOAT32 = 5e-5
ZERO_GRAD = ".conv_0.bias"   # followed by a batch-statistics BatchNorm: zero gradient in exact arithmetic


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _cfg(variant="independent"):
    return load_config("smoke", ["model.variant=" + variant, "train.batch_size=2", "train.lambda_l1=1.0"])


def _batch(cfg, n=2, seed=1, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    hr_size, lr_size = cfg.data.hr_size, cfg.data.lr_size
    hr = torch.rand(n, 3, hr_size, hr_size, generator=g) * 2 - 1
    blocks = torch.randint(0, cfg.model.num_classes, (n, hr_size // 8, hr_size // 8), generator=g)
    mask = blocks.repeat_interleave(8, 1).repeat_interleave(8, 2)
    lr = torch.nn.functional.interpolate(hr, size=lr_size, mode="bicubic", align_corners=False).clamp(-1, 1)
    out = {"hr": hr, "lr": lr, "mask": mask}
    out.update(guide_hr=hr.flip(0), guide_mask=mask.flip(0))
    if dtype != torch.float32:   # the kit makes float32 one-hot maps from labels: give them in dtype,
        def onehot(m):             # with the strides to_onehot gives them (a permuted one_hot)
            return torch.nn.functional.one_hot(m, cfg.model.num_classes).permute(0, 3, 1, 2).to(dtype)
        out = {k: onehot(v) if "mask" in k else v.to(dtype) for k, v in out.items()}
    return out


_PERCEPTUAL = {}


def _perceptual(dtype=torch.float32):
    if dtype not in _PERCEPTUAL:
        torch.manual_seed(123)
        _PERCEPTUAL[dtype] = VGGPerceptualLoss(None).to(dtype)   # random VGG-19: the paper profile's loss path
    return _PERCEPTUAL[dtype]


def _pair(cfg, branch, fast="all", dtype=torch.float32):
    """Two trainers with identical weights (randomised so every term matters): plain and optimised, the
    optimised model built with its generator speed-ups (``DeepSEE(..., speedups=...)``)."""
    torch.manual_seed(0)
    model, disc = DeepSEE(cfg.model, style_branch=branch), build_discriminator(cfg.model)
    with torch.no_grad():   # noise weights, blend logits, style-noise weights away from their init
        for m in model.modules():
            if isinstance(m, NoiseInjection):
                m.weight.uniform_(0.05, 0.2)
        if model.style_noise is not None:
            model.style_noise.weight.uniform_(-1, 1)
    fast_model = DeepSEE(cfg.model, style_branch=branch, speedups=Speedups.parse(fast).model_side())
    fast_model.load_state_dict(model.state_dict())   # the same keys: the speed-ups own no other tensors
    model, fast_model, disc = model.to(dtype), fast_model.to(dtype), disc.to(dtype)
    plain = SRTrainer(model, copy.deepcopy(disc), cfg, Plan(16, 16, 32),
                      perceptual=_perceptual(dtype), speedups="none")
    opt = SRTrainer(fast_model, disc, cfg, Plan(16, 16, 32), perceptual=_perceptual(dtype), speedups=fast)
    return plain, opt


def _step(trainer, batch, seed=7):
    torch.manual_seed(seed)   # the same noise draws in both trainers
    losses = trainer.train_step(batch)
    g = {f"G.{n}": p.grad.detach().clone() for n, p in trainer.model.named_parameters() if p.grad is not None}
    d = {f"D.{n}": p.grad.detach().clone() for n, p in trainer.disc.named_parameters() if p.grad is not None}
    after = {f"G.{n}": p.detach().clone() for n, p in trainer.model.named_parameters()}
    return losses, {**g, **d}, after


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    """Norm-wise relative difference of a from the reference b."""
    return float((a.double() - b.double()).norm() / b.double().norm().clamp_min(1e-30))


def _compare(ref, got, rtol=RTOL) -> list[str]:
    """Names whose values differ by more than ``rtol`` (relative), plus set mismatches."""
    (l_ref, g_ref, p_ref), (l_got, g_got, p_got) = ref, got
    bad = [f"loss {k}: {l_got.get(k)} vs {v}" for k, v in l_ref.items()
           if k not in l_got or abs(l_got[k] - v) > rtol * max(abs(v), 1e-12)]
    if set(g_ref) != set(g_got):
        bad.append(f"gradient sets differ: {sorted(set(g_ref) ^ set(g_got))[:5]}")
    total = {net: sum(float(v.double().norm()) ** 2 for k, v in g_ref.items() if k.startswith(net)) ** 0.5
             for net in ("G.", "D.")}
    for k, v in g_ref.items():
        if k not in g_got:
            continue
        diff = float((g_got[k].double() - v.double()).norm())
        scale = total[k[:2]] if k.endswith(ZERO_GRAD) else float(v.double().norm())
        if diff > rtol * scale or (scale == 0 and diff > 0):
            bad.append(f"grad {k}: |diff| {diff:.2e} vs |ref| {scale:.2e}")
    # Updated weights (Adam normalises the rounding noise of the zero gradients to full-size steps
    # there, in both trainers alike; those biases do not change the output: BatchNorm follows).
    bad += [f"param {k}: rel {_rel(p_got[k], v):.2e}" for k, v in p_ref.items()
            if not k.endswith(ZERO_GRAD) and _rel(p_got[k], v) > rtol]
    return bad


@pytest.mark.parametrize("branch", ["effective", "direct"])
@pytest.mark.parametrize("coins", [(0.2, 0.2), (0.9, 0.9)], ids=["lr_style+noise", "hr_style"])
def test_optimised_step_matches_plain_step(branch, coins, monkeypatch):
    monkeypatch.setattr(trainer_mod, "draw_coins", lambda gen: coins)
    cfg = _cfg()
    plain, opt = _pair(cfg, branch, dtype=torch.float64)
    assert opt.speedups == Speedups() and plain.speedups.names() == []
    batch = _batch(cfg, dtype=torch.float64)
    for step in range(2):   # the second step starts from the first step's Adam state and BN statistics
        ref, got = _step(plain, batch, seed=7 + step), _step(opt, batch, seed=7 + step)
        assert not _compare(ref, got), (branch, coins, step, _compare(ref, got)[:8])
    # The gradients compared are real: every part of the model gets one, style and blend included.
    grads = ref[1]
    for part in ("generator.blocks.1.norm_0.semantic.out.weight", "generator.blocks.1.norm_0.style.conv.weight",
                 "generator.blocks.2.norm_1.alpha_gamma", "generator.blocks.3.noise_in.weight",
                 "shared_encoder", "D.scales.0.layer_3"):
        hits = [k for k in grads if part in k]
        assert hits and all(grads[k].norm() > 0 for k in hits), part


@pytest.mark.parametrize("n", [1, 2], ids=["batch1", "batch2"])   # batch 1: one plain conv per block, else grouped
@pytest.mark.parametrize("branch", ["effective", "direct"])
def test_optimised_step_matches_plain_step_float32(branch, n, monkeypatch):
    """The training dtype, label masks (the kit's own one-hot path)."""
    monkeypatch.setattr(trainer_mod, "draw_coins", lambda gen: (0.2, 0.2))
    cfg = _cfg()
    plain, opt = _pair(cfg, branch)
    batch = _batch(cfg, n=n)
    ref, got = _step(plain, batch), _step(opt, batch)
    assert not _compare(ref, got, RTOL_FLOAT32), _compare(ref, got, RTOL_FLOAT32)[:8]


def test_each_speedup_alone_matches_plain_step(monkeypatch):
    """Every switch on its own (the benchmark's off-in-turn rows switch them off one at a time)."""
    monkeypatch.setattr(trainer_mod, "draw_coins", lambda gen: (0.2, 0.2))
    cfg = _cfg()
    batch = _batch(cfg, dtype=torch.float64)
    for name in SPEEDUPS:
        plain, opt = _pair(cfg, "direct", fast=name, dtype=torch.float64)
        assert opt.speedups.names() == [name]
        ref, got = _step(plain, batch), _step(opt, batch)
        assert not _compare(ref, got), (name, _compare(ref, got)[:8])


def test_comparison_detects_a_changed_step(monkeypatch):
    """The check can fail: a blend that is off by 1e-3 in the fused path is caught in the gradients."""
    monkeypatch.setattr(trainer_mod, "draw_coins", lambda gen: (0.2, 0.9))
    cfg = _cfg()
    plain, opt = _pair(cfg, "effective", dtype=torch.float64)
    orig = NormBlock.blend_weights

    def skewed(self):
        a_g, a_b = orig(self)
        return a_g * (1 + 1e-3), a_b

    monkeypatch.setattr(NormBlock, "blend_weights", skewed)
    batch = _batch(cfg, dtype=torch.float64)
    ref = _step(plain, batch)
    monkeypatch.setattr(NormBlock, "blend_weights", orig)
    got = _step(opt, batch)
    assert _compare(ref, got)


def test_guided_variant_and_resume_across_settings(tmp_path, monkeypatch):
    """Guided (the guide's own mask) matches too; a checkpoint written without the speed-ups resumes
    with them (Adam's implementation is this run's, its state is the checkpoint's)."""
    monkeypatch.setattr(trainer_mod, "draw_coins", lambda gen: (0.5, 0.5))
    cfg = _cfg("guided")
    plain, opt = _pair(cfg, "effective", dtype=torch.float64)
    batch = _batch(cfg, dtype=torch.float64)
    ref, got = _step(plain, batch), _step(opt, batch)
    assert not _compare(ref, got), _compare(ref, got)[:8]
    tensors, meta = plain.collect_state()
    torch.manual_seed(5)
    resumed = SRTrainer(DeepSEE(cfg.model, speedups=Speedups().model_side()).double(),
                        build_discriminator(cfg.model).double(), cfg, Plan(16, 16, 32),
                        perceptual=_perceptual(torch.float64))
    resumed.load_state(tensors, meta, restore_random=False)
    assert resumed.speedups == Speedups()
    assert all(g["fused"] for o in (resumed.opt_g, resumed.opt_d) for g in o.param_groups)
    ref, got = _step(plain, batch, seed=9), _step(resumed, batch, seed=9)
    assert not _compare(ref, got), _compare(ref, got)[:8]


def test_speedups_spec():
    assert Speedups.parse("all") == Speedups()
    assert Speedups.parse("none").names() == []
    assert Speedups.parse("all,-fused_adam").names() == [n for n in SPEEDUPS if n != "fused_adam"]
    assert Speedups.parse("-mask_once").names() == [n for n in SPEEDUPS if n != "mask_once"]
    assert Speedups.parse("mask_once,fused_noise").names() == ["mask_once", "fused_noise"]
    assert load_config("paper").train.speedups == "all"
    with pytest.raises(ValueError, match="unknown speed-up"):
        Speedups.parse("all,turbo")
    assert Speedups.parse("all,-fused_noise").model_side() == ("fused_modulation", "direct_effective_backward")
    cfg = _cfg()
    with pytest.raises(ValueError, match="was built with"):   # the generator's are chosen when it is built
        SRTrainer(DeepSEE(cfg.model), build_discriminator(cfg.model), cfg, Plan(16, 16, 32), speedups="all")
