"""CelebAMask-HQ (supplementary Sec. 2; Table 7 and the segmenter of Table 5), also used for SynthFaces.

Layout (as distributed, plus CelebA's annotation files)::

    <root>/CelebA-HQ-img/<idx>.jpg                                  30,000 images, 1024 px
    <root>/CelebAMask-HQ-mask-anno/<idx // 2000>/<idx:05d>_<part>.png  one binary mask per part, 512 px
    <root>/CelebA-HQ-to-CelebA-mapping.txt                          idx orig_idx orig_file
    list_eval_partition.txt, identity_CelebA.txt                    CelebA's; looked for in <root>,
                                                                    <root>/Eval, <root>/Anno and the
                                                                    CelebA folder ($DEEPSEE_DATA/celeba)

The part masks are merged into one label map in class order (a later class overwrites an earlier one
where parts overlap, like the dataset's own ``g_mask.py``), resized (nearest) to the working size and
cached once as label PNGs in ``<root>/cache/labels_<size>/<idx>.png``. The cache is built in a
temporary folder whose ``COMPLETE.json`` is written last and which is then renamed into place, so a
killed build never leaves a partial cache. Splits follow the mapping and CelebA's partition
(24,183 / 2,993 / 2,824 on the real data).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from ..config import data_root
from ..constants import CLASSES
from .common import (DataError, Record, find_file, image_size, mask_dir_paths,
                     open_image, read_identities, read_partition, read_table, require_dir, require_file,
                     split_code)
from .writing import build_cache, cache_complete

PARTS: tuple[str, ...] = CLASSES[1:]          # part file names; label value = position + 1
IMAGES = "CelebA-HQ-img"
ANNO = "CelebAMask-HQ-mask-anno"
MAPPING = "CelebA-HQ-to-CelebA-mapping.txt"
CACHE_VERSION = 1
LAYOUT = (f"expected the CelebAMask-HQ layout: {IMAGES}/<idx>.jpg, {ANNO}/<idx // 2000>/<idx:05d>_<part>.png, "
          f"{MAPPING}")


def read_mapping(root: Path) -> list[tuple[int, int, str]]:
    """``(idx, orig_idx, orig_file)`` rows of the mapping file (header ``idx orig_idx orig_file``)."""
    path = require_file(Path(root) / MAPPING, LAYOUT)
    rows = []
    for idx, orig, name in read_table(path, 3, "idx orig_idx orig_file", header=True):
        try:
            rows.append((int(idx), int(orig), name))
        except ValueError:
            raise DataError(f"{path}: row {idx} {orig} {name} must start with two integers") from None
    if not rows:
        raise DataError(f"{path} lists no images")
    return rows


def annotation_files(root: Path) -> tuple[Path, Path | None]:
    """CelebA's partition and identity files for a CelebAMask-HQ root (identity: None if absent)."""
    root = Path(root)
    places = [root, root / "Eval", root / "Anno"]
    for celeba in dict.fromkeys([root.parent / "celeba", data_root() / "celeba"]):   # a sibling folder first
        places += [celeba, celeba / "Eval", celeba / "Anno"]
    part = find_file("list_eval_partition.txt", places, "CelebA's partition: <file> <0|1|2>")
    ident = find_file("identity_CelebA.txt", places, "CelebA identities", required=False)
    return part, ident


def check_images(root: Path, idxs) -> Path:
    """``<root>/CelebA-HQ-img``, after checking that ``<idx>.jpg`` exists for every idx."""
    images = require_dir(Path(root) / IMAGES, LAYOUT)
    have = {p.name for p in images.iterdir()}
    missing = [f"{idx}.jpg" for idx in idxs if f"{idx}.jpg" not in have]
    if missing:
        raise DataError(f"{len(missing)} image(s) listed in {MAPPING} are missing from {images}, e.g. "
                        f"{', '.join(missing[:5])}")
    return images


def part_files(root: Path) -> dict[int, dict[str, Path]]:
    """``{idx: {part: path}}`` for every part mask under ``<root>/CelebAMask-HQ-mask-anno``."""
    anno = require_dir(Path(root) / ANNO, LAYOUT)
    out: dict[int, dict[str, Path]] = {}
    for sub in sorted(anno.iterdir()):
        if not sub.is_dir():
            continue
        for p in sub.iterdir():
            if p.suffix.lower() != ".png" or p.name.startswith("."):
                continue
            stem, _, part = p.stem.partition("_")
            if not stem.isdigit() or part not in PARTS:
                raise DataError(f"unexpected mask file {p}; expected <idx:05d>_<part>.png with part one of "
                                f"{', '.join(PARTS)}")
            idx = int(stem)
            if sub.name != str(idx // 2000):
                raise DataError(f"mask {p} is in folder {sub.name}; expected {ANNO}/{idx // 2000}/")
            out.setdefault(idx, {})[part] = p
    return out


def merge_parts(parts: dict[str, Path]) -> np.ndarray:
    """Merge binary part masks (any non-zero pixel is the part) into a uint8 label map, later classes
    over earlier ones. All parts of an image must have one size."""
    label = None
    first = None
    for k, name in enumerate(PARTS, start=1):
        p = parts.get(name)
        if p is None:
            continue
        a = np.asarray(open_image(p, "part mask"))
        if a.ndim == 3:
            a = a[..., 0]
        if label is None:
            label, first = np.zeros(a.shape, np.uint8), p
        elif a.shape != label.shape:
            raise DataError(f"part mask {p} is {a.shape[1]}x{a.shape[0]} but {first} is "
                            f"{label.shape[1]}x{label.shape[0]}; all masks of an image must have one size")
        label[a != 0] = k
    if label is None:
        raise DataError("no part masks given")
    return label


def _cache_one(idx: int, parts: dict[str, Path], image: Path, size: int, out: Path) -> None:
    label = merge_parts(parts)
    w, h = image_size(image)
    mh, mw = label.shape
    if abs(mw / mh - w / h) > 0.01:
        raise DataError(f"masks of image {image} are {mw}x{mh} but the image is {w}x{h}; expected the same "
                        f"aspect ratio (CelebAMask-HQ: 512 px masks for 1024 px images)")
    if w != h:
        raise DataError(f"image {image} is {w}x{h}; CelebAMask-HQ images are square")
    if label.shape != (size, size):
        label = np.asarray(Image.fromarray(label).resize((size, size), Image.NEAREST))
    Image.fromarray(label).save(out / f"{idx}.png", compress_level=1)


def label_cache(root: Path, size: int, progress: bool = True, splits: Sequence[str] | None = None) -> Path:
    """The folder of merged label PNGs at ``size`` for every image of the mapping; built on first use.
    ``splits``: only the images of these splits (a SynthFaces folder generated for them alone)."""
    root = Path(root)
    final = root / "cache" / f"labels_{size}"
    rows = read_mapping(root)
    want = {"version": CACHE_VERSION, "size": size, "count": len(rows)}
    if splits is not None:
        partition, codes = read_partition(annotation_files(root)[0]), {split_code(s) for s in splits}
        rows = [r for r in rows if partition.get(r[2]) in codes]
        want["splits"] = list(splits)
    if cache_complete(final, want):
        return final
    images = check_images(root, [idx for idx, _, _ in rows])
    parts = part_files(root)
    unmasked = [idx for idx, _, _ in rows if idx not in parts]
    if unmasked:
        raise DataError(f"{len(unmasked)} image(s) have no part masks, e.g. idx {unmasked[0]} (expected "
                        f"{ANNO}/{unmasked[0] // 2000}/{unmasked[0]:05d}_<part>.png)")
    tasks = [lambda tmp, idx=idx: _cache_one(idx, parts[idx], images / f"{idx}.jpg", size, tmp) for idx, _, _ in rows]
    return build_cache(final, want, tasks, desc=f"label cache {size}px", progress=progress,
                       why="the dataset folder must be writable once, to merge the part masks")


def records(root: Path, split: str, *, hr_size: int, mask_dir: str = "", masks: bool = True,
            progress: bool = True, cache_splits: Sequence[str] | None = None) -> list[Record]:
    """The images of ``split`` (train/val/test/all) with their label PNGs and identities. ``cache_splits``: the
    splits whose images the folder holds, when not all (:func:`label_cache`)."""
    root = require_dir(Path(root), "CelebAMask-HQ root; " + LAYOUT)
    rows = read_mapping(root)
    part_path, ident_path = annotation_files(root)
    partition = read_partition(part_path)
    ids = read_identities(ident_path) if ident_path else {}
    code = split_code(split)
    chosen = []
    for idx, _, name in rows:
        if name not in partition:
            raise DataError(f"{name} (idx {idx} in {MAPPING}) is not in {part_path}")
        if code is None or partition[name] == code:
            chosen.append((idx, name))
    names = [str(idx) for idx, _ in chosen]
    images = check_images(root, names)
    if not masks:
        mask_paths = [None] * len(chosen)
    elif mask_dir:
        mask_paths = mask_dir_paths(Path(mask_dir), names)
    else:
        cache = label_cache(root, hr_size, progress=progress, splits=cache_splits)
        mask_paths = [cache / f"{n}.png" for n in names]
    if ident_path is None:
        ident = [-1] * len(chosen)
    else:
        absent = [name for _, name in chosen if name not in ids]
        if absent:
            raise DataError(f"{len(absent)} image(s) have no identity in {ident_path}, e.g. {absent[0]}")
        ident = [ids[name] for _, name in chosen]
    return [Record(n, images / f"{n}.jpg", m, i) for n, m, i in zip(names, mask_paths, ident)]
