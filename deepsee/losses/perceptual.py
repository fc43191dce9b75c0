"""Perceptual losses (supplementary Section 2.1, Eq. 6) and the kit's documented CPU substitute.

- :class:`VGGPerceptualLoss` is Eq. 6: ImageNet VGG-19 activations after relu1_1, relu2_1, relu3_1,
  relu4_1 and relu5_1, weights ``w = [1/32, 1/16, 1/8, 1/4, 1]``, L1 per layer, target features
  detached. Inputs in [-1, 1] are mapped to [0, 1] and normalised with the ImageNet mean/std.
  The weights come from torchvision's cache file ``vgg19-dcbb9e9d.pth``; nothing is downloaded here,
  and a missing file stops training at start-up (never silently random features).
- :class:`SegmenterPerceptualLoss` is the substitute used by the CPU profiles (``perceptual:
  segmenter``): the same L1 feature distance on the kit's own trained, frozen face segmenter
  (``features(image) -> list[Tensor]``), uniform weights ``1 / num_layers``. Runs record which one
  they used (``perceptual_used`` in ``run_info.json``).

``build_perceptual(cfg)`` picks one from ``cfg.train.perceptual`` (vgg19 | segmenter | none).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models.vgg import cfgs, make_layers
from ..metrics.texture import TextureDistance

VGG19_FILE = "vgg19-dcbb9e9d.pth"
VGG19_URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
# Index (in torchvision's ``vgg19().features``) of the ReLU after conv1_1, conv2_1, ..., conv5_1.
VGG19_RELU_INDEX = {"relu1_1": 1, "relu2_1": 6, "relu3_1": 11, "relu4_1": 20, "relu5_1": 29}
VGG19_LAYER_WEIGHTS = (1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
PERCEPTUAL_KINDS = ("vgg19", "segmenter", "texture", "none")


def vgg19_cache_path() -> Path:
    """Where torchvision keeps the ImageNet VGG-19 file: ``$TORCH_HOME/hub/checkpoints/vgg19-dcbb9e9d.pth``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / VGG19_FILE


def _missing_vgg_message(path: Path) -> str:
    return (f"perceptual loss 'vgg19' needs the ImageNet VGG-19 weights file {path}, which is missing. "
            f"Fetch it with `deepsee weights fetch vgg19`, or download {VGG19_URL} into "
            f"{path.parent}/ (torch hub checkpoints folder). On a CPU without it use "
            f"`--set train.perceptual=segmenter` (documented substitute) or `none`.")


def vgg19_weights_path() -> Path:
    """The local VGG-19 weights file; raises ``FileNotFoundError`` naming it and how to fetch it."""
    try:
        from ..weights import require  # the kit's weight registry, when installed
    except ImportError:
        require = None
    if require is not None:
        return Path(require("vgg19"))
    path = vgg19_cache_path()
    if not path.is_file():
        raise FileNotFoundError(_missing_vgg_message(path))
    return path


class FeatureL1Loss(nn.Module):
    """``sum_i w_i * L1(F_i(fake), F_i(real).detach())`` over a frozen feature extractor's layers.

    Args:
        extractor: module mapping an image batch to a list of feature maps.
        weights:   one weight per returned feature map; ``None`` = uniform ``1 / num_maps``.
    """

    kind = "features"

    def __init__(self, extractor: nn.Module, weights: Sequence[float] | None = None):
        super().__init__()
        self.extractor = extractor
        self.weights = None if weights is None else tuple(float(w) for w in weights)
        self.extractor.requires_grad_(False)
        self.extractor.eval()

    def train(self, mode: bool = True):  # the extractor stays frozen in eval mode
        super().train(mode)
        self.extractor.eval()
        return self

    def features(self, image: torch.Tensor) -> list[torch.Tensor]:
        feats = list(self.extractor(image))
        if not feats:
            raise ValueError(f"{type(self).__name__}: the extractor returned no feature maps")
        if self.weights is not None and len(feats) != len(self.weights):
            raise ValueError(f"{type(self).__name__}: extractor returned {len(feats)} feature maps, "
                             f"expected {len(self.weights)} (one per weight)")
        return feats

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            target = self.features(real)
        pred = self.features(fake)
        weights = self.weights or (1.0 / len(pred),) * len(pred)
        loss = fake.new_zeros((), dtype=torch.float32)
        for w, p, t in zip(weights, pred, target):
            loss = loss + w * F.l1_loss(p.float(), t.detach().float())
        return loss


class _VGG19Slices(nn.Module):
    """torchvision VGG-19 ``features`` cut after relu1_1 .. relu5_1; input in [-1, 1]."""

    def __init__(self, weights_path: str | os.PathLike | None):
        super().__init__()
        feats = make_layers(cfgs["E"], batch_norm=False)  # torchvision's vgg19().features (no classifier)
        if weights_path is not None:
            try:
                state = torch.load(weights_path, map_location="cpu", weights_only=True)
                feats.load_state_dict({k[len("features."):]: v for k, v in state.items()
                                       if k.startswith("features.")})
            except Exception as e:
                raise RuntimeError(f"could not read VGG-19 weights from {weights_path}: {e}. "
                                   f"Delete it and fetch it again (`deepsee weights fetch vgg19`).") from e
        bounds = [0] + [i + 1 for i in VGG19_RELU_INDEX.values()]
        self.slices = nn.ModuleList(feats[a:b] for a, b in zip(bounds[:-1], bounds[1:]))
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, image: torch.Tensor) -> list[torch.Tensor]:
        x = ((image + 1) / 2 - self.mean.to(image.dtype)) / self.std.to(image.dtype)
        out = []
        for s in self.slices:
            x = s(x)
            out.append(x)
        return out


class VGGPerceptualLoss(FeatureL1Loss):
    """Eq. 6 with ImageNet VGG-19.

    Args:
        weights_path: the torchvision ``vgg19-dcbb9e9d.pth`` file. ``None`` builds randomly initialised
            VGG-19 features: only for timing benchmarks (same cost), never for training.
    """

    kind = "vgg19"

    def __init__(self, weights_path: str | os.PathLike | None):
        super().__init__(_VGG19Slices(weights_path), VGG19_LAYER_WEIGHTS)
        self.weights_path = None if weights_path is None else str(weights_path)


class _SegmenterFeatures(nn.Module):
    def __init__(self, segmenter: nn.Module):
        super().__init__()
        if not callable(getattr(segmenter, "features", None)):
            raise TypeError("the segmenter must have a features(image) -> list[Tensor] method")
        self.segmenter = segmenter

    def forward(self, image: torch.Tensor) -> list[torch.Tensor]:
        return list(self.segmenter.features(image))


class SegmenterPerceptualLoss(FeatureL1Loss):
    """L1 on the frozen kit segmenter's ``features()`` (uniform weights); the CPU substitute for Eq. 6."""

    kind = "segmenter"

    def __init__(self, segmenter: nn.Module, source: str = ""):
        super().__init__(_SegmenterFeatures(segmenter), None)
        self.source = source


def build_perceptual(cfg, segmenter_dir: str | os.PathLike | None = None, *,
                     segmenter: nn.Module | None = None) -> FeatureL1Loss | None:
    """The perceptual loss named by ``cfg.train.perceptual`` (``None`` for ``none``).

    ``vgg19`` raises an error naming the file and how to fetch it when the ImageNet weights are not
    in the local cache (``deepsee.weights.MissingWeightsError``). ``segmenter`` takes the kit segmenter module
    (``deepsee.seg.load_segmenter(segmenter_dir)``, which the training loads); ``segmenter_dir`` names its source.
    """
    kind = cfg.train.perceptual
    if kind not in PERCEPTUAL_KINDS:
        raise ValueError(f"train.perceptual={kind!r}; expected one of {PERCEPTUAL_KINDS}")
    if kind == "none":
        return None
    if kind == "vgg19":
        return VGGPerceptualLoss(vgg19_weights_path())
    if kind == "texture":
        return TexturePerceptualLoss()
    if segmenter is None:
        raise FileNotFoundError(
            "train.perceptual=segmenter needs a trained kit segmenter: pass --segmenter RUN_DIR "
            "(segmenter_dir=...) pointing at a `deepsee train-seg` run folder, or use "
            "--set train.perceptual=none")
    source = str(segmenter_dir or "")
    segmenter.requires_grad_(False)
    return SegmenterPerceptualLoss(segmenter, source=source)


class TexturePerceptualLoss(nn.Module):
    """``train.perceptual=texture``: the texture-statistics distance (:mod:`deepsee.metrics.texture`,
    differentiable form) as the training loss: weight-free, it rewards detail of the right local
    amplitude, orientation and colour rather than the exact pixels (a CPU-profile substitute for the
    paper's VGG-19 loss; not in the paper)."""

    kind = "texture"

    def __init__(self):
        super().__init__()
        self.dist = TextureDistance(quantize=False)

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        return self.dist.loss(fake, real)


def describe_perceptual(loss: FeatureL1Loss | None, lambda_vgg: float = 10.0) -> str:
    """One line a run records as ``perceptual_used`` (tables and figures quote it)."""
    if loss is None or lambda_vgg <= 0:
        return "none (no perceptual loss; lambda_vgg effectively 0)"
    if isinstance(loss, VGGPerceptualLoss):
        if loss.weights_path is None:
            return "vgg19 RANDOM-INIT (timing only, not a valid training loss)"
        return f"vgg19 (ImageNet, {loss.weights_path}; Eq. 6 as in the paper)"
    if isinstance(loss, SegmenterPerceptualLoss):
        return (f"segmenter substitute (L1 on the kit's trained face segmenter features, uniform weights, "
                f"from {loss.source or 'a given module'}; the paper uses ImageNet VGG-19)")
    if isinstance(loss, TexturePerceptualLoss):
        return ("texture-statistics substitute (differentiable TexStatDist: local band energies and low-pass "
                "colour; weight-free; the paper uses ImageNet VGG-19)")
    return str(getattr(loss, "kind", type(loss).__name__))


def perceptual_label(used: str) -> tuple[str, bool]:
    """A recorded ``perceptual_used`` line (:func:`describe_perceptual`, "<name> (<details>)") as its name
    and whether it is the paper's loss (VGG-19 with ImageNet weights)."""
    return used.split(" (")[0], used.startswith("vgg19 (ImageNet")


def pixel_l1(fake: torch.Tensor, real: torch.Tensor, onehot: torch.Tensor | None = None,
             max_weight: float = 0.0) -> torch.Tensor:
    """Optional pixel L1 (``lambda_l1``; not in the paper, default 0).

    With ``onehot`` ``[B, N, H, W]`` (``train.l1_region_balance``) each region present in an image
    weighs the same in that image's mean, whatever its area: pixel weight ``1 / (K area_n)`` for the
    K present regions, capped at ``max_weight`` times the uniform weight when ``max_weight > 0``,
    renormalised to mean 1. Small regions (lips, eyes, brows) then count as much as the background."""
    err = (fake.float() - real.float()).abs()
    if onehot is None:
        return err.mean()
    oh = onehot.float()
    if oh.shape[-2:] != err.shape[-2:]:
        oh = F.interpolate(oh, size=err.shape[-2:], mode="nearest")
    area = oh.mean((2, 3), keepdim=True)                                   # [B, N, 1, 1] fraction
    present = (area > 0).float()
    k = present.sum(1, keepdim=True).clamp_min(1)
    w = (oh * present / (k * area.clamp_min(1e-12))).sum(1, keepdim=True)  # [B, 1, H, W], mean 1
    if max_weight > 0:
        w = w.clamp(max=max_weight)
        w = w / w.mean((2, 3), keepdim=True)
    return (err * w).mean()

