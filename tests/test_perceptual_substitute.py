"""TexStatDist, the weight-free LPIPS substitute: the known-answer test of issue 13 (blur must be
farther from the ground truth than plausible-but-wrong detail) and its behaviour as a distance."""
from __future__ import annotations

import pytest
import torch

from deepsee import weights
from deepsee.constants import CLASS_INDEX
from deepsee.metrics import (PERCEPTUAL_KINDS, TEXTURE_NAME, MissingWeightsError, TextureDistance, gaussian_blur,
                             known_answer_table, perceptual_metric)
from deepsee.metrics import perceptual, texture
from deepsee.metrics.known_answer import BLURRY, DETAILED, PERTURBATIONS, REGIONS, perturb, render_images


@pytest.fixture
def no_weights(tmp_path, monkeypatch):
    """No checkpoint anywhere, and building the segmenter-feature substitute is an error."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))

    def refuse(*a, **k):
        raise AssertionError("the texture substitute must not need a segmenter")
    monkeypatch.setattr(perceptual, "FeatureDistance", refuse)


def _pair(seed=0, b=2, s=32):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, 3, s, s, generator=g) * 2 - 1, torch.rand(b, 3, s, s, generator=g) * 2 - 1


def test_known_answer_blur_is_farther_than_wrong_detail(no_weights):
    m = perceptual_metric("texture")
    assert isinstance(m, TextureDistance) and m.name == TEXTURE_NAME == "TexStatDist (LPIPS substitute)"
    df = known_answer_table(m, n=50, size=128)
    assert len(df) == 50 and set(PERTURBATIONS) <= set(df.columns)
    assert set(df["region"]) == set(REGIONS)                       # hair, cloth and skin all swapped
    assert (df["donor"] != df["image"]).all() and (df["swapped_fraction"] > 0).all()
    assert (df[list(PERTURBATIONS)] > 0).all().all()
    expect = df[list(BLURRY)].min(axis=1) - df[list(DETAILED)].max(axis=1)
    assert torch.allclose(torch.tensor(df["margin"].to_numpy()), torch.tensor(expect.to_numpy()))
    rate = df["passed"].mean()
    assert rate >= 0.9, f"pass rate {rate:.2f}:\n{df[~df.passed].to_string()}"
    # on average by a wide margin, not by a hair
    assert df[list(BLURRY)].mean().min() > 3 * df[list(DETAILED)].mean().max()


def test_texture_substitute_needs_no_weights_and_lpips_still_requires_them(no_weights):
    m = perceptual_metric("texture", segmenter=None)
    a, b = _pair()
    assert m(a, b).shape == (2,)
    with pytest.raises(MissingWeightsError):
        perceptual_metric("lpips")
    with pytest.raises(ValueError, match="'lpips', 'texture', 'segfeat'"):
        perceptual_metric("ssim")
    assert PERCEPTUAL_KINDS == ("lpips", "texture", "segfeat")
    with pytest.raises(weights.MissingWeightsError):                # really no weights here
        weights.require("alexnet")


def test_texture_distance_zero_symmetric_batched_on_cpu():
    m = TextureDistance().to("cpu")
    a, b = _pair(1, b=3)
    d = m(a, b)
    assert d.dtype == torch.float32 and d.device.type == "cpu" and d.shape == (3,)
    assert torch.all(d > 0)
    assert torch.equal(m(a, a), torch.zeros(3))
    assert torch.equal(m(b, a), d)                                  # symmetric, exactly
    assert torch.allclose(m(a[1:2], b[1:2]), d[1:2], atol=1e-6)     # per image, independent of the batch
    assert torch.allclose(m(a[0], b[0]), d[:1], atol=1e-6)          # [3, H, W] accepted
    # below half a grey level the saved images are identical
    assert torch.equal(m(a, quant(a) + 0.3 / 127.5), torch.zeros(3))
    assert m.key == "texstatdist" and m.name.endswith("(LPIPS substitute)")
    assert "Not LPIPS" in texture.__doc__


def quant(x):
    return perceptual.quantize(x)


def test_texture_distance_rejects_bad_shapes_naming_them():
    m = TextureDistance()
    with pytest.raises(ValueError, match=r"\(1, 3, 32, 32\) and \(1, 3, 32, 16\)"):
        m(torch.zeros(1, 3, 32, 32), torch.zeros(1, 3, 32, 16))
    with pytest.raises(ValueError, match=r"\(2, 1, 32, 32\)"):
        m(torch.zeros(2, 1, 32, 32), torch.zeros(2, 1, 32, 32))
    with pytest.raises(ValueError, match=r"16x16.*\(1, 3, 8, 8\)"):
        m(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8))
    with pytest.raises(ValueError, match="levels"):
        TextureDistance(levels=0)
    with pytest.raises(ValueError, match="threshold"):
        TextureDistance(threshold=0)


def test_texture_distance_grows_with_blur_and_uses_fewer_levels_on_small_images():
    gt, _ = render_images(4, 64, first_index=100)
    m = TextureDistance()
    d = [m(gt, gaussian_blur(gt, s)) for s in (0.7, 1.5, 3.0)]
    assert torch.all(d[0] < d[1]) and torch.all(d[1] < d[2])
    assert m.levels_for(128, 128) == 4 and m.levels_for(32, 32) == 3 and m.levels_for(16, 16) == 2
    other = m(gt, gt.roll(1, 0))                                     # another face altogether: far
    assert torch.all(other > d[1])


def test_perturbations_are_deterministic_and_well_formed():
    gt, labels = render_images(6, 64)
    assert gt.shape == (6, 3, 64, 64) and labels.shape == (6, 64, 64)
    assert gt.min() >= -1 and gt.max() <= 1
    p1, notes = perturb(gt, labels, seed=3)
    p2, _ = perturb(gt, labels, seed=3)
    assert list(p1) == list(PERTURBATIONS)
    for k, v in p1.items():
        assert v.shape == gt.shape and v.min() >= -1 and v.max() <= 1, k
        assert torch.equal(v, p2[k]), k
    assert torch.equal(p1["shift"][..., 1:], gt[..., :-1]) and torch.equal(p1["shift"][..., 0], gt[..., 0])
    assert not torch.equal(perturb(gt, labels, seed=4)[0]["noise"], p1["noise"])
    assert len(notes["region"]) == 6 and all(r in REGIONS for r in notes["region"])
    # the swap stays inside its region (its mask is softened by a Gaussian of sigma 1: 3 px margin)
    for i, r in enumerate(notes["region"]):
        region = (labels[i] == CLASS_INDEX[r]).float()[None, None]
        near = torch.nn.functional.max_pool2d(region, 7, stride=1, padding=3)[0, 0] > 0
        changed = (p1["texture"][i] != gt[i]).any(0)
        assert changed.any() and not (changed & ~near).any(), r
    with pytest.raises(ValueError, match="labels"):
        perturb(gt, labels[:, :32], seed=0)


def test_texture_training_loss_is_the_distance_and_differentiable():
    """train.perceptual=texture: the training loss is TexStatDist without quantisation (batch mean),
    has finite gradients even on flat images (sqrt at zero energy), and penalises blur more than a
    1-pixel shift, the property it is chosen for."""
    import torch
    from deepsee.config import load_config
    from deepsee.losses import build_perceptual, describe_perceptual
    from deepsee.metrics.texture import TextureDistance
    loss = build_perceptual(load_config("smoke", ["train.perceptual=texture"]))
    assert "texture" in describe_perceptual(loss, 10.0)
    g = torch.Generator().manual_seed(0)
    real = torch.rand(2, 3, 64, 64, generator=g) * 2 - 1
    fake = (torch.rand(2, 3, 64, 64, generator=g) * 2 - 1).requires_grad_(True)
    value = loss(fake, real)
    assert value.ndim == 0
    assert float(value) == pytest.approx(float(TextureDistance(quantize=False)(fake.detach(), real).mean()), rel=1e-4)
    value.backward()
    assert torch.isfinite(fake.grad).all() and fake.grad.abs().sum() > 0
    flat = torch.zeros(1, 3, 64, 64, requires_grad=True)
    loss(flat, torch.zeros(1, 3, 64, 64)).backward()
    assert torch.isfinite(flat.grad).all()
    img = torch.nn.functional.avg_pool2d(real, 3, 1, 1)                      # some structure
    blurred = torch.nn.functional.avg_pool2d(img, 5, 1, 2)
    shifted = torch.roll(img, 1, dims=-1)
    assert float(loss(blurred, img)) > float(loss(shifted, img))


def test_texture_pairwise_and_an_expanded_reference_equal_the_plain_call():
    torch.manual_seed(3)
    x = torch.rand(6, 3, 64, 64) * 2 - 1
    first, second = torch.triu_indices(6, 6, 1)
    tex = TextureDistance()
    assert torch.allclose(tex.pairwise(x, first, second), tex(x[first], x[second]), atol=1e-7)
    ref = x[0]
    expanded = tex(x, ref[None].expand_as(x))
    assert torch.allclose(expanded, tex(x, ref[None].expand_as(x).contiguous()), atol=1e-6)
    assert expanded[0] < 1e-6 < expanded[1:].min()
    with pytest.raises(ValueError, match="at least 16x16"):
        tex.pairwise(x[..., :8, :8], first, second)
