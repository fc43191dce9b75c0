"""Sample grids written during training: one row per image of a fixed batch, columns
LR input (nearest-upsampled), mask (kit palette), output, ground truth.

Samples use the test-time style input (independent / LR-style-only: LR encoder on the LR image;
guided: HR encoder on the guiding image; HR-style-only: HR encoder on the HR image; prior-only /
semantics-only: none), eval mode (no noise) and a forked random state, so writing them never
changes the course of training.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import default_collate

from ..runs import atomic_path
from ..viz import colorize, to_uint8_image
from .data import SeededItems


def fixed_batch(dataset, n: int, seed: int = 0) -> dict:
    """The first ``n`` items of ``dataset`` drawn under fixed seeds, collated (the caller's RNG is untouched)."""
    n = min(n, len(dataset))
    if n < 1:
        raise ValueError("the sample dataset is empty")
    items = SeededItems(dataset)
    return default_collate([items[(i, seed + i)] for i in range(n)])


def test_style_source(sources: tuple[str, ...]) -> str | None:
    if not sources:
        return None
    return "lr" if "lr" in sources else sources[0]


@torch.no_grad()
def render_outputs(generate, batch: dict, sources: tuple[str, ...], guided: bool) -> torch.Tensor:
    """Outputs ``[B, 3, H, W]`` of ``generate`` (a :class:`~deepsee.train.step.Generate`) for ``batch``."""
    model = generate.model
    was_training = model.training
    devices = list(range(torch.cuda.device_count())) if batch["lr"].is_cuda else []
    model.eval()
    try:
        with torch.random.fork_rng(devices=devices):
            source = test_style_source(sources)
            if source is None:
                simg = smask = None
            elif guided:
                simg, smask = batch["guide_hr"], batch["guide_mask"]
            else:
                simg, smask = batch[source], batch["mask"]
            return generate(batch["lr"], batch["mask"], simg, smask, source, False).float()
    finally:
        model.train(was_training)


def grid_image(lr: torch.Tensor, mask: torch.Tensor, output: torch.Tensor, hr: torch.Tensor,
               pad: int = 2, labels=None) -> np.ndarray:
    """uint8 ``[rows * (H + pad), 4 * (W + pad), 3]``: LR | mask (palette of ``labels``) | output | ground truth
    per row."""
    size = hr.shape[-2:]
    lr_up = F.interpolate(lr.float().cpu(), size=size, mode="nearest")
    rows = []
    for i in range(hr.shape[0]):
        tiles = [to_uint8_image(lr_up[i]), colorize(mask[i].cpu(), labels), to_uint8_image(output[i].cpu()),
                 to_uint8_image(hr[i].cpu())]
        tiles = [np.pad(t, ((0, pad), (0, pad), (0, 0)), constant_values=255) for t in tiles]
        rows.append(np.concatenate(tiles, axis=1))
    return np.concatenate(rows, axis=0)


def save_png(image: np.ndarray, path: str | Path) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        Image.fromarray(image).save(tmp, format="PNG")
    return path
