"""Optimisers and the learning-rate schedule of supplementary Section 2.2.

Adam with betas (0, 0.9). Learning rates: generator, HR style encoder, shared style encoder and the
style-noise weights 1e-4; LR style encoder 2.5e-5; discriminator 4e-4. The rate is constant for
``epochs_const`` epochs, then decays linearly to zero over ``epochs_decay`` epochs. One multiplier is
common to every parameter group, so the LR encoder keeps its 1:4 ratio during the decay (the released
code lost it; see docs/ARCHITECTURE_NOTES.md "Optimisation").

A :class:`Plan` fixes the schedule in steps. ``steps_per_epoch = len(dataset) // (batch * world)``.
``train.schedule_steps`` sets the schedule's length in steps directly (the quick profile's budgets:
the same run on every machine). With the optional wall-clock cap (``train.max_minutes``) the schedule is compressed to the number of steps that
fit, keeping the constant:decay proportion, so the decay still ends at zero.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch.optim.lr_scheduler import LambdaLR

# Parameter-group name (DeepSEE.param_groups()) -> attribute of TrainConfig holding its rate.
GROUP_LR_FIELD = {"generator": "lr_g", "hr_encoder": "lr_g", "shared_encoder": "lr_g",
                  "lr_encoder": "lr_e_lr"}


@dataclass
class Plan:
    steps_per_epoch: int
    const_steps: float      # steps at the constant rate (fractional after a mid-decay re-fit)
    total_steps: int        # the rate reaches zero here
    source: str = "epochs"  # "epochs" | "steps" (train.schedule_steps) | "budget" (train.max_minutes)

    @property
    def decay_steps(self) -> int:
        return self.total_steps - self.const_steps

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Plan":
        return cls(**d)


def l1_weight(train_cfg, plan: Plan, step: int) -> float:
    """The pixel-L1 weight at ``step``: ``train.lambda_l1``, or with ``train.lambda_l1_final >= 0`` a
    linear decay from it to ``lambda_l1_final`` over the schedule's decay phase (the L1 term shapes the
    face early; late in training the adversarial and perceptual terms take over the detail)."""
    w0, w1 = float(train_cfg.lambda_l1), float(getattr(train_cfg, "lambda_l1_final", -1.0))
    if w1 < 0 or step <= plan.const_steps:
        return w0
    t = min(1.0, (step - plan.const_steps) / max(1.0, plan.decay_steps))
    return w0 + (w1 - w0) * t


def steps_per_epoch(num_items: int, batch_size: int, world_size: int = 1) -> int:
    n = num_items // (batch_size * world_size)
    if n < 1:
        raise ValueError(f"the training set has {num_items} items, fewer than one batch of "
                         f"{batch_size} x {world_size} processes")
    return n


def epoch_plan(train_cfg, num_items: int, world_size: int = 1) -> Plan:
    """The paper's schedule: ``epochs_const`` constant epochs then ``epochs_decay`` decaying ones."""
    spe = steps_per_epoch(num_items, train_cfg.batch_size, world_size)
    const = spe * train_cfg.epochs_const
    total = const + spe * train_cfg.epochs_decay
    if total < 1:
        raise ValueError("train.epochs_const + train.epochs_decay must be at least 1")
    return Plan(spe, const, total, "epochs")


def steps_plan(train_cfg, num_items: int, world_size: int = 1) -> Plan:
    """The schedule in ``train.schedule_steps`` steps when set (constant:decay in the proportion of
    ``epochs_const:epochs_decay``), else :func:`epoch_plan`. A step budget gives the same run on every
    machine, unlike a wall-clock budget."""
    plan = epoch_plan(train_cfg, num_items, world_size)
    total = int(getattr(train_cfg, "schedule_steps", 0) or 0)
    if total <= 0:
        return plan
    epochs = train_cfg.epochs_const + train_cfg.epochs_decay
    const = int(round(total * train_cfg.epochs_const / epochs))
    return Plan(plan.steps_per_epoch, min(const, total), total, "steps")


def budget_plan(plan: Plan, train_cfg, fit_steps: int) -> Plan:
    """Compress ``plan`` to at most ``fit_steps`` steps, keeping the constant:decay proportion."""
    total = max(1, min(plan.total_steps, int(fit_steps)))
    if total == plan.total_steps:
        return Plan(plan.steps_per_epoch, plan.const_steps, plan.total_steps, "budget")
    epochs = train_cfg.epochs_const + train_cfg.epochs_decay
    const = int(round(total * train_cfg.epochs_const / epochs))
    return Plan(plan.steps_per_epoch, min(const, total), total, "budget")


def refit_plan(plan: Plan, base: Plan, train_cfg, step: int, fit_steps: int) -> Plan:
    """The schedule re-fitted at ``step`` to end (rate zero) at ``fit_steps``, with no jump in the rate.

    ``base`` is the epoch plan (never exceeded). While the rate is still constant the constant:decay
    proportion of :func:`budget_plan` is kept (the decay starts now if that point has passed); during
    the decay the line from the current rate at ``step`` to zero at the new end replaces the old one
    (``const_steps`` then becomes the fractional step where that line is 1).
    """
    total = max(step + 1, min(base.total_steps, int(fit_steps)))
    m = lr_multiplier(step, plan.const_steps, plan.total_steps)
    if step < plan.const_steps:
        new = budget_plan(base, train_cfg, total)
        new.const_steps = max(new.const_steps, step)
        return new
    if m <= 0.0:
        return plan
    return Plan(plan.steps_per_epoch, total - (total - step) / m, total, "budget")


def lr_multiplier(step: int, const_steps: float, total_steps: int) -> float:
    """1 for ``step < const_steps``, then linear to 0 at ``total_steps`` (and 0 after)."""
    if step < const_steps:
        return 1.0
    decay = total_steps - const_steps
    if decay <= 0:
        return 0.0
    return max(0.0, 1.0 - (step - const_steps) / decay)


class PlanMultiplier:
    """The LambdaLR multiplier; reads the (possibly re-planned) :class:`Plan` at call time."""

    def __init__(self, plan: Plan):
        self.plan = plan

    def __call__(self, step: int) -> float:
        return lr_multiplier(step, self.plan.const_steps, self.plan.total_steps)


def generator_param_groups(groups: dict[str, list], train_cfg) -> list[dict]:
    """Adam parameter groups for the generator side from ``DeepSEE.param_groups()``."""
    out = []
    for name, params in groups.items():
        if name not in GROUP_LR_FIELD:
            raise KeyError(f"unknown parameter group {name!r} from DeepSEE.param_groups(); "
                           f"expected {sorted(GROUP_LR_FIELD)}")
        params = [p for p in params if p.requires_grad]
        if params:
            out.append({"params": params, "lr": getattr(train_cfg, GROUP_LR_FIELD[name]), "name": name})
    return out


def adam_impl(params, fused: bool) -> dict:
    """Adam's implementation keywords: ``{"fused": True}`` where every parameter's device supports the
    fused kernel (CPU, CUDA), else ``{"foreach": True}``; ``{}`` (torch's default) when ``fused`` is off.
    The three compute the same update (rounding aside)."""
    if not fused:
        return {}
    try:
        from torch.optim.optimizer import _get_fused_kernels_supported_devices   # private: may be missing
        supported = set(_get_fused_kernels_supported_devices())
    except ImportError:
        supported = {"cuda"}
    devices = {p.device.type for p in params}
    if devices and devices <= supported and all(p.is_floating_point() for p in params):
        return {"fused": True}
    return {"foreach": True}


def set_adam_impl(opt: torch.optim.Optimizer, impl: dict) -> None:
    """Impose the implementation on every group (a loaded optimizer state brings its saver's flags)."""
    for g in opt.param_groups:
        g["fused"] = impl.get("fused")
        g["foreach"] = impl.get("foreach")
        if g["fused"]:   # the fused kernel keeps the step count on the parameter's device, as float32
            for p in g["params"]:
                st = opt.state.get(p, {})
                if isinstance(st.get("step"), torch.Tensor):
                    st["step"] = st["step"].to(device=p.device, dtype=torch.float32)


def build_optimizers(model, discriminator, train_cfg, fused: bool = False
                     ) -> tuple[torch.optim.Adam, torch.optim.Adam]:
    """Adam(beta1, beta2) for generator + encoders (one group per part) and for the discriminator.
    ``fused``: the fused (or foreach) Adam kernel (speed-up ``fused_adam``, same update)."""
    betas = (train_cfg.beta1, train_cfg.beta2)
    groups = generator_param_groups(model.param_groups(), train_cfg)
    grouped = {id(p) for g in groups for p in g["params"]}
    missing = [n for n, p in model.named_parameters() if p.requires_grad and id(p) not in grouped]
    if missing:
        raise ValueError(f"DeepSEE.param_groups() misses trainable parameters: {missing[:5]}")
    d_params = list(discriminator.parameters())
    opt_g = torch.optim.Adam(groups, betas=betas, **adam_impl([p for g in groups for p in g["params"]], fused))
    opt_d = torch.optim.Adam([{"params": d_params, "lr": train_cfg.lr_d, "name": "discriminator"}],
                             betas=betas, **adam_impl(d_params, fused))
    return opt_g, opt_d


def build_schedulers(optimizers, multiplier: PlanMultiplier) -> list[LambdaLR]:
    """One LambdaLR per optimiser, all with the same multiplier (every group keeps its ratio)."""
    return [LambdaLR(opt, lr_lambda=multiplier) for opt in optimizers]


def current_lrs(optimizers) -> dict[str, float]:
    return {g.get("name", f"group{i}"): g["lr"] for opt in optimizers for i, g in enumerate(opt.param_groups)}
