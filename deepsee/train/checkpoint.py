"""Resumable training checkpoints: safetensors for tensors, JSON for everything else.

A run folder holds ``checkpoint.json`` (the pointer) and one ``ckpt-<step>.safetensors``. The data
file holds every tensor (generator/encoders ``G.*``, discriminator ``D.*``, optimiser moments
``optG.*`` / ``optD.*``, torch RNG states ``rng.*``) and, in its header metadata, a JSON document with
the rest (step, schedule plan, optimiser hyper-parameters, scheduler and GradScaler states, python and
numpy RNG states, the sampler position, the resolved configuration).

Writing is crash-safe: the data file is written to a temporary name and renamed, then the pointer
(file name, byte size, sha256) is replaced the same way, then older data files are removed. A killed
process therefore leaves the previous checkpoint valid. Loading checks size and sha256 and raises
:class:`CheckpointError` naming the file when it was truncated or altered.
"""
from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ..runs import atomic_path, write_json

POINTER = "checkpoint.json"
FORMAT = "deepsee-train-checkpoint/1"


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, truncated or inconsistent."""


# --------------------------------------------------------------------------------------------- RNG
def capture_rng() -> dict[str, Any]:
    """This process's python / numpy / torch CPU / CUDA generator states."""
    np_state = np.random.get_state()
    return {
        "python": _to_json(random.getstate()),
        "numpy": [np_state[0], np_state[1].tolist(), int(np_state[2]), int(np_state[3]), float(np_state[4])],
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def restore_rng(state: dict[str, Any]) -> None:
    random.setstate(_python_state(state["python"]))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    cuda = state.get("cuda") or []
    if cuda and torch.cuda.is_available():
        if len(cuda) != torch.cuda.device_count():
            raise CheckpointError(f"checkpoint has CUDA RNG states for {len(cuda)} devices, "
                                  f"this machine has {torch.cuda.device_count()}")
        torch.cuda.set_rng_state_all(cuda)


def _to_json(x):
    if isinstance(x, (tuple, list)):
        return [_to_json(v) for v in x]
    return x


def _python_state(x):
    version, internal, gauss = x
    return (version, tuple(internal), gauss)


# ------------------------------------------------------------------------ optimiser / scheduler
def optimizer_to_flat(prefix: str, opt: torch.optim.Optimizer, tensors: dict) -> dict:
    sd = opt.state_dict()
    state_rest = {}
    for pid, pstate in sd["state"].items():
        scalars = {}
        for k, v in pstate.items():
            if isinstance(v, torch.Tensor):
                tensors[f"{prefix}.state.{pid}.{k}"] = v.detach().cpu().contiguous().clone()
            else:
                scalars[k] = v
        state_rest[str(pid)] = scalars
    return {"param_groups": _to_json(sd["param_groups"]), "state": state_rest}


def optimizer_from_flat(prefix: str, meta: dict, tensors: dict) -> dict:
    state: dict = {}
    for pid, scalars in meta["state"].items():
        state[int(pid)] = dict(scalars)
    head = f"{prefix}.state."
    for name, t in tensors.items():
        if name.startswith(head):
            pid, key = name[len(head):].split(".", 1)
            state.setdefault(int(pid), {})[key] = t
    groups = []
    for g in meta["param_groups"]:
        g = dict(g)
        if isinstance(g.get("betas"), list):
            g["betas"] = tuple(g["betas"])
        groups.append(g)
    return {"state": state, "param_groups": groups}


def scheduler_state(sched) -> dict:
    sd = sched.state_dict()
    sd["lr_lambdas"] = [None] * len(sd.get("lr_lambdas", []))  # the multiplier is rebuilt from the plan
    return _to_json(sd)


# ------------------------------------------------------------------------------------- file I/O
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_checkpoint(run_dir: str | Path, step: int, tensors: dict[str, torch.Tensor], meta: dict) -> Path:
    """Write ``ckpt-<step>.safetensors`` and point ``checkpoint.json`` at it (both atomic)."""
    run_dir = Path(run_dir)
    name = f"ckpt-{step:08d}.safetensors"
    path = run_dir / name
    doc = dict(meta, format=FORMAT, step=step)
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"deepsee": json.dumps(doc)})
    write_json(run_dir / POINTER, {"format": FORMAT, "file": name, "step": step,
                                   "bytes": path.stat().st_size, "sha256": _sha256(path)})
    for old in run_dir.glob("ckpt-*.safetensors"):
        if old.name != name:
            old.unlink(missing_ok=True)
    return path


def has_checkpoint(run_dir: str | Path) -> bool:
    return (Path(run_dir) / POINTER).is_file()


def read_checkpoint(run_dir: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """Verify and read the latest checkpoint of ``run_dir``: ``(tensors, meta)``."""
    run_dir = Path(run_dir)
    pointer = run_dir / POINTER
    if not pointer.is_file():
        raise FileNotFoundError(f"no training checkpoint in {run_dir} (missing {pointer})")
    try:
        info = json.loads(pointer.read_text())
        name, size, digest = info["file"], int(info["bytes"]), info["sha256"]
    except (ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"checkpoint pointer {pointer} is unreadable ({e}); "
                              f"the run folder is damaged") from e
    path = run_dir / name
    if not path.is_file():
        raise CheckpointError(f"checkpoint file {path} named by {pointer} is missing")
    actual = path.stat().st_size
    if actual != size:
        raise CheckpointError(f"checkpoint file {path} is truncated or altered: {actual} bytes, "
                              f"expected {size} (from {pointer})")
    if _sha256(path) != digest:
        raise CheckpointError(f"checkpoint file {path} is corrupt: sha256 differs from {pointer}")
    try:
        tensors = {}
        with safe_open(str(path), framework="pt", device="cpu") as fh:
            meta = json.loads(fh.metadata()["deepsee"])
            for key in fh.keys():
                tensors[key] = fh.get_tensor(key)
    except Exception as e:
        raise CheckpointError(f"checkpoint file {path} could not be read: {e}") from e
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint file {path} has format {meta.get('format')!r}, expected {FORMAT}")
    return tensors, meta


def split_prefix(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The tensors named ``prefix.<rest>``, keyed by ``<rest>``."""
    head = prefix + "."
    return {k[len(head):]: v for k, v in tensors.items() if k.startswith(head)}
