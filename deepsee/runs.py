"""Run folders, atomic writes and the metadata sidecar every table and figure carries.

A run folder (``runs/<kind>-<profile>-<tag>``) holds the resolved ``config.yaml``, an append-only
``stats.jsonl``, checkpoints and sample grids. Files are written atomically (temporary file in the
same folder, then ``os.replace``), so a killed process never leaves a truncated file behind.

Tables and figures (``results/``, ``figures/``) are shared between machines, so :func:`write_table`
and :func:`save_figure` pass every string of their sidecar and every text cell of the CSV through
:func:`portable`: no absolute path of the machine that wrote them is recorded.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import io
import json
import os
import platform
import random
import re
import subprocess
import tempfile
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any, Iterator

REPO_ROOT = Path(__file__).resolve().parent.parent
HUB_LABEL = "torch hub cache"
# Files that mark a run folder (seg/sr runs: config.yaml; the pipeline's folder: state.json).
RUN_MARKERS = ("config.yaml", "state.json", "run_info.json", "stats.jsonl")
_RUN_ROOTS: list[Path] = []
# An absolute POSIX path inside a text: "/" not preceded by a name character, "~", ":" or another "/"
# (so fractions like 1/16, "and/or" and URLs are left alone), then path components.
_ABS_PATH = re.compile(r"(?<![\w.~:/-])/[\w.+@%=~-]+(?:/[\w.+@%=~-]+)*/?")


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


#: Folders the pipeline itself writes (figures, tables, HTML exports). A change there is the run's own
#: output, not a change of the code that made it, so it does not mark the commit ``-dirty``.
GENERATED_PATHS = ("figures", "results", "docs/executed")


def git_commit() -> str:
    """The short commit of the code, with ``-dirty`` when tracked files other than the pipeline's own
    outputs (:data:`GENERATED_PATHS`) differ from it; ``unknown`` outside a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                             capture_output=True, text=True, timeout=5)
        sha = out.stdout.strip()
        if out.returncode != 0 or not sha:
            return "unknown"
        exclude = [f":(exclude){p}" for p in GENERATED_PATHS]
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", *exclude],
                               cwd=REPO_ROOT, capture_output=True, text=True, timeout=5).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except Exception:
        return "unknown"


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("deepsee", "torch", "torchvision", "numpy", "scikit-image", "lpips", "pytorch-fid",
                 "timm", "pillow", "pandas"):
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def cpu_model() -> str:
    """The CPU's model name with its widest vector extension, e.g. ``AMD EPYC (avx2)``: the CPU changes
    between machines, and floating-point results (and speed) with its instruction set."""
    name, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and name in ("", platform.machine(), platform.processor()):
                name = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    except OSError:
        pass
    isa = next((f for f in ("amx_bf16", "avx512f", "avx2") if f in flags), "")
    return f"{name} ({isa})" if isa else name


def machine_info() -> dict[str, Any]:
    import torch   # heavy: this module loads without it
    info = {"machine": platform.machine(), "processor": platform.processor() or platform.machine(),
            "cpu": cpu_model(),
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
    """Write a pandas DataFrame as CSV plus ``<name>.meta.json`` (commit, profile, seed, versions).
    Text cells and the sidecar go through :func:`portable` (no absolute paths)."""
    path = Path(path)
    df = df.copy()
    from pandas.api.types import is_object_dtype, is_string_dtype   # heavy: this module loads without it
    for col in df.columns:
        if is_object_dtype(df[col]) or is_string_dtype(df[col]):
            df[col] = df[col].map(portable)
    buf = io.StringIO()
    df.to_csv(buf, index=False)
    atomic_write_text(path, buf.getvalue())
    write_json(path.with_suffix(".meta.json"), portable(metadata(profile, seed, **extra)))
    return path


def save_figure(fig, path_stem: str | os.PathLike, *, dpi: int = 150, pdf: bool = True,
                profile: str = "", seed: int | None = None, **extra: Any) -> Path:
    """Save a matplotlib figure as ``<stem>.png`` (and ``.pdf``), plus a metadata sidecar (through
    :func:`portable`: no absolute paths)."""
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
    write_json(stem.with_suffix(".meta.json"), portable(metadata(profile, seed, **extra)))
    return png


def register_run_root(path: str | os.PathLike) -> None:
    """Record ``path`` as a run root, so :func:`portable` names the runs under it relative to it
    (:func:`new_run_dir` registers its root itself)."""
    p = Path(os.path.abspath(path))
    if p not in _RUN_ROOTS:
        _RUN_ROOTS.append(p)


def _relative(p: Path, root: Path) -> str | None:
    for a, b in ((p, root), (Path(os.path.realpath(p)), Path(os.path.realpath(root)))):
        try:
            return a.relative_to(b).as_posix()
        except ValueError:
            continue
    return None


def _marked_run_root(p: Path) -> Path | None:
    """The parent of the outermost ancestor of ``p`` (or ``p``) that is a run folder on this machine."""
    chain = list(reversed(p.parents))[2:] + [p]   # from /a/b downwards; never / or /a itself
    for d in chain:
        try:
            if any((d / m).is_file() for m in RUN_MARKERS):
                return d.parent
        except OSError:
            return None
    return None


def _portable_path(text: str) -> str:
    first = text.split("/")[1]
    if not Path("/" + first).exists():     # not a path of this machine (e.g. "/s" in "GFLOP/s")
        return text
    p = Path(os.path.normpath(text))
    tail = "/" if text.endswith("/") and text != "/" else ""

    def join(label: str, rel: str) -> str:
        if not label:
            return (rel or ".") + tail
        return label + ("/" + rel if rel and rel != "." else "") + tail

    import torch   # heavy: this module loads without it
    roots: list[tuple[Path, str]] = [(Path(torch.hub.get_dir()), HUB_LABEL)]
    roots += [(r, "") for r in _RUN_ROOTS]
    marked = _marked_run_root(p)
    if marked is not None:
        roots.append((marked, ""))
    roots.append((REPO_ROOT, ""))
    try:
        cwd = Path.cwd()
    except OSError:                        # the working folder was removed
        cwd = None
    if cwd is not None and len(cwd.parts) > 2:   # not "/" or "/tmp": that would make everything "relative"
        roots.append((cwd, ""))
    if os.environ.get("DEEPSEE_DATA"):
        roots.append((Path(os.environ["DEEPSEE_DATA"]), "$DEEPSEE_DATA"))
    roots.append((Path.home(), "~"))
    for root, label in roots:
        rel = _relative(p, root)
        if rel is not None:
            return join(label, rel)
    return ".../" + p.name + tail


def portable(value: Any) -> Any:
    """``value`` with every absolute path of this machine inside its strings (recursively through dicts,
    lists and tuples) made portable: the torch hub folder becomes "torch hub cache", a run folder is named
    relative to its run root (``sr-quick-independent``), anything in the repository or the working folder
    relative to it, the data folder ``$DEEPSEE_DATA``, the home folder ``~``; any other absolute path
    keeps only its last component (``.../name``). Run roots are those registered
    (:func:`register_run_root`, :func:`new_run_dir`) and, on this machine, the parent of the outermost
    folder holding a run marker (``config.yaml``, ``state.json``, ...)."""
    if isinstance(value, str):
        return _ABS_PATH.sub(lambda m: _portable_path(m.group(0)), value) if "/" in value else value
    if isinstance(value, os.PathLike):
        return portable(os.fspath(value))
    if isinstance(value, dict):
        return {k: portable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(portable(v) for v in value)
    return value


def run_root(value: str | os.PathLike = "") -> Path:
    """The folder of the runs, the kit's one rule beside the data root's (``deepsee.config.data_root``):
    ``value`` when set (``--run-root``, ``setup(run_root=...)``, ``--set run_root=...``), else ``$DEEPSEE_RUNS``,
    else ``runs``; a relative path is taken from the checkout (:data:`REPO_ROOT`), whatever the working
    folder. Absolute. Every default run folder lies under it: ``deepsee train-sr`` / ``train-seg`` runs, the
    notebooks' pipeline state, ``deepsee showcase train`` (``<root>/showcase``), the explorer's exports
    (``<root>/explorer``). A folder given explicitly (``--run-dir``) is taken as given."""
    root = Path(os.fspath(value) or os.environ.get("DEEPSEE_RUNS", "") or "runs")
    return root if root.is_absolute() else REPO_ROOT / root


def new_run_dir(kind: str, profile: str, tag: str = "", root: str | os.PathLike = "",
                exist_ok: bool = False) -> Path:
    """``<run root>/<kind>-<profile>[-<tag>]`` (:func:`run_root` of ``root``); with ``exist_ok=False`` a numeric
    suffix avoids clobbering."""
    name = "-".join(p for p in (kind, profile, tag) if p)
    root = run_root(root)
    base = root / name
    path = base
    i = 1
    while path.exists() and not exist_ok:
        i += 1
        path = Path(f"{base}-{i}")
    path.mkdir(parents=True, exist_ok=True)
    register_run_root(root)
    return path


def model_folder(path: str | os.PathLike) -> Path:
    """The model folder (``model.safetensors`` + ``config.json``) that ``path`` names: a run folder's
    ``model/``, else ``path`` itself (a model folder, e.g. from ``deepsee import-official``)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"model {path} not found (a run folder with model/, or a model folder)")
    return path / "model" if (path / "model").is_dir() else path


def seed_everything(seed: int) -> None:
    import numpy as np   # heavy: this module loads without it
    import torch   # heavy: this module loads without it
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
