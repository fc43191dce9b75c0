"""Style encoders (supplement Section 1.1, Tables 1-3) and regional average pooling (Eq. 1-2).

LR encoder (Table 1): four 3x3 convs, strides 1, 1, 1, nearest upsampling x2 before the last one;
16x16 -> 32x32x256. HR encoder (Table 2): the same convs with strides 1, 2, 2 (a bottleneck);
128x128 -> 64x64x256. Every conv: no bias, spectral norm, InstanceNorm (affine=False), LeakyReLU(0.2)
(the tables omit the LeakyReLU; the released code has it). Shared encoder (Table 3): conv 256->d,
InstanceNorm, Tanh, used by both branches (the released code also builds two per-branch copies that
are never used; they are left out here and skipped by the importer). Regional average pooling turns
the shared features into the style matrix ``S [B, N, d]``.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from ..config import STYLE_POOLS
from .layers import ConvNormAct


def styled_map(mask: Tensor, style: Tensor) -> Tensor:
    """The inverse of the pooling, Fig. 1's styled map: ``sum_n S[b, n, :] * M[b, n, x, y]``, each pixel
    carries its region's style row. ``mask [B, N, h, w]``, ``style [B, N, d]`` -> ``[B, d, h, w]``."""
    return torch.einsum("bnk,bnhw->bkhw", style, mask.to(style.dtype))


def regional_average_pool(features: Tensor, mask: Tensor, mode: str = "eq2") -> Tensor:
    """Eq. 2: S[b, n, k] = sum_{x,y} F[b, k, x, y] * M[b, n, x, y] / (H_fm * W_fm)  (``mode="eq2"``).

    The mask is resized (nearest) to the feature map. The sum is divided by the *whole* map area, as
    the seed's Eq. 2 and the released code do (SEAN divides by the region's own area), so a region
    covering a fraction f of the map yields styles scaled by f.

    ``mode="region"`` (the quick profile's ``model.style_pool``; not the paper's) is SEAN's average over
    the region itself, with the mask resized by area averaging so that regions smaller than a feature
    pixel keep their share: ``S[b, n, k] = sum F M_area / (sum M_area + eps)``. Every row then has the
    range of the features whatever the region's size; under "eq2" the rows of small regions
    (lips, eyes: under 1 % of the image) are about 100x smaller than the rows of large ones, smaller
    than the training style noise, and often exactly 0 when the nearest resize drops the region.

    Args:
        features: ``[B, d, h, w]`` in [-1, 1] (after Tanh).
        mask:     one-hot / soft ``[B, N, H, W]`` (any size; resized to ``h x w``).
        mode:     "eq2" (the paper's Eq. 2, as released) | "region" (see above).
    Returns ``[B, N, d]``.
    """
    b, d, h, w = features.shape
    if mask.ndim != 4 or mask.shape[0] != b:
        raise ValueError(f"mask must be [B={b}, N, H, W]; got {tuple(mask.shape)}")
    if mode not in STYLE_POOLS:
        raise ValueError(f"style pooling mode {mode!r}; expected one of {STYLE_POOLS} (model.style_pool)")
    mask = mask.to(features.dtype)
    if mode == "region":
        if tuple(mask.shape[-2:]) != (h, w):
            mask = F.adaptive_avg_pool2d(mask, (h, w)) if mask.shape[-1] >= w else \
                F.interpolate(mask, size=(h, w), mode="bilinear", align_corners=False)
        mass = mask.sum((2, 3))                                              # [B, N]
        return torch.einsum("bkhw,bnhw->bnk", features, mask) / (mass[..., None] + 1e-3)
    if tuple(mask.shape[-2:]) != (h, w):
        mask = F.interpolate(mask, size=(h, w), mode="nearest")
    return torch.einsum("bkhw,bnhw->bnk", features, mask) / (h * w)


class StyleEncoder(nn.Module):
    """The LR (strides 1, 1, 1) or HR (strides 1, 2, 2) style encoder: image -> ``[B, w3, h, w]``."""

    def __init__(self, *,
                 widths: Sequence[int] = (32, 64, 128, 256),  # output channels of the four convs
                 strides: Sequence[int] = (1, 1, 1),          # strides of the first three convs
                 in_ch: int = 3):
        super().__init__()
        w0, w1, w2, w3 = widths
        s0, s1, s2 = strides
        self.strides = tuple(strides)
        self.conv_0 = ConvNormAct(in_ch=in_ch, out_ch=w0, stride=s0)
        self.conv_1 = ConvNormAct(in_ch=w0, out_ch=w1, stride=s1)
        self.conv_2 = ConvNormAct(in_ch=w1, out_ch=w2, stride=s2)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.conv_3 = ConvNormAct(in_ch=w2, out_ch=w3)

    def forward(self, image: Tensor) -> Tensor:              # [B, 3, H, W] in [-1, 1]
        x = self.conv_2(self.conv_1(self.conv_0(image)))
        return self.conv_3(self.up(x))                       # [B, w3, H*2/(s0*s1*s2), ...]


class SharedEncoder(nn.Module):
    """Table 3: conv w3->d + InstanceNorm + Tanh, then regional average pooling -> ``[B, N, d]``."""

    def __init__(self, *, in_ch: int = 256, style_dim: int = 128, pool: str = "eq2"):
        super().__init__()
        if pool not in STYLE_POOLS:
            raise ValueError(f"model.style_pool={pool!r}; expected one of {STYLE_POOLS}")
        self.conv = ConvNormAct(in_ch=in_ch, out_ch=style_dim, act="tanh")
        self.pool = pool

    def forward(self, features: Tensor, mask: Tensor) -> Tensor:  # [B, w3, h, w], [B, N, H, W]
        return regional_average_pool(self.conv(features), mask, self.pool)   # [B, N, d]
