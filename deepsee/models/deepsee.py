"""DeepSEE: style encoders + generator of one model variant, saved as ``model.safetensors`` + ``config.json``.

Variants (main paper and its ablation study; supplement Section 2.2; their style sources, block kinds and
noise deltas are ``deepsee.config.VARIANT_FACTS``):
    independent     LR and HR encoders + shared layer; training flips a fair coin for LR vs HR input and
                    another for style noise (delta 0.2); the LR encoder is used at test time.
    guided          HR encoder + shared layer on another image of the same person; noise every step (0.05).
    lr_style_only / hr_style_only   style branch only in the generator, one encoder.
    semantics_only / prior_only     no style at all (no encoders).
Style noise and the per-step coins are training-loop business: ``deepsee.train.step.choose_style`` says
which encoder feeds a step and whether it calls ``add_style_noise``; ``add_style_noise`` itself never adds
noise in eval mode.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Sequence

import torch
import torch.nn as nn
from safetensors import SafetensorError
from safetensors.torch import load_file
from safetensors.torch import save_file
from torch import Tensor

from ..config import VARIANT_FACTS, ModelConfig, validate_model
from ..data.degradation import project_consistent
from ..labels import LabelSet, label_set
from ..runs import atomic_path, write_json
from .discriminator import build_discriminator
from .encoders import SharedEncoder, StyleEncoder
from .fast import MODEL_SPEEDUPS, parts
from .generator import build_generator
from .layers import StyleNoise
from .masks import to_onehot

FORMAT = "deepsee-model"
FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"

LR_STRIDES = (1, 1, 1)   # Table 1
HR_STRIDES = (1, 2, 2)   # Table 2


def check_model_config(cfg: ModelConfig) -> None:
    """A ModelConfig the network can be built with (:func:`deepsee.config.validate_model`, the one check)."""
    if not isinstance(cfg, ModelConfig):
        raise TypeError(f"DeepSEE needs a ModelConfig (cfg.model), got {type(cfg).__name__}")
    validate_model(cfg)


def model_config_from_dict(d: dict, where: str = "config") -> ModelConfig:
    names = {f.name for f in dataclasses.fields(ModelConfig)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise KeyError(f"{where}: unknown model config keys {unknown}; valid keys: {sorted(names)}")
    return ModelConfig(**d)


class DeepSEE(nn.Module):
    """The trainable DeepSEE model of one variant (the discriminator is separate: ``build_discriminator``).

    Attributes: ``cfg``, ``generator``, ``lr_encoder`` / ``hr_encoder`` (None when unused),
    ``shared_encoder`` and ``style_noise`` (None for variants without style).

    ``speedups``: names of the generator's training speed-ups (``deepsee.models.fast.MODEL_SPEEDUPS``;
    ``train.speedups``), the paper's modules when empty. Same numbers and state-dict keys either way.
    ``style_branch``: how the generator computes its style branch ("effective" or "direct", the authors'
    order; the same numbers). ``grad_checkpoint``: recompute the NormBlock modulations in the backward pass
    (``train.grad_checkpoint``: less training memory, the same gradients).
    """

    def __init__(self, cfg: ModelConfig, style_branch: str = "effective", speedups: Sequence[str] = (),
                 labels: "LabelSet | str | None" = None, grad_checkpoint: bool = False):
        super().__init__()
        check_model_config(cfg)
        self.cfg = dataclasses.replace(cfg, enc_widths=list(cfg.enc_widths))
        self.labels = model_labels(cfg, labels)
        sources = VARIANT_FACTS[cfg.variant].style_sources
        self.generator = build_generator(cfg, style_branch, parts(speedups), grad_checkpoint)
        self.speedups = tuple(n for n in MODEL_SPEEDUPS if n in speedups)   # what the model was built with
        self.lr_encoder = StyleEncoder(widths=cfg.enc_widths, strides=LR_STRIDES) if "lr" in sources else None
        self.hr_encoder = StyleEncoder(widths=cfg.enc_widths, strides=HR_STRIDES) if "hr" in sources else None
        self.shared_encoder = (SharedEncoder(in_ch=cfg.enc_widths[3], style_dim=cfg.style_dim, pool=cfg.style_pool)
                               if sources else None)
        self.style_noise = StyleNoise(num_classes=cfg.num_classes, delta=cfg.delta) if sources else None

    @property
    def style_sources(self) -> tuple[str, ...]:
        """The encoders this variant uses: ("lr", "hr"), ("hr",), ("lr",) or ()."""
        return VARIANT_FACTS[self.cfg.variant].style_sources

    @property
    def test_time_source(self) -> str | None:
        """The encoder :meth:`test_time_style` reads: "lr" when the variant has one, else "hr", else None."""
        sources = self.style_sources
        return ("lr" if "lr" in sources else "hr") if sources else None

    # -- styles ------------------------------------------------------------------------------------
    def encode_style(self, image: Tensor, mask: Tensor, source: str = "lr") -> Tensor:
        """Style matrix ``[B, N, d]`` in [-1, 1] of an LR (``source="lr"``) or HR image and its mask
        (labels or one-hot, any size; resized to the feature map). No noise."""
        if source not in ("lr", "hr"):
            raise ValueError(f"source={source!r}; expected 'lr' or 'hr'")
        if source not in self.style_sources:
            raise ValueError(f"variant {self.cfg.variant!r} has no {source.upper()} style encoder "
                             f"(style sources: {self.style_sources or 'none'})")
        if image.ndim != 4 or image.shape[1] != 3:
            raise ValueError(f"image must be [B, 3, H, W]; got {tuple(image.shape)}")
        onehot = to_onehot(mask, self.cfg.num_classes)
        if onehot.shape[0] != image.shape[0]:
            raise ValueError(f"mask batch {onehot.shape[0]} != image batch {image.shape[0]}")
        encoder = self.lr_encoder if source == "lr" else self.hr_encoder
        return self.shared_encoder(encoder(image), onehot)           # [B, N, d]

    def test_time_style(self, item: dict, device=None) -> "Tensor | None":
        """The style a variant uses at test time, chosen from :attr:`style_sources` (never from the
        variant's name): the LR encoder on the LR input when the model has one (independent,
        lr_style_only); otherwise the HR encoder on another image of the same person (``guide_hr``,
        ``guide_mask``: guided, hr_style_only); None for the style-free variants. ``item``: one
        dataset item (unbatched tensors). Returns ``[1, N, d]`` or None."""
        src = self.test_time_source
        if src is None:
            return None
        dev = device if device is not None else next(self.parameters()).device
        if src == "lr":
            img, msk = item["lr"], item["mask"]
        else:
            if "guide_hr" not in item:
                raise ValueError(f"variant {self.cfg.variant!r} takes its style from the HR encoder: the item "
                                 f"needs guide_hr/guide_mask (another image of the person; build_dataset(..., guided=True))")
            img, msk = item["guide_hr"], item["guide_mask"]
        with torch.inference_mode():
            return self.encode_style(img[None].to(dev), msk[None].to(dev), source=src)

    def add_style_noise(self, style: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """S + U(-1, 1) * delta * sigmoid(w_n), clamped to [-1, 1], in training mode; unchanged in eval."""
        if self.style_noise is None:
            raise ValueError(f"variant {self.cfg.variant!r} has no style")
        return self.style_noise(style, generator)

    # -- image -------------------------------------------------------------------------------------
    def forward(self, lr: Tensor, mask: Tensor | None, style: Tensor | None = None) -> Tensor:
        """``lr [B, 3, h, w]`` in [-1, 1], mask at HR size (labels or one-hot / soft), ``style [B, N, d]``
        (None for variants without style) -> SR image ``[B, 3, h*f, w*f]`` in [-1, 1]."""
        return self.generator(lr, mask, style)

    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        """Parameters per optimiser group (style-noise weights go with the shared encoder)."""
        def params(*mods):
            return [p for m in mods if m is not None for p in m.parameters()]
        return {"generator": params(self.generator), "lr_encoder": params(self.lr_encoder),
                "hr_encoder": params(self.hr_encoder),
                "shared_encoder": params(self.shared_encoder, self.style_noise)}

    # -- files -------------------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write ``model.safetensors`` (weights and buffers) and ``config.json`` (the ModelConfig)."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
        with atomic_path(d / WEIGHTS_FILE) as tmp:
            save_file(state, str(tmp), metadata={"format": FORMAT, "format_version": str(FORMAT_VERSION)})
        write_json(d / CONFIG_FILE, {"format": FORMAT, "format_version": FORMAT_VERSION,
                                     "model": dataclasses.asdict(self.cfg),
                                     "style_branch": self.generator.style_branch,
                                     "labels": self.labels.to_dict()})
        return d

    @classmethod
    def load(cls, directory: str | Path, map_location: str | torch.device = "cpu",
             style_branch: str | None = None) -> "DeepSEE":
        """Rebuild a saved model from its folder alone (safetensors; nothing is unpickled). Eval mode."""
        d = Path(directory)
        cfg_path, w_path = d / CONFIG_FILE, d / WEIGHTS_FILE
        for p in (cfg_path, w_path):
            if not p.is_file():
                raise FileNotFoundError(f"{p} not found: a DeepSEE model folder holds {WEIGHTS_FILE} + {CONFIG_FILE}")
        try:
            meta = json.loads(cfg_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f"{cfg_path}: not valid JSON ({e}); the file is truncated or corrupt: re-create the "
                             f"model folder (re-run the training or import that wrote it)") from None
        if meta.get("format") != FORMAT or not isinstance(meta.get("model"), dict):
            raise ValueError(f"{cfg_path} is not a DeepSEE model config (format {meta.get('format')!r})")
        if int(meta.get("format_version", 0)) > FORMAT_VERSION:
            raise ValueError(f"{cfg_path} has format_version {meta['format_version']}; this kit reads "
                             f"up to {FORMAT_VERSION}")
        cfg = model_config_from_dict(meta["model"], str(cfg_path))
        try:   # folders saved before label sets hold faces (no "labels" entry)
            labels = label_set(meta.get("labels"))
        except (ValueError, FileNotFoundError) as e:
            raise ValueError(f"{cfg_path}: its label set is unreadable ({e})") from None
        model = cls(cfg, style_branch=style_branch or meta.get("style_branch", "effective"), labels=labels)
        try:
            state = load_file(str(w_path))
        except (SafetensorError, OSError, ValueError) as e:
            raise ValueError(
                f"{w_path}: cannot read the weights ({e}); the file is truncated or corrupt. Re-create it: "
                "re-download it, re-run the training (or `deepsee import-official`) that wrote it; "
                "`deepsee weights status` checks the kit's downloaded weight files") from None
        expected = model.state_dict()
        missing = sorted(set(expected) - set(state))
        unexpected = sorted(set(state) - set(expected))
        shapes = sorted(k for k in set(expected) & set(state) if expected[k].shape != state[k].shape)
        if missing or unexpected or shapes:
            raise ValueError(f"{w_path} does not match its {CONFIG_FILE}: missing {missing[:10]}, "
                             f"unexpected {unexpected[:10]}, mis-shaped {shapes[:10]}")
        model.load_state_dict(state)
        return model.to(map_location).eval()


def model_labels(cfg: ModelConfig, labels: "LabelSet | str | None" = None) -> LabelSet:
    """The label set of a model with config ``cfg``: ``labels`` (a set or its name), else the face set; a
    ``ValueError`` when its class count is not ``cfg.num_classes`` (the width of the semantic inputs)."""
    ls = label_set(labels)
    if ls.num_classes != cfg.num_classes:
        raise ValueError(f"label set {ls.name!r} has {ls.num_classes} classes, but model.num_classes="
                         f"{cfg.num_classes}; pass the model's label set (data.labels)")
    return ls


__all__ = ["DeepSEE", "build_discriminator", "model_labels"]


class ConsistentSR(nn.Module):
    """A DeepSEE model whose outputs are projected onto the images consistent with their input (issue 33,
    beyond the paper): ``ConsistentSR(model, antialias)(lr, mask, style)`` is
    ``project_consistent(model(lr, mask, style), lr, antialias)`` (:mod:`deepsee.data.degradation`), so every
    output's kit LR is ``lr`` (LR-PSNR above 60 dB) and only what the downscaling discards comes from the
    model. Styles, encoders and the variant are the wrapped model's (same attributes); the weights are
    shared, not copied.

    Args:
        model: a :class:`DeepSEE`.
        antialias: the degradation that made the LR inputs (the dataset's ``data.antialias``).
    """

    def __init__(self, model: DeepSEE, antialias: bool = False):
        super().__init__()
        self.model, self.antialias = model, bool(antialias)

    cfg = property(lambda self: self.model.cfg)
    style_sources = property(lambda self: self.model.style_sources)
    test_time_source = property(lambda self: self.model.test_time_source)
    labels = property(lambda self: self.model.labels)

    def encode_style(self, image: Tensor, mask: Tensor, source: str = "lr") -> Tensor:
        return self.model.encode_style(image, mask, source)

    def test_time_style(self, item: dict, device=None) -> "Tensor | None":
        return self.model.test_time_style(item, device)

    def forward(self, lr: Tensor, mask: Tensor | None, style: Tensor | None = None) -> Tensor:
        return project_consistent(self.model(lr, mask, style).float().clamp(-1, 1), lr.float(), self.antialias)
