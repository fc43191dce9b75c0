"""Perceptual distances: LPIPS (Tables 6-7, Figs 5-6 of the supplementary material) and a labelled
substitute that needs no download.

- :class:`LPIPS`: the ``lpips`` package, AlexNet trunk, linear layers v0.1 (Zhang et al. 2018).
  The AlexNet ImageNet weights come from torch's checkpoint cache (``deepsee weights fetch
  alexnet``); the linear layers ship inside the ``lpips`` package. Both are loaded here with
  ``torch.load(weights_only=True)`` and a strict state-dict load, so no parameter stays random and
  nothing is ever downloaded implicitly.
- :class:`FeatureDistance`: "SegFeatDist (LPIPS substitute)", the LPIPS formula without learned
  layer weights, on the feature maps of any extractor (the kit's trained segmenter). It is **not**
  LPIPS; its values are not comparable with published LPIPS numbers, and every table/figure that
  uses it says so through :attr:`FeatureDistance.name`. It ranks blur *closer* to the ground truth
  than sharp outputs with plausible but wrong detail (a segmenter learns to ignore blur).
- :class:`~deepsee.metrics.texture.TextureDistance`: "TexStatDist (LPIPS substitute)"
  (:mod:`deepsee.metrics.texture`), local band-pass energy statistics of a fixed filter bank; no
  weights, no segmenter; prefers detail to blur (known-answer test in
  :mod:`deepsee.metrics.known_answer`). Also **not** LPIPS, labelled so everywhere.

:func:`perceptual_metric` builds any of them; it never falls back silently (the caller catches
:class:`~deepsee.weights.MissingWeightsError` and decides).
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Callable, Sequence

import torch
from torch import Tensor

from ..weights import MissingWeightsError, require
from .image import check_pair as _check_pair, quantize  # noqa: F401  (deepsee.metrics.quantize)
from .texture import TextureDistance

LPIPS_NAME = "LPIPS alex v0.1"
SEGFEAT_NAME = "SegFeatDist (LPIPS substitute)"


def _module_device(m) -> torch.device:
    if isinstance(m, torch.nn.Module):
        for p in m.parameters():
            return p.device
    return torch.device("cpu")


def lpips_linear_weights_path(version: str = "0.1", net: str = "alex") -> Path:
    """The linear-layer weights shipped inside the installed ``lpips`` package."""
    import lpips   # heavy import: only when used
    return Path(lpips.__file__).parent / "weights" / f"v{version}" / f"{net}.pth"


def _alexnet_trunk_state(lpips_trunk: torch.nn.Module, alexnet_state: dict) -> dict:
    """Map torchvision AlexNet keys (``features.<i>.weight``) onto lpips' slices (``slice<k>.<i>.weight``).

    lpips keeps torchvision's layer index ``i`` as the module name inside each slice.
    """
    out = {}
    for key in lpips_trunk.state_dict():
        _, idx, param = key.split(".", 2)
        src = f"features.{idx}.{param}"
        if src not in alexnet_state:
            raise KeyError(f"AlexNet weights lack {src!r} (needed for lpips {key!r}); wrong file?")
        out[key] = alexnet_state[src]
    return out


class LPIPS:
    """LPIPS distance (AlexNet, v0.1) per image, ``[B]`` float tensor on the CPU; lower is better.

    Range ``[0, ~1]`` (0 for identical images). Inputs: RGB tensors ``[B, 3, H, W]`` in ``[-1, 1]``
    (lpips' own convention); quantised to uint8 levels first (``quantize=True``) so the value is
    that of the saved images, like PSNR/SSIM/FID. No crop, no resize; spatial average of the
    per-layer maps. Raises :class:`MissingWeightsError` at construction when AlexNet's ImageNet
    weights are not in torch's checkpoint cache.
    """

    name = LPIPS_NAME
    key = "lpips"

    def __init__(self, device: str | torch.device = "cpu", quantize: bool = True):
        lin_path = lpips_linear_weights_path()
        if not lin_path.is_file():
            raise MissingWeightsError(f"the lpips package has no linear-layer weights at {lin_path}; "
                                      "reinstall it (pip install --force-reinstall lpips)")
        alex_path = require("alexnet")  # raises before anything is constructed
        import lpips   # heavy import: only when used
        with warnings.catch_warnings():  # lpips passes torchvision's deprecated `pretrained=False`
            warnings.simplefilter("ignore", UserWarning)
            # pnet_rand / pretrained=False: build the architecture only; the weights follow below.
            net = lpips.LPIPS(net="alex", version="0.1", lpips=True, pretrained=False, pnet_rand=True,
                              verbose=False)
        alex = torch.load(alex_path, map_location="cpu", weights_only=True)
        lin = torch.load(lin_path, map_location="cpu", weights_only=True)  # saved from CUDA tensors
        # Strict loads into the trunk and each of the 5 linear layers cover every parameter, so
        # nothing random remains (scaling_layer holds lpips' fixed ImageNet mean/std constants).
        net.net.load_state_dict(_alexnet_trunk_state(net.net, alex), strict=True)
        for k in range(net.L):
            prefix = f"lin{k}."
            part = {key[len(prefix):]: v for key, v in lin.items() if key.startswith(prefix)}
            getattr(net, f"lin{k}").load_state_dict(part, strict=True)
        self.net = net.eval().requires_grad_(False).to(device)
        self.quantize = quantize

    def to(self, device) -> "LPIPS":
        self.net.to(device)
        return self

    @torch.no_grad()
    def __call__(self, a: Tensor, b: Tensor) -> Tensor:
        a, b = _inputs(a, b, self.net, self.quantize)
        return self.net(a, b).flatten().cpu()


    @torch.no_grad()
    def spatial(self, a: Tensor, b: Tensor) -> Tensor:
        """LPIPS as a map ``[B, H, W]`` on the CPU (lpips' ``spatial`` form: each layer's distance map upsampled
        to the image size and summed; its mean is close to, not exactly, :meth:`__call__`)."""
        a, b = _inputs(a, b, self.net, self.quantize)
        self.net.spatial = True
        try:
            return self.net(a, b)[:, 0].cpu()
        finally:
            self.net.spatial = False


def _inputs(a: Tensor, b: Tensor, module, quantize_levels: bool) -> tuple[Tensor, Tensor]:
    """A checked image pair as a distance network takes it: float, on ``module``'s device, quantised to
    uint8 levels when ``quantize_levels``."""
    a, b = _check_pair(a, b)
    dev = _module_device(module)
    a, b = a.to(dev).float(), b.to(dev).float()
    return (quantize(a), quantize(b)) if quantize_levels else (a, b)


def normalize_channels(f: Tensor, eps: float = 1e-10) -> Tensor:
    """Unit-normalise a feature map over channels (lpips.normalize_tensor's formula)."""
    return f / (f.pow(2).sum(dim=1, keepdim=True).sqrt() + eps)


class FeatureDistance:
    """LPIPS-style distance on an arbitrary feature extractor: the labelled LPIPS substitute.

    ``d(a, b) = sum_l mean_{h,w} sum_c (n(F_l(a)) - n(F_l(b)))^2`` with ``n`` the unit normalisation
    over channels and uniform layer weights (LPIPS' formula with every learned weight set to 1).
    Per image ``[B]`` float tensor on the CPU; lower is better; range ``[0, 4 L]`` for ``L`` layers,
    0 for identical images. Inputs ``[B, 3, H, W]`` in ``[-1, 1]`` (quantised to uint8 levels when
    ``quantize``), passed to ``extractor`` unchanged otherwise; no crop. The extractor (e.g. the
    segmenter's ``features``) returns a list of ``[B, C_l, H_l, W_l]`` maps; a Module is evaluated in
    eval mode (its previous mode is restored).

    Args:
        extractor: a module with ``features(image)`` or a callable ``image -> list[Tensor]``.
        name: label for axes, CSV columns and notes (default "SegFeatDist (LPIPS substitute)").
    """

    key = "segfeatdist"

    def __init__(self, extractor, name: str = SEGFEAT_NAME, quantize: bool = True):
        self.module = extractor if isinstance(extractor, torch.nn.Module) else None
        fn = getattr(extractor, "features", None)
        self.fn: Callable[[Tensor], Sequence[Tensor]] = fn if callable(fn) else extractor
        if not callable(self.fn):
            raise TypeError("extractor must be callable or have a features(image) method")
        self.name = name
        self.quantize = quantize

    def to(self, device) -> "FeatureDistance":
        if self.module is not None:
            self.module.to(device)
        return self

    @torch.no_grad()
    def __call__(self, a: Tensor, b: Tensor) -> Tensor:
        a, b = _inputs(a, b, self.module, self.quantize)
        was_training = self.module.training if self.module is not None else False
        if self.module is not None:
            self.module.eval()
        try:
            fa, fb = self.fn(a), self.fn(b)
        finally:
            if self.module is not None:
                self.module.train(was_training)
        if isinstance(fa, Tensor):
            fa, fb = [fa], [fb]
        if len(fa) == 0 or len(fa) != len(fb):
            raise ValueError("the extractor must return the same non-empty list of feature maps for both inputs")
        d = torch.zeros(a.shape[0], device=a.device)
        for x, y in zip(fa, fb):
            d = d + (normalize_channels(x.float()) - normalize_channels(y.float())).pow(2).sum(1).mean((1, 2))
        return d.cpu()


PERCEPTUAL_KINDS = ("lpips", "texture", "segfeat")


def choose_perceptual(choice: str = "lpips_or_texture", device: str | torch.device = "cpu") -> tuple:
    """The perceptual metric of ``eval.perceptual_metric``, with the fallback made explicit: ``(metric, why)``.

    - ``"lpips"``: :class:`LPIPS`; without its weights a :class:`~deepsee.weights.MissingWeightsError` that says
      what to fetch;
    - ``"texture"``: the weight-free substitute "TexStatDist (LPIPS substitute)"; ``why`` says it was chosen;
    - ``"lpips_or_texture"``: LPIPS when its weights are present, else the substitute, and ``why`` says why
      (the first line of LPIPS's missing-weights error).

    ``why`` is "" exactly when the metric is LPIPS. Callers state it in every output that uses the metric
    (``deepsee.pipeline.Pipeline.perceptual_metric`` records it for the sidecars; ``deepsee evaluate`` in its summary)."""
    if choice == "texture":
        return perceptual_metric("texture", device=device), "eval.perceptual_metric=texture (chosen)"
    if choice == "lpips":
        return perceptual_metric("lpips", device=device), ""
    if choice != "lpips_or_texture":
        raise ValueError(f"perceptual metric choice {choice!r}; expected 'lpips', 'texture' or 'lpips_or_texture'")
    try:
        return perceptual_metric("lpips", device=device), ""
    except MissingWeightsError as e:
        return perceptual_metric("texture", device=device), f"LPIPS unavailable ({str(e).splitlines()[0]})"


def perceptual_metric(kind: str = "lpips", segmenter=None, device: str | torch.device = "cpu"):
    """Build a perceptual distance by ``kind``; no implicit fallback.

    - ``"lpips"`` -> :class:`LPIPS` (raises MissingWeightsError without AlexNet weights);
    - ``"texture"`` -> :class:`~deepsee.metrics.texture.TextureDistance`, "TexStatDist (LPIPS
      substitute)": needs no weights and no segmenter (``segmenter`` is ignored);
    - ``"segfeat"`` -> :class:`FeatureDistance` on ``segmenter`` (required).
    """
    if kind == "lpips":
        return LPIPS(device=device)
    if kind == "texture":
        return TextureDistance().to(device)
    if kind == "segfeat":
        if segmenter is None:
            raise ValueError("perceptual_metric('segfeat') needs the trained segmenter "
                             "(deepsee.seg.load_segmenter(run_dir)) as `segmenter`")
        return FeatureDistance(segmenter).to(device)
    raise ValueError(f"unknown perceptual metric {kind!r}; expected one of "
                     + ", ".join(repr(k) for k in PERCEPTUAL_KINDS))
