"""Multiscale PatchGAN discriminator (supplement Section 1.3; SPADE's design as released).

Input: the image concatenated with its one-hot mask (3 + N = 22 channels). Two scales; the second
sees the input average-pooled (3x3, stride 2, padding 1, count_include_pad=False). Per scale:
    conv4x4 s2 22->ndf (bias, no norm), LeakyReLU(0.2)
    conv4x4 s2 ndf->2ndf, conv4x4 s2 2ndf->4ndf, conv4x4 s1 4ndf->8ndf   (no bias, spectral norm,
        InstanceNorm(affine=False), LeakyReLU(0.2))
    conv4x4 s1 8ndf->1 (bias)
all with padding 2 (ceil((4 - 1) / 2)). 1,407,042 parameters at ndf = 32 for both scales.
Each scale returns its four intermediate activations (for feature matching) and its prediction.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .layers import ConvNormAct, conv2d
from .masks import to_onehot

PAD = 2


class PatchDiscriminator(nn.Module):
    """One scale: image+mask ``[B, 3+N, H, W]`` -> [4 activations..., prediction ``[B, 1, h, w]``]."""

    def __init__(self, *, in_ch: int = 22, width: int = 32):
        super().__init__()
        self.layer_0 = nn.Sequential(conv2d(in_ch, width, 4, stride=2, padding=PAD), nn.LeakyReLU(0.2))
        self.layer_1 = ConvNormAct(in_ch=width, out_ch=2 * width, kernel=4, stride=2, padding=PAD)
        self.layer_2 = ConvNormAct(in_ch=2 * width, out_ch=4 * width, kernel=4, stride=2, padding=PAD)
        self.layer_3 = ConvNormAct(in_ch=4 * width, out_ch=8 * width, kernel=4, stride=1, padding=PAD)
        self.head = conv2d(8 * width, 1, 4, stride=1, padding=PAD)

    def forward(self, x: Tensor) -> list[Tensor]:
        feats = []
        for layer in (self.layer_0, self.layer_1, self.layer_2, self.layer_3):
            x = layer(x)
            feats.append(x)
        return feats + [self.head(x)]


class MultiscaleDiscriminator(nn.Module):
    """``num_scales`` PatchDiscriminators on successively average-pooled inputs."""

    def __init__(self, *, num_classes: int = 19, width: int = 32, num_scales: int = 2):
        super().__init__()
        self.num_classes = num_classes
        self.scales = nn.ModuleList([PatchDiscriminator(in_ch=3 + num_classes, width=width)
                                     for _ in range(num_scales)])

    @staticmethod
    def downsample(x: Tensor) -> Tensor:
        return F.avg_pool2d(x, kernel_size=3, stride=2, padding=1, count_include_pad=False)

    def forward(self, image: Tensor, mask: Tensor) -> list[list[Tensor]]:
        """``image [B, 3, H, W]``, mask labels or one-hot -> per scale [a0, a1, a2, a3, prediction]."""
        x = torch.cat([image, to_onehot(mask, self.num_classes, size=image.shape[-2:]).to(image.dtype)], 1)
        outs = []
        for k, scale in enumerate(self.scales):
            if k > 0:
                x = self.downsample(x)
            outs.append(scale(x))
        return outs


def build_discriminator(cfg) -> MultiscaleDiscriminator:
    """The discriminator of a ``ModelConfig`` (``disc_width``, ``num_scales``, ``num_classes``)."""
    return MultiscaleDiscriminator(num_classes=cfg.num_classes, width=cfg.disc_width, num_scales=cfg.num_scales)
