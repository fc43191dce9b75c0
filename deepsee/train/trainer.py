"""The training state of one SR run: networks, optimisers, schedulers, scalers, coins, step counter.

:class:`SRTrainer` runs one iteration (:meth:`SRTrainer.train_step`: G step then D step, see
``step.py``) and converts its whole state to and from a checkpoint (``checkpoint.py``), including
every process's random state, so a resumed run continues bit for bit.
"""
from __future__ import annotations

import contextlib
import warnings

import torch
import torch.nn as nn

from ..models.masks import MaskPyramid, to_onehot
from ..runs import seed_everything
from .checkpoint import (capture_rng, optimizer_from_flat, optimizer_to_flat, restore_rng,
                         scheduler_state, split_prefix)
from .distributed import DistInfo, convert_sync_batchnorm, gather_objects, unwrap, wrap_ddp
from .schedule import (Plan, PlanMultiplier, l1_weight, adam_impl, build_optimizers, build_schedulers, current_lrs,
                       set_adam_impl)
from .step import (Generate, Speedups, choose_style, discriminator_losses, draw_coins, frozen, generator_losses,
                   locality_loss, locality_walk, style_inputs, style_reconstruction_grad)

AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
D_FAKE_MODES = ("regenerate", "detach")
COIN_SEED_OFFSET = 104729  # the coin generator's seed is cfg.seed + this (same on every rank)
LOCAL_SEED_OFFSET = 1299709  # the locality walk of step t: generator seeded cfg.seed + this + 7919 t (+ rank)


class SRTrainer:
    """Owns everything that changes during training.

    Args:
        model:         ``DeepSEE`` (generator + style encoders), built with its speed-ups
                       (``DeepSEE(cfg.model, speedups=Speedups.model_side())``).
        discriminator: the multi-scale discriminator (``build_discriminator``).
        cfg:           the resolved ``Config``.
        plan:          the learning-rate schedule in steps.
        info:          this process's place in the run (``init_distributed``).
        perceptual:    perceptual loss module or ``None``.
        speedups:      the training-step speed-ups (``step.Speedups`` or its string form); default
                       ``cfg.train.speedups`` (all on) for the step's own, the model's as it was built
                       for the generator's (given: they must be the model's). No numerics change (``step.py``).
    """

    def __init__(self, model: nn.Module, discriminator: nn.Module, cfg, plan: Plan,
                 info: DistInfo | None = None, perceptual: nn.Module | None = None,
                 speedups: "Speedups | str | None" = None):
        self.cfg, self.info = cfg, info or DistInfo()
        dev = self.info.device
        if cfg.train.amp not in ("none", *AMP_DTYPES):
            raise ValueError(f"train.amp={cfg.train.amp!r}; expected none, bf16 or fp16")
        if cfg.train.d_fake not in D_FAKE_MODES:
            raise ValueError(f"train.d_fake={cfg.train.d_fake!r}; expected one of {D_FAKE_MODES}")
        requested = Speedups.parse(speedups if speedups is not None else cfg.train.speedups)
        built = model.speedups
        if speedups is not None and set(requested.model_side()) != set(built):
            raise ValueError(f"speedups={requested.describe()!r} asks for the generator speed-ups "
                             f"{list(requested.model_side())}, the model was built with {list(built)}: build it "
                             f"with DeepSEE(cfg.model, speedups={requested.model_side()})")
        self.speedups = requested.with_model_side(built)
        self.model = convert_sync_batchnorm(model, self.info).to(dev).train()
        self.disc = discriminator.to(dev).train()
        self.perceptual = perceptual.to(dev) if perceptual is not None else None
        # Unused parameters each step: the encoder the coin did not pick, the style-noise weights
        # when no noise is added, the released block's unused Conv1d.
        self.gen = wrap_ddp(Generate(self.model), self.info, find_unused=True)
        self.disc_ddp = wrap_ddp(self.disc, self.info)
        self.opt_g, self.opt_d = build_optimizers(self.model, self.disc, cfg.train, fused=self.speedups.fused_adam)
        self.multiplier = PlanMultiplier(plan)
        self.scheds = build_schedulers([self.opt_g, self.opt_d], self.multiplier)
        enabled = cfg.train.amp == "fp16"
        self.scaler_g = torch.amp.GradScaler(dev.type, enabled=enabled)
        self.scaler_d = torch.amp.GradScaler(dev.type, enabled=enabled)
        self.coins = torch.Generator().manual_seed(cfg.seed + COIN_SEED_OFFSET)
        self.sources = tuple(self.model.style_sources)
        self.guided = cfg.model.variant == "guided"
        self.step = 0

    def local_generator(self) -> torch.Generator:
        """The locality walk's draws for this step: a function of (seed, step, rank) only, so a resumed or
        branched run draws what an uninterrupted one would, with no state in the checkpoint."""
        return torch.Generator().manual_seed(self.cfg.seed + LOCAL_SEED_OFFSET + 7919 * self.step + self.info.rank)

    @property
    def plan(self) -> Plan:
        return self.multiplier.plan

    def set_plan(self, plan: Plan) -> None:
        """Replace the schedule; the rates of the current step are recomputed."""
        self.multiplier.plan = plan
        m = self.multiplier(self.step)
        for sched in self.scheds:
            for group, base in zip(sched.optimizer.param_groups, sched.base_lrs):
                group["lr"] = base * m
            sched._last_lr = [g["lr"] for g in sched.optimizer.param_groups]

    @property
    def generate(self) -> Generate:
        """The un-wrapped generator step module (no DDP), for sampling and regeneration."""
        return unwrap(self.gen)

    def autocast(self):
        if self.cfg.train.amp == "none":
            return contextlib.nullcontext()
        return torch.autocast(self.info.device.type, dtype=AMP_DTYPES[self.cfg.train.amp])

    def lrs(self) -> dict[str, float]:
        return current_lrs([self.opt_g, self.opt_d])

    # ------------------------------------------------------------------------------ one step
    def to_device(self, batch: dict) -> dict:
        dev = self.info.device
        return {k: v.to(dev, non_blocking=True) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}

    def train_step(self, batch: dict) -> dict[str, float]:
        """G step (Eq. 7) then D step (Eq. 8) on one batch; returns the loss values."""
        batch = self.to_device(batch)
        lr, hr, mask = batch["lr"], batch["hr"], batch["mask"]
        n = self.cfg.model.num_classes
        onehot = to_onehot(mask, n)                                      # [B, N, H, W]
        if self.speedups.mask_once:   # dense one-hot and its resizes, once for G, the regenerated fake, E, D
            onehot = onehot.contiguous()
            batch = {**batch, "mask": onehot}
            mask = MaskPyramid(onehot, n)
        choice = choose_style(self.sources, draw_coins(self.coins), self.cfg.train.hr_style_share)
        simg, smask = style_inputs(batch, choice, self.guided)
        if self.speedups.mask_once and smask is not None and not smask.is_floating_point():
            smask = to_onehot(smask, n).contiguous()                     # guided: the guide's own mask

        self.opt_g.zero_grad(set_to_none=True)
        rec_weight = self.cfg.train.lambda_style_rec if choice.source == "hr" else 0.0
        distill_weight = self.cfg.train.lambda_style_distill if len(self.sources) > 1 and choice.source else 0.0
        walk = outside = None
        t = self.cfg.train
        if (t.lambda_local > 0 and choice.source is not None and self.step >= t.local_from
                and self.step % t.local_every == 0):
            walk, outside = locality_walk(onehot, t.local_delta, self.local_generator())
        with frozen(self.disc), self.autocast():
            fake, style, distill, *walked = self.gen(lr, mask, simg, smask, choice.source, choice.noise, extras=True,
                                                     distill_hr=hr if distill_weight > 0 else None, walk=walk)
            loss_g, parts = generator_losses(self.disc, fake, hr, onehot, self.perceptual, self.cfg.train,
                                            l1_weight(self.cfg.train, self.plan, self.step))
            if distill_weight > 0:   # the LR encoder regressed onto the HR encoder's style (independent)
                parts["g_style_distill"] = distill
                loss_g = loss_g + distill_weight * distill
            if walked:   # region locality: a walk on one class's rows must not move the other pixels
                parts["g_local"] = locality_loss(walked[1], walked[0], outside, t.local_ratio)
                loss_g = loss_g + t.lambda_local * parts["g_local"]
            if rec_weight > 0:   # the HR-style steps only: the output must carry the style it was given
                surrogate, parts["g_style_rec"] = style_reconstruction_grad(unwrap(self.gen).model, fake,
                                                                            onehot, style, rec_weight)
                loss_g = loss_g + surrogate
        self.scaler_g.scale(loss_g).backward()
        self.scaler_g.step(self.opt_g)
        self.scaler_g.update()

        if self.cfg.train.d_fake == "regenerate":   # a fresh fake for the D step, as the released code
            with torch.no_grad(), self.autocast():
                fake = self.generate(lr, mask, simg, smask, choice.source, choice.noise)
        self.opt_d.zero_grad(set_to_none=True)
        with self.autocast():
            loss_d, parts_d = discriminator_losses(self.disc_ddp, fake, hr, onehot)
        self.scaler_d.scale(loss_d).backward()
        self.scaler_d.step(self.opt_d)
        self.scaler_d.update()

        for sched in self.scheds:
            sched.step()
        self.step += 1
        out = {k: float(v.detach()) for k, v in {**parts, **parts_d}.items()}
        out["style_lr"] = float(choice.source == "lr")
        out["style_noise"] = float(choice.noise)
        if self.cfg.train.lambda_l1_final >= 0:   # the scheduled L1 weight of this step
            out["l1_weight"] = l1_weight(self.cfg.train, self.plan, self.step - 1)
        return out

    # ---------------------------------------------------------------------------- checkpoints
    def collect_state(self) -> tuple[dict, dict] | None:
        """(tensors, meta) of the whole training state on rank 0 (``None`` elsewhere).

        Collective under torchrun: every rank must call it (random states are gathered).
        """
        rngs = gather_objects(capture_rng(), self.info)
        if not self.info.is_main:
            return None
        tensors: dict[str, torch.Tensor] = {}
        for prefix, module in (("G", self.model), ("D", self.disc)):
            for k, v in module.state_dict().items():
                tensors[f"{prefix}.{k}"] = v.detach().cpu().contiguous().clone()
        meta = {"step": self.step, "plan": self.plan.to_dict(),
                "optG": optimizer_to_flat("optG", self.opt_g, tensors),
                "optD": optimizer_to_flat("optD", self.opt_d, tensors),
                "schedulers": [scheduler_state(s) for s in self.scheds],
                "scalers": [self.scaler_g.state_dict(), self.scaler_d.state_dict()],
                "world_size": self.info.world_size, "rng": []}
        tensors["rng.coin"] = self.coins.get_state()
        for r, st in enumerate(rngs):
            tensors[f"rng.{r}.torch"] = st["torch"]
            for i, c in enumerate(st["cuda"]):
                tensors[f"rng.{r}.cuda.{i}"] = c
            meta["rng"].append({"python": st["python"], "numpy": st["numpy"], "cuda": len(st["cuda"])})
        return tensors, meta

    def load_state(self, tensors: dict, meta: dict, restore_random: bool = True) -> None:
        """Restore a :meth:`collect_state` result (call last before training: it sets the RNGs)."""
        self.model.load_state_dict(split_prefix(tensors, "G"))
        self.disc.load_state_dict(split_prefix(tensors, "D"))
        self.opt_g.load_state_dict(optimizer_from_flat("optG", meta["optG"], tensors))
        self.opt_d.load_state_dict(optimizer_from_flat("optD", meta["optD"], tensors))
        for opt in (self.opt_g, self.opt_d):   # this run's Adam kernel, whatever the saver used
            set_adam_impl(opt, adam_impl([p for g in opt.param_groups for p in g["params"]],
                                         self.speedups.fused_adam))
        self.multiplier.plan = Plan.from_dict(meta["plan"])
        for sched, sd in zip(self.scheds, meta["schedulers"]):
            sched.load_state_dict(sd)
        for scaler, sd in zip((self.scaler_g, self.scaler_d), meta["scalers"]):
            if sd:
                scaler.load_state_dict(sd)
        self.coins.set_state(tensors["rng.coin"])
        self.step = int(meta["step"])
        if restore_random:
            self._restore_rng(tensors, meta)

    def _restore_rng(self, tensors: dict, meta: dict) -> None:
        rank = self.info.rank
        if meta.get("world_size", 1) != self.info.world_size or rank >= len(meta["rng"]):
            # Another process count: continue with fresh, distinct seeds (not bit-for-bit).
            warnings.warn(f"checkpoint was written by {meta.get('world_size')} processes, resuming with "
                          f"{self.info.world_size}: random states are re-seeded, the data order continues")
            seed_everything(self.cfg.seed + 1000 * self.step + rank)
            return
        st = dict(meta["rng"][rank])
        st["torch"] = tensors[f"rng.{rank}.torch"]
        st["cuda"] = [tensors[f"rng.{rank}.cuda.{i}"] for i in range(st["cuda"])]
        restore_rng(st)
