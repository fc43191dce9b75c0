"""Explorative metrics: oracle selection among sampled solutions (supplementary Sec. 3.1, Figs 5-7),
diversity of the samples, and the locality of per-region style edits (Sec. 3.4, Fig. 10).

Both diversity and region change measure pixel change in one unit, :func:`change_map`: ``|a - b|`` averaged
over RGB, in ``[0, 1]`` image units (half the difference of images in ``[-1, 1]``). A region's change is split
by one rule (:func:`region_change`): the whole region inside, every other pixel outside, the ratio
inside / outside (higher is more local), and optionally the ring of ``band`` px around the region
(:func:`edge_band`) apart from the pixels beyond it. The style-usage protocol
(:mod:`deepsee.eval.style_usage`) is built on these functions; they receive images or a generate function and
never run a model themselves.

The paper samples 1,000 solutions per image "by adding scaled Gaussian noise to the style matrix"
and marks the best of 1, 10, 100 and 1,000 random solutions in SSIM and LPIPS. It does not state
the noise scale, nor whether the perturbed styles are clamped; :func:`oracle_selection` takes both
explicitly (noise scale; styles always clamped to [-1, 1]) and returns them as the sampling protocol.
"""
from __future__ import annotations

import math
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor

from ..labels import label_set
from .image import ssim


# --------------------------------------------------------------------------------------------------
# Best of n (Figs 5-7)

def _expected_best_exact(scores: np.ndarray, n: int, mode: str) -> float:
    """E[best of a uniformly random n-subset drawn without replacement], by order statistics.

    With scores sorted so the best is last, P(best of subset = i-th, 1-based) = C(i-1, n-1) / C(K, n).
    """
    s = np.sort(scores) if mode == "max" else np.sort(scores)[::-1]
    k = len(s)
    i = np.arange(n, k + 1)
    logp = np.array([math.lgamma(j) - math.lgamma(n) - math.lgamma(j - n + 1) for j in i])
    logp -= math.lgamma(k + 1) - math.lgamma(n + 1) - math.lgamma(k - n + 1)
    return float(np.sum(np.exp(logp) * s[n - 1:]))


def best_of_n(scores, ns: Sequence[int] = (1, 10, 100, 1000), mode: str = "max", seed: int = 0,
              n_draws: int = 200) -> dict:
    """Best score among ``n`` random samples out of ``K`` scored ones, for each ``n`` in ``ns``.

    Subsets are drawn without replacement and nested: each draw is a random permutation of the K
    samples and its first ``n`` entries form the subset of size ``n`` (the paper's "pick 1, 10, 100
    and 1,000 random solutions"). Nesting makes every draw monotone in ``n``.

    ``mode`` "max" for higher-is-better scores (SSIM, PSNR), "min" for distances (LPIPS).
    Returns a dict (lists aligned with ``n``):
      - ``n``: the subset sizes;
      - ``expected``: exact expectation of the best over all n-subsets (order statistics);
      - ``expected_mc`` / ``std_mc``: mean and std of the best over ``n_draws`` random nested draws;
      - ``indices``: ``{n: index into scores}`` of the best sample in draw 0, the single draw the
        figures mark; ``draw_best``: ``{n: its score}``;
      - ``overall_best`` / ``overall_index`` (the best of all K; ``n == K`` always selects it);
      - ``mode``, ``K``, ``n_draws``, ``seed``.
    """
    s = np.asarray(scores, dtype=np.float64).ravel()
    k = s.size
    if mode not in ("max", "min"):
        raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
    if k == 0 or not np.isfinite(s).all():
        raise ValueError("scores must be a non-empty array of finite values")
    ns = [int(n) for n in ns]
    if any(n < 1 or n > k for n in ns):
        raise ValueError(f"every n must lie in 1..K={k}, got {ns}")
    rng = np.random.default_rng(seed)
    perms = np.stack([rng.permutation(k) for _ in range(max(1, n_draws))])  # [draws, K]
    vals = s[perms]
    acc = np.maximum.accumulate if mode == "max" else np.minimum.accumulate
    run_best = acc(vals, axis=1)                                             # [draws, K] best of first n
    arg = np.argmax if mode == "max" else np.argmin
    overall_index = int(arg(s))
    indices = {n: int(perms[0, int(arg(vals[0, :n]))]) for n in ns}
    return {"n": ns,
            "expected": [_expected_best_exact(s, n, mode) for n in ns],
            "expected_mc": [float(run_best[:, n - 1].mean()) for n in ns],
            "std_mc": [float(run_best[:, n - 1].std()) for n in ns],
            "indices": indices, "draw_best": {n: float(s[i]) for n, i in indices.items()},
            "overall_best": float(s[overall_index]), "overall_index": overall_index,
            "mode": mode, "K": k, "n_draws": int(n_draws), "seed": int(seed)}


# --------------------------------------------------------------------------------------------------
# Oracle selection: sample K solutions of one image and score them (Figs 5-7)

def metric_dict(metrics) -> dict[str, Callable]:
    if metrics is None:
        return {"ssim": ssim}
    if isinstance(metrics, Mapping):
        return dict(metrics)
    return {getattr(m, "key", None) or getattr(m, "__name__", f"metric{i}"): m for i, m in enumerate(metrics)}


def to_numpy(v) -> np.ndarray:
    return v.detach().cpu().double().numpy() if isinstance(v, Tensor) else np.asarray(v, dtype=np.float64)


def _pairs(K: int, max_pairs: int, seed: int) -> np.ndarray:
    total = K * (K - 1) // 2
    if total <= max_pairs:
        i, j = np.triu_indices(K, k=1)
        return np.stack([i, j], 1)
    rng = np.random.default_rng(seed)
    i = rng.integers(0, K, max_pairs)
    j = (i + rng.integers(1, K, max_pairs)) % K   # uniform over ordered pairs with i != j
    return np.stack([i, j], 1)


# --------------------------------------------------------------------------------------------------
# Pixel change, the one unit of diversity and region change: [0, 1] image units

def change_map(images: Tensor, reference: Tensor) -> Tensor:
    """Per-pixel change ``|images - reference|`` averaged over RGB, in ``[0, 1]`` units (half the difference of
    images in ``[-1, 1]``; range ``[0, 1]``): ``[..., 3, H, W]`` -> ``[..., H, W]`` float32, broadcasting."""
    return (images.float() - reference.float()).abs().mean(-3) / 2


def walk_change(ends: Tensor, base: Tensor) -> Tensor:
    """The change a style walk makes: :func:`change_map` of its two ends ``[..., 2, 3, H, W]`` against the image at
    the unwalked style ``base [..., 3, H, W]``, averaged over the two ends: ``[..., H, W]``, ``[0, 1]`` units."""
    return change_map(ends, base.unsqueeze(-4)).mean(-3)


def pairwise_change(samples: Tensor, pairs: np.ndarray | None = None, chunk: int = 64) -> Tensor:
    """:func:`change_map` of each pair of ``samples [K, 3, H, W]`` (``pairs [P, 2]`` indices; default every pair
    ``i < j``), averaged over the pairs: ``[H, W]`` float64, ``[0, 1]`` units."""
    if pairs is None:
        pairs = _pairs(samples.shape[0], samples.shape[0] ** 2, 0)
    acc = torch.zeros(samples.shape[-2:], dtype=torch.float64, device=samples.device)   # [H, W] sum over pairs
    for c in range(0, len(pairs), chunk):
        p = torch.as_tensor(pairs[c:c + chunk], device=samples.device)
        acc += change_map(samples[p[:, 0]], samples[p[:, 1]]).sum(0).double()
    return acc / max(1, len(pairs))


def _pair_distances(metric: Callable, x: Tensor, pairs: np.ndarray, chunk: int) -> np.ndarray:
    """``metric(x[i], x[j])`` of every pair; through the metric's ``pairwise`` when it has one (TexStatDist: each
    image analysed once instead of once per pair)."""
    pairwise = getattr(metric, "pairwise", None)
    if pairwise is not None:
        return to_numpy(pairwise(x, torch.as_tensor(pairs[:, 0]), torch.as_tensor(pairs[:, 1]))).ravel()
    idx = torch.as_tensor(pairs, device=x.device)
    return np.concatenate([to_numpy(metric(x[idx[c:c + chunk, 0]], x[idx[c:c + chunk, 1]])).ravel()
                           for c in range(0, len(idx), chunk)])


@torch.no_grad()
def diversity(samples: Tensor, mask: Tensor, metric: Callable | None = None, *, regions: Sequence[str] | None = None,
              min_pixels: int = 1, max_pairs: int = 1000, seed: int = 0, chunk: int = 64, labels=None) -> dict:
    """Mean pairwise distance between K sampled solutions of one image, overall and per region.

    ``samples [K, 3, H, W]`` in ``[-1, 1]``, ``mask [H, W]`` int labels of the label set ``labels`` (faces by
    default). Uses every pair when ``K (K - 1) / 2 <= max_pairs``, otherwise ``max_pairs`` random pairs (seeded).
    The pixel distance is :func:`change_map` (``[0, 1]`` units: half ``|x_i - x_j|``, averaged over RGB), averaged
    over the pixels of the image or region and over the pairs: 0 when all samples are equal, at most 1.

    ``regions``: names of the label set (its regions, e.g. ``"lips"``, or single classes; default: every class);
    one with fewer than ``min_pixels`` pixels in ``mask`` is left out. Returns a flat dict (one table row per
    image): ``K``, ``pairs``, ``l1_all``, ``l1_<region>``, and with ``metric`` (e.g. the perceptual metric)
    ``perceptual_all`` (its mean over the pairs) and ``perceptual_metric`` (its ``name``).
    """
    if samples.dim() != 4 or samples.shape[1] != 3 or samples.shape[0] < 2:
        raise ValueError(f"expected samples [K >= 2, 3, H, W], got {tuple(samples.shape)}")
    if tuple(mask.shape) != tuple(samples.shape[2:]):
        raise ValueError(f"mask {tuple(mask.shape)} must match the samples' size {tuple(samples.shape[2:])}")
    ls = label_set(labels)
    m = mask.to(samples.device).long()
    if m.min() < 0 or m.max() >= ls.num_classes:
        raise ValueError(f"mask labels must lie in 0..{ls.num_classes - 1}")
    pairs = _pairs(samples.shape[0], max_pairs, seed)
    x = samples.float()
    mean = pairwise_change(x, pairs, chunk)                                       # [H, W]
    out: dict = {"K": int(samples.shape[0]), "pairs": len(pairs), "l1_all": float(mean.mean())}
    if metric is not None:
        out["perceptual_all"] = float(_pair_distances(metric, x, pairs, chunk).mean())
        out["perceptual_metric"] = getattr(metric, "name", "metric")
    for r in ls.classes if regions is None else regions:
        pixels = ls.region_pixels(m, r)
        if int(pixels.sum()) >= max(1, min_pixels):
            out[f"l1_{r}"] = float(mean[pixels].mean())
    return out


# --------------------------------------------------------------------------------------------------
# Region change: how local a style edit of one region is (Sec. 3.4, Fig. 10)

def edge_band(region: Tensor, width: int) -> Tensor:
    """The pixels outside ``region`` (bool ``[H, W]``) within ``width`` pixels of it (Chebyshev distance, i.e.
    ``width`` 8-connected steps): the band a low-resolution layer cannot tell apart from the region (``width`` =
    the SR factor: one LR pixel). Empty for ``width <= 0``."""
    if width <= 0:
        return torch.zeros_like(region)
    grown = F.max_pool2d(region[None, None].float(), 2 * width + 1, stride=1, padding=width)[0, 0] > 0
    return grown & ~region


def inside_outside_ratio(inside: float, outside: float) -> float:
    """``inside / outside``: how many times more an edit changes its region than the rest of the image (higher is
    more local); ``inf`` when nothing outside changes."""
    return inside / outside if outside > 0 else float("inf")


def region_change(change: Tensor, region: Tensor, band: int = 0) -> dict:
    """Mean of a change map (:func:`change_map` ``[H, W]``, ``[0, 1]`` units) inside a region and outside it.

    ``inside``: over the pixels of ``region`` (bool ``[H, W]``), ``outside``: over every other pixel, ``ratio``:
    :func:`inside_outside_ratio` of the two, ``pixels``: the region's size. ``band`` splits the outside into the
    :func:`edge_band` of ``band`` px around the region (``band_change``) and the pixels beyond it
    (``outside_far``; ``band`` 0: the whole outside). Means over no pixels are ``nan``.
    """
    region = region.to(change.device).bool()
    near = edge_band(region, band)
    far = ~(region | near)

    def mean(sel):
        return float(change[sel].mean()) if sel.any() else float("nan")
    inside, outside = mean(region), mean(~region)
    return {"inside": inside, "outside": outside, "ratio": inside_outside_ratio(inside, outside),
            "pixels": int(region.sum()), "band": int(band), "band_change": mean(near), "outside_far": mean(far)}


@torch.no_grad()
def region_leakage(generate_fn: Callable[[Tensor], Tensor], style: Tensor, mask: Tensor,
                   classes: Sequence[int] | None = None, delta: float = 0.5, band: int = 2,
                   clamp: bool = True, labels=None) -> pd.DataFrame:
    """How much a style edit of one class changes the output inside vs outside that class's pixels.

    For each class ``c`` present in ``mask``: row ``c`` of the style matrix gets ``+delta`` (then clamped to
    ``[-1, 1]``), the image is regenerated, and its :func:`change_map` against the unedited image is split by
    :func:`region_change` (``[0, 1]`` units; ``ratio = inside / outside``, higher is more local; ``band_change``
    and ``outside_far``: the ``band``-px ring around the class and beyond it). ``generate_fn``: ``styles [k, N, d]
    -> images [k, 3, H, W]``, with the LR input and ``mask`` bound inside. Classes absent from the mask are skipped.

    Returns a DataFrame: class_index, region, delta, delta_effective (mean change of the edited row after
    clamping), and the columns of :func:`region_change`.
    """
    if style.dim() == 3:
        style = style[0]
    present = torch.unique(mask).tolist()
    classes = [int(c) for c in (present if classes is None else classes) if c in present]
    base = generate_fn(style[None])[0]                                       # [3, H, W]
    rows = []
    for c in classes:
        s = style.clone()
        s[c] = s[c] + delta
        if clamp:
            s = s.clamp(-1, 1)
        change = change_map(generate_fn(s[None])[0], base).cpu()             # [H, W]
        rows.append({"class_index": c, "region": label_set(labels).classes[c], "delta": float(delta),
                     "delta_effective": float((s[c] - style[c]).abs().mean()),
                     **region_change(change, mask.cpu() == c, band)})
    return pd.DataFrame(rows)
