"""Frechet Inception Distance (Heusel et al. 2017) of Tables 6-7, through ``pytorch-fid``.

Features: pytorch-fid's FID ``InceptionV3`` pool3 block (2048-d, the TF-ported FID weights
``pt_inception-2015-12-05-6726825d.pth`` in torch's checkpoint cache; ``deepsee weights fetch
inception_fid``), assembled from pytorch-fid's module by :class:`FIDInception`. Images are quantised to
uint8 levels, scaled to ``[0, 1]`` and resized to 299x299 bilinearly, as pytorch-fid's command line does
with PNG files. The distance is
``pytorch_fid.fid_score.calculate_frechet_distance`` on the feature means and covariances
(``np.cov(rowvar=False)``, as pytorch-fid).

Reference statistics of the ground-truth images are cached as ``.npz`` files whose names state
dataset, split, image size, image count and the feature weights' checksum.
"""
from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch
import torchvision
from scipy import linalg
from torch import Tensor

from ..runs import atomic_path
from ..weights import require, sha256_file


class FIDInception(torch.nn.Module):
    """pytorch-fid's ``InceptionV3`` for FID (pool3 block, 2048-d), built from the verified local weights.

    The network is ``pytorch_fid.inception``'s FID Inception: torchvision's Inception-v3 (1008 classes,
    no auxiliary head) with pytorch-fid's ``FIDInceptionA/C/E_1/E_2`` blocks, exactly as
    ``fid_inception_v3`` assembles it, but loaded from ``state_dict`` instead of pytorch-fid's download.
    ``forward`` is pytorch-fid's for ``output_blocks=[3], resize_input=True, normalize_input=True``:
    ``[n, 3, H, W]`` in [0, 1] -> bilinear resize to 299x299 -> ``2x - 1`` -> the four blocks ->
    ``[[n, 2048, 1, 1]]`` (a one-entry list, like pytorch-fid). Parameter names match pytorch-fid's
    (``blocks.<b>.<i>...``).
    """

    def __init__(self, state_dict: dict):
        super().__init__()
        import pytorch_fid.inception as pfi   # heavy import: only when used
        net = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False, num_classes=1008)
        net.Mixed_5b = pfi.FIDInceptionA(192, pool_features=32)
        net.Mixed_5c = pfi.FIDInceptionA(256, pool_features=64)
        net.Mixed_5d = pfi.FIDInceptionA(288, pool_features=64)
        net.Mixed_6b = pfi.FIDInceptionC(768, channels_7x7=128)
        net.Mixed_6c = pfi.FIDInceptionC(768, channels_7x7=160)
        net.Mixed_6d = pfi.FIDInceptionC(768, channels_7x7=160)
        net.Mixed_6e = pfi.FIDInceptionC(768, channels_7x7=192)
        net.Mixed_7b = pfi.FIDInceptionE_1(1280)
        net.Mixed_7c = pfi.FIDInceptionE_2(2048)
        net.load_state_dict(state_dict, strict=True)
        self.blocks = torch.nn.ModuleList([
            torch.nn.Sequential(net.Conv2d_1a_3x3, net.Conv2d_2a_3x3, net.Conv2d_2b_3x3,
                                torch.nn.MaxPool2d(kernel_size=3, stride=2)),
            torch.nn.Sequential(net.Conv2d_3b_1x1, net.Conv2d_4a_3x3, torch.nn.MaxPool2d(kernel_size=3, stride=2)),
            torch.nn.Sequential(net.Mixed_5b, net.Mixed_5c, net.Mixed_5d, net.Mixed_6a, net.Mixed_6b, net.Mixed_6c,
                                net.Mixed_6d, net.Mixed_6e),
            torch.nn.Sequential(net.Mixed_7a, net.Mixed_7b, net.Mixed_7c, torch.nn.AdaptiveAvgPool2d((1, 1))),
        ])

    def forward(self, x: Tensor) -> list[Tensor]:
        x = torch.nn.functional.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        x = 2 * x - 1
        for block in self.blocks:
            x = block(x)
        return [x]


def build_inception(device: str | torch.device = "cpu") -> torch.nn.Module:
    """:class:`FIDInception` with the FID weights from the local cache, read with
    ``torch.load(weights_only=True)``.

    Raises :class:`~deepsee.weights.MissingWeightsError` before building anything when the file is
    absent or fails its checksum; nothing is ever downloaded.
    """
    path = require("inception_fid")
    state = torch.load(path, map_location="cpu", weights_only=True)
    return FIDInception(state).eval().requires_grad_(False).to(device)


def fid_weights_id() -> str:
    """Short checksum of the local FID Inception file (part of the cache key of reference statistics)."""
    return sha256_file(require("inception_fid"))[:12]


def _batches(images, batch_size: int) -> Iterable[Tensor]:
    if isinstance(images, Tensor):
        if images.dim() == 3:
            images = images[None]
        for i in range(0, images.shape[0], batch_size):
            yield images[i:i + batch_size]
    else:
        yield from images


@torch.no_grad()
def inception_features(images, model: torch.nn.Module | Callable | None = None, *,
                       device: str | torch.device = "cpu", batch_size: int = 50) -> np.ndarray:
    """Feature vectors ``[N, D]`` (float64) of images ``[N, 3, H, W]`` in ``[-1, 1]`` (or an iterable of such batches).

    ``model`` defaults to :func:`build_inception` (raises MissingWeightsError without the weights);
    any stand-in maps ``[n, 3, H, W]`` images in ``[0, 1]`` to ``[n, D]`` or a list whose first entry
    is ``[n, D, 1, 1]`` (pytorch-fid's output). Inputs are quantised to uint8 levels, like saved PNGs.
    """
    if model is None:
        model = build_inception(device)
    feats = []
    for x in _batches(images, batch_size):
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"expected image batches [n, 3, H, W], got {tuple(x.shape)}")
        x01 = ((x.float() + 1) * 127.5).round().clamp(0, 255).to(device) / 255.0
        out = model(x01)
        if isinstance(out, (list, tuple)):
            out = out[0]
        feats.append(out.reshape(out.shape[0], -1).double().cpu().numpy())
    if not feats:
        raise ValueError("no images given")
    return np.concatenate(feats, 0)


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``[D]`` and covariance ``[D, D]`` (``np.cov(rowvar=False)``, unbiased) of ``[N, D]`` features."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"need features [N >= 2, D], got {f.shape}")
    return f.mean(0), np.cov(f, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """``|mu1 - mu2|^2 + Tr(S1) + Tr(S2) - 2 Tr((S1 S2)^{1/2})`` with scipy's matrix square root.

    The same formula and safeguards as pytorch-fid (``eps`` on the diagonals when the product is
    singular; a negligible imaginary part from round-off is dropped, a large one is an error).
    """
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    s1, s2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    if mu1.shape != mu2.shape or s1.shape != s2.shape:
        raise ValueError(f"statistics differ in size: {mu1.shape}/{s1.shape} vs {mu2.shape}/{s2.shape}")
    covmean = linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():
        offset = np.eye(s1.shape[0]) * eps
        covmean = linalg.sqrtm((s1 + offset) @ (s2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"FID: imaginary component {np.abs(covmean.imag).max():.3g} in the matrix square root")
        covmean = covmean.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def fid_from_stats(mu1, sigma1, mu2, sigma2) -> float:
    """Frechet distance ``|mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2})``; >= 0, lower is better.

    ``pytorch_fid.fid_score.calculate_frechet_distance``; pytorch-fid 0.3 passes ``disp=False`` to
    ``scipy.linalg.sqrtm``, which SciPy 1.18 removed, so there :func:`frechet_distance` (the same
    formula) is used instead.
    """
    from pytorch_fid.fid_score import calculate_frechet_distance   # heavy import: only when used
    args = (np.asarray(mu1), np.asarray(sigma1), np.asarray(mu2), np.asarray(sigma2))
    try:
        with warnings.catch_warnings():  # SciPy 1.16/1.17 deprecate sqrtm(disp=...)
            warnings.simplefilter("ignore", DeprecationWarning)
            return float(calculate_frechet_distance(*args))
    except TypeError as e:
        if "disp" not in str(e):
            raise
        return frechet_distance(*args)


def fid_from_features(f1: np.ndarray, f2: np.ndarray) -> float:
    """FID between two feature sets ``[N1, D]`` and ``[N2, D]``. Range ``[0, inf)``; 0 for equal statistics.

    Note that FID is biased upwards for small N; tables state the number of images.
    """
    return fid_from_stats(*feature_statistics(f1), *feature_statistics(f2))


def _slug(s) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", str(s)).strip("-") or "x"


def reference_stats_path(cache_dir: str | Path, *, dataset: str, split: str, size: int, n: int,
                         weights_id: str) -> Path:
    """``<cache_dir>/fid_<dataset>_<split>_<size>px_n<n>_<weights_id>.npz``."""
    name = f"fid_{_slug(dataset)}_{_slug(split)}_{int(size)}px_n{int(n)}_{_slug(weights_id)}.npz"
    return Path(cache_dir) / name


def reference_statistics(images, *, dataset: str, split: str, size: int, n: int, cache_dir: str | Path,
                         model: torch.nn.Module | Callable | None = None, weights_id: str | None = None,
                         device: str | torch.device = "cpu", batch_size: int = 50
                         ) -> tuple[np.ndarray, np.ndarray]:
    """FID statistics of the ground truth, cached per dataset / split / size / image count / weights.

    ``images`` is a zero-argument callable returning the image batches (only called on a cache
    miss) or the images themselves. With a stand-in ``model`` a ``weights_id`` is required so
    stand-in statistics never collide with real ones. The ``.npz`` is written atomically.
    """
    if model is None:
        weights_id = fid_weights_id()
        model = build_inception(device)
    elif not weights_id:
        raise ValueError("reference_statistics with a custom model needs a weights_id for the cache key")
    path = reference_stats_path(cache_dir, dataset=dataset, split=split, size=size, n=n,
                                weights_id=weights_id)
    if path.is_file():
        with np.load(path) as z:
            return z["mu"], z["sigma"]
    feats = inception_features(images() if callable(images) else images, model, device=device,
                               batch_size=batch_size)
    if feats.shape[0] != n:
        raise ValueError(f"expected {n} reference images, got {feats.shape[0]}")
    mu, sigma = feature_statistics(feats)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, mu=mu, sigma=sigma, n=n, dataset=dataset, split=split, size=size, weights=weights_id)
    return mu, sigma
