"""deepsee.explore: mask edits, style walks and sampling, and the exploration engine (parity with the model)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from fixtures import face as _face, model as _model, randomize as _randomize

from deepsee.explore.edits import (add_hair, close_eyes, close_mouth, grow, move, open_mouth, paste, relabel,
                                   remove, shrink)
from deepsee.explore.walks import region_offset, sample_styles, sample_styles_chunk, style_walk


def _square(size=9, cls=4, lo=3, hi=6, bg=1):
    m = torch.full((size, size), bg, dtype=torch.long)
    m[lo:hi, lo:hi] = cls
    return m


# ------------------------------------------------------------------------------------------------
# mask edits


def test_relabel_whole_class_and_region_and_types():
    m = _square()
    out = relabel(m, 4, "skin")
    assert torch.equal(out, torch.ones(9, 9, dtype=torch.long))
    region = torch.zeros(9, 9, dtype=torch.bool)
    region[3, :] = True
    out = relabel(m, "l_eye", 13, region=region)
    expect = m.clone()
    expect[3, 3:6] = 13
    assert torch.equal(out, expect)
    # numpy in -> numpy out, same dtype; the input is untouched; batches work
    a = m.numpy().astype(np.uint8)
    res = relabel(a, 4, 2)
    assert isinstance(res, np.ndarray) and res.dtype == np.uint8 and (res == 4).sum() == 0
    assert (a == 4).sum() == 9
    batch = torch.stack([m, _square(cls=5)])
    assert torch.equal(relabel(batch, [4, 5], 1), torch.ones(2, 9, 9, dtype=torch.long))
    # region names: "lips" = u_lip + l_lip
    lips = torch.tensor([[11, 12, 1]])
    assert relabel(lips, "lips", 10).tolist() == [[10, 10, 1]]


def test_labels_and_arguments_are_validated():
    with pytest.raises(ValueError, match="0..18"):
        relabel(torch.tensor([[0, 19]]), 0, 1)
    with pytest.raises(ValueError, match="out of range"):
        relabel(_square(), 4, 25)
    with pytest.raises(TypeError, match="integer label map"):
        relabel(torch.zeros(4, 4), 0, 1)
    with pytest.raises(ValueError, match="unknown class or region"):
        grow(_square(), "eyebrow", 1)
    with pytest.raises(ValueError, match="shape"):
        relabel(torch.zeros(1, 1, 4, 4, dtype=torch.long), 0, 1)
    with pytest.raises(ValueError, match="px"):
        grow(_square(), 4, -1)


def test_grow_and_shrink_with_a_disc():
    m = _square()
    g = grow(m, 4, 1)
    expect = m.clone()
    expect[2, 3:6] = expect[6, 3:6] = expect[3:6, 2] = expect[3:6, 6] = 4   # disc radius 1 = plus shape
    assert torch.equal(g, expect)
    # grow only into the listed classes
    m2 = m.clone()
    m2[:, 6:] = 13
    g2 = grow(m2, 4, 1, into="skin")
    assert (g2[:, 6:] == 13).all() and g2[2, 4] == 4
    s = shrink(m, 4, 1)
    assert (s == 4).sum() == 1 and s[4, 4] == 4 and (s[s != 4] == 1).all()
    s2 = shrink(m, 4, 1, fill="nose")
    assert (s2 == 2).sum() == 8
    # shrink fills freed pixels with the surrounding majority: left half skin, right half hair
    m3 = torch.ones(7, 8, dtype=torch.long)
    m3[:, 4:] = 13
    m3[2:5, 2:6] = 6
    s3 = shrink(m3, 6, 2)
    assert (s3 == 6).sum() == 0
    assert (s3[:, :3] == 1).all() and (s3[:, 5:] == 13).all()


def test_move_and_paste():
    m = _square()
    out = move(m, 4, 2, 0)
    expect = torch.ones(9, 9, dtype=torch.long)
    expect[5:8, 3:6] = 4
    assert torch.equal(out, expect)
    out = move(m, 4, 0, -5, fill=2)                  # partly out of the image; vacated -> nose
    assert (out == 4).sum() == 3 and (out[3:6, 0] == 4).all() and (out[3:6, 3:6] == 2).all()
    other = _square(cls=4, lo=0, hi=2)
    p = paste(m, other, 4)                           # replace: the class ends up exactly where other has it
    assert torch.equal(p == 4, other == 4) and (p[3:6, 3:6] == 1).all()
    p2 = paste(m, other, 4, replace=False)
    assert (p2 == 4).sum() == 9 + 4


def test_remove_fill_modes():
    m = torch.ones(6, 6, dtype=torch.long)
    m[:, 3:] = 13
    m[2:4, 2:4] = 3                                  # glasses on the skin/hair border
    r = remove(m, "glasses")
    assert (r == 3).sum() == 0
    assert (r[2:4, 2] == 1).all() and (r[2:4, 3] == 13).all()
    assert (remove(m, "glasses", "skin")[2:4, 2:4] == 1).all()
    brows = torch.tensor([[1, 6, 6, 1, 7, 7, 1]])
    assert remove(brows, "brows", "skin").tolist() == [[1] * 7]
    with pytest.raises(ValueError, match="fill"):
        remove(torch.full((3, 3), 3), "glasses")      # nothing left to fill from


def test_close_eyes_and_mouth_sequences():
    m = torch.ones(10, 8, dtype=torch.long)
    m[2:7, 1:4] = 4
    m[3:6, 5:7] = 5
    half = close_eyes(m, 0.5)
    assert (half == 4).sum() == 2 * 3 + 3 and (half == 5).sum() == 2 * 2       # round(5/2)=3 rows, round(1.5)=2
    closed = close_eyes(m)
    assert ((closed == 4) | (closed == 5)).sum() == 0 and (closed == 1).all()
    reopened = paste(closed, m, "eyes")
    assert torch.equal(reopened, m)

    mouth = torch.ones(10, 7, dtype=torch.long)
    mouth[2:4, 1:6] = 11
    mouth[4:8, 1:6] = 10
    mouth[8:10, 1:6] = 12
    seq = close_mouth(mouth, 4)
    assert len(seq) == 4
    counts = [int((s == 10).sum()) for s in seq]
    assert counts == [15, 10, 5, 0]                  # 4 rows x 5 cols: 3, 2, 1, 0 rows left
    last = seq[-1]
    assert (last[2:6, 1:6] == 11).all() and (last[6:10, 1:6] == 12).all()
    opened = open_mouth(last, 2)
    assert (opened == 10).sum() == 2 * 5 and (opened[6:8, 1:6] == 10).all()
    assert (opened == 12).sum() == 2 * 5             # two lower-lip rows fell off the image


def test_add_hair_grows_only_above_the_eyes_into_background():
    m = torch.zeros(12, 12, dtype=torch.long)
    m[3:11, 2:10] = 1
    m[6, 4] = 4
    m[6, 7] = 5
    out = add_hair(m, 2)
    hair = out == 13
    assert hair.any()
    assert not hair[6:].any()                        # nothing at or below the eye row
    assert (m[hair] == 0).all()                      # only background became hair
    assert hair[1, 5] and hair[2, 5]


# ------------------------------------------------------------------------------------------------
# walks and sampling


def test_style_walk_middle_symmetric_rows():
    torch.manual_seed(0)
    s = torch.rand(19, 6) * 0.8 - 0.4
    w = style_walk(s, delta=0.15, steps=5)
    assert w.shape == (5, 19, 6)
    assert torch.equal(w[2], s)
    assert torch.allclose(w[4] - s, torch.full_like(s, 0.3), atol=1e-6)
    assert torch.allclose(w[3] - s, -(w[1] - s), atol=1e-6) and torch.allclose(w[4] - s, -(w[0] - s), atol=1e-6)
    wl = style_walk(s[None], delta=0.1, steps=3, classes="lips")
    changed = (wl[0] != s).any(1)
    assert changed.nonzero().flatten().tolist() == [11, 12]
    assert style_walk(torch.full((19, 2), 0.95), delta=0.15)[4].max() == 1.0    # clamped
    with pytest.raises(ValueError, match="odd"):
        style_walk(s, steps=4)
    with pytest.raises(ValueError, match="19 rows"):
        style_walk(torch.zeros(18, 4), labels="celebamaskhq")
    with pytest.raises(ValueError, match="pass labels"):      # 8 rows, no label set: ids only
        style_walk(torch.zeros(8, 4), classes="lips")
    scene = style_walk(torch.zeros(8, 4), delta=0.1, steps=3, classes="sky", labels="outdoor")
    assert (scene[0] != 0).any(1).nonzero().flatten().tolist() == [1]


def test_sampling_deterministic_across_chunks():
    s = torch.zeros(19, 5)
    full = sample_styles(s, 10, noise="gaussian", scale=0.1, seed=7)
    parts = torch.cat([sample_styles_chunk(s, a, b, seed=7) for a, b in ((0, 3), (3, 4), (4, 10))])
    assert torch.equal(full, parts)
    assert not torch.equal(full, sample_styles(s, 10, seed=8))
    assert not torch.equal(full[0], full[1])
    u = sample_styles(s, 50, noise="uniform", scale=0.2, seed=1)
    assert u.abs().max() <= 0.2 and u.abs().max() > 0.15
    only = sample_styles(s, 4, seed=1, classes=["hair"])
    assert (only[:, 13] != 0).all() and (only[:, :13] == 0).all() and (only[:, 14:] == 0).all()
    assert torch.equal(only[:, 13], sample_styles(s, 4, seed=1)[:, 13])   # same noise, other rows masked
    with pytest.raises(ValueError, match="noise"):
        sample_styles(s, 2, noise="cauchy")


def test_region_offset():
    s = torch.zeros(2, 19, 3)
    out = region_offset(s, "brows", 0.5)
    assert out.shape == s.shape and (out[:, 6:8] == 0.5).all() and out[:, :6].abs().sum() == 0
    d = torch.tensor([1.0, -1.0, 0.0])
    out = region_offset(s[0], 13, 2.0, direction=d)
    assert out[13].tolist() == [1.0, -1.0, 0.0]
    with pytest.raises(ValueError, match="direction"):
        region_offset(s, 13, 1.0, direction=torch.ones(4))


# ------------------------------------------------------------------------------------------------
# exploration engine


def _plain(model, lr, mask, styles):
    with torch.inference_mode():
        return torch.cat([model(lr, mask, s[None]) for s in styles])


def _inputs(cfg, k=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    lr = torch.rand(1, 3, cfg.lr_size, cfg.lr_size, generator=g) * 2 - 1
    styles = torch.rand(k, 19, cfg.style_dim, generator=g) * 2 - 1
    return lr, _face(cfg.hr_size, seed), styles


def test_engine_matches_the_plain_forward_one_hot_and_soft():
    from deepsee.explore import ExplorationEngine
    model, cfg = _model()
    lr, mask, styles = _inputs(cfg)
    ref = _plain(model, lr, mask, styles)
    assert (ref.abs() > 0.99).float().mean() < 0.05            # not saturated: the comparison means something
    assert (ref[0] - ref[1]).abs().max() > 0.1                   # styles matter
    eng = ExplorationEngine(model, lr, mask, chunk=2, max_activation_mb=0.05)   # chunks and micro-batches
    out = eng.generate(styles, progress=False)
    assert out.shape == ref.shape
    assert (out - ref).abs().max() < 1e-4
    assert all(rows < h * w for (h, w), rows in eng.table_rows()[-2:])   # the mask tables compress
    assert eng.last_latency_s > 0 and eng.stats["samples"] == 5
    soft = torch.softmax(torch.randn(1, 19, cfg.hr_size, cfg.hr_size, generator=torch.Generator().manual_seed(1)), 1)
    eng.set_mask(soft)
    assert (eng.generate(styles[:3], progress=False) - _plain(model, lr, soft, styles[:3])).abs().max() < 1e-4


def test_engine_set_mask_keeps_the_lr_cache_and_follows_the_new_mask():
    from deepsee.explore import ExplorationEngine
    from deepsee.explore.edits import relabel
    model, cfg = _model()
    lr, mask, styles = _inputs(cfg, k=2)
    eng = ExplorationEngine(model, lr, mask)
    before = eng.generate(styles, progress=False)
    head_calls = []                                              # the LR-only part: the head conv
    model.generator.head_conv.register_forward_hook(lambda *args: head_calls.append(1))
    new_mask = relabel(mask, "hair", "skin")
    eng.set_mask(new_mask)
    after = eng.generate(styles, progress=False)
    assert not head_calls                                        # LR-only part kept
    assert (after - before).abs().max() > 1e-2
    assert (after - _plain(model, lr, new_mask, styles)).abs().max() < 1e-4
    lr2 = -lr
    head_calls.clear()
    eng.set_lr(lr2)
    assert head_calls                                            # a new LR image: recomputed
    assert (eng.generate(styles, progress=False) - _plain(model, lr2, new_mask, styles)).abs().max() < 1e-4


def test_engine_sample_walk_region_edit():
    from deepsee.explore import ExplorationEngine
    model, cfg = _model()
    lr, mask, _ = _inputs(cfg)
    eng = ExplorationEngine(model, lr, mask, chunk=3)
    with torch.inference_mode():
        base = model.encode_style(lr, mask, "lr")
    assert torch.equal(eng.style, base)
    a = eng.sample(7, noise="gaussian", scale=0.3, seed=5, progress=False)
    b = eng.sample(7, noise="gaussian", scale=0.3, seed=5, chunk=2, progress=False)
    assert (a - b).abs().max() < 1e-5
    assert (a - _plain(model, lr, mask, sample_styles(base, 7, "gaussian", 0.3, 5))).abs().max() < 1e-4
    w = eng.walk(delta=0.5, steps=3)
    assert (w[1:2] - _plain(model, lr, mask, base)).abs().max() < 1e-4
    assert (w[0] - w[2]).abs().max() > 1e-3
    r = eng.region_edit("hair", [0.0, 0.8])
    assert (r[0] - w[1]).abs().max() < 1e-5 and (r[1] - r[0]).abs().max() > 1e-3


@pytest.mark.parametrize("variant,extra", [("hr_style_only", {}), ("independent", {"factor": 16, "max_mask_size": 32}),
                                           ("independent", {"factor": 16, "max_mask_size": 32,
                                                            "last_block": "released"})])
def test_engine_other_structures(variant, extra):
    """Style-only blocks (prior first block), the 32x structure (mask cap, style-only top blocks) and the
    released 32x top blocks (``model.last_block: released``: mask-only tables above the cap)."""
    from deepsee.explore import ExplorationEngine
    model, cfg = _model(variant=variant, **extra)
    lr, mask, styles = _inputs(cfg, k=3)
    eng = ExplorationEngine(model, lr, mask, style=styles[:1])
    assert (eng.generate(styles, progress=False) - _plain(model, lr, mask, styles)).abs().max() < 1e-4


def test_engine_released_top_block_soft_masks_and_small_inputs():
    """``model.last_block: released``: exact for soft masks, and for an input smaller than the model's LR size
    (the top block then sits at the cap, where the released block reads the styled map)."""
    from deepsee.explore import ExplorationEngine
    model, cfg = _model(factor=16, max_mask_size=32, last_block="released")
    assert model.generator.block_kinds[-2:] == ["released"] * 2
    lr, mask, styles = _inputs(cfg, k=3)
    soft = torch.softmax(torch.randn(1, 19, cfg.hr_size, cfg.hr_size, generator=torch.Generator().manual_seed(1)) * 3, 1)
    eng = ExplorationEngine(model, lr, soft, style=styles[:1])
    ref = _plain(model, lr, soft, styles)
    assert (ref[0] - ref[1]).abs().max() > 0.1
    assert (eng.generate(styles, progress=False) - ref).abs().max() < 1e-4
    small = lr[..., :2, :2].contiguous()                          # 2x2 -> 32 px: every block at or below the cap
    eng.set_lr(small, _face(32))
    assert (eng.generate(styles, progress=False) - _plain(model, small, _face(32), styles)).abs().max() < 1e-4
    eng.set_lr(lr, mask)                                          # and back above it
    assert (eng.generate(styles, progress=False) - _plain(model, lr, mask, styles)).abs().max() < 1e-4


def test_engine_errors():
    from deepsee.explore import ExplorationEngine
    model, cfg = _model(variant="semantics_only")
    lr, mask, styles = _inputs(cfg, k=1)
    with pytest.raises(ValueError, match="no style branch"):
        ExplorationEngine(model, lr, mask)
    model, cfg = _model(variant="guided")
    eng = ExplorationEngine(model, lr, mask)
    with pytest.raises(ValueError, match="set_style"):
        eng.sample(2, progress=False)
    with pytest.raises(ValueError, match=r"styles must be \[K, 19"):
        eng.generate(torch.zeros(2, 19, cfg.style_dim + 1))
    with pytest.raises(ValueError, match="needs"):
        eng.set_mask(torch.zeros(1, 32, 32, dtype=torch.long))
    with pytest.raises(ValueError, match="chunk"):
        ExplorationEngine(model, lr, mask, chunk=0)


@pytest.mark.slow
def test_engine_matches_the_plain_forward_paper_8x():
    from deepsee.explore import ExplorationEngine
    model, cfg = _model("paper")
    lr, mask, styles = _inputs(cfg, k=2)
    ref = _plain(model, lr, mask, styles)
    assert (ref[0] - ref[1]).abs().max() > 0.1
    eng = ExplorationEngine(model, lr, mask)
    assert (eng.generate(styles, progress=False) - ref).abs().max() < 1e-4


def test_engine_base_style_follows_set_lr_unless_given():
    from deepsee.explore import ExplorationEngine
    model, cfg = _model()
    lr, mask, styles = _inputs(cfg, k=1)
    eng = ExplorationEngine(model, lr, mask)
    eng.set_lr(-lr)
    with torch.inference_mode():
        assert torch.equal(eng.style, model.encode_style(-lr, mask, "lr"))
    eng.set_style(styles[0])
    eng.set_lr(lr)
    eng.set_mask(mask.numpy())                                   # numpy labels accepted
    assert torch.equal(eng.style, styles[:1])


def test_engine_accepts_a_generator_with_mixed_block_kinds():
    """Blocks without style after a style block (prior / semantic tables) and a bare Generator."""
    from deepsee.explore import ExplorationEngine
    from deepsee.models import Generator
    torch.manual_seed(0)
    gen = _randomize(Generator(factor=8, lr_size=8, block_kinds=["semantic", "both", "prior", "semantic", "both"],
                               channels=16, style_dim=8, hidden=8))
    g = torch.Generator().manual_seed(3)
    lr, styles = torch.rand(1, 3, 8, 8, generator=g) * 2 - 1, torch.rand(3, 19, 8, generator=g) * 2 - 1
    mask = _face(64)
    eng = ExplorationEngine(gen, lr, mask, style=styles[:1])
    assert (eng.generate(styles, progress=False) - _plain(gen, lr, mask, styles)).abs().max() < 1e-4


def test_engine_consistent_samples_give_back_the_input():
    """Issue 33: with consistent=True every generated sample is the plain sample projected onto the images
    whose kit LR is the input (LR-PSNR >= 60 dB); switching the attribute off gives the plain samples back."""
    from deepsee.data.degradation import project_consistent
    from deepsee.metrics.consistency import lr_psnr
    from deepsee.explore.engine import ExplorationEngine
    from deepsee.models import ConsistentSR
    model, cfg = _model()
    model.eval()
    H = cfg.lr_size * cfg.factor
    lr = torch.rand(1, 3, cfg.lr_size, cfg.lr_size, generator=torch.Generator().manual_seed(1)) * 2 - 1
    mask = _face(H)
    eng = ExplorationEngine(model, lr, mask, consistent=True)
    cons = eng.sample(4, scale=0.3, seed=0, progress=False)
    assert lr_psnr(cons, lr.expand(4, -1, -1, -1)).min() >= 60 and eng.stats["project_seconds"] > 0
    eng.consistent = False
    plain = eng.sample(4, scale=0.3, seed=0, progress=False)
    assert lr_psnr(plain, lr.expand(4, -1, -1, -1)).max() < 40
    assert torch.allclose(cons, project_consistent(plain, lr.expand(4, -1, -1, -1)), atol=1e-4)
    # the wrapped model: the same projection on the plain forward
    style = eng.style.expand(1, -1, -1)
    with torch.no_grad():
        wrapped = ConsistentSR(model)(lr, mask, style)
        direct = project_consistent(model(lr, mask, style).clamp(-1, 1), lr)
    assert torch.allclose(wrapped, direct, atol=1e-5) and lr_psnr(wrapped, lr).min() >= 60


def test_winograd_convolution_matches_the_direct_one_and_falls_back_where_it_does_not_apply():
    """F(4x4, 3x3) gives conv2d's numbers (within float32 rounding) for a spectral-normed conv in eval mode, over
    chunk boundaries; odd sizes, other kernels and half precision go to the module itself."""
    from deepsee.models.folded import WinogradConv, winograd_applies
    from deepsee.models.layers import conv2d
    torch.manual_seed(0)
    conv = conv2d(24, 40, 3, spectral=True).eval()
    x = torch.randn(5, 24, 16, 12).contiguous(memory_format=torch.channels_last)
    wino = WinogradConv(max_pixels=2 * 16 * 12)                      # three chunks: 2 + 2 + 1 images
    with torch.no_grad():
        ref, out = conv(x), wino(conv, x)
    assert out.shape == ref.shape and (out - ref).abs().max() < 1e-5 * ref.abs().max()
    assert (out - ref).abs().max() > 0                                # really another computation
    odd = torch.randn(1, 24, 10, 10)
    assert not winograd_applies(conv, odd) and torch.equal(wino(conv, odd), conv(odd))
    assert not winograd_applies(conv2d(24, 40, 1), x) and not winograd_applies(conv, x.half())


@pytest.mark.parametrize("winograd", [True, False])
def test_engine_with_and_without_winograd_matches_the_plain_forward(winograd):
    from deepsee.explore import ExplorationEngine
    model, cfg = _model()
    lr, mask, styles = _inputs(cfg, k=3)
    eng = ExplorationEngine(model, lr, mask, winograd=winograd)
    assert eng.winograd == winograd
    assert (eng.generate(styles, progress=False) - _plain(model, lr, mask, styles)).abs().max() < 1e-4
