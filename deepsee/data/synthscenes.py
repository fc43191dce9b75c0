"""SynthScenes: the kit's built-in outdoor-scene dataset, drawn procedurally with exact semantic masks.

The second domain of the kit (the paper's Fig. 19: ADE20K scenes segmented into SFTGAN's outdoor
classes, 4x) needs scene data that runs on a CPU without downloads. SynthScenes draws cartoon
landscapes (:mod:`deepsee.data.synthscenes_draw`) with per-pixel labels of the 8 classes of
:data:`deepsee.labels.OUTDOOR` (background, sky, water, grass, mountain, building, plant, animal):
varied layouts whose low-frequency structure stays readable at a quarter of the size, and per-class
appearance that changes from scene to scene with detail a 4x smaller image cannot show (cloud shapes
and cirrus streaks, water ripples and reflections, grass blades, rock strata and snow, bricks,
windows and roof tiles, leaf clumps, fur), so a style code has something to carry.

Determinism. Scene ``i`` is drawn from a generator seeded with ``(seed, 7, i)`` alone, with arithmetic
that is exact or correctly rounded; the same settings give the same bytes on disk on every machine,
whatever the number of worker processes.

On disk, exactly ADE20K's SceneParsing layout (``ADEChallengeData2016``), read back by
:mod:`deepsee.data.ade20k`::

    images/training/ADE_train_%08d.jpg          scenes 0 .. a-1 (numbered from 1); JPEG quality 95
    annotations/training/ADE_train_%08d.png     single-channel uint8, ADE20K's 150-class ids
    images/validation/ADE_val_%08d.jpg          scenes a .. n-1 (numbered from 1)
    annotations/validation/ADE_val_%08d.png
    synthscenes.json                            settings and the split sizes; written last

Each outdoor class is written as one representative ADE20K id (:data:`OUTDOOR_TO_ADE`): background
14 (earth), sky 3, water 22, grass 10, mountain 17, building 2, plant 5 (tree), animal 127; the ADE20K
loader's table maps each back. Splits ``[a, b, c]`` (train, val, test): ``training`` holds the ``a``
train scenes; ``validation`` holds ``b + c`` scenes, of which the first ``b`` (sorted names,
``ADE_val_00000001`` ..) are val and the rest test -- the rule the ADE20K loader applies when the
folder has this manifest (a real ADE20K folder uses its own rule, see :mod:`deepsee.data.ade20k`).
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from ..config import dataset_root
from ..labels import OUTDOOR
from .common import SPLITS, check_only, covers, needed_splits
from .synthfaces import default_splits
from .synthscenes_draw import render_scene
from .writing import draw_in_chunks, publish_folder, read_json

VERSION = 1                # bump when the drawing changes: existing folders are then regenerated
MANIFEST = "synthscenes.json"
#: ADE20K id written for each outdoor class (index = deepsee.labels.OUTDOOR label value).
OUTDOOR_TO_ADE = (14, 3, 22, 10, 17, 2, 5, 127)
SUBSETS = ("training", "validation")


def _check_settings(n: int, size: int, splits: Sequence[int]) -> list[int]:
    splits = [int(s) for s in splits]
    if n < 1 or len(splits) != 3 or min(splits) < 0 or sum(splits) != n:
        raise ValueError(f"SynthScenes splits {splits} must be three non-negative sizes summing to n={n}")
    if size < 32:
        raise ValueError(f"SynthScenes size must be >= 32, got {size}")
    return splits


def file_stem(index: int, splits: Sequence[int]) -> tuple[str, str]:
    """``(subset, stem)`` of scene ``index``: ``("training", "ADE_train_00000001")`` for the first."""
    a = int(splits[0])
    if index < a:
        return "training", f"ADE_train_{index + 1:08d}"
    return "validation", f"ADE_val_{index - a + 1:08d}"


def split_of(index: int, splits: Sequence[int]) -> str:
    """The split (train / val / test) of scene ``index``: the first ``splits[0]`` train, then val, then test."""
    a, v = int(splits[0]), int(splits[1])
    return "train" if index < a else "val" if index < a + v else "test"


def _write_scenes(root: str, seed: int, size: int, jobs: list[tuple[int, str, str]]) -> int:
    """Render and write scenes ``(index, subset, stem)``: the JPEG and the ADE-id annotation PNG."""
    root = Path(root)
    lut = np.asarray(OUTDOOR_TO_ADE, np.uint8)
    for index, subset, stem in jobs:
        rgb, label = render_scene(seed, index, size)
        Image.fromarray(rgb).save(root / "images" / subset / f"{stem}.jpg", quality=95)
        Image.fromarray(lut[label]).save(root / "annotations" / subset / f"{stem}.png", compress_level=6)
    return len(jobs)


def read_manifest(root: str | os.PathLike) -> dict | None:
    """The folder's manifest (its generation settings), or None when it has none or an unreadable one."""
    return read_json(Path(root) / MANIFEST)


def _manifest(n: int, size: int, seed: int, splits: Sequence[int]) -> dict:
    return {"format": "synthscenes", "version": VERSION, "n": n, "size": size, "seed": seed,
            "splits": list(splits)}


def _same(manifest: dict | None, want: dict) -> bool:
    return manifest is not None and all(manifest.get(k) == v for k, v in want.items())


def generate_synthscenes(out: str | os.PathLike, n: int = 1500, size: int = 256, seed: int = 0,
                         splits: Sequence[int] | None = None, *, workers: int | None = None,
                         progress: bool = True, only: Sequence[str] | None = None) -> Path:
    """Write a SynthScenes dataset to ``out`` in the ADE20K layout (see the module docstring).

    The files are written to a temporary sibling folder that replaces ``out`` only when complete
    (the manifest last), so an interrupted run never leaves a half dataset. An existing ``out`` is
    replaced only when it is a SynthScenes folder (has ``synthscenes.json``) or empty; anything else
    raises ``FileExistsError``.

    Args:
        n, size, seed: scene count, image side in pixels (masks have the same size), generator seed.
        splits: train/val/test sizes summing to ``n`` (default: 80% / 6.7% / 13.3%, as SynthFaces).
        workers: processes (None: up to 8 for large jobs, 0: this process). The bytes do not depend on it.
        only: write the scenes of these splits only (val and test go together: the validation folder holds both,
            the first ``splits[1]`` names val); the manifest's ``written`` names them. Every scene is the same bytes
            as in the whole dataset.
    """
    out = Path(out)
    splits = _check_settings(n, size, default_splits(n) if splits is None else splits)
    only = check_only(only, "generate_synthscenes")
    if only is not None and {"val", "test"} & set(only):   # one folder (validation) holds both, split by position
        only = check_only(sorted(set(only) | {"val", "test"}), "generate_synthscenes")
    if only is not None and all(splits[code] == 0 for split, code in SPLITS.items() if split not in only):
        only = None     # the other splits are empty: this is the whole dataset
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} exists and is not a folder")
    if out.is_dir() and read_manifest(out) is None and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty and holds no {MANIFEST}; refusing to overwrite it "
                              f"(choose another --out or remove the folder)")
    t0 = time.perf_counter()
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        for sub in SUBSETS:
            (tmp / "images" / sub).mkdir(parents=True)
            (tmp / "annotations" / sub).mkdir(parents=True)
        todo = [(i, *file_stem(i, splits)) for i in range(n) if only is None or split_of(i, splits) in only]
        draw_in_chunks(_write_scenes, tmp, seed, size, todo, workers=workers,
                       desc=f"SynthScenes {len(todo)} x {size}px" + (f" ({', '.join(only)})" if only else ""),
                       progress=progress)
        manifest = _manifest(n, size, seed, splits)
        if _same(read_manifest(out), manifest) and covers(read_manifest(out), only):
            return out      # another process wrote the same dataset (or more of it) meanwhile
        if only is not None:
            manifest["written"] = only
        manifest.update({"layout": "ADEChallengeData2016 (images/, annotations/ {training, validation})",
                         "val_test": "validation: the first splits[1] sorted names are val, the rest test",
                         "ade_ids": dict(zip(OUTDOOR.classes, OUTDOOR_TO_ADE)), "jpeg_quality": 95,
                         "seconds": round(time.perf_counter() - t0, 2)})
        publish_folder(tmp, out, MANIFEST, manifest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def ensure_synthscenes(cfg, progress: bool = True, splits: Sequence[str] | None = None, *,
                       fresh_partial: bool = True) -> Path:
    """The SynthScenes folder of ``cfg`` (a Config or its DataConfig: ``synth_n``, ``synth_size``,
    ``synth_seed``, ``splits``), generated when its manifest is missing or records other settings or
    another drawing version, or lacks a split of ``splits`` (None: all three; ``fresh_partial``: see
    :func:`~deepsee.data.synthfaces.ensure_synthfaces`); returns at once when it is already there."""
    d = getattr(cfg, "data", cfg)
    root = dataset_root(d)
    sizes = _check_settings(d.synth_n, d.synth_size, d.splits)
    want = _manifest(d.synth_n, d.synth_size, d.synth_seed, sizes)
    have = read_manifest(root)
    if not (_same(have, want) and covers(have, splits)):
        generate_synthscenes(root, d.synth_n, d.synth_size, d.synth_seed, sizes, progress=progress,
                             only=needed_splits(have, _same(have, want), splits, fresh_partial))
    return root


def colorize(label: np.ndarray) -> np.ndarray:
    """Outdoor label map -> RGB uint8 in the OUTDOOR palette."""
    return np.asarray(OUTDOOR.palette, np.uint8)[np.asarray(label, np.int64)]


