"""SFTGAN's outdoor-scene sets (Wang et al., CVPR 2018): OutdoorSceneTraining and OST300.

Layout (as distributed; the training folder is also accepted under its download name
``OutdoorSceneTrain_v2``, the test folder as ``OST300``)::

    <root>/OutdoorSceneTraining/{animal,building,grass,mountain,plant,sky,water}/*.png   (+ bg/ if present)
    <root>/OutdoorSceneTest300/OST_%03d.png          (also in an OST300_img/ or img/ subfolder)

No masks ship with them: the masks are the kit's segmenter's (``deepsee predict-masks`` on each
folder into one output folder), read from ``data.mask_dir`` as outdoor label PNGs ``<stem>.png``.
Without ``data.mask_dir`` the records have no masks; asking for masks then raises a DataError that
says to predict them first. Image stems must be unique over all folders (masks are matched by stem).

Splits: train = OutdoorSceneTraining without val; val = in each category folder (names sorted) every
20th image, i.e. the 20th, 40th, ... (positions 19, 39, ...: a deterministic 5% slice of every
category; a category of fewer than 20 images stays wholly in train); test = OST300;
all = train + val + test.
"""
from __future__ import annotations

import os
from pathlib import Path

from .common import DataError, Record, list_images, mask_dir_paths, require_dir, split_code

TRAIN_DIRS = ("OutdoorSceneTraining", "OutdoorSceneTrain_v2")
TEST_DIRS = ("OutdoorSceneTest300", "OST300")
TEST_SUBDIRS = ("OST300_img", "img")
CATEGORIES = ("animal", "building", "grass", "mountain", "plant", "sky", "water", "bg")
VAL_EVERY = 20
LAYOUT = ("expected SFTGAN's OST layout: OutdoorSceneTraining/{animal,building,grass,mountain,plant,sky,water}/*.png "
          "and OutdoorSceneTest300/OST_%03d.png (or OutdoorSceneTest300/OST300_img/ or img/)")


def _first_dir(root: Path, names: tuple[str, ...], what: str) -> Path:
    for n in names:
        if (root / n).is_dir():
            return root / n
    raise DataError(f"missing folder {root / names[0]} ({what}; also looked for "
                    f"{', '.join(str(root / n) for n in names[1:])}); {LAYOUT}")


def training_images(root: Path) -> dict[str, list[Path]]:
    """``{category: [image paths sorted by name]}`` of OutdoorSceneTraining (categories present)."""
    folder = _first_dir(root, TRAIN_DIRS, "OutdoorSceneTraining, one folder per category")
    out = {}
    for c in CATEGORIES:
        if (folder / c).is_dir():
            imgs = list_images(folder / c)
            out[c] = [imgs[s] for s in sorted(imgs)]
    if not out:
        raise DataError(f"{folder} holds none of the category folders {', '.join(CATEGORIES)}; {LAYOUT}")
    if not any(out.values()):
        raise DataError(f"no images (*.png, *.jpg, ...) in the category folders of {folder}")
    return out


def test_images(root: Path) -> list[Path]:
    """OST300's images sorted by name (directly in the folder, or in ``OST300_img/`` or ``img/``)."""
    folder = _first_dir(root, TEST_DIRS, "OST300, the 300 test images")
    for cand in (folder, *(folder / s for s in TEST_SUBDIRS)):
        if cand.is_dir():
            imgs = list_images(cand)
            if imgs:
                return [imgs[s] for s in sorted(imgs)]
    raise DataError(f"no images in {folder} (nor in {', '.join(str(folder / s) for s in TEST_SUBDIRS)}); {LAYOUT}")


def split_images(root: Path, split: str) -> list[Path]:
    """The image files of ``split`` (see the module docstring for the rule)."""
    split_code(split)
    out: list[Path] = []
    if split in ("train", "val", "all"):
        for paths in training_images(root).values():
            for k, p in enumerate(paths):
                is_val = k % VAL_EVERY == VAL_EVERY - 1
                if split == "all" or is_val == (split == "val"):
                    out.append(p)
    if split in ("test", "all"):
        out += test_images(root)
    return out


def records(root: str | os.PathLike, split: str, *, mask_dir: str = "", masks: bool | None = None) -> list[Record]:
    """The images of ``split`` (train/val/test/all); masks from ``mask_dir`` (outdoor label PNGs by stem)
    when given and ``masks`` is not False. ``masks=True`` without ``mask_dir`` raises a DataError."""
    root = require_dir(Path(root), "OST root; " + LAYOUT)
    paths = split_images(root, split)
    seen: dict[str, Path] = {}
    for p in paths:
        if p.stem in seen:
            raise DataError(f"{p} and {seen[p.stem]} share the stem {p.stem!r}; stems must be unique over the OST "
                            f"folders (masks are matched by stem)")
        seen[p.stem] = p
    names = [p.stem for p in paths]
    if masks and not mask_dir:
        raise DataError(f"SFTGAN's OST sets ({root}) ship no masks: predict them first (deepsee predict-masks "
                        f"--checkpoint RUN --images <each OST folder> --out DIR) and set data.mask_dir=DIR")
    if mask_dir and masks is not False:
        mask_paths = mask_dir_paths(Path(mask_dir), names)
    else:
        mask_paths = [None] * len(names)
    return [Record(n, p, m) for n, p, m in zip(names, paths, mask_paths)]
