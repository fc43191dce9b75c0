"""Which items of a split a figure or a table shows: seeded draws, reproducible on every machine."""
from __future__ import annotations

import numpy as np


def sample_items(dataset, n: int, seed: int = 0) -> list[dict]:
    """``n`` distinct items of ``dataset`` drawn with ``numpy.random.default_rng(seed)``, in index
    order (all of them when the split is smaller). The same (split, n, seed) gives the same items."""
    if n < 1:
        raise ValueError(f"n={n}: draw at least one item")
    if len(dataset) == 0:
        raise ValueError("the dataset is empty: nothing to draw")
    g = np.random.default_rng(seed)
    idx = g.choice(len(dataset), size=min(n, len(dataset)), replace=False)
    return [dataset[int(i)] for i in sorted(idx)]


def spread_items(dataset, n: int) -> list[dict]:
    """``n`` items evenly spread over the split (first and last included): no draw, no seed."""
    if n < 1:
        raise ValueError(f"n={n}: take at least one item")
    idx = np.linspace(0, len(dataset) - 1, min(n, len(dataset))).round().astype(int)
    return [dataset[int(i)] for i in idx]


def choose_item(dataset, index: int = -1, seed: int = 0) -> dict:
    """Item ``index`` of the split, or (``index < 0``) one item drawn with ``seed``."""
    if index >= len(dataset):
        raise ValueError(f"image_index={index}: the split has {len(dataset)} images (0..{len(dataset) - 1})")
    return dataset[int(index)] if index >= 0 else sample_items(dataset, 1, seed)[0]
