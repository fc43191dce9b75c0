"""The NTIRE 2021 "Learning the Super-Resolution Space" protocol (Lugmayr et al., CVPR Workshops 2021) on the
kit's models, with and without the consistency projection (issue 33; beyond the paper).

Per test image: ``k`` = 10 samples around the model's test-time style (the kit's sampling: Gaussian noise of
``scale`` on the style matrix, stream ``seed + i``), then

- the **diversity score** (:func:`deepsee.metrics.consistency.diversity_score`) from a spatial perceptual map
  of each sample against the ground truth: LPIPS' map where its weights are present, otherwise TexStatDist's
  (:meth:`deepsee.metrics.texture.TextureDistance.spatial`), and the table says which;
- **LR-PSNR** of every sample (:func:`deepsee.metrics.consistency.lr_psnr`): mean and worst;
- the **perceptual distance** of the samples to the ground truth (mean).

The challenge's numbers (another dataset, MATLAB's bicubic, LPIPS) are quoted beside the measured rows
(:data:`QUOTED`), never mixed with them.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import torch

from ..explore.engine import ExplorationEngine
from ..explore.walks import sample_styles
from ..metrics.consistency import NTIRE_MIN_LR_PSNR, diversity_score, lr_psnr

K = 10   # samples per image (the challenge's protocol)
COLUMNS = ["method", "factor", "diversity_score", "lr_psnr", "lr_psnr_worst", "perceptual", "perceptual_metric",
           "samples", "images", "source", "dataset", "note"]
_CHALLENGE = "NTIRE 2021 SR-space challenge (its own test images and metrics), as quoted in issue 33"
QUOTED = [   # the challenge report's 8x rows that issue 33 quotes (LPIPS-based diversity, MATLAB bicubic)
    {"method": "SRFlow (challenge baseline)", "factor": 8, "lr_psnr": 47.7},
    {"method": "ESRGAN (challenge baseline)", "factor": 8, "lr_psnr": 30.7},
    {"method": "challenge winner", "factor": 8, "diversity_score": 26.9},
    {"method": "highest 8x diversity entry", "factor": 8, "diversity_score": 28.2, "lr_psnr": 29.7},
]


def quoted_rows() -> pd.DataFrame:
    """The challenge's quoted rows in :data:`COLUMNS` (empty where the report's number is not quoted)."""
    rows = [{**r, "source": "quoted", "dataset": _CHALLENGE, "perceptual_metric": "LPIPS (as published)",
             "note": f"quoted; the challenge requires LR-PSNR >= {NTIRE_MIN_LR_PSNR:g} dB"} for r in QUOTED]
    return pd.DataFrame(rows).reindex(columns=COLUMNS)


@torch.no_grad()
def ntire_image_rows(model, items: Sequence[dict], metric, *, k: int = K, scale: float = 0.3, seed: int = 0,
                     antialias: bool = False, consistent: bool = False, device="cpu") -> pd.DataFrame:
    """One row per image: ``diversity_score``, ``lr_psnr`` / ``lr_psnr_worst`` over its ``k`` samples, and the
    samples' mean ``perceptual`` distance to the ground truth. ``metric`` needs a ``spatial(a, b) -> [B, H, W]``
    (LPIPS or TexStatDist). ``consistent``: the samples are projected onto the consistent images first."""
    if not callable(getattr(metric, "spatial", None)):
        raise TypeError(f"the NTIRE diversity score needs a spatial perceptual map; {getattr(metric, 'name', metric)} "
                        "has no spatial(a, b) (use LPIPS or TexStatDist)")
    if k < 2:
        raise ValueError(f"k={k}: the diversity score needs at least 2 samples per image")
    rows = []
    for i, it in enumerate(items):
        lr = it["lr"][None].to(device)
        eng = ExplorationEngine(model, lr, it["mask"].to(device), consistent=consistent, antialias=antialias)
        if eng.style is None:
            raise ValueError("ntire_image_rows needs a model whose test-time style comes from the LR image")
        out = eng.generate(sample_styles(eng.style, k, scale=scale, seed=seed + i), progress=False).cpu().float()
        gt = it["hr"][None].float().expand_as(out)
        maps = metric.spatial(out, gt)                                          # [k, H, W]
        lp = lr_psnr(out, it["lr"][None].expand(k, -1, -1, -1), antialias)
        rows.append({"image": it.get("name", str(i)), "diversity_score": diversity_score(maps),
                     "lr_psnr": float(np.minimum(lp, 200).mean()), "lr_psnr_worst": float(lp.min()),
                     "perceptual": float(maps.mean((1, 2)).mean())})
    return pd.DataFrame(rows)


def ntire_table(models: dict, items: Sequence[dict], metric, *, k: int = K, scale: float = 0.3, seed: int = 0,
                antialias: bool = False, dataset: str = "", device="cpu") -> tuple[pd.DataFrame, dict]:
    """The NTIRE table: the quoted challenge rows, then per model (``{label: model}``) one measured row without
    and one with the consistency projection. Returns the table and the per-image rows by method."""
    rows, per_image = [], {}
    for label, model in models.items():
        factor = int(getattr(getattr(model, "cfg", None), "factor", 0) or 0)
        for consistent in (False, True):
            method = f"DeepSEE ({label}{', consistent' if consistent else ''})"
            df = ntire_image_rows(model, items, metric, k=k, scale=scale, seed=seed, antialias=antialias,
                                  consistent=consistent, device=device)
            per_image[method] = df
            rows.append({"method": method, "factor": factor, "diversity_score": df.diversity_score.mean(),
                         "lr_psnr": df.lr_psnr.mean(), "lr_psnr_worst": df.lr_psnr_worst.min(),
                         "perceptual": df.perceptual.mean(), "perceptual_metric": getattr(metric, "name", "?"),
                         "samples": k, "images": len(df), "source": "measured", "dataset": dataset,
                         "note": (f"{k} samples per image, Gaussian style noise scale {scale}, seed {seed}; "
                                  + ("projected onto the images consistent with the LR input"
                                     if consistent else "the model's own samples"))})
    table = pd.concat([quoted_rows(), pd.DataFrame(rows).reindex(columns=COLUMNS)], ignore_index=True)
    return table, per_image


def walk_survival(plain: pd.DataFrame, consistent: pd.DataFrame) -> pd.DataFrame:
    """Per region, the share of a walk's change that survives the projection: mean inside change with the
    projection / without (two :func:`deepsee.metrics.style_usage.region_control_rows` tables of the same
    images), and the inside/outside ratio of each."""
    def agg(df):
        return df.groupby("region")[["inside", "outside"]].mean()
    a, b = agg(plain), agg(consistent)
    out = pd.DataFrame({"inside": a.inside, "inside_consistent": b.inside,
                        "surviving_share": b.inside / a.inside,
                        "inside_outside": a.inside / a.outside,
                        "inside_outside_consistent": b.inside / b.outside})
    return out.reset_index()
