"""Adversarial hinge losses and discriminator feature matching (supplementary Section 2.1, Eqs. 3-5).

The discriminator (Section 1.3) has ``num_scales`` networks; for each scale it returns a list
``[feat_1, feat_2, feat_3, feat_4, prediction]``. Following the released implementation:

- Eq. 3, generator:      L_adv   = -mean(D(x_hat)),                    averaged over the scales.
- Eq. 4, discriminator:  L_adv_D = mean(relu(1 - D(x))) + mean(relu(1 + D(x_hat))), averaged over scales.
- Eq. 5, feature matching: L1 between real and fake activations of *every* intermediate layer (all
  four, not only layers 2-4 as Eq. 5 writes), summed over layers, divided by the number of scales;
  real activations are detached. The caller multiplies by lambda_feat.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

Tensor = torch.Tensor
# One entry per discriminator scale: [feat_1, ..., feat_k, prediction].
ScaleOutputs = Sequence[Sequence[Tensor]]


def _predictions(outputs: ScaleOutputs) -> list[Tensor]:
    if len(outputs) == 0:
        raise ValueError("discriminator outputs are empty (expected one list per scale)")
    return [scale[-1].float() for scale in outputs]


def hinge_g(fake_outputs: ScaleOutputs) -> Tensor:
    """Eq. 3: ``-mean(D(fake))`` per scale, averaged over the scales."""
    preds = _predictions(fake_outputs)
    return torch.stack([-p.mean() for p in preds]).mean()


def hinge_d_terms(real_outputs: ScaleOutputs, fake_outputs: ScaleOutputs) -> tuple[Tensor, Tensor]:
    """Eq. 4 split in its real and fake halves, each averaged over the scales."""
    real, fake = _predictions(real_outputs), _predictions(fake_outputs)
    if len(real) != len(fake):
        raise ValueError(f"real and fake outputs have {len(real)} and {len(fake)} scales")
    loss_real = torch.stack([F.relu(1.0 - r).mean() for r in real]).mean()
    loss_fake = torch.stack([F.relu(1.0 + f).mean() for f in fake]).mean()
    return loss_real, loss_fake


def hinge_d(real_outputs: ScaleOutputs, fake_outputs: ScaleOutputs) -> Tensor:
    """Eq. 4 (= L_D, Eq. 8): ``mean(relu(1 - D(real))) + mean(relu(1 + D(fake)))``, averaged over scales."""
    loss_real, loss_fake = hinge_d_terms(real_outputs, fake_outputs)
    return loss_real + loss_fake


def feature_matching(real_outputs: ScaleOutputs, fake_outputs: ScaleOutputs) -> Tensor:
    """Eq. 5 over all intermediate layers: ``sum_scales sum_layers L1(fake, real.detach()) / num_scales``.

    The last entry of each scale (the prediction) is not a feature and is skipped.
    """
    if len(real_outputs) != len(fake_outputs) or len(real_outputs) == 0:
        raise ValueError(f"real and fake outputs have {len(real_outputs)} and {len(fake_outputs)} scales")
    total = fake_outputs[0][-1].new_zeros((), dtype=torch.float32)
    for real, fake in zip(real_outputs, fake_outputs):
        if len(real) != len(fake) or len(real) < 2:
            raise ValueError("each scale must hold the same number of features plus a prediction")
        for r, f in zip(real[:-1], fake[:-1]):
            total = total + F.l1_loss(f.float(), r.detach().float())
    return total / len(real_outputs)
