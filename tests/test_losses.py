"""Losses of supplementary Section 2.1 (Eqs. 3-6) against hand-computed values."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from deepsee.config import load_config
from deepsee.losses import (VGG19_LAYER_WEIGHTS, FeatureL1Loss, VGGPerceptualLoss, build_perceptual,
                            describe_perceptual, feature_matching, hinge_d, hinge_g, pixel_l1)
from deepsee.losses.adversarial import hinge_d_terms


def scale(pred, *feats):
    return [*(torch.tensor(f, dtype=torch.float32) for f in feats), torch.tensor(pred, dtype=torch.float32)]


def test_hinge_g_averages_scales():
    fake = [scale([[2.0, -1.0]]), scale([[0.5, 0.5, 0.5, 1.5]])]
    # scale 1: -mean(2, -1) = -0.5; scale 2: -mean = -0.75; average -0.625
    assert hinge_g(fake).item() == pytest.approx(-0.625)


def test_hinge_d_known_logits():
    real = [scale([[2.0, 0.0]]), scale([[0.5, -1.0]])]
    fake = [scale([[-2.0, 0.5]]), scale([[-0.5, 3.0]])]
    # real: relu(1 - r): scale1 (0 + 1) / 2 = 0.5, scale2 (0.5 + 2) / 2 = 1.25 -> mean 0.875
    # fake: relu(1 + f): scale1 (0 + 1.5) / 2 = 0.75, scale2 (0.5 + 4) / 2 = 2.25 -> mean 1.5
    loss_real, loss_fake = hinge_d_terms(real, fake)
    assert loss_real.item() == pytest.approx(0.875)
    assert loss_fake.item() == pytest.approx(1.5)
    assert hinge_d(real, fake).item() == pytest.approx(2.375)


def test_hinge_d_zero_when_confident():
    real = [scale([[1.5, 3.0]])]
    fake = [scale([[-1.0, -4.0]])]
    assert hinge_d(real, fake).item() == 0.0


def test_feature_matching_uses_every_layer_and_divides_by_scales():
    # Two scales, four features each (all four count, the prediction does not).
    real = [scale([9.0], [0.0], [1.0], [2.0], [3.0]), scale([9.0], [0.0, 0.0], [0.0], [0.0], [0.0])]
    fake = [scale([-9.0], [1.0], [1.0], [0.0], [3.5]), scale([-9.0], [1.0, 3.0], [0.0], [0.0], [0.0])]
    # scale 1: |1-0| + 0 + |0-2| + |3.5-3| = 3.5; scale 2: mean(1, 3) = 2 -> (3.5 + 2) / 2
    assert feature_matching(real, fake).item() == pytest.approx(2.75)


def test_feature_matching_detaches_real_features():
    r = torch.ones(3, requires_grad=True)
    f = torch.zeros(3, requires_grad=True)
    loss = feature_matching([[r, torch.zeros(1)]], [[f, torch.zeros(1)]])
    loss.backward()
    assert r.grad is None
    assert torch.allclose(f.grad, torch.full((3,), -1 / 3))


class _Stand(nn.Module):
    """Stand-in extractor: features x, 2x, 3x, 4x, 5x (channel means)."""

    def __init__(self, k=5):
        super().__init__()
        self.k = k
        self.w = nn.Parameter(torch.ones(()))

    def forward(self, x):
        return [x * (i + 1) * self.w for i in range(self.k)]


def test_feature_l1_weighting_with_stand_in():
    loss = FeatureL1Loss(_Stand(), VGG19_LAYER_WEIGHTS)
    fake, real = torch.zeros(1, 3, 4, 4), torch.full((1, 3, 4, 4), 0.5)
    # sum_i w_i * (i + 1) * 0.5
    expected = sum(w * (i + 1) * 0.5 for i, w in enumerate((1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)))
    assert loss(fake, real).item() == pytest.approx(expected)
    assert not any(p.requires_grad for p in loss.parameters())   # frozen


def test_feature_l1_uniform_weights_and_gradient_only_to_fake():
    loss = FeatureL1Loss(_Stand(2), None)
    fake = torch.zeros(1, 3, 2, 2, requires_grad=True)
    real = torch.ones(1, 3, 2, 2, requires_grad=True)
    value = loss(fake, real)
    assert value.item() == pytest.approx((1 + 2) / 2)
    value.backward()
    assert real.grad is None and fake.grad is not None


def test_feature_l1_rejects_wrong_number_of_maps():
    with pytest.raises(ValueError, match="feature maps"):
        FeatureL1Loss(_Stand(3), VGG19_LAYER_WEIGHTS)(torch.zeros(1, 3, 2, 2), torch.zeros(1, 3, 2, 2))


def test_vgg_layers_and_normalisation():
    torch.manual_seed(0)
    vgg = VGGPerceptualLoss(None)     # random features: structure only
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    feats = vgg.features(x)
    assert [f.shape[1] for f in feats] == [64, 128, 256, 512, 512]
    assert [f.shape[-1] for f in feats] == [32, 16, 8, 4, 2]
    assert all((f >= 0).all() for f in feats)          # after ReLU
    # ImageNet normalisation of [-1, 1] input: mid-grey 0 maps to (0.5 - mean) / std.
    first = vgg.extractor.slices[0][0]
    grey = torch.zeros(1, 3, 16, 16)
    norm = (0.5 - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    expected = torch.relu(first(norm.expand(1, 3, 16, 16)))
    assert torch.allclose(vgg.features(grey)[0], expected, atol=1e-6)
    assert vgg.weights == pytest.approx((1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0))
    assert "RANDOM" in describe_perceptual(vgg)


def test_vgg19_missing_weights_stop_with_message(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    cfg = load_config("smoke", ["train.perceptual=vgg19"])
    with pytest.raises(Exception, match="vgg19-dcbb9e9d.pth") as info:
        build_perceptual(cfg)
    assert "deepsee weights fetch vgg19" in str(info.value)


def test_build_perceptual_none_and_segmenter_requirements():
    cfg = load_config("smoke", ["train.perceptual=none"])
    assert build_perceptual(cfg) is None
    assert describe_perceptual(None).startswith("none")
    cfg = load_config("smoke", ["train.perceptual=segmenter"])
    with pytest.raises(FileNotFoundError, match="--segmenter"):
        build_perceptual(cfg)

    class Seg(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 2, 1)

        def features(self, x):
            return [self.conv(x), self.conv(x).mean(1, keepdim=True)]

    loss = build_perceptual(cfg, segmenter=Seg())
    assert loss.kind == "segmenter" and "substitute" in describe_perceptual(loss)
    assert not any(p.requires_grad for p in loss.parameters())
    assert loss(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 4)).item() == 0.0
    cfg = load_config("smoke", ["train.perceptual=alexnet"])
    with pytest.raises(ValueError, match="train.perceptual"):
        build_perceptual(cfg)


def test_pixel_l1():
    assert pixel_l1(torch.zeros(2, 3), torch.full((2, 3), -0.25)).item() == pytest.approx(0.25)


def test_region_balanced_l1_weighs_every_region_alike():
    """train.l1_region_balance: the same error in a region of 1/64 of the image and in the rest of it
    gives the same loss; uniform L1 counts the small one 63x less; the cap limits the small region's
    pixel weight; without a mask the loss is the plain mean."""
    import torch
    from deepsee.losses import pixel_l1
    from deepsee.models.masks import to_onehot
    mask = torch.zeros(1, 64, 64, dtype=torch.long)
    mask[0, :8, :8] = 13                                                   # a lip-sized region
    onehot = to_onehot(mask, 19)
    fake = torch.zeros(1, 3, 64, 64)
    small = torch.zeros(1, 3, 64, 64)
    small[..., :8, :8] = 1.0
    large = 1.0 - small
    assert float(pixel_l1(fake, small)) == pytest.approx(float(pixel_l1(fake, large)) / 63, rel=1e-5)
    assert float(pixel_l1(fake, small, onehot)) == pytest.approx(float(pixel_l1(fake, large, onehot)), rel=1e-5)
    assert float(pixel_l1(fake, small, onehot)) == pytest.approx(0.5, rel=1e-5)
    capped = float(pixel_l1(fake, small, onehot, max_weight=4.0))
    assert float(pixel_l1(fake, small)) < capped < 0.5
    assert float(pixel_l1(fake, small, None, 4.0)) == pytest.approx(float(pixel_l1(fake, small)))
