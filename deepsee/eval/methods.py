"""Evaluation of several methods on one test split (Tables 6-7) and the explorative tables of a model.

- :func:`evaluate_methods`: bicubic, then each model with the style it reads at test time (the LR
  encoder, or the HR encoder on another image of the person for the guided model);
- :func:`explorative_tables`: per image, the diversity of ``K`` sampled solutions and the locality
  of per-region style edits (region leakage).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import pandas as pd
import torch

from ..explore.walks import sample_styles
from ..labels import of
from ..metrics.explorative import diversity, region_leakage
from ..paper.rows import generate_fn, predicted_style
from .evaluate import evaluate


def evaluate_methods(models: Mapping[str, object], test, guided_test=None, *, perceptual=None,
                     max_images: int | None = 0, fid: bool = False, device="cpu",
                     weights: Mapping[str, str] | None = None, progress: bool = False,
                     consistent: bool = False, antialias: bool = False) -> tuple[list[dict], dict]:
    """Rows ``{"method", "psnr", "ssim", "lpips", "fid", ...}`` for "Bicubic" and for each model
    (``{label: model}``, labelled ``ours (<label>)``), and their per-image DataFrames. A model whose
    style comes from an HR image (``test_time_source == "hr"``) is scored on ``guided_test``.
    ``weights``: ``{label: where the weights come from}`` for the table's provenance column.
    ``consistent``: beside each model a row ``ours (<label>, consistent)``, its outputs projected onto the
    images consistent with the input (``antialias``: the dataset's degradation). Every row has LR-PSNR
    (``lr_psnr`` mean, ``lr_psnr_worst``)."""
    rows, per_image = [], {}
    df, summary = evaluate(None, test, device=device, max_images=max_images, perceptual=perceptual, fid=fid,
                           progress=progress, antialias=antialias)
    rows.append({"method": "Bicubic", **summary})
    per_image["Bicubic"] = df
    for label, model in models.items():
        source = "guide" if model.test_time_source == "hr" else "lr"   # DeepSEE.test_time_style's choice
        if source == "guide" and guided_test is None:
            raise ValueError(f"model {label!r} reads its style from another HR image: pass guided_test")
        ds = test if source == "lr" else guided_test
        df, summary = evaluate(model, ds, device=device, max_images=max_images, perceptual=perceptual, fid=fid,
                               style_source=source, bicubic=False, progress=progress, consistent=consistent,
                               antialias=antialias)
        w = {"weights": weights[label]} if weights and label in weights else {}
        rows.append({"method": f"ours ({label})", **w, **summary})
        if consistent:
            proj = summary["methods"][f"{summary['evaluated']} consistent"]
            rows.append({"method": f"ours ({label}, consistent)", **w, **summary,
                         **{k: proj[k] for k in ("psnr", "ssim", "lpips", "fid", "lr_psnr", "lr_psnr_worst")},
                         "note": summary["note"] + "; outputs projected onto the images consistent with the LR "
                                                   "input (deepsee.data.degradation.project_consistent)"})
        per_image[label] = df
    return rows, per_image


def explorative_tables(model, items: Sequence[dict], perceptual=None, *, k: int = 16, scale: float = 0.1,
                       leak_classes: Sequence[str] = ("skin", "l_eye", "l_brow", "u_lip", "hair"),
                       leak_delta: float = 0.3, seed: int = 0, device="cpu") -> tuple[pd.DataFrame, pd.DataFrame]:
    """(diversity, leakage) of ``model`` on ``items``.

    Diversity: ``K = k`` styles sampled around the predicted style (Gaussian, ``scale``, seed
    ``seed + i`` for item ``i``), the mean pairwise L1 and perceptual distance of the solutions,
    overall and per region (:func:`deepsee.metrics.explorative.diversity`). Leakage: each class of
    ``leak_classes`` present in the mask gets ``+leak_delta`` on its style row; mean change inside
    and outside the region (:func:`deepsee.metrics.explorative.region_leakage`)."""
    ls = of(model)
    unknown = [c for c in leak_classes if c not in ls.index]
    if unknown:
        raise ValueError(f"leak_classes: unknown class {', '.join(unknown)}; expected classes of the model's label set "
                         f"{ls.name!r}: {', '.join(ls.classes)}")
    div_rows, leak_rows = [], []
    for i, item in enumerate(items):
        gen, style = generate_fn(model, item, device), predicted_style(model, item, device).cpu()
        samples = gen(sample_styles(style, k, scale=scale, seed=seed + i, labels=ls))
        div_rows.append({"image": item.get("name", str(i)), **diversity(samples, item["mask"], perceptual, labels=ls)})
        present = {int(c) for c in torch.unique(item["mask"])}
        classes = [ls.index[c] for c in leak_classes if ls.index[c] in present] or sorted(present)[:5]
        lk = region_leakage(gen, style, item["mask"], classes=classes, delta=leak_delta, labels=ls)
        lk.insert(0, "image", item.get("name", str(i)))
        leak_rows.append(lk)
    return pd.DataFrame(div_rows), pd.concat(leak_rows, ignore_index=True)
