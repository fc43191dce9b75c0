"""Evaluation of several methods on one test split (Tables 6-7).

:func:`evaluate_methods`: bicubic, then each model with the style it reads at test time (the LR encoder, or the
HR encoder on another image of the person for the guided model). A model's explorative metrics (diversity, the
locality of region walks) are the style-usage protocol's (:mod:`deepsee.eval.style_usage`).
"""
from __future__ import annotations

from typing import Mapping

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
