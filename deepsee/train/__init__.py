"""SR training (supplementary Section 2.2): losses of Eqs. 3-8, Adam with the paper's constant-then-
linear-decay schedule, resumable checkpoints, torchrun/DDP, mixed precision.

Public API:
- :func:`train_sr` (``deepsee train-sr``);
- :func:`read_checkpoint` / :func:`write_checkpoint` / :class:`CheckpointError`;
- :class:`SRTrainer` (one iteration and the checkpointable state), :class:`Plan`, :func:`lr_multiplier`,
  :func:`build_optimizers`.
"""
from .checkpoint import CheckpointError, has_checkpoint, read_checkpoint, write_checkpoint  # noqa: F401
from .loop import train_sr  # noqa: F401
from .schedule import Plan, build_optimizers, epoch_plan, lr_multiplier  # noqa: F401
from .trainer import SRTrainer  # noqa: F401
