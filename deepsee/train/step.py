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
"""
from __future__ import annotations

import contextlib
from typing import NamedTuple

import torch
import torch.nn as nn

from ..losses import feature_matching, hinge_d_terms, hinge_g, pixel_l1


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
                noise: bool = False):
        style = None
        if source is not None:
            style = self.model.encode_style(style_image, style_mask, source=source)  # [B, N, d]
            if noise:
                style = self.model.add_style_noise(style)
        return self.model(lr, mask, style)  # [B, 3, H, W] in [-1, 1]


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


def generator_losses(disc, fake, real, onehot, perceptual, train_cfg) -> tuple[torch.Tensor, dict]:
    """Eq. 7 and its parts (floats for logging)."""
    fake_outs, real_outs = discriminate(disc, fake, real, onehot)
    adv = hinge_g(fake_outs)
    feat = feature_matching(real_outs, fake_outs)
    total = adv + train_cfg.lambda_feat * feat
    parts = {"g_adv": adv, "g_feat": feat}
    if perceptual is not None and train_cfg.lambda_vgg > 0:
        perc = perceptual(fake, real)
        total = total + train_cfg.lambda_vgg * perc
        parts["g_perc"] = perc
    if train_cfg.lambda_l1 > 0:
        l1 = pixel_l1(fake, real)
        total = total + train_cfg.lambda_l1 * l1
        parts["g_l1"] = l1
    parts["g_total"] = total
    return total, parts


def discriminator_losses(disc, fake, real, onehot) -> tuple[torch.Tensor, dict]:
    """Eq. 8 and its real/fake halves."""
    fake_outs, real_outs = discriminate(disc, fake.detach(), real, onehot)
    loss_real, loss_fake = hinge_d_terms(real_outs, fake_outs)
    total = loss_real + loss_fake
    return total, {"d_real": loss_real, "d_fake": loss_fake, "d_total": total}
