"""A plain image folder (FFHQ or your own faces; supplementary Fig. 17).

Layout::

    <root>/*.jpg|png             images (or <root>/<split>/*.jpg when train/val/test folders exist)
    <root>/masks/<stem>.png      optional label PNGs (values 0..18), matched to images by stem
    <root>/identities.txt        optional ``<file> <id>`` lines (needed for guided data)

Without split folders every split is the whole folder. Non-square images are centre-cropped, then
resized (bicubic) to ``hr_size``. ``data.mask_dir`` replaces ``<root>/masks``. Without masks the items
have no ``mask`` (predict them with ``deepsee predict-masks``).
"""
from __future__ import annotations

from pathlib import Path

from .common import DataError, Record, list_images, mask_dir_paths, read_identities, require_dir, split_code


def records(root: Path, split: str, *, mask_dir: str = "", masks: bool | None = None) -> list[Record]:
    root = require_dir(Path(root), "image folder: <root>/*.jpg|png, optional <root>/masks/<stem>.png")
    split_code(split)
    folder = root / split if (root / split).is_dir() else root
    images = list_images(folder)
    if not images:
        raise DataError(f"no images (*.jpg, *.png, ...) in {folder}")
    names = list(images)
    source = Path(mask_dir) if mask_dir else next((d for d in (folder / "masks", root / "masks") if d.is_dir()), None)
    if masks and source is None:
        raise DataError(f"{root} has no masks folder and data.mask_dir is empty; expected label PNGs "
                        f"<stem>.png in {root / 'masks'} or data.mask_dir")
    mask_paths = mask_dir_paths(source, names) if source is not None and masks is not False else [None] * len(names)
    ids = read_identities(root / "identities.txt") if (root / "identities.txt").is_file() else {}
    return [Record(n, images[n], m, ids.get(images[n].name, -1)) for n, m in zip(names, mask_paths)]
