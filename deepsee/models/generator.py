"""The DeepSEE generator (supplement Section 1.2, Table 4, Fig. 1): branches -> NormBlock -> ResBlock -> Generator.

Upscaling factor 2^i from an LR image: head conv 3->C on the LR image, a ResBlock with semantics only at
LR size, nearest x2, two ResBlocks with semantics and style, then (i - 1) x (nearest x2, ResBlock),
LeakyReLU(0.2), conv C->3, tanh. Every level keeps C channels.

NormBlock (Fig. 1), ``x_hat = BN(x)`` with BatchNorm(affine=False, running statistics):
    semantic branch (SPADE):  h = ReLU(conv(M)),  gamma, beta = conv(h)
    style branch (SEAN):      gamma_s, beta_s = conv(sum_n S[b, n, :] * M[b, n])    (the "styled map")
    out = x_hat * (1 + a_g * gamma_s + (1 - a_g) * gamma) + a_b * beta_s + (1 - a_b) * beta,
    a_g = sigmoid(alpha_gamma), a_b = sigmoid(alpha_beta), scalars initialised U[0, 1).

The style branch is computed by default through *effective weights*: the styled map is linear in the
mask, so conv(sum_n S_n M_n) = conv(M; W_eff) with W_eff[b, o, n] = sum_k W[o, k] S[b, n, k] and the
bias unchanged, exactly, for any (soft) mask and with zero padding. That convolves N = 19 mask channels
instead of d = 128 styled-map channels. ``style_branch="direct"`` builds the styled map and convolves
it, as the released code does; both give the same numbers (tests check < 1e-5).

Block kinds (the ablations of the main paper):
    "both"     semantic + style branches, blended        (independent / guided, all blocks but the first)
    "semantic" semantic branch only                       (first block; every block of ``semantics_only``)
    "style"    style branch only                          (``lr_style_only`` / ``hr_style_only``)
    "prior"    BatchNorm with a learned per-channel affine (``prior_only``; first block of the style-only
               ablations, which is the full model's first block with its semantic branch removed)
    "released_style"  the released 32x model's 512 px block, style ignored (``model.last_block: released``)

32x (``max_mask_size`` > 0): masks are resized to at most ``max_mask_size`` inside NormBlocks; the
modulation maps are computed at that size and upsampled (nearest) to the features. A "both" block whose
features are larger than ``max_mask_size`` (the 512 px block of the 32x model) has no semantic branch, as
in the released 32x model. ``model.last_block`` says what it computes there:

    "style_only" (default)  kind "style": a true style-only block, out = BN(x) (1 + gamma_s) + beta_s from
                            the styled map at the cap. The kit's design: the released code path ignores
                            the style in this block, which is a defect. 61,670,375 generator parameters.
    "released"              kind "released_style": exactly what the released 32x block (up_list.3)
                            computes, for its checkpoints. Its style convs read the *semantic hidden
                            features* instead of the styled map (the released code overwrites the map above
                            the cap), so the style is ignored in this block:
                                h = ReLU(conv3x3(M at the cap))        (the semantic hidden layer it owns)
                                h = nearest(h, feature size)           (upsampled *before* the convs)
                                gamma_s, beta_s = conv3x3(h), conv3x3(h)   (mlp_style_gamma / mlp_style_beta)
                                out = BN(x) * gamma_s + beta_s         (no "1 +": the released block's formula)
                            At or below the cap (only for an input smaller than the model's LR size) the
                            released block reads the styled map instead, and so does this one.
                            61,714,407 generator parameters (Table 4's 32x count: + 2 x 22,016 hidden).
                            The upsampling before the convs and the missing "1 +" are the released
                            block's (PureSEAN_Block in the authors' normalization.py); the supplement
                            does not spell them out (docs/ARCHITECTURE_NOTES.md "32x" records them).

The other blocks of the released 32x model map one to one (none of them is above the cap).
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from ..config import LAST_BLOCKS, check_factor   # LAST_BLOCKS: what the block(s) above the 32x mask cap compute
from .layers import NoiseInjection, conv2d, init_conv_
from .masks import MaskPyramid

KINDS = ("prior", "semantic", "style", "both", "released_style")
STYLE_BRANCH_MODES = ("effective", "direct")
Modulation = tuple[Tensor, Tensor]            # (gamma, beta), each [B, C, h, w]


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

    def forward(self, mask: Tensor) -> Modulation:               # [B, N, h, w]
        gamma, beta = self.out(self.act(self.hidden(mask))).chunk(2, dim=1)
        return gamma, beta                                        # [B, C, h, w] each


def styled_map(mask: Tensor, style: Tensor) -> Tensor:
    """sum_n S[b, n, :] * M[b, n, x, y]: each pixel carries its region's style. -> ``[B, d, h, w]``."""
    return torch.einsum("bnk,bnhw->bkhw", style, mask.to(style.dtype))


def _layout(x: Tensor) -> torch.memory_format:
    if x.ndim == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
        return torch.channels_last
    return torch.contiguous_format


def _autocast_on() -> bool:
    return any(torch.is_autocast_enabled(d) for d in ("cpu", "cuda"))


class _StyledMapConv(torch.autograd.Function):
    """``conv3x3(styled_map(mask, style), weight, bias)``: the forward as released (the d-channel styled
    map is built and convolved); the backward through the effective weights (training speed-up
    ``direct_effective_backward``).

    The map is linear in the style, so with ``gW_eff[b, o, n, i, j]`` = the weight gradient of a conv of
    the *mask* (N channels, cheap) with the output gradient: ``dL/dW[o, k] = sum_b,n S[b, n, k] gW_eff``
    and ``dL/dS[b, n, k] = sum_o,i,j W[o, k, i, j] gW_eff``, exactly (same sums, another order). The
    plain backward convolves the d = 128-channel map twice (input and weight gradients). A mask that
    needs a gradient (soft masks in exploration) gets it through the styled map as usual."""

    @staticmethod
    def forward(ctx, mask, style, weight, bias, h=None, w_h=None):
        """With ``h`` and ``w_h`` (the fused "both" block) the semantic conv joins in: one convolution of
        ``[h | styled map]`` with ``[w_h | weight]``; its part of the backward is the plain conv backward."""
        ctx.save_for_backward(mask, style, weight, h, w_h)
        ctx.has_bias = bias is not None
        if h is not None:
            return _cat_conv(h, styled_map(mask, style), w_h, weight, bias)
        return F.conv2d(styled_map(mask, style), weight, bias, padding=weight.shape[-1] // 2)

    @staticmethod
    def backward(ctx, grad):
        mask, style, weight, hid, w_h = ctx.saved_tensors
        g_h = g_wh = None
        if hid is not None and (ctx.needs_input_grad[4] or ctx.needs_input_grad[5]):
            p = weight.shape[-1] // 2
            g_h, g_wh, _ = torch.ops.aten.convolution_backward(
                grad.contiguous(), hid, w_h, None, [1, 1], [p, p], [1, 1], False, [0, 0], 1,
                [ctx.needs_input_grad[4], ctx.needs_input_grad[5], False])
        b, n, h, w = mask.shape
        o, k = weight.shape[0], weight.shape[-1]
        pad = k // 2
        grad = grad.contiguous()
        g_mask = g_style = g_weight = g_bias = None
        if ctx.needs_input_grad[1] or ctx.needs_input_grad[2]:
            m = mask.to(grad.dtype).reshape(1, b * n, h, w)
            g_eff = torch.nn.grad.conv2d_weight(m, (b * o, n, k, k), grad.reshape(1, b * o, h, w),
                                                padding=pad, groups=b).view(b, o, n, k, k)
            if ctx.needs_input_grad[1]:
                g_style = torch.einsum("okij,bonij->bnk", weight, g_eff)
            if ctx.needs_input_grad[2]:
                g_weight = torch.einsum("bonij,bnk->okij", g_eff, style.to(grad.dtype))
        if ctx.needs_input_grad[0]:
            g_map = torch.nn.grad.conv2d_input((b, weight.shape[1], h, w), weight, grad, padding=pad)
            g_mask = torch.einsum("bkhw,bnk->bnhw", g_map, style.to(grad.dtype)).to(mask.dtype)
        if ctx.has_bias and ctx.needs_input_grad[3]:
            g_bias = grad.sum((0, 2, 3))
        return g_mask, g_style, g_weight, g_bias, g_h, g_wh


class StyleBranch(nn.Module):
    """SEAN style branch: conv3x3 d->C for gamma_s and another for beta_s over the styled map.

    No hidden layer. gamma_s and beta_s share one conv with 2C outputs (gamma_s first).
    """

    def __init__(self, *,
                 num_classes: int = 19,
                 style_dim: int = 128,
                 channels: int = 512,
                 mode: str = "effective",           # "effective" (mask conv, per-sample weights) | "direct"
                 keep_unused_conv: bool = True):    # the released block's unused Conv1d(N, N, 1)
        super().__init__()
        if mode not in STYLE_BRANCH_MODES:
            raise ValueError(f"style_branch={mode!r}; expected one of {STYLE_BRANCH_MODES}")
        self.mode = mode
        self.effective_backward = False   # "direct": gradient through the effective weights (training speed-up)
        self.conv = conv2d(style_dim, 2 * channels, 3, splits=2)  # [gamma_s | beta_s]
        # The released NormBlock owns a Conv1d(19, 19, 1) that its forward never calls (380 params).
        # Table 4's 9,488,636 per ResBlock counts it, so it is kept (cfg.keep_unused_style_conv) for the
        # counts and for importing; it takes no part in any computation and receives no gradient.
        self.unused = init_conv_(nn.Conv1d(num_classes, num_classes, 1)) if keep_unused_conv else None

    def forward(self, mask: Tensor, style: Tensor) -> Modulation:   # [B, N, h, w], [B, N, d]
        gamma_s, beta_s = self.scaled(mask, style, None, bias=True).chunk(2, dim=1)
        return gamma_s, beta_s                                       # [B, C, h, w] each

    def scaled(self, mask: Tensor, style: Tensor, out_scale: Tensor | None, bias: bool) -> Tensor:
        """``[gamma_s | beta_s]`` ``[B, 2C, h, w]`` with output channel o multiplied by ``out_scale[o]``
        (folded into the weights; the fused NormBlock path), with or without the bias. In "direct"
        mode the styled map is convolved as released; ``effective_backward`` takes the gradient through
        the effective weights (:class:`_StyledMapConv`)."""
        weight = self.conv.weight if out_scale is None else self.conv.weight * out_scale.view(-1, 1, 1, 1)
        b_ = None
        if bias:
            b_ = self.conv.bias if out_scale is None else self.conv.bias * out_scale
        if self.mode == "direct":
            if self.effective_backward and not _autocast_on():
                return _StyledMapConv.apply(mask, style, weight, b_)
            return F.conv2d(styled_map(mask, style), weight, b_, padding=1)
        return conv_effective(mask, effective_weight(weight, style), b_)


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


def _direct_joint(branch: "StyleBranch", mask: Tensor, style: Tensor, out_scale: Tensor, h: Tensor, w_h: Tensor,
                  bias: Tensor) -> Tensor:
    """Direct branch of a fused "both" block: ``conv(h, w_h) + conv(styled_map, W * out_scale) + bias`` as
    one convolution of ``[h | styled map]`` (the released styled-map computation, no partial outputs
    or add); the style part's gradient through the effective weights with ``effective_backward``."""
    weight = branch.conv.weight * out_scale.view(-1, 1, 1, 1)
    if branch.effective_backward and not _autocast_on():
        return _StyledMapConv.apply(mask, style, weight, bias, h, w_h)
    return _cat_conv(h, styled_map(mask, style), w_h, weight, bias)


def _joint_conv(h: Tensor, mask: Tensor, w_h: Tensor, w_style: Tensor, style: Tensor, bias: Tensor) -> Tensor:
    """``conv(h, w_h) + conv(mask, W_eff(style)) + bias`` as *one* convolution of ``[h | mask]`` with the
    weights ``[w_h | W_eff]``, for one sample (batch 1; over a batch it would be a grouped conv). The same
    sums as the two convolutions and the add, in one accumulation: no ``[1, 2C, h, w]`` intermediate and
    no add. h ``[1, hidden, h, w]``, mask ``[1, N, h, w]``, w_h ``[2C, hidden, 3, 3]``, w_style
    ``[2C, d, 3, 3]``, style ``[1, N, d]``, bias ``[2C]``. -> ``[1, 2C, h, w]``."""
    return _cat_conv(h, mask, w_h, effective_weight(w_style, style)[0], bias)   # W_eff [2C, N, 3, 3]


def _cat_conv(h: Tensor, x: Tensor, w_h: Tensor, w_x: Tensor, bias: Tensor | None) -> Tensor:
    """``conv(h, w_h) + conv(x, w_x) + bias`` as one 'same' convolution of ``[h | x]`` with ``[w_h | w_x]``
    (the fused "both" block's semantic and style convs; ``x`` and ``w_x`` cast to ``h``'s dtypes)."""
    return F.conv2d(torch.cat([h, x.to(h.dtype)], 1), torch.cat([w_h, w_x.to(w_h.dtype)], 1), bias,
                    padding=w_h.shape[-1] // 2)


class ReleasedStyleBranch(nn.Module):
    """The released 32x model's top-block branch (``model.last_block: released``; module docstring).

    Above the mask cap (its use in the 32x model): hidden = ReLU(conv3x3 N->hidden (mask at the cap)),
    upsampled (nearest) to the features, then the style convs hidden->C give gamma_s and beta_s (one conv
    with 2C outputs, gamma_s first): the released block builds these convs for the styled map but feeds
    them the hidden features there, so the style takes no part. At or below the cap (a smaller input
    than the model was built for) the released block does use the styled map, and so does this one.
    Also owns the released unused Conv1d(N, N, 1) (Table 4 counts it; no computation).
    """

    def __init__(self, *, num_classes: int = 19, hidden: int = 128, channels: int = 512,
                 keep_unused_conv: bool = True):
        super().__init__()
        self.hidden = conv2d(num_classes, hidden, 3)               # mlp_shared.0
        self.act = nn.ReLU()
        self.conv = conv2d(hidden, 2 * channels, 3, splits=2)      # [mlp_style_gamma | mlp_style_beta]
        self.unused = init_conv_(nn.Conv1d(num_classes, num_classes, 1)) if keep_unused_conv else None

    def hidden_features(self, mask: Tensor) -> Tensor:            # [B, N, h, w] at the cap -> [B, hidden, h, w]
        return self.act(self.hidden(mask))

    def forward(self, mask: Tensor, style: Tensor | None, size: tuple[int, int]) -> Modulation:
        """``mask`` at the modulation size (the cap, or ``size`` itself when not above it)."""
        if tuple(mask.shape[-2:]) != tuple(size):                 # above the cap: the released defect
            x = F.interpolate(self.hidden_features(mask), size=size, mode="nearest")   # before the convs
        else:                                                      # at or below the cap: the styled map
            if style is None or style.shape[-1] != self.conv.in_channels:
                raise ValueError(f"the released top block at or below the mask cap ({tuple(size)}) reads the "
                                 f"styled map: it needs a style [B, N, {self.conv.in_channels}]")
            x = styled_map(mask, style)
        gamma_s, beta_s = self.conv(x).chunk(2, dim=1)
        return gamma_s, beta_s                                     # [B, C, *size] each


# ----------------------------------------------------------------------------------------------------
# NormBlock


class NormBlock(nn.Module):
    """BatchNorm(affine=False) modulated by semantics and/or style (Fig. 1); see the module docstring.

    The pieces are separate methods so that an exploration engine can cache the mask-only semantic
    modulation, fold the BatchNorm in eval mode and recompute only the style branch.
    """

    def __init__(self, *,
                 channels: int,                    # C, feature channels
                 kind: str,                        # "both" | "semantic" | "style" | "prior" | "released_style"
                 num_classes: int = 19,            # N
                 hidden: int = 128,                # semantic hidden width
                 style_dim: int = 128,             # d
                 style_branch: str = "effective",  # "effective" | "direct"
                 keep_unused_style_conv: bool = True,
                 max_mask_size: int = 0,           # compute modulation at most at this side (0 = off)
                 resolution: int = 0):             # nominal feature side (for descriptions only)
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"NormBlock kind={kind!r}; expected one of {KINDS}")
        self.kind = kind
        self.channels = channels
        self.num_classes = num_classes
        self.max_mask_size = max_mask_size
        self.resolution = resolution
        self.grad_checkpoint = False
        self.fused = False            # training speed-up "fused_modulation" (fused_offsets); off = plain path
        self.norm = nn.BatchNorm2d(channels, affine=False)   # SyncBatchNorm under DDP (training code)
        self.semantic = (SemanticBranch(num_classes=num_classes, hidden=hidden, channels=channels)
                         if kind in ("semantic", "both") else None)
        self.style = (StyleBranch(num_classes=num_classes, style_dim=style_dim, channels=channels,
                                  mode=style_branch, keep_unused_conv=keep_unused_style_conv)
                      if kind in ("style", "both") else None)
        self.released = (ReleasedStyleBranch(num_classes=num_classes, hidden=hidden, channels=channels,
                                             keep_unused_conv=keep_unused_style_conv)
                         if kind == "released_style" else None)
        if kind == "both":
            self.alpha_gamma = nn.Parameter(torch.rand(1))   # blend logits, U[0, 1) as released
            self.alpha_beta = nn.Parameter(torch.rand(1))
        if kind == "prior":
            self.prior_scale = nn.Parameter(torch.ones(channels))
            self.prior_shift = nn.Parameter(torch.zeros(channels))

    @property
    def uses_mask(self) -> bool:
        return self.kind != "prior"

    @property
    def uses_style(self) -> bool:
        return self.style is not None   # "released_style": False, it ignores the style above the mask cap

    def modulation_size(self, size: tuple[int, int]) -> tuple[int, int]:
        """The side at which the modulation maps are computed (the mask cap of the 32x configuration)."""
        if self.max_mask_size > 0:
            return (min(size[0], self.max_mask_size), min(size[1], self.max_mask_size))
        return tuple(size)

    def _at(self, maps: Modulation, size: tuple[int, int]) -> Modulation:
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
        return self._at(self.semantic(self.mask_at(masks, size)), size)

    def style_modulation(self, masks: MaskPyramid | Tensor, style: Tensor,
                         size: tuple[int, int]) -> Modulation | None:
        """(gamma_s, beta_s) ``[B, C, *size]``, or None without a style branch."""
        if self.style is None:
            return None
        return self._at(self.style(self.mask_at(masks, size), style), size)

    def released_modulation(self, masks: MaskPyramid | Tensor, style: Tensor | None,
                            size: tuple[int, int]) -> Modulation | None:
        """(gamma_s, beta_s) ``[B, C, *size]`` of a "released_style" block, else None. Above the mask cap
        (the block's design size) they depend on the mask alone; ``style`` is read only at or below it."""
        if self.released is None:
            return None
        return self.released(self.mask_at(masks, size), style, size)

    def blend_weights(self) -> tuple[Tensor, Tensor]:
        """(a_g, a_b) = sigmoid of the blend logits: the weights of the *style* gamma and beta."""
        if self.kind == "both":
            return torch.sigmoid(self.alpha_gamma), torch.sigmoid(self.alpha_beta)
        weight = self.norm.running_mean.new_full((1,), 1.0 if self.kind in ("style", "released_style") else 0.0)
        return weight, weight

    def scale_shift(self, size: tuple[int, int], masks: MaskPyramid | Tensor | None, style: Tensor | None,
                    semantic: Modulation | None = None) -> tuple[Tensor, Tensor]:
        """(scale, shift) with out = BN(x) * scale + shift; ``semantic`` reuses a cached modulation."""
        if self.kind == "prior":
            return self.prior_scale.view(1, -1, 1, 1), self.prior_shift.view(1, -1, 1, 1)
        if self.kind == "released_style":
            return self.released_modulation(masks, style, size)   # BN(x) * gamma_s + beta_s, as released
        if self.semantic is not None and semantic is None:
            semantic = self.semantic_modulation(masks, size)
        styled = self.style_modulation(masks, style, size) if self.style is not None else None
        if self.kind == "semantic":
            gamma, beta = semantic
            return 1 + gamma, beta
        if self.kind == "style":
            gamma_s, beta_s = styled
            return 1 + gamma_s, beta_s
        (gamma, beta), (gamma_s, beta_s) = semantic, styled
        a_g, a_b = self.blend_weights()
        return 1 + a_g * gamma_s + (1 - a_g) * gamma, a_b * beta_s + (1 - a_b) * beta

    def fused_offsets(self, masks: MaskPyramid | Tensor, style: Tensor | None,
                      size: tuple[int, int]) -> Tensor:
        """``[scale - 1 | shift]`` ``[B, 2C, *size]`` of a "semantic", "style" or "both" block in one tensor
        (the training speed-up ``fused_modulation``): the blend weights multiply the conv *weights*
        (C x 2C numbers) instead of the four ``[B, C, h, w]`` maps, and the semantic and style convs add
        into one output. The same sums as :meth:`scale_shift`, in another order."""
        m = self.mask_at(masks, size)
        sem, sty = self.semantic, self.style
        if self.kind == "both":
            a_g, a_b = self.blend_weights()
            c = self.channels
            w_sty = torch.cat([a_g.expand(c), a_b.expand(c)])             # [2C]: style share per channel
            w_sem = 1 - w_sty
            h = sem.act(sem.hidden(m))
            w_h = sem.out.weight * w_sem.view(-1, 1, 1, 1)                  # [2C, hidden, 3, 3]
            bias = sem.out.bias * w_sem + sty.conv.bias * w_sty
            if m.shape[0] > 1:   # batch > 1: a joint conv would be grouped over the batch, which measured
                # 15 % slower at the quick widths (batch 2) and no faster at the paper's (batch 4)
                y = F.conv2d(h, w_h, bias, padding=1) + sty.scaled(m, style, w_sty, bias=False)
            elif sty.mode == "effective":
                y = _joint_conv(h, m, w_h, sty.conv.weight * w_sty.view(-1, 1, 1, 1), style, bias)
            else:   # direct: the released styled-map conv, joined with the semantic conv
                y = _direct_joint(sty, m, style, w_sty, h, w_h, bias)
        elif self.kind == "semantic":
            y = sem.out(sem.act(sem.hidden(m)))
        else:                                                               # "style"
            y = sty.scaled(m, style, None, bias=True)
        if tuple(y.shape[-2:]) != tuple(size):
            y = F.interpolate(y, size=size, mode="nearest")
        return y

    def _modulate(self, x_hat: Tensor, masks, style, semantic) -> Tensor:
        if self.fused and semantic is None and self.kind in ("semantic", "style", "both"):
            gamma, beta = self.fused_offsets(masks, style, tuple(x_hat.shape[-2:])).chunk(2, dim=1)
            out = torch.addcmul(beta, x_hat, gamma + 1)                    # x_hat * (1 + gamma) + beta
            # The plain path's result has x_hat's memory layout; keep it, since the next noise injection
            # draws randn_like(x) in memory order (another layout = other noise values).
            return out.contiguous(memory_format=_layout(x_hat))
        scale, shift = self.scale_shift(tuple(x_hat.shape[-2:]), masks, style, semantic)
        return x_hat * scale + shift

    def forward(self, x: Tensor, masks: MaskPyramid | Tensor | None, style: Tensor | None = None,
                semantic: Modulation | None = None) -> Tensor:           # [B, C, h, w]
        x_hat = self.norm(x)   # outside the checkpoint: a recompute would update the running stats twice
        if self.grad_checkpoint and self.training and torch.is_grad_enabled():
            return checkpoint(self._modulate, x_hat, masks, style, semantic, use_reentrant=False)
        return self._modulate(x_hat, masks, style, semantic)


# ----------------------------------------------------------------------------------------------------
# ResBlock


class ResBlock(nn.Module):
    """Fig. 1 as released: identity shortcut (with noise), main path
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
                 **norm_kwargs):
        super().__init__()
        self.kind = kind
        self.upsample = upsample
        self.level = level
        self.resolution = resolution
        self.noise_in = NoiseInjection(channels=channels) if noise else None
        self.noise_skip = NoiseInjection(channels=channels) if noise else None
        self.noise_mid = NoiseInjection(channels=channels) if noise else None
        self.norm_0 = NormBlock(channels=channels, kind=kind, resolution=resolution, **norm_kwargs)
        self.conv_0 = conv2d(channels, channels, 3, spectral=True)
        self.norm_1 = NormBlock(channels=channels, kind=kind, resolution=resolution, **norm_kwargs)
        self.conv_1 = conv2d(channels, channels, 3, spectral=True)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x: Tensor, masks: MaskPyramid | None, style: Tensor | None = None,
                semantic: tuple[Modulation | None, Modulation | None] | None = None) -> Tensor:
        sem_0, sem_1 = semantic if semantic is not None else (None, None)
        if self.noise_in is not None:
            x = self.noise_in(x)
        x_s = self.noise_skip(x) if self.noise_skip is not None else x     # fresh noise on the shortcut
        dx = self.conv_0(self.act(self.norm_0(x, masks, style, sem_0)))
        if self.noise_mid is not None:
            dx = self.noise_mid(dx)
        dx = self.conv_1(self.act(self.norm_1(dx, masks, style, sem_1)))
        return x_s + dx


# ----------------------------------------------------------------------------------------------------
# Generator


def block_levels(factor: int) -> list[int]:
    """Level of each ResBlock (feature side = LR side * 2**level): 0, 1, 1, 2, ..., i."""
    i = int(round(math.log2(factor)))
    return [0, 1, 1] + list(range(2, i + 1))


def block_kinds(variant: str, factor: int, lr_size: int = 16, max_mask_size: int = 0,
                last_block: str = "style_only") -> list[str]:
    """NormBlock kind of every ResBlock for a variant (see the module docstring)."""
    check_last_block(last_block, max_mask_size)
    levels = block_levels(factor)
    rest = len(levels) - 1
    table = {
        "independent":    ["semantic"] + ["both"] * rest,
        "guided":         ["semantic"] + ["both"] * rest,
        "prior_only":     ["prior"] * (rest + 1),
        "semantics_only": ["semantic"] * (rest + 1),
        "lr_style_only":  ["prior"] + ["style"] * rest,
        "hr_style_only":  ["prior"] + ["style"] * rest,
    }
    if variant not in table:
        raise ValueError(f"model variant {variant!r}; expected one of {tuple(table)}")
    kinds = table[variant]
    if max_mask_size > 0:   # the released 32x structure: no semantic branch above the mask cap
        top = "released_style" if last_block == "released" else "style"
        kinds = [top if k == "both" and lr_size * 2 ** lv > max_mask_size else k
                 for k, lv in zip(kinds, levels)]
    return kinds


def check_last_block(last_block: str, max_mask_size: int) -> None:
    """``model.last_block`` must be one of LAST_BLOCKS; "released" needs the mask cap it applies above."""
    if last_block not in LAST_BLOCKS:
        raise ValueError(f"model.last_block={last_block!r}; expected one of {LAST_BLOCKS} (\"released\": the "
                         f"released 32x model's last block, for its checkpoints; \"style_only\": the kit's)")
    if last_block == "released" and max_mask_size <= 0:
        raise ValueError("model.last_block='released' applies to the blocks above model.max_mask_size, which is "
                         f"{max_mask_size} (off); the released 32x configuration has model.max_mask_size=256")


class Generator(nn.Module):
    """LR image + mask (+ style matrix) -> SR image in [-1, 1] (Table 4).

    Walking the structure: ``blocks`` (ResBlocks in order; ``block.upsample`` says whether a nearest x2
    precedes it, ``block.level`` / ``block.resolution`` its size), ``norm_blocks()`` (the 2 NormBlocks of
    every ResBlock in order), ``semantic_modulation(mask)`` (mask-only, cacheable, aligned with
    ``norm_blocks()``), ``forward(lr, mask, style, semantic_cache=...)``.
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
                 keep_unused_style_conv: bool = True,  # released unused Conv1d (Table 4 counts)
                 max_mask_size: int = 0,               # mask cap inside NormBlocks (0 = off)
                 style_branch: str = "effective"):     # "effective" | "direct"
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
                     resolution=lr_size * 2 ** lv, num_classes=num_classes, hidden=hidden,
                     style_dim=style_dim, style_branch=style_branch,
                     keep_unused_style_conv=keep_unused_style_conv, max_mask_size=max_mask_size)
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

    @style_branch.setter
    def style_branch(self, mode: str) -> None:
        if mode not in STYLE_BRANCH_MODES:
            raise ValueError(f"style_branch={mode!r}; expected one of {STYLE_BRANCH_MODES}")
        for nb in self.norm_blocks():
            if nb.style is not None:
                nb.style.mode = mode

    def set_grad_checkpoint(self, enabled: bool = True) -> None:
        """Recompute the NormBlock modulations in the backward pass (training memory; no effect in eval)."""
        for nb in self.norm_blocks():
            nb.grad_checkpoint = enabled

    def describe(self) -> list[dict]:
        """One row per ResBlock: index, kind, level, nominal resolution, upsample-before flag."""
        return [dict(index=k, kind=b.kind, level=b.level, resolution=b.resolution, upsample=b.upsample)
                for k, b in enumerate(self.blocks)]

    # -- computation -------------------------------------------------------------------------------
    def _masks(self, mask) -> MaskPyramid | None:
        if not self.uses_mask:
            return None
        if mask is None:
            raise ValueError("this generator needs a semantic mask ([B, H, W] labels or [B, N, H, W])")
        return MaskPyramid.wrap(mask, self.num_classes)

    def semantic_modulation(self, mask: Tensor | MaskPyramid,
                            lr_hw: tuple[int, int] | None = None) -> list[Modulation | None]:
        """The semantic (gamma, beta) of every NormBlock, in ``norm_blocks()`` order (None where a block
        has no semantic branch). Depends on the mask alone, so it can be cached while styles change
        (in eval / no-grad use). ``mask`` at HR size; ``lr_hw`` defaults to mask size / factor."""
        masks = self._masks(mask)
        if masks is None:
            return [None] * (2 * len(self.blocks))
        if lr_hw is None:
            h, w = masks.size
            if h % self.factor or w % self.factor:
                raise ValueError(f"mask size {h}x{w} is not a multiple of the factor {self.factor}; pass lr_hw")
            lr_hw = (h // self.factor, w // self.factor)
        out = []
        for blk in self.blocks:
            size = (lr_hw[0] * 2 ** blk.level, lr_hw[1] * 2 ** blk.level)
            out += [blk.norm_0.semantic_modulation(masks, size), blk.norm_1.semantic_modulation(masks, size)]
        return out

    def forward(self, lr: Tensor, mask: Tensor | MaskPyramid | None, style: Tensor | None = None,
                semantic_cache: Sequence[Modulation | None] | None = None) -> Tensor:
        """``lr [B, 3, h, w]`` in [-1, 1], mask at HR size, ``style [B, N, d]`` -> ``[B, 3, h*f, w*f]``."""
        if lr.ndim != 4 or lr.shape[1] != 3:
            raise ValueError(f"lr must be [B, 3, h, w]; got {tuple(lr.shape)}")
        masks = self._masks(mask)
        if masks is not None and masks.full.shape[0] != lr.shape[0]:
            raise ValueError(f"mask batch {masks.full.shape[0]} != lr batch {lr.shape[0]}")
        if self.uses_style:
            if style is None:
                raise ValueError("this generator needs a style matrix [B, N, d] (DeepSEE.encode_style)")
            if style.shape != (lr.shape[0], self.num_classes, self.style_dim):
                raise ValueError(f"style must be [B={lr.shape[0]}, N={self.num_classes}, d={self.style_dim}]; "
                                 f"got {tuple(style.shape)}")
        if semantic_cache is not None and len(semantic_cache) != 2 * len(self.blocks):
            raise ValueError(f"semantic_cache has {len(semantic_cache)} entries; expected {2 * len(self.blocks)}")
        x = self.head_conv(lr)                                              # [B, C, h, w]
        for k, blk in enumerate(self.blocks):
            if blk.upsample:
                x = self.upsample(x)
            sem = None if semantic_cache is None else (semantic_cache[2 * k], semantic_cache[2 * k + 1])
            if sem is not None and sem[0] is not None and tuple(sem[0][0].shape[-2:]) != tuple(x.shape[-2:]):
                raise ValueError(f"semantic_cache entry {2 * k} is {tuple(sem[0][0].shape[-2:])}, block {k} "
                                 f"runs at {tuple(x.shape[-2:])}")
            x = blk(x, masks, style, sem)
        return self.tanh(self.out_conv(self.act(x)))                        # [B, 3, H, W]


def build_generator(cfg, style_branch: str = "effective") -> Generator:
    """The generator of a ``ModelConfig``."""
    kinds = block_kinds(cfg.variant, cfg.factor, cfg.lr_size, cfg.max_mask_size,
                        getattr(cfg, "last_block", "style_only"))
    return Generator(factor=cfg.factor, lr_size=cfg.lr_size, block_kinds=kinds, num_classes=cfg.num_classes,
                     channels=cfg.channels, style_dim=cfg.style_dim, hidden=cfg.hidden, noise=cfg.noise,
                     keep_unused_style_conv=cfg.keep_unused_style_conv, max_mask_size=cfg.max_mask_size,
                     style_branch=style_branch)
