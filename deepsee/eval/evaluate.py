"""Test-set evaluation of a DeepSEE model and of bicubic upsampling (supplementary Sec. 2.3, Tables 6-7).

Every method is scored on the same images against the HR ground truth with PSNR, SSIM, a
perceptual distance (LPIPS, or the labelled substitute) and optionally FID; see
:func:`deepsee.metrics.metric_settings` for the exact protocol.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor
from tqdm.auto import tqdm

from ..data.degradation import bicubic_upsample, project_consistent  # noqa: F401  (deepsee.eval.bicubic_upsample)
from ..metrics import psnr, ssim
from ..metrics.consistency import lr_psnr, summarize_lr_psnr
from ..metrics.fid import build_inception, feature_statistics, fid_from_stats, inception_features
from ..metrics.settings import metric_settings

BICUBIC = "Bicubic"


def model_label(model) -> str:
    """"ours (<variant>)" from the model's config when it has one, else "model"."""
    cfg = getattr(model, "cfg", None) or getattr(model, "config", None)
    variant = getattr(cfg, "variant", None)
    return f"ours ({variant})" if variant else "model"


def _collate(items: list[dict]) -> dict:
    out: dict[str, Any] = {}
    for k in items[0]:
        vals = [it[k] for it in items]
        out[k] = torch.stack(vals) if isinstance(vals[0], Tensor) else vals
    return out


@torch.no_grad()
def evaluate(model, dataset, *, device: str | torch.device = "cpu", batch_size: int = 4,
             max_images: int | None = 0, perceptual=None, fid: bool = False, style_source: str = "lr",
             label: str | None = None, bicubic: bool = True, fid_model=None,
             fid_reference: tuple[np.ndarray, np.ndarray] | None = None,
             progress: bool = True, consistent: bool = False, antialias: bool = False) -> tuple[pd.DataFrame, dict]:
    """Score a model (and the bicubic baseline) on the first ``max_images`` items of ``dataset``.

    Args:
        model: a DeepSEE model (``encode_style(image, mask, source)``, ``model(lr, mask, style)``),
            or None to evaluate bicubic upsampling only.
        dataset: items ``hr [3,H,W]``, ``lr [3,h,w]``, ``mask [H,W]`` int64, ``name``, ``identity``;
            with ``style_source="guide"`` also ``guide_hr``, ``guide_mask`` (another image of the
            person, ``build_dataset(..., guided=True)``).
        max_images: 0 or None for the whole dataset.
        perceptual: a metric from :func:`deepsee.metrics.perceptual_metric` (``name``, ``key``,
            ``__call__``), or None to skip it.
        fid: compute FID of each method's outputs against the ground truth of the same images
            (``fid_model`` overrides the FID Inception network, e.g. a stand-in in tests;
            ``fid_reference`` = cached ``(mu, sigma)`` of the ground truth).
        style_source: "lr" (style from the LR input, independent model) or "guide" (style from the
            guiding HR image, guided / hr_style_only models). Models without style encoders
            (``style_sources == ()``) get ``style=None``.
        bicubic: with a model, also score bicubic upsampling (per-image rows and ``summary["methods"]``).
        consistent: with a model, also score its outputs projected onto the images consistent with the
            input (:func:`deepsee.data.degradation.project_consistent`), as the method ``"<label> consistent"``.
        antialias: the degradation of the dataset's LR images (``data.antialias``): LR-PSNR and the projection
            downscale with it.

    Every method gets an LR-PSNR column (:func:`deepsee.metrics.consistency.lr_psnr`: its output downscaled
    with the dataset's degradation against the LR input); the means carry ``lr_psnr`` and ``lr_psnr_worst``.

    Returns ``(per_image, summary)``. ``per_image``: one row per method and image with columns
    ``method, name, identity, psnr, ssim`` and the perceptual metric's ``key`` (``lpips`` or
    ``segfeatdist``). ``summary``: the evaluated method's means as a table row (``psnr, ssim,
    lpips`` (filled by whichever perceptual metric ran), ``fid, perceptual_metric, split_size, note``),
    plus ``evaluated`` (its label), ``n_images``, ``style_source``, ``methods`` (means of every
    method) and ``metric_settings``.
    """
    if style_source not in ("lr", "guide"):
        raise ValueError(f"style_source must be 'lr' or 'guide', got {style_source!r}")
    n_total = len(dataset)
    n = n_total if not max_images else min(int(max_images), n_total)
    if n == 0:
        raise ValueError("the dataset is empty")
    device = torch.device(device)
    main = BICUBIC if model is None else (label or model_label(model))
    methods = ([BICUBIC] if (model is None or bicubic) else []) + ([main] if model is not None else [])
    projected = f"{main} consistent" if (consistent and model is not None) else None
    methods += [projected] if projected else []
    use_style = True
    if model is not None:
        model = model.to(device).eval()
        sources = tuple(getattr(model, "style_sources", ("lr", "hr")))
        use_style = bool(sources)          # prior_only / semantics_only take no style
        need = "lr" if style_source == "lr" else "hr"
        if use_style and need not in sources:
            raise ValueError(f"{main} has no {need.upper()} style encoder (style sources {sources}); "
                             f"use style_source={'guide' if need == 'lr' else 'lr'!r}")
    if fid and fid_model is None:
        fid_model = build_inception(device)   # raises MissingWeightsError before any work
    pkey = getattr(perceptual, "key", "perceptual") if perceptual is not None else None

    rows: list[dict] = []
    feats: dict[str, list[np.ndarray]] = {m: [] for m in methods + ["__gt__"]}
    for start in tqdm(range(0, n, batch_size), desc=f"evaluate {main}", disable=not progress):
        batch = _collate([dataset[i] for i in range(start, min(start + batch_size, n))])
        hr, lr, mask = batch["hr"].to(device), batch["lr"].to(device), batch["mask"].to(device)
        outs: dict[str, Tensor] = {}
        if BICUBIC in methods:
            outs[BICUBIC] = bicubic_upsample(lr, hr.shape[-2:])
        if model is not None:
            if not use_style:
                style = None
            elif style_source == "lr":
                style = model.encode_style(lr, mask, "lr")                              # [B, 19, d]
            else:
                if "guide_hr" not in batch:
                    raise KeyError("style_source='guide' needs dataset items with guide_hr/guide_mask "
                                   "(build_dataset(cfg, split, guided=True))")
                style = model.encode_style(batch["guide_hr"].to(device), batch["guide_mask"].to(device), "hr")
            outs[main] = model(lr, mask, style).float().clamp(-1, 1)                    # [B, 3, H, W]
            if projected:
                outs[projected] = project_consistent(outs[main], lr, antialias)
        for m, out in outs.items():
            if out.shape != hr.shape:
                raise ValueError(f"{m} produced {tuple(out.shape)}, ground truth is {tuple(hr.shape)}")
            cols = {"psnr": psnr(out, hr), "ssim": ssim(out, hr), "lr_psnr": lr_psnr(out, lr, antialias)}
            if perceptual is not None:
                cols[pkey] = perceptual(out, hr).double().cpu().numpy()
            for j in range(out.shape[0]):
                rows.append({"method": m, "name": batch["name"][j], "identity": int(batch["identity"][j]),
                             **{k: float(v[j]) for k, v in cols.items()}})
        if fid:
            for m, out in outs.items():
                feats[m].append(inception_features(out, fid_model, device=device))
            if fid_reference is None:
                feats["__gt__"].append(inception_features(hr, fid_model, device=device))

    per_image = pd.DataFrame(rows)
    fids: dict[str, float | None] = {m: None for m in methods}
    if fid:
        ref = fid_reference if fid_reference is not None else feature_statistics(np.concatenate(feats["__gt__"]))
        for m in methods:
            fids[m] = fid_from_stats(*feature_statistics(np.concatenate(feats[m])), *ref)

    means = {}
    for m in methods:
        d = per_image[per_image["method"] == m]
        means[m] = {"psnr": float(d["psnr"].mean()), "ssim": float(d["ssim"].mean()),
                    "lpips": float(d[pkey].mean()) if pkey else None, "fid": fids[m], "n": int(len(d)),
                    **summarize_lr_psnr(d["lr_psnr"])}
    split = getattr(dataset, "split", "")
    pname = getattr(perceptual, "name", None) if perceptual is not None else None
    summary = {
        **{k: means[main][k] for k in ("psnr", "ssim", "lpips", "fid", "lr_psnr", "lr_psnr_worst")},
        "perceptual_metric": pname or "unavailable: not requested",
        "split_size": f"{split} {n}".strip(),
        "note": (f"{n} of {n_total} images; style from {style_source}" if model is not None
                 else f"{n} of {n_total} images")
                + (f"; FID on {n} images (biased upwards for small sets)" if fid else "; FID not computed"),
        "evaluated": main, "n_images": n,
        "style_source": None if model is None else (style_source if use_style else "none"),
        "methods": means, "metric_settings": metric_settings(),
    }
    return per_image, summary
