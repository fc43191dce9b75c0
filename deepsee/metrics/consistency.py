"""LR consistency of super-resolved images, measured as the field measures it (NTIRE 2021 "Learning the
Super-Resolution Space", Lugmayr et al.), and the challenge's diversity score.

- :func:`lr_psnr`: PSNR between the output downscaled with the dataset's own degradation and the LR input.
  The challenge requires at least 45 dB of an explorative method.
- :func:`diversity_score`: of ``K`` samples of one input, from a spatial perceptual map of each sample
  against the ground truth: ``(global best - local best) / global best x 100``, global best the lowest
  per-sample mean, local best the mean of the per-pixel minimum over the samples.
"""
from __future__ import annotations

import numpy as np
from torch import Tensor

from ..data.common import lr_from_hr

NTIRE_MIN_LR_PSNR = 45.0   # dB: the NTIRE 2021 SR-space challenge's consistency requirement
EXACT_DB = 200.0           # dB: where means and tables cap an exact (infinite) LR-PSNR


def lr_psnr(sr: Tensor, lr: Tensor, antialias: bool = False) -> np.ndarray:
    """LR-PSNR per image, ``[B]`` float64 dB; higher is more consistent, ``inf`` when exact.

    ``sr`` ``[B, 3, H, W]`` (or ``[3, H, W]``) in [-1, 1] is clamped to that range and downscaled with the
    kit's degradation, :func:`deepsee.data.common.lr_from_hr` (PyTorch bicubic, ``align_corners=False``,
    ``antialias`` as the dataset's ``data.antialias``, clamped), to the size of ``lr`` ``[B, 3, h, w]``; both are
    mapped to [0, 1] and compared as floats (no uint8 rounding) on the LR grid with peak 1:
    ``10 log10(1 / MSE)``, MSE over pixels and channels. The NTIRE 2021 protocol does the same with MATLAB's
    ``imresize`` (antialiased bicubic) on uint8 images; values are comparable in meaning, not digit for digit.
    """
    s = sr[None] if sr.dim() == 3 else sr
    y = lr[None] if lr.dim() == 3 else lr
    if s.dim() != 4 or y.dim() != 4 or s.shape[:2] != y.shape[:2] or y.shape[-1] != y.shape[-2]:
        raise ValueError(f"lr_psnr: expected sr [B, 3, H, W] and a square lr [B, 3, h, h] with the same B; got "
                         f"{tuple(sr.shape)} and {tuple(lr.shape)}")
    down = lr_from_hr(s.detach().float().clamp(-1, 1), y.shape[-1], antialias=antialias)
    mse = ((down.double() - y.detach().double().to(down.device)) / 2).pow(2).mean((1, 2, 3)).cpu().numpy()
    with np.errstate(divide="ignore"):
        return 10 * np.log10(1.0 / mse)


def capped_lr_psnr(sr: Tensor, lr: Tensor, antialias: bool = False) -> np.ndarray:
    """:func:`lr_psnr` with an exact answer (``inf``) counted as :data:`EXACT_DB`, so means stay finite."""
    return np.minimum(lr_psnr(sr, lr, antialias), EXACT_DB)


def summarize_lr_psnr(values) -> dict[str, float]:
    """``{"lr_psnr": mean, "lr_psnr_worst": min, "lr_psnr_ge45": share at or above 45 dB}`` of per-image values
    (exact images, ``inf``, count as :data:`EXACT_DB`, beyond float32 resolution)."""
    v = np.minimum(np.asarray(values, dtype=np.float64).ravel(), EXACT_DB)
    if v.size == 0:
        raise ValueError("summarize_lr_psnr: no values")
    return {"lr_psnr": float(v.mean()), "lr_psnr_worst": float(v.min()),
            "lr_psnr_ge45": float((v >= NTIRE_MIN_LR_PSNR).mean())}


def diversity_score(maps: Tensor) -> float:
    """The NTIRE 2021 diversity score of one input's ``K`` samples, in percent (0 when ``K`` = 1 or all equal).

    ``maps``: ``[K, H, W]`` spatial perceptual distances of each sample to the ground truth (LPIPS with
    ``spatial=True``, or :meth:`deepsee.metrics.texture.TextureDistance.spatial`). Global best = the lowest
    per-sample mean; local best = the mean over pixels of the per-pixel minimum over samples;
    score = (global - local) / global x 100. Range [0, 100].
    """
    if maps.dim() != 3 or maps.shape[0] < 1:
        raise ValueError(f"diversity_score: expected maps [K, H, W], got {tuple(maps.shape)}")
    m = maps.double()
    glob = float(m.mean((1, 2)).min())
    local = float(m.min(0).values.mean())
    return 0.0 if glob <= 0 else 100.0 * (glob - local) / glob
