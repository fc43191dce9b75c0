"""Small layers shared by the encoders, the generator and the discriminator (supplement Section 1).

- convolution initialisation: Xavier normal with gain 0.02, zero biases (Section 2.2);
- spectral norm: ``torch.nn.utils.spectral_norm``, whose ``weight_orig`` / ``weight_u`` / ``weight_v``
  names are those of the released checkpoints. In eval mode it divides by ``u^T W v`` computed from
  the stored ``u``, ``v`` without a power iteration, as the released model does;
- ``ConvNormAct``: conv (3x3 or 4x4, no bias, spectral norm) -> InstanceNorm (affine=False) -> act,
  the block of the style encoders (Tables 1-3) and of the discriminator (Section 1.3);
- ``NoiseInjection``: per-channel learnable noise scale of the ResBlocks (init 0, training only);
- ``StyleNoise``: per-class learnable style-noise scale (Section 2.2 "Noise Injection").
"""
from __future__ import annotations

import torch
import torch.nn as nn
from torch import Tensor

INIT_GAIN = 0.02


def init_conv_(conv: nn.Module, splits: int = 1) -> nn.Module:
    """Xavier-normal (gain 0.02) weight, zero bias. ``splits`` > 1 initialises ``splits`` equal chunks
    of the output channels separately, so a fused conv (gamma and beta in one) is initialised like
    the two convs of the released code. Skipped on the meta device (shapes only)."""
    if conv.weight.is_meta:
        return conv
    with torch.no_grad():
        for chunk in conv.weight.chunk(splits, dim=0):
            nn.init.xavier_normal_(chunk, gain=INIT_GAIN)
        if getattr(conv, "bias", None) is not None:
            conv.bias.zero_()
    return conv


def conv2d(in_ch: int, out_ch: int, kernel: int = 3, *, stride: int = 1, padding: int | None = None,
           bias: bool = True, spectral: bool = False, splits: int = 1) -> nn.Conv2d:
    """An initialised ``nn.Conv2d`` (padding ``kernel // 2`` unless given), optionally spectral-normed."""
    pad = kernel // 2 if padding is None else padding
    conv = init_conv_(nn.Conv2d(in_ch, out_ch, kernel, stride=stride, padding=pad, bias=bias), splits)
    return spectral_norm(conv) if spectral else conv


def spectral_norm(module: nn.Module, warmup: int = 20) -> nn.Module:
    """``torch.nn.utils.spectral_norm`` plus ``warmup`` power iterations on the new u, v.

    torch starts u, v at random, so a freshly built model in eval mode (no power iteration) would
    divide by a near-zero ``u^T W v``; the warm-up makes a fresh model usable in eval mode. It changes
    nothing once weights are loaded (u, v are part of the state dict)."""
    module = nn.utils.spectral_norm(module)
    w = module.weight_orig
    if w.device.type != "meta":
        with torch.no_grad():
            mat = w.reshape(w.shape[0], -1)
            u, v = module.weight_u, module.weight_v
            for _ in range(warmup):
                v.copy_(nn.functional.normalize(mat.t() @ u, dim=0, eps=1e-12))
                u.copy_(nn.functional.normalize(mat @ v, dim=0, eps=1e-12))
            module.weight = w / torch.dot(u, mat @ v)   # the weight attribute the hook recomputes
    return module


class ConvNormAct(nn.Module):
    """conv (no bias, spectral norm) -> InstanceNorm2d(affine=False) -> activation."""

    def __init__(self, *,
                 in_ch: int,               # input channels
                 out_ch: int,              # output channels
                 kernel: int = 3,          # 3 (encoders) or 4 (discriminator)
                 stride: int = 1,
                 padding: int | None = None,  # default kernel // 2
                 act: str = "lrelu"):      # "lrelu" (slope 0.2) or "tanh"
        super().__init__()
        self.conv = conv2d(in_ch, out_ch, kernel, stride=stride, padding=padding, bias=False, spectral=True)
        self.norm = nn.InstanceNorm2d(out_ch, affine=False)
        self.act = nn.LeakyReLU(0.2) if act == "lrelu" else nn.Tanh()

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.norm(self.conv(x)))


class NoiseInjection(nn.Module):
    """x + w * n, n ~ N(0, 1) per element, w one learnable weight per channel (init 0).

    Active only in training mode: eval output is deterministic."""

    def __init__(self, *, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor) -> Tensor:                   # [B, C, H, W]
        if not self.training:
            return x
        return x + self.weight.view(1, -1, 1, 1) * torch.randn_like(x)


class StyleNoise(nn.Module):
    """Uniform style noise: S + U(-1, 1) * delta * sigmoid(w_n), clamped to [-1, 1] (Section 2.2).

    One learnable ``w_n`` per class, initialised to 0 (the released ``noise_weights``). The module
    adds noise whenever it is called in training mode and never in eval mode; *whether* a training
    step calls it (the independent model's coin) is decided by the training loop, see
    ``deepsee.train.step.choose_style``.
    """

    def __init__(self, *, num_classes: int, delta: float):
        super().__init__()
        self.delta = float(delta)
        self.weight = nn.Parameter(torch.zeros(num_classes))

    def forward(self, style: Tensor, generator: torch.Generator | None = None) -> Tensor:  # [B, N, d]
        if not self.training:
            return style
        u = torch.rand(style.shape, generator=generator, device=style.device, dtype=style.dtype) * 2 - 1
        scale = self.delta * torch.sigmoid(self.weight).view(1, -1, 1)
        return (style + u * scale).clamp(-1.0, 1.0)
