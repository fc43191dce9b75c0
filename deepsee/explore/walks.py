"""Walks, samples and per-region offsets in the style space (supplementary Sections 3.1, 3.3, 3.4).

- :func:`style_walk`: Figs. 3 and 4 (the whole style matrix, delta = 0.15, five images, the middle
  one unchanged) and Fig. 10 (only the rows of one region); its offsets are :func:`walk_offsets`.
- :func:`sample_styles` / :func:`sample_styles_chunk`: Figs. 5-7 (1,000 solutions per image by
  adding scaled noise to the style matrix). Sample ``i`` depends only on ``(seed, i)``, so any
  chunking of the sequence reproduces the same samples.
- :func:`region_offset`: a per-region slider.

Style matrices are float ``[N, d]`` or ``[1, N, d]`` in [-1, 1] (DEVELOPING.md), one row per class of the
model's label set (``labels``: N = 19 for faces, 8 for outdoor scenes); class and region names are that set's.
Results are clamped to [-1, 1] as during training noise injection.
"""
from __future__ import annotations

import torch

from ..labels import FACES, LabelSet, label_set
from .edits import class_indices

__all__ = ["style_walk", "walk_offsets", "sample_styles", "sample_styles_chunk", "region_offset", "sample_seed"]

NOISES = ("gaussian", "uniform")
_MASK64 = (1 << 64) - 1


def _labels(labels, n_rows: int) -> LabelSet | None:
    """The label set of a style with ``n_rows`` rows: ``labels`` when given (its class count must match), else
    the face set for 19 rows, else None (class ids work, names need ``labels``)."""
    if labels is not None:
        return label_set(labels)
    return FACES if n_rows == FACES.num_classes else None


def _style(style, name: str = "style", allow_batch: bool = False, labels=None) -> tuple[torch.Tensor, bool]:
    """Validate a style matrix (one row per class of ``labels`` when given); returns ``([B, N, d] float
    tensor, had_batch_dim)``."""
    if not isinstance(style, torch.Tensor):
        raise TypeError(f"{name} must be a torch tensor [19, d] or [1, 19, d], got {type(style).__name__}")
    if not style.dtype.is_floating_point:
        raise TypeError(f"{name} must be a float tensor, got {style.dtype}")
    if style.dim() == 2:
        s, batched = style[None], False
    elif style.dim() == 3:
        s, batched = style, True
        if s.shape[0] != 1 and not allow_batch:
            raise ValueError(f"{name} must hold one style matrix ([19, d] or [1, 19, d]), got {tuple(style.shape)}")
    else:
        raise ValueError(f"{name} must have shape [19, d] or [1, 19, d], got {tuple(style.shape)}")
    ls = _labels(labels, s.shape[1])
    if ls is not None and s.shape[1] != ls.num_classes:
        raise ValueError(f"{name} must have {ls.num_classes} rows (one per class of label set {ls.name!r}), "
                         f"got shape {tuple(style.shape)}")
    return s, batched


def _row_mask(classes, like: torch.Tensor, labels=None) -> torch.Tensor:
    """[N, 1] float: 1 for the rows that change (all rows when ``classes`` is None)."""
    n_classes = like.shape[1]
    rows = torch.zeros(n_classes, 1, dtype=like.dtype, device=like.device)
    if classes is None:
        rows[:] = 1.0
        return rows
    ls = _labels(labels, n_classes)
    if ls is None:
        ids = [classes] if isinstance(classes, int) else list(classes)
        if any(isinstance(c, bool) or not isinstance(c, int) or not 0 <= c < n_classes for c in ids):
            raise ValueError(f"classes={classes!r}: a style of {n_classes} rows takes class ids 0..{n_classes - 1}; "
                             "pass labels= (the model's label set) to name classes or regions")
    else:
        ids = class_indices(classes, labels=ls)
    rows[ids] = 1.0
    return rows


def walk_offsets(delta: float = 0.15, steps: int = 5, like: torch.Tensor | None = None) -> torch.Tensor:
    """The offsets of a walk of ``steps`` points: point ``i`` adds ``(i - (steps - 1) / 2) * delta``
    (five steps: -2 delta .. +2 delta), so the middle one is unchanged. ``[steps]``, of ``like``'s dtype
    and device (float32 on the CPU without it). ``steps`` must be odd."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1 or steps % 2 == 0:
        raise ValueError(f"steps must be an odd positive integer (so that the middle image is the input), "
                         f"got {steps!r}")
    dtype, device = (like.dtype, like.device) if like is not None else (torch.float32, "cpu")
    return (torch.arange(steps, dtype=dtype, device=device) - (steps - 1) / 2) * float(delta)


def style_walk(style, delta: float = 0.15, steps: int = 5, classes=None, labels=None) -> torch.Tensor:
    """A linear walk through the style space centred on ``style``: ``[steps, 19, d]``.

    Image ``i`` adds offset ``i`` of :func:`walk_offsets` to the style, so the middle one is the input
    style. Only the rows of ``classes`` (ids or names, e.g. "hair", "lips") change when given. Results
    are clamped to [-1, 1]. ``steps`` must be odd.
    """
    s, _ = _style(style, labels=labels)
    offsets = walk_offsets(delta, steps, like=s)                                              # [steps]
    walk = s + offsets[:, None, None] * _row_mask(classes, s, labels)[None]                   # [steps, N, d]
    walk = walk.clamp(-1.0, 1.0)
    walk[(steps - 1) // 2] = s[0]   # exactly the input, even if it lay outside [-1, 1]
    return walk


def sample_seed(seed: int, index: int) -> int:
    """The generator seed of sample ``index`` in the stream ``seed`` (SplitMix64 of both)."""
    z = ((int(seed) & _MASK64) * 0x9E3779B97F4A7C15 + (int(index) & _MASK64) + 0x632BE59BD9B4E019) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return (z ^ (z >> 31)) & ((1 << 63) - 1)


def sample_styles_chunk(style, start: int, stop: int, noise: str = "gaussian", scale: float = 0.1,
                        seed: int = 0, classes=None, labels=None) -> torch.Tensor:
    """Rows ``start .. stop - 1`` of the sample sequence of :func:`sample_styles`: ``[stop - start, 19, d]``.

    Sample ``i`` is ``clamp(style + scale * noise_i, -1, 1)`` on the rows of ``classes`` (all rows if
    None), with ``noise_i`` ~ N(0, 1) ("gaussian") or U(-1, 1) ("uniform") drawn for all 19 rows from
    a CPU generator seeded with :func:`sample_seed` ``(seed, i)``; so the result does not depend on how
    the sequence is chunked, nor on the device.
    """
    s, _ = _style(style, labels=labels)
    if noise not in NOISES:
        raise ValueError(f"noise must be one of {NOISES}, got {noise!r}")
    for v, n in ((start, "start"), (stop, "stop")):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ValueError(f"{n} must be a non-negative integer, got {v!r}")
    if stop < start:
        raise ValueError(f"stop ({stop}) must not be smaller than start ({start})")
    scale = float(scale)
    if scale < 0:
        raise ValueError(f"scale must be non-negative, got {scale}")
    shape = tuple(s.shape[1:])
    g = torch.Generator(device="cpu")
    draws = []
    for i in range(start, stop):
        g.manual_seed(sample_seed(seed, i))
        if noise == "gaussian":
            draws.append(torch.randn(shape, generator=g, dtype=torch.float32))
        else:
            draws.append(torch.rand(shape, generator=g, dtype=torch.float32) * 2 - 1)
    if not draws:
        return s.new_empty((0,) + shape)
    eps = torch.stack(draws).to(device=s.device, dtype=s.dtype)                            # [k, 19, d]
    return (s + scale * eps * _row_mask(classes, s, labels)[None]).clamp(-1.0, 1.0)


def sample_styles(style, k: int, noise: str = "gaussian", scale: float = 0.1, seed: int = 0,
                  classes=None, labels=None) -> torch.Tensor:
    """``k`` random styles around ``style`` (Figs. 5-7): ``[k, 19, d]``; see :func:`sample_styles_chunk`."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise ValueError(f"k must be a non-negative integer, got {k!r}")
    return sample_styles_chunk(style, 0, k, noise=noise, scale=scale, seed=seed, classes=classes, labels=labels)


def region_offset(style, classes, offset: float, direction=None, labels=None) -> torch.Tensor:
    """Move the rows of ``classes`` by ``offset * direction`` (a per-region slider, Fig. 10).

    ``style``: ``[19, d]`` or ``[B, 19, d]`` (the result has the same shape). ``direction``: None
    (all ones: the walk direction of Figs. 3/4), a ``[d]`` vector shared by the rows, or ``[19, d]``.
    Clamped to [-1, 1].
    """
    s, batched = _style(style, allow_batch=True, labels=labels)
    n_classes, d = s.shape[1], s.shape[-1]
    if direction is None:
        direc = torch.ones(n_classes, d, dtype=s.dtype, device=s.device)
    else:
        direc = torch.as_tensor(direction, dtype=s.dtype, device=s.device)
        if direc.shape == (d,):
            direc = direc.expand(n_classes, d)
        elif direc.shape != (n_classes, d):
            raise ValueError(f"direction must have shape [{d}] or [{n_classes}, {d}], got {tuple(direc.shape)}")
    out = (s + float(offset) * direc[None] * _row_mask(classes, s, labels)[None]).clamp(-1.0, 1.0)
    return out if batched else out[0]
