"""One training iteration: the style input of each model variant, the G step and the D step.

Style input per step (supplementary Section 2.2, docs/ARCHITECTURE_NOTES.md "Style noise and the style
source of a training step"):
- independent: a fair coin picks the LR encoder on the LR input or the HR encoder on the ground-truth
  HR image (same mask); a second fair coin decides whether style noise is added.
- guided: the HR encoder on another image of the same person (``guide_hr`` with ``guide_mask``),
  always with style noise (delta 0.05).
- lr_style_only / hr_style_only: that encoder, always with style noise.
- prior_only / semantics_only: no style.
The coins come from a dedicated ``torch.Generator`` (checkpointed, identical on every rank).

G step (Eq. 7): ``L_G = L_adv + lambda_feat L_feat + lambda_vgg L_vgg (+ lambda_l1 L1)``; the
discriminator sees ``concat(image, one-hot mask)`` and its weights are frozen during this step.
D step (Eq. 8): ``L_D = L_adv_D`` on a fake regenerated under ``no_grad`` with the same style input (the
released code; ``train.d_fake=regenerate``) or on the G step's fake, detached (``detach``, one generator
forward pass cheaper).

Speed-ups (``train.speedups``, all on by default; each can be switched off alone). None changes the
computation, only the order of its sums (tests/test_step_equivalence.py: the same losses and gradients
as the plain step within 1e-5). Three are the generator's, chosen when the model is built
(``DeepSEE(cfg.model, speedups=Speedups.model_side())``; ``deepsee/models/fast.py`` describes them):
``fused_modulation``, ``direct_effective_backward``, ``fused_noise``. Two are the step's:
- ``mask_once``: the one-hot mask (dense NCHW) and its resized pyramid are made once per step and
  shared by the G step, the regenerated fake, the style encoder and the discriminator.
- ``fused_adam``: ``torch.optim.Adam(fused=True)`` (one kernel over all parameters) where the device
  supports it, else ``foreach=True``.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, fields
from typing import NamedTuple

import torch
import torch.nn as nn

from ..losses import feature_matching, hinge_d_terms, hinge_g, pixel_l1
from ..models.fast import MODEL_SPEEDUPS
from ..models.masks import MaskPyramid, to_onehot


SPEEDUPS = ("fused_modulation", "direct_effective_backward", "mask_once", "fused_adam", "fused_noise")


@dataclass(frozen=True)
class Speedups:
    """Which training-step speed-ups are on (module docstring). ``Speedups()`` = all on."""
    fused_modulation: bool = True
    direct_effective_backward: bool = True
    mask_once: bool = True
    fused_adam: bool = True
    fused_noise: bool = True

    @classmethod
    def parse(cls, spec: "str | Speedups | None") -> "Speedups":
        """``"all"`` | ``"none"`` | comma list read left to right: a name switches it on, ``-name`` off
        (``"all,-fused_adam"``: all but fused Adam; ``"mask_once"``: only that one)."""
        if isinstance(spec, Speedups):
            return spec
        tokens = [t.strip() for t in str(spec if spec is not None else "all").split(",") if t.strip()]
        on = dict.fromkeys(SPEEDUPS, False)
        if tokens and tokens[0].lstrip("-") not in ("all", "none") and tokens[0].startswith("-"):
            on = dict.fromkeys(SPEEDUPS, True)   # "-name" alone: all but that one
        for t in tokens:
            name, value = (t[1:], False) if t.startswith("-") else (t, True)
            if name == "all":
                on = dict.fromkeys(SPEEDUPS, value)
            elif name == "none":
                on = dict.fromkeys(SPEEDUPS, not value)
            elif name in on:
                on[name] = value
            else:
                raise ValueError(f"train.speedups: unknown speed-up {name!r}; expected all, none or "
                                 f"names from {SPEEDUPS} (\"-name\" switches one off)")
        return cls(**on)

    def names(self) -> list[str]:
        return [f.name for f in fields(self) if getattr(self, f.name)]

    def describe(self) -> str:
        on = self.names()
        return "all" if len(on) == len(SPEEDUPS) else ("none" if not on else ",".join(on))

    def model_side(self) -> tuple[str, ...]:
        """The generator's speed-ups that are on (``DeepSEE(cfg.model, speedups=...)``)."""
        return tuple(n for n in self.names() if n in MODEL_SPEEDUPS)

    def with_model_side(self, names) -> "Speedups":
        """These step speed-ups with the generator's replaced by ``names``."""
        return Speedups(**{n: (n in names) if n in MODEL_SPEEDUPS else getattr(self, n) for n in SPEEDUPS})


class StyleChoice(NamedTuple):
    source: str | None   # "lr" | "hr" | None (no style)
    noise: bool          # add uniform style noise


def draw_coins(generator: torch.Generator) -> tuple[float, float]:
    """Two fair coins per step (always drawn, so the stream does not depend on the variant)."""
    c = torch.rand(2, generator=generator)
    return float(c[0]), float(c[1])


def choose_style(sources: tuple[str, ...], coins: tuple[float, float], hr_share: float = 0.5) -> StyleChoice:
    """The variant's style source and noise decision for one step (``sources`` = DeepSEE.style_sources).

    independent: the HR encoder with probability ``hr_share`` (the paper: a fair coin, 0.5;
    ``train.hr_style_share``), noise in half of the steps."""
    if not sources:
        return StyleChoice(None, False)
    if len(sources) > 1:  # independent: alternate encoders, noise in half of the steps
        lr, hr = sources
        return StyleChoice(lr if coins[0] < 1.0 - hr_share else hr, coins[1] < 0.5)
    return StyleChoice(sources[0], True)


def style_inputs(batch: dict, choice: StyleChoice, guided: bool) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """(image, mask) the style encoder reads for this step."""
    if choice.source is None:
        return None, None
    if guided:
        return batch["guide_hr"], batch["guide_mask"]
    return batch[choice.source], batch["mask"]


class Generate(nn.Module):
    """Style encoding + noise + generator in one ``forward``, so DistributedDataParallel can wrap it."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, lr, mask, style_image=None, style_mask=None, source: str | None = None,
                noise: bool = False, extras: bool = False, distill_hr: torch.Tensor | None = None,
                walk: torch.Tensor | None = None):
        """-> the output, or with ``extras`` ``(output, style, distill)``: the style it was made with
        (noise included; ``None`` without a style) and, given ``distill_hr`` (the ground-truth HR image,
        independent variant), the style-distillation distance (:func:`style_distance` of the LR
        encoder's style to the HR encoder's, the latter without gradient; else ``None``). Given ``walk``
        (``[B, N]``, the locality term's style offsets, :func:`locality_walk`), ``extras`` has a fourth
        and fifth item: the outputs made with ``sg(style)`` and ``clamp(sg(style) + walk, -1, 1)``, in one
        batch of 2B so that both see the same batch-normalisation statistics (a walk must not count the
        shift of the training batch's statistics, which evaluation does not have). Inside ``forward`` so that
        DistributedDataParallel sees every parameter it uses."""
        style = distill = None
        if source is not None:
            style = self.model.encode_style(style_image, style_mask, source=source)  # [B, N, d]
            if distill_hr is not None:
                if source == "hr":
                    s_lr, s_hr = self.model.encode_style(lr, style_mask, source="lr"), style.detach()
                else:
                    with torch.no_grad():
                        s_hr = self.model.encode_style(distill_hr, style_mask, source="hr")
                    s_lr = style
                distill = style_distance(s_lr, s_hr, style_mask, self.model.cfg.num_classes)
            if noise:
                style = self.model.add_style_noise(style)
        out = self.model(lr, mask, style)  # [B, 3, H, W] in [-1, 1]
        if walk is not None:   # [sg(S); walked S] in one batch: the same normalisation statistics for both
            full = mask.full if isinstance(mask, MaskPyramid) else to_onehot(mask, self.model.cfg.num_classes)
            base = style.detach()
            pair = self.model(torch.cat([lr, lr]), torch.cat([full, full]),
                              torch.cat([base, (base + walk[..., None]).clamp(-1.0, 1.0)]))
            return (out, style, distill, *pair.chunk(2))
        return (out, style, distill) if extras else out


def locality_walk(onehot: torch.Tensor, delta: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The locality term's walk: per sample, the class of a pixel drawn uniformly (so a class is drawn in
    proportion to its area: the large regions, whose borders are longest, most often) and a sign, drawn
    from ``generator``. -> ``(walk [B, N], outside [B, 1, H, W])``: the style offsets (``+-delta``
    on that class's row, 0 elsewhere; broadcast over the style's d columns) and the pixels outside that
    class. Same walk as the region walks of ``deepsee.eval.style_usage`` (one class, not a group)."""
    b, n = onehot.shape[:2]
    area = onehot.detach().flatten(2).sum(-1).float().cpu().clamp_min(0)       # [B, N]
    area = area + (area.sum(1, keepdim=True) == 0).float()                        # an empty mask: any class
    cls = torch.multinomial(area, 1, generator=generator).squeeze(1)              # [B]
    sign = torch.randint(0, 2, (b,), generator=generator).float() * 2 - 1
    walk = torch.zeros(b, n)
    walk[torch.arange(b), cls] = sign * delta
    inside = onehot[torch.arange(b, device=onehot.device), cls.to(onehot.device)]   # [B, H, W]
    return walk.to(onehot), (1.0 - inside.float())[:, None]


def locality_record(train_cfg) -> dict | None:
    """The locality term's settings as ``run_info.json`` and the shipped models state them (``None`` when
    it is off): a recipe term not in the paper travels with every model trained with it."""
    t = train_cfg
    if t.lambda_local <= 0:
        return None
    return {"lambda_local": t.lambda_local, "local_ratio": t.local_ratio, "local_every": t.local_every,
            "local_from": t.local_from, "local_delta": t.local_delta,
            "note": "region-locality term, not in the paper (docs/DEVELOPING.md)"}


def locality_loss(walked: torch.Tensor, out: torch.Tensor, outside: torch.Tensor, ratio: float = 0.0) -> torch.Tensor:
    """How much a region's style moves the rest of the image (not in the paper). ``ratio = 0``: ``mean |walked
    - out|`` over the pixels outside the walked class (and the 3 channels), the denominator of the
    inside/outside ratio of the region walks. ``ratio > 0``: per sample, ``relu(outside change - inside
    change / ratio)``, averaged: only a walk whose inside/outside ratio is below ``ratio`` is penalised, so
    the term asks for locality without asking the style to matter less."""
    diff = (walked - out).abs().mean(1, keepdim=True)                              # [B, 1, H, W]
    if ratio <= 0:
        return (diff * outside).sum() / outside.sum().clamp_min(1.0)
    inside = 1.0 - outside
    out_mean = (diff * outside).flatten(1).sum(1) / outside.flatten(1).sum(1).clamp_min(1.0)
    in_mean = (diff * inside).flatten(1).sum(1) / inside.flatten(1).sum(1).clamp_min(1.0)
    return torch.relu(out_mean - in_mean / ratio).mean()


def style_distance(style: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``mean |style - target|`` over the rows of the regions present in each mask (labels or one-hot):
    the style-distillation term ``train.lambda_style_distill``."""
    onehot = mask if mask.is_floating_point() else to_onehot(mask, num_classes)
    present = (onehot.flatten(2).sum(-1) > 0).to(style.dtype)              # [B, N]
    return ((style - target).abs().mean(-1) * present).sum() / present.sum().clamp_min(1)


@contextlib.contextmanager
def frozen(module: nn.Module):
    """Temporarily stop gradients into ``module``'s parameters (inputs still get gradients)."""
    flags = [(p, p.requires_grad) for p in module.parameters()]
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield module
    finally:
        for p, f in flags:
            p.requires_grad_(f)


def discriminate(disc: nn.Module, fake: torch.Tensor, real: torch.Tensor, onehot: torch.Tensor):
    """One discriminator pass on ``[fake; real]``; returns (fake outputs, real outputs) per scale."""
    outs = disc(torch.cat([fake, real.to(fake.dtype)], 0), torch.cat([onehot, onehot], 0))
    b = fake.shape[0]
    fake_outs = [[t[:b] for t in scale] for scale in outs]
    real_outs = [[t[b:] for t in scale] for scale in outs]
    return fake_outs, real_outs


def generator_losses(disc, fake, real, onehot, perceptual, train_cfg,
                     l1_weight: float | None = None) -> tuple[torch.Tensor, dict]:
    """Eq. 7 and its parts (floats for logging); ``l1_weight`` (default ``train_cfg.lambda_l1``) is this
    step's pixel-L1 weight (:func:`deepsee.train.schedule.l1_weight`)."""
    w_l1 = train_cfg.lambda_l1 if l1_weight is None else l1_weight
    fake_outs, real_outs = discriminate(disc, fake, real, onehot)
    adv = hinge_g(fake_outs)
    feat = feature_matching(real_outs, fake_outs)
    total = adv + train_cfg.lambda_feat * feat
    parts = {"g_adv": adv, "g_feat": feat}
    if perceptual is not None and train_cfg.lambda_vgg > 0:
        perc = perceptual(fake, real)
        total = total + train_cfg.lambda_vgg * perc
        parts["g_perc"] = perc
    if w_l1 > 0:
        balance = train_cfg.l1_region_balance
        l1 = pixel_l1(fake, real, onehot if balance > 0 else None, balance)
        total = total + w_l1 * l1
        parts["g_l1"] = l1
    parts["g_total"] = total
    return total, parts


def style_reconstruction(model: nn.Module, fake: torch.Tensor, onehot: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """``mean |E_HR(fake) - S|`` over the style rows of the regions present in each mask: how far the
    HR encoder's reading of the output is from the style the output was generated with (a "latent
    regression" term, not in the paper). ``style`` is the target (detach it); ``onehot [B, N, H, W]``."""
    s_hat = model.shared_encoder(model.hr_encoder(fake), onehot)          # [B, N, d]
    return style_distance(s_hat, style, onehot, onehot.shape[1])


def style_reconstruction_grad(model: nn.Module, fake: torch.Tensor, onehot: torch.Tensor, style: torch.Tensor,
                              weight: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(surrogate, value): ``surrogate = (fake * g).sum()`` with ``g = d(weight * rec) / d fake``, so that
    adding it to the generator loss sends the reconstruction's gradient into the generator (and the
    encoders that made ``fake``'s style) but not into the HR encoder reading the output (which would
    make the term trivial); ``value`` is the reconstruction error (for logging)."""
    rec = style_reconstruction(model, fake, onehot, style.detach())
    g, = torch.autograd.grad(weight * rec, fake)
    return (fake * g.detach()).sum(), rec.detach()


def discriminator_losses(disc, fake, real, onehot) -> tuple[torch.Tensor, dict]:
    """Eq. 8 and its real/fake halves."""
    fake_outs, real_outs = discriminate(disc, fake.detach(), real, onehot)
    loss_real, loss_fake = hinge_d_terms(real_outs, fake_outs)
    total = loss_real + loss_fake
    return total, {"d_real": loss_real, "d_fake": loss_fake, "d_total": total}
