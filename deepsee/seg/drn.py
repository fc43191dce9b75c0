"""Dilated Residual Network, type D (DRN-D-54), the backbone of the paper's chosen segmenter
(supplementary Section 1.4, Table 5, "DRN [13, 14]"; Yu, Koltun & Funkhouser, CVPR 2017).

DRN-D replaces the ResNet stem (7x7 stride-2 conv + max-pool) by plain conv layers, keeps the
first three strided stages and then trades striding for dilation (2 and 4) in the last two
bottleneck stages, so the output stride is 8. Two "degridding" conv layers without residual
connections (dilation 2, then 1) at the end remove the gridding artefacts of dilated convolutions.

Stage layout (``width`` = 64 gives DRN-D-54; channels scale linearly with ``width``):

    stage    layers                         out channels   stride  dilation
    layer0   conv 7x7                        w/4            1       1
    layer1   conv 3x3                        w/4            1       1
    layer2   conv 3x3                        w/2            2       1
    layer3   3 bottlenecks (planes w)        4w             4       1     <- low-level (stride 4)
    layer4   4 bottlenecks (planes 2w)       8w             8       1
    layer5   6 bottlenecks (planes 4w)       16w            8       2
    layer6   3 bottlenecks (planes 8w)       32w            8       4
    layer7   conv 3x3 (degridding)           8w             8       2
    layer8   conv 3x3 (degridding)           8w             8       1     <- high-level (stride 8)

Module names (``layer0``..``layer8``, ``conv1/bn1``.., ``downsample``) follow the DRN paper's
released layout so that ImageNet weights of DRN-D-54, if present in the local torch hub cache,
load by name (:func:`load_imagenet_drn`).
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

DEPTHS = (3, 4, 6, 3)  # bottlenecks in layer3..layer6 (DRN-D-54)


def conv_bn_relu(in_channels: int, out_channels: int, *, kernel: int = 3, stride: int = 1,
                 dilation: int = 1) -> nn.Sequential:
    """Plain conv layer (no residual): conv, BatchNorm, ReLU (indices 0, 1, 2)."""
    pad = dilation * (kernel - 1) // 2
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=pad, dilation=dilation, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class Bottleneck(nn.Module):
    """ResNet bottleneck (1x1 -> 3x3 dilated -> 1x1, expansion 4) with a residual connection."""

    expansion = 4

    def __init__(self, *, in_channels: int, planes: int, stride: int = 1, dilation: int = 1):
        """
        Args:
            in_channels: input channels.
            planes: inner width; the block outputs ``4 * planes`` channels.
            stride: stride of the 3x3 conv (and of the projection shortcut).
            dilation: dilation (= padding) of the 3x3 conv.
        """
        super().__init__()
        out = planes * self.expansion
        self.conv1 = nn.Conv2d(in_channels, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or in_channels != out:
            self.downsample = nn.Sequential(nn.Conv2d(in_channels, out, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(out))

    def forward(self, x: Tensor) -> Tensor:
        skip = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return self.relu(y + skip)


def _stage(*, in_channels: int, planes: int, blocks: int, stride: int, dilation: int) -> nn.Sequential:
    layers = [Bottleneck(in_channels=in_channels, planes=planes, stride=stride, dilation=dilation)]
    for _ in range(blocks - 1):
        layers.append(Bottleneck(in_channels=planes * Bottleneck.expansion, planes=planes, dilation=dilation))
    return nn.Sequential(*layers)


class DRND(nn.Module):
    """DRN-D feature extractor (no classifier). ``forward`` returns five feature maps.

    Outputs (for an input ``[B, 3, H, W]``), with ``w = width``:
        0: layer2, ``[B, w/2,  H/2, W/2]``
        1: layer3, ``[B, 4w,   H/4, W/4]``   (DeepLab's low-level features)
        2: layer4, ``[B, 8w,   H/8, W/8]``
        3: layer6, ``[B, 32w,  H/8, W/8]``
        4: layer8, ``[B, 8w,   H/8, W/8]``   (DeepLab's high-level features, output stride 8)
    """

    def __init__(self, *, width: int = 64, in_channels: int = 3):
        """
        Args:
            width: base width, a multiple of 4; 64 = DRN-D-54 (stage widths 16, 32, 64..512).
            in_channels: input image channels.
        """
        super().__init__()
        if width < 4 or width % 4:
            raise ValueError(f"DRN width must be a positive multiple of 4, got {width}")
        w = width
        self.width = w
        self.layer0 = conv_bn_relu(in_channels, w // 4, kernel=7)
        self.layer1 = conv_bn_relu(w // 4, w // 4)
        self.layer2 = conv_bn_relu(w // 4, w // 2, stride=2)
        self.layer3 = _stage(in_channels=w // 2, planes=w, blocks=DEPTHS[0], stride=2, dilation=1)
        self.layer4 = _stage(in_channels=4 * w, planes=2 * w, blocks=DEPTHS[1], stride=2, dilation=1)
        self.layer5 = _stage(in_channels=8 * w, planes=4 * w, blocks=DEPTHS[2], stride=1, dilation=2)
        self.layer6 = _stage(in_channels=16 * w, planes=8 * w, blocks=DEPTHS[3], stride=1, dilation=4)
        self.layer7 = conv_bn_relu(32 * w, 8 * w, dilation=2)
        self.layer8 = conv_bn_relu(8 * w, 8 * w, dilation=1)
        self.channels = [w // 2, 4 * w, 8 * w, 32 * w, 8 * w]
        self.reductions = [2, 4, 8, 8, 8]
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> list[Tensor]:
        x = self.layer1(self.layer0(x))
        f2 = self.layer2(x)                 # [B, w/2, H/2, W/2]
        f4 = self.layer3(f2)                # [B, 4w, H/4, W/4]
        f8 = self.layer4(f4)                # [B, 8w, H/8, W/8]
        d = self.layer6(self.layer5(f8))    # [B, 32w, H/8, W/8]
        out = self.layer8(self.layer7(d))   # [B, 8w, H/8, W/8]
        return [f2, f4, f8, d, out]


def find_imagenet_drn() -> Path | None:
    """ImageNet DRN-D-54 weights in the local torch hub cache (``drn_d_54*.pth``), or None."""
    d = Path(torch.hub.get_dir()) / "checkpoints"
    hits = sorted(d.glob("drn_d_54*.pth")) if d.is_dir() else []
    return hits[0] if hits else None


def load_imagenet_drn(model: DRND, path: str | Path) -> None:
    """Load ImageNet DRN-D-54 weights (width 64) by module name; the classifier (``fc``) is
    ignored. Raises if any backbone tensor is missing or has another shape."""
    if model.width != 64:
        raise ValueError(f"ImageNet DRN-D-54 weights need width 64, the model has width {model.width}")
    sd = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(sd, dict) and "state_dict" in sd:
        sd = sd["state_dict"]
    own = model.state_dict()
    missing = [k for k in own if k not in sd]
    wrong = [k for k in own if k in sd and sd[k].shape != own[k].shape]
    if missing or wrong:
        raise RuntimeError(f"{path}: not DRN-D-54 weights for this layout; missing {missing[:5]}"
                           f" ({len(missing)}), wrong shape {wrong[:5]} ({len(wrong)})")
    model.load_state_dict({k: sd[k] for k in own})
