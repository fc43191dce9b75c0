"""Fast exploration of one input's solution space (supplement Sections 3.1, 3.3, 3.4; Figs. 3-7, 10).

Exploring means rendering many style matrices for one (LR image, mask) pair. The plain forward
recomputes everything per sample; :class:`ExplorationEngine` computes once what does not depend on
the style and, per sample, only what must change. It runs the generator's own eval-mode forward
(``Generator.block`` / ``Generator.image``) with the NormBlocks replaced by precomputed tables, and
returns the plain forward's images (tests check < 1e-4).

Per (LR image, mask), cached:
  - the head conv and every ResBlock before the first one with a style branch (the semantics-only
    block at LR size);
  - for every later NormBlock, its eval-mode folded form (``deepsee.models.folded.folded_rows``: ``out = x * A + B``,
    BatchNorm folded, ``[A | B] = const + patch @ V(S)`` at each pixel) as a *table*: pixels whose
    (zero-padded) 5x5 mask patch is identical get identical semantic gamma/beta (SPADE's two 3x3 convs
    see exactly that patch) and identical style-conv input patches (the 3x3 centre), so the modulation
    of a whole map is ``table[row of pixel]`` with one row per distinct patch (a face mask at 128 px has
    ~3k distinct patches for 16k pixels).

Per style sample and NormBlock, the style term ``patches @ V(S)`` (``deepsee.models.folded.folded_style_rows``; the
style conv's effective weights, 19 x 9 mask values per row) is one small GEMM (rows x 171 x 2C) added to
the table, then one gather of the table to the map and one multiply-add; the rest is the main path's
C->C convolutions, which no formulation avoids.

The authors' 32x top block (``model.last_block: released``) ignores the style above the mask cap: its
table is mask-only, keyed by the 3x3 neighbourhood of hidden-feature rows after the upsampling from the
cap (exact, :meth:`ExplorationEngine._authors_groups`).

Samples are processed in chunks (``chunk``) and, at large resolutions, in micro-batches bounded by
``max_activation_mb`` per activation tensor, in channels-last layout, under ``torch.inference_mode``.
The tables' work tensors are reused between calls (fresh large allocations page-fault on every call).

Example::

    eng = ExplorationEngine(model, lr, mask)                 # the model's test-time style (LR encoder)
    imgs = eng.sample(1000, noise="gaussian", scale=0.1, seed=0)   # Figs. 5-7
    walk = eng.walk(delta=0.15, steps=5, classes="lips")     # Fig. 10
    eng.set_mask(close_eyes(mask))                           # Fig. 8; the LR part stays cached
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import partial
from typing import Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor
from tqdm.auto import tqdm

from ..data.degradation import project_consistent
from ..labels import of
from ..models import DeepSEE, Generator
from ..models.folded import WinogradConv, above_cap, folded_rows, folded_style_rows, run_block
from ..models.released import RELEASED
from ..models.masks import to_onehot
from .walks import region_offset, sample_styles_chunk, style_walk

__all__ = ["ExplorationEngine", "engine_for", "predicted_style"]


def _generator_of(model) -> nn.Module:
    if isinstance(model, DeepSEE):
        return model.generator
    if isinstance(model, Generator):
        return model
    raise TypeError(f"model must be a DeepSEE or a Generator, got {type(model).__name__}")


@dataclass
class _Table:
    """One NormBlock's folded modulation ``[A | B]`` for the current mask, one row per group of pixels."""
    const: Tensor              # [P, 2C]: the style-independent part of each row
    patches: Tensor | None     # [P, N*9]: each row's 3x3 mask patch, the style term's input (None: no style)
    pixel_rows: Tensor         # [H*W] int64: the row of each feature pixel
    size: tuple[int, int]      # feature size (H, W)

    @property
    def rows(self) -> int:
        return self.const.shape[0]


def _patterns(m: Tensor, radius: int) -> tuple[Tensor, Tensor]:
    """Group the pixels of a one-image mask ``[1, N, h, w]`` by their zero-padded (2 radius + 1)^2 patch (and
    which of its pixels lie in the image, which a second conv sees through its zero padding).
    Returns (group of each pixel [h*w], one representative pixel per group [P])."""
    _, n, h, w = m.shape
    k = 2 * radius + 1
    onehot = bool(((m == 0) | (m == 1)).all()) and bool((m.sum(1) == 1).all())
    if onehot:   # exact integer keys: labels in base N + 1, N = outside the image
        lab = F.pad(m.argmax(1, keepdim=True).to(torch.float64), (radius,) * 4, value=float(n))
        digits = F.unfold(lab, k)[0].t().round().long()                            # [h*w, k*k]
        per = max(1, int(62 // math.log2(n + 1)))    # base-(N+1) digits per int64 key column
        cols = []
        for s in range(0, k * k, per):
            part = digits[:, s:s + per]
            weights = (n + 1) ** torch.arange(part.shape[1] - 1, -1, -1, device=m.device, dtype=torch.long)
            cols.append((part * weights).sum(1))
        keys = torch.stack(cols, 1)
    else:        # soft masks: exact float keys (slower)
        valid = torch.ones(1, 1, h, w, dtype=m.dtype, device=m.device)
        x = F.pad(torch.cat([m, valid], 1), (radius,) * 4)
        keys = F.unfold(x, k)[0].t()                                               # [h*w, (N+1)*k*k]
    return _groups(keys)


def _groups(keys: Tensor) -> tuple[Tensor, Tensor]:
    """(group of each key row, one representative row per group) for the distinct rows of ``keys``."""
    _, inv = torch.unique(keys, dim=0, return_inverse=True)
    rep = torch.empty(int(inv.max()) + 1, dtype=torch.long, device=keys.device)
    rep.scatter_(0, inv, torch.arange(inv.numel(), device=keys.device))
    return inv, rep


def _nearest(ids: Tensor, hw: tuple[int, int], size: tuple[int, int]) -> Tensor:
    """A map of integer ids ``[h*w]`` resized (nearest, as the generator resizes) to ``size``: ``[H*W]``."""
    if tuple(hw) == tuple(size):
        return ids
    ids = ids.view(1, 1, *hw).to(torch.float64)
    return F.interpolate(ids, size=size, mode="nearest").view(-1).round().long()


class ExplorationEngine:
    """Render many style matrices for one (LR image, mask) fast; same images as ``model(lr, mask, style)``.

    Args:
        model:   a :class:`deepsee.models.DeepSEE` (or its ``Generator``) with a style branch. It is put
                 in eval mode; its weights are read when the engine is built (call :meth:`refresh_weights`
                 after changing them).
        lr:      LR image ``[1, 3, h, w]`` (or ``[3, h, w]``) in [-1, 1].
        mask:    at HR size: labels ``[H, W]`` / ``[1, H, W]``, or one-hot / soft ``[1, 19, H, W]``.
        style:   base style ``[1, 19, d]`` for :meth:`sample`, :meth:`walk`, :meth:`region_edit`; default:
                 the model's test-time style (``DeepSEE.test_time_style``) where it comes from the LR
                 image, else required (:meth:`set_style`).
        chunk:   styles per pass through the low-resolution levels.
        device:  where to compute; the model must already be there (default: the model's device).
        channels_last: NHWC activations (the fast layout for convolutions on CPU and GPU).
        max_activation_mb: bound on one activation tensor (default 128 MiB on CPU, 2 GiB on CUDA);
                 larger batches are split into micro-batches.
        consistent: project every generated image onto the images whose kit LR is ``lr``
                 (:func:`deepsee.data.degradation.project_consistent`; issue 33): only what the downscaling
                 discards is explored. A plain attribute, so a checkbox can switch it.
        antialias: the degradation of ``lr`` (the dataset's ``data.antialias``), for ``consistent``.
        winograd: compute the ResBlocks' 3x3 convolutions as Winograd F(4x4, 3x3)
                 (:class:`deepsee.models.folded.WinogradConv`: a third of the multiplications, the same images within
                 a few 1e-6); None (default): on the CPU in float32/float64, where it is faster (cuDNN chooses its
                 own algorithm on GPUs).

    Attributes: ``last_latency_s`` (wall time of the last :meth:`generate`), ``last_per_sample_s``,
    ``stats`` (calls, samples, seconds, and ``project_seconds``: the part the consistency projection took).
    """

    def __init__(self, model, lr: Tensor, mask: Tensor, *, style: Tensor | None = None, chunk: int = 16,
                 device: str | torch.device | None = None, channels_last: bool = True,
                 max_activation_mb: float | None = None, consistent: bool = False, antialias: bool = False,
                 winograd: bool | None = None):
        self.model = model
        self.labels = of(model)       # the model's label set: class and region names of walks and samples
        self.consistent, self.antialias = bool(consistent), bool(antialias)
        self.gen = _generator_of(model)
        if not self.gen.uses_style:
            raise ValueError("this model has no style branch (prior_only / semantics_only): every style gives "
                             "the same image, there is nothing to explore; call model(lr, mask) instead")
        if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
            raise ValueError(f"chunk must be a positive integer, got {chunk!r}")
        p = next(self.gen.parameters())
        self.device = p.device if device is None else torch.device(device)
        if self.device.type == "cuda" and self.device.index is None:
            self.device = torch.device("cuda", torch.cuda.current_device())
        if p.device != self.device:
            raise ValueError(f"device={self.device} but the model is on {p.device}; move the model first "
                             f"(model.to({str(self.device)!r}))")
        self.dtype = p.dtype
        if winograd is None:
            winograd = self.device.type == "cpu" and self.dtype in (torch.float32, torch.float64)
        self._conv = WinogradConv() if winograd else None   # the ResBlocks' convolutions (None: the modules)
        self.chunk = chunk
        self.channels_last = bool(channels_last)
        if max_activation_mb is None:   # CPU: batch size hardly matters at 128 px; GPUs want large batches
            max_activation_mb = 2048.0 if self.device.type == "cuda" else 128.0
        if not max_activation_mb > 0:
            raise ValueError(f"max_activation_mb must be positive, got {max_activation_mb!r}")
        self.max_activation_bytes = int(max_activation_mb * 2 ** 20)
        self.N = self.gen.num_classes
        self.C = self.gen.channels
        self.d = self.gen.style_dim
        model.eval()
        self.first = next(i for i, b in enumerate(self.gen.blocks) if b.norm_0.uses_style or b.norm_1.uses_style)
        self._norm_blocks = [nb for b in list(self.gen.blocks)[self.first:] for nb in (b.norm_0, b.norm_1)]
        self.last_latency_s = float("nan")
        self.last_per_sample_s = float("nan")
        self.stats = {"calls": 0, "samples": 0, "seconds": 0.0, "project_seconds": 0.0}
        self._buffers: dict = {}
        self._flat_idx: dict = {}
        self._lr = self._lr_features = self._prefix = self._mask = self._masks = self._tables = None
        self.set_lr(lr)
        self.set_mask(mask)
        self.style = None
        self._auto_style = style is None and getattr(model, "test_time_source", None) == "lr"
        if style is not None:
            self.set_style(style)
        else:   # variants whose style comes from an HR image need set_style() before sample/walk
            self._encode_style()

    def _encode_style(self) -> None:
        if self._auto_style:    # the model's own test-time choice (the LR encoder on the LR image)
            self.style = self.model.test_time_style({"lr": self._lr[0], "mask": self._mask})

    # ------------------------------------------------------------------------------------------
    # inputs and caches
    # ------------------------------------------------------------------------------------------
    @property
    def winograd(self) -> bool:
        """Whether the ResBlocks' convolutions run as Winograd F(4x4, 3x3) (the ``winograd`` argument)."""
        return self._conv is not None

    @torch.inference_mode()
    def refresh_weights(self) -> None:
        """Re-read the model's weights: the cached LR part and the mask tables are recomputed."""
        self._lr_features = self.gen.head_conv(self._lr)
        self._prefix = None
        if self._conv is not None:
            self._conv = WinogradConv(self._conv.max_pixels)   # its filter transforms are re-read
        self._build_tables()

    def _check_lr(self, lr: Tensor) -> Tensor:
        if not isinstance(lr, Tensor) or not lr.is_floating_point():
            raise TypeError(f"lr must be a float tensor [1, 3, h, w], got {type(lr).__name__}")
        if lr.ndim == 3:
            lr = lr[None]
        if lr.ndim != 4 or lr.shape[:2] != (1, 3):
            raise ValueError(f"lr must be one image [1, 3, h, w] (or [3, h, w]); got {tuple(lr.shape)}")
        return lr.to(self.device, self.dtype)

    def _one_mask(self, mask) -> Tensor:
        """One image's mask ``[1, ...]`` on the device (numpy or torch; labels may come unbatched)."""
        if isinstance(mask, np.ndarray):
            mask = torch.from_numpy(mask.astype(np.int64) if np.issubdtype(mask.dtype, np.integer) else mask)
        if not isinstance(mask, Tensor):
            raise TypeError(f"mask must be a torch tensor, got {type(mask).__name__}")
        if mask.ndim == (3 if mask.is_floating_point() or mask.dtype == torch.bool else 2):
            mask = mask[None]
        if mask.shape[0] != 1:
            raise ValueError(f"mask must describe one image (batch 1); got {tuple(mask.shape)}")
        return mask.to(self.device)

    @torch.inference_mode()
    def set_lr(self, lr: Tensor, mask: Tensor | None = None) -> None:
        """A new LR image: recompute the LR-dependent part (head conv, semantics-only blocks).

        The mask tables do not depend on the LR image and stay, unless the new image has another size
        (then pass its ``mask`` too). A base style the engine took from the model is re-encoded from the
        new image; one given with ``style=`` / :meth:`set_style` stays.
        """
        lr = self._check_lr(lr)
        if self._masks is not None and mask is None and lr.shape[-2:] != self._lr.shape[-2:]:
            raise ValueError(f"the new LR image is {tuple(lr.shape[-2:])}, the mask needs "
                             f"{tuple(self._lr.shape[-2:])}; pass set_lr(lr, mask)")
        self._lr = lr
        self._lr_features = self.gen.head_conv(lr)                                     # [1, C, h, w]
        self._prefix = None
        if mask is not None:
            self.set_mask(mask)
        if getattr(self, "style", None) is not None:
            self._encode_style()   # an automatically encoded base style follows the new image

    @torch.inference_mode()
    def set_mask(self, mask: Tensor) -> None:
        """A new (e.g. edited) mask: rebuild the mask-dependent caches; the head conv output (LR only)
        and the base style stay (mask edits keep the appearance; :meth:`set_style` changes it)."""
        mask = self._one_mask(mask)
        masks = self.gen.mask_pyramid(to_onehot(mask, self.N).to(self.dtype), 1)     # as the generator reads it
        h, w = self._lr.shape[-2:]
        f = self.gen.factor
        if masks.size != (h * f, w * f):
            raise ValueError(f"mask is {masks.size}; the LR image {h}x{w} at factor {f} needs {h * f}x{w * f}")
        self._mask, self._masks = mask[0], masks
        self._prefix = None
        self._build_tables()

    def set_style(self, style: Tensor) -> None:
        """The base style ``[1, 19, d]`` (or ``[19, d]``) that :meth:`sample`, :meth:`walk` and
        :meth:`region_edit` explore around."""
        if not isinstance(style, Tensor) or not style.is_floating_point():
            raise TypeError("style must be a float tensor [1, 19, d]")
        if style.ndim == 2:
            style = style[None]
        if style.shape != (1, self.N, self.d):
            raise ValueError(f"style must be [1, {self.N}, {self.d}]; got {tuple(style.shape)}")
        self.style = style.detach().to(self.device, self.dtype)
        self._auto_style = False

    def _sizes(self) -> list[tuple[int, int]]:
        return self.gen.feature_sizes(tuple(self._lr.shape[-2:]))

    def _build_tables(self) -> None:
        sizes = self._sizes()[self.first:]
        self._tables = [self._table(nb, sizes[j // 2]) for j, nb in enumerate(self._norm_blocks)]
        self._flat_idx = {}

    def _table(self, nb, size: tuple[int, int]) -> _Table:
        """The rows of one NormBlock's folded modulation for the current mask (module docstring)."""
        msize = nb.modulation_size(size)
        if nb.kind == "prior":                         # the same everywhere
            msize = tuple(size)
            pixel_rows = torch.zeros(size[0] * size[1], dtype=torch.long, device=self.device)
            rep = pixel_rows[:1]
        elif nb.kind == RELEASED and above_cap(nb, size):
            msize = tuple(size)
            pixel_rows, rep = self._authors_groups(nb, size)
        else:                                          # semantic: 5x5 patch (two 3x3 convs); style: 3x3
            radius = 2 if nb.kind in ("semantic", "both") else 1
            pixel_rows, rep = _patterns(nb.mask_at(self._masks, size), radius)
        const, patches = folded_rows(nb, self._masks, size, rep)
        return _Table(const.contiguous(), patches, _nearest(pixel_rows, msize, size), tuple(size))

    def _authors_groups(self, nb, size: tuple[int, int]) -> tuple[Tensor, Tensor]:
        """The authors' top block above the cap: gamma_s, beta_s = conv3x3(nearest(ReLU(conv3x3(M at the cap)),
        size)). The hidden features depend on the 3x3 mask patch at the cap (one group per distinct patch);
        after the nearest upsampling a pixel's modulation depends on the groups of its 3x3 neighbourhood
        (zero outside the image), so one group per distinct neighbourhood of group ids, exactly."""
        m = nb.mask_at(self._masks, size)
        hid_groups, _ = _patterns(m, 1)                                                # [h*w]
        ids = _nearest(hid_groups + 1, tuple(m.shape[-2:]), size).view(1, 1, *size)  # 0: outside the image
        keys = F.unfold(ids.to(torch.float64), 3, padding=1)[0].t().round().long()   # [H*W, 9]
        return _groups(keys)

    def _prefix_output(self) -> Tensor:
        """Output of the blocks before the first style block (LR and mask), ``[1, C, h', w']``."""
        if self._prefix is None:
            x = self._lr_features
            for k in range(self.first):
                x = self.gen.block(k, x, self._masks)
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            self._prefix = x
        return self._prefix

    # ------------------------------------------------------------------------------------------
    # per-sample computation
    # ------------------------------------------------------------------------------------------
    def _buf(self, tag: str, shape: tuple, channels_last: bool = False) -> Tensor:
        """A reusable work tensor of ``shape`` (one growing storage per tag; channels-last for 4-d)."""
        numel = math.prod(shape)
        flat = self._buffers.get(tag)
        if flat is None or flat.numel() < numel:
            self._buffers[tag] = flat = None   # free the old one first
            flat = torch.empty(numel, device=self.device, dtype=self.dtype)
            self._buffers[tag] = flat
        if channels_last and len(shape) == 4:
            b, c, h, w = shape
            return flat[:numel].view(b, h, w, c).permute(0, 3, 1, 2)
        return flat[:numel].view(shape)

    def clear_buffers(self) -> None:
        """Free the reusable work buffers (they are rebuilt on the next call)."""
        self._buffers = {}

    def _style_terms(self, styles: Tensor) -> list[Tensor | None]:
        """Per NormBlock, ``V(S)`` ``[K, N*9, 2C]`` of its table rows (None where no style takes part)."""
        return [folded_style_rows(nb, styles) if t.patches is not None else None
                for nb, t in zip(self._norm_blocks, self._tables)]

    def _flat(self, j: int, m: int) -> Tensor:
        key = (j, m)
        if key not in self._flat_idx:
            t = self._tables[j]
            off = torch.arange(m, device=self.device)[:, None] * t.rows
            self._flat_idx[key] = (t.pixel_rows[None] + off).reshape(-1)
        return self._flat_idx[key]

    def _modulate(self, j: int, rows: Tensor, terms: list, x: Tensor) -> Tensor:
        """NormBlock ``j`` (folded) on ``x`` for the samples ``rows``: ``x * A + B``, ``[m, C, H, W]``."""
        t = self._tables[j]
        m = rows.numel()
        H, W = t.size
        C = self.C
        if t.patches is None:   # the same map for every sample, gathered per call (1 GiB at 512 px)
            dense = self._buf("dense", (H * W, 2 * C))
            torch.index_select(t.const, 0, t.pixel_rows, out=dense)
            dense = dense.view(1, H, W, 2 * C)
        else:
            P = t.rows
            v = terms[j].index_select(0, rows)                                            # [m, N*9, 2C]
            table = self._buf("table", (m, P, 2 * C))
            torch.baddbmm(t.const.expand(m, P, 2 * C), t.patches.expand(m, P, t.patches.shape[1]), v, out=table)
            dense = self._buf("dense", (m * H * W, 2 * C))
            torch.index_select(table.view(m * P, 2 * C), 0, self._flat(j, m), out=dense)
            dense = dense.view(m, H, W, 2 * C)
        scale = dense[..., :C].permute(0, 3, 1, 2)
        shift = dense[..., C:].permute(0, 3, 1, 2)
        return torch.addcmul(shift, x, scale, out=self._buf("norm", (m, C, H, W), self.channels_last))

    def _max_batch(self, size: tuple[int, int]) -> int:
        per = self.C * size[0] * size[1] * torch.finfo(self.dtype).bits // 8
        return max(1, self.max_activation_bytes // per)

    def _descend(self, k: int, x: Tensor, rows: Tensor, terms: list) -> Tensor:
        """The generator's blocks k.. on ``x`` (the input of block k; batch 1 = shared by all ``rows``), the
        NormBlocks replaced by their tables, then its output layers -> images ``[m, 3, H, W]``."""
        sizes = self._sizes()
        while k < len(self.gen.blocks):
            mb = self._max_batch(sizes[k])
            if rows.numel() > mb:
                return torch.cat([self._descend(k, x if x.shape[0] == 1 else x[s:s + mb], rows[s:s + mb], terms)
                                  for s in range(0, rows.numel(), mb)])
            j = 2 * (k - self.first)
            x = run_block(self.gen, k, x, (partial(self._modulate, j, rows, terms),
                                           partial(self._modulate, j + 1, rows, terms)), self._conv)
            k += 1
        return self.gen.image(x)

    def _check_styles(self, styles: Tensor) -> Tensor:
        if not isinstance(styles, Tensor) or not styles.is_floating_point():
            raise TypeError("styles must be a float tensor [K, 19, d]")
        if styles.ndim == 2:
            styles = styles[None]
        if styles.ndim != 3 or styles.shape[1:] != (self.N, self.d):
            raise ValueError(f"styles must be [K, {self.N}, {self.d}]; got {tuple(styles.shape)}")
        return styles.to(self.device, self.dtype)

    # ------------------------------------------------------------------------------------------
    # public API
    # ------------------------------------------------------------------------------------------
    @torch.inference_mode()
    def generate(self, styles: Tensor, progress: bool = True, chunk: int | None = None) -> Tensor:
        """Images ``[K, 3, H, W]`` in [-1, 1] for style matrices ``[K, 19, d]`` (eval-mode forward)."""
        styles = self._check_styles(styles)
        return self._generate(None, styles.shape[0], progress, chunk, styles=styles)

    def _generate(self, get, k: int, progress: bool, chunk: int | None, styles: Tensor | None = None) -> Tensor:
        chunk = self.chunk if chunk is None else chunk
        if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
            raise ValueError(f"chunk must be a positive integer, got {chunk!r}")
        if self.gen.training:
            raise RuntimeError("the model is in training mode; the engine renders the eval-mode forward: "
                               "call model.eval() (and refresh_weights() after changing weights)")
        t0 = time.perf_counter()
        H, W = self._sizes()[-1]
        out = torch.empty(k, 3, H, W, device=self.device, dtype=self.dtype)
        x0 = self._prefix_output()
        with tqdm(total=k, desc="exploring", unit="img", disable=not progress or k == 0, leave=False) as bar:
            for a in range(0, k, chunk):
                b = min(a + chunk, k)
                s = styles[a:b] if styles is not None else self._check_styles(get(a, b))
                rows = torch.arange(b - a, device=self.device)
                out[a:b] = self._descend(self.first, x0, rows, self._style_terms(s))
                if self.consistent:
                    tp = time.perf_counter()
                    out[a:b] = project_consistent(out[a:b].float(), self._lr.float().expand(b - a, -1, -1, -1),
                                                  self.antialias).to(out.dtype)
                    self.stats["project_seconds"] += time.perf_counter() - tp
                bar.update(b - a)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        dt = time.perf_counter() - t0
        self.last_latency_s = dt
        self.last_per_sample_s = dt / k if k else float("nan")
        self.stats["calls"] += 1
        self.stats["samples"] += k
        self.stats["seconds"] += dt
        return out

    def _base_style(self) -> Tensor:
        if self.style is None:
            raise ValueError("no base style: this variant's style comes from an HR image; call "
                             "engine.set_style(model.encode_style(hr, mask, 'hr')) first")
        return self.style

    @torch.inference_mode()
    def sample(self, k: int, noise: str = "gaussian", scale: float = 0.1, seed: int = 0, classes=None,
               chunk: int | None = None, progress: bool = True) -> Tensor:
        """``k`` solutions around the base style (Figs. 5-7): images ``[k, 3, H, W]``.

        Sample ``i`` is ``sample_styles(style, k, noise, scale, seed, classes)[i]``, whatever ``chunk``."""
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise ValueError(f"k must be a non-negative integer, got {k!r}")
        base = self._base_style()
        return self._generate(lambda a, b: sample_styles_chunk(base, a, b, noise=noise, scale=scale, seed=seed,
                                                               classes=classes, labels=self.labels), k, progress, chunk)

    def walk(self, delta: float = 0.15, steps: int = 5, classes=None, progress: bool = False) -> Tensor:
        """Figs. 3, 4 (all rows) and 10 (``classes``): ``[steps, 3, H, W]``, the middle one unchanged."""
        return self.generate(style_walk(self._base_style(), delta, steps, classes, labels=self.labels), progress=progress)

    def region_edit(self, classes, offsets: Sequence[float], direction=None, progress: bool = False) -> Tensor:
        """One image per offset of the rows of ``classes`` (a per-region slider): ``[len(offsets), 3, H, W]``."""
        base = self._base_style()
        styles = torch.stack([region_offset(base[0], classes, float(o), direction, labels=self.labels) for o in offsets])
        return self.generate(styles, progress=progress)

    def table_rows(self) -> list[tuple[tuple[int, int], int]]:
        """(feature size, number of table rows) of every style-level NormBlock: how much the mask compresses."""
        return [(t.size, t.rows) for t in self._tables]


def predicted_style(model, item: dict, device="cpu") -> Tensor:
    """The style matrix ``[N, d]`` the model uses at test time for ``item`` (:meth:`DeepSEE.test_time_style`:
    the LR encoder on its LR image and mask when the model has one)."""
    style = model.test_time_style(item, device)
    if style is None:
        raise ValueError(f"the {model.cfg.variant} model has no style")
    return style[0]


def engine_for(model, item: dict, device="cpu", consistent: bool = False, antialias: bool = False) -> ExplorationEngine:
    """An exploration engine for ``item``'s (LR image, mask); ``consistent``: its images projected onto the
    images whose kit LR (``antialias``) is the item's LR input."""
    return ExplorationEngine(model, item["lr"][None].to(device), item["mask"].to(device), consistent=consistent,
                             antialias=antialias)
