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
from ..metrics.consistency import NTIRE_MIN_LR_PSNR, capped_lr_psnr, diversity_score
from ..labels import of
from .style_usage import style_usage, summarize_style_usage

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
        lp = capped_lr_psnr(out, it["lr"][None].expand(k, -1, -1, -1), antialias)
        rows.append({"image": it.get("name", str(i)), "diversity_score": diversity_score(maps),
                     "lr_psnr": float(lp.mean()), "lr_psnr_worst": float(lp.min()),
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
    projection / without (two :func:`deepsee.eval.style_usage.region_control_rows` tables of the same
    images), and the inside/outside ratio of each."""
    def agg(df):
        return df.groupby("region")[["inside", "outside"]].mean()
    a, b = agg(plain), agg(consistent)
    out = pd.DataFrame({"inside": a.inside, "inside_consistent": b.inside,
                        "surviving_share": b.inside / a.inside,
                        "inside_outside": a.inside / a.outside,
                        "inside_outside_consistent": b.inside / b.outside})
    return out.reset_index()


# ----------------------------------------------------------------------------------- what the projection does
EFFECT_GOALS = {"min_sample_lr_psnr": NTIRE_MIN_LR_PSNR, "min_selection_gain": 0.10, "min_diversity_ratio": 0.5}


def _usage_values(parts: dict) -> dict:
    info, div, sel = parts["information"], parts["diversity"], parts.get("selection")
    lr = info[(info.region == "all") & (info["style"] == "lr")]
    out = {"lr_psnr_lr_style": lr.lr_psnr.mean(), "lr_psnr_lr_style_worst": lr.lr_psnr.min(),
           "lr_psnr_samples": div.lr_psnr.mean(), "lr_psnr_samples_worst": div.lr_psnr_worst.min(),
           "psnr": lr.psnr.mean(), "ssim": lr.ssim.mean(), "perceptual": lr.perceptual.mean(),
           "diversity_l1": div.l1_all.mean()}
    if sel is not None and len(sel):
        out["selection_gain"] = 1 - sel.best_of_n.mean() / sel.best_of_1.mean()
    return out


def consistency_effect(plain: dict, consistent: dict, ntire_plain: pd.DataFrame, ntire_consistent: pd.DataFrame,
                       survival: pd.DataFrame, perceptual_name: str = "perceptual") -> pd.DataFrame:
    """Issue 33's table: each quantity without and with the projection, and the goals of the projected form.
    ``plain`` / ``consistent``: :func:`deepsee.eval.style_usage.style_usage` parts of the same images;
    ``ntire_*``: :func:`ntire_image_rows`; ``survival``: :func:`walk_survival`."""
    a, b = _usage_values(plain), _usage_values(consistent)
    g = EFFECT_GOALS
    rows = []

    def add(measure, region, x, y, unit="", goal="", met=None):
        rows.append({"measure": measure, "region": region, "plain": float(x), "consistent": float(y), "unit": unit,
                     "goal (consistent)": goal, "met": "" if met is None else ("yes" if met else "no")})
    add("LR-PSNR, LR style: mean", "all", a["lr_psnr_lr_style"], b["lr_psnr_lr_style"], "dB")
    add("LR-PSNR, LR style: worst", "all", a["lr_psnr_lr_style_worst"], b["lr_psnr_lr_style_worst"], "dB")
    add("LR-PSNR, samples: mean", "all", a["lr_psnr_samples"], b["lr_psnr_samples"], "dB")
    add("LR-PSNR, samples: worst", "all", a["lr_psnr_samples_worst"], b["lr_psnr_samples_worst"], "dB",
        f">= {g['min_sample_lr_psnr']:g}", b["lr_psnr_samples_worst"] >= g["min_sample_lr_psnr"])
    add("PSNR, LR style", "all", a["psnr"], b["psnr"], "dB", ">= plain", b["psnr"] >= a["psnr"])
    add("SSIM, LR style", "all", a["ssim"], b["ssim"])
    add(f"{perceptual_name}, LR style", "all", a["perceptual"], b["perceptual"])
    add("diversity: mean pairwise L1 of the samples", "all", a["diversity_l1"], b["diversity_l1"], "[0, 1]")
    dp, dc = ntire_plain.diversity_score.mean(), ntire_consistent.diversity_score.mean()
    add("NTIRE 2021 diversity score", "all", dp, dc, "%", f">= {g['min_diversity_ratio']:g} x plain",
        dc >= g["min_diversity_ratio"] * dp)
    add("NTIRE 2021 LR-PSNR (10 samples): worst", "all", ntire_plain.lr_psnr_worst.min(),
        ntire_consistent.lr_psnr_worst.min(), "dB", f">= {g['min_sample_lr_psnr']:g}",
        ntire_consistent.lr_psnr_worst.min() >= g["min_sample_lr_psnr"])
    if "selection_gain" in a and "selection_gain" in b:
        add("selection gain", "all", a["selection_gain"], b["selection_gain"], "relative",
            f">= {g['min_selection_gain']:.0%}", b["selection_gain"] >= g["min_selection_gain"])
    for r in survival.itertuples():
        if r.region == "global":
            add("global walk: mean change", "all", r.inside, r.inside_consistent, "[0, 1]")
            continue
        add("region walk: inside / outside", r.region, r.inside_outside, r.inside_outside_consistent, "ratio")
        add("region walk: share of the inside change that survives", r.region, 1.0, r.surviving_share, "relative")
    return pd.DataFrame(rows)


def reuse_plain_parts(parts: dict[str, pd.DataFrame], items: Sequence[dict], select_items: Sequence[dict], *,
                      k: int, scale: float, select_n: int, region_delta: float, global_delta: float,
                      perceptual_name: str, labels=None) -> dict[str, pd.DataFrame]:
    """The per-image tables of a plain :func:`~deepsee.eval.style_usage.style_usage` run (``parts``) cut down to
    ``items`` / ``select_items`` and summarised again: exactly what the same protocol gives on them, because every
    per-image row depends only on its image and, for diversity and selection, on its position ``j`` in the select
    list (sample stream ``seed + j``). So ``select_items`` must be a prefix of that run's select list, and ``k``,
    ``scale``, ``select_n`` and the walk steps its protocol's; a ``ValueError`` names what differs. Gaussian noise
    (the only kind :func:`consistency_study` samples)."""
    names = [it["name"] for it in items]
    sel = [it["name"] for it in select_items]
    div, rc = parts.get("diversity"), parts["region_control"]
    have = set(parts["information"].image)
    if not set(names) <= have:
        raise ValueError(f"plain: {len(set(names) - have)} of the {len(names)} items are not in the plain run")
    if div is None or list(div.image[:len(sel)]) != sel:
        raise ValueError("plain: select_items must be the first items of the plain run's select list "
                         "(image j samples with seed + j)")
    checks = {"scale": (div.scale, scale), "k": (div.K, k),
              "region delta": (rc[rc.region != "global"].delta, region_delta),
              "global delta": (rc[rc.region == "global"].delta, global_delta)}
    if "selection" in parts:
        checks["select_n"] = (parts["selection"].n, select_n)
    bad = [f"{what}={sorted(set(col))} (study: {want})" for what, (col, want) in checks.items()
           if len(col) and not np.allclose(col.to_numpy(dtype=float), want)]
    if bad:
        raise ValueError(f"plain: the plain run's protocol differs: {', '.join(bad)}")
    cut = {name: df[df.image.isin(names)].reset_index(drop=True) for name, df in parts.items()
           if name in ("information", "region_control")}
    cut.update({name: parts[name][parts[name].image.isin(sel)].reset_index(drop=True)
                for name in ("diversity", "selection") if name in parts})
    # diversity is wide (a column per region): drop the columns only the other images had (a region absent here)
    cut["diversity"] = cut["diversity"].dropna(axis=1, how="all")
    cut["summary"] = summarize_style_usage(cut, perceptual_name=perceptual_name, labels=labels)
    return cut


def consistency_study(model, items: Sequence[dict], select_items: Sequence[dict], perceptual, *, k: int = 16,
                      scale: float = 0.3, select_n: int = 100, region_delta: float = 0.3, global_delta: float = 0.15,
                      ntire_k: int = K, seed: int = 0, antialias: bool = False, device="cpu",
                      progress: bool = False, plain: dict[str, pd.DataFrame] | None = None) -> dict[str, pd.DataFrame]:
    """Everything issue 33 asks of the projection on one model: the style-usage protocol
    (:func:`deepsee.eval.style_usage.style_usage`) and the NTIRE protocol on ``select_items``, each without
    and with the projection, the walks' survival, and :func:`consistency_effect`. ``perceptual`` needs a
    ``spatial`` map (TexStatDist or LPIPS). ``plain``: the per-image tables of a plain style-usage run of the same
    protocol on a superset of ``items`` (notebook 30's), reused instead of measured again
    (:func:`reuse_plain_parts`: the same numbers). Returns ``{"effect", "survival", "ntire_plain",
    "ntire_consistent", "usage_plain", "usage_consistent"}`` (the last two: style-usage summaries)."""
    kw = dict(select_items=select_items, region_delta=region_delta, global_delta=global_delta, k=k, scale=scale,
              select_n=select_n, seed=seed, device=device, progress=progress, antialias=antialias)
    if plain is not None:
        plain = reuse_plain_parts(plain, items, select_items, k=k, scale=scale, select_n=select_n,
                                  region_delta=region_delta, global_delta=global_delta,
                                  perceptual_name=getattr(perceptual, "name", "perceptual"), labels=of(model))
    else:
        plain = style_usage(model, items, perceptual, consistent=False, **kw)
    cons = style_usage(model, items, perceptual, consistent=True, **kw)
    nk = dict(k=ntire_k, scale=scale, seed=seed, antialias=antialias, device=device)
    n_plain = ntire_image_rows(model, select_items, perceptual, consistent=False, **nk)
    n_cons = ntire_image_rows(model, select_items, perceptual, consistent=True, **nk)
    survival = walk_survival(plain["region_control"], cons["region_control"])
    effect = consistency_effect(plain, cons, n_plain, n_cons, survival, getattr(perceptual, "name", "perceptual"))
    return {"effect": effect, "survival": survival, "ntire_plain": n_plain, "ntire_consistent": n_cons,
            "usage_plain": plain["summary"], "usage_consistent": cons["summary"]}
