"""Single-process and torchrun (multi-GPU, multi-node) execution.

``init_distributed`` reads the torchrun environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR``, ``MASTER_PORT``). Without it, training runs in one process and nothing here touches
``torch.distributed``. Backend: NCCL on CUDA, gloo on CPU. Only rank 0 writes files.

BatchNorm in the generator's NormBlocks is synchronised across GPUs (``SyncBatchNorm``) as in the
released code; on CPU (gloo) SyncBatchNorm is unsupported, so each process keeps plain BatchNorm
statistics (a documented difference that only affects CPU multi-process runs).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel as DDP

from ..config import resolve_device


@dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    owns_group: bool = False   # this code created the process group (and destroys it)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def init_distributed(device_name: str = "auto") -> DistInfo:
    """Join the torchrun process group when the environment describes one."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 and not dist.is_initialized():
        return DistInfo(device=resolve_device(device_name))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() and device_name != "cpu"
    owns = False
    if not dist.is_initialized():
        if use_cuda:
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
        owns = True
    device = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
    return DistInfo(dist.get_rank(), dist.get_world_size(), local_rank, device, owns)


def shutdown(info: DistInfo) -> None:
    if info.owns_group and dist.is_initialized():
        dist.destroy_process_group()


def convert_sync_batchnorm(module: nn.Module, info: DistInfo) -> nn.Module:
    """BatchNorm -> SyncBatchNorm for multi-GPU runs; unchanged on CPU or in one process."""
    if info.distributed and info.device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    return module


def wrap_ddp(module: nn.Module, info: DistInfo, find_unused: bool = False) -> nn.Module:
    if not info.distributed:
        return module
    ids = [info.device.index] if info.device.type == "cuda" else None
    return DDP(module, device_ids=ids, find_unused_parameters=find_unused)


def unwrap(module: nn.Module) -> nn.Module:
    return getattr(module, "module", module)


def broadcast_object(obj: Any, info: DistInfo) -> Any:
    """Rank 0's ``obj`` on every rank."""
    if not info.distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0, device=info.device if info.device.type == "cuda" else None)
    return box[0]


def gather_objects(obj: Any, info: DistInfo) -> list[Any]:
    """Every rank's ``obj``, in rank order, on every rank."""
    if not info.distributed:
        return [obj]
    out: list[Any] = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out


def barrier(info: DistInfo) -> None:
    if info.distributed:
        dist.barrier()
