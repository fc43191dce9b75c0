"""Predicted segmentation masks from LR images (supplementary Section 1.4): DeepSEE trains and tests
its SR models on masks the segmenter predicts from the LR input, not on ground truth.

- :func:`predict_masks`: LR batch -> label maps ``[B, H, W]``.
- :func:`predict_mask_folder`: a folder of images (one's own photos: :func:`deepsee.data.photos.load_photo`)
  -> label PNGs (mode ``L``, values 0..18) by stem.
- :func:`predict_dataset_masks`: every split of a dataset -> label PNGs named by the items' ``name``;
  point ``data.mask_dir`` at the folder to train/test SR models on predicted masks.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor, nn
from tqdm.auto import tqdm

from ..config import resolve_device
from ..data import build_dataset
from ..data.common import lr_from_hr, to_tensor_image
from ..data.photos import list_photos, load_photo, resize_square, stderr_log
from ..runs import atomic_path, metadata, write_json
from .train import load_segmenter


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


def image_to_lr(rgb: np.ndarray, *, lr_size: int, hr_size: int, antialias: bool = False) -> Tensor:
    """uint8 ``[H, W, 3]`` -> LR image ``[3, lr_size, lr_size]`` in [-1, 1], made like the datasets:
    centre-crop to a square (:func:`~deepsee.data.photos.load_photo` has done that already, and said so),
    bicubic resize to ``hr_size`` (PIL), then ``lr_from_hr`` (F.interpolate bicubic, no antialias by
    default, clamped). An image already ``lr_size`` square is used as is."""
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
    ``images_dir`` (regular, non-hidden files; subfolders are not read). Each file is read by
    :func:`~deepsee.data.photos.load_photo`: EXIF orientation applied, grayscale / RGBA / other modes
    converted to RGB (RGBA over white), non-square images centre-cropped, each logged with the file
    name. Images ``lr_size`` square are taken as LR inputs; others are made LR like the datasets
    (:func:`image_to_lr`). A file that is not a readable image raises ``ValueError`` naming it.
    Returns the written paths."""
    out_dir = Path(out_dir)
    files = list_photos(images_dir)
    lrs = [image_to_lr(load_photo(p).rgb, lr_size=lr_size, hr_size=hr_size, antialias=antialias) for p in files]
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
    out_dir = Path(out_dir)
    gt_cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, mask_dir=""))  # only lr and name are read
    device = resolve_device(cfg.device)
    model = load_segmenter(run_dir, device=device)
    counts = {}
    for split in splits:
        ds = build_dataset(gt_cfg, split, train=False, masks=False)
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


def photo_item(path: str | Path, segmenter, hr_size: int, lr_size: int, *,
               seg_sizes: tuple[int, int] | None = None, device="cpu",
               log: Callable[[str], None] | None = stderr_log) -> dict:
    """A photo of a face as a dataset-like item, treated as a high-resolution image: read by
    :func:`deepsee.data.photos.load_photo` (upright, RGB, centre-cropped to a square; ``log`` gets its notes), ``hr`` the photo
    at ``hr_size`` (``resize_square``), ``lr`` made from it with the datasets' operator
    (``deepsee.data.lr_from_hr``), ``mask`` predicted by ``segmenter`` from the photo made LR at
    ``seg_sizes = (its input side, its output side)`` (default ``(lr_size, hr_size)``: from ``lr``), then
    resized (nearest) to ``hr_size``; ``name`` (the file stem) and ``notes``. Tensors unbatched, on the
    CPU, images in [-1, 1]."""
    photo = load_photo(path, log=log)
    hr = to_tensor_image(resize_square(photo.rgb, hr_size))[None]
    lr = lr_from_hr(hr, lr_size)
    seg_lr, seg_out = seg_sizes or (lr_size, hr_size)
    with torch.inference_mode():
        mask = predict_masks(segmenter, lr_from_hr(hr, seg_lr).to(device), seg_out).cpu()
        if seg_out != hr_size:
            mask = F.interpolate(mask[:, None].float(), size=(hr_size, hr_size), mode="nearest")[:, 0].long()
    return {"hr": hr[0], "lr": lr[0], "mask": mask[0], "name": Path(path).stem, "notes": list(photo.notes)}
