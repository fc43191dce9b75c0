"""Registry of every pretrained weight file the kit can use, with checksums, status and download.

Nothing in the kit downloads weights implicitly: metrics and losses call :func:`require`, which
raises :class:`MissingWeightsError` (naming the file, where it is expected and the command that
fetches it) instead of falling back to random weights.

Two kinds of entries:

- ``torch_hub``: files in torch's checkpoint cache, ``torch.hub.get_dir()/checkpoints`` (i.e.
  ``$TORCH_HOME/hub/checkpoints``, default ``~/.cache/torch/hub/checkpoints``), the place torchvision
  and pytorch-fid look. Their names end in ``-<sha256 prefix>.pth`` (torchvision's ``check_hash``
  convention); :func:`verify` checks that the file's SHA-256 starts with that prefix.
  :func:`fetch` downloads them.
- ``shipped``: the showcase models in the repository (``pretrained/showcase``, :mod:`deepsee.showcase`),
  every file's SHA-256 in :mod:`deepsee.shipped_sha256`; verified before each use.
- ``user``: released DeepSEE checkpoints and trained segmenters that the user places under
  ``$DEEPSEE_WEIGHTS`` (default ``<data root>/weights``, i.e. ``data/weights``). Status only.

CLI: ``deepsee weights status`` and ``deepsee weights fetch [NAME ...]``.
"""
from __future__ import annotations

import hashlib
import ipaddress
import os
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from .config import data_root
from .runs import atomic_path

DEEPSEE_RELEASE_PAGE = "https://github.com/mcbuehler/DeepSEE"


class MissingWeightsError(RuntimeError):
    """A pretrained weight file the computation needs is not available locally (or is corrupt)."""


class WeightsChecksumError(MissingWeightsError):
    """A weight file exists (or was downloaded) but its SHA-256 does not match the registry."""


@dataclass(frozen=True)
class WeightEntry:
    name: str                  # registry key, used by `deepsee weights fetch NAME`
    purpose: str               # what the kit uses it for
    filename: str              # file (torch_hub) or folder (user) name
    kind: str = "torch_hub"    # torch_hub | user
    url: str = ""              # download URL (torch_hub entries)
    sha256: str = ""           # expected SHA-256: full (64 hex) or a prefix (torchvision convention)

    @property
    def path(self) -> Path:
        base = torch_hub_checkpoints() if self.kind == "torch_hub" else user_weights_dir()
        return base / self.filename


def _fid_weights_url() -> str:
    try:
        from pytorch_fid.inception import FID_WEIGHTS_URL   # heavy import: only when used
        return FID_WEIGHTS_URL
    except ImportError:  # pytorch-fid is a dependency; keep the registry importable without it
        return ("https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
                "pt_inception-2015-12-05-6726825d.pth")


def _prefix_from_name(filename: str) -> str:
    """``vgg19-dcbb9e9d.pth`` -> ``dcbb9e9d`` (torchvision's / torch.hub's hash-in-name convention)."""
    stem = filename.rsplit(".", 1)[0]
    return stem.rsplit("-", 1)[-1]


def _hub_entry(name: str, purpose: str, url: str) -> WeightEntry:
    filename = url.rsplit("/", 1)[-1]
    return WeightEntry(name, purpose, filename, "torch_hub", url, _prefix_from_name(filename))


REGISTRY: dict[str, WeightEntry] = {
    e.name: e for e in (
        _hub_entry("vgg19", "VGG-19 (ImageNet) perceptual loss for training (paper Sec. 2.1)",
                   "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"),
        _hub_entry("alexnet", "AlexNet (ImageNet) trunk of LPIPS v0.1 (Tables 6-7, Figs 5-6)",
                   "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth"),
        _hub_entry("inception_fid", "FID InceptionV3 (pytorch-fid, TF-ported) for FID (Tables 6-7)",
                   _fid_weights_url()),
        WeightEntry("deepsee_8x_independent", "released DeepSEE checkpoint, CelebA 8x independent "
                    "(import with `deepsee import-official`)", "official/8x_independent_128x128", "user"),
        WeightEntry("deepsee_8x_guided", "released DeepSEE checkpoint, CelebA 8x guided",
                    "official/8x_guided_128x128", "user"),
        WeightEntry("deepsee_32x_independent", "released DeepSEE checkpoint, CelebAMask-HQ 32x independent",
                    "official/32x_independent", "user"),
        WeightEntry("segmenter", "trained LR->HR face segmenter (run folder of `deepsee train-seg`)",
                    "segmenter", "user"),
    )
}


def torch_hub_checkpoints() -> Path:
    """torch's checkpoint cache, resolved like torchvision does: ``torch.hub.get_dir()/checkpoints``."""
    import torch.hub   # heavy: this module loads without it
    return Path(torch.hub.get_dir()) / "checkpoints"


def user_weights_dir() -> Path:
    """``$DEEPSEE_WEIGHTS`` or ``<data root>/weights`` (``$DEEPSEE_DATA/weights``, default ``data/weights``)."""
    env = os.environ.get("DEEPSEE_WEIGHTS")
    return Path(env) if env else data_root() / "weights"


def entry(name: str) -> WeightEntry:
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown weights {name!r}; registered: {', '.join(REGISTRY)}") from None


# SHA-256 of large files is cached per (path, size, mtime) so status/require stay cheap.
_HASH_CACHE: dict[tuple[str, int, int], str] = {}


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    path = Path(path)
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _HASH_CACHE:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            while block := fh.read(chunk):
                h.update(block)
        _HASH_CACHE[key] = h.hexdigest()
    return _HASH_CACHE[key]


def _hash_ok(actual: str, expected: str) -> bool:
    return bool(expected) and actual.startswith(expected.lower())


def verify(name: str) -> bool:
    """True when the file exists and its SHA-256 matches (prefix or full hash)."""
    e = entry(name)
    p = e.path
    if e.kind == "user":
        return p.is_dir() and any(p.iterdir())
    return p.is_file() and _hash_ok(sha256_file(p), e.sha256)


def _how_to_get(e: WeightEntry) -> str:
    if e.kind == "user":
        return (f"this is a user-provided folder: download or train it (released checkpoints: "
                f"{DEEPSEE_RELEASE_PAGE}) and place it at {e.path} (or set $DEEPSEE_WEIGHTS)")
    return (f"fetch it with `deepsee weights fetch {e.name}` (needs internet), or download {e.url} "
            f"manually to {e.path} (its SHA-256 must start with {e.sha256}); the folder follows "
            f"torch.hub.get_dir(), set $TORCH_HOME to move it")


def require(name: str) -> Path:
    """Path of a verified weight file/folder, or :class:`MissingWeightsError` saying how to get it."""
    e = entry(name)
    p = e.path
    if e.kind == "user":
        if not (p.is_dir() and any(p.iterdir())):
            raise MissingWeightsError(f"missing weights {e.name!r} ({e.purpose}): expected folder {p}; "
                                      + _how_to_get(e))
        return p
    if not p.is_file():
        raise MissingWeightsError(f"missing pretrained weights {e.name!r} ({e.purpose}): expected file "
                                  f"{e.filename} at {p}; " + _how_to_get(e))
    actual = sha256_file(p)
    if not _hash_ok(actual, e.sha256):
        raise WeightsChecksumError(f"weights {e.name!r} at {p} are corrupt or a different file: SHA-256 "
                                   f"{actual[:16]}... does not start with {e.sha256}; re-fetch with "
                                   f"`deepsee weights fetch {e.name} --force`")
    return p


def status() -> list[dict[str, Any]]:
    """One dict per registry entry: name, purpose, kind, path, present, ok, size, sha256 expected/actual."""
    rows = []
    for e in REGISTRY.values():
        p = e.path
        row: dict[str, Any] = {"name": e.name, "purpose": e.purpose, "kind": e.kind, "path": str(p),
                               "present": False, "ok": False, "size": None,
                               "sha256_expected": e.sha256 or None, "sha256_actual": None}
        if e.kind == "user":
            if p.is_dir():
                files = [f for f in p.rglob("*") if f.is_file()]
                row["present"] = bool(files)
                row["ok"] = bool(files)
                row["size"] = sum(f.stat().st_size for f in files)
        elif p.is_file():
            actual = sha256_file(p)
            row.update(present=True, size=p.stat().st_size, sha256_actual=actual,
                       ok=_hash_ok(actual, e.sha256))
        rows.append(row)
    return rows


def _check_url(url: str) -> None:
    u = urllib.parse.urlparse(url)
    if u.scheme in ("https", "file"):
        return
    if u.scheme == "http":
        host = (u.hostname or "").strip("[]")
        try:
            if host == "localhost" or ipaddress.ip_address(host).is_loopback:
                return
        except ValueError:
            pass
        raise ValueError(f"refusing plain http download from {host!r}; use an https:// or file:// URL")
    raise ValueError(f"unsupported URL scheme in {url!r}; use https://, file:// or http:// on loopback")


def fetch(name: str, url: str | None = None, force: bool = False, progress: bool = True,
          timeout: float = 60.0) -> Path:
    """Download a ``torch_hub`` entry into the cache; verify its SHA-256 before it appears there.

    The file is streamed into a temporary file beside the destination, hashed, and renamed only
    when the hash matches; on a mismatch or an interrupted download nothing is left behind.
    ``url`` overrides the registry URL (a mirror, or ``file://`` for an already downloaded copy).
    An existing file that verifies is kept unless ``force``.
    """
    e = entry(name)
    if e.kind != "torch_hub":
        raise MissingWeightsError(f"{e.name!r} cannot be fetched automatically: " + _how_to_get(e))
    dest = e.path
    if dest.is_file() and not force:
        if _hash_ok(sha256_file(dest), e.sha256):
            return dest
        raise WeightsChecksumError(f"{dest} exists but its SHA-256 does not start with {e.sha256}; "
                                   f"rerun with --force to replace it")
    url = url or e.url
    _check_url(url)
    h = hashlib.sha256()
    with atomic_path(dest) as tmp:
        with urllib.request.urlopen(url, timeout=timeout) as resp, open(tmp, "wb") as out:
            total = resp.headers.get("Content-Length")
            with tqdm(total=int(total) if total else None, unit="B", unit_scale=True,
                      desc=f"fetch {e.filename}", disable=not progress) as bar:
                while block := resp.read(1 << 20):
                    out.write(block)
                    h.update(block)
                    bar.update(len(block))
        actual = h.hexdigest()
        if not _hash_ok(actual, e.sha256):
            raise WeightsChecksumError(f"download of {e.name!r} from {url} has SHA-256 {actual[:16]}..., "
                                       f"expected a hash starting with {e.sha256}; nothing was written")
    return dest
