"""CelebA, aligned and cropped images (the paper's main dataset; supplementary Sec. 2, Table 6).

Layout (as distributed)::

    <root>/img_align_celeba/<000001>.jpg     202,599 images, 178x218
    <root>/list_eval_partition.txt           <file> <0|1|2>  (also <root>/Eval/)
    <root>/identity_CelebA.txt               <file> <id>     (also <root>/Anno/; needed for guided data)

Images are centre-cropped to 178x178 and resized (bicubic) to ``hr_size``. The official partition gives
162,770 / 19,867 / 19,962 images. CelebA has no semantic masks: the paper trains and tests on masks
predicted by the segmenter, read from ``data.mask_dir`` (label PNGs ``<stem>.png``, any square size).
"""
from __future__ import annotations

from pathlib import Path

from .common import (DataError, Record, find_file, list_images, mask_dir_paths, read_identities,
                     read_partition, require_dir, split_code)

IMAGES = "img_align_celeba"
LAYOUT = f"expected the CelebA layout: {IMAGES}/<000001>.jpg and list_eval_partition.txt"


def records(root: Path, split: str, *, mask_dir: str = "", masks: bool | None = None) -> list[Record]:
    """The images of ``split`` (train/val/test/all); masks from ``mask_dir`` when given (required
    with ``masks=True``), identities when ``identity_CelebA.txt`` is present (else -1)."""
    root = require_dir(Path(root), "CelebA root; " + LAYOUT)
    images = list_images(require_dir(root / IMAGES, LAYOUT))
    places = [root, root / "Eval", root / "Anno"]
    partition = read_partition(find_file("list_eval_partition.txt", places, "CelebA's partition"))
    ident_path = find_file("identity_CelebA.txt", places, "CelebA identities", required=False)
    ids = read_identities(ident_path) if ident_path else {}
    code = split_code(split)
    files = [f for f, s in partition.items() if code is None or s == code]
    missing = [f for f in files if Path(f).stem not in images]
    if missing:
        raise DataError(f"{len(missing)} image(s) of the partition file are missing from {root / IMAGES}, "
                        f"e.g. {', '.join(missing[:5])}")
    names = [Path(f).stem for f in files]
    if masks and not mask_dir:
        raise DataError("CelebA has no ground-truth masks: set data.mask_dir to a folder of predicted label "
                        "PNGs (deepsee predict-masks)")
    mask_paths = mask_dir_paths(Path(mask_dir), names) if mask_dir and masks is not False else [None] * len(names)
    return [Record(n, images[n], m, ids.get(f, -1)) for n, f, m in zip(names, files, mask_paths)]
