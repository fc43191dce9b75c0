"""The ablation of supplement Sec. 2.2 / Fig. 18 as a table (issue 31): every variant on the same faces, with 95 %
confidence intervals from a paired bootstrap over the faces, and the paper's orderings tested.

The paper's claim: the prior-only generator improves when style *or* semantics are added, and most with both
(independent, guided). Each variant is scored on the same test faces (those whose person has a second image, so
that the variants reading an HR style have their guide); a bootstrap resample draws faces, not per-variant
values, so the differences between variants keep their pairing. Variants with a style also get the global walk
and the selection gain of the style-usage protocol (:mod:`deepsee.eval.style_usage`), from their test-time
style.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..config import ABLATION_VARIANTS, MAIN_VARIANTS
from .evaluate import evaluate
from .style_usage import region_control_rows, selection_rows

HIGHER_IS_BETTER = {"psnr": True, "ssim": True, "perceptual": False}
SINGLE_INPUT = tuple(v for v in ABLATION_VARIANTS if v != "prior_only")
FULL = MAIN_VARIANTS
# The orderings the paper claims (a below b): prior-only below each single-input variant, each single-input
# variant below the full models.
ORDERINGS = ([("prior_only", v) for v in SINGLE_INPUT] + [(v, f) for v in SINGLE_INPUT for f in FULL])


def bootstrap_indices(n: int, n_boot: int = 2000, seed: int = 0) -> np.ndarray:
    """``[n_boot, n]`` face indices drawn with replacement (one draw serves every variant: paired)."""
    if n < 2:
        raise ValueError(f"a bootstrap over faces needs at least 2 faces, got {n}")
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def mean_ci(values: np.ndarray, idx: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): the mean of ``values`` ``[n]`` and the percentile interval of its bootstrap means."""
    boot = np.asarray(values, dtype=np.float64)[idx].mean(1)
    a = (1 - level) / 2
    return float(np.mean(values)), float(np.quantile(boot, a)), float(np.quantile(boot, 1 - a))


def ablation_table(models: Mapping[str, object], items: Sequence[dict], perceptual, *,
                   select_items: Sequence[dict] | None = None, k: int = 16, scale: float = 0.3,
                   select_n: int = 100, global_delta: float = 0.15, n_boot: int = 2000, seed: int = 0,
                   device="cpu", progress: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(table, orderings)``.

    ``table``: one row per variant (``models``: ``{variant: model}``): ``psnr``, ``ssim``, ``perceptual`` with
    ``*_lo`` / ``*_hi`` (95 % paired-bootstrap interval over the faces of ``items``), and for a variant with a
    style ``global_walk`` (all style rows +-2 x ``global_delta``, mean change in [0, 1]) and ``selection_gain``
    (best of ``select_n`` samples of ``scale`` against one, by ``perceptual``, on ``select_items``).
    ``orderings``: each of :data:`ORDERINGS` whose variants are both present, per metric: the mean difference
    (better minus worse direction: positive when ``b`` is better than ``a``), its interval, and ``holds``
    (the interval lies above 0), ``reversed`` (below 0) or neither.
    """
    items = list(items)
    select_items = list(items[:4] if select_items is None else select_items)
    per: dict[str, dict[str, np.ndarray]] = {}
    rows = []
    pkey = getattr(perceptual, "key", "perceptual")
    for variant, model in models.items():
        source = "guide" if getattr(model, "test_time_source", None) == "hr" else "lr"
        df, _ = evaluate(model, items, perceptual=perceptual, style_source=source, bicubic=False,
                         progress=progress, device=device)
        per[variant] = {"psnr": df.psnr.to_numpy(), "ssim": df.ssim.to_numpy(), "perceptual": df[pkey].to_numpy()}
    idx = bootstrap_indices(len(items), n_boot, seed)
    for variant, model in models.items():
        row = {"variant": variant, "faces": len(items)}
        for m, v in per[variant].items():
            row[m], row[f"{m}_lo"], row[f"{m}_hi"] = mean_ci(v, idx)
        if getattr(model, "test_time_source", None) is not None:
            rc = region_control_rows(model, select_items, steps=2, global_delta=global_delta, regions=(),
                                     device=device)
            row["global_walk"] = float(rc[rc.region == "global"].inside.mean())
            sel = selection_rows(model, select_items, perceptual, n=select_n, scale=scale, seed=seed, device=device)
            row["selection_gain"] = float(1 - sel.best_of_n.mean() / sel.best_of_1.mean())
        rows.append(row)
    order_rows = []
    for a, b in ORDERINGS:
        if a not in per or b not in per:
            continue
        for m, up in HIGHER_IS_BETTER.items():
            d = (per[b][m] - per[a][m]) * (1 if up else -1)
            mean, lo, hi = mean_ci(d, idx)
            order_rows.append({"below": a, "above": b, "metric": m, "difference": mean, "lo": lo, "hi": hi,
                               "verdict": "holds" if lo > 0 else ("reversed" if hi < 0 else "not resolved")})
    return pd.DataFrame(rows), pd.DataFrame(order_rows)
