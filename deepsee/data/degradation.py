"""The kit's degradation as a linear operator, and the exact projection onto the images consistent with an
LR input (beyond the paper: Bahat and Michaeli, "Explorable Super Resolution", CVPR 2020, Sec. 3).

The LR image of every dataset is :func:`deepsee.data.common.lr_from_hr`: PyTorch's bicubic resize
(``align_corners=False``, optionally ``antialias``) followed by a clamp to [-1, 1]. Without the clamp it is a
linear map ``D`` of the HR image, and it is *separable*: per channel, ``D(X) = A X B^T`` with ``A`` the
``h x H`` row operator and ``B`` the ``w x W`` column operator. :func:`resize_matrix` obtains them by
resizing unit vectors with the very call ``lr_from_hr`` makes, so they are that operator, not a re-derivation
(tests compare ``A X B^T`` with the resize to 1e-5, float32 rounding).

Consistency projection. The images that ``D`` maps to ``y`` form an affine set; the nearest one to ``x`` is

    x' = x + D^T (D D^T)^-1 (y - D x).

With ``D = B (x) A`` (Kronecker), ``D D^T = (B B^T) (x) (A A^T)``, so

    x' = x + A^+ (y - A x B^T) B^+^T,     A^+ = A^T (A A^T)^-1   (H x h),

two small pseudo-inverses per size, computed once in float64 and cached (:func:`resize_matrix`). This is
exact (no iterative solver). ``A A^T`` is well conditioned for the kit's operators (condition 1 at integer
factors without antialias, about 2 with it).

Range. ``x'`` may leave [-1, 1]. :func:`project_consistent` then runs Dykstra's alternating projection
between the affine set and the box [-1, 1]^n for :data:`RANGE_ITERS` rounds (``range_iters``): it converges
to the nearest image that is consistent *and* in range, and stops early once no pixel is out of range. The
result is clamped, so it is always a valid image; the LR error this last clamp leaves is what
:func:`deepsee.metrics.consistency.lr_psnr` reports (above 60 dB on random inputs, tested).
"""
from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import Tensor

RANGE_ITERS = 30   # Dykstra rounds between the consistent set and [-1, 1] (stops early when nothing is clipped)


@lru_cache(maxsize=64)
def _matrices(n_in: int, n_out: int, antialias: bool) -> tuple[Tensor, Tensor]:
    # a width-4 strip: PyTorch's antialiased bicubic mishandles a width-1 input (measured), 4 is exact
    eye = torch.eye(n_in, dtype=torch.float64).reshape(n_in, 1, n_in, 1).expand(n_in, 1, n_in, 4).contiguous()
    a = F.interpolate(eye, size=(n_out, 4), mode="bicubic", align_corners=False, antialias=antialias)
    a = a[..., 0].reshape(n_in, n_out).T.contiguous()                       # [n_out, n_in]
    pinv = a.T @ torch.linalg.inv(a @ a.T)                                   # [n_in, n_out]
    return a, pinv


def resize_matrix(n_in: int, n_out: int, antialias: bool = False) -> tuple[Tensor, Tensor]:
    """``(A, A^+)`` in float64: ``A`` ``[n_out, n_in]`` is the kit's bicubic resize along one axis
    (``lr_from_hr`` without its clamp), ``A^+ = A^T (A A^T)^-1`` ``[n_in, n_out]`` its pseudo-inverse. Cached."""
    if not (isinstance(n_in, int) and isinstance(n_out, int)) or not 0 < n_out <= n_in:
        raise ValueError(f"resize_matrix: expected sizes 0 < n_out <= n_in (a downscaling), got n_in={n_in!r}, "
                         f"n_out={n_out!r}")
    return _matrices(n_in, n_out, bool(antialias))


def _pair(size: tuple[int, int], lr_size: tuple[int, int], antialias: bool, like: Tensor):
    (H, W), (h, w) = size, lr_size
    (a, ap), (b, bp) = resize_matrix(H, h, antialias), resize_matrix(W, w, antialias)
    cast = lambda m: m.to(device=like.device, dtype=like.dtype)   # noqa: E731
    return cast(a), cast(ap), cast(b), cast(bp)


def downsample_linear(x: Tensor, lr_size: int | tuple[int, int], antialias: bool = False) -> Tensor:
    """``D x``: the kit's bicubic LR of ``x`` ``[..., H, W]`` as ``A x B^T``, without the clamp of
    ``lr_from_hr`` (the linear part of the degradation)."""
    lr_size = (lr_size, lr_size) if isinstance(lr_size, int) else tuple(lr_size)
    a, _, b, _ = _pair(tuple(x.shape[-2:]), lr_size, antialias, x)
    return a @ x @ b.T


def _checked(sr: Tensor, lr: Tensor) -> tuple[Tensor, Tensor, bool]:
    one = sr.dim() == 3
    s, y = (sr[None], lr[None] if lr.dim() == 3 else lr) if one else (sr, lr)
    if s.dim() != 4 or y.dim() != 4 or s.shape[:2] != y.shape[:2]:
        raise ValueError(f"project_consistent: sr and lr must be [B, C, H, W] (or [C, H, W]) with the same B and C; "
                         f"got sr {tuple(sr.shape)} and lr {tuple(lr.shape)}")
    if y.shape[-2] > s.shape[-2] or y.shape[-1] > s.shape[-1]:
        raise ValueError(f"project_consistent: lr {tuple(lr.shape)} is larger than sr {tuple(sr.shape)}")
    if not s.is_floating_point():
        raise TypeError(f"project_consistent: sr must be a float image in [-1, 1], got {s.dtype}")
    return s, y.to(s), one


def project_consistent(sr: Tensor, lr: Tensor, antialias: bool = False, *, clip: bool = True,
                       range_iters: int = RANGE_ITERS) -> Tensor:
    """The image nearest to ``sr`` whose kit LR (``lr_from_hr(., lr_size, antialias)``) is ``lr``.

    Args:
        sr: ``[B, 3, H, W]`` (or ``[3, H, W]``) float images in [-1, 1], e.g. explored outputs.
        lr: their LR inputs ``[B, 3, h, w]`` in [-1, 1].
        antialias: the dataset's ``data.antialias`` (the degradation that made ``lr``).
        clip: keep the result in [-1, 1] (Dykstra's projection onto consistent-and-in-range, ``range_iters``
            rounds, then a clamp); ``False`` returns the exact affine projection (possibly out of range).

    Returns the projected images, same shape and dtype as ``sr``. Idempotent; an image already consistent
    (and in range) is returned unchanged up to float rounding.
    """
    s, y, one = _checked(sr, lr)
    a, ap, b, bp = _pair(tuple(s.shape[-2:]), tuple(y.shape[-2:]), antialias, s)

    def affine(x: Tensor) -> Tensor:                     # x + D^T (D D^T)^-1 (y - D x)
        return x + ap @ (y - a @ x @ b.T) @ bp.T

    x = affine(s)
    if clip:
        q = torch.zeros_like(x)                          # Dykstra's correction for the box (the affine set needs none)
        for _ in range(max(0, int(range_iters))):
            if not bool(((x < -1) | (x > 1)).any()):
                break
            z = (x + q).clamp(-1, 1)
            q = x + q - z
            x = affine(z)
        x = x.clamp(-1, 1)
    return x[0] if one else x


def bicubic_upsample(lr: Tensor, size) -> Tensor:
    """Bicubic upsampling ``[B, 3, h, w] -> [B, 3, H, W]`` (``align_corners=False``), clamped to [-1, 1].

    The baseline of Tables 6-7 (the inverse of the kit's bicubic LR, without antialias).
    """
    if isinstance(size, int):
        size = (size, size)
    return F.interpolate(lr.float(), size=tuple(size), mode="bicubic", align_corners=False).clamp(-1, 1)
