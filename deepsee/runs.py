"""Run folders, atomic writes and the metadata sidecar every table and figure carries.

A run folder (``runs/<kind>-<profile>-<tag>``) holds the resolved ``config.yaml``, an append-only
``stats.jsonl``, checkpoints and sample grids. Files are written atomically (temporary file in the
same folder, then ``os.replace``), so a killed process never leaves a truncated file behind.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import io
import json
import os
import platform
import random
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Iterator

REPO_ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the usual permissions
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, default=str) + "\n")


def append_jsonl(path: str | os.PathLike, obj: dict) -> None:
    with open(path, "a") as fh:
        fh.write(json.dumps(obj, default=str) + "\n")


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                             capture_output=True, text=True, timeout=5)
        sha = out.stdout.strip() or "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except Exception:
        return "unknown"


def package_versions() -> dict[str, str]:
    from importlib import metadata
    out = {"python": platform.python_version()}
    for name in ("deepsee", "torch", "torchvision", "numpy", "scikit-image", "lpips", "pytorch-fid",
                 "timm", "pillow", "pandas"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def machine_info() -> dict[str, Any]:
    import torch
    info = {"machine": platform.machine(), "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
    return info


def metadata(profile: str = "", seed: int | None = None, **extra: Any) -> dict[str, Any]:
    """The sidecar content: commit, profile, seed, package versions, machine, time, plus ``extra``."""
    md = {"commit": git_commit(), "profile": profile, "seed": seed,
          "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
          "versions": package_versions(), "machine": machine_info()}
    md.update(extra)
    return md


def write_table(df, path: str | os.PathLike, *, profile: str = "", seed: int | None = None,
                **extra: Any) -> Path:
    """Write a pandas DataFrame as CSV plus ``<name>.meta.json`` (commit, profile, seed, versions)."""
    path = Path(path)
    buf = io.StringIO()
    df.to_csv(buf, index=False)
    atomic_write_text(path, buf.getvalue())
    write_json(path.with_suffix(".meta.json"), metadata(profile, seed, **extra))
    return path


def save_figure(fig, path_stem: str | os.PathLike, *, dpi: int = 150, pdf: bool = True,
                profile: str = "", seed: int | None = None, **extra: Any) -> Path:
    """Save a matplotlib figure as ``<stem>.png`` (and ``.pdf``), plus a metadata sidecar."""
    stem = Path(path_stem)
    if stem.suffix in (".png", ".pdf"):
        stem = stem.with_suffix("")
    stem.parent.mkdir(parents=True, exist_ok=True)
    png = stem.with_suffix(".png")
    with atomic_path(png) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png")
    if pdf:
        with atomic_path(stem.with_suffix(".pdf")) as tmp:
            fig.savefig(tmp, bbox_inches="tight", format="pdf")
    write_json(stem.with_suffix(".meta.json"), metadata(profile, seed, **extra))
    return png


def new_run_dir(kind: str, profile: str, tag: str = "", root: str | os.PathLike = "runs",
                exist_ok: bool = False) -> Path:
    """``runs/<kind>-<profile>[-<tag>]``; with ``exist_ok=False`` a numeric suffix avoids clobbering."""
    name = "-".join(p for p in (kind, profile, tag) if p)
    base = Path(root) / name
    path = base
    i = 1
    while path.exists() and not exist_ok:
        i += 1
        path = Path(f"{base}-{i}")
    path.mkdir(parents=True, exist_ok=True)
    return path


def seed_everything(seed: int) -> None:
    import numpy as np
    import torch
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
