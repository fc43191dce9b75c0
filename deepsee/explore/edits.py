"""Semantic mask edits (supplementary Section 3.2, Figs. 8, 9 and 16).

DeepSEE renders whatever label map it is given, so editing the mask edits the face: close the
eyes, open or close the mouth in steps, remove glasses or brows, turn hair into skin, add hair.
Every function here is pure: it takes a label map and returns a new one of the same kind.

Masks are label maps with values 0..18 (``deepsee.constants.CLASSES``): a torch integer tensor
``[H, W]`` or ``[B, H, W]`` or a numpy integer array of the same shapes. The result has the input's
type, shape and (for torch) device; the input is never modified.

Pixels a class gives up ("freed" pixels) are filled either with a given class (``fill=``) or with
the majority label of their neighbourhood: freed pixels are filled from the outside in, each one
taking the most frequent label among its already-known 3x3 neighbours (ties -> lowest class index),
so a removed region is closed by the regions that surround it.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..labels import FACES, LabelSet, label_set

__all__ = ["relabel", "grow", "shrink", "move", "paste", "remove", "close_eyes", "open_mouth",
           "close_mouth", "add_hair", "dilate", "erode", "fill_majority", "class_indices"]

SKIN, EYES, MOUTH, U_LIP, L_LIP, HAIR = 1, (4, 5), 10, 11, 12, 13
# Classes that make up the head (the region hair grows around): everything but background,
# necklace, neck and cloth.
HEAD = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)


# --------------------------------------------------------------------------------------------
# argument handling
# --------------------------------------------------------------------------------------------
def _ls(labels) -> LabelSet:
    return FACES if labels is None else label_set(labels)


def class_indices(classes, name: str = "classes", labels=None) -> list[int]:
    """Class ids from an int, a class name ("hair"), a region name ("lips"), or a sequence of those; names
    and ids of the label set ``labels`` (the face set by default)."""
    ls = _ls(labels)
    if isinstance(classes, (int, np.integer)) and not isinstance(classes, bool):
        items: Iterable = [int(classes)]
    elif isinstance(classes, str):
        items = [classes]
    elif isinstance(classes, Iterable):
        items = list(classes)
    else:
        raise TypeError(f"{name} must be a class id, a class/region name or a sequence of them, got {classes!r}")
    out: list[int] = []
    for c in items:
        if isinstance(c, str):
            if c in ls.regions:
                out.extend(ls.regions[c])
            elif c in ls.index:
                out.append(ls.index[c])
            else:
                raise ValueError(f"{name}: unknown class or region name {c!r}; classes: "
                                 f"{', '.join(ls.classes)}; regions: {', '.join(ls.regions)}")
        elif isinstance(c, (int, np.integer)) and not isinstance(c, bool):
            if not 0 <= int(c) < ls.num_classes:
                raise ValueError(f"{name}: class id {int(c)} out of range 0..{ls.num_classes - 1}")
            out.append(int(c))
        else:
            raise TypeError(f"{name}: expected class ids or names, got {c!r}")
    if not out:
        raise ValueError(f"{name} is empty")
    return sorted(set(out))


def _one_class(c, name: str, labels=None) -> int:
    ids = class_indices(c, name, labels)
    if len(ids) != 1:
        raise ValueError(f"{name} must name a single class, got {c!r} -> {ids}")
    return ids[0]


class _Mask:
    """Converts a user mask to torch int64 [B, H, W] and back to the caller's type and shape."""

    def __init__(self, mask, name: str = "mask", labels=None):
        n_classes = _ls(labels).num_classes
        self.numpy = isinstance(mask, np.ndarray)
        if self.numpy:
            if not np.issubdtype(mask.dtype, np.integer):
                raise TypeError(f"{name} must be an integer label map, got numpy dtype {mask.dtype} "
                                "(one-hot or soft masks: take argmax over the class axis first)")
            self.np_dtype = mask.dtype
            t = torch.from_numpy(np.ascontiguousarray(mask).astype(np.int64))
        elif isinstance(mask, torch.Tensor):
            if mask.dtype.is_floating_point or mask.dtype.is_complex or mask.dtype == torch.bool:
                raise TypeError(f"{name} must be an integer label map, got torch dtype {mask.dtype} "
                                "(one-hot or soft masks: take argmax over the class axis first)")
            t = mask.to(torch.int64)
        else:
            raise TypeError(f"{name} must be a torch tensor or numpy array, got {type(mask).__name__}")
        if t.dim() not in (2, 3):
            raise ValueError(f"{name} must have shape [H, W] or [B, H, W], got {tuple(t.shape)}")
        if t.numel() and (int(t.min()) < 0 or int(t.max()) >= n_classes):
            raise ValueError(f"{name} labels must lie in 0..{n_classes - 1}, "
                             f"got {int(t.min())}..{int(t.max())}")
        self.squeeze = t.dim() == 2
        self.device = t.device
        self.dtype = mask.dtype
        self.t = (t[None] if self.squeeze else t).clone()   # [B, H, W], never aliases the input

    def out(self, t: torch.Tensor):
        t = t[0] if self.squeeze else t
        if self.numpy:
            return t.cpu().numpy().astype(self.np_dtype)
        return t.to(self.dtype)


def _bool_region(region, like: torch.Tensor, squeeze: bool, name: str = "region") -> torch.Tensor:
    r = torch.from_numpy(np.asarray(region)) if isinstance(region, np.ndarray) else region
    if not isinstance(r, torch.Tensor):
        raise TypeError(f"{name} must be a boolean tensor or array, got {type(region).__name__}")
    if r.dtype != torch.bool:
        raise TypeError(f"{name} must be boolean, got dtype {r.dtype}")
    r = r.to(like.device)
    if r.dim() == 2:
        r = r[None].expand_as(like)
    if r.shape != like.shape:
        shape = tuple(like.shape[1:]) if squeeze else tuple(like.shape)
        raise ValueError(f"{name} shape {tuple(region.shape)} does not match the mask shape {shape}")
    return r


def _nonneg_int(v, name: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
        raise ValueError(f"{name} must be a non-negative integer (pixels), got {v!r}")
    return int(v)


# --------------------------------------------------------------------------------------------
# morphology and filling on torch [B, H, W]
# --------------------------------------------------------------------------------------------
def _disc(px: int, device) -> torch.Tensor:
    r = torch.arange(-px, px + 1, device=device, dtype=torch.float32)
    return ((r[:, None] ** 2 + r[None, :] ** 2) <= px * px + 1e-6).float()


def dilate(region: torch.Tensor, px: int) -> torch.Tensor:
    """Binary dilation of a bool map [B, H, W] (or [H, W]) with a disc of radius ``px``."""
    px = _nonneg_int(px, "px")
    if px == 0:
        return region.clone()
    squeeze = region.dim() == 2
    r = region[None] if squeeze else region
    k = _disc(px, r.device)[None, None]
    out = F.conv2d(r[:, None].float(), k, padding=px)[:, 0] > 0.5
    return out[0] if squeeze else out


def erode(region: torch.Tensor, px: int) -> torch.Tensor:
    """Binary erosion with a disc of radius ``px``; the image border does not erode (outside = inside)."""
    return ~dilate(~region, px)


def fill_majority(labels: torch.Tensor, holes: torch.Tensor, allowed: Sequence[int] | None = None) -> torch.Tensor:
    """Fill ``holes`` (bool [B, H, W]) of ``labels`` (int64 [B, H, W]) from the outside in.

    Each pass gives every hole pixel that touches known pixels the majority label among its known
    3x3 neighbours (only ``allowed`` classes count when given; ties -> lowest class id).
    """
    labels = labels.clone()
    holes = holes.clone()
    # classes counted: up to the largest label or allowed id (classes above both never win a pixel)
    n_classes = max(int(labels.max()) + 1 if labels.numel() else 1, max(allowed) + 1 if allowed else 1)
    allowed_mask = torch.zeros(n_classes, dtype=torch.bool, device=labels.device)
    allowed_mask[list(range(n_classes)) if allowed is None else list(allowed)] = True
    ones = torch.ones(n_classes, 1, 3, 3, device=labels.device)
    for b in range(labels.shape[0]):
        lab, hole = labels[b], holes[b]
        if not hole.any():
            continue
        known = ~hole & allowed_mask[lab]
        if not known.any():
            what = "pixels outside the filled area" if allowed is None else f"pixels of classes {list(allowed)}"
            raise ValueError(f"cannot fill by neighbourhood majority: the mask has no {what}; pass fill=<class>")
        while hole.any():
            onehot = F.one_hot(lab, n_classes).permute(2, 0, 1).float() * known.float()  # [N, H, W]
            counts = F.conv2d(onehot[None], ones, padding=1, groups=n_classes)[0]      # [N, H, W]
            total = counts.sum(0)
            ready = hole & (total > 0)
            if not ready.any():  # holes cut off from every allowed pixel
                raise ValueError("cannot fill by neighbourhood majority: some freed pixels do not touch "
                                 "any allowed class; pass fill=<class>")
            best = counts.argmax(0)
            lab[ready] = best[ready]
            hole = hole & ~ready
            known = known | ready
    return labels


def _fill(labels: torch.Tensor, holes: torch.Tensor, fill, name: str = "fill", label_set_=None) -> torch.Tensor:
    ls = _ls(label_set_)
    if fill is None:
        return fill_majority(labels, holes)
    if isinstance(fill, (list, tuple)) or (isinstance(fill, str) and fill in ls.regions and len(ls.regions[fill]) > 1):
        return fill_majority(labels, holes, class_indices(fill, name, ls))
    out = labels.clone()
    out[holes] = _one_class(fill, name, ls)
    return out


def _shift(x: torch.Tensor, dy: int, dx: int, value=0) -> torch.Tensor:
    """Shift [B, H, W] content by (dy, dx) pixels; uncovered pixels get ``value``."""
    _, H, W = x.shape
    out = torch.full_like(x, value)
    ys, yd = (slice(0, max(H - dy, 0)), slice(dy, H)) if dy >= 0 else (slice(-dy, H), slice(0, max(H + dy, 0)))
    xs, xd = (slice(0, max(W - dx, 0)), slice(dx, W)) if dx >= 0 else (slice(-dx, W), slice(0, max(W + dx, 0)))
    if abs(dy) < H and abs(dx) < W:
        out[:, yd, xd] = x[:, ys, xs]
    return out


def _column_squeeze(region: torch.Tensor, frac: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per column, keep the central ``round(n * (1 - frac))`` rows of a region's vertical span of n rows.

    Returns ``(kept, upper_removed)``: the kept pixels and, of the removed ones, those above the
    kept band (the rest lie below). ``frac = 1`` removes everything, ``frac = 0`` nothing.
    """
    B, H, W = region.shape
    rows = torch.arange(H, device=region.device, dtype=torch.float32)[None, :, None].expand(B, H, W)
    big = float(H + 1)
    top = torch.where(region, rows, torch.full_like(rows, big)).amin(1, keepdim=True)     # [B, 1, W]
    bot = torch.where(region, rows, torch.full_like(rows, -big)).amax(1, keepdim=True)
    n = (bot - top + 1).clamp(min=0)
    k = torch.floor(n * (1.0 - frac) + 0.5)                  # rows kept per column
    start = top + torch.floor((n - k) / 2)
    kept = region & (rows >= start) & (rows < start + k)
    upper = region & ~kept & (rows < start)
    return kept, upper


# --------------------------------------------------------------------------------------------
# edits
# --------------------------------------------------------------------------------------------
def relabel(mask, src, dst, region=None, labels=None):
    """Give every pixel of class(es) ``src`` the class ``dst`` (only inside bool ``region`` if given).

    Fig. 9: ``relabel(m, "mouth", "u_lip")`` closes the mouth, ``relabel(m, "hair", "skin")`` removes hair.
    """
    m = _Mask(mask, labels=labels)
    src_ids = class_indices(src, "src", labels)
    dst_id = _one_class(dst, "dst", labels)
    sel = torch.isin(m.t, torch.tensor(src_ids, device=m.t.device))
    if region is not None:
        sel &= _bool_region(region, m.t, m.squeeze)
    out = m.t.clone()
    out[sel] = dst_id
    return m.out(out)


def _class_region(mask, cls, labels=None):
    """``(mask wrapper, class id, bool map of the class)`` for the one-class edits."""
    m = _Mask(mask, labels=labels)
    c = _one_class(cls, "cls", labels)
    return m, c, m.t == c


def grow(mask, cls, px: int, into=None, labels=None):
    """Dilate class ``cls`` by a disc of radius ``px``; it takes over only pixels of ``into`` classes if given."""
    m, c, region = _class_region(mask, cls, labels)
    new = dilate(region, px) & ~region
    if into is not None:
        new &= torch.isin(m.t, torch.tensor(class_indices(into, "into", labels), device=m.t.device))
    out = m.t.clone()
    out[new] = c
    return m.out(out)


def shrink(mask, cls, px: int, fill=None, labels=None):
    """Erode class ``cls`` by a disc of radius ``px``; freed pixels take ``fill`` or the neighbouring majority."""
    m, c, region = _class_region(mask, cls, labels)
    freed = region & ~erode(region, px)
    return m.out(_fill(m.t, freed, fill, label_set_=labels))


def move(mask, cls, dy: int, dx: int, fill=None, labels=None):
    """Shift class ``cls`` by ``(dy, dx)`` pixels (down / right positive); it overwrites what it lands on.

    Pixels it vacates take ``fill`` or the neighbouring majority (never ``cls`` itself); pixels moved
    outside the image are dropped.
    """
    for v, n in ((dy, "dy"), (dx, "dx")):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{n} must be an integer number of pixels, got {v!r}")
    m = _Mask(mask, labels=labels)
    c = _one_class(cls, "cls", labels)
    region = m.t == c
    moved = _shift(region, int(dy), int(dx), False)
    vacated = region & ~moved
    out = m.t.clone()
    out[moved] = c
    if fill is None:
        # Majority among the labels around the vacated pixels, the moved class excluded.
        allowed = [k for k in range(_ls(labels).num_classes) if k != c]
        out = fill_majority(out, vacated, allowed)
    else:
        out = _fill(out, vacated, fill, label_set_=labels)
    return m.out(out)


def paste(mask, other, cls, fill=None, replace: bool = True, labels=None):
    """Copy class ``cls``'s region from ``other`` (same shape) into ``mask``.

    With ``replace=True`` the class ends up exactly where it is in ``other``: its pixels in ``mask``
    that are not in ``other``'s region take ``fill`` or the neighbouring majority. With ``replace=False``
    the region is only added. E.g. re-open closed eyes: ``paste(closed, original, "eyes")``.
    """
    m = _Mask(mask, labels=labels)
    o = _Mask(other, "other", labels)
    if o.t.shape != m.t.shape:
        raise ValueError(f"other has shape {tuple(o.t.shape)}, mask has {tuple(m.t.shape)}")
    o_t = o.t.to(m.t.device)
    ids = torch.tensor(class_indices(cls, "cls", labels), device=m.t.device)
    src = torch.isin(o_t, ids)
    out = m.t.clone()
    if replace:
        stale = torch.isin(out, ids) & ~src
        if stale.any():
            keep = out.clone()
            keep[src] = o_t[src]
            if fill is None:
                allowed = [k for k in range(_ls(labels).num_classes) if k not in ids.tolist()]
                return m.out(fill_majority(keep, stale, allowed))
            return m.out(_fill(keep, stale, fill, label_set_=labels))
    out[src] = o_t[src]
    return m.out(out)


def remove(mask, cls, fill_with=None, labels=None):
    """Remove class(es) ``cls``; their pixels take ``fill_with``.

    ``fill_with``: a class (``"skin"``), a sequence of classes (the neighbouring majority among those
    only, e.g. ``("skin", "l_eye", "r_eye")`` under removed glasses), or None (neighbouring majority
    among all other classes). Fig. 9: remove brows -> ``remove(m, "brows", "skin")``.
    """
    m = _Mask(mask, labels=labels)
    ids = class_indices(cls, "cls", labels)
    holes = torch.isin(m.t, torch.tensor(ids, device=m.t.device))
    if fill_with is None:
        allowed = [k for k in range(_ls(labels).num_classes) if k not in ids]
        return m.out(fill_majority(m.t, holes, allowed))
    return m.out(_fill(m.t, holes, fill_with, "fill_with", labels))


def close_eyes(mask, amount: float = 1.0, fill="skin"):
    """Close both eyes: per column each eye's vertical span shrinks to its central ``1 - amount``.

    ``amount`` in [0, 1] (1 = closed, 0 = unchanged) gives the steps of a smooth transition (Fig. 8);
    freed pixels become ``fill`` (eyelid skin by default; None -> neighbouring majority).
    """
    amount = float(amount)
    if not 0.0 <= amount <= 1.0:
        raise ValueError(f"amount must lie in [0, 1], got {amount}")
    m = _Mask(mask)
    out = m.t.clone()
    freed = torch.zeros_like(out, dtype=torch.bool)
    for c in EYES:
        region = m.t == c
        kept, _ = _column_squeeze(region, amount)
        freed |= region & ~kept
    if fill is None:
        return m.out(fill_majority(out, freed, [k for k in range(FACES.num_classes) if k not in EYES]))
    return m.out(_fill(out, freed, fill))


def open_mouth(mask, amount: int):
    """Open the mouth by ``amount`` pixels: the lower lip moves down, the gap becomes inner mouth (Fig. 16).

    The lower lip overwrites what lies below it (chin skin); the rows it leaves become class "mouth".
    """
    amount = _nonneg_int(amount, "amount")
    m = _Mask(mask)
    if not (m.t == L_LIP).any():
        raise ValueError("open_mouth: the mask has no lower lip (class 12) to move")
    region = m.t == L_LIP
    moved = _shift(region, amount, 0, False)
    out = m.t.clone()
    out[moved] = L_LIP
    out[region & ~moved] = MOUTH
    return m.out(out)


def close_mouth(mask, steps: int = 4) -> list:
    """Close the mouth in ``steps`` masks (Fig. 8, third example; Fig. 9, top row).

    Step i of ``steps`` keeps, per column, the central ``1 - i/steps`` of the inner mouth; the part
    above the column's centre becomes upper lip, the part below lower lip. The last mask has no inner
    mouth left. Returns a list of ``steps`` masks (the input itself is not included).
    """
    steps = _nonneg_int(steps, "steps")
    if steps < 1:
        raise ValueError("steps must be at least 1")
    m = _Mask(mask)
    region = m.t == MOUTH
    masks = []
    for i in range(1, steps + 1):
        kept, upper = _column_squeeze(region, i / steps)
        out = m.t.clone()
        out[upper] = U_LIP
        out[region & ~kept & ~upper] = L_LIP
        masks.append(m.out(out))
    return masks


def add_hair(mask, px: int, into=("background",), top_only: bool = True):
    """Add a band of hair ``px`` pixels wide around the head (Fig. 8, second example: hair on a bald head).

    The head (every face class, hair and hat) is dilated by ``px``; new pixels of the ``into`` classes
    become hair. With ``top_only`` only pixels above the eyes' (else the brows', else the head's
    centre) row are used, so hair grows on the top of the head, not around the chin.
    """
    px = _nonneg_int(px, "px")
    m = _Mask(mask)
    head = torch.isin(m.t, torch.tensor(HEAD, device=m.t.device))
    band = dilate(head, px) & ~head & torch.isin(m.t, torch.tensor(class_indices(into, "into"), device=m.t.device))
    if top_only:
        H = m.t.shape[1]
        rows = torch.arange(H, device=m.t.device)
        for b in range(m.t.shape[0]):
            lab = m.t[b]
            limit = H
            for ids in (list(EYES), [6, 7], list(HEAD)):
                sel = torch.isin(lab, torch.tensor(ids, device=lab.device))
                if sel.any():
                    ys = rows[sel.any(1)]
                    limit = int(ys.float().mean().round()) if ids == list(HEAD) else int(ys.min())
                    break
            band[b, limit:] = False
    out = m.t.clone()
    out[band] = HAIR
    return m.out(out)
