"""Outdoor scenes (the paper's Fig. 19; issue 32): items with the segmenter's masks, Fig. 19's rows and the scenes
table (the model against bicubic, with paired bootstrap intervals and issue 32's goals).

The protocol is the faces' (Table 6, notebook 30): test items of the scenes dataset, masks predicted by the scenes
segmenter from the LR image (the ground-truth mask is kept as ``gt_mask``), the model's test-time style (its LR
encoder), PSNR / SSIM / TexStatDist (or LPIPS when its weights are present) against the ground truth.
"""
from __future__ import annotations

from typing import Sequence

import pandas as pd
import torch

from ..explore import ExplorationEngine
from ..explore.walks import sample_styles
from ..labels import of
from ..seg.predict import predict_masks
from .ablation import bootstrap_indices, mean_ci
from .evaluate import BICUBIC, evaluate

#: Issue 32's goals of the scenes model against bicubic (the style-usage goals are GOAL_SETS["scenes"]).
SCENES_GOALS = {"psnr_gain_db": 0.5, "perceptual_lower": True}


@torch.no_grad()
def with_predicted_masks(items: Sequence[dict], segmenter, *, batch_size: int = 16) -> list[dict]:
    """Copies of ``items`` whose ``mask`` is the segmenter's prediction from the LR image (``gt_mask``: the
    ground truth), as the model meets a scene at test time."""
    out = []
    for s in range(0, len(items), batch_size):
        chunk = list(items[s:s + batch_size])
        lr = torch.stack([it["lr"] for it in chunk])
        pred = predict_masks(segmenter, lr, tuple(chunk[0]["hr"].shape[-2:])).cpu()
        for it, m in zip(chunk, pred):
            out.append({**it, "mask": m, "gt_mask": it["mask"], "identity": it.get("identity", -1)})
    return out


@torch.no_grad()
def fig19_rows(model, items: Sequence[dict], *, samples: int = 2, scale: float = 0.3, seed: int = 0,
               device="cpu") -> list[dict]:
    """Fig. 19: per item, the LR input, the (predicted) mask, the output at the model's test-time style, ``samples``
    outputs at sampled styles around it (Gaussian, ``scale``, stream ``seed + i``) and the ground truth. Rows:
    ``lr``, ``mask``, ``output``, ``samples`` (list), ``gt``, ``name``."""
    rows = []
    for i, it in enumerate(items):
        eng = ExplorationEngine(model, it["lr"][None].to(device), it["mask"].to(device))
        style = model.test_time_style(it, device)
        if style is None:
            raise ValueError(f"the {model.cfg.variant} model has no style to sample (Fig. 19 shows two sampled styles)")
        styles = torch.cat([style, sample_styles(style[0], samples, scale=scale, seed=seed + i, labels=of(model))])
        out = eng.generate(styles, progress=False).cpu()
        rows.append({"lr": it["lr"], "mask": it["mask"], "output": out[0], "samples": list(out[1:]), "gt": it["hr"],
                     "name": it.get("name", str(i))})
    return rows


def scenes_table(model, items: Sequence[dict], perceptual, *, device="cpu", antialias: bool = False,
                 n_boot: int = 2000, seed: int = 0, label: str = "DeepSEE", progress: bool = True) -> pd.DataFrame:
    """The model and bicubic on ``items`` (predicted masks: :func:`with_predicted_masks`): one row per method with
    the means of PSNR, SSIM, the perceptual distance and LR-PSNR, then one row per goal of :data:`SCENES_GOALS`
    with the paired difference to bicubic, its 95 % bootstrap interval over the scenes, and whether it is met."""
    per_image, _ = evaluate(model, list(items), device=device, perceptual=perceptual, label=label, bicubic=True,
                            progress=progress, antialias=antialias)
    key = getattr(perceptual, "key", "perceptual")
    name = getattr(perceptual, "name", key)
    cols = ["psnr", "ssim", key, "lr_psnr"]
    rows = []
    for method, df in per_image.groupby("method", sort=False):
        rows.append({"kind": "method", "method": method, **{c: float(df[c].mean()) for c in cols},
                     "n_images": len(df)})
    ours = per_image[per_image.method == label].set_index("name")
    bic = per_image[per_image.method == BICUBIC].set_index("name").loc[ours.index]
    idx = bootstrap_indices(len(ours), n_boot, seed)
    for goal, col, want in (("psnr_gain_db", "psnr", f">= {SCENES_GOALS['psnr_gain_db']} dB"),
                            ("perceptual_lower", key, f"< bicubic's {name}")):
        diff = (ours[col] - bic[col]).to_numpy()
        mean, lo, hi = mean_ci(diff, idx)
        met = mean >= SCENES_GOALS["psnr_gain_db"] if goal == "psnr_gain_db" else hi < 0
        rows.append({"kind": "goal", "method": f"{label} - bicubic", "measure": f"{col} difference",
                     "value": mean, "ci_low": lo, "ci_high": hi, "goal": want, "met": "yes" if met else "no",
                     "n_images": len(diff)})
    df = pd.DataFrame(rows)
    df.attrs.update(perceptual=name, labels=of(model).name)
    return df


def summary_line(table: pd.DataFrame) -> str:
    """One sentence of the scenes table for a notebook's closing cell."""
    m = table[table.kind == "method"].set_index("method")
    goals = table[table.kind == "goal"]
    parts = [f"{k}: {r.psnr:.2f} dB PSNR, SSIM {r.ssim:.3f}" for k, r in m.iterrows()]
    met = ", ".join(f"{g.measure} {g.value:+.4f} [{g.ci_low:+.4f}, {g.ci_high:+.4f}] ({g.goal}: {g.met})"
                    for g in goals.itertuples())
    return "; ".join(parts) + ". " + met + "."


__all__ = ["with_predicted_masks", "fig19_rows", "scenes_table", "summary_line", "SCENES_GOALS"]
