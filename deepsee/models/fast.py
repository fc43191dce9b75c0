"""The generator's training speed-ups (``train.speedups``, deepsee/train/step.py): subclasses of the paper's
modules (``deepsee.models.generator``, ``deepsee.models.layers``) that compute the same numbers in another
order, chosen when the model is built (``DeepSEE(cfg, speedups=...)``, :func:`parts`). They own no other
parameters, so the state-dict keys, the weights' initialisation and a saved model are the paper modules'.

- ``fused_modulation`` (:class:`FusedNormBlock`): a "semantic", "style" or "both" NormBlock computes
  ``[scale - 1 | shift]`` as one conv output, the blend weights folded into the conv weights, and
  ``out = addcmul(shift, x_hat, 1 + scale')``, instead of four ``[B, C, h, w]`` maps blended elementwise
  (forward and backward). On the "effective" style branch the semantic conv (hidden -> 2C) and the style
  conv (N-channel mask, per-sample effective weights) of a "both" block are one convolution of
  ``[hidden | mask]``, on the "direct" branch of ``[hidden | styled map]``: no ``[B, 2C, h, w]`` partial
  output and no add. At batch 1 only: over a batch it would be a grouped conv, measured 15 % slower at the
  quick widths (batch 2) and no faster at the paper's (batch 4).
- ``direct_effective_backward`` (:class:`EffectiveBackwardStyleBranch`): with ``style_branch="direct"``
  (the authors' computation) the style conv's gradient goes through the effective weights (a conv of the
  N-channel mask) instead of the d-channel styled map; the forward is unchanged (:class:`_StyledMapConv`).
- ``fused_noise`` (:class:`FusedNoiseInjection`): the ResBlock noise injections as one ``addcmul``
  (the same noise draws).
"""
from __future__ import annotations

from typing import Iterable

import torch
import torch.nn.functional as F
from torch import Tensor

from .encoders import styled_map
from .generator import NormBlock, Parts, StyleBranch, blend, conv_effective, effective_weight
from .layers import NoiseInjection
from .masks import MaskPyramid

MODEL_SPEEDUPS = ("fused_modulation", "direct_effective_backward", "fused_noise")


def parts(speedups: Iterable[str] = ()) -> Parts:
    """The module classes of a generator with the given speed-ups (names of MODEL_SPEEDUPS) on."""
    on = set(speedups)
    if on - set(MODEL_SPEEDUPS):
        raise ValueError(f"unknown model speed-ups {sorted(on - set(MODEL_SPEEDUPS))}; expected names from "
                         f"{MODEL_SPEEDUPS}")
    return Parts(norm_block=FusedNormBlock if "fused_modulation" in on else NormBlock,
                 style_branch=EffectiveBackwardStyleBranch if "direct_effective_backward" in on else StyleBranch,
                 noise=FusedNoiseInjection if "fused_noise" in on else NoiseInjection)


def _layout(x: Tensor) -> torch.memory_format:
    if x.ndim == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
        return torch.channels_last
    return torch.contiguous_format


def _autocast_on() -> bool:
    return any(torch.is_autocast_enabled(d) for d in ("cpu", "cuda"))


def _cat_conv(h: Tensor, x: Tensor, w_h: Tensor, w_x: Tensor, bias: Tensor | None) -> Tensor:
    """``conv(h, w_h) + conv(x, w_x) + bias`` as one 'same' convolution of ``[h | x]`` with ``[w_h | w_x]``
    (the fused "both" block's semantic and style convs; ``x`` and ``w_x`` cast to ``h``'s dtypes)."""
    return F.conv2d(torch.cat([h, x.to(h.dtype)], 1), torch.cat([w_h, w_x.to(w_h.dtype)], 1), bias,
                    padding=w_h.shape[-1] // 2)


class _StyledMapConv(torch.autograd.Function):
    """``conv3x3(styled_map(mask, style), weight, bias)``: the forward as the authors' (the d-channel styled
    map is built and convolved); the backward through the effective weights (``direct_effective_backward``).

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


def _style_conv(branch: StyleBranch, mask: Tensor, style: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """``conv(styled map, weight) + bias`` ``[B, 2C, h, w]`` the way ``branch`` computes it: "direct" convolves
    the styled map (its gradient through the effective weights on an EffectiveBackwardStyleBranch),
    "effective" the mask with effective weights."""
    if branch.mode == "direct":
        if isinstance(branch, EffectiveBackwardStyleBranch) and not _autocast_on():
            return _StyledMapConv.apply(mask, style, weight, bias)
        return F.conv2d(styled_map(mask, style), weight, bias, padding=1)
    return conv_effective(mask, effective_weight(weight, style), bias)


def _scaled(branch: StyleBranch, w: Tensor) -> Tensor:
    """The style conv's weights with output channel o multiplied by ``w[o]`` ``[2C, d, 3, 3]``."""
    return branch.conv.weight * w.view(-1, 1, 1, 1)


class EffectiveBackwardStyleBranch(StyleBranch):
    """:class:`StyleBranch` whose "direct" mode takes its gradient through the effective weights
    (``direct_effective_backward``); the "effective" mode is the paper module's."""

    def forward(self, mask: Tensor, style: Tensor):
        gamma_s, beta_s = _style_conv(self, mask, style, self.conv.weight, self.conv.bias).chunk(2, dim=1)
        return gamma_s, beta_s


class FusedNormBlock(NormBlock):
    """:class:`NormBlock` with the ``fused_modulation`` speed-up (module docstring); "prior" blocks and the
    authors' top block compute as the paper module."""

    def fused_offsets(self, masks: MaskPyramid | Tensor, style: Tensor | None, size: tuple[int, int]) -> Tensor:
        """``[scale - 1 | shift]`` ``[B, 2C, *size]`` in one tensor: the blend weights multiply the conv
        *weights* (C x 2C numbers) instead of the four ``[B, C, h, w]`` maps, and the semantic and style
        convs add into one output. The same sums as :meth:`NormBlock.blended` (plus the "1 +"), in another order."""
        m = self.mask_at(masks, size)
        sem, sty = self.semantic, self.style
        if self.kind == "both":
            w_sem, w_sty = self.channel_weights()                          # [2C] each
            h = sem.hidden_features(m)
            w_h = sem.out.weight * w_sem.view(-1, 1, 1, 1)                  # [2C, hidden, 3, 3]
            bias = blend(sem.out.bias, sty.conv.bias, w_sem, w_sty)
            # (each branch scales the style conv's weights where it needs them: the order in which the
            # autograd graph is built decides the order gradients are summed in, and so their last bits)
            if m.shape[0] > 1:   # batch > 1: a joint conv would be grouped over the batch (module docstring)
                y = F.conv2d(h, w_h, bias, padding=1) + _style_conv(sty, m, style, _scaled(sty, w_sty), None)
            elif sty.mode == "effective":   # one conv of [h | mask] with [w_h | W_eff]
                y = _cat_conv(h, m, w_h, effective_weight(_scaled(sty, w_sty), style)[0], bias)
            elif isinstance(sty, EffectiveBackwardStyleBranch) and not _autocast_on():
                y = _StyledMapConv.apply(m, style, _scaled(sty, w_sty), bias, h, w_h)   # [h | styled map]
            else:                           # direct: the authors' styled-map conv, joined with the semantic conv
                w_s = _scaled(sty, w_sty)
                y = _cat_conv(h, styled_map(m, style), w_h, w_s, bias)
        elif self.kind == "semantic":
            y = sem.out(sem.hidden_features(m))
        else:                                                               # "style"
            y = _style_conv(sty, m, style, sty.conv.weight, sty.conv.bias)
        if tuple(y.shape[-2:]) != tuple(size):
            y = F.interpolate(y, size=size, mode="nearest")
        return y

    def modulate(self, x_hat: Tensor, masks: MaskPyramid | Tensor | None, style: Tensor | None) -> Tensor:
        if self.kind not in ("semantic", "style", "both"):
            return super().modulate(x_hat, masks, style)
        gamma, beta = self.fused_offsets(masks, style, tuple(x_hat.shape[-2:])).chunk(2, dim=1)
        out = torch.addcmul(beta, x_hat, gamma + 1)                    # x_hat * (1 + gamma) + beta
        # The paper path's result has x_hat's memory layout; keep it, since the next noise injection
        # draws randn_like(x) in memory order (another layout = other noise values).
        return out.contiguous(memory_format=_layout(x_hat))


class FusedNoiseInjection(NoiseInjection):
    """:class:`NoiseInjection` as one ``addcmul`` (``fused_noise``; the same noise draw, the same sum)."""

    def forward(self, x: Tensor) -> Tensor:
        if not self.training:
            return x
        return torch.addcmul(x, self.weight.view(1, -1, 1, 1), torch.randn_like(x))
