"""Deterministic, resumable data order for training (single process or torchrun).

:class:`EpochSampler` shuffles with a generator seeded by ``(seed, epoch)``, shards like
``DistributedSampler`` (rank ``r`` takes every ``world``-th index of the permutation, the tail that does
not divide evenly is dropped) and can start at a position inside the epoch, so a resumed run sees
exactly the batches an uninterrupted one would. Each index travels with an item seed derived from
``(seed, epoch, index)``; :class:`SeededItems` runs the dataset's random augmentation (flip, guide
choice) under that seed, without touching the caller's random state. The data order and the
augmentation are therefore the same with any ``num_workers`` and across interruptions.
"""
from __future__ import annotations

import random
from typing import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

_MIX = 0x9E3779B97F4A7C15  # 64-bit golden-ratio constant to mix seeds


def item_seed(seed: int, epoch: int, index: int) -> int:
    """A 63-bit seed unique to (seed, epoch, dataset index)."""
    x = (seed * _MIX + epoch) & (2**64 - 1)
    x = (x * _MIX + index) & (2**64 - 1)
    x ^= x >> 29
    return x & (2**63 - 1)


class EpochSampler(Sampler):
    """Yields ``(index, item_seed)`` pairs for one rank; ``set_epoch`` / ``set_start`` pick the position.

    Args:
        num_items:  dataset length.
        seed:       shuffle seed (the same on every rank).
        rank, world_size: this process's share, as in ``DistributedSampler``.
        shuffle:    False keeps dataset order (evaluation).
    """

    def __init__(self, num_items: int, *, seed: int = 0, rank: int = 0, world_size: int = 1,
                 shuffle: bool = True):
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside world size {world_size}")
        self.num_items, self.seed, self.rank, self.world_size = num_items, seed, rank, world_size
        self.shuffle = shuffle
        self.per_rank = num_items // world_size
        self.epoch = 0
        self.start = 0  # items of this rank to skip in the current epoch

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def set_start(self, position: int) -> None:
        """Skip the first ``position`` items of this rank's share of the current epoch."""
        if not 0 <= position <= self.per_rank:
            raise ValueError(f"start position {position} outside 0..{self.per_rank}")
        self.start = int(position)

    def indices(self) -> list[int]:
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(self.num_items, generator=g).tolist()
        else:
            order = list(range(self.num_items))
        order = order[: self.per_rank * self.world_size]
        return order[self.rank:: self.world_size]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        for i in self.indices()[self.start:]:
            yield i, item_seed(self.seed, self.epoch, i)

    def __len__(self) -> int:
        return self.per_rank - self.start


class SeededItems(Dataset):
    """Wraps a dataset: ``items[(index, seed)]`` returns ``dataset[index]`` drawn under ``seed``.

    The python, numpy and torch (CPU) random states are saved and restored around the call.
    """

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key):
        index, seed = key
        py_state, np_state = random.getstate(), np.random.get_state()
        with torch.random.fork_rng(devices=[]):
            random.seed(seed)
            np.random.seed(seed % 2**32)
            torch.manual_seed(seed)
            try:
                return self.dataset[index]
            finally:
                random.setstate(py_state)
                np.random.set_state(np_state)


def make_loader(dataset, batch_size: int, sampler: EpochSampler, num_workers: int = 0,
                pin_memory: bool = False) -> DataLoader:
    """A DataLoader over :class:`SeededItems` that never draws from the global torch generator."""
    return DataLoader(SeededItems(dataset), batch_size=batch_size, sampler=sampler, drop_last=True,
                      num_workers=num_workers, pin_memory=pin_memory,
                      generator=torch.Generator().manual_seed(sampler.seed),
                      persistent_workers=False)
