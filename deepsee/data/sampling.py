"""Which items of a split a figure or a table shows: seeded draws, reproducible on every machine."""
from __future__ import annotations

import numpy as np
from deepsee.labels import label_set


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


def pick_item(items, showing=(), absent=(), min_pixels: int = 16, avoid=(), fallback: int = 0, labels=None) -> dict:
    """The first of ``items`` whose mask shows every class or region in ``showing`` (at least
    ``min_pixels`` pixels each) and none of ``absent``, skipping the items in ``avoid`` (compared by
    identity). A figure row that edits the glasses thus gets a face that wears some. With no such item,
    ``items[fallback]``: the figure still renders, and the edit may do nothing there. Names are those of the
    label set ``labels`` (faces by default)."""
    ls = label_set(labels)

    def pixels(mask, name):
        if name not in ls.regions and name not in ls.index:
            raise ValueError(f"unknown class or region {name!r}; expected one of "
                             f"{sorted(set(ls.index) | set(ls.regions))}")
        return int(ls.region_pixels(mask, name).sum())

    showing, absent = ([x] if isinstance(x, str) else list(x) for x in (showing, absent))
    if not items:
        raise ValueError("no items to pick from")
    skip = {id(x) for x in avoid}
    for it in items:
        if id(it) in skip:
            continue
        m = it["mask"]
        if all(pixels(m, s) >= min_pixels for s in showing) and not any(pixels(m, a) for a in absent):
            return it
    return items[fallback % len(items)]
