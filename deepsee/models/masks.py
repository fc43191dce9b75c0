"""Semantic masks as network inputs: label maps or one-hot / soft maps, resized with nearest neighbour.

Every network of the kit takes a mask either as labels (int ``[B, H, W]``, values ``0..N-1``, class
order in ``deepsee.constants``) or as a one-hot / soft map (float ``[B, N, H, W]``). The released
implementation resizes masks with ``F.interpolate(mode="nearest")`` wherever a layer needs another
size (regional average pooling, Eq. 2; every NormBlock, Table 4); :class:`MaskPyramid` does the same
and keeps each size it has made, so the two NormBlocks of a ResBlock resize once.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

Size = int | tuple[int, int]


def _pair(size: Size) -> tuple[int, int]:
    if isinstance(size, int):
        return (size, size)
    h, w = size
    return (int(h), int(w))


def to_onehot(mask: Tensor, num_classes: int = 19, size: Size | None = None) -> Tensor:
    """A mask as a float one-hot / soft map ``[B, N, H, W]``, optionally resized (nearest).

    Args:
        mask:        int labels ``[B, H, W]`` or ``[B, 1, H, W]`` with values in ``0..num_classes-1``,
                     or a float / bool map ``[B, num_classes, H, W]`` (one-hot or soft; passed through).
        num_classes: N, the number of semantic classes.
        size:        output side ``s`` or ``(h, w)``; ``None`` keeps the input size.
    """
    if not isinstance(mask, Tensor):
        raise TypeError(f"mask must be a torch.Tensor, got {type(mask).__name__}")
    if mask.dtype == torch.bool or mask.is_floating_point():
        if mask.ndim != 4 or mask.shape[1] != num_classes:
            raise ValueError(f"a float/bool mask must be one-hot or soft [B, {num_classes}, H, W]; "
                             f"got shape {tuple(mask.shape)} (labels must be an integer tensor [B, H, W])")
        out = mask if mask.is_floating_point() else mask.float()
    else:
        if mask.ndim == 4 and mask.shape[1] == 1:
            mask = mask[:, 0]
        if mask.ndim != 3:
            raise ValueError(f"a label mask must be [B, H, W] (or [B, 1, H, W]); got shape {tuple(mask.shape)}")
        if mask.numel() and mask.device.type != "meta":
            lo, hi = int(mask.min()), int(mask.max())
            if lo < 0 or hi >= num_classes:
                bad = torch.unique(mask[(mask < 0) | (mask >= num_classes)])[:8].tolist()
                raise ValueError(f"mask labels must lie in 0..{num_classes - 1}; found {bad} "
                                 f"(map ignore labels such as 255 to a class before calling)")
        out = F.one_hot(mask.long(), num_classes).permute(0, 3, 1, 2).float()  # [B, N, H, W]
    if size is not None and tuple(out.shape[-2:]) != _pair(size):
        out = F.interpolate(out, size=_pair(size), mode="nearest")
    return out


class MaskPyramid:
    """One mask at every size a network asks for (nearest resizes of the full-size one-hot map).

    Resizing always starts from the full-size map, as in the released code, so a size never depends
    on which size was asked for first.
    """

    def __init__(self, mask: Tensor, num_classes: int = 19):
        self.full = to_onehot(mask, num_classes)            # [B, N, H, W]
        self.num_classes = num_classes
        self._cache: dict[tuple[int, int], Tensor] = {tuple(self.full.shape[-2:]): self.full}

    @classmethod
    def wrap(cls, mask: "Tensor | MaskPyramid", num_classes: int = 19) -> "MaskPyramid":
        return mask if isinstance(mask, MaskPyramid) else cls(mask, num_classes)

    @property
    def size(self) -> tuple[int, int]:
        return tuple(self.full.shape[-2:])

    def at(self, size: Size) -> Tensor:
        """The mask resized to ``size`` (nearest) ``[B, N, h, w]``."""
        key = _pair(size)
        if key not in self._cache:
            self._cache[key] = F.interpolate(self.full, size=key, mode="nearest")
        return self._cache[key]
