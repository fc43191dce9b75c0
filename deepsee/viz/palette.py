"""Colour-coding of label masks with a label set's fixed palette (deepsee.labels; faces by default)."""
from __future__ import annotations

import numpy as np
from matplotlib.patches import Patch

from ..labels import FACES, LabelSet, label_set


def colorize(mask, labels: "LabelSet | str | None" = None) -> np.ndarray:
    """Label map [H, W] (ints 0..N-1; numpy or torch; or one-hot [N, H, W]) -> RGB uint8 [H, W, 3], coloured
    with the palette of ``labels`` (a label set or its name; default: the face set's 19 classes)."""
    ls = FACES if labels is None else label_set(labels)
    palette = np.asarray(ls.palette, dtype=np.uint8)
    m = mask.detach().cpu().numpy() if hasattr(mask, "detach") else np.asarray(mask)
    if m.ndim == 3 and m.shape[0] == len(palette):
        m = m.argmax(0)
    m = m.astype(np.int64)
    if m.min() < 0 or m.max() >= len(palette):
        raise ValueError(f"mask labels must lie in 0..{len(palette) - 1} (label set {ls.name!r}), "
                         f"got {m.min()}..{m.max()}")
    return palette[m]


def to_uint8_image(x) -> np.ndarray:
    """Image tensor/array [3, H, W] in [-1, 1] -> uint8 [H, W, 3]."""
    a = x.detach().float().cpu().numpy() if hasattr(x, "detach") else np.asarray(x, dtype=np.float32)
    if a.ndim == 3 and a.shape[0] == 3:
        a = a.transpose(1, 2, 0)
    return np.clip(np.round((a + 1) * 127.5), 0, 255).astype(np.uint8)


def legend_handles(classes=None, labels: "LabelSet | str | None" = None):
    """Matplotlib patches for a colour legend of the given class indices (default: every class of ``labels``,
    the face set by default)."""
    ls = FACES if labels is None else label_set(labels)
    idx = range(ls.num_classes) if classes is None else classes
    return [Patch(facecolor=np.asarray(ls.palette[i]) / 255.0, edgecolor="0.5", label=ls.labels[i])
            for i in idx]
