"""A NormBlock's eval-mode folded form, linear in the style: what the exploration engine
(``deepsee.explore.engine``) computes instead of the generator's NormBlocks (``deepsee.models.generator``).

In eval mode BatchNorm uses its running statistics, so it folds into the modulation after it:
``BN(x) * scale + shift = x * A + B`` (:func:`fold_batchnorm`). At a pixel, ``[A | B]`` is
``const + patch @ V(S)``: ``patch`` the pixel's 3x3 mask patch, ``V(S)`` the style conv's effective weights
for the style S (``deepsee.models.generator.effective_weight``) times the style's blend weight, BatchNorm
folded. ``const`` holds everything the style does not touch: the semantic branch, the style conv's bias, the
prior's affine. So a table of ``const`` and ``patch`` per distinct mask neighbourhood, computed once per input,
gives every style sample's modulation by one matrix product (:func:`folded_rows`, :func:`folded_style_rows`).
:func:`run_block` runs a ResBlock with such precomputed modulations in place of its NormBlocks.

What is left per sample is the ResBlocks' 3x3 convolutions (C -> C; 99 % of the engine's FLOPs at the paper's
8x). :class:`WinogradConv` computes them as Winograd's minimal filtering F(4x4, 3x3) (Lavin and Gray, 2016): each
4x4 output tile from a 6x6 input tile with 36 multiplications per channel pair instead of 144, as matrix
products; exact in exact arithmetic, in float32 within a few 1e-6 of the direct convolution's result (the
direct one's own rounding error is of the same order). The engine uses it on the CPU (``winograd=``).

Every function here computes the same numbers as the modules' forward (tests/test_explore.py checks the
engine against plain forwards to < 1e-4).
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor
from torch.nn.utils.spectral_norm import SpectralNorm

from .generator import Generator, NormBlock, SemanticBranch, blend, effective_weight
from .released import RELEASED, ReleasedStyleBranch

Folded = Callable[[Tensor], Tensor]           # x -> x * A + B: a NormBlock's precomputed eval-mode form
Conv = Callable[[nn.Conv2d, Tensor], Tensor]  # (a ResBlock's conv, its input) -> its output


# ----------------------------------------------------------------------------------------------------
# Convolutions at chosen pixels


def patches_at(x: Tensor, pixels: Tensor) -> Tensor:
    """The zero-padded 3x3 neighbourhoods of one image ``x [1, C, H, W]`` at ``pixels`` (flat indices)
    as rows ``[P, C*9]``, in the order of a conv weight ``[O, C, 3, 3]`` flattened (``F.unfold``'s)."""
    c, h, w = x.shape[1:]
    xp = F.pad(x[0], (1, 1, 1, 1))
    y, z = pixels // w, pixels % w
    rows = torch.stack([xp[:, y + i, z + j] for i in range(3) for j in range(3)], 1)        # [C, 9, P]
    return rows.reshape(c * 9, -1).t().contiguous()


def conv_rows(conv: nn.Conv2d, patches: Tensor) -> Tensor:
    """A 3x3 'same' conv's output at the pixels whose input patches are ``patches [P, C*9]``: ``[P, O]``."""
    return torch.addmm(conv.bias, patches, conv.weight.reshape(conv.weight.shape[0], -1).t())


def semantic_rows(branch: SemanticBranch, mask: Tensor, pixels: Tensor) -> Tensor:
    """``[gamma | beta]`` ``[P, 2C]`` of a semantic branch on a one-image mask ``[1, N, h, w]`` at ``pixels``
    (flat indices): its forward's numbers, computed there only."""
    return conv_rows(branch.out, patches_at(branch.hidden_features(mask), pixels))


def released_rows(branch: ReleasedStyleBranch, mask: Tensor, size: tuple[int, int], pixels: Tensor) -> Tensor:
    """The authors' top block above the cap: ``[gamma_s | beta_s]`` ``[P, 2C]`` at ``pixels`` (flat indices
    into the ``size`` feature map) of a one-image mask at the cap; its forward's numbers without the upsampled
    hidden map."""
    hid = branch.hidden_features(mask)[0].flatten(1)                               # [hidden, h*w]
    h, w = mask.shape[-2:]
    ids = torch.arange(1, h * w + 1, device=mask.device, dtype=torch.float64).view(1, 1, h, w)
    ids = F.interpolate(ids, size=size, mode="nearest")          # source pixel + 1 of each feature pixel
    near = patches_at(ids, pixels).round().long()                # [P, 9]; 0: outside (zero padding)
    cols = torch.cat([hid.new_zeros(hid.shape[0], 1), hid], 1)[:, near]           # [hidden, P, 9]
    return conv_rows(branch.conv, cols.transpose(0, 1).reshape(len(pixels), -1))


# ----------------------------------------------------------------------------------------------------
# BatchNorm folded into a NormBlock


def _per_channel(v: Tensor, like: Tensor) -> Tensor:
    """A per-channel vector shaped to broadcast against a map ``[B, C, H, W]`` or rows ``[..., C]``."""
    return v.view(-1, 1, 1) if like.ndim == 4 else v


def fold_batchnorm(scale: Tensor, shift: Tensor, bn: nn.BatchNorm2d) -> tuple[Tensor, Tensor]:
    """Eval-mode BatchNorm folded into the modulation after it: ``BN(x) * scale + shift = x * A + B`` with
    ``A = scale / sqrt(var + eps)``, ``B = shift - mean * A`` (running statistics). Linear in (scale, shift)."""
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError("folding BatchNorm needs its running statistics (track_running_stats=True)")
    a = scale * _per_channel(torch.rsqrt(bn.running_var + bn.eps), scale)
    return a, shift - _per_channel(bn.running_mean, a) * a


def _fold_rows(nb: NormBlock, scale: Tensor, shift: Tensor) -> Tensor:
    """``[A | B]`` with ``BN(x) * scale + shift = x * A + B`` (:func:`fold_batchnorm`), on the last axis."""
    return torch.cat(fold_batchnorm(scale, shift, nb.norm), -1)


def above_cap(nb: NormBlock, size: tuple[int, int]) -> bool:
    """Whether ``nb`` computes its modulation for features of ``size`` at a smaller size (the 32x mask cap)."""
    return nb.modulation_size(size) != tuple(size)


def folded_rows(nb: NormBlock, masks, size: tuple[int, int], pixels: Tensor) -> tuple[Tensor, Tensor | None]:
    """Eval mode, one image: NormBlock ``nb``'s ``out = x * A + B`` at ``pixels`` for features of ``size``,
    with ``[A | B] = const + patches @ folded_style_rows(nb, S)`` at each pixel, the same numbers as its
    forward.

    ``pixels``: flat indices into the map the modulation is computed at: ``nb.mask_at(masks, size)`` (then
    upsampled nearest to ``size`` above the mask cap), or, for the authors' block above the cap, the
    features of ``size``. Returns ``const [P, 2C]`` and ``patches [P, N*9]``, each pixel's 3x3 mask patch
    (None where the style takes no part)."""
    if nb.training:
        raise RuntimeError("the folded form is eval mode's (BatchNorm running statistics, no noise): call .eval()")
    c, p = nb.channels, len(pixels)
    if nb.kind == "prior":
        return _fold_rows(nb, nb.prior_scale.expand(p, c), nb.prior_shift.expand(p, c)), None
    m = nb.mask_at(masks, size)
    if nb.kind == RELEASED:                              # no "1 +"
        if above_cap(nb, size):
            gamma, beta = released_rows(nb.released, m, size, pixels).split(c, -1)
            return _fold_rows(nb, gamma, beta), None
        gamma, beta = nb.released.conv.bias.expand(p, 2 * c).split(c, -1)
        return _fold_rows(nb, gamma, beta), patches_at(m, pixels)
    offsets = semantic_rows(nb.semantic, m, pixels) if nb.semantic is not None else None
    patches = None
    if nb.style is not None:
        patches = patches_at(m, pixels)
        bias = nb.style.conv.bias.expand(p, 2 * c)       # the style conv's constant part
        offsets = bias if offsets is None else blend(offsets, bias, *nb.channel_weights())
    gamma, beta = offsets.split(c, -1)
    return _fold_rows(nb, 1 + gamma, beta), patches


def folded_style_rows(nb: NormBlock, styles: Tensor) -> Tensor:
    """``V(S) [K, N*9, 2C]`` of :func:`folded_rows` for style matrices ``[K, N, d]``: the style conv's
    effective weights (``effective_weight``, in ``patches_at`` order) times the style's blend weight,
    BatchNorm folded (no constant: the bias is in ``const``)."""
    if nb.released is not None:                          # at or below the cap: the styled map
        nb.released.check_styled(styles)
    conv = nb.style.conv if nb.style is not None else nb.released.conv
    v = effective_weight(conv.weight, styles).flatten(2).transpose(1, 2)          # [K, N*9, 2C]
    if nb.kind == "both":
        v = blend(None, v, None, nb.channel_weights()[1])
    gamma, beta = v.split(nb.channels, -1)
    return _fold_rows(nb, gamma, beta)


# ----------------------------------------------------------------------------------------------------
# A ResBlock with folded NormBlocks


def run_block(gen: Generator, k: int, x: Tensor, folded: tuple[Folded, Folded], conv: Conv | None = None) -> Tensor:
    """Eval mode: ResBlock ``k`` of ``gen`` (after its nearest x2, if any) on ``x``, with ``folded`` (the
    precomputed forms of its norm_0 and norm_1, each ``x -> x * A + B``) in place of its NormBlocks, and its two
    3x3 convolutions computed by ``conv`` (e.g. a :class:`WinogradConv`; default the modules themselves). The
    activations work in place on the fresh maps the folded forms return (inference only)."""
    conv = conv or _call
    blk = gen.blocks[k]
    if blk.upsample:
        x = gen.upsample(x)
    if blk.noise_in is not None:
        x = blk.noise_in(x)
    x_s = blk.noise_skip(x) if blk.noise_skip is not None else x     # identity in eval mode
    dx = conv(blk.conv_0, F.leaky_relu_(folded[0](x), blk.act.negative_slope))
    if blk.noise_mid is not None:
        dx = blk.noise_mid(dx)
    return conv(blk.conv_1, F.leaky_relu_(folded[1](dx), blk.act.negative_slope)).add_(x_s)


def _call(module: nn.Module, x: Tensor) -> Tensor:
    return module(x)


# ----------------------------------------------------------------------------------------------------
# The ResBlocks' convolutions by Winograd's minimal filtering F(4x4, 3x3)

_BT = ((4, 0, -5, 0, 1, 0), (0, -4, -4, 1, 1, 0), (0, 4, -4, -1, 1, 0),      # input transform B^T [6, 6]
       (0, -2, -1, 2, 1, 0), (0, 2, -1, -2, 1, 0), (0, 4, 0, -5, 0, 1))
_G = ((1 / 4, 0, 0), (-1 / 6, -1 / 6, -1 / 6), (-1 / 6, 1 / 6, -1 / 6),       # filter transform G [6, 3]
      (1 / 24, 1 / 12, 1 / 6), (1 / 24, -1 / 12, 1 / 6), (0, 0, 1))
_AT = ((1, 1, 1, 1, 1, 0), (0, 1, -1, 2, -2, 0), (0, 1, 1, 4, 4, 0), (0, 1, -1, 8, -8, 1))   # output A^T [4, 6]


def effective_conv_weight(conv: nn.Conv2d) -> Tensor:
    """The weight an eval-mode forward of ``conv`` uses: spectral norm's ``weight_orig / sigma`` with its stored
    ``u``, ``v`` (no power iteration), else ``conv.weight``."""
    for hook in conv._forward_pre_hooks.values():
        if isinstance(hook, SpectralNorm):
            return hook.compute_weight(conv, do_power_iteration=False)
    return conv.weight


def winograd_applies(conv: nn.Module, x: Tensor) -> bool:
    """Whether :class:`WinogradConv` computes ``conv(x)``: a 3x3 'same' convolution (stride 1, no dilation or groups,
    zero padding 1) of a float32/float64 map whose sides are multiples of 4."""
    return (isinstance(conv, nn.Conv2d) and conv.kernel_size == (3, 3) and conv.stride == (1, 1)
            and conv.padding == (1, 1) and conv.dilation == (1, 1) and conv.groups == 1
            and conv.padding_mode == "zeros" and x.dtype in (torch.float32, torch.float64)
            and x.ndim == 4 and x.shape[-2] % 4 == 0 and x.shape[-1] % 4 == 0)


class WinogradConv:
    """``conv(x)`` for the ResBlocks' 3x3 convolutions as Winograd F(4x4, 3x3) (module docstring): per 6x6 input
    tile ``d`` and filter ``g``, the 4x4 output ``A^T [(G g G^T) . (B^T d B)] A``, the sum over input channels a
    batched matrix product over the 36 tile positions. The filter transforms are computed once per module (in
    float64, then cast) and kept; inputs go through in chunks of at most ``max_pixels`` output pixels, which
    bounds the transformed tiles' memory (about 2.25x the chunk's activations, three times). Falls back to the
    module itself where :func:`winograd_applies` does not hold."""

    def __init__(self, max_pixels: int = 32768):
        self.max_pixels = int(max_pixels)
        self._filters: dict[int, tuple[Tensor, Tensor | None]] = {}

    def _filter(self, conv: nn.Conv2d, like: Tensor) -> tuple[Tensor, Tensor | None]:
        key = id(conv)
        if key not in self._filters:
            w = effective_conv_weight(conv).detach().double()                       # [K, C, 3, 3]
            g = torch.tensor(_G, dtype=torch.float64, device=w.device)
            u = torch.einsum("ai,kcij,bj->abck", g, w, g).reshape(36, w.shape[1], w.shape[0])   # [36, C, K]
            bias = None if conv.bias is None else conv.bias.detach()
            self._filters[key] = (u.to(like.dtype).contiguous(), bias)
        return self._filters[key]

    def __call__(self, conv: nn.Module, x: Tensor) -> Tensor:
        if not winograd_applies(conv, x):
            return conv(x)
        u, bias = self._filter(conv, x)
        b, _, h, w = x.shape
        step = max(1, self.max_pixels // (h * w))
        outs = [self._tiles(x[s:s + step], u) for s in range(0, b, step)]
        out = outs[0] if len(outs) == 1 else torch.cat(outs)
        return out if bias is None else out.add_(bias.to(out.dtype).view(1, -1, 1, 1))

    @staticmethod
    def _tiles(x: Tensor, u: Tensor) -> Tensor:
        """The convolution of ``x [b, C, h, w]`` without bias, channels-last ``[b, K, h, w]``."""
        b, c, h, w = x.shape
        k = u.shape[-1]
        th, tw = h // 4, w // 4
        bt = torch.tensor(_BT, dtype=x.dtype, device=x.device)
        at = torch.tensor(_AT, dtype=x.dtype, device=x.device)
        xp = F.pad(x, (1, 1, 1, 1)).permute(0, 2, 3, 1)                           # [b, h+2, w+2, C]
        st = xp.stride()
        d = xp.as_strided((6, 6, b, th, tw, c), (st[1], st[2], st[0], 4 * st[1], 4 * st[2], st[3]))
        v = (torch.kron(bt, bt) @ d.reshape(36, -1)).view(36, -1, c)               # B^T d B: [36, tiles, C]
        m = torch.bmm(v, u)                                                         # [36, tiles, K]
        y = (torch.kron(at, at) @ m.view(36, -1)).view(4, 4, b, th, tw, k)         # A^T m A
        return y.permute(2, 3, 0, 4, 1, 5).reshape(b, h, w, k).permute(0, 3, 1, 2)
