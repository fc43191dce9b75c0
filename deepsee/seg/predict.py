"""Predicted segmentation masks from LR images (supplementary Section 1.4): DeepSEE trains and tests
its SR models on masks the segmenter predicts from the LR input, not on ground truth.

- :func:`predict_masks`: LR batch -> label maps ``[B, H, W]``.
- :func:`predict_mask_folder`: a folder of images -> label PNGs (mode ``L``, values 0..18) by stem.
- :func:`predict_dataset_masks`: every split of a dataset -> label PNGs named by the items' ``name``;
  point ``data.mask_dir`` at the folder to train/test SR models on predicted masks.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch import Tensor, nn
from tqdm.auto import tqdm

from ..runs import atomic_path, metadata, write_json


@torch.no_grad()
def predict_masks(segmenter: nn.Module, lr_batch: Tensor, out_size: int | tuple[int, int]) -> Tensor:
    """Label maps int64 ``[B, H, W]`` (argmax of the logits) of LR images ``[B, 3, h, w]`` in [-1, 1].

    Runs in eval mode (the module's mode is restored afterwards) on the segmenter's device; the
    result is on the same device as ``lr_batch``.
    """
    was_training = segmenter.training
    segmenter.eval()
    try:
        dev = next(segmenter.parameters()).device
        logits = segmenter(lr_batch.to(dev), out_size)   # [B, 19, H, W]
    finally:
        segmenter.train(was_training)
    return logits.argmax(1).to(lr_batch.device)


def read_rgb(path: Path) -> np.ndarray:
    """An RGB image file -> uint8 ``[H, W, 3]``; a clear error for non-images and other channel counts."""
    try:
        with Image.open(path) as im:
            im.load()
            bands = im.getbands()
            if im.mode != "RGB":
                raise ValueError(f"{path}: expected a 3-channel RGB image, got mode {im.mode!r} with "
                                 f"{len(bands)} channel(s) ({''.join(bands)})")
            return np.asarray(im)
    except UnidentifiedImageError as e:
        raise ValueError(f"{path}: not an image file PIL can read") from e


def image_to_lr(rgb: np.ndarray, *, lr_size: int, hr_size: int, antialias: bool = False) -> Tensor:
    """uint8 ``[H, W, 3]`` -> LR image ``[3, lr_size, lr_size]`` in [-1, 1], made like the datasets:
    centre-crop to a square, bicubic resize to ``hr_size`` (PIL), then ``lr_from_hr`` (F.interpolate
    bicubic, no antialias by default, clamped). An image already ``lr_size`` square is used as is."""
    from ..data import lr_from_hr
    h, w = rgb.shape[:2]
    s = min(h, w)
    if h != w:
        top, left = (h - s) // 2, (w - s) // 2
        rgb = rgb[top:top + s, left:left + s]
    if s == lr_size:
        return torch.from_numpy(rgb.copy()).permute(2, 0, 1).float() / 127.5 - 1
    if s != hr_size:
        rgb = np.asarray(Image.fromarray(rgb).resize((hr_size, hr_size), Image.BICUBIC))
    hr = torch.from_numpy(rgb.copy()).permute(2, 0, 1).float() / 127.5 - 1   # [3, H, W]
    return lr_from_hr(hr.unsqueeze(0), lr_size, antialias=antialias)[0]


def write_label_png(path: Path, mask: Tensor | np.ndarray) -> None:
    """Label map ``[H, W]`` (0..255) -> 8-bit greyscale PNG (mode ``L``), written atomically."""
    m = mask.cpu().numpy() if isinstance(mask, Tensor) else np.asarray(mask)
    if m.ndim != 2 or m.min() < 0 or m.max() > 255:
        raise ValueError(f"label map must be [H, W] with values 0..255, got shape {m.shape}")
    with atomic_path(path) as tmp:
        Image.fromarray(m.astype(np.uint8), mode="L").save(tmp, format="PNG")


def predict_mask_folder(run_dir: str | Path, images_dir: str | Path, out_dir: str | Path, *, lr_size: int = 16,
                        hr_size: int = 128, batch_size: int = 32, device: str = "cpu",
                        antialias: bool = False) -> list[Path]:
    """Predict a label PNG ``<out_dir>/<stem>.png`` (mode L, ``hr_size`` square) for every image in
    ``images_dir`` (regular, non-hidden files; subfolders are not read). Images ``lr_size`` square
    are taken as LR inputs; others are made LR like the datasets (:func:`image_to_lr`). A file that
    is not an image, or not 3-channel, raises ``ValueError`` naming it. Returns the written paths."""
    from .train import load_segmenter
    images_dir, out_dir = Path(images_dir), Path(out_dir)
    if not images_dir.is_dir():
        raise FileNotFoundError(f"images folder {images_dir} not found")
    files = sorted(p for p in images_dir.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise FileNotFoundError(f"{images_dir} contains no files")
    stems: dict[str, Path] = {}
    for p in files:
        if p.stem in stems:
            raise ValueError(f"{p} and {stems[p.stem]} have the same stem; their masks would overwrite each other")
        stems[p.stem] = p
    lrs = [image_to_lr(read_rgb(p), lr_size=lr_size, hr_size=hr_size, antialias=antialias) for p in files]
    model = load_segmenter(run_dir, device=device)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with tqdm(total=len(files), desc="predict masks", unit="img") as bar:
        for i in range(0, len(files), batch_size):
            masks = predict_masks(model, torch.stack(lrs[i:i + batch_size]), hr_size)   # [b, H, W]
            for p, m in zip(files[i:i + batch_size], masks):
                q = out_dir / f"{p.stem}.png"
                write_label_png(q, m)
                written.append(q)
            bar.update(masks.shape[0])
    return written


def predict_dataset_masks(cfg, run_dir: str | Path, out_dir: str | Path,
                          splits: tuple[str, ...] = ("train", "val", "test"), *, batch_size: int = 32) -> Path:
    """Write the segmenter's masks for every item of ``splits`` as ``<out_dir>/<name>.png`` (label PNGs
    at ``cfg.data.hr_size``) plus ``predicted_masks.json`` (segmenter run, counts); returns ``out_dir``.
    Use as ``data.mask_dir`` for SR training on predicted masks."""
    from ..config import resolve_device
    from .train import _build_dataset, load_segmenter
    out_dir = Path(out_dir)
    gt_cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, mask_dir=""))  # only lr and name are read
    device = resolve_device(cfg.device)
    model = load_segmenter(run_dir, device=device)
    counts = {}
    for split in splits:
        ds = _build_dataset(gt_cfg, split, train=False, masks=False)
        loader = torch.utils.data.DataLoader(ds, batch_size=batch_size, num_workers=cfg.data.num_workers)
        n = 0
        for batch in tqdm(loader, desc=f"predict masks ({split})", unit="batch"):
            masks = predict_masks(model, batch["lr"], cfg.data.hr_size)   # [B, H, W]
            for name, m in zip(batch["name"], masks):
                write_label_png(out_dir / f"{name}.png", m)
                n += 1
        counts[split] = n
    write_json(out_dir / "predicted_masks.json",
               metadata(cfg.profile, cfg.seed, segmenter=str(run_dir), counts=counts, dataset=cfg.data.dataset,
                        lr_size=cfg.data.lr_size, mask_size=cfg.data.hr_size))
    return out_dir
