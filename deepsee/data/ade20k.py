"""ADE20K SceneParsing (MIT's ``ADEChallengeData2016``), segmented into SFTGAN's outdoor classes.

The paper's Fig. 19 trains DeepSEE on outdoor scenes of ADE20K whose masks are SFTGAN's 8 outdoor
classes (:data:`deepsee.labels.OUTDOOR`). This loader also reads SynthScenes, which is written in
the same layout.

Layout (as distributed; ``<root>`` may be the ``ADEChallengeData2016`` folder itself or hold it)::

    <root>/[ADEChallengeData2016/]images/training/ADE_train_%08d.jpg        20,210 images
    <root>/[ADEChallengeData2016/]annotations/training/ADE_train_%08d.png   uint8, 0 = other, 1..150
    <root>/[ADEChallengeData2016/]images/validation/ADE_val_%08d.jpg          2,000 images
    <root>/[ADEChallengeData2016/]annotations/validation/ADE_val_%08d.png

Mapping (:data:`ADE20K_TO_OUTDOOR`, following SFTGAN's categories; every id not listed, and 0, is
background). Ids are ADE20K's ``objectInfo150`` order (:data:`ADE_CLASSES`):

==========  ===========================================================================
outdoor     ADE20K ids (names)
==========  ===========================================================================
sky         3 sky
water       22 water, 27 sea, 61 river, 110 swimming pool, 114 waterfall, 129 lake
grass       10 grass, 30 field
mountain    17 mountain, 35 rock, 69 hill
building    2 building, 26 house, 49 skyscraper, 80 hovel, 85 tower
plant       5 tree, 18 plant, 67 flower, 73 palm
animal      127 animal
background  everything else: 0 other, 1 wall, 7 road, 13 person, 14 earth, 47 sand, 53 path,
            62 bridge, 95 land, 105 fountain, ...
==========  ===========================================================================

Decisions: a swimming pool's visible surface is water, so it is water; a fountain is mostly a
stone structure, so it is background; rock and hill are landforms like mountain; field (crops,
meadows) looks like grass; earth, sand, land and paths are background (SFTGAN has no ground class).

Splits: train = ``training``. ADE20K has no test set, so val and test both come from ``validation``:
with its names sorted, every 10th (positions 0, 10, 20, ...) is val and the others are test (200 /
1,800 of the real 2,000). A SynthScenes folder (``synthscenes.json`` with ``splits: [a, b, c]``)
instead takes the first ``b`` sorted validation names as val and the remaining ``c`` as test.

Masks are converted once into outdoor ids by the table, at full resolution, in a label cache
``<ADE folder>/.deepsee-outdoor-labels/<training|validation>/<stem>.png``: built in a temporary folder
whose ``COMPLETE.json`` (mapping version, a digest of the table, the image count) is written last and
then renamed into place; rebuilt when any of those differ. ``data.mask_dir`` (predicted outdoor label
PNGs by stem) replaces the ground truth.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
from PIL import Image

from ..labels import OUTDOOR
from .common import (DataError, Record, image_size, list_images, mask_dir_paths, read_label_png,
                     require_dir, split_code)
from .synthscenes import MANIFEST, read_manifest
from .writing import build_cache, cache_complete

ADE_DIR = "ADEChallengeData2016"
SUBSETS = ("training", "validation")
CACHE = ".deepsee-outdoor-labels"
MAPPING_VERSION = 1            # bump when ADE20K_TO_OUTDOOR changes (the digest catches edits too)
VAL_EVERY = 10                 # real ADE20K: every 10th sorted validation image is val, the rest test
LAYOUT = (f"expected the ADE20K SceneParsing layout: [{ADE_DIR}/]images/{{training,validation}}/ADE_*.jpg and "
          f"[{ADE_DIR}/]annotations/{{training,validation}}/ADE_*.png")

#: ADE20K's 150 SceneParsing classes in objectInfo150 order: label value = position + 1 (0 = other).
ADE_CLASSES: tuple[str, ...] = (
    "wall", "building", "sky", "floor", "tree", "ceiling", "road", "bed", "windowpane", "grass",
    "cabinet", "sidewalk", "person", "earth", "door", "table", "mountain", "plant", "curtain", "chair",
    "car", "water", "painting", "sofa", "shelf", "house", "sea", "mirror", "rug", "field",
    "armchair", "seat", "fence", "desk", "rock", "wardrobe", "lamp", "bathtub", "railing", "cushion",
    "base", "box", "column", "signboard", "chest of drawers", "counter", "sand", "sink", "skyscraper",
    "fireplace",
    "refrigerator", "grandstand", "path", "stairs", "runway", "case", "pool table", "pillow",
    "screen door", "stairway",
    "river", "bridge", "bookcase", "blind", "coffee table", "toilet", "flower", "book", "hill", "bench",
    "countertop", "stove", "palm", "kitchen island", "computer", "swivel chair", "boat", "bar",
    "arcade machine", "hovel",
    "bus", "towel", "light", "truck", "tower", "chandelier", "awning", "streetlight", "booth",
    "television receiver",
    "airplane", "dirt track", "apparel", "pole", "land", "bannister", "escalator", "ottoman", "bottle",
    "buffet",
    "poster", "stage", "van", "ship", "fountain", "conveyer belt", "canopy", "washer", "plaything",
    "swimming pool",
    "stool", "barrel", "basket", "waterfall", "tent", "bag", "minibike", "cradle", "oven", "ball",
    "food", "step", "tank", "trade name", "microwave", "pot", "animal", "bicycle", "lake", "dishwasher",
    "screen", "blanket", "sculpture", "hood", "sconce", "vase", "traffic light", "tray", "ashcan", "fan",
    "pier", "crt screen", "plate", "monitor", "bulletin board", "shower", "radiator", "glass", "clock",
    "flag",
)
NUM_ADE = len(ADE_CLASSES) + 1          # label values 0..150

#: ADE20K id -> outdoor class name (deepsee.labels.OUTDOOR); every other id is background.
ADE20K_TO_OUTDOOR: dict[int, str] = {
    3: "sky",
    22: "water", 27: "water", 61: "water", 110: "water", 114: "water", 129: "water",
    10: "grass", 30: "grass",
    17: "mountain", 35: "mountain", 69: "mountain",
    2: "building", 26: "building", 49: "building", 80: "building", 85: "building",
    5: "plant", 18: "plant", 67: "plant", 73: "plant",
    127: "animal",
}


def ade_name(i: int) -> str:
    """Name of ADE20K label value ``i`` (0 = "other")."""
    return "other" if i == 0 else ADE_CLASSES[i - 1]


def outdoor_lut() -> np.ndarray:
    """uint8 [256]: ADE20K label value -> outdoor class id (values above 150 never reach it)."""
    lut = np.zeros(256, np.uint8)
    for i, name in ADE20K_TO_OUTDOOR.items():
        lut[i] = OUTDOOR.class_id(name)
    return lut


def mapping_digest() -> str:
    return hashlib.sha256(outdoor_lut().tobytes()).hexdigest()[:16]


def mapping_table() -> str:
    """The mapping as printable text: one line per outdoor class with its ADE20K ids and names."""
    lines = []
    for c in OUTDOOR.classes:
        ids = sorted(i for i, n in ADE20K_TO_OUTDOOR.items() if n == c)
        what = ", ".join(f"{i} {ade_name(i)}" for i in ids) if ids else "every other id (0 other, 1 wall, ...)"
        lines.append(f"{c:10s} {what}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ layout


def find_root(root: str | os.PathLike) -> Path:
    """The folder holding ``images/``: ``root`` itself or ``root/ADEChallengeData2016``."""
    root = require_dir(Path(root), "ADE20K root; " + LAYOUT)
    for cand in (root, root / ADE_DIR):
        if (cand / "images").is_dir():
            return cand
    raise DataError(f"{root} is not an ADE20K folder: neither {root / 'images'} nor {root / ADE_DIR / 'images'} "
                    f"exists; {LAYOUT}")


def subset_images(ade: Path, subset: str) -> dict[str, Path]:
    folder = require_dir(ade / "images" / subset, LAYOUT)
    images = list_images(folder)
    if not images:
        raise DataError(f"no images in {folder}; {LAYOUT}")
    return images


def _synth_splits(ade: Path) -> list[int] | None:
    """The split sizes of a SynthScenes folder (its manifest), else None."""
    m = read_manifest(ade)
    if m is None:
        return None
    s = m.get("splits")
    if m.get("format") != "synthscenes" or not isinstance(s, list) or len(s) != 3:
        raise DataError(f"{ade / MANIFEST} is not a SynthScenes manifest with splits [train, val, test]")
    return [int(v) for v in s]


def split_names(ade: Path, split: str) -> list[tuple[str, str]]:
    """``(subset, stem)`` of the images of ``split`` (train/val/test/all), sorted (see the module docstring)."""
    split_code(split)
    out = []
    subsets = {"train": ("training",), "val": ("validation",), "test": ("validation",)}.get(split, SUBSETS)
    for subset in subsets:
        names = sorted(subset_images(ade, subset))
        if subset == "validation" and split in ("val", "test"):
            sizes = _synth_splits(ade)
            if sizes is not None:
                if len(names) != sizes[1] + sizes[2]:
                    raise DataError(f"{ade / 'images' / subset} holds {len(names)} images but the SynthScenes "
                                    f"manifest promises val + test = {sizes[1]} + {sizes[2]}")
                names = names[:sizes[1]] if split == "val" else names[sizes[1]:]
            else:
                names = [n for k, n in enumerate(names) if (k % VAL_EVERY == 0) == (split == "val")]
        out += [(subset, n) for n in names]
    return out


# ------------------------------------------------------------------------------------- label cache


def _convert_one(src: Path, image: Path, out: Path, lut: np.ndarray) -> None:
    a = read_label_png(src, NUM_ADE)
    w, h = image_size(image)
    if a.shape != (h, w):
        raise DataError(f"annotation {src} is {a.shape[1]}x{a.shape[0]} but its image {image} is {w}x{h}; "
                        f"ADE20K annotations have the image's size")
    Image.fromarray(lut[a]).save(out, compress_level=1)


def label_cache(ade: Path, subset: str, progress: bool = True) -> Path:
    """The folder of outdoor label PNGs for every image of ``subset`` (``training``/``validation``);
    built on first use and whenever the mapping or the image count changes."""
    ade = Path(ade)
    images = subset_images(ade, subset)
    final = ade / CACHE / subset
    want = {"mapping_version": MAPPING_VERSION, "table": mapping_digest(), "count": len(images)}
    if cache_complete(final, want):
        return final
    ann = require_dir(ade / "annotations" / subset, LAYOUT)
    have = {p.stem: p for p in ann.iterdir() if p.suffix.lower() == ".png" and not p.name.startswith(".")}
    missing = [s for s in images if s not in have]
    if missing:
        raise DataError(f"{len(missing)} image(s) of {ade / 'images' / subset} have no annotation in {ann}, "
                        f"e.g. {', '.join(m + '.png' for m in missing[:5])}")
    lut = outdoor_lut()
    tasks = [lambda tmp, s=s, p=p: _convert_one(have[s], p, tmp / f"{s}.png", lut) for s, p in images.items()]
    return build_cache(final, want, tasks, desc=f"outdoor labels ({subset})", progress=progress,
                       why="the ADE20K folder must be writable once, to convert its masks to the outdoor classes")


def records(root: str | os.PathLike, split: str, *, mask_dir: str = "", masks: bool = True,
            progress: bool = True) -> list[Record]:
    """The images of ``split`` (train/val/test/all) with outdoor label PNGs (the label cache, or
    ``mask_dir`` when given; none with ``masks=False``). Identities are unknown (-1)."""
    ade = find_root(root)
    picks = split_names(ade, split)
    images = {s: subset_images(ade, s) for s in {sub for sub, _ in picks}}
    names = [n for _, n in picks]
    if not masks:
        mask_paths = [None] * len(picks)
    elif mask_dir:
        mask_paths = mask_dir_paths(Path(mask_dir), names)
    else:
        caches = {s: label_cache(ade, s, progress=progress) for s in images}
        mask_paths = [caches[s] / f"{n}.png" for s, n in picks]
    return [Record(n, images[s][n], m) for (s, n), m in zip(picks, mask_paths)]
