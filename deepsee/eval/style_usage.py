"""How much a trained model uses its style space: the measurements behind the exploration figures.

DeepSEE's claim is exploration: one LR face, many plausible HR faces, steered region by region
through the style matrix ``S`` (19 rows, one per semantic class, values in [-1, 1]). A model can
only be explored if (a) the style carries information the LR image does not, (b) changing one
region's rows changes that region and little else, (c) sampled styles give visibly different
outputs, and (d) choosing among samples pays off. :func:`style_usage` measures the four on a list of
test items, for any model with an LR and an HR style encoder (the independent variant):

- *information* (:func:`information_rows`): the output with the style encoded by the HR encoder from
  the ground truth ("oracle style") against the style from the LR encoder (what a user starts from):
  PSNR, SSIM, the perceptual distance, and per region the error of the mean colour and of the
  high-frequency energy (RMS of ``x - G_1.5 * x``, the detail a 16x16 image cannot show; the kit's one
  Gaussian, :func:`~deepsee.metrics.filters.gaussian_kernel`) against the ground truth.
- *region control* (:func:`region_control_rows`): the walk ``S_k = clamp(S + k delta 1_R, -1, 1)``,
  ``k = -2, 2``, on the rows ``R`` of one region (Fig. 10): mean absolute change of the output inside
  the region and outside it, in [0, 1] pixel units, and their ratio inside / outside
  (:func:`~deepsee.metrics.explorative.region_change`). The global walk of Fig. 3 (delta on all rows)
  gives the mean change of the whole image.
- *diversity* (:func:`diversity_rows`): K samples ``clamp(S + sigma eps_i, -1, 1)``: mean pairwise
  L1 in [0, 1] pixel units (overall and per region) and perceptual distance
  (:func:`~deepsee.metrics.explorative.diversity`).
- *selection gain* (:func:`selection_rows`): the expected best perceptual distance of n random
  samples (order statistics, :func:`~deepsee.metrics.explorative.best_of_n`), ``1 - best_100 / best_1``.

:func:`summarize_style_usage` turns the per-image tables into the summary the pipeline writes
(``results/style_usage_<dataset>_8x_<profile>.csv``), with the goals of the kit's issue tracker
beside each row. Every number is computed with the exploration engine, so it is exactly what the
figures and the explorer show; every pixel change is :func:`~deepsee.metrics.explorative.change_map`, the one
unit of the explorative metrics (``[0, 1]``).
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import Tensor
from tqdm.auto import tqdm

from ..explore import ExplorationEngine
from ..explore.walks import sample_styles, style_walk
from ..labels import FACES, label_set, of
from ..metrics.consistency import NTIRE_MIN_LR_PSNR, capped_lr_psnr
from ..metrics.explorative import best_of_n, diversity, inside_outside_ratio, region_change, walk_change
from ..metrics.filters import gaussian_blur
from ..metrics.image import psnr, ssim
from ..models import DeepSEE
from ..paper.oracle import oracle_selection

#: Regions measured for faces (the large ones the LR image constrains, and the small, uncertain ones); a model of
#: another label set is measured on that set's ``usage_regions`` / ``small_regions`` (deepsee.labels).
USAGE_REGIONS: tuple[str, ...] = FACES.usage_regions
SMALL_REGIONS: tuple[str, ...] = FACES.small_regions
HF_SIGMA = 1.5          # Gaussian of the high-frequency split (HR pixels)
MIN_PIXELS = 16         # a region smaller than this in an image is skipped there

#: Goals (issue 13): checked by :func:`summarize_style_usage`, reported beside the measured values.
GOALS = {"psnr_gain_db": 0.5, "perceptual_reduction": 0.10, "inside_outside_ratio": 5.0,
         "small_region_inside_change": 0.05, "global_walk_change": 0.02, "selection_gain": 0.15}
# The showcase models' goals (issue 22): every one above every row the 9,000-step study measured, all at
# once; also the diversity of K samples and the regions whose mean colour the oracle style improves.
SHOWCASE_GOALS = {"psnr_gain_db": 0.4, "perceptual_reduction": 0.12, "inside_outside_ratio": 5.0,
                  "small_region_inside_change": 0.08, "global_walk_change": 0.03, "selection_gain": 0.25,
                  "diversity_l1": 0.03, "colour_regions": 5}
# The scenes model's goals (issue 32): the sky and water walks local (inside / outside >= 5: "ratio_regions" limits the
# ratio goal to them) and best-of-100 selection 15 % better than one sample; the other rows are reported without a goal
# (the PSNR and TexStatDist goals against bicubic are the scenes table's, deepsee.eval).
SCENES_GOALS = {"inside_outside_ratio": 5.0, "ratio_regions": ("sky", "water"), "selection_gain": 0.15}
GOAL_SETS = {"quick": GOALS, "showcase": SHOWCASE_GOALS, "scenes": SCENES_GOALS}   # eval.usage_goals


def _goal(g: dict, key: str, value, fmt: str = "{}") -> tuple[str, bool | None]:
    """(goal text, met) of one summary row; ("", None) when the goal set has no ``key``."""
    if g.get(key) is None:
        return "", None
    return ">= " + fmt.format(g[key]), bool(value >= g[key]) if not np.isnan(value) else None


def high_pass(img: Tensor, sigma: float = HF_SIGMA) -> Tensor:
    """``img - G_sigma * img`` per channel (:func:`~deepsee.metrics.filters.gaussian_blur`); ``img [B, 3, H, W]``."""
    return img - gaussian_blur(img, sigma)


def region_stats(img: Tensor, mask: Tensor, regions: Sequence[str] | None = None, labels=None) -> dict:
    """Mean colour ``[3]`` and high-frequency RMS of each region of one image.

    ``img [3, H, W]`` in [-1, 1] (converted to [0, 1]); ``mask [H, W]``. Regions with fewer than
    :data:`MIN_PIXELS` pixels are left out.
    """
    ls = of(labels)
    x = (img.float().clamp(-1, 1) + 1) / 2
    hf = high_pass(x[None])[0].pow(2).mean(0)                                   # [H, W]
    out = {}
    for r in ls.usage_regions if regions is None else regions:
        m = ls.region_pixels(mask, r)
        if int(m.sum()) < MIN_PIXELS:
            continue
        out[r] = (x[:, m].mean(1), float(hf[m].mean().sqrt()))
    return out


def _engine(model, item, device, engines: dict | None = None, consistent: bool = False, antialias: bool = False):
    """The exploration engine of ``item`` (its once-per-input cache). ``engines``: a cache by
    ``id(item)`` that the caller keeps while its items live (:func:`style_usage`: one per face, shared
    by the four parts). ``consistent``: every image it renders is projected onto the images whose kit LR
    (``antialias``: the dataset's degradation) is the item's LR input (issue 33)."""
    if engines is not None and id(item) in engines:
        return engines[id(item)]
    eng = ExplorationEngine(model, item["lr"][None].to(device), item["mask"].to(device), consistent=consistent,
                            antialias=antialias)
    if engines is not None:
        engines[id(item)] = eng
    return eng


def _lr_psnr(out: Tensor, item: dict, antialias: bool) -> np.ndarray:
    """LR-PSNR (dB) of each of ``out`` ``[K, 3, H, W]`` against the item's LR input (exact = ``EXACT_DB``)."""
    return capped_lr_psnr(out, item["lr"][None].expand(out.shape[0], -1, -1, -1), antialias)


def _encode(model, item, source: str, device) -> Tensor:
    img = item["lr"] if source == "lr" else item["hr"]
    with torch.inference_mode():
        return model.encode_style(img[None].to(device), item["mask"][None].to(device), source=source)[0]


def _test_style(model, item, device) -> Tensor:
    """The style ``[N, d]`` the model reads at test time (``DeepSEE.test_time_style``: the LR encoder when it has
    one, else the HR encoder on the item's guide image): the walks, samples and selection start from it, so
    they apply to every styled variant (the ablation's too)."""
    style = model.test_time_style(item, device)
    if style is None:
        raise ValueError(f"the {model.cfg.variant} model has no style: nothing to walk or sample")
    return style[0]


def check_explorable(model) -> None:
    sources = tuple(getattr(model, "style_sources", ()))
    if "lr" not in sources or "hr" not in sources:
        raise ValueError(f"style usage needs a model with an LR and an HR style encoder (the independent "
                         f"variant); this model's style sources are {sources or 'none'}")


@torch.no_grad()
def information_rows(model, items: Sequence[dict], perceptual: Callable | None = None,
                     device: str | torch.device = "cpu", regions: Sequence[str] | None = None,
                     engines: dict | None = None, consistent: bool = False, antialias: bool = False) -> pd.DataFrame:
    """Oracle style (HR encoder on the ground truth) against LR style, per image and region (``lr_psnr``: the
    output's LR consistency, dB).

    One row per (image, style source, region); region ``"all"`` holds psnr, ssim and perceptual, the
    others ``colour_error`` (mean |mean colour - ground truth's|, [0, 1] units) and ``hf_error``
    (|HF RMS - ground truth's|).
    """
    check_explorable(model)
    ls = of(model)
    regions = ls.usage_regions if regions is None else regions
    rows = []
    for it in items:
        eng = _engine(model, it, device, engines, consistent, antialias)
        styles = torch.stack([_encode(model, it, "lr", device), _encode(model, it, "hr", device)])
        out = eng.generate(styles, progress=False).cpu().float()                # [2, 3, H, W]
        gt = it["hr"][None].float().expand_as(out)
        p, s, lp = psnr(out, gt), ssim(out, gt), _lr_psnr(out, it, antialias)
        d = perceptual(out, gt) if perceptual is not None else torch.full((2,), float("nan"))
        ref = region_stats(it["hr"], it["mask"], regions, ls)
        for j, source in enumerate(("lr", "oracle")):
            rows.append({"image": it["name"], "style": source, "region": "all", "psnr": float(p[j]),
                         "ssim": float(s[j]), "perceptual": float(d[j]), "lr_psnr": float(lp[j])})
            stats = region_stats(out[j], it["mask"], regions, ls)
            for r, (col, hf) in stats.items():
                rows.append({"image": it["name"], "style": source, "region": r,
                             "colour_error": float((col - ref[r][0]).abs().mean()),
                             "hf_error": abs(hf - ref[r][1])})
    return pd.DataFrame(rows)


def region_control_rows(model, items: Sequence[dict], delta: float = 0.3, steps: int = 2,
                        device: str | torch.device = "cpu",
                        regions: Sequence[str] | None = None, global_delta: float = 0.15,
                        engines: dict | None = None, band: int | None = None, consistent: bool = False,
                        antialias: bool = False) -> pd.DataFrame:
    """Walk one region's rows by ``+-steps * delta`` (and all rows by ``+-steps * global_delta``).

    The change of a walk is :func:`~deepsee.metrics.explorative.walk_change`: the change of each end against the
    output at the LR style (``[0, 1]`` units), averaged over the two ends. Per (image, region) its
    :func:`~deepsee.metrics.explorative.region_change`: ``inside`` and ``outside`` (the region's pixels / the
    other pixels), ``ratio`` (inside / outside), ``band_change`` (the ring of ``band`` HR pixels around the region,
    default: the model's SR factor, one LR pixel) and ``outside_far`` (the outside beyond it); region
    ``"global"``: the mean change of the whole image under the all-rows walk (``inside``). The LR style and both
    ends of every walk go through the engine in one call.

    The generator's first blocks read the mask at the LR size (nearest resizing, as the authors'
    code), so a walk moves the one-LR-pixel band around its region too; ``outside_far`` separates that
    resolution limit from a change elsewhere in the face. ``lr_psnr_worst``: the less consistent end of the walk (dB).
    """
    ls = of(model)
    regions = ls.usage_regions if regions is None else regions
    rows = []
    n = 2 * steps + 1
    for it in items:
        eng = _engine(model, it, device, engines, consistent, antialias)
        style = _test_style(model, it, device)
        masks = {r: ls.region_pixels(it["mask"], r) for r in regions}
        width = int(band if band is not None else getattr(getattr(model, "cfg", None), "factor", 0) or 0)
        present = [r for r in regions if int(masks[r].sum()) >= MIN_PIXELS]
        ends = [style_walk(style, delta=global_delta, steps=n, labels=ls)[[0, n - 1]]]
        ends += [style_walk(style, delta=delta, steps=n, classes=list(ls.region_ids(r)), labels=ls)[[0, n - 1]]
                 for r in present]
        out = eng.generate(torch.cat([style[None]] + ends), progress=False).cpu().float()
        worst = _lr_psnr(out[1:], it, antialias).reshape(len(ends), 2).min(1)      # [walks]
        change = walk_change(out[1:].view(len(ends), 2, *out.shape[1:]), out[0])     # [walks, H, W]
        rows.append({"image": it["name"], "region": "global", "delta": global_delta, "steps": steps,
                     "inside": float(change[0].mean()), "outside": float("nan"), "pixels": int(change[0].numel()),
                     "lr_psnr_worst": float(worst[0])})
        for r, c, lw in zip(present, change[1:], worst[1:]):
            rows.append({"image": it["name"], "region": r, "delta": delta, "steps": steps,
                         **region_change(c, masks[r], width), "lr_psnr_worst": float(lw)})
    return pd.DataFrame(rows)


@torch.no_grad()
def diversity_rows(model, items: Sequence[dict], k: int = 16, scale: float = 0.1, noise: str = "gaussian",
                   perceptual: Callable | None = None, seed: int = 0,
                   device: str | torch.device = "cpu", regions: Sequence[str] | None = None,
                   engines: dict | None = None, consistent: bool = False, antialias: bool = False) -> pd.DataFrame:
    """K samples around the LR style per image: :func:`~deepsee.metrics.explorative.diversity` over every pair
    (mean pairwise L1 in [0, 1] units, overall and per region, and the mean pairwise perceptual distance), and
    the samples' LR-PSNR (mean, worst; dB). Image ``i`` uses the sample stream ``seed + i``."""
    ls = of(model)
    regions = ls.usage_regions if regions is None else regions
    rows = []
    for i, it in enumerate(items):
        eng = _engine(model, it, device, engines, consistent, antialias)
        styles = sample_styles(_test_style(model, it, device), k, noise=noise, scale=scale, seed=seed + i, labels=ls)
        out = eng.generate(styles, progress=False).cpu().float()
        lp = _lr_psnr(out, it, antialias)
        rows.append({"image": it["name"], "scale": scale,
                     **diversity(out, it["mask"], perceptual, regions=regions, min_pixels=MIN_PIXELS,
                                 max_pairs=k * (k - 1) // 2, labels=ls),
                     "lr_psnr": float(lp.mean()), "lr_psnr_worst": float(lp.min())})
    return pd.DataFrame(rows)


@torch.no_grad()
def selection_rows(model, items: Sequence[dict], perceptual: Callable, n: int = 100, scale: float = 0.1,
                   noise: str = "gaussian", seed: int = 0, device: str | torch.device = "cpu",
                   engines: dict | None = None, consistent: bool = False, antialias: bool = False) -> pd.DataFrame:
    """Best-of-n selection by the perceptual distance to the ground truth (the oracle protocol of
    Figs. 5-7 with K = n samples): expected best of 1 and of n per image."""
    rows = []
    for i, it in enumerate(items):
        eng = _engine(model, it, device, engines, consistent, antialias)
        style = _test_style(model, it, device)
        scores, _ = oracle_selection(lambda s: eng.generate(s.to(device), progress=False).cpu(), style.cpu(),
                                     it["hr"], K=n, noise=noise, scale=scale, seed=seed + i, chunk=50,
                                     metrics={"perceptual": perceptual}, progress=False)
        r = best_of_n(scores["perceptual"].to_numpy(), ns=(1, n), mode="min", seed=seed + i)
        rows.append({"image": it["name"], "n": n, "best_of_1": r["expected"][0], "best_of_n": r["expected"][1]})
    return pd.DataFrame(rows)


def style_usage(model, items: Sequence[dict], perceptual: Callable | None, *, select_items: Sequence[dict] | None = None,
                region_delta: float = 0.3, global_delta: float = 0.15, walk_steps: int = 2, k: int = 16,
                scale: float = 0.1, noise: str = "gaussian", select_n: int = 100, seed: int = 0,
                device: str | torch.device = "cpu", progress: bool = True,
                goals: dict | None = None, consistent: bool = False, antialias: bool = False) -> dict[str, pd.DataFrame]:
    """All four measurements; returns the per-image tables and the summary (key ``"summary"``).

    ``items``: test items (``lr``, ``hr``, ``mask``, ``name``) for information and region control;
    ``select_items`` (default ``items``): for diversity and selection, which cost K and n forwards.
    ``goals``: the thresholds of the summary's ``goal`` / ``met`` columns (default :data:`GOALS`;
    :data:`GOAL_SETS` by name). ``consistent``: every rendered image (LR and oracle style, walks, samples) is
    projected onto the images consistent with the LR input (``antialias``: the dataset's degradation).
    """
    check_explorable(model)
    proj = {"consistent": consistent, "antialias": antialias}
    model = model.to(device).eval()
    select_items = list(items if select_items is None else select_items)
    # item by item, so that each item's engine (its once-per-input cache, ~90 MB at quick width) is built
    # once for all four parts and freed before the next; select item j keeps the sample stream seed + j
    index = {id(it): i for i, it in enumerate(items)}
    chosen = {id(it): j for j, it in enumerate(select_items)}
    order = list(items) + [it for it in select_items if id(it) not in index]
    found: dict[str, list] = {"information": [], "region_control": [], "diversity": [], "selection": []}
    for it in tqdm(order, desc="style usage (images)", disable=not progress):
        engines = {}
        if id(it) in index:
            i = index[id(it)]
            found["information"].append((i, information_rows(model, [it], perceptual, device, engines=engines,
                                                             **proj)))
            found["region_control"].append((i, region_control_rows(model, [it], region_delta, walk_steps, device,
                                                                   global_delta=global_delta, engines=engines,
                                                                   **proj)))
        if id(it) in chosen:
            j = chosen[id(it)]
            found["diversity"].append((j, diversity_rows(model, [it], k, scale, noise, perceptual, seed + j, device,
                                                         engines=engines, **proj)))
            if perceptual is not None:
                found["selection"].append((j, selection_rows(model, [it], perceptual, select_n, scale, noise,
                                                             seed + j, device, engines=engines, **proj)))
    parts = {name: pd.concat([df for _, df in sorted(got, key=lambda x: x[0])], ignore_index=True)
             for name, got in found.items() if got}
    parts["summary"] = summarize_style_usage(parts, perceptual_name=getattr(perceptual, "name", "perceptual"),
                                             goals=goals, labels=of(model))
    return parts


def _row(group, measure, region, value, goal="", met=None, unit=""):
    return {"group": group, "measure": measure, "region": region, "value": value, "unit": unit,
            "goal": goal, "met": "" if met is None else ("yes" if met else "no")}


def summarize_style_usage(parts: dict[str, pd.DataFrame], perceptual_name: str = "perceptual",
                          goals: dict | None = None, labels=None) -> pd.DataFrame:
    """One row per measured quantity: group, measure, region, value, unit, goal, met. ``labels``: the model's
    label set (its usage and small regions; faces by default)."""
    g = GOALS if goals is None else goals
    ls = FACES if labels is None else label_set(labels)
    usage_regions, small_regions = ls.usage_regions, ls.small_regions
    rows = []
    info, rc, div = parts.get("information"), parts.get("region_control"), parts.get("diversity")
    if info is not None and len(info):
        allr = info[info.region == "all"].groupby("style")[["psnr", "ssim", "perceptual"]].mean()
        for src, label in (("lr", "LR style"), ("oracle", "oracle style")):
            rows.append(_row("information", f"PSNR, {label}", "all", allr.loc[src, "psnr"], unit="dB"))
            rows.append(_row("information", f"SSIM, {label}", "all", allr.loc[src, "ssim"]))
            rows.append(_row("information", f"{perceptual_name}, {label}", "all", allr.loc[src, "perceptual"]))
        gain = allr.loc["oracle", "psnr"] - allr.loc["lr", "psnr"]
        rows.append(_row("information", "PSNR gain of the oracle style", "all", gain, *_goal(g, "psnr_gain_db", gain),
                         "dB"))
        red = 1 - allr.loc["oracle", "perceptual"] / allr.loc["lr", "perceptual"]
        rows.append(_row("information", f"{perceptual_name} reduction by the oracle style", "all", red,
                         *_goal(g, "perceptual_reduction", red, "{:.0%}"), "relative"))
        regional = info[info.region != "all"]      # none when no measured region is in any mask
        reg = (regional.groupby(["region", "style"])[["colour_error", "hf_error"]].mean() if len(regional)
               else pd.DataFrame(columns=["colour_error", "hf_error"]))
        better = {"colour_error": 0, "hf_error": 0}
        regions = [r for r in usage_regions if (r, "lr") in reg.index and (r, "oracle") in reg.index]
        for r in regions:
            for col, label in (("colour_error", "mean-colour error"), ("hf_error", "high-frequency RMS error")):
                lo, orc = reg.loc[(r, "lr"), col], reg.loc[(r, "oracle"), col]
                better[col] += int(orc < lo)
                rows.append(_row("information", f"{label}, LR style", r, lo, unit="[0, 1]"))
                rows.append(_row("information", f"{label}, oracle style", r, orc, unit="[0, 1]"))
        for col, label in (("colour_error", "mean-colour error"), ("hf_error", "high-frequency RMS error")):
            if regions:
                need = g.get("colour_regions") if col == "colour_error" else None
                goal, met = ((f">= {need} of {len(regions)}", better[col] >= need) if need else
                             (f"> {len(regions) / 2:g} of {len(regions)}", better[col] > len(regions) / 2))
                rows.append(_row("information", f"regions with a lower {label} under the oracle style", "all",
                                 better[col], goal, met, "regions"))
    rc = parts.get("region_control")
    if rc is not None and len(rc):
        glob = rc[rc.region == "global"]
        if len(glob):
            v = glob.inside.mean()
            rows.append(_row("region control", f"global walk (+-{int(glob.steps.iloc[0])} x {glob.delta.iloc[0]:g}, "
                             "all rows): mean change", "all", v, *_goal(g, "global_walk_change", v), "[0, 1]"))
        loc = rc[rc.region != "global"].groupby("region")[["inside", "outside", "delta", "steps"]].mean()
        for r in [r for r in usage_regions if r in loc.index]:
            ins, outs = loc.loc[r, "inside"], loc.loc[r, "outside"]
            walk = f"+-{int(loc.loc[r, 'steps'])} x {loc.loc[r, 'delta']:g}"
            small = r in small_regions
            rows.append(_row("region control", f"{walk} on the region's rows: change inside", r, ins,
                             *(_goal(g, "small_region_inside_change", ins) if small else ("", None)), "[0, 1]"))
            rows.append(_row("region control", f"{walk} on the region's rows: change outside", r, outs, unit="[0, 1]"))
            ratio = inside_outside_ratio(ins, outs)             # of the means over the images
            judged = g.get("ratio_regions") is None or r in g["ratio_regions"]
            rows.append(_row("region control", "inside / outside", r, ratio,
                             *(_goal(g, "inside_outside_ratio", ratio, "{:g}") if judged else ("", None)), "ratio"))
            if "outside_far" in rc and np.isfinite(rc[rc.region == r].outside_far).any():
                sub = rc[rc.region == r]
                width = int(sub.band.iloc[0])
                far = float(np.nanmean(sub.outside_far))
                rows.append(_row("region control", f"{walk}: change in the {width}-px band around the region "
                                 "(one LR pixel)", r, float(np.nanmean(sub.band_change)), unit="[0, 1]"))
                rows.append(_row("region control", f"inside / outside beyond the {width}-px band "
                                 "(diagnostic)", r, inside_outside_ratio(ins, far), unit="ratio"))
    div = parts.get("diversity")
    if div is not None and len(div):
        k = int(div.K.iloc[0])
        v = div.l1_all.mean()
        need = g.get("diversity_l1")
        rows.append(_row("diversity", f"K = {k} samples (scale {div.scale.iloc[0]:g}): mean pairwise L1", "all",
                         v, f">= {need}" if need else "", (v >= need) if need else None, "[0, 1]"))
        if "perceptual_all" in div:
            rows.append(_row("diversity", f"K = {k}: mean pairwise {perceptual_name}", "all", div.perceptual_all.mean()))
        for r in usage_regions:
            if f"l1_{r}" in div:
                rows.append(_row("diversity", f"K = {k}: mean pairwise L1", r, div[f"l1_{r}"].mean(), unit="[0, 1]"))
    sel = parts.get("selection")
    if sel is not None and len(sel):
        n = int(sel.n.iloc[0])
        b1, bn = sel.best_of_1.mean(), sel.best_of_n.mean()
        rows.append(_row("selection", f"expected best of 1, {perceptual_name}", "all", b1))
        rows.append(_row("selection", f"expected best of {n}, {perceptual_name}", "all", bn))
        gain = 1 - bn / b1
        rows.append(_row("selection", f"selection gain (1 - best of {n} / best of 1)", "all", gain,
                         *_goal(g, "selection_gain", gain, "{:.0%}"), "relative"))
    rows += _consistency_rows(info, rc, div)
    return pd.DataFrame(rows)


def _consistency_rows(info, rc, div) -> list[dict]:
    """LR-PSNR (issue 33) of the LR-style and oracle-style outputs, the walks' ends and the samples: mean and
    worst case, beside the NTIRE 2021 requirement (not one of the style-usage goals)."""
    ntire = f"NTIRE 2021: >= {NTIRE_MIN_LR_PSNR:g}"
    rows = []
    if info is not None and "lr_psnr" in info:
        allr = info[info.region == "all"]
        for src, label in (("lr", "LR style"), ("oracle", "oracle style")):
            v = allr[allr["style"] == src].lr_psnr
            rows.append(_row("consistency", f"LR-PSNR, {label}: mean", "all", float(v.mean()), unit="dB"))
            rows.append(_row("consistency", f"LR-PSNR, {label}: worst", "all", float(v.min()), ntire, unit="dB"))
    if rc is not None and "lr_psnr_worst" in rc:
        for label, sub in (("global walk ends", rc[rc.region == "global"]), ("region walk ends", rc[rc.region != "global"])):
            if len(sub):
                rows.append(_row("consistency", f"LR-PSNR, {label}: mean of the worse end", "all",
                                 float(sub.lr_psnr_worst.mean()), unit="dB"))
                rows.append(_row("consistency", f"LR-PSNR, {label}: worst", "all", float(sub.lr_psnr_worst.min()),
                                 ntire, unit="dB"))
    if div is not None and "lr_psnr" in div:
        k = int(div.K.iloc[0])
        rows.append(_row("consistency", f"LR-PSNR, K = {k} samples: mean", "all", float(div.lr_psnr.mean()), unit="dB"))
        rows.append(_row("consistency", f"LR-PSNR, K = {k} samples: worst", "all", float(div.lr_psnr_worst.min()),
                         ntire, unit="dB"))
    return rows


# The rows of the emergence figure: how exploration grows during training (summary measure -> short name).
EMERGENCE_ROWS = {
    ("information", "PSNR, LR style", "all"): "psnr_lr_style",
    ("information", "PSNR gain of the oracle style", "all"): "oracle_psnr_gain",
    ("information", "reduction by the oracle style", "all"): "oracle_perceptual_reduction",
    ("information", "regions with a lower mean-colour error", "all"): "oracle_colour_regions",
    ("region control", "global walk", "all"): "global_walk",
    ("region control", "change inside", "lips"): "lips_inside",
    ("region control", "change inside", "eyes"): "eyes_inside",
    ("region control", "change inside", "brows"): "brows_inside",
    ("diversity", "mean pairwise L1", "all"): "diversity_l1",
    ("selection", "selection gain", "all"): "selection_gain",
}


def emergence_row(summary: pd.DataFrame) -> dict[str, float]:
    """The :data:`EMERGENCE_ROWS` values of one :func:`style_usage` summary (``{short name: value}``)."""
    out = {}
    for (group, measure, region), name in EMERGENCE_ROWS.items():
        hit = summary[(summary.group == group) & (summary.region == region)
                      & summary.measure.str.contains(measure, regex=False)]
        if group == "diversity":
            hit = hit[hit.measure.str.contains("samples", regex=False)]   # the "all" L1 row, not TexStatDist
        out[name] = float(hit.value.iloc[0]) if len(hit) else float("nan")
    ratio = summary[(summary.group == "region control") & (summary.measure == "inside / outside")]
    out["min_inside_outside"] = float(ratio.value.min()) if len(ratio) else float("nan")
    far = summary[(summary.group == "region control") & summary.measure.str.startswith("inside / outside beyond")]
    out["min_inside_outside_beyond_band"] = float(far.value.min()) if len(far) else float("nan")
    return out


def emergence(snapshots: Sequence[tuple[int, object]], items: Sequence[dict], perceptual: Callable | None, *,
              progress: bool = True, **usage_kwargs) -> pd.DataFrame:
    """:func:`style_usage` of each ``(step, model)`` of one training run (``model``: a DeepSEE or a model
    folder), one row per step with the :data:`EMERGENCE_ROWS` (how exploration emerges; also: how long to
    train). ``usage_kwargs`` go to :func:`style_usage` (the same protocol at every step)."""
    rows = []
    for step, model in tqdm(list(snapshots), desc="emergence (snapshots)", disable=not progress):
        net = DeepSEE.load(model) if not isinstance(model, torch.nn.Module) else model
        summary = style_usage(net, items, perceptual, progress=False, **usage_kwargs)["summary"]
        rows.append({"step": int(step), **emergence_row(summary)})
    return pd.DataFrame(rows)
