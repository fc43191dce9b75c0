"""Sample grids for eyeballing a dataset: SynthFaces / CelebAMask-HQ faces (:func:`sample_grid`, a figure) and
SynthScenes / ADE20K scenes (:func:`scene_sample_grid`, a uint8 array), read from a folder as stored or through
:func:`deepsee.data.build_dataset` as the models see them. Apart from the drawing modules, so that they import the
loaders one way (build -> synthfaces / synthscenes, not back)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from ..runs import save_figure
from ..viz import sample_grid_figure
from .ade20k import records
from .build import build_dataset
from .celebamaskhq import IMAGES, merge_parts, part_files, read_mapping
from .common import image_size, load_hr, load_mask
from .synthscenes import colorize


def sample_grid(root_or_cfg, n: int = 16, out_stem: str | os.PathLike | None = None, *, cols: int = 8):
    """A figure of ``n`` images over their colour-coded masks, with a legend of the classes shown
    (drawn by :func:`deepsee.viz.figures.sample_grid_figure`).

    ``root_or_cfg``: a folder in the CelebAMask-HQ layout (the files as written, masks merged), or a
    Config (its train split as the models see it: ``hr`` and ``mask`` at ``data.hr_size``). With
    ``out_stem`` the figure is also saved (PNG, PDF and metadata; :func:`deepsee.runs.save_figure`).
    """
    if isinstance(root_or_cfg, (str, os.PathLike)):
        root = Path(root_or_cfg)
        rows = read_mapping(root)[:n]
        parts = part_files(root)
        images = [np.asarray(Image.open(root / IMAGES / f"{i}.jpg").convert("RGB")) for i, _, _ in rows]
        masks = [merge_parts(parts[i]) for i, _, _ in rows]
        title = f"{root.name}: the first {len(images)} images and masks as stored"
        profile, seed = "", None
    else:
        cfg = root_or_cfg
        ds = build_dataset(cfg, "train", train=False, masks=True)
        items = [ds[i] for i in range(min(n, len(ds)))]
        images, masks = [it["hr"] for it in items], [it["mask"] for it in items]
        title = f"{cfg.data.dataset} train split at {cfg.data.hr_size}px ({cfg.profile} profile)"
        profile, seed = cfg.profile, cfg.seed
    fig = sample_grid_figure(images, masks, n_cols=cols, title=title)
    if out_stem is not None:
        save_figure(fig, out_stem, profile=profile, seed=seed, images=len(images))
    return fig


def scene_sample_grid(root_or_cfg, n: int = 8, out: str | os.PathLike | None = None, *, cols: int = 8) -> np.ndarray:
    """For eyeballing: ``n`` scenes over their colour-coded masks (OUTDOOR palette), a uint8 RGB grid
    (rows of ``cols`` images, each above its mask, 2 px gaps), saved as a PNG when ``out`` is given.

    ``root_or_cfg``: a SynthScenes (or ADE20K) folder -- its first ``n`` training scenes, read through the
    ADE20K loader (labels mapped to the outdoor classes; centre squares at the smallest side, at most
    256 px) -- or a Config (its train split as the models
    see it, at ``data.hr_size``).
    """
    if isinstance(root_or_cfg, (str, os.PathLike)):
        recs = records(root_or_cfg, "train", progress=False)[:n]
        side = min([256] + [min(image_size(r.image)) for r in recs])
        images, masks = [], []
        for r in recs:                      # centre square, as the models see it (at most 256 px)
            hr, wh = load_hr(r.image, side)
            images.append(((hr.permute(1, 2, 0).numpy() + 1) * 127.5 + 0.5).clip(0, 255).astype(np.uint8))
            masks.append(load_mask(r.mask, side, wh).numpy())
    else:
        ds = build_dataset(root_or_cfg, "train", train=False, masks=True, progress=False)
        items = [ds[i] for i in range(min(n, len(ds)))]
        images = [((it["hr"].permute(1, 2, 0).numpy() + 1) * 127.5 + 0.5).clip(0, 255).astype(np.uint8)
                  for it in items]
        masks = [it["mask"].numpy() for it in items]
    if not images:
        raise ValueError("scene_sample_grid: no images to show")
    s = images[0].shape[0]
    cols = max(1, min(cols, len(images)))
    rows = -(-len(images) // cols)
    gap = 2
    grid = np.full((rows * (2 * s + gap) + (rows - 1) * 2 * gap, cols * (s + gap) - gap, 3), 255, np.uint8)
    for i, (im, m) in enumerate(zip(images, masks)):
        r, c = divmod(i, cols)
        y, x = r * (2 * s + 3 * gap), c * (s + gap)
        grid[y:y + s, x:x + s] = im[:s, :s]
        grid[y + s + gap:y + 2 * s + gap, x:x + s] = colorize(m)[:s, :s]
    if out is not None:
        Image.fromarray(grid).save(out)
    return grid
