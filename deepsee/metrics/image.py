"""Fidelity metrics of the supplementary material, Sec. 2.3 / Tables 6-7: PSNR and SSIM.

Both are computed by scikit-image on RGB images quantised to uint8 exactly as a saved PNG would be
(``round((x + 1) * 127.5)`` clamped to 0..255), with ``data_range=255`` and no border crop.
"""
from __future__ import annotations

import numpy as np
import torch
from skimage.metrics import peak_signal_noise_ratio
from skimage.metrics import structural_similarity
from torch import Tensor

# SSIM settings (Wang et al. 2004 as implemented by scikit-image); also reported by metric_settings().
SSIM_KWARGS = dict(data_range=255, channel_axis=-1, gaussian_weights=True, sigma=1.5,
                   use_sample_covariance=False)


def to_uint8(x) -> np.ndarray:
    """Images -> uint8 array ``[B, H, W, 3]``.

    Accepts float tensors ``[B, 3, H, W]`` / ``[3, H, W]`` in ``[-1, 1]`` (values outside are
    clamped; ``round((x + 1) * 127.5)``, ties to even), uint8 tensors in the same layouts, and
    numpy uint8 arrays ``[H, W, 3]`` / ``[B, H, W, 3]``. Float numpy arrays are rejected because
    their range is ambiguous.
    """
    if hasattr(x, "detach"):  # torch tensor, channels first
        t = x.detach().cpu()
        if t.dim() == 3:
            t = t[None]
        if t.dim() != 4 or t.shape[1] != 3:
            raise ValueError(f"expected an image tensor [B, 3, H, W] or [3, H, W], got {tuple(x.shape)}")
        if t.is_floating_point():
            t = t.float()
            if not bool(t.isfinite().all()):
                raise ValueError("image tensor contains NaN or inf")
            t = ((t + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
        elif t.dtype != torch.uint8:
            raise TypeError(f"image tensors must be float in [-1, 1] or uint8, got {t.dtype}")
        return t.permute(0, 2, 3, 1).contiguous().numpy()
    a = np.asarray(x)
    if a.dtype != np.uint8:
        raise TypeError(f"numpy images must be uint8 [H, W, 3] (got {a.dtype}); pass float images as "
                        "torch tensors in [-1, 1]")
    if a.ndim == 3:
        a = a[None]
    if a.ndim != 4 or a.shape[-1] != 3:
        raise ValueError(f"expected a uint8 array [H, W, 3] or [B, H, W, 3], got {a.shape}")
    return a


def _pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    ua, ub = to_uint8(a), to_uint8(b)
    if ua.shape != ub.shape:
        raise ValueError(f"image shapes differ: {ua.shape} vs {ub.shape} (as [B, H, W, 3])")
    return ua, ub


def psnr(a, b) -> np.ndarray:
    """Peak signal-to-noise ratio per image (dB), ``[B]`` float64; higher is better.

    Range ``[0, inf]``; identical images give ``inf``. RGB uint8 values (see :func:`to_uint8`),
    ``data_range=255``, MSE over all pixels and the three channels together, no border crop, no
    Y-channel conversion. ``skimage.metrics.peak_signal_noise_ratio``. Symmetric in ``a``, ``b``.
    """
    ua, ub = _pair(a, b)
    with np.errstate(divide="ignore"):
        return np.array([peak_signal_noise_ratio(x, y, data_range=255) for x, y in zip(ua, ub)],
                        dtype=np.float64)


def ssim(a, b) -> np.ndarray:
    """Structural similarity per image, ``[B]`` float64; higher is better.

    Range ``[-1, 1]``; identical images give 1. RGB uint8 values (see :func:`to_uint8`),
    ``data_range=255``; SSIM computed per channel and averaged over R, G, B
    (``channel_axis=-1``); Gaussian window ``sigma=1.5`` (11x11), ``use_sample_covariance=False``,
    K1=0.01, K2=0.03 (Wang et al. 2004). No border crop of the images (scikit-image averages the
    SSIM map over the positions where the window fits, i.e. 5 px from each edge).
    ``skimage.metrics.structural_similarity``. Images must be at least 11x11.
    """
    ua, ub = _pair(a, b)
    if min(ua.shape[1:3]) < 11:
        raise ValueError(f"SSIM with an 11x11 Gaussian window needs images of at least 11x11, got "
                         f"{ua.shape[1]}x{ua.shape[2]}")
    return np.array([structural_similarity(x, y, **SSIM_KWARGS) for x, y in zip(ua, ub)],
                    dtype=np.float64)


def quantize(x: Tensor) -> Tensor:
    """Round ``[-1, 1]`` images to the 256 levels a saved uint8 PNG has (and clamp)."""
    return ((x.float() + 1) * 127.5).round().clamp(0, 255) / 127.5 - 1


def check_pair(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """Two images (or batches) as ``[B, 3, H, W]`` of equal shape; a ``ValueError`` naming both shapes otherwise."""
    if a.dim() == 3:
        a = a[None]
    if b.dim() == 3:
        b = b[None]
    if a.dim() != 4 or a.shape[1] != 3 or a.shape != b.shape:
        raise ValueError(f"expected two image tensors [B, 3, H, W] of equal shape, got "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    return a, b
