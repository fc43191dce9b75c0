"""What every face dataset of the kit shares: reading files with clear errors, the LR operator, the
item dict, identity pairing for the guided model (supplementary Sec. 2.2) and the flip augmentation.

An item is a dict::

    hr        float [3, H, W] in [-1, 1]   (H = W = cfg.data.hr_size; bicubic PIL resize)
    lr        float [3, h, w] in [-1, 1]   (lr_from_hr: F.interpolate bicubic, clamped)
    mask      int64 [H, W] in 0..18        (absent when the dataset has no masks, e.g. CelebA before
                                            masks are predicted; see ``FaceDataset.has_masks``)
    identity  int                          (-1 when unknown)
    name      str                          (file stem; predicted masks are stored as <name>.png)

and with ``guided=True`` also ``guide_hr``, ``guide_lr``, ``guide_mask``, ``guide_name``: another image
of the same person (never the item itself).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from ..constants import NUM_CLASSES

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
SPLITS = {"train": 0, "val": 1, "test": 2}


class DataError(ValueError):
    """A dataset file is missing, unreadable or not what the layout promises (the message says which)."""


# ------------------------------------------------------------------------------------- tensors


def lr_from_hr(hr: torch.Tensor, lr_size: int, antialias: bool = False) -> torch.Tensor:
    """Bicubic downsampling as in the released code: ``[3, H, W]`` or ``[B, 3, H, W]`` in [-1, 1] ->
    same rank at ``lr_size``, clamped to [-1, 1]. ``antialias=False`` (default) reproduces the released
    code; ``True`` low-pass filters first (closer to MATLAB's imresize)."""
    x = hr.unsqueeze(0) if hr.dim() == 3 else hr
    if x.dim() != 4:
        raise ValueError(f"lr_from_hr expects [3, H, W] or [B, 3, H, W], got {tuple(hr.shape)}")
    y = F.interpolate(x.float(), size=(lr_size, lr_size), mode="bicubic", align_corners=False,
                      antialias=antialias).clamp_(-1, 1)
    return y[0] if hr.dim() == 3 else y


def to_tensor_image(rgb: np.ndarray) -> torch.Tensor:
    """uint8 ``[H, W, 3]`` -> float ``[3, H, W]`` in [-1, 1]."""
    return torch.from_numpy(np.array(rgb, dtype=np.uint8)).permute(2, 0, 1).float().div_(127.5).sub_(1)


# ---------------------------------------------------------------------------------------- files


def require_dir(path: Path, what: str) -> Path:
    if not Path(path).is_dir():
        raise DataError(f"missing folder {path} ({what})")
    return Path(path)


def require_file(path: Path, what: str) -> Path:
    if not Path(path).is_file():
        raise DataError(f"missing file {path} ({what})")
    return Path(path)


def find_file(name: str, folders: Sequence[Path], what: str, required: bool = True) -> Path | None:
    """The first ``<folder>/<name>`` that exists; a DataError listing every place looked otherwise."""
    for f in folders:
        p = Path(f) / name
        if p.is_file():
            return p
    if required:
        looked = ", ".join(str(Path(f) / name) for f in folders)
        raise DataError(f"missing file {name} ({what}); looked in: {looked}")
    return None


def open_image(path: Path, what: str = "image") -> Image.Image:
    """Open and fully decode an image file; unreadable or truncated files raise DataError naming it."""
    try:
        im = Image.open(path)
        im.load()
        return im
    except FileNotFoundError:
        raise DataError(f"missing file {path} ({what})") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise DataError(f"cannot read {what} {path}: {e} (expected a complete, readable image file)") from None


def image_size(path: Path, what: str = "image") -> tuple[int, int]:
    """``(width, height)`` from the file header (no decoding)."""
    try:
        with Image.open(path) as im:
            return im.size
    except FileNotFoundError:
        raise DataError(f"missing file {path} ({what})") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise DataError(f"cannot read {what} {path}: {e} (expected a readable image file)") from None


def read_table(path: Path, ncols: int, what: str, header: bool = False) -> list[list[str]]:
    """Whitespace-separated text table (CelebA annotation files); malformed lines raise DataError."""
    rows = []
    with open(path) as fh:
        lines = fh.read().splitlines()
    for k, line in enumerate(lines[1:] if header else lines, start=2 if header else 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != ncols:
            raise DataError(f"{path}, line {k}: expected {ncols} columns ({what}), got {line!r}")
        rows.append(parts)
    return rows


def read_partition(path: Path) -> dict[str, int]:
    """CelebA ``list_eval_partition.txt``: ``<file> <0|1|2>`` -> {file: split code}."""
    out = {}
    for f, s in read_table(path, 2, "<file> <0|1|2>"):
        if s not in ("0", "1", "2"):
            raise DataError(f"{path}: split of {f} is {s!r}; expected 0 (train), 1 (val) or 2 (test)")
        out[f] = int(s)
    return out


def read_identities(path: Path) -> dict[str, int]:
    """CelebA ``identity_CelebA.txt``: ``<file> <id>`` -> {file: id}."""
    out = {}
    for f, i in read_table(path, 2, "<file> <identity id>"):
        try:
            out[f] = int(i)
        except ValueError:
            raise DataError(f"{path}: identity of {f} is {i!r}; expected an integer") from None
    return out


def check_only(only, what: str) -> list[str] | None:
    """``only`` (the splits a generated dataset writes) checked and in split order; None (all of them) stays None,
    and so does a list of all three."""
    if only is None:
        return None
    bad = [s for s in only if s not in SPLITS]
    if bad or not only:
        raise ValueError(f"{what}: only={list(only)!r}; expected some of train, val, test")
    out = sorted(set(only), key=SPLITS.get)
    return None if len(out) == len(SPLITS) else out


def covers(manifest: dict | None, splits) -> bool:
    """Whether a generated dataset's manifest has every split of ``splits`` written (None: all three). A
    manifest without ``written`` holds them all; ``written`` lists the splits of a partial one."""
    written = (manifest or {}).get("written")
    if written is None:
        return manifest is not None
    return splits is not None and set(splits) <= set(written)


def needed_splits(manifest: dict | None, same: bool, splits, fresh_partial: bool = True) -> list[str] | None:
    """What to generate so that ``splits`` are there: with the same settings, the partial folder's splits and
    ``splits`` together (the folder is written anew, so it keeps what it had); otherwise ``splits`` (None: all),
    or all of them when not ``fresh_partial``."""
    if splits is None or not (same or fresh_partial):
        return None
    have = (manifest or {}).get("written") if same else []
    return check_only(sorted(set(have or []) | set(splits)), "splits")


def split_code(split: str) -> int | None:
    """``train``/``val``/``test`` -> 0/1/2; ``all`` -> None."""
    if split == "all":
        return None
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected train, val, test or all")
    return SPLITS[split]


def list_images(folder: Path) -> dict[str, Path]:
    """Image files directly in ``folder`` by stem (sorted); two files with one stem raise DataError."""
    out: dict[str, Path] = {}
    for p in sorted(Path(folder).iterdir()):
        if p.is_file() and p.suffix.lower() in IMAGE_EXTS and not p.name.startswith("."):
            if p.stem in out:
                raise DataError(f"{p} and {out[p.stem]} share the stem {p.stem!r}; stems must be unique")
            out[p.stem] = p
    return out


def mask_dir_paths(mask_dir: Path, names: Sequence[str]) -> list[Path]:
    """``<mask_dir>/<name>.png`` for each name; any missing raises DataError (count and first few)."""
    require_dir(mask_dir, "data.mask_dir: label PNGs named <image stem>.png")
    present = {p.name for p in Path(mask_dir).iterdir()}
    missing = [n for n in names if f"{n}.png" not in present]
    if missing:
        raise DataError(f"{len(missing)} image(s) have no mask in {mask_dir} (expected <stem>.png), "
                        f"e.g. {', '.join(m + '.png' for m in missing[:5])}")
    return [Path(mask_dir) / f"{n}.png" for n in names]


def read_label_png(path: Path, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """A label PNG (one channel, values 0..num_classes-1; default the 19 face classes) -> uint8 ``[H, W]``;
    anything else raises DataError."""
    im = open_image(path, "label mask")
    a = np.asarray(im)
    if a.ndim != 2 or im.mode not in ("L", "P", "I", "I;16", "1"):
        raise DataError(f"label mask {path} has mode {im.mode} with shape {a.shape}; expected a "
                        f"single-channel PNG of class indices 0..{num_classes - 1}")
    if a.size and (a.min() < 0 or a.max() >= num_classes):
        raise DataError(f"label mask {path} holds values {int(a.min())}..{int(a.max())}; "
                        f"valid class indices are 0..{num_classes - 1}")
    return a.astype(np.uint8)


def centre_square(w: int, h: int) -> tuple[int, int, int, int]:
    """The centred square crop box ``(left, top, right, bottom)`` of a ``w`` x ``h`` image."""
    s = min(w, h)
    left, top = (w - s) // 2, (h - s) // 2
    return left, top, left + s, top + s


def load_hr(path: Path, size: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Image file -> centre square crop -> bicubic (PIL) ``size`` -> ``[3, size, size]`` in [-1, 1];
    also returns the original ``(width, height)``."""
    im = open_image(path, "image")
    w, h = im.size
    im = im.convert("RGB")
    if w != h:
        im = im.crop(centre_square(w, h))
    if im.size != (size, size):
        im = im.resize((size, size), Image.BICUBIC)
    return to_tensor_image(np.asarray(im)), (w, h)


def load_mask(path: Path, size: int, image_wh: tuple[int, int] | None = None) -> torch.Tensor:
    """Label PNG -> int64 ``[size, size]`` (nearest). With ``image_wh``, the mask must have the image's
    aspect ratio (then it gets the image's centre crop) or be square (already in the cropped frame)."""
    a = read_label_png(path)
    mh, mw = a.shape
    if image_wh is not None and mw != mh:
        w, h = image_wh
        if abs(mw / mh - w / h) > 0.01:
            raise DataError(f"mask {path} is {mw}x{mh} but its image is {w}x{h}; expected the image's "
                            f"aspect ratio or a square mask")
        l, t, r, b = centre_square(mw, mh)
        a = a[t:b, l:r]
    if a.shape != (size, size):
        a = np.asarray(Image.fromarray(a).resize((size, size), Image.NEAREST))
    return torch.from_numpy(a.astype(np.int64))


# --------------------------------------------------------------------------------------- dataset


@dataclass
class Record:
    name: str             # file stem; unique within the dataset
    image: Path
    mask: Path | None     # label PNG (any size; nearest to hr_size) or None
    identity: int = -1


class FaceDataset(Dataset):
    """Images (+ label masks) of a list of :class:`Record`, as item dicts (see the module docstring).

    Args:
        records:   the split's files.
        hr_size:   HR side; lr_size: LR side (bicubic, ``antialias``).
        train:     random horizontal flip (with ``flip``) and a random guide; else deterministic.
        guided:    add a different image of the same person; people with one image are left out.
        source:    a short description for messages (dataset, root, split).
    """

    def __init__(self, records: Sequence[Record], *, hr_size: int, lr_size: int, antialias: bool = False,
                 flip: bool = True, train: bool = False, guided: bool = False, source: str = ""):
        self.records = list(records)
        self.hr_size, self.lr_size, self.antialias = hr_size, lr_size, antialias
        self.flip, self.train, self.guided, self.source = flip and train, train, guided, source
        self.has_masks = bool(self.records) and all(r.mask is not None for r in self.records)
        if guided:
            if any(r.identity < 0 for r in self.records):
                raise DataError(f"{source}: guided data needs identities (identity_CelebA.txt or "
                                f"identities.txt); some images have none")
            people: dict[int, list[int]] = {}
            for i, r in enumerate(self.records):
                people.setdefault(r.identity, []).append(i)
            # index -> the other images of its person; singletons are dropped
            self.items = [i for i, r in enumerate(self.records) if len(people[r.identity]) > 1]
            self.others = {i: [j for j in people[self.records[i].identity] if j != i] for i in self.items}
        else:
            self.items = list(range(len(self.records)))

    def __len__(self) -> int:
        return len(self.items)

    @property
    def names(self) -> list[str]:
        return [self.records[i].name for i in self.items]

    @property
    def identities(self) -> list[int]:
        return [self.records[i].identity for i in self.items]

    def _load(self, k: int, flip: bool) -> dict:
        r = self.records[k]
        hr, wh = load_hr(r.image, self.hr_size)
        out = {"hr": hr}
        if r.mask is not None:
            out["mask"] = load_mask(r.mask, self.hr_size, wh)
        if flip:
            out = {key: v.flip(-1) for key, v in out.items()}
        out["lr"] = lr_from_hr(out["hr"], self.lr_size, self.antialias)
        return out

    def _flip(self) -> bool:
        return self.flip and bool(torch.rand(()) < 0.5)

    def guide_of(self, index: int) -> int:
        """Record index of the guide of item ``index``: the next image of the person at test time,
        a random other image in training."""
        k = self.items[index]
        others = self.others[k]
        if self.train:
            return others[int(torch.randint(len(others), ()))]
        later = [j for j in others if j > k]
        return later[0] if later else others[0]

    def __getitem__(self, index: int) -> dict:
        k = self.items[index]
        r = self.records[k]
        item = self._load(k, self._flip())
        item["identity"] = r.identity
        item["name"] = r.name
        if self.guided:
            g = self.guide_of(index)
            gi = self._load(g, self._flip())
            for key, v in gi.items():
                item[f"guide_{key}"] = v
            item["guide_name"] = self.records[g].name
        return item

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.source}: {len(self)} images, hr {self.hr_size}, lr {self.lr_size}"
                f"{', guided' if self.guided else ''}{', train' if self.train else ''})")


def default_workers() -> int:
    return max(1, min(8, os.cpu_count() or 1))
