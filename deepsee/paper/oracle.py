"""The oracle best-of-n protocol of Figs. 5-7 (supplement Section 3.1) on a set of test images.

Per image: ``K`` styles ``S_i = clamp(S + scale * eps_i, -1, 1)`` around the predicted style ``S``
(``eps_i`` seeded per sample), every solution scored against the ground truth; then the expected best
of ``n`` random solutions for ``n`` in ``ns`` (an oracle that knows the ground truth picks it).
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import pandas as pd
import torch

from ..metrics.explorative import best_of_n, oracle_selection
from .rows import engine_for, predicted_style
from ..explore.walks import sample_styles_chunk

# metric key -> (better, label) of the two scores Figs. 5-7 select by
SELECTION_MODES = {"perceptual": "min", "ssim": "max"}


def oracle_study(model, items: Sequence[dict], metrics: Mapping[str, Callable], *, K: int = 1000,
                 ns: Sequence[int] = (1, 10, 100, 1000), noise: str = "gaussian", scale: float = 0.1,
                 seed: int = 0, chunk: int = 64, device="cpu", consistent: bool = False,
                 antialias: bool = False) -> dict:
    """Score ``K`` sampled solutions of each item by ``metrics`` (keys ``"perceptual"`` and ``"ssim"``,
    lower and higher is better) and select the best of ``n``.

    Returns ``curves`` (DataFrame: image, metric, n, value = expected best of n), ``clouds`` (per item
    the score arrays and the indices the best-of-n picks in the figures' draw, keyed as ``metrics``:
    ``"perceptual"``, ``"ssim"``), ``scores`` (per item,
    the per-sample DataFrame), ``protocol`` (the sampling protocol) and the arguments (``noise``,
    ``scale``, ``seed``) that regenerate any sample (:func:`best_of_rows`). Image ``i`` uses ``seed + i``.
    ``consistent``: every solution is projected onto the images consistent with the LR input first (issue 33;
    ``antialias``: the degradation that made it)."""
    missing = set(SELECTION_MODES) - set(metrics)
    if missing:
        raise ValueError(f"metrics needs {', '.join(sorted(SELECTION_MODES))}; missing {', '.join(sorted(missing))}")
    ns = [n for n in ns if n <= K]
    if not ns:
        raise ValueError(f"no n in ns is <= K={K}")
    curves, clouds, all_scores, protocol = [], [], [], None
    for i, it in enumerate(items):
        eng, style = engine_for(model, it, device, consistent, antialias), predicted_style(model, it, device).cpu()
        scores, protocol = oracle_selection(lambda s: eng.generate(s.to(device), progress=False).cpu(),
                                            style, it["hr"], K=K, noise=noise, scale=scale, seed=seed + i,
                                            chunk=chunk, metrics=dict(metrics), progress=False)
        best = {}
        for key, mode in SELECTION_MODES.items():
            r = best_of_n(scores[key].to_numpy(), ns=ns, mode=mode, seed=seed + i)
            best[key] = r["indices"]
            label = getattr(metrics[key], "name", key) if key == "perceptual" else "SSIM"
            for n, v in zip(ns, r["expected"]):
                curves.append({"image": it.get("name", str(i)), "metric": label, "n": n, "value": v})
        clouds.append({"perceptual": scores["perceptual"].to_numpy(), "ssim": scores["ssim"].to_numpy(),
                       "best": best, "name": it.get("name", str(i))})
        all_scores.append(scores)
    return {"curves": pd.DataFrame(curves), "clouds": clouds, "scores": all_scores, "protocol": protocol,
            "noise": noise, "scale": scale, "seed": seed, "consistent": consistent, "antialias": antialias}


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
