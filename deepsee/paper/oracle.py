"""The oracle best-of-n protocol of Figs. 5-7 (supplement Section 3.1) on a set of test images.

Per image: ``K`` styles ``S_i = clamp(S + scale * eps_i, -1, 1)`` around the predicted style ``S``
(``eps_i`` seeded per sample), every solution scored against the ground truth; then the expected best
of ``n`` random solutions for ``n`` in ``ns`` (an oracle that knows the ground truth picks it).
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from torch import Tensor
from tqdm.auto import tqdm

from ..data.degradation import project_consistent
from ..explore.engine import engine_for, predicted_style
from ..explore.walks import sample_styles_chunk
from ..metrics.explorative import best_of_n, metric_dict, to_numpy

# metric key -> (better, label) of the two scores Figs. 5-7 select by
SELECTION_MODES = {"perceptual": "min", "ssim": "max"}


class _Projected:
    """``metric(project_consistent(out, lr), ref)``: a metric of the consistent form of each solution, so that
    one generation pass scores both forms (the projection of a chunk is computed once for all metrics)."""

    def __init__(self, metric: Callable, lr: torch.Tensor, antialias: bool, cache: dict):
        self.metric, self.lr, self.antialias, self.cache = metric, lr, antialias, cache
        self.name = getattr(metric, "name", None)

    def __call__(self, out: torch.Tensor, ref: torch.Tensor):
        if self.cache.get("key") is not out:
            lr = self.lr.to(out.device).expand(out.shape[0], -1, -1, -1)
            self.cache.update(key=out, value=project_consistent(out.float(), lr.float(), self.antialias))
        return self.metric(self.cache["value"], ref)



@torch.no_grad()
def oracle_selection(generate_fn: Callable[[Tensor], Tensor], style: Tensor, gt: Tensor, K: int = 1000, *,
                     noise: str = "gaussian", scale: float = 0.1, seed: int = 0, chunk: int = 25,
                     metrics: Mapping[str, Callable] | Sequence[Callable] | None = None,
                     progress: bool = True) -> tuple[pd.DataFrame, dict]:
    """Sample K solutions of one image by perturbing its style matrix; score each against the ground truth.

    Args:
        generate_fn: ``styles [k, N, d] -> images [k, 3, H, W]`` in ``[-1, 1]`` (LR input and mask
            bound inside, e.g. ``lambda s: model(lr.expand(len(s), ...), mask.expand(...), s)``).
        style: the predicted style matrix ``[19, d]`` / ``[1, 19, d]``.
        noise, scale, seed: sample ``i`` is ``clamp(style + scale * eps_i, -1, 1)``, ``eps_i`` ~ N(0, 1)
            ("gaussian") or U(-1, 1) ("uniform") from a generator seeded by ``(seed, i)``
            (:func:`deepsee.explore.walks.sample_styles_chunk`, which regenerates any single sample).
        gt: ground truth ``[3, H, W]`` / ``[1, 3, H, W]`` in ``[-1, 1]``.
        metrics: name -> ``metric(a, b) -> per-image scores`` (default ``{"ssim": ssim}``); pass the
            perceptual metric too, e.g. ``{"ssim": ssim, "lpips": perceptual_metric("lpips")}``.
        chunk: samples generated per call (memory only; results do not depend on it).

    Returns ``(scores, protocol)``: a DataFrame with one row per sample (``sample`` index and one
    column per metric) and the sampling protocol (distribution, scale, K, seed, clamp, metric names).
    """
    mets = metric_dict(metrics)
    if gt.dim() == 3:
        gt = gt[None]
    if K < 1 or chunk < 1:
        raise ValueError(f"K and chunk must be positive, got K={K}, chunk={chunk}")
    cols: dict[str, list[np.ndarray]] = {name: [] for name in mets}
    for i in tqdm(range(0, K, chunk), desc="oracle samples", disable=not progress, leave=False):
        s = sample_styles_chunk(style, i, min(i + chunk, K), noise=noise, scale=scale, seed=seed)  # [k, 19, d]
        out = generate_fn(s)
        if out.shape[0] != s.shape[0] or out.shape[1:] != gt.shape[1:]:
            raise ValueError(f"generate_fn returned {tuple(out.shape)} for {s.shape[0]} styles; "
                             f"expected [{s.shape[0]}, {', '.join(map(str, gt.shape[1:]))}]")
        ref = gt.to(out.device).expand_as(out)
        for name, m in mets.items():
            cols[name].append(to_numpy(m(out, ref)).ravel())
    df = pd.DataFrame({"sample": np.arange(K), **{n: np.concatenate(v) for n, v in cols.items()}})
    protocol = {"distribution": noise, "formula": ("style + scale * N(0, 1)" if noise == "gaussian"
                                                   else "style + scale * U(-1, 1)"),
                "scale": float(scale), "K": int(K), "seed": int(seed), "clamp": [-1.0, 1.0],
                "rng": "torch.Generator(cpu) seeded per sample with sample_seed(seed, i) "
                       "(deepsee.explore.walks.sample_styles_chunk)",
                "metrics": {n: getattr(m, "name", n) for n, m in mets.items()}}
    return df, protocol


# --------------------------------------------------------------------------------------------------
# Diversity of sampled solutions


def _bookkeeping(scores: pd.DataFrame, metrics: Mapping[str, Callable], ns, i: int, name: str, seed: int,
                 suffix: str = "") -> tuple[list[dict], dict]:
    curves, best = [], {}
    for key, mode in SELECTION_MODES.items():
        r = best_of_n(scores[key].to_numpy(), ns=ns, mode=mode, seed=seed + i)
        best[key] = r["indices"]
        label = (getattr(metrics[key], "name", key) if key == "perceptual" else "SSIM") + suffix
        curves += [{"image": name, "metric": label, "n": n, "value": v} for n, v in zip(ns, r["expected"])]
    return curves, {"perceptual": scores["perceptual"].to_numpy(), "ssim": scores["ssim"].to_numpy(),
                    "best": best, "name": name}


def oracle_study(model, items: Sequence[dict], metrics: Mapping[str, Callable], *, K: int = 1000,
                 ns: Sequence[int] = (1, 10, 100, 1000), noise: str = "gaussian", scale: float = 0.1,
                 seed: int = 0, chunk: int = 64, device="cpu", also_consistent: bool = False,
                 antialias: bool = False) -> dict:
    """Score ``K`` sampled solutions of each item by ``metrics`` (keys ``"perceptual"`` and ``"ssim"``,
    lower and higher is better) and select the best of ``n``.

    Returns ``curves`` (DataFrame: image, metric, n, value = expected best of n), ``clouds`` (per item
    the score arrays and the indices the best-of-n picks in the figures' draw, keyed as ``metrics``:
    ``"perceptual"``, ``"ssim"``), ``scores`` (per item,
    the per-sample DataFrame), ``protocol`` (the sampling protocol) and the arguments (``noise``,
    ``scale``, ``seed``) that regenerate any sample (:func:`best_of_rows`). Image ``i`` uses ``seed + i``.

    ``also_consistent`` (issue 33): every solution is also scored after the consistency projection
    (:func:`deepsee.data.degradation.project_consistent`, ``antialias``: the degradation of the LR inputs), from
    the same generated images; ``study["consistent"]`` is then the same dict for the projected solutions (its
    curves' metric names end in " (consistent)")."""
    missing = set(SELECTION_MODES) - set(metrics)
    if missing:
        raise ValueError(f"metrics needs {', '.join(sorted(SELECTION_MODES))}; missing {', '.join(sorted(missing))}")
    ns = [n for n in ns if n <= K]
    if not ns:
        raise ValueError(f"no n in ns is <= K={K}")
    views = {"": ({}, [], [], [])} | ({" (consistent)": ({}, [], [], [])} if also_consistent else {})
    protocol = None
    for i, it in enumerate(items):
        eng, style = engine_for(model, it, device), predicted_style(model, it, device).cpu()
        mets, cache = dict(metrics), {}
        if also_consistent:
            mets.update({f"{k} (consistent)": _Projected(m, it["lr"][None], antialias, cache) for k, m in metrics.items()})
        scores, protocol = oracle_selection(lambda s: eng.generate(s.to(device), progress=False).cpu(),
                                            style, it["hr"], K=K, noise=noise, scale=scale, seed=seed + i,
                                            chunk=chunk, metrics=mets, progress=False)
        for suffix, (_, curves, clouds, all_scores) in views.items():
            view = scores[["sample"] + [f"{k}{suffix}" for k in metrics]].rename(columns=lambda c: c.replace(suffix, ""))
            c, cloud = _bookkeeping(view, metrics, ns, i, it.get("name", str(i)), seed, suffix)
            curves += c
            clouds.append(cloud)
            all_scores.append(view)
    out = {}
    for suffix, (_, curves, clouds, all_scores) in views.items():
        out[suffix] = {"curves": pd.DataFrame(curves), "clouds": clouds, "scores": all_scores, "protocol": protocol,
                       "noise": noise, "scale": scale, "seed": seed, "consistent": bool(suffix), "antialias": antialias}
    study = out[""]
    if also_consistent:
        study["consistent"] = out[" (consistent)"]
    return study


def _regenerate(eng, style: torch.Tensor, index: int, sample: int, study: dict, device) -> torch.Tensor:
    s = sample_styles_chunk(style, sample, sample + 1, noise=study["noise"], scale=study["scale"],
                            seed=study["seed"] + index)
    return eng.generate(s.to(device), progress=False)[0].cpu()


def best_of_rows(model, items: Sequence[dict], study: dict, *, metric: str = "perceptual",
                 n_rows: int = 3, device="cpu") -> list[dict]:
    """Fig. 5: for the first ``n_rows`` items, the best of 10/100/1000 (every n > 1 of the study) by
    ``metric``, with its score. Rows: ``lr``, ``gt``, ``picks`` ({n: (image, score)})."""
    rows = []
    for i, it in enumerate(items[:n_rows]):
        cloud, scores = study["clouds"][i], study["scores"][i]
        eng = engine_for(model, it, device, study.get("consistent", False), study.get("antialias", False))
        style = predicted_style(model, it, device).cpu()
        picks = {n: (_regenerate(eng, style, i, idx, study, device), float(scores[metric].iloc[idx]))
                 for n, idx in cloud["best"][metric].items() if n > 1}
        rows.append({"lr": it["lr"], "gt": it["hr"], "picks": picks})
    return rows
