"""Explorative metrics: oracle selection among sampled solutions (supplementary Sec. 3.1, Figs 5-7),
diversity of the samples, and leakage of per-region style edits (Sec. 3.4, Fig. 10).

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


@torch.no_grad()
def diversity(samples: Tensor, mask: Tensor, metric: Callable | None = None, *, max_pairs: int = 1000,
              seed: int = 0, chunk: int = 64, labels=None) -> dict:
    """Mean pairwise distance between K sampled solutions of one image, overall and per semantic region.

    ``samples [K, 3, H, W]`` in ``[-1, 1]``, ``mask [H, W]`` int labels (0..18). Uses every pair when
    ``K (K - 1) / 2 <= max_pairs``, otherwise ``max_pairs`` random pairs (seeded).
    Pixel distances are ``|x_i - x_j|`` averaged over RGB and over the pixels of the region, then over
    the pairs (``[-1, 1]`` units, range ``[0, 2]``; 0 when all samples are equal).

    Returns a flat dict (one table row per image): ``pairs``, ``K``, ``l1_overall``, ``l1_<class>``
    for every class present in ``mask`` (class names of the label set ``labels``, faces by default), and with
    ``metric`` (e.g. the perceptual metric) ``perceptual_overall`` (mean pairwise ``metric``) plus
    ``perceptual_metric`` (its ``name``).
    """
    if samples.dim() != 4 or samples.shape[1] != 3 or samples.shape[0] < 2:
        raise ValueError(f"expected samples [K >= 2, 3, H, W], got {tuple(samples.shape)}")
    if tuple(mask.shape) != tuple(samples.shape[2:]):
        raise ValueError(f"mask {tuple(mask.shape)} must match the samples' size {tuple(samples.shape[2:])}")
    names = label_set(labels).classes
    num = len(names)
    m = mask.to(samples.device).long().flatten()
    if m.min() < 0 or m.max() >= num:
        raise ValueError(f"mask labels must lie in 0..{num - 1}")
    pairs = _pairs(samples.shape[0], max_pairs, seed)
    x = samples.float()
    acc = torch.zeros(samples.shape[2:], dtype=torch.float64, device=x.device)    # [H, W] sum over pairs
    pvals = []
    for c in range(0, len(pairs), chunk):
        p = torch.as_tensor(pairs[c:c + chunk], device=x.device)
        a, b = x[p[:, 0]], x[p[:, 1]]
        acc += (a - b).abs().mean(1).sum(0).double()
        if metric is not None:
            pvals.append(to_numpy(metric(a, b)).ravel())
    sums = torch.zeros(num, dtype=torch.float64, device=x.device).index_add_(0, m, acc.flatten())
    counts = torch.bincount(m, minlength=num)
    out: dict = {"K": int(samples.shape[0]), "pairs": len(pairs),
                 "l1_overall": float(acc.sum() / (m.numel() * len(pairs)))}
    if metric is not None:
        out["perceptual_overall"] = float(np.concatenate(pvals).mean())
        out["perceptual_metric"] = getattr(metric, "name", "metric")
    for c in range(num):
        if counts[c] > 0:
            out[f"l1_{names[c]}"] = float(sums[c] / (counts[c] * len(pairs)))
    return out


# --------------------------------------------------------------------------------------------------
# Region leakage of per-row style edits (Sec. 3.4, Fig. 10)

def region_bands(region: np.ndarray, band: int) -> tuple[np.ndarray, np.ndarray]:
    """(inside, outside): the region eroded by ``band`` px and the complement of the region dilated
    by ``band`` px (8-connected square steps), so a ``band``-px strip on each side of the boundary
    belongs to neither."""
    from scipy.ndimage import binary_dilation, binary_erosion
    region = np.asarray(region, dtype=bool)
    if band <= 0:
        return region, ~region
    st = np.ones((3, 3), dtype=bool)
    inside = binary_erosion(region, structure=st, iterations=band, border_value=1)
    outside = ~binary_dilation(region, structure=st, iterations=band)
    return inside, outside


@torch.no_grad()
def region_leakage(generate_fn: Callable[[Tensor], Tensor], style: Tensor, mask: Tensor,
                   classes: Sequence[int] | None = None, delta: float = 0.5, band: int = 2,
                   clamp: bool = True, labels=None) -> pd.DataFrame:
    """How much a style edit of one region changes the output inside vs outside that region.

    For each class ``c`` present in ``mask``: row ``c`` of the style matrix gets ``+delta`` (then
    clamped to ``[-1, 1]``), the image is regenerated and the mean absolute change (over RGB, in
    ``[-1, 1]`` units) is measured inside the region (eroded by ``band`` px) and outside it (the
    complement of the region dilated by ``band`` px). ``ratio = outside / inside``: 0 for a
    perfectly local edit. ``generate_fn``: ``styles [k, N, d] -> images [k, 3, H, W]``, with the LR
    input and ``mask`` bound inside. Classes absent from the mask are skipped.

    Returns a DataFrame: class_index, region, delta, delta_effective (mean change of the edited row
    after clamping), pixels_inside, pixels_outside, inside, outside, ratio.
    """
    if style.dim() == 3:
        style = style[0]
    msk = mask.detach().cpu().long().numpy()
    present = np.unique(msk)
    classes = [int(c) for c in (present if classes is None else classes) if c in present]
    base = generate_fn(style[None])[0]                                       # [3, H, W]
    rows = []
    for c in classes:
        s = style.clone()
        s[c] = s[c] + delta
        if clamp:
            s = s.clamp(-1, 1)
        out = generate_fn(s[None])[0]
        change = (out - base).abs().float().mean(0).cpu().numpy()             # [H, W]
        inside, outside = region_bands(msk == c, band)
        vin = float(change[inside].mean()) if inside.any() else float("nan")
        vout = float(change[outside].mean()) if outside.any() else float("nan")
        rows.append({"class_index": c, "region": label_set(labels).classes[c], "delta": float(delta),
                     "delta_effective": float((s[c] - style[c]).abs().mean()),
                     "pixels_inside": int(inside.sum()), "pixels_outside": int(outside.sum()),
                     "inside": vin, "outside": vout,
                     "ratio": vout / vin if vin > 0 else float("nan")})
    return pd.DataFrame(rows)
