"""SynthFaces: the kit's built-in face dataset, drawn procedurally with exact semantic masks.

No real face dataset can be downloaded where the kit runs by default, so SynthFaces stands in for
CelebAMask-HQ (supplementary Sec. 2, Tables 5-7): the 19 CelebAMask-HQ classes with realistic
frequencies, people (identities) seen in several images for the guided model, and per-region texture
finer than a 16x16 image can show (hair strands, skin grain and freckles, fabric, iris fibres), so 8x
super-resolution stays ill-posed while the low-frequency layout of a face is clearly readable.

Drawing: :mod:`deepsee.data.synthfaces_draw` (implicit shapes with anti-aliased edges; masks exact
at half the image size, as CelebAMask-HQ stores them: 512 px masks for 1024 px images).

Determinism. A person's geometry and base appearance come from a generator seeded with
``(seed, 1, person)``; an image's pose, expression, lighting, clothes and textures from
``(seed, 2, index)``. The same settings give the same bytes on disk.

On disk, the real CelebAMask-HQ layout (read back by :mod:`deepsee.data.celebamaskhq`)::

    CelebA-HQ-img/<i>.jpg                                   (JPEG quality 95)
    CelebAMask-HQ-mask-anno/<i // 2000>/<i:05d>_<part>.png  (binary, 255 = part; half the image size)
    CelebA-HQ-to-CelebA-mapping.txt                         (idx orig_idx orig_file)
    list_eval_partition.txt, identity_CelebA.txt            (CelebA style, keyed by orig_file)
    synthfaces.json                                         (settings; written last)
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
from ..constants import CLASSES
from .common import SPLITS, check_only, covers, needed_splits
from .synthfaces_draw import render_face
from .writing import draw_in_chunks, publish_folder, read_json

VERSION = 3                # bump when the drawing changes: existing folders are then regenerated
MANIFEST = "synthfaces.json"
DEFAULT_SPLIT_FRACTIONS = (0.8, 0.2 / 3, 0.4 / 3)   # the quick profile's 1200 / 100 / 200


def default_splits(n: int) -> list[int]:
    """Train/val/test sizes in the quick profile's proportions (1200 / 100 / 200 of 1500)."""
    val, test = round(n * DEFAULT_SPLIT_FRACTIONS[1]), round(n * DEFAULT_SPLIT_FRACTIONS[2])
    return [n - val - test, val, test]


def _check_settings(n: int, size: int, identities: int, splits: Sequence[int]) -> list[int]:
    splits = [int(s) for s in splits]
    if n < 1 or len(splits) != 3 or min(splits) < 0 or sum(splits) != n:
        raise ValueError(f"SynthFaces splits {splits} must be three non-negative sizes summing to n={n}")
    if size < 16 or size % 2:
        raise ValueError(f"SynthFaces size must be even and >= 16, got {size}")
    busy = sum(s > 0 for s in splits)
    if not busy <= identities <= n:
        raise ValueError(f"SynthFaces identities={identities} must lie in {busy}..{n} (at least one person "
                         f"per non-empty split, at most one per image)")
    return splits


def assign_people(n: int, splits: Sequence[int], identities: int, seed: int) -> dict[str, list[int]]:
    """Who is in which image, and where the image sits in the CelebA-style files.

    CelebA-style ``orig_idx`` are numbered split by split (train first, as in CelebA's partition);
    people are shared out between splits in proportion to their sizes (identities are disjoint across
    splits, as in CelebA). Within a split each person gets one image plus a share of the rest drawn with
    random weights, so most people have several images and about one in five has a single one. The
    HQ index ``idx`` is a random permutation of ``orig_idx`` (as in CelebA-HQ).

    Returns lists indexed by orig_idx: ``split`` (0/1/2), ``person`` (1-based, like CelebA ids), and
    ``idx`` (the HQ index of that image).
    """
    splits = _check_settings(n, 16, identities, splits)
    rng = np.random.default_rng([seed, 3])
    # people per split: largest remainder of identities * share, at least 1 and at most the split size
    share = np.array(splits, float) / n * identities
    k = np.floor(share).astype(int)
    k[(np.array(splits) > 0) & (k == 0)] = 1
    while k.sum() < identities:
        room = [j for j in np.argsort(-(share - k)) if k[j] < splits[j]]
        k[room[0]] += 1
    while k.sum() > identities:
        j = max((j for j in range(3) if k[j] > 1), key=lambda j: k[j] - share[j])
        k[j] -= 1
    split, person = [], []
    first = 1
    for s, (size, people) in enumerate(zip(splits, k)):
        if size == 0:
            continue
        weights = rng.gamma(1.0, size=people) + 1e-9
        counts = 1 + rng.multinomial(size - people, weights / weights.sum())
        owners = np.repeat(np.arange(first, first + people), counts)
        rng.shuffle(owners)
        split += [s] * size
        person += owners.tolist()
        first += people
    idx = rng.permutation(n)
    return {"split": split, "person": person, "idx": idx.tolist()}


def _write_images(root: str, seed: int, size: int, jobs: list[tuple[int, int]]) -> int:
    """Render and write images ``(idx, person)``: the JPEG and one PNG per present part."""
    root = Path(root)
    parts = CLASSES[1:]
    for idx, person in jobs:
        rgb, label = render_face(seed, idx, person, size)
        Image.fromarray(rgb).save(root / "CelebA-HQ-img" / f"{idx}.jpg", quality=95)
        folder = root / "CelebAMask-HQ-mask-anno" / str(idx // 2000)
        present = np.bincount(label.ravel(), minlength=len(CLASSES))
        for k, part in enumerate(parts, start=1):
            if present[k]:
                Image.fromarray(((label == k) * 255).astype(np.uint8)).save(
                    folder / f"{idx:05d}_{part}.png", compress_level=1)
    return len(jobs)


def read_manifest(root: str | os.PathLike) -> dict | None:
    """The folder's manifest (its generation settings), or None when it has none or an unreadable one."""
    return read_json(Path(root) / MANIFEST)


def generate_synthfaces(out: str | os.PathLike, n: int = 1500, size: int = 256, seed: int = 0,
                        identities: int = 300, splits: Sequence[int] | None = None, *,
                        workers: int | None = None, progress: bool = True,
                        only: Sequence[str] | None = None) -> Path:
    """Write a SynthFaces dataset to ``out`` in the CelebAMask-HQ layout (see the module docstring).

    The files are written to a temporary sibling folder that replaces ``out`` only when complete, so
    an interrupted run never leaves a half dataset. An existing ``out`` is replaced only when it is a
    SynthFaces folder (has ``synthfaces.json``) or empty; anything else raises ``FileExistsError``.

    Args:
        n, size, seed: image count, side in pixels (masks are half of it), generator seed.
        identities: number of people.
        splits: train/val/test sizes summing to ``n`` (default: 80% / 6.7% / 13.3%).
        workers: processes (None: up to 8 for large jobs, 0: this process).
        only: write the images of these splits only (e.g. ``["val", "test"]``: what shipped models are evaluated
            on); the mapping, partition and identity files still list every image, and the manifest's ``written``
            names the splits there. Every image is the same bytes as in the whole dataset (drawn by its index).
    """
    out = Path(out)
    splits = _check_settings(n, size, identities, default_splits(n) if splits is None else splits)
    only = check_only(only, "generate_synthfaces")
    if only is not None and all(splits[code] == 0 for split, code in SPLITS.items() if split not in only):
        only = None     # the other splits are empty: this is the whole dataset
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} exists and is not a folder")
    if out.is_dir() and read_manifest(out) is None and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty and holds no {MANIFEST}; refusing to overwrite it "
                              f"(choose another --out or remove the folder)")
    t0 = time.perf_counter()
    table = assign_people(n, splits, identities, seed)
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        (tmp / "CelebA-HQ-img").mkdir(parents=True)
        for k in range((n - 1) // 2000 + 1):
            (tmp / "CelebAMask-HQ-mask-anno" / str(k)).mkdir(parents=True)
        keep = None if only is None else {SPLITS[s] for s in only}
        by_idx = sorted((idx, person) for idx, person, s in zip(table["idx"], table["person"], table["split"])
                        if keep is None or s in keep)
        draw_in_chunks(_write_images, tmp, seed, size, by_idx, workers=workers,
                       desc=f"SynthFaces {len(by_idx)} x {size}px" + (f" ({', '.join(only)})" if only else ""),
                       progress=progress)
        files = [f"{o + 1:06d}.jpg" for o in range(n)]
        lines = [f"{'idx':<12}{'orig_idx':<12}orig_file"]
        lines += [f"{idx:<12}{o:<12}{files[o]}" for idx, o in sorted((idx, o) for o, idx in enumerate(table["idx"]))]
        (tmp / "CelebA-HQ-to-CelebA-mapping.txt").write_text("\n".join(lines) + "\n")
        (tmp / "list_eval_partition.txt").write_text("".join(f"{f} {s}\n" for f, s in zip(files, table["split"])))
        (tmp / "identity_CelebA.txt").write_text("".join(f"{f} {p}\n" for f, p in zip(files, table["person"])))
        manifest = _manifest(n, size, seed, identities, splits)
        if _same(read_manifest(out), manifest) and covers(read_manifest(out), only):
            return out      # another process wrote the same dataset (or more of it) meanwhile
        if only is not None:
            manifest["written"] = only
        manifest["seconds"] = round(time.perf_counter() - t0, 2)
        publish_folder(tmp, out, MANIFEST, manifest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def _manifest(n: int, size: int, seed: int, identities: int, splits: Sequence[int]) -> dict:
    return {"format": "synthfaces", "version": VERSION, "n": n, "size": size, "seed": seed,
            "identities": identities, "splits": list(splits)}


def _same(manifest: dict | None, want: dict) -> bool:
    return manifest is not None and all(manifest.get(k) == v for k, v in want.items())


def ensure_synthfaces(cfg, progress: bool = True, splits: Sequence[str] | None = None, *,
                      fresh_partial: bool = True) -> Path:
    """The SynthFaces folder of ``cfg`` (a Config or its DataConfig), generated when its manifest is
    missing or records other settings, or lacks a split of ``splits`` (None: all three; e.g. ``["val", "test"]``
    for a run that only evaluates shipped models; a partial folder gains the missing splits when a later step
    asks for them); returns at once when it is already there. ``fresh_partial=False``: a folder drawn anew is
    drawn whole (what ``build_dataset`` asks, since a training reads every split), and only a partial folder
    gains the splits it lacks."""
    d = getattr(cfg, "data", cfg)
    root = dataset_root(d)
    sizes = _check_settings(d.synth_n, d.synth_size, d.identities, d.splits)
    want = _manifest(d.synth_n, d.synth_size, d.synth_seed, d.identities, sizes)
    have = read_manifest(root)
    if not (_same(have, want) and covers(have, splits)):
        generate_synthfaces(root, d.synth_n, d.synth_size, d.synth_seed, d.identities, sizes,
                            progress=progress, only=needed_splits(have, _same(have, want), splits, fresh_partial))
    return root


