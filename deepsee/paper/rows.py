"""Figure rows: the images each figure of the supplement shows, computed from a model and test items.

Each function returns the rows that a :mod:`deepsee.viz` figure function draws (dicts of CPU tensors
in ``[-1, 1]``), so a notebook reads ``fig = style_walk_figure(walk_rows(model, items, delta=0.15))``.
Styles are the model's test-time style (:meth:`DeepSEE.test_time_style`: the LR encoder on the LR image,
the setting of Figs. 3-10), images rendered through
the :class:`~deepsee.explore.ExplorationEngine` (the model's own images, faster for many styles).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from ..data.common import IMAGE_EXTS, list_images
from ..data.degradation import bicubic_upsample
from ..explore.engine import ExplorationEngine, engine_for, predicted_style  # noqa: F401  (figure rows use both)
from ..explore.walks import style_walk
from ..labels import of
from ..metrics.consistency import capped_lr_psnr
from ..metrics.explorative import region_change, walk_change


def walk_rows(model, items: Sequence[dict], *, delta: float = 0.15, steps: int = 5, classes=None,
              device="cpu") -> list[dict]:
    """Figs. 3-4: per item, the walk ``S_k = clamp(S + k delta, -1, 1)`` (all rows, or the rows of
    ``classes``) from its predicted style. Rows: ``lr``, ``images`` (``steps`` outputs), ``label``."""
    rows = []
    for it in items:
        eng, style = engine_for(model, it, device), predicted_style(model, it, device)
        imgs = eng.generate(style_walk(style, delta=delta, steps=steps, classes=classes, labels=of(model)),
                            progress=False).cpu()
        rows.append({"lr": it["lr"], "images": list(imgs), "label": it.get("name", "")})
    return rows


def full_face(items: Sequence[dict], regions: Sequence[str], min_pixels: int = 16, labels=None) -> dict:
    """The first item whose mask shows every region of ``regions`` (of the label set ``labels``, faces by
    default) with at least ``min_pixels`` pixels (else the first item): Fig. 10 walks them all on one face."""
    if not items:
        raise ValueError("no items to choose from")
    ls = of(labels)
    for it in items:
        if all(int(ls.region_pixels(it["mask"], r).sum()) >= min_pixels for r in regions):
            return it
    return items[0]


def region_walk_rows(model, item: dict, regions: Sequence[str], *, delta: float = 0.3, steps: int = 5,
                     device="cpu", consistent: bool = False, antialias: bool = False) -> list[dict]:
    """Fig. 10: one row per region, walking only that region's style rows of ``item``'s predicted
    style. Rows: ``region``, ``mask``, ``images``, ``highlight`` (the region's pixels). ``consistent``: every
    image projected onto the images consistent with the LR input (the walk's share that survives it)."""
    eng, style = engine_for(model, item, device, consistent, antialias), predicted_style(model, item, device)
    rows, ls = [], of(model)
    for region in regions:
        imgs = eng.generate(style_walk(style, delta=delta, steps=steps, classes=list(ls.region_ids(region)), labels=ls),
                            progress=False).cpu()
        rows.append({"region": region, "mask": item["mask"], "images": list(imgs),
                     "highlight": ls.region_pixels(item["mask"], region)})
    return rows


def row_change(row: dict) -> dict:
    """How much the walk of one :func:`walk_rows` / :func:`region_walk_rows` row changes its image, as the
    style-usage table measures a walk (:func:`~deepsee.metrics.explorative.walk_change`: both ends against the
    middle image, ``[0, 1]`` units): ``{"all": mean over the image}``, and for a region row (``highlight``) the
    :func:`~deepsee.metrics.explorative.region_change` of its region (``inside``, ``outside``, ``ratio``, ...)."""
    imgs = torch.stack(list(row["images"]))                                     # [steps, 3, H, W]
    change = walk_change(imgs[[0, -1]], imgs[len(imgs) // 2])                     # [H, W]
    out = {"all": float(change.mean())}
    if row.get("highlight") is not None:
        out.update(region_change(change, torch.as_tensor(row["highlight"])))
    return out


def edit_row(model, item: dict, masks: Sequence, captions: Sequence[str], device="cpu", antialias: bool = False) -> dict:
    """Figs. 8, 9, 16: the outputs for a sequence of (edited) masks of one item, with the style
    predicted from the LR image and the original mask. Row: ``label``, ``masks``, ``images``, ``captions``,
    ``lr_psnr`` (each output's LR consistency with the item's LR input, dB; ``antialias``: its degradation)."""
    if len(masks) != len(captions):
        raise ValueError(f"{len(masks)} masks but {len(captions)} captions")
    eng, style = engine_for(model, item, device), predicted_style(model, item, device)
    imgs = []
    for m in masks:
        eng.set_mask(torch.as_tensor(m).to(device))
        imgs.append(eng.generate(style[None], progress=False)[0].cpu())
    out = torch.stack(imgs)
    return {"label": item.get("name", ""), "masks": [torch.as_tensor(m) for m in masks], "images": imgs,
            "captions": list(captions),
            "lr_psnr": capped_lr_psnr(out, item["lr"][None].expand(len(imgs), -1, -1, -1).to(out), antialias).tolist()}


def sr_rows(model, items: Sequence[dict], device="cpu") -> list[dict]:
    """Figs. 14, 15: the model's output with the style predicted from the LR image. Rows: ``lr``,
    ``mask``, ``output``, ``gt``, ``label``."""
    out = []
    for it in items:
        style = predicted_style(model, it, device)
        with torch.inference_mode():
            y = model(it["lr"][None].to(device), it["mask"][None].to(device), style[None])[0].cpu()
        out.append({"lr": it["lr"], "mask": it["mask"], "output": y, "gt": it.get("hr"), "label": it.get("name", "")})
    return out


def method_outputs(models: dict, item: dict, device="cpu", bicubic: bool = False) -> dict:
    """Figs. 11-13, 18: ``{label: output}`` for each model with its own test-time style
    (:meth:`DeepSEE.test_time_style`: the LR encoder, or the HR encoder on the item's guide image),
    after a ``bicubic`` column when asked."""
    lr, mask = item["lr"][None].to(device), item["mask"][None].to(device)
    out = {}
    if bicubic:
        out["bicubic"] = bicubic_upsample(lr, item["hr"].shape[-1])[0].cpu()
    for label, m in models.items():
        style = m.test_time_style(item, device)
        with torch.inference_mode():
            out[label] = m(lr, mask, style)[0].cpu()
    return out


def image_files(folder: str | Path, n: int) -> list[Path]:
    """The first ``n`` images of a folder, by name (:func:`deepsee.data.common.list_images`)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such image folder")
    files = list(list_images(folder).values())[:n]
    if not files:
        raise FileNotFoundError(f"{folder}: no {'/'.join(IMAGE_EXTS)} images")
    return files


def generate_fn(model, item: dict, device="cpu") -> Callable[[Tensor], Tensor]:
    """``styles [k, N, d] -> images [k, 3, H, W]`` (CPU) for ``item``'s (LR image, mask)."""
    eng = engine_for(model, item, device)
    return lambda s: eng.generate(s.to(device), progress=False).cpu()


UNEDITED = ("original", "default solution")   # the captions edit rows give the unedited mask


def edit_consistency(rows_by_figure: dict[str, Sequence[dict]]) -> "pd.DataFrame":
    """LR consistency of mask edits (issue 33): per figure (``{"Fig. 8": [edit_row, ...], ...}``), the mean and
    worst LR-PSNR (dB) of the outputs of edited masks and of the unedited ones. An edit the LR image
    contradicts (eyes closed where the LR shows them open) cannot stay consistent with it."""
    rows = []
    for fig, fig_rows in rows_by_figure.items():
        vals = {True: [], False: []}
        for row in fig_rows:
            for v, cap in zip(row["lr_psnr"], row["captions"]):
                vals[cap not in UNEDITED].append(float(v))
        for edited in (True, False):
            if vals[edited]:
                rows.append({"figure": fig, "masks": "edited" if edited else "unedited", "outputs": len(vals[edited]),
                             "lr_psnr": float(np.mean(vals[edited])), "lr_psnr_worst": float(np.min(vals[edited]))})
    return pd.DataFrame(rows)
