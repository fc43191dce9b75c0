"""DeepLabV3+ on low-resolution faces (supplementary Section 1.4, Table 5).

The segmenter first upscales the LR image (bicubic) to the HR mask size and then segments it like a
regular HR image: backbone (DRN-D-54, ResNet-101 or Xception-65) -> ASPP (1x1 conv, three 3x3
atrous convs, image pooling; 1x1 projection) -> decoder (ASPP output upsampled to stride 4, fused
with 1x1-projected low-level stride-4 features, two 3x3 convs, 1x1 classifier) -> bilinear upsample
to the HR size. Output: logits ``[B, 19, H, W]``.

Backbones: DRN-D is written in :mod:`deepsee.seg.drn` (output stride 8, atrous rates 12/24/36);
ResNet-101 and Xception-65 come from timm (``features_only=True``, output stride 16, atrous rates
6/12/18, the DeepLabV3+ defaults). ImageNet weights are loaded only when they already sit in the
local cache (Hugging Face hub cache or torch hub ``checkpoints``); nothing is downloaded. Whether
they were loaded is recorded on the model (``pretrained_source``) and in the training run.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..constants import NUM_CLASSES
from .drn import DRND, find_imagenet_drn, load_imagenet_drn

# name -> (timm model name, display name in Table 5)
BACKBONES = {"drn": ("", "DRN"), "resnet101": ("resnet101", "ResNet"), "xception65": ("xception65", "Xception")}
ARCH_NAMES = {"drn": "DRN-D-54", "resnet101": "ResNet-101", "xception65": "Xception-65"}



def arch_name(seg_cfg) -> str:
    """Display name of a SegConfig's backbone, e.g. ``DRN-D-54``, ``DRN-D-54 (width 16)``, ``ResNet-101``."""
    name = ARCH_NAMES[seg_cfg.backbone]
    return name + (f" (width {seg_cfg.width})" if seg_cfg.backbone == "drn" and seg_cfg.width != 64 else "")


_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def conv_bn_relu(in_channels: int, out_channels: int, *, kernel: int = 1, dilation: int = 1) -> nn.Sequential:
    pad = dilation * (kernel - 1) // 2
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel, padding=pad, dilation=dilation, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling: five parallel branches, concatenated, 1x1 projection."""

    def __init__(self, *, in_channels: int, channels: int = 256, rates: tuple[int, ...] = (12, 24, 36),
                 dropout: float = 0.1):
        """
        Args:
            in_channels: channels of the high-level backbone features.
            channels: width of every branch and of the output.
            rates: dilation rates of the 3x3 atrous branches (12/24/36 at output stride 8, 6/12/18 at 16).
            dropout: dropout after the projection (training only).
        """
        super().__init__()
        self.branches = nn.ModuleList([conv_bn_relu(in_channels, channels)] +
                                      [conv_bn_relu(in_channels, channels, kernel=3, dilation=r) for r in rates])
        # image pooling: global context as a 1x1 map, broadcast back to the feature size
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), conv_bn_relu(in_channels, channels))
        self.project = conv_bn_relu(channels * (len(rates) + 2), channels)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        outs = [b(x) for b in self.branches]
        outs.append(self.pool(x).expand(-1, -1, x.shape[-2], x.shape[-1]))
        return self.dropout(self.project(torch.cat(outs, 1)))


class Decoder(nn.Module):
    """DeepLabV3+ decoder: upsample ASPP output to the low-level (stride 4) size, fuse, classify."""

    def __init__(self, *, low_channels: int, aspp_channels: int, num_classes: int, low_proj: int = 48,
                 dropout: float = 0.1):
        """
        Args:
            low_channels: channels of the stride-4 backbone features.
            aspp_channels: channels of the ASPP output (also the decoder width).
            num_classes: N, the number of output logits.
            low_proj: 1x1 projection width of the low-level features (48 in DeepLabV3+).
            dropout: dropout before the classifier (training only).
        """
        super().__init__()
        self.low = conv_bn_relu(low_channels, low_proj)
        self.fuse = nn.Sequential(conv_bn_relu(aspp_channels + low_proj, aspp_channels, kernel=3),
                                  conv_bn_relu(aspp_channels, aspp_channels, kernel=3),
                                  nn.Dropout(dropout))
        self.classifier = nn.Conv2d(aspp_channels, num_classes, 1)

    def forward(self, high: Tensor, low: Tensor) -> Tensor:
        high = F.interpolate(high, size=low.shape[-2:], mode="bilinear", align_corners=False)
        return self.classifier(self.fuse(torch.cat([high, self.low(low)], 1)))


class TimmBackbone(nn.Module):
    """A timm ``features_only`` network with the same interface as :class:`DRND`."""

    def __init__(self, *, name: str, output_stride: int = 16, weights: str | Path | None = None):
        """
        Args:
            name: timm model name (``resnet101``, ``xception65``).
            output_stride: 8 or 16 (dilation replaces the last strides).
            weights: local ImageNet checkpoint to load, or None for random initialisation.
        """
        super().__init__()
        import timm   # heavy import: only when used
        kw = {"pretrained": weights is not None}
        if weights is not None:
            kw["pretrained_cfg_overlay"] = {"file": str(weights)}
        self.net = timm.create_model(name, features_only=True, output_stride=output_stride, **kw)
        self.channels = list(self.net.feature_info.channels())
        self.reductions = list(self.net.feature_info.reduction())

    def forward(self, x: Tensor) -> list[Tensor]:
        return list(self.net(x))


def find_imagenet_timm(name: str) -> Path | None:
    """The local ImageNet checkpoint of timm model ``name`` (HF hub cache, then torch hub), or None."""
    import timm   # heavy import: only when used
    cfg = timm.models.get_pretrained_cfg(name)
    if cfg is None:
        return None
    cfg = cfg.to_dict() if hasattr(cfg, "to_dict") else dict(cfg)
    if cfg.get("hf_hub_id"):
        from huggingface_hub import try_to_load_from_cache   # optional dependency
        for fname in ("model.safetensors", "pytorch_model.bin"):
            hit = try_to_load_from_cache(cfg["hf_hub_id"], fname)
            if isinstance(hit, str) and Path(hit).is_file():
                return Path(hit)
    if cfg.get("url"):
        p = Path(torch.hub.get_dir()) / "checkpoints" / Path(cfg["url"]).name
        if p.is_file():
            return p
    return None


class DeepLabV3Plus(nn.Module):
    """LR image -> bicubic upsample to the mask size -> DeepLabV3+ -> logits ``[B, N, H, W]``."""

    def __init__(self, *, backbone: nn.Module, num_classes: int = NUM_CLASSES, aspp_channels: int = 256,
                 low_proj: int = 48, rates: tuple[int, ...] = (12, 24, 36), low_index: int = 1,
                 dropout: float = 0.1):
        """
        Args:
            backbone: module returning a list of feature maps, with ``channels`` and ``reductions``
                lists; the last map is the high-level input of ASPP.
            num_classes: N.
            aspp_channels: ASPP and decoder width (256 in DeepLabV3+).
            low_proj: low-level projection width (48 in DeepLabV3+).
            rates: ASPP atrous rates.
            low_index: index of the stride-4 map in the backbone's outputs.
            dropout: dropout in ASPP and decoder.
        """
        super().__init__()
        if backbone.reductions[low_index] != 4:
            raise ValueError(f"backbone feature {low_index} has stride {backbone.reductions[low_index]}, expected 4")
        self.backbone = backbone
        self.low_index = low_index
        self.num_classes = num_classes
        self.aspp = ASPP(in_channels=backbone.channels[-1], channels=aspp_channels, rates=rates, dropout=dropout)
        self.decoder = Decoder(low_channels=backbone.channels[low_index], aspp_channels=aspp_channels,
                               num_classes=num_classes, low_proj=low_proj, dropout=dropout)
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.pretrained_source = ""   # path of the ImageNet weights loaded into the backbone, "" if none

    def features(self, image: Tensor) -> list[Tensor]:
        """Multi-level backbone features of an image ``[B, 3, H, W]`` in ``[-1, 1]``.

        Takes the image as it is (an HR image goes in directly, no LR upsampling); used by the
        training code's CPU perceptual-loss substitute and the LPIPS-like substitute metric.
        Returns the backbone's maps from stride 2 to the output stride (five for every backbone).
        """
        x = ((image + 1) / 2 - self.mean) / self.std
        return self.backbone(x)

    def segment(self, image: Tensor) -> Tensor:
        """Logits ``[B, N, H, W]`` of an image at its own size (in ``[-1, 1]``)."""
        feats = self.features(image)
        logits = self.decoder(self.aspp(feats[-1]), feats[self.low_index])   # [B, N, H/4, W/4]
        return F.interpolate(logits, size=image.shape[-2:], mode="bilinear", align_corners=False)

    def forward(self, lr: Tensor, out_size: int | tuple[int, int]) -> Tensor:
        """LR image ``[B, 3, h, w]`` in ``[-1, 1]`` -> logits ``[B, N, H, W]`` at ``out_size``."""
        if lr.ndim != 4 or lr.shape[1] != 3:
            raise ValueError(f"expected an LR batch [B, 3, h, w], got {tuple(lr.shape)}")
        size = (out_size, out_size) if isinstance(out_size, int) else tuple(out_size)
        up = lr if tuple(lr.shape[-2:]) == size else \
            F.interpolate(lr, size=size, mode="bicubic", align_corners=False).clamp(-1, 1)   # [B, 3, H, W]
        return self.segment(up)


def build_segmenter(seg_cfg, num_classes: int = NUM_CLASSES, *, load_pretrained: bool | None = None) -> DeepLabV3Plus:
    """The segmenter of ``SegConfig`` (backbone drn | resnet101 | xception65, DRN width).

    ImageNet backbone weights are loaded when ``seg_cfg.pretrained`` (or ``load_pretrained``) is
    true *and* they are in the local cache; otherwise the backbone starts from scratch. The model's
    ``pretrained_source`` says which file was loaded ("" = none). Head widths scale with the DRN
    width (``4 * width`` for ASPP, 256 at DRN-D-54) so that tiny test widths stay tiny.
    """
    name = seg_cfg.backbone
    if name not in BACKBONES:
        raise ValueError(f"seg.backbone={name!r}; expected one of {', '.join(BACKBONES)}")
    want = seg_cfg.pretrained if load_pretrained is None else load_pretrained
    if name == "drn":
        backbone = DRND(width=seg_cfg.width)
        weights = find_imagenet_drn() if want and seg_cfg.width == 64 else None
        if weights is not None:
            load_imagenet_drn(backbone, weights)
        model = DeepLabV3Plus(backbone=backbone, num_classes=num_classes, aspp_channels=4 * seg_cfg.width,
                              low_proj=max(4, 3 * seg_cfg.width // 4), rates=(12, 24, 36))
    else:
        weights = find_imagenet_timm(BACKBONES[name][0]) if want else None
        backbone = TimmBackbone(name=BACKBONES[name][0], output_stride=16, weights=weights)
        model = DeepLabV3Plus(backbone=backbone, num_classes=num_classes, aspp_channels=256, low_proj=48,
                              rates=(6, 12, 18))
    model.pretrained_source = str(weights) if weights is not None else ""
    return model
