"""Colour-coding of label masks with the kit's fixed 19-class palette (deepsee.constants.PALETTE)."""
from __future__ import annotations

import numpy as np

from ..constants import CLASS_LABELS, PALETTE

_PALETTE = np.asarray(PALETTE, dtype=np.uint8)


def colorize(mask) -> np.ndarray:
    """Label map [H, W] (ints 0..18; numpy or torch; or one-hot [19, H, W]) -> RGB uint8 [H, W, 3]."""
    m = mask.detach().cpu().numpy() if hasattr(mask, "detach") else np.asarray(mask)
    if m.ndim == 3 and m.shape[0] == len(PALETTE):
        m = m.argmax(0)
    m = m.astype(np.int64)
    if m.min() < 0 or m.max() >= len(PALETTE):
        raise ValueError(f"mask labels must lie in 0..{len(PALETTE) - 1}, got {m.min()}..{m.max()}")
    return _PALETTE[m]


def to_uint8_image(x) -> np.ndarray:
    """Image tensor/array [3, H, W] in [-1, 1] -> uint8 [H, W, 3]."""
    a = x.detach().float().cpu().numpy() if hasattr(x, "detach") else np.asarray(x, dtype=np.float32)
    if a.ndim == 3 and a.shape[0] == 3:
        a = a.transpose(1, 2, 0)
    return np.clip(np.round((a + 1) * 127.5), 0, 255).astype(np.uint8)


def legend_handles(classes=None):
    """Matplotlib patches for a colour legend of the given class indices (default: all 19)."""
    from matplotlib.patches import Patch
    idx = range(len(PALETTE)) if classes is None else classes
    return [Patch(facecolor=np.asarray(PALETTE[i]) / 255.0, edgecolor="0.5", label=CLASS_LABELS[i])
            for i in idx]
