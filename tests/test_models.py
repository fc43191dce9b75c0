"""DeepSEE networks (deepsee.models): Tables 1-4 parameter counts, hand-computed parity of every branch,
the effective-weight style branch, shapes for every magnification, gradients per variant, save / load.

CPU, tiny widths (the smoke profile), seeded. Paper-size models are only built on the meta device
(parameter counts need no memory and no forward pass).
"""
from __future__ import annotations

import copy
import dataclasses
import json
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from deepsee.config import VARIANTS, load_config
from deepsee.models import DeepSEE, build_discriminator, to_onehot
from deepsee.models.encoders import regional_average_pool
from deepsee.models.generator import NormBlock, StyleBranch, block_kinds
from deepsee.models.masks import MaskPyramid

N = 19


def count(m: nn.Module | None) -> int:
    return 0 if m is None else sum(p.numel() for p in m.parameters())


def meta_model(profile: str, *overrides: str) -> DeepSEE:
    with torch.device("meta"):
        return DeepSEE(load_config(profile, list(overrides)).model)


def tiny_cfg(*overrides: str):
    return load_config("smoke", list(overrides)).model


def randomize_(module: nn.Module, seed: int, scale: float = 1.0) -> nn.Module:
    """Weights of a usable magnitude (the published init, gain 0.02, makes every output ~0)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("weight_orig"):
                continue                                 # spectral norm rescales these anyway
            fan_in = math.prod(p.shape[1:]) if p.ndim > 1 else 4
            p.copy_(torch.randn(p.shape, generator=g) * scale / math.sqrt(fan_in))
        for name, b in module.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(torch.randn(b.shape, generator=g) * 0.1)
            elif name.endswith("running_var"):
                b.copy_(torch.rand(b.shape, generator=g) + 0.5)
    return module


def batch(cfg, b=2, seed=0, soft=False):
    g = torch.Generator().manual_seed(seed)
    hr_side = cfg.lr_size * cfg.factor
    lr = torch.rand(b, 3, cfg.lr_size, cfg.lr_size, generator=g) * 2 - 1
    hr = torch.rand(b, 3, hr_side, hr_side, generator=g) * 2 - 1
    labels = torch.randint(0, N, (b, hr_side, hr_side), generator=g)
    mask = torch.softmax(torch.randn(b, N, hr_side, hr_side, generator=g) * 3, 1) if soft else labels
    return lr, hr, mask


# ---------------------------------------------------------------------------------------------------
# Parameter counts (Tables 1-4, docs/ARCHITECTURE_NOTES.md)


def test_encoder_counts_tables_1_to_3():
    m = meta_model("paper-8x")
    for enc in (m.lr_encoder, m.hr_encoder):                      # Tables 1 and 2
        assert [count(c) for c in (enc.conv_0, enc.conv_1, enc.conv_2, enc.conv_3)] == [864, 18_432, 73_728, 294_912]
        assert count(enc) == 387_936
    assert m.lr_encoder.strides == (1, 1, 1) and m.hr_encoder.strides == (1, 2, 2)
    assert count(m.shared_encoder) == 294_912                     # Table 3
    assert count(m.style_noise) == 19
    assert count(m) - count(m.generator) == 387_936 * 2 + 294_912 + 19


def test_generator_counts_table_4_and_other_factors():
    g = meta_model("paper-8x").generator
    assert count(g.head_conv) == 14_336 and count(g.out_conv) == 13_827
    assert [count(b) for b in g.blocks] == [7_126_528] + [9_488_636] * 4
    assert g.block_kinds == ["semantic", "both", "both", "both", "both"]
    assert count(g) == 45_109_235
    assert count(meta_model("paper-4x").generator) == 35_620_599
    assert count(meta_model("paper-16x").generator) == 54_597_871
    nb = g.blocks[1].norm_0                                     # 1,202,688 + 2 x 590,336 + 380 + 2
    assert (count(nb.semantic), count(nb.style.conv), count(nb.style.unused)) == (1_202_688, 1_180_672, 380)
    assert count(nb) == 2_383_742


def test_unused_style_conv_is_optional():
    g = meta_model("paper-8x", "model.keep_unused_style_conv=false").generator
    assert count(g) == 45_109_235 - 4 * 2 * 380


def test_32x_generator_count_vs_release():
    g = meta_model("paper-32x").generator                       # model.last_block: style_only (default)
    assert g.block_kinds == ["semantic"] + ["both"] * 5 + ["style"]
    assert g.blocks[0].noise_in is None                         # the 32x configuration has no noise
    # The released 61,714,407 includes the 512 px block's semantic hidden layer (2 x 22,016) that
    # only its defect uses; the kit's style-only block does not own it.
    assert count(g) == 61_670_375 == 61_714_407 - 2 * (19 * 128 * 9 + 128)
    rel = meta_model("paper-32x", "model.last_block=released").generator
    assert rel.block_kinds == ["semantic"] + ["both"] * 5 + ["released"]
    assert count(rel) == 61_714_407                             # Table 4's count for the released 32x model
    nb = rel.blocks[-1].norm_0                                  # hidden 22,016 + style convs + unused Conv1d
    assert (count(nb.released.hidden), count(nb.released.conv), count(nb.released.unused)) == (22_016, 1_180_672, 380)
    assert nb.semantic is None and nb.style is None and not nb.uses_style
    assert [count(b) for b in rel.blocks[:-1]] == [count(b) for b in g.blocks[:-1]]


def test_last_block_option_is_validated_and_saved(tmp_path):
    with pytest.raises(ValueError, match=r"model.last_block='late'; expected one of \('style_only', 'released'\)"):
        load_config("paper-32x", ["model.last_block=late"])
    with pytest.raises(ValueError, match="model.max_mask_size"):   # nothing above a cap that is off
        load_config("paper-8x", ["model.last_block=released"])
    bad = dataclasses.replace(tiny_cfg(), last_block="late")          # a ModelConfig built directly
    with pytest.raises(ValueError, match="model.last_block='late'"):
        DeepSEE(bad)
    cfg = tiny_cfg("model.factor=16", "model.max_mask_size=32", "model.noise=false", "model.last_block=released")
    model = randomize_(DeepSEE(cfg), seed=4).eval()
    assert model.generator.block_kinds[-2:] == ["released"] * 2   # 64 and 128 px are above the cap
    model.save(tmp_path / "m")
    assert json.loads((tmp_path / "m" / "config.json").read_text())["model"]["last_block"] == "released"
    loaded = DeepSEE.load(tmp_path / "m")
    assert loaded.cfg.last_block == "released" and loaded.generator.block_kinds == model.generator.block_kinds
    lr, _, mask = batch(cfg, b=1)
    with torch.no_grad():
        style = model.encode_style(lr, mask, "lr")
        assert torch.equal(model(lr, mask, style), loaded(lr, mask, style))
    meta = json.loads((tmp_path / "m" / "config.json").read_text())   # the option tells load the structure
    del meta["model"]["last_block"]
    (tmp_path / "m" / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="does not match"):           # style_only: no hidden layer to load
        DeepSEE.load(tmp_path / "m")


def test_released_top_block_ignores_the_style_above_the_cap():
    """Above the mask cap: BN(x) * gamma_s + beta_s from conv(nearest(ReLU(conv(M at the cap)))), no style;
    at or below it (a smaller input) the released block reads the styled map."""
    nb = randomize_(NormBlock(channels=3, kind="released", num_classes=N, hidden=4, style_dim=4,
                              max_mask_size=4), seed=9).eval()
    g = torch.Generator().manual_seed(1)
    x = torch.randn(1, 3, 8, 8, generator=g)
    mask = to_onehot(torch.randint(0, N, (1, 8, 8), generator=g))
    s1, s2 = torch.rand(2, 1, N, 4, generator=g) * 2 - 1
    with torch.no_grad():
        out = nb(x, mask, s1)
        assert torch.equal(out, nb(x, mask, s2))
        br, bn = nb.released, nb.norm
        h = F.relu(F.conv2d(F.interpolate(mask, size=(4, 4), mode="nearest"), br.hidden.weight, br.hidden.bias,
                            padding=1))
        gb = F.conv2d(F.interpolate(h, size=(8, 8), mode="nearest"), br.conv.weight, br.conv.bias, padding=1)
        x_hat = (x - bn.running_mean.view(1, -1, 1, 1)) / torch.sqrt(bn.running_var.view(1, -1, 1, 1) + bn.eps)
        assert torch.allclose(out, x_hat * gb[:, :3] + gb[:, 3:], atol=1e-6)
        small = to_onehot(torch.randint(0, N, (1, 4, 4), generator=g))           # at the cap: styled map
        x4 = x[..., :4, :4]
        gb4 = F.conv2d(torch.einsum("bnk,bnhw->bkhw", s1, small), br.conv.weight, br.conv.bias, padding=1)
        x4_hat = x_hat[..., :4, :4]
        assert torch.allclose(nb(x4, small, s1), x4_hat * gb4[:, :3] + gb4[:, 3:], atol=1e-6)


def test_discriminator_count():
    with torch.device("meta"):
        d = build_discriminator(load_config("paper-8x").model)
    assert count(d) == 1_407_042
    assert count(d.scales[0]) == 703_521


def test_architecture_tables_match_the_paper():
    from deepsee.models.summary import architecture_tables, format_tables
    tables = architecture_tables(load_config("paper-8x").model)
    assert list(tables) == ["table1", "table2", "table3", "table4"]
    for key, df in tables.items():
        assert (df["match"] == "yes").all(), (key, df)
    assert tables["table4"].iloc[-1]["params"] == 45_109_235
    assert "9,488,636" in format_tables(tables)
    small = architecture_tables(tiny_cfg())                       # smoke widths: nothing matches
    assert (small["table1"]["match"] == "NO").all()


def test_cli_model_summary(capsys):
    from deepsee.cli import main
    assert main(["model", "summary", "--config", "paper-4x"]) == 0
    out = capsys.readouterr().out
    assert "Table 4. Generator (4x, independent)" in out and "35,620,599" in out


def test_cli_model_summary_32x_last_block(capsys):
    from deepsee.cli import main
    assert main(["model", "summary", "--config", "paper-32x", "--set", "model.last_block=released"]) == 0
    total = [line for line in capsys.readouterr().out.splitlines() if line.strip().startswith("total")][-1]
    assert total.split()[1:] == ["61,714,407", "61,714,407", "yes"]
    assert main(["model", "summary", "--config", "paper-32x"]) == 0     # the kit's default top block
    total = [line for line in capsys.readouterr().out.splitlines() if line.strip().startswith("total")][-1]
    assert total.split()[1:] == ["61,670,375", "61,714,407", "NO"]


# ---------------------------------------------------------------------------------------------------
# Masks and regional average pooling


def test_to_onehot_labels_soft_and_errors():
    labels = torch.tensor([[[0, 18], [3, 3]]])
    oh = to_onehot(labels)
    assert oh.shape == (1, N, 2, 2) and oh.dtype == torch.float32
    assert oh[0, 18, 0, 1] == 1 and oh[0, 3, 1].sum() == 2 and oh.sum() == 4
    assert torch.equal(to_onehot(labels[:, None]), oh)            # [B, 1, H, W]
    assert torch.equal(to_onehot(oh), oh)                         # one-hot passes through
    assert to_onehot(labels, size=4).shape == (1, N, 4, 4)
    assert torch.equal(to_onehot(labels, size=4)[..., ::2, ::2], oh)
    with pytest.raises(ValueError, match=r"0\.\.18; found \[19, 255\]"):
        to_onehot(torch.tensor([[[0, 19], [255, 1]]]))
    with pytest.raises(ValueError, match=r"found \[-1\]"):
        to_onehot(torch.tensor([[[-1, 0]]]))
    with pytest.raises(ValueError, match="one-hot or soft"):
        to_onehot(torch.rand(1, 5, 2, 2))
    with pytest.raises(ValueError, match=r"\[B, H, W\]"):
        to_onehot(torch.zeros(2, 2, dtype=torch.long))


def test_regional_average_pool_hand_example():
    torch.manual_seed(0)
    feats = torch.rand(1, 6, 8, 8) * 2 - 1
    labels = torch.zeros(1, 16, 16, dtype=torch.long)             # given at 2x the feature size
    labels[:, :8, :8] = 3                                         # a quarter of the map
    labels[:, 8:, 8:] = 7
    style = regional_average_pool(feats, to_onehot(labels))
    assert style.shape == (1, N, 6)
    assert torch.allclose(style[0, 3], feats[0, :, :4, :4].mean((-1, -2)) * 0.25, atol=1e-6)
    assert torch.allclose(style[0, 7], feats[0, :, 4:, 4:].mean((-1, -2)) * 0.25, atol=1e-6)
    bg = (feats[0, :, :4, 4:].sum((-1, -2)) + feats[0, :, 4:, :4].sum((-1, -2))) / 64
    assert torch.allclose(style[0, 0], bg, atol=1e-6)
    assert style[0, 5].abs().max() == 0                           # absent class -> zero style


def test_region_style_pool_averages_over_the_region_and_keeps_small_regions():
    """model.style_pool=region (quick profile): SEAN's per-region mean, area-resized mask."""
    torch.manual_seed(0)
    feats = torch.rand(1, 6, 8, 8) * 2 - 1
    labels = torch.zeros(1, 16, 16, dtype=torch.long)
    labels[:, :8, :8] = 3
    labels[:, 7, 7] = 11                                          # one HR pixel: a quarter of a feature pixel
    style = regional_average_pool(feats, to_onehot(labels), mode="region")
    released = regional_average_pool(feats, to_onehot(labels))
    assert torch.allclose(style[0, 11], feats[0, :, 3, 3] * 0.25 / (0.25 + 1e-3), atol=1e-6)
    assert released[0, 11].abs().max() == 0                       # the nearest resize drops it
    inside = feats[0, :, :4, :4]
    w = torch.ones(4, 4)
    w[3, 3] = 0.75
    assert torch.allclose(style[0, 3], (inside * w).sum((-1, -2)) / (w.sum() + 1e-3), atol=1e-6)
    assert style[0, 5].abs().max() == 0                           # absent class -> zero style
    with pytest.raises(ValueError, match="style_pool|released"):
        regional_average_pool(feats, to_onehot(labels), mode="sean")
    from deepsee.config import load_config
    with pytest.raises(ValueError, match="model.style_pool"):
        DeepSEE(load_config("smoke", ["model.style_pool=sean"]).model)
    m = DeepSEE(load_config("smoke", ["model.style_pool=region"]).model)
    assert m.shared_encoder.pool == "region"


# ---------------------------------------------------------------------------------------------------
# NormBlock parity against the formulas


def _conv(x, w, b):
    return F.conv2d(x, w, b, padding=1)


def _styled_by_loops(mask, style):
    b, n, h, w = mask.shape
    out = torch.zeros(b, style.shape[-1], h, w)
    for i in range(b):
        for c in range(n):
            out[i] += style[i, c][:, None, None] * mask[i, c]
    return out


@pytest.mark.parametrize("kind", ["both", "semantic", "style", "prior"])
@pytest.mark.parametrize("soft", [False, True])
def test_normblock_parity(kind, soft):
    C, n, hid, d = 4, 5, 3, 2
    nb = randomize_(NormBlock(channels=C, kind=kind, num_classes=n, hidden=hid, style_dim=d), seed=1).eval()
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, C, 6, 6, generator=g)
    if soft:
        mask = torch.softmax(torch.randn(2, n, 12, 12, generator=g), 1)
    else:
        mask = F.one_hot(torch.randint(0, n, (2, 12, 12), generator=g), n).permute(0, 3, 1, 2).float()
    style = torch.rand(2, n, d, generator=g) * 2 - 1
    out = nb(x, mask if soft else MaskPyramid(mask, n), style)      # a raw tensor or a pyramid

    x_hat = (x - nb.norm.running_mean.view(1, -1, 1, 1)) / torch.sqrt(nb.norm.running_var.view(1, -1, 1, 1) + 1e-5)
    m = F.interpolate(mask, size=(6, 6), mode="nearest")
    if kind == "prior":
        want = x_hat * nb.prior_scale.view(1, -1, 1, 1) + nb.prior_shift.view(1, -1, 1, 1)
    else:
        gamma = beta = gamma_s = beta_s = None
        if kind in ("semantic", "both"):
            h = F.relu(_conv(m, nb.semantic.hidden.weight, nb.semantic.hidden.bias))
            w, b = nb.semantic.out.weight, nb.semantic.out.bias
            gamma, beta = _conv(h, w[:C], b[:C]), _conv(h, w[C:], b[C:])
        if kind in ("style", "both"):
            s = _styled_by_loops(m, style)
            w, b = nb.style.conv.weight, nb.style.conv.bias
            gamma_s, beta_s = _conv(s, w[:C], b[:C]), _conv(s, w[C:], b[C:])
        if kind == "semantic":
            want = x_hat * (1 + gamma) + beta
        elif kind == "style":
            want = x_hat * (1 + gamma_s) + beta_s
        else:
            a_g, a_b = torch.sigmoid(nb.alpha_gamma), torch.sigmoid(nb.alpha_beta)
            want = x_hat * (1 + a_g * gamma_s + (1 - a_g) * gamma) + a_b * beta_s + (1 - a_b) * beta
    assert torch.allclose(out, want, atol=1e-5), (out - want).abs().max()


def test_normblock_training_mode_uses_batch_statistics():
    nb = randomize_(NormBlock(channels=3, kind="semantic", num_classes=4, hidden=2), seed=3).train()
    x = torch.randn(2, 3, 5, 5) * 3 + 1
    mask = F.one_hot(torch.randint(0, 4, (2, 5, 5)), 4).permute(0, 3, 1, 2).float()
    out = nb(x, MaskPyramid(mask, 4))
    mean, var = x.mean((0, 2, 3), keepdim=True), x.var((0, 2, 3), unbiased=False, keepdim=True)
    gamma, beta = nb.semantic(mask)
    assert torch.allclose(out, (x - mean) / torch.sqrt(var + 1e-5) * (1 + gamma) + beta, atol=1e-5)
    assert nb.norm.num_batches_tracked == 1


@pytest.mark.parametrize("soft", [False, True])
def test_effective_style_branch_equals_direct(soft):
    branch = randomize_(StyleBranch(num_classes=N, style_dim=8, channels=6), seed=4)
    g = torch.Generator().manual_seed(5)
    if soft:
        mask = torch.softmax(torch.randn(3, N, 9, 7, generator=g) * 2, 1)
    else:
        mask = F.one_hot(torch.randint(0, N, (3, 9, 7), generator=g), N).permute(0, 3, 1, 2).float()
    style = torch.rand(3, N, 8, generator=g) * 2 - 1
    branch.mode = "effective"
    eff = branch(mask, style)
    branch.mode = "direct"
    direct = branch(mask, style)
    for a, b in zip(eff, direct):
        assert a.shape == (3, 6, 9, 7)
        assert (a - b).abs().max() < 1e-5
    assert direct[0].abs().mean() > 0.1                           # a non-trivial comparison


@pytest.mark.parametrize("soft", [False, True])
def test_generator_effective_equals_direct(soft):
    cfg = tiny_cfg()
    model = randomize_(DeepSEE(cfg), seed=6, scale=0.5).eval()
    lr, _, mask = batch(cfg, soft=soft)
    style = torch.rand(2, N, cfg.style_dim) * 2 - 1
    with torch.no_grad():
        a = model(lr, mask, style)
        direct = DeepSEE(cfg, style_branch="direct").eval()
        direct.load_state_dict(model.state_dict())
        b = direct(lr, mask, style)
    assert (a - b).abs().max() < 1e-5 and a.std() > 0.01


# ---------------------------------------------------------------------------------------------------
# Full model: shapes, variants, gradients, determinism, files


@pytest.mark.parametrize("factor", [4, 8, 16, 32])
def test_output_shapes_every_factor(factor):
    over = ["model.lr_size=4", f"model.factor={factor}"]
    if factor == 32:
        over += ["model.noise=false", "model.max_mask_size=64"]
    cfg = tiny_cfg(*over)
    model = DeepSEE(cfg).train()
    lr, hr, mask = batch(cfg, b=2)
    style = model.encode_style(lr, mask, "lr")
    assert style.shape == (2, N, cfg.style_dim) and style.abs().max() <= 1
    assert model.encode_style(hr, mask, "hr").shape == (2, N, cfg.style_dim)
    out = model(lr, mask, style)
    assert out.shape == (2, 3, 4 * factor, 4 * factor)
    assert out.abs().max() <= 1
    gen = model.generator
    assert len(gen.blocks) == int(math.log2(factor)) + 2 and len(gen.norm_blocks()) == 2 * len(gen.blocks)
    assert [b.resolution for b in gen.blocks][-1] == 4 * factor
    if factor == 32:                                              # mask cap: last block style-only
        assert gen.block_kinds[-1] == "style" and gen.block_kinds[-2] == "both"


def test_mask_cap_computes_modulation_at_the_cap():
    nb = randomize_(NormBlock(channels=3, kind="both", num_classes=N, hidden=2, style_dim=4, max_mask_size=4),
                    seed=8).eval()
    mask = to_onehot(torch.randint(0, N, (1, 8, 8)))
    gamma, beta = nb.semantic_modulation(MaskPyramid(mask), (8, 8))
    assert gamma.shape == (1, 3, 8, 8)
    at_cap = nb.semantic(F.interpolate(mask, size=(4, 4), mode="nearest"))[0]      # computed at 4x4
    assert torch.equal(gamma, F.interpolate(at_cap, size=(8, 8), mode="nearest"))
    assert not torch.equal(gamma, nb.semantic(mask)[0])             # not the 8x8 computation


@pytest.mark.parametrize("variant", VARIANTS)
def test_gradients_reach_every_learning_parameter(variant):
    cfg = tiny_cfg(f"model.variant={variant}")
    torch.manual_seed(0)
    model = DeepSEE(cfg).train()
    lr, hr, mask = batch(cfg)
    target = torch.randn(2, 3, 64, 64)
    for source in model.style_sources or (None,):
        style = None
        if source is not None:
            style = model.add_style_noise(model.encode_style(lr if source == "lr" else hr, mask, source))
        (model(lr, mask, style) * target).sum().backward()
    dead = [n for n, p in model.named_parameters()
            if ".style.unused." not in n and (p.grad is None or p.grad.abs().sum() == 0)]
    assert not dead, dead
    unused = [n for n, p in model.named_parameters() if ".style.unused." in n]
    assert all(model.get_parameter(n).grad is None for n in unused)
    assert (len(unused) > 0) == (variant not in ("prior_only", "semantics_only"))
    groups = model.param_groups()
    assert sum(len(v) for v in groups.values()) == len(list(model.parameters()))
    assert (len(groups["lr_encoder"]) > 0) == ("lr" in model.style_sources)
    assert (len(groups["hr_encoder"]) > 0) == ("hr" in model.style_sources)


def test_variants_structure_and_style_sources():
    expect = {"independent": ("lr", "hr"), "guided": ("hr",), "lr_style_only": ("lr",), "hr_style_only": ("hr",),
              "prior_only": (), "semantics_only": ()}
    for variant, sources in expect.items():
        model = DeepSEE(tiny_cfg(f"model.variant={variant}"))
        assert model.style_sources == sources
        assert (model.lr_encoder is None) == ("lr" not in sources)
        assert (model.hr_encoder is None) == ("hr" not in sources)
        assert (model.shared_encoder is None) == (not sources) == (model.style_noise is None)
        assert model.generator.uses_style == bool(sources)
    assert block_kinds("lr_style_only", 8) == ["prior"] + ["style"] * 4
    assert block_kinds("semantics_only", 4) == ["semantic"] * 4
    with pytest.raises(ValueError, match="needs a style matrix"):
        DeepSEE(tiny_cfg()).eval()(*batch(tiny_cfg())[::2])
    with pytest.raises(ValueError, match="no LR style encoder"):
        guided = DeepSEE(tiny_cfg("model.variant=guided"))
        guided.encode_style(torch.zeros(1, 3, 8, 8), torch.zeros(1, 8, 8).long(), "lr")
    out = DeepSEE(tiny_cfg("model.variant=prior_only")).eval()(torch.zeros(1, 3, 8, 8), None)
    assert out.shape == (1, 3, 64, 64)


def test_eval_is_deterministic_and_training_is_noisy():
    cfg = tiny_cfg()
    model = randomize_(DeepSEE(cfg), seed=9, scale=0.5)
    lr, _, mask = batch(cfg)
    style = torch.rand(2, N, cfg.style_dim) * 2 - 1
    with torch.no_grad():
        model.eval()
        a, b = model(lr, mask, style), model(lr, mask, style)
        assert torch.equal(a, b)
        assert torch.equal(model.add_style_noise(style), style)  # no style noise in eval
        model.train()
        with torch.no_grad():
            for nb in model.generator.blocks:                    # make the noise injections visible
                nb.noise_in.weight.fill_(0.5)
        c, d = model(lr, mask, style), model(lr, mask, style)
        assert not torch.equal(c, d)


def test_style_noise_bounds():
    model = DeepSEE(tiny_cfg()).train()
    style = torch.rand(4, N, 8) * 2 - 1
    g = torch.Generator().manual_seed(0)
    noisy = model.add_style_noise(style, g)
    delta = 0.2 * torch.sigmoid(torch.zeros(()))                   # w_n initialised to 0
    assert 0 < (noisy - style).abs().max() <= delta + 1e-6
    assert torch.equal(model.add_style_noise(style, torch.Generator().manual_seed(0)), noisy)
    assert noisy.abs().max() <= 1
    assert model.add_style_noise(torch.ones(1, N, 8)).max() == 1    # clamped
    guided = DeepSEE(tiny_cfg("model.variant=guided"))
    assert guided.style_noise.delta == 0.05
    assert not hasattr(model, "draw_training_coins")   # the coins are choose_style's (tests/test_train.py)


def test_grad_checkpoint_gives_the_same_gradients():
    cfg = tiny_cfg()
    a = randomize_(DeepSEE(cfg), seed=11, scale=0.5).train()
    b = DeepSEE(cfg, grad_checkpoint=True).train()
    b.load_state_dict(a.state_dict())
    lr, _, mask = batch(cfg)
    style = torch.rand(2, N, cfg.style_dim) * 2 - 1
    for m in (a, b):
        torch.manual_seed(0)
        m(lr, mask, style).square().sum().backward()
    for (n, p), q in zip(a.named_parameters(), b.parameters()):
        assert (p.grad is None) == (q.grad is None), n
        if p.grad is not None:
            assert torch.allclose(p.grad, q.grad, atol=1e-6, rtol=1e-4), n
    for (n, x), y in zip(a.named_buffers(), b.buffers()):
        assert torch.equal(x, y), n                                 # running stats updated once


def test_save_load_round_trip(tmp_path):
    cfg = tiny_cfg("model.variant=guided")
    model = randomize_(DeepSEE(cfg), seed=12, scale=0.5).train()
    lr, hr, mask = batch(cfg)
    model(lr, mask, model.encode_style(hr, mask, "hr"))           # moves BN stats and spectral-norm u, v
    model.eval()
    model.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "config.json").read_text())
    assert meta["format_version"] == 1 and meta["model"]["variant"] == "guided"
    loaded = DeepSEE.load(tmp_path / "m")
    assert loaded.cfg == model.cfg and not loaded.training
    with torch.no_grad():
        s1, s2 = model.encode_style(hr, mask, "hr"), loaded.encode_style(hr, mask, "hr")
        assert torch.equal(s1, s2)
        assert torch.equal(model(lr, mask, s1), loaded(lr, mask, s2))
    with pytest.raises(FileNotFoundError, match="config.json"):
        DeepSEE.load(tmp_path)
    (tmp_path / "m" / "config.json").write_text(json.dumps({**meta, "model": {**meta["model"], "hidden": 4}}))
    with pytest.raises(ValueError, match="mis-shaped"):
        DeepSEE.load(tmp_path / "m")


def test_discriminator_scales_and_features():
    cfg = tiny_cfg()
    torch.manual_seed(0)
    d = build_discriminator(cfg).eval()
    image = torch.rand(2, 3, 32, 32) * 2 - 1
    labels = torch.randint(0, N, (2, 32, 32))
    outs = d(image, labels)
    assert len(outs) == 2 and all(len(o) == 5 for o in outs)
    w = cfg.disc_width
    shapes = [(w, 17, 17), (2 * w, 9, 9), (4 * w, 5, 5), (8 * w, 6, 6), (1, 7, 7)]    # padding 2
    assert [tuple(t.shape[1:]) for t in outs[0]] == shapes
    x = torch.cat([image, to_onehot(labels)], 1)
    pooled = F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)
    assert torch.equal(d.scales[1](pooled)[-1], outs[1][-1])
    assert torch.equal(d.scales[0](x)[-1], outs[0][-1])


def test_sync_batchnorm_conversion_keeps_the_structure():
    model = DeepSEE(tiny_cfg())
    converted = torch.nn.SyncBatchNorm.convert_sync_batchnorm(copy.deepcopy(model))
    nbs = converted.generator.norm_blocks()
    assert all(isinstance(nb.norm, torch.nn.SyncBatchNorm) for nb in nbs)
    assert set(converted.state_dict()) == set(model.state_dict())


def test_test_time_style_follows_the_style_sources_not_the_name():
    from deepsee.config import load_config
    lr, hr = torch.rand(3, 8, 8) * 2 - 1, torch.rand(3, 64, 64) * 2 - 1
    mask = torch.zeros(64, 64, dtype=torch.long)
    mask[10:30, 10:30] = 1
    item = {"lr": lr, "mask": mask, "guide_hr": hr, "guide_mask": mask}
    for variant, expect in (("independent", "lr"), ("lr_style_only", "lr"), ("guided", "hr"),
                            ("hr_style_only", "hr"), ("prior_only", None), ("semantics_only", None)):
        m = DeepSEE(load_config("smoke", [f"model.variant={variant}"]).model).eval()
        s = m.test_time_style(item)
        if expect is None:
            assert s is None
            continue
        img = lr if expect == "lr" else hr
        assert torch.equal(s, m.encode_style(img[None], mask[None], source=expect))
    g = DeepSEE(load_config("smoke", ["model.variant=guided"]).model)
    with pytest.raises(ValueError, match="guide_hr"):
        g.test_time_style({"lr": lr, "mask": mask})
