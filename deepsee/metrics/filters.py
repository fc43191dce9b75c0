"""The kit's one Gaussian: a kernel, a separable filter and the blur built from them.

- :func:`gaussian_kernel`: ``exp(-t^2 / (2 sigma^2))`` on ``t = -r..r`` with ``r = max(1, ceil(3 sigma))``,
  normalised to sum 1;
- :func:`separable_filter`: a 1-D kernel along x, then along y, per channel, reflect padding;
- :func:`gaussian_blur`: the two together.

Used by TexStatDist's energy window (:mod:`deepsee.metrics.texture`), the known-answer perturbations
(:mod:`deepsee.metrics.known_answer`) and the high-frequency split of the style-usage protocol
(:func:`deepsee.eval.style_usage.high_pass`).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def gaussian_kernel(sigma: float) -> Tensor:
    """The 1-D Gaussian of ``sigma`` pixels, ``[2 r + 1]`` float32 summing to 1, ``r = max(1, ceil(3 sigma))``
    (the cut tails hold under 0.3 % of the weight)."""
    if not sigma > 0:
        raise ValueError(f"a Gaussian needs sigma > 0, got {sigma}")
    r = max(1, int(math.ceil(3 * sigma)))
    t = torch.arange(-r, r + 1, dtype=torch.float32)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    return k / k.sum()


def separable_filter(x: Tensor, k: Tensor) -> Tensor:
    """``x [N, C, H, W]`` filtered by the odd-length 1-D kernel ``k`` along x, then along y, per channel; reflect
    padding (replicate along a side no longer than the kernel's radius, where reflecting is undefined)."""
    c = x.shape[1]
    r = k.numel() // 2
    kx = k.to(x).view(1, 1, 1, -1).expand(c, 1, 1, -1)
    ky = k.to(x).view(1, 1, -1, 1).expand(c, 1, -1, 1)
    mode_x = "reflect" if x.shape[-1] > r else "replicate"
    mode_y = "reflect" if x.shape[-2] > r else "replicate"
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode=mode_x), kx, groups=c)
    return F.conv2d(F.pad(x, (0, 0, r, r), mode=mode_y), ky, groups=c)


def gaussian_blur(x: Tensor, sigma: float) -> Tensor:
    """``G_sigma * x`` for ``x [N, C, H, W]`` (:func:`gaussian_kernel`, :func:`separable_filter`)."""
    return separable_filter(x, gaussian_kernel(sigma))
