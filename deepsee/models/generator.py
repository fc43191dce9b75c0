"""The DeepSEE generator (supplement Section 1.2, Table 4, Fig. 1): formulas -> branches -> NormBlock -> Generator.

Upscaling factor 2^i from an LR image: head conv 3->C on the LR image, a ResBlock with semantics only at
LR size, nearest x2, two ResBlocks with semantics and style, then (i - 1) x (nearest x2, ResBlock),
LeakyReLU(0.2), conv C->3, tanh. Every level keeps C channels.

The style matrix ``S [B, N, d]`` (one row of d numbers per semantic region) is the style encoders'
regional average pooling, Eqs. 1-2 (``deepsee.models.encoders.regional_average_pool``). Here every pixel
receives its region's row, the *styled map* ``sum_n S[b, n, :] M[b, n, x, y]``
(``deepsee.models.encoders.styled_map``).

NormBlock (Fig. 1, :class:`NormBlock`), ``x_hat = BN(x)`` with BatchNorm(affine=False, running statistics):
    semantic branch (SPADE):  h = ReLU(conv(M)),  gamma, beta = conv(h)
    style branch (SEAN):      gamma_s, beta_s = conv(styled map)
    out = x_hat * (1 + a_g * gamma_s + (1 - a_g) * gamma) + a_b * beta_s + (1 - a_b) * beta     (:func:`blend`)
    a_g = sigmoid(alpha_gamma), a_b = sigmoid(alpha_beta), scalars initialised U[0, 1).

The style branch is computed by default through *effective weights*: the styled map is linear in the
mask, so conv(sum_n S_n M_n) = conv(M; W_eff) with W_eff[b, o, n] = sum_k W[o, k] S[b, n, k] and the
bias unchanged, exactly, for any (soft) mask and with zero padding. That convolves N = 19 mask channels
instead of d = 128 styled-map channels. ``style_branch="direct"`` builds the styled map and convolves
it, as the authors' code does; both give the same numbers (tests check < 1e-5).

Block kinds (the ablations of the main paper; which variant has which: ``deepsee.config.VARIANT_FACTS``):
    "both"     semantic + style branches, blended        (independent / guided, all blocks but the first)
    "semantic" semantic branch only                       (first block; every block of ``semantics_only``)
    "style"    style branch only                          (``lr_style_only`` / ``hr_style_only``)
    "prior"    BatchNorm with a learned per-channel affine (``prior_only``; first block of the style-only
               ablations, which is the full model's first block with its semantic branch removed)
    "released" the authors' 32x model's 512 px block, style ignored (``model.last_block: released``)

32x (``max_mask_size`` > 0): masks are resized to at most ``max_mask_size`` inside NormBlocks; the
modulation maps are computed at that size and upsampled (nearest) to the features. A "both" block whose
features are larger than ``max_mask_size`` (the 512 px block of the 32x model) has no semantic branch, as
in the authors' 32x model. ``model.last_block`` says what it computes there:

    "style_only" (default)  kind "style": a true style-only block, out = BN(x) (1 + gamma_s) + beta_s from
                            the styled map at the cap. The kit's design: the authors' code ignores the
                            style in this block, which is a defect. 61,670,375 generator parameters.
    "released"              kind "released" (``deepsee.models.released``): exactly what the authors' 32x
                            block (up_list.3) computes, for their checkpoints: its style convs read the
                            upsampled *semantic hidden features* instead of the styled map, so the style is
                            ignored there, and out = BN(x) * gamma_s + beta_s (no "1 +"). 61,714,407
                            generator parameters (Table 4's 32x count: + 2 x 22,016 hidden).

The eval-mode folded form of a NormBlock (``out = x * A + B``, linear in the style), which the exploration
engine runs instead, is ``deepsee.models.folded``. Activation checkpointing (``grad_checkpoint=``) and the
style branch's computation (``style_branch=``) are chosen when the generator is built.

The training speed-ups (``train.speedups``) are subclasses of these modules in ``deepsee.models.fast``,
chosen when the model is built (:class:`Parts`, ``DeepSEE(cfg, speedups=...)``); they compute the same
numbers in another order and keep the state-dict keys.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from ..config import VARIANT_FACTS, check_factor
from .encoders import styled_map
from .layers import NoiseInjection, conv2d, init_conv_
from .masks import MaskPyramid
from .released import RELEASED, Modulation, ReleasedStyleBranch

KINDS = ("prior", "semantic", "style", "both", RELEASED)
STYLE_BRANCH_MODES = ("effective", "direct")


# ----------------------------------------------------------------------------------------------------
# The formulas of Fig. 1, once, on maps [B, C, H, W] and on table rows [..., C] alike


def blend(semantic: Tensor | None, style: Tensor, w_semantic, w_style) -> Tensor:
    """Fig. 1's blend of a semantic and a style modulation: ``semantic * w_semantic + style * w_style``,
    with ``w_style`` = a_g (gamma) or a_b (beta) and ``w_semantic = 1 - w_style``: scalars, or per-channel
    vectors for rows ``[..., C]``. ``semantic=None``: the style term alone (the part linear in the style)."""
    return style * w_style if semantic is None else semantic * w_semantic + style * w_style


def effective_weight(weight: Tensor, style: Tensor) -> Tensor:
    """W_eff[b, o, n, i, j] = sum_k W[o, k, i, j] * S[b, n, k]: the style conv ``weight`` ``[2C, d, 3, 3]``
    seen through each sample's style ``[B, N, d]``. -> ``[B, 2C, N, 3, 3]``."""
    return torch.einsum("okij,bnk->bonij", weight, style.to(weight.dtype))


def conv_effective(mask: Tensor, weight_eff: Tensor, bias: Tensor | None = None) -> Tensor:
    """Convolve each sample's mask ``[B, N, h, w]`` with its own effective weights (one grouped conv),
    plus ``bias`` ``[2C]`` if given. -> ``[B, 2C, h, w]``."""
    b, n, h, w = mask.shape
    o = weight_eff.shape[1]
    y = F.conv2d(mask.reshape(1, b * n, h, w).to(weight_eff.dtype), weight_eff.reshape(b * o, n, 3, 3),
                 padding=1, groups=b).view(b, o, h, w)
    return y if bias is None else y + bias.view(1, o, 1, 1)


# ----------------------------------------------------------------------------------------------------
# Branches


class SemanticBranch(nn.Module):
    """SPADE: conv3x3 N->hidden + ReLU (shared), conv3x3 hidden->C for gamma and another for beta.

    gamma and beta live in one conv with 2C outputs (gamma first), initialised as two."""

    def __init__(self, *, num_classes: int = 19, hidden: int = 128, channels: int = 512):
        super().__init__()
        self.hidden = conv2d(num_classes, hidden, 3)
        self.act = nn.ReLU()
        self.out = conv2d(hidden, 2 * channels, 3, splits=2)    # [gamma | beta]

    def hidden_features(self, mask: Tensor) -> Tensor:           # [B, N, h, w] -> [B, hidden, h, w]
        return self.act(self.hidden(mask))

    def forward(self, mask: Tensor) -> Modulation:               # [B, N, h, w]
        gamma, beta = self.out(self.hidden_features(mask)).chunk(2, dim=1)
        return gamma, beta                                        # [B, C, h, w] each

class StyleBranch(nn.Module):
    """SEAN style branch: conv3x3 d->C for gamma_s and another for beta_s over the styled map.

    No hidden layer. gamma_s and beta_s share one conv with 2C outputs (gamma_s first).
    """

    def __init__(self, *,
                 num_classes: int = 19,
                 style_dim: int = 128,
                 channels: int = 512,
                 mode: str = "effective",           # "effective" (mask conv, per-sample weights) | "direct"
                 keep_unused_conv: bool = True):    # the authors' block's unused Conv1d(N, N, 1)
        super().__init__()
        if mode not in STYLE_BRANCH_MODES:
            raise ValueError(f"style_branch={mode!r}; expected one of {STYLE_BRANCH_MODES}")
        self.mode = mode
        self.conv = conv2d(style_dim, 2 * channels, 3, splits=2)  # [gamma_s | beta_s]
        # The authors' NormBlock owns a Conv1d(19, 19, 1) that its forward never calls (380 params).
        # Table 4's 9,488,636 per ResBlock counts it, so it is kept (cfg.keep_unused_style_conv) for the
        # counts and for importing; it takes no part in any computation and receives no gradient.
        self.unused = init_conv_(nn.Conv1d(num_classes, num_classes, 1)) if keep_unused_conv else None

    def forward(self, mask: Tensor, style: Tensor) -> Modulation:   # [B, N, h, w], [B, N, d]
        if self.mode == "direct":                                    # the styled map, convolved
            y = self.conv(styled_map(mask, style))
        else:                                                        # the mask, with effective weights
            y = conv_effective(mask, effective_weight(self.conv.weight, style), self.conv.bias)
        gamma_s, beta_s = y.chunk(2, dim=1)
        return gamma_s, beta_s                                       # [B, C, h, w] each


# ----------------------------------------------------------------------------------------------------
# NormBlock


class NormBlock(nn.Module):
    """BatchNorm(affine=False) modulated by semantics and/or style (Fig. 1); see the module docstring.

    ``forward`` is the network's computation; ``deepsee.models.folded`` its eval-mode form with BatchNorm
    folded in, linear in the style (the exploration engine).
    """

    def __init__(self, *,
                 channels: int,                    # C, feature channels
                 kind: str,                        # one of KINDS
                 num_classes: int = 19,            # N
                 hidden: int = 128,                # semantic hidden width
                 style_dim: int = 128,             # d
                 style_branch: str = "effective",  # "effective" | "direct"
                 keep_unused_style_conv: bool = True,
                 max_mask_size: int = 0,           # compute modulation at most at this side (0 = off)
                 resolution: int = 0,              # nominal feature side (for descriptions only)
                 grad_checkpoint: bool = False,    # recompute the modulation in the backward (training memory)
                 parts: "Parts | None" = None):    # the module classes (deepsee.models.fast: speed-ups)
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"NormBlock kind={kind!r}; expected one of {KINDS}")
        parts = parts or Parts()
        self.kind = kind
        self.channels = channels
        self.num_classes = num_classes
        self.max_mask_size = max_mask_size
        self.resolution = resolution
        self.grad_checkpoint = grad_checkpoint
        self.norm = nn.BatchNorm2d(channels, affine=False)   # SyncBatchNorm under DDP (training code)
        self.semantic = (SemanticBranch(num_classes=num_classes, hidden=hidden, channels=channels)
                         if kind in ("semantic", "both") else None)
        self.style = (parts.style_branch(num_classes=num_classes, style_dim=style_dim, channels=channels,
                                         mode=style_branch, keep_unused_conv=keep_unused_style_conv)
                      if kind in ("style", "both") else None)
        self.released = (ReleasedStyleBranch(num_classes=num_classes, hidden=hidden, channels=channels,
                                             keep_unused_conv=keep_unused_style_conv)
                         if kind == RELEASED else None)
        if kind == "both":
            self.alpha_gamma = nn.Parameter(torch.rand(1))   # blend logits, U[0, 1) as the authors'
            self.alpha_beta = nn.Parameter(torch.rand(1))
        if kind == "prior":
            self.prior_scale = nn.Parameter(torch.ones(channels))
            self.prior_shift = nn.Parameter(torch.zeros(channels))

    @property
    def uses_mask(self) -> bool:
        return self.kind != "prior"

    @property
    def uses_style(self) -> bool:
        return self.style is not None   # the authors' block: False, it ignores the style above the mask cap

    def modulation_size(self, size: tuple[int, int]) -> tuple[int, int]:
        """The side at which the modulation maps are computed (the mask cap of the 32x configuration)."""
        if self.max_mask_size > 0:
            return (min(size[0], self.max_mask_size), min(size[1], self.max_mask_size))
        return tuple(size)

    def _to_size(self, maps: Modulation, size: tuple[int, int]) -> Modulation:
        if tuple(maps[0].shape[-2:]) == tuple(size):
            return maps
        return tuple(F.interpolate(m, size=size, mode="nearest") for m in maps)

    def mask_at(self, masks: MaskPyramid | Tensor, size: tuple[int, int]) -> Tensor:
        """The mask at the size this block computes its modulation for features of ``size``."""
        return MaskPyramid.wrap(masks, self.num_classes).at(self.modulation_size(size))

    def semantic_modulation(self, masks: MaskPyramid | Tensor, size: tuple[int, int]) -> Modulation | None:
        """(gamma, beta) ``[B, C, *size]`` from the mask alone, or None without a semantic branch."""
        if self.semantic is None:
            return None
        return self._to_size(self.semantic(self.mask_at(masks, size)), size)

    def style_modulation(self, masks: MaskPyramid | Tensor, style: Tensor,
                         size: tuple[int, int]) -> Modulation | None:
        """(gamma_s, beta_s) ``[B, C, *size]``, or None without a style branch."""
        if self.style is None:
            return None
        return self._to_size(self.style(self.mask_at(masks, size), style), size)

    def blend_weights(self) -> tuple[Tensor, Tensor]:
        """(a_g, a_b) = sigmoid of the blend logits: the weights of the *style* gamma and beta."""
        if self.kind == "both":
            return torch.sigmoid(self.alpha_gamma), torch.sigmoid(self.alpha_beta)
        weight = self.norm.running_mean.new_full((1,), 1.0 if self.kind in ("style", RELEASED) else 0.0)
        return weight, weight

    def channel_weights(self) -> tuple[Tensor, Tensor]:
        """The blend weights per channel of ``[gamma | beta]``: ``(1 - w, w)``, ``w = [a_g] * C + [a_b] * C``."""
        a_g, a_b = self.blend_weights()
        w_style = torch.cat([a_g.expand(self.channels), a_b.expand(self.channels)])   # [2C]
        return 1 - w_style, w_style

    def blended(self, masks: MaskPyramid | Tensor, style: Tensor | None,
                size: tuple[int, int]) -> Modulation:
        """(gamma, beta) ``[B, C, *size]`` of a "semantic", "style" or "both" block: one branch's, or Fig. 1's
        blend ``gamma = (1 - a_g) gamma_semantic + a_g gamma_s`` (and beta with a_b) of both."""
        semantic = self.semantic_modulation(masks, size)          # SPADE, or None
        styled = self.style_modulation(masks, style, size)        # SEAN, or None
        if styled is None or semantic is None:
            return semantic or styled
        a_g, a_b = self.blend_weights()
        return blend(semantic[0], styled[0], 1 - a_g, a_g), blend(semantic[1], styled[1], 1 - a_b, a_b)

    def modulate(self, x_hat: Tensor, masks: MaskPyramid | Tensor | None, style: Tensor | None) -> Tensor:
        """Fig. 1 after the BatchNorm: ``x_hat * (1 + gamma) + beta``."""
        size = tuple(x_hat.shape[-2:])
        if self.kind == "prior":                                  # a learned per-channel affine
            return x_hat * self.prior_scale.view(1, -1, 1, 1) + self.prior_shift.view(1, -1, 1, 1)
        if self.kind == RELEASED:                                 # the authors' top block: no "1 +"
            gamma_s, beta_s = self.released(self.mask_at(masks, size), style, size)
            return x_hat * gamma_s + beta_s
        gamma, beta = self.blended(masks, style, size)
        return x_hat * (1 + gamma) + beta

    def forward(self, x: Tensor, masks: MaskPyramid | Tensor | None, style: Tensor | None = None) -> Tensor:
        x_hat = self.norm(x)   # outside the checkpoint: a recompute would update the running stats twice
        if self.grad_checkpoint and self.training and torch.is_grad_enabled():
            return checkpoint(self.modulate, x_hat, masks, style, use_reentrant=False)
        return self.modulate(x_hat, masks, style)


# ----------------------------------------------------------------------------------------------------
# ResBlock


@dataclass(frozen=True)
class Parts:
    """The module classes a generator is built from: the paper's (the defaults), or the training speed-ups'
    subclasses (``deepsee.models.fast.parts``)."""
    norm_block: type = NormBlock
    style_branch: type = StyleBranch
    noise: type = NoiseInjection


class ResBlock(nn.Module):
    """Fig. 1 as the authors built it: identity shortcut (with noise), main path
    NormBlock -> LReLU -> conv3x3 (bias, SN) -> + noise -> NormBlock -> LReLU -> conv3x3 (bias, SN).

    The seed's prose puts a NormBlock on the shortcut; the parameter counts only match without it.
    """

    def __init__(self, *,
                 channels: int,                 # C (input = output)
                 kind: str,                     # NormBlock kind of both NormBlocks
                 noise: bool = True,            # learnable noise injections (training only)
                 upsample: bool = False,        # the generator upsamples x2 before this block
                 level: int = 0,                # resolution = LR side * 2**level
                 resolution: int = 0,           # nominal feature side
                 parts: Parts | None = None,    # the module classes (deepsee.models.fast: speed-ups)
                 **norm_kwargs):
        super().__init__()
        parts = parts or Parts()
        self.kind = kind
        self.upsample = upsample
        self.level = level
        self.resolution = resolution
        self.noise_in = parts.noise(channels=channels) if noise else None
        self.noise_skip = parts.noise(channels=channels) if noise else None
        self.noise_mid = parts.noise(channels=channels) if noise else None
        self.norm_0 = parts.norm_block(channels=channels, kind=kind, resolution=resolution, parts=parts, **norm_kwargs)
        self.conv_0 = conv2d(channels, channels, 3, spectral=True)
        self.norm_1 = parts.norm_block(channels=channels, kind=kind, resolution=resolution, parts=parts, **norm_kwargs)
        self.conv_1 = conv2d(channels, channels, 3, spectral=True)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x: Tensor, masks: MaskPyramid | None, style: Tensor | None = None) -> Tensor:
        if self.noise_in is not None:
            x = self.noise_in(x)
        x_s = self.noise_skip(x) if self.noise_skip is not None else x     # fresh noise on the shortcut
        dx = self.conv_0(self.act(self.norm_0(x, masks, style)))
        if self.noise_mid is not None:
            dx = self.noise_mid(dx)
        dx = self.conv_1(self.act(self.norm_1(dx, masks, style)))
        return x_s + dx


# ----------------------------------------------------------------------------------------------------
# Generator


def block_levels(factor: int) -> list[int]:
    """Level of each ResBlock (feature side = LR side * 2**level): 0, 1, 1, 2, ..., i."""
    i = int(round(math.log2(factor)))
    return [0, 1, 1] + list(range(2, i + 1))


def block_kinds(variant: str, factor: int, lr_size: int = 16, max_mask_size: int = 0,
                last_block: str = "style_only") -> list[str]:
    """NormBlock kind of every ResBlock for a variant (``VARIANT_FACTS``; the 32x top block: module docstring).
    ``last_block`` is validated with the model config (``deepsee.config``)."""
    if variant not in VARIANT_FACTS:
        raise ValueError(f"model variant {variant!r}; expected one of {tuple(VARIANT_FACTS)}")
    facts = VARIANT_FACTS[variant]
    levels = block_levels(factor)
    kinds = [facts.first_block] + [facts.block] * (len(levels) - 1)
    if max_mask_size > 0:   # the authors' 32x structure: no semantic branch above the mask cap
        top = RELEASED if last_block == "released" else "style"
        kinds = [top if k == "both" and lr_size * 2 ** lv > max_mask_size else k
                 for k, lv in zip(kinds, levels)]
    return kinds


class Generator(nn.Module):
    """LR image + mask (+ style matrix) -> SR image in [-1, 1] (Table 4).

    Walking the structure: ``blocks`` (ResBlocks in order; ``block.upsample`` says whether a nearest x2
    precedes it, ``block.level`` / ``block.resolution`` its size), ``norm_blocks()`` (the 2 NormBlocks of
    every ResBlock in order). ``forward`` is ``head_conv``, then ``block(k, ...)`` for every k, then
    ``image`` (the exploration engine runs the blocks with precomputed NormBlocks: ``deepsee.models.folded``).
    """

    def __init__(self, *,
                 factor: int = 8,                      # 2**i, i = 2..5
                 lr_size: int = 16,                    # nominal LR side (descriptions, 32x mask cap)
                 block_kinds: Sequence[str],           # NormBlock kind per ResBlock, i + 2 entries
                 num_classes: int = 19,                # N
                 channels: int = 512,                  # C
                 style_dim: int = 128,                 # d
                 hidden: int = 128,                    # semantic hidden width
                 noise: bool = True,                   # ResBlock noise injections
                 keep_unused_style_conv: bool = True,  # the authors' unused Conv1d (Table 4 counts)
                 max_mask_size: int = 0,               # mask cap inside NormBlocks (0 = off)
                 style_branch: str = "effective",      # "effective" | "direct"
                 grad_checkpoint: bool = False,        # recompute NormBlock modulations in the backward
                 parts: Parts | None = None):          # the module classes (deepsee.models.fast: speed-ups)
        super().__init__()
        check_factor(factor)
        levels = block_levels(factor)
        if len(block_kinds) != len(levels):
            raise ValueError(f"factor {factor} needs {len(levels)} block kinds, got {len(block_kinds)}")
        self.factor = factor
        self.lr_size = lr_size
        self.num_classes = num_classes
        self.channels = channels
        self.style_dim = style_dim
        self.head_conv = conv2d(3, channels, 3)
        self.blocks = nn.ModuleList([
            ResBlock(channels=channels, kind=kind, noise=noise, upsample=k > 0 and lv > levels[k - 1], level=lv,
                     resolution=lr_size * 2 ** lv, parts=parts, num_classes=num_classes, hidden=hidden,
                     style_dim=style_dim, style_branch=style_branch,
                     keep_unused_style_conv=keep_unused_style_conv, max_mask_size=max_mask_size,
                     grad_checkpoint=grad_checkpoint)
            for k, (kind, lv) in enumerate(zip(block_kinds, levels))])
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")
        self.act = nn.LeakyReLU(0.2)
        self.out_conv = conv2d(channels, 3, 3)
        self.tanh = nn.Tanh()

    # -- structure ---------------------------------------------------------------------------------
    def norm_blocks(self) -> list[NormBlock]:
        return [nb for blk in self.blocks for nb in (blk.norm_0, blk.norm_1)]

    @property
    def block_kinds(self) -> list[str]:
        return [blk.kind for blk in self.blocks]

    @property
    def uses_mask(self) -> bool:
        return any(nb.uses_mask for nb in self.norm_blocks())

    @property
    def uses_style(self) -> bool:
        return any(nb.uses_style for nb in self.norm_blocks())

    @property
    def style_branch(self) -> str:
        modes = {nb.style.mode for nb in self.norm_blocks() if nb.style is not None}
        return modes.pop() if len(modes) == 1 else "effective"

    def describe(self) -> list[dict]:
        """One row per ResBlock: index, kind, level, nominal resolution, upsample-before flag."""
        return [dict(index=k, kind=b.kind, level=b.level, resolution=b.resolution, upsample=b.upsample)
                for k, b in enumerate(self.blocks)]

    def feature_sizes(self, lr_hw: tuple[int, int]) -> list[tuple[int, int]]:
        """The feature size of every ResBlock for an LR input of ``lr_hw``."""
        return [(lr_hw[0] * 2 ** b.level, lr_hw[1] * 2 ** b.level) for b in self.blocks]

    # -- computation -------------------------------------------------------------------------------
    def mask_pyramid(self, mask: Tensor | MaskPyramid | None, batch: int) -> MaskPyramid | None:
        """The mask of ``batch`` images as the blocks read it (labels, one-hot or soft, any size; resized
        per block), or None when no block reads one."""
        if not self.uses_mask:
            return None
        if mask is None:
            raise ValueError("this generator needs a semantic mask ([B, H, W] labels or [B, N, H, W])")
        masks = MaskPyramid.wrap(mask, self.num_classes)
        if masks.full.shape[0] != batch:
            raise ValueError(f"mask batch {masks.full.shape[0]} != lr batch {batch}")
        return masks

    def block(self, k: int, x: Tensor, masks: MaskPyramid | None, style: Tensor | None = None) -> Tensor:
        """ResBlock ``k`` (after its nearest x2, if any) on ``x``."""
        blk = self.blocks[k]
        if blk.upsample:
            x = self.upsample(x)
        return blk(x, masks, style)

    def image(self, x: Tensor) -> Tensor:
        """The last block's features -> the image: LeakyReLU(0.2), conv C->3, tanh. ``[B, 3, H, W]``."""
        return self.tanh(self.out_conv(self.act(x)))

    def forward(self, lr: Tensor, mask: Tensor | MaskPyramid | None, style: Tensor | None = None) -> Tensor:
        """``lr [B, 3, h, w]`` in [-1, 1], mask at HR size, ``style [B, N, d]`` -> ``[B, 3, h*f, w*f]``."""
        if lr.ndim != 4 or lr.shape[1] != 3:
            raise ValueError(f"lr must be [B, 3, h, w]; got {tuple(lr.shape)}")
        masks = self.mask_pyramid(mask, lr.shape[0])
        if self.uses_style:
            if style is None:
                raise ValueError("this generator needs a style matrix [B, N, d] (DeepSEE.encode_style)")
            if style.shape != (lr.shape[0], self.num_classes, self.style_dim):
                raise ValueError(f"style must be [B={lr.shape[0]}, N={self.num_classes}, d={self.style_dim}]; "
                                 f"got {tuple(style.shape)}")
        x = self.head_conv(lr)                                              # [B, C, h, w]
        for k in range(len(self.blocks)):
            x = self.block(k, x, masks, style)
        return self.image(x)                                                # [B, 3, H, W]


def build_generator(cfg, style_branch: str = "effective", parts: Parts | None = None,
                    grad_checkpoint: bool = False) -> Generator:
    """The generator of a ``ModelConfig`` (``parts``: the module classes, ``deepsee.models.fast.parts``;
    ``grad_checkpoint``: ``train.grad_checkpoint``)."""
    kinds = block_kinds(cfg.variant, cfg.factor, cfg.lr_size, cfg.max_mask_size, cfg.last_block)
    return Generator(factor=cfg.factor, lr_size=cfg.lr_size, block_kinds=kinds, num_classes=cfg.num_classes,
                     channels=cfg.channels, style_dim=cfg.style_dim, hidden=cfg.hidden, noise=cfg.noise,
                     keep_unused_style_conv=cfg.keep_unused_style_conv, max_mask_size=cfg.max_mask_size,
                     style_branch=style_branch, grad_checkpoint=grad_checkpoint, parts=parts)
