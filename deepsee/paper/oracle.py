"""The oracle best-of-n protocol of Figs. 5-7 (supplement Section 3.1) on a set of test images.

Per image: ``K`` styles ``S_i = clamp(S + scale * eps_i, -1, 1)`` around the predicted style ``S``
(``eps_i`` seeded per sample), every solution scored against the ground truth; then the expected best
of ``n`` random solutions for ``n`` in ``ns`` (an oracle that knows the ground truth picks it).
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import pandas as pd
import torch

from ..data.degradation import project_consistent
from ..metrics.explorative import best_of_n, oracle_selection
from .rows import engine_for, predicted_style
from ..explore.walks import sample_styles_chunk

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
