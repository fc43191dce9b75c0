"""Fast exploration of one input's solution space (supplement Sections 3.1, 3.3, 3.4; Figs. 3-7, 10).

Exploring means rendering many style matrices for one (LR image, mask) pair. The plain forward
recomputes everything per sample; :class:`ExplorationEngine` computes once what does not depend on
the style and, per sample, only what must change. It returns the plain forward's images (eval
mode; tests check < 1e-4).

Per (LR image, mask), cached:
  - the head conv and every ResBlock before the first one with a style branch (the semantics-only
    block at LR size);
  - for every NormBlock, its mask-only modulation as a *table*: pixels whose (zero-padded) 5x5 mask
    patch is identical get identical semantic gamma/beta (SPADE's two 3x3 convs see exactly that
    patch) and identical style-conv input patches (the 3x3 centre), so the modulation of a whole map
    is ``table[idx[pixel]]`` with one row per distinct patch (a face mask at 128 px has ~3k distinct
    patches for 16k pixels). Semantic rows are computed at one representative pixel each.

Per style sample and NormBlock, with BatchNorm (eval) folded in,
  ``out = x * A + B``, ``A = r (1 + a_g gamma_s + (1 - a_g) gamma)``, ``B = -mu A + a_b beta_s + (1 - a_b) beta``,
  ``r = 1 / sqrt(var + eps)``; the style convolution conv(styled map, W) equals conv(mask, W_eff) with
  ``W_eff[o, n] = sum_k W[o, k] S[n, k]`` (linearity), i.e. ``U3 @ W_eff`` on the table rows, where
  ``U3`` holds each row's 3x3 mask patch (19 x 9 values). So a sample costs one small GEMM per
  NormBlock (rows x 171 x 2C), one gather of the table to the map, one multiply-add, and the main
  path's C->C convolutions, which no formulation avoids.

The released 32x top block (``model.last_block: released``) ignores the style: its modulation is a
mask-only table too, keyed by the 3x3 neighbourhood of hidden-feature rows after the upsampling from
the mask cap (exact, see ``_released_table``).

Samples are processed in chunks (``chunk``) and, at large resolutions, in micro-batches bounded by
``max_activation_mb`` per activation tensor, in channels-last layout, under ``torch.inference_mode``.
Buffers are reused between calls (fresh large allocations page-fault on every call).

Example::

    eng = ExplorationEngine(model, lr, mask)                 # style encoded from the LR image
    imgs = eng.sample(1000, noise="gaussian", scale=0.1, seed=0)   # Figs. 5-7
    walk = eng.walk(delta=0.15, steps=5, classes="lips")     # Fig. 10
    eng.set_mask(close_eyes(mask))                           # Fig. 8; the LR part stays cached
"""
from __future__ import annotations

import math
import time
from typing import Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .walks import region_offset, sample_styles_chunk, style_walk

__all__ = ["ExplorationEngine"]


def _generator_of(model) -> nn.Module:
    from ..models import DeepSEE, Generator
    if isinstance(model, DeepSEE):
        return model.generator
    if isinstance(model, Generator):
        return model
    raise TypeError(f"model must be a DeepSEE or a Generator, got {type(model).__name__}")


def _conv_weight(conv: nn.Module) -> Tensor:
    """The weight a conv module uses in eval mode (spectral norm: weight_orig / sigma, no power iteration)."""
    from torch.nn.utils.spectral_norm import SpectralNorm
    for hook in conv._forward_pre_hooks.values():   # torch.nn.utils.spectral_norm sets .weight in its hook
        if isinstance(hook, SpectralNorm):
            hook(conv, None)
    return conv.weight


class _NormTable:
    """Mask-dependent part of one NormBlock: table rows, their 3x3 mask patches, the pixel -> row map."""

    __slots__ = ("table0", "u3", "idx", "rows", "size", "dense")

    def __init__(self, table0: Tensor, u3: Tensor | None, idx: Tensor, size: tuple[int, int]):
        self.table0 = table0        # [P, 2C]: A | B without the style-conv term (bias folded in)
        self.u3 = u3                # [P, N*9] 3x3 mask patch of each row (None: no style branch)
        self.idx = idx              # [H*W] int64: row of each pixel at feature size
        self.rows = table0.shape[0]
        self.size = size            # feature size (H, W)
        self.dense = None           # [1, H*W, 2C] for blocks without style (same for every sample)


class ExplorationEngine:
    """Render many style matrices for one (LR image, mask) fast; same images as ``model(lr, mask, style)``.

    Args:
        model:   a :class:`deepsee.models.DeepSEE` (or its ``Generator``) with a style branch. It is put
                 in eval mode; its weights are read when the engine is built (call :meth:`refresh_weights`
                 after changing them).
        lr:      LR image ``[1, 3, h, w]`` (or ``[3, h, w]``) in [-1, 1].
        mask:    at HR size: labels ``[H, W]`` / ``[1, H, W]``, or one-hot / soft ``[1, 19, H, W]``.
        style:   base style ``[1, 19, d]`` for :meth:`sample`, :meth:`walk`, :meth:`region_edit`; default:
                 encoded from the LR image (variants with an LR encoder), else required.
        chunk:   styles per pass through the low-resolution levels.
        device:  where to compute; the model must already be there (default: the model's device).
        channels_last: NHWC activations (the fast layout for convolutions on CPU and GPU).
        max_activation_mb: bound on one activation tensor (default 128 MiB on CPU, 2 GiB on CUDA);
                 larger batches are split into micro-batches.

    Attributes: ``last_latency_s`` (wall time of the last :meth:`generate`), ``last_per_sample_s``,
    ``stats`` (calls, samples, seconds).
    """

    def __init__(self, model, lr: Tensor, mask: Tensor, *, style: Tensor | None = None, chunk: int = 16,
                 device: str | torch.device | None = None, channels_last: bool = True,
                 max_activation_mb: float | None = None):
        self.model = model
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
        self.factor = self.gen.factor
        model.eval()
        blocks = list(self.gen.blocks)
        self.first = next(i for i, b in enumerate(blocks) if b.norm_0.uses_style or b.norm_1.uses_style)
        self.last_latency_s = float("nan")
        self.last_per_sample_s = float("nan")
        self.stats = {"calls": 0, "samples": 0, "seconds": 0.0}
        self._buffers: dict = {}
        self._flat_idx: dict = {}
        self._lr = self._head = self._prefix = None
        self._masks = self._tables = self._prefix_sem = None
        self.refresh_weights()
        self.set_lr(lr)
        self.set_mask(mask)
        self.style = None
        self._auto_style = style is None and "lr" in getattr(model, "style_sources", ())
        if style is not None:
            self.set_style(style)
        else:   # variants whose style comes from an HR image need set_style() before sample/walk
            self._encode_style()

    @torch.inference_mode()
    def _encode_style(self) -> None:
        if self._auto_style:
            self.style = self.model.encode_style(self._lr, self._masks.full, "lr")     # [1, N, d]

    # ------------------------------------------------------------------------------------------
    # inputs and caches
    # ------------------------------------------------------------------------------------------
    @torch.inference_mode()
    def refresh_weights(self) -> None:
        """Re-read the model's weights (main convs, BatchNorm statistics, blends, style convs)."""
        cl = torch.channels_last if self.channels_last else torch.contiguous_format
        self._conv = {}
        for k, blk in enumerate(self.gen.blocks):
            if k < self.first:
                continue
            for name in ("conv_0", "conv_1"):
                conv = getattr(blk, name)
                self._conv[(k, name)] = (_conv_weight(conv).contiguous(memory_format=cl), conv.bias)
        self._out_conv = (_conv_weight(self.gen.out_conv).contiguous(memory_format=cl), self.gen.out_conv.bias)
        self._nb = []   # per style-level NormBlock: folded constants
        for k, blk in enumerate(self.gen.blocks):
            if k < self.first:
                continue
            for nb in (blk.norm_0, blk.norm_1):
                self._nb.append(self._fold(nb))
        if self._lr is not None:
            self._head = self.gen.head_conv(self._lr)
            self._prefix = None
        if self._masks is not None:
            self._build_tables()

    def _fold(self, nb) -> dict:
        bn = nb.norm
        if bn.running_mean is None or bn.running_var is None:
            raise ValueError("the engine folds BatchNorm with its running statistics; this NormBlock's "
                             "BatchNorm has none (track_running_stats=False)")
        r = torch.rsqrt(bn.running_var + bn.eps)
        mu = bn.running_mean.clone()
        f = {"kind": nb.kind, "nb": nb, "r": r, "mu": mu}
        if nb.kind == "prior":
            return f
        a_g, a_b = nb.blend_weights()
        f["a_g"], f["a_b"] = a_g, a_b
        if nb.style is not None:
            w = _conv_weight(nb.style.conv)                                         # [2C, d, 3, 3]
            f["w_style"] = w
            f["b_style"] = nb.style.conv.bias
        return f

    def _check_lr(self, lr: Tensor) -> Tensor:
        if not isinstance(lr, Tensor) or not lr.is_floating_point():
            raise TypeError(f"lr must be a float tensor [1, 3, h, w], got {type(lr).__name__}")
        if lr.ndim == 3:
            lr = lr[None]
        if lr.ndim != 4 or lr.shape[:2] != (1, 3):
            raise ValueError(f"lr must be one image [1, 3, h, w] (or [3, h, w]); got {tuple(lr.shape)}")
        return lr.to(self.device, self.dtype)

    def _check_mask(self, mask: Tensor) -> Tensor:
        from ..models import to_onehot
        if isinstance(mask, np.ndarray):
            mask = torch.from_numpy(mask.astype(np.int64) if np.issubdtype(mask.dtype, np.integer) else mask)
        if not isinstance(mask, Tensor):
            raise TypeError(f"mask must be a torch tensor, got {type(mask).__name__}")
        if mask.is_floating_point() or mask.dtype == torch.bool:
            if mask.ndim == 3:
                mask = mask[None]
        elif mask.ndim == 2:
            mask = mask[None]
        if mask.shape[0] != 1:
            raise ValueError(f"mask must describe one image (batch 1); got {tuple(mask.shape)}")
        onehot = to_onehot(mask.to(self.device), self.N).to(self.dtype)               # [1, N, H, W]
        h, w = self._lr.shape[-2:]
        if tuple(onehot.shape[-2:]) != (h * self.factor, w * self.factor):
            raise ValueError(f"mask is {tuple(onehot.shape[-2:])}; the LR image {h}x{w} at factor {self.factor} "
                             f"needs {h * self.factor}x{w * self.factor}")
        return onehot

    @torch.inference_mode()
    def set_lr(self, lr: Tensor, mask: Tensor | None = None) -> None:
        """A new LR image: recompute the LR-dependent part (head conv, semantics-only blocks).

        The mask tables do not depend on the LR image and stay, unless the new image has another size
        (then pass its ``mask`` too). A base style encoded by the engine is re-encoded from the new
        image; one given with ``style=`` / :meth:`set_style` stays.
        """
        lr = self._check_lr(lr)
        if self._masks is not None and mask is None and lr.shape[-2:] != self._lr.shape[-2:]:
            raise ValueError(f"the new LR image is {tuple(lr.shape[-2:])}, the mask needs "
                             f"{tuple(self._lr.shape[-2:])}; pass set_lr(lr, mask)")
        self._lr = lr
        self._head = self.gen.head_conv(lr)                                            # [1, C, h, w]
        self._prefix = None
        if mask is not None:
            self.set_mask(mask)
        if getattr(self, "style", None) is not None:
            self._encode_style()   # an automatically encoded base style follows the new image

    @torch.inference_mode()
    def set_mask(self, mask: Tensor) -> None:
        """A new (e.g. edited) mask: rebuild the mask-dependent caches; the head conv output (LR only)
        and the base style stay (mask edits keep the appearance; :meth:`set_style` changes it)."""
        from ..models import MaskPyramid
        onehot = self._check_mask(mask)
        self._masks = MaskPyramid(onehot, self.N)
        self._prefix_sem = None
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

    def _feature_size(self, k: int) -> tuple[int, int]:
        h, w = self._lr.shape[-2:]
        lv = self.gen.blocks[k].level
        return (h * 2 ** lv, w * 2 ** lv)

    def _build_tables(self) -> None:
        tables = []
        j = 0
        for k, blk in enumerate(self.gen.blocks):
            if k < self.first:
                continue
            size = self._feature_size(k)
            for nb in (blk.norm_0, blk.norm_1):
                tables.append(self._table(self._nb[j], size))
                j += 1
        self._tables = tables
        self._flat_idx = {}

    def _table(self, f: dict, size: tuple[int, int]) -> _NormTable:
        """The rows of one NormBlock's modulation for the current mask (see the module docstring)."""
        nb, r, mu = f["nb"], f["r"], f["mu"]
        C = self.C
        if f["kind"] == "prior":
            a = (r * nb.prior_scale)[None]                                             # [1, C]
            b = nb.prior_shift[None] - mu[None] * a
            idx = torch.zeros(size[0] * size[1], dtype=torch.long, device=self.device)
            t = _NormTable(torch.cat([a, b], 1), None, idx, size)
            t.dense = t.table0[idx][None]                                              # [1, H*W, 2C]
            return t
        if f["kind"] == "released_style":
            return self._released_table(f, size)
        msize = nb.modulation_size(size)
        m = self._masks.at(msize)                                                      # [1, N, h, w]
        h, w = msize
        sem = nb.semantic is not None
        idx, rep = self._patterns(m, 2 if sem else 1)                                 # [h*w], [P]
        u3 = F.unfold(m, 3, padding=1)[0][:, rep].t().contiguous()                     # [P, N*9]
        a_g, a_b = f["a_g"], f["a_b"]
        a = r.expand(rep.numel(), C).clone()                                           # [P, C]
        b = torch.zeros_like(a)
        if sem:
            hid = nb.semantic.act(nb.semantic.hidden(m))                               # [1, hidden, h, w]
            cols = F.unfold(hid, 3, padding=1)[0][:, rep].t()                          # [P, hidden*9]
            w_out = _conv_weight(nb.semantic.out)
            gb = torch.addmm(nb.semantic.out.bias, cols, w_out.reshape(w_out.shape[0], -1).t())  # [P, 2C]
            gamma, beta = gb[:, :C], gb[:, C:]
            a = a * (1 + (1 - a_g) * gamma)
            b = b + (1 - a_b) * beta
        if nb.style is not None:
            bias = f["b_style"]
            a = a + r * a_g * bias[:C]
            b = b + a_b * bias[C:]
        else:
            u3 = None
        b = b - mu * a
        if msize != tuple(size):   # the modulation is computed at the mask cap and upsampled (nearest)
            idx = F.interpolate(idx.view(1, 1, h, w).to(torch.float64), size=size, mode="nearest").view(-1).long()
        t = _NormTable(torch.cat([a, b], 1).contiguous(), u3, idx, tuple(size))
        if u3 is None:
            t.dense = t.table0[idx][None]                                              # [1, H*W, 2C]
        return t

    def _released_table(self, f: dict, size: tuple[int, int]) -> _NormTable:
        """The released 32x top block (``model.last_block: released``): mask only, the style takes no part.

        Above the cap: gamma_s, beta_s = conv3x3(nearest(ReLU(conv3x3(M at the cap)), size)). The hidden
        features depend on the 3x3 mask patch at the cap (one row per distinct patch); after the nearest
        upsampling, a pixel's modulation depends on the hidden rows of its 3x3 neighbourhood (zero outside
        the image), so one table row per distinct neighbourhood of row ids, exactly. out = x * A + B,
        A = r gamma_s, B = beta_s - mu A (no "1 +", as the released block). At or below the cap (an input
        smaller than the model's LR size) the released block reads the styled map: a style table."""
        nb, r, mu = f["nb"], f["r"], f["mu"]
        br, C = nb.released, self.C
        msize = nb.modulation_size(size)
        m = self._masks.at(msize)                                                      # [1, N, h, w]
        h, w = msize
        wc = _conv_weight(br.conv)                                                     # [2C, hidden, 3, 3]
        if msize == tuple(size):   # at or below the cap (a small input): the released block reads the styled map
            if wc.shape[1] != self.d:
                raise ValueError(f"the released top block at {tuple(size)} (not above the mask cap) reads the "
                                 f"styled map, which needs hidden width == style length ({wc.shape[1]} != {self.d})")
            f["w_style"], f["b_style"] = wc, br.conv.bias      # a style block with weight 1 and no "1 +"
            idx, rep = self._patterns(m, 1)
            u3 = F.unfold(m, 3, padding=1)[0][:, rep].t().contiguous()                 # [P, N*9]
            a = (r * br.conv.bias[:C]).expand(rep.numel(), C)
            b = br.conv.bias[C:] - mu * a
            return _NormTable(torch.cat([a, b], 1).contiguous(), u3, idx, tuple(size))
        f.pop("w_style", None)     # above the cap: mask only
        hid_idx, hid_rep = self._patterns(m, 1)                                        # [h*w], [P1]
        hid = br.hidden_features(m).flatten(2)[0]                                      # [hidden, h*w]
        rows = hid[:, hid_rep].t()                                                     # [P1, hidden]
        p1 = rows.shape[0]
        rows = torch.cat([rows, rows.new_zeros(1, rows.shape[1])])                     # row P1: the zero padding
        ids = hid_idx.view(1, 1, h, w).to(torch.float64)
        if msize != tuple(size):
            ids = F.interpolate(ids, size=size, mode="nearest")
        ids = F.pad(ids, (1, 1, 1, 1), value=float(p1))
        keys = F.unfold(ids, 3)[0].t().round().long()                                 # [H*W, 9] hidden row ids
        _, inv = torch.unique(keys, dim=0, return_inverse=True)
        P = int(inv.max()) + 1
        rep = torch.empty(P, dtype=torch.long, device=self.device)
        rep.scatter_(0, inv, torch.arange(inv.numel(), device=self.device))
        cols = rows[keys[rep]].transpose(1, 2).reshape(P, -1)                          # [P, hidden*9] (unfold order)
        gb = torch.addmm(br.conv.bias, cols, wc.reshape(wc.shape[0], -1).t())          # [P, 2C]
        a = r * gb[:, :C]
        b = gb[:, C:] - mu * a
        return _NormTable(torch.cat([a, b], 1).contiguous(), None, inv, tuple(size))  # dense: gathered per call

    def _patterns(self, m: Tensor, radius: int) -> tuple[Tensor, Tensor]:
        """Group pixels by their zero-padded (2 radius + 1)^2 mask patch (and which of its pixels lie in
        the image, which the semantic branch's second conv sees through its zero padding).
        Returns (row of each pixel [h*w], one representative pixel per row [P])."""
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
        _, inv = torch.unique(keys, dim=0, return_inverse=True)
        P = int(inv.max()) + 1
        rep = torch.empty(P, dtype=torch.long, device=m.device)
        rep.scatter_(0, inv, torch.arange(h * w, device=m.device))
        return inv, rep

    def _prefix_output(self) -> Tensor:
        """Output of the blocks before the first style block (LR and mask), ``[1, C, h', w']``."""
        if self._prefix is None:
            if self._prefix_sem is None:
                sems = []
                for k in range(self.first):
                    blk = self.gen.blocks[k]
                    size = self._feature_size(k)
                    sems.append((blk.norm_0.semantic_modulation(self._masks, size),
                                 blk.norm_1.semantic_modulation(self._masks, size)))
                self._prefix_sem = sems
            x = self._head
            for k in range(self.first):
                blk = self.gen.blocks[k]
                if blk.upsample:
                    x = self.gen.upsample(x)
                x = blk(x, self._masks, None, self._prefix_sem[k])
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

    def _style_rows(self, styles: Tensor) -> list[Tensor | None]:
        """Per NormBlock, the style conv folded with BN and the blend: ``[K, N*9, 2C]`` (A | B)."""
        C = self.C
        out = []
        for f in self._nb:
            if "w_style" not in f:
                out.append(None)
                continue
            w_eff = torch.einsum("okij,bnk->bnijo", f["w_style"], styles)             # [K, N, 3, 3, 2C]
            w_eff = w_eff.reshape(styles.shape[0], self.N * 9, 2 * C)
            va = w_eff[..., :C] * (f["r"] * f["a_g"])
            vb = w_eff[..., C:] * f["a_b"] - f["mu"] * va
            out.append(torch.cat([va, vb], -1))
        return out

    def _flat(self, j: int, m: int) -> Tensor:
        key = (j, m)
        if key not in self._flat_idx:
            t = self._tables[j]
            off = torch.arange(m, device=self.device)[:, None] * t.rows
            self._flat_idx[key] = (t.idx[None] + off).reshape(-1)
        return self._flat_idx[key]

    def _modulate(self, j: int, x: Tensor, rows: Tensor, vrows: list, out: Tensor | None) -> Tensor:
        """x * A + B for NormBlock ``j`` and the samples ``rows``: ``[m, C, H, W]``."""
        t = self._tables[j]
        m = rows.numel()
        H, W = t.size
        C = self.C
        if t.u3 is None and t.dense is None:   # released top block: gathered per call, not kept (1 GiB at 512 px)
            dense = self._buf("static", (H * W, 2 * C))
            torch.index_select(t.table0, 0, t.idx, out=dense)
            dense = dense.view(1, H, W, 2 * C)
        elif t.u3 is None:
            dense = t.dense.view(1, H, W, 2 * C)
        else:
            P = t.rows
            v = vrows[j].index_select(0, rows)                                            # [m, N*9, 2C]
            table = self._buf("table", (m, P, 2 * C))
            torch.baddbmm(t.table0.expand(m, P, 2 * C), t.u3.expand(m, P, t.u3.shape[1]), v, out=table)
            dense = self._buf("dense", (m * H * W, 2 * C))
            torch.index_select(table.view(m * P, 2 * C), 0, self._flat(j, m), out=dense)
            dense = dense.view(m, H, W, 2 * C)
        scale = dense[..., :C].permute(0, 3, 1, 2)
        shift = dense[..., C:].permute(0, 3, 1, 2)
        if out is None:
            out = self._buf("norm", (m, C, H, W), self.channels_last)
        return torch.addcmul(shift, x, scale, out=out)

    def _block(self, k: int, x: Tensor, rows: Tensor, vrows: list) -> Tensor:
        j = 2 * (k - self.first)
        n = self._modulate(j, x, rows, vrows, None)
        F.leaky_relu_(n, 0.2)
        w, b = self._conv[(k, "conv_0")]
        dx = F.conv2d(n, w, b, padding=1)
        if self.channels_last and not dx.is_contiguous(memory_format=torch.channels_last):
            dx = dx.contiguous(memory_format=torch.channels_last)
        dx = self._modulate(j + 1, dx, rows, vrows, dx)
        F.leaky_relu_(dx, 0.2)
        w, b = self._conv[(k, "conv_1")]
        y = F.conv2d(dx, w, b, padding=1)
        y.add_(x)                                                                          # identity shortcut
        return y

    def _upsample(self, x: Tensor) -> Tensor:
        """Nearest x2 (each pixel repeated 2 x 2, as ``nn.Upsample``) into a reused buffer."""
        if not self.channels_last:
            return F.interpolate(x, scale_factor=2, mode="nearest")
        m, c, h, w = x.shape
        out = self._buf("up", (m, c, 2 * h, 2 * w), True)
        src = x.permute(0, 2, 3, 1)[:, :, None, :, None, :].expand(m, h, 2, w, 2, c)
        out.permute(0, 2, 3, 1).view(m, h, 2, w, 2, c).copy_(src)
        return out

    def _max_batch(self, size: tuple[int, int]) -> int:
        per = self.C * size[0] * size[1] * torch.finfo(self.dtype).bits // 8
        return max(1, self.max_activation_bytes // per)

    def _descend(self, k: int, x: Tensor, rows: Tensor, vrows: list) -> Tensor:
        """Run blocks k.. on ``x`` (the input of block k; batch 1 = shared by all ``rows``) -> images."""
        blocks = self.gen.blocks
        while k < len(blocks):
            mb = self._max_batch(self._feature_size(k))
            if rows.numel() > mb:
                return torch.cat([self._descend(k, x if x.shape[0] == 1 else x[s:s + mb], rows[s:s + mb], vrows)
                                  for s in range(0, rows.numel(), mb)])
            if blocks[k].upsample:
                x = self._upsample(x)
            x = self._block(k, x, rows, vrows)
            k += 1
        F.leaky_relu_(x, 0.2)
        w, b = self._out_conv
        return torch.tanh_(F.conv2d(x, w, b, padding=1))                                  # [m, 3, H, W]

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
        from tqdm.auto import tqdm
        chunk = self.chunk if chunk is None else chunk
        if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
            raise ValueError(f"chunk must be a positive integer, got {chunk!r}")
        t0 = time.perf_counter()
        H, W = self._lr.shape[-2] * self.factor, self._lr.shape[-1] * self.factor
        out = torch.empty(k, 3, H, W, device=self.device, dtype=self.dtype)
        x0 = self._prefix_output()
        with tqdm(total=k, desc="exploring", unit="img", disable=not progress or k == 0, leave=False) as bar:
            for a in range(0, k, chunk):
                b = min(a + chunk, k)
                s = styles[a:b] if styles is not None else self._check_styles(get(a, b))
                vrows = self._style_rows(s)
                rows = torch.arange(b - a, device=self.device)
                out[a:b] = self._descend(self.first, x0, rows, vrows)
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
                                                               classes=classes), k, progress, chunk)

    def walk(self, delta: float = 0.15, steps: int = 5, classes=None, progress: bool = False) -> Tensor:
        """Figs. 3, 4 (all rows) and 10 (``classes``): ``[steps, 3, H, W]``, the middle one unchanged."""
        return self.generate(style_walk(self._base_style(), delta, steps, classes), progress=progress)

    def region_edit(self, classes, offsets: Sequence[float], direction=None, progress: bool = False) -> Tensor:
        """One image per offset of the rows of ``classes`` (a per-region slider): ``[len(offsets), 3, H, W]``."""
        base = self._base_style()
        styles = torch.stack([region_offset(base[0], classes, float(o), direction) for o in offsets])
        return self.generate(styles, progress=progress)

    def table_rows(self) -> list[tuple[tuple[int, int], int]]:
        """(feature size, number of table rows) of every style-level NormBlock: how much the mask compresses."""
        return [(t.size, t.rows) for t in self._tables]
