"""``build_dataset``: one entry point from a Config to a dataset of item dicts, and ``check_dataset``.

Face datasets: synthfaces, celebamaskhq, celeba, folder. Outdoor scenes (``data.labels=outdoor``):
synthscenes (generated, then read by the ADE20K loader), ade20k, ost (SFTGAN's sets).
"""
from __future__ import annotations

from collections import Counter
from typing import Callable, Sequence

import numpy as np

from ..config import dataset_root
from ..constants import NUM_CLASSES
from ..labels import label_set
from . import ade20k, celeba, celebamaskhq, folder, ost
from .common import FaceDataset, read_label_png
from .synthfaces import ensure_synthfaces, read_manifest as read_synthfaces_manifest
from .synthscenes import ensure_synthscenes

DATASETS = ("synthfaces", "celebamaskhq", "celeba", "folder", "synthscenes", "ade20k", "ost")


_REGISTERED: dict[str, Callable] = {}


def register_dataset(name: str, factory: Callable | None) -> None:
    """Make ``data.dataset: <name>`` build ``factory(cfg, split, train=..., guided=..., progress=...)``: a dataset of
    item dicts as :func:`build_dataset` yields them (your own data without a loader in the kit, or a test's
    stand-in). ``factory=None`` removes the name again. The built-in names (:data:`DATASETS`) cannot be taken."""
    if name in DATASETS:
        raise ValueError(f"register_dataset: {name!r} is a built-in dataset ({', '.join(DATASETS)}); choose another name")
    if factory is None:
        _REGISTERED.pop(name, None)
    elif not callable(factory):
        raise TypeError(f"register_dataset: the factory of {name!r} must be callable, got {type(factory).__name__}")
    else:
        _REGISTERED[name] = factory


def build_dataset(cfg, split: str, *, train: bool | None = None, guided: bool = False,
                  masks: bool | None = None, progress: bool = True) -> FaceDataset:
    """The ``split`` (train/val/test/all) of ``cfg.data.dataset`` as a :class:`FaceDataset`.

    Args:
        cfg:    a Config; reads ``cfg.data`` (dataset, root, hr_size, lr_size, antialias, flip, mask_dir).
        train:  random flip (with ``data.flip``) and random guides; default: ``split == "train"``.
        guided: add a guide image of the same person (people with one image are left out).
        masks:  None: masks where the dataset has them (ground truth, or ``data.mask_dir`` which overrides
                it); True: fail without masks; False: no masks (faster; e.g. to predict them).
        progress: show a bar for one-time work (generating SynthFaces / SynthScenes, merging CelebAMask-HQ's
                part masks or converting ADE20K's masks into a label cache); training workers pass False.
    """
    d = cfg.data
    train = split == "train" if train is None else train
    if d.dataset in _REGISTERED:
        return _REGISTERED[d.dataset](cfg, split, train=train, guided=guided, progress=progress)
    need = None if split == "all" else [split]   # a partial generated folder gains this split when it lacks it;
    # one drawn here for the first time is drawn whole
    written = None
    if d.dataset == "synthfaces":
        root = ensure_synthfaces(cfg, progress=progress, splits=need, fresh_partial=False)
        written = (read_synthfaces_manifest(root) or {}).get("written")
    elif d.dataset == "synthscenes":
        root = ensure_synthscenes(cfg, progress=progress, splits=need, fresh_partial=False)
    elif d.dataset in DATASETS:
        root = dataset_root(d)
    else:
        raise ValueError(f"data.dataset={d.dataset!r}; expected one of {', '.join(DATASETS + tuple(_REGISTERED))} "
                         "(deepsee.data.register_dataset adds your own)")
    if d.dataset in ("synthfaces", "celebamaskhq"):
        recs = celebamaskhq.records(root, split, hr_size=d.hr_size, mask_dir=d.mask_dir, masks=masks is not False,
                                   progress=progress, cache_splits=written)
    elif d.dataset in ("synthscenes", "ade20k"):
        recs = ade20k.records(root, split, mask_dir=d.mask_dir, masks=masks is not False, progress=progress)
    elif d.dataset == "ost":
        recs = ost.records(root, split, mask_dir=d.mask_dir, masks=masks)
    elif d.dataset == "celeba":
        recs = celeba.records(root, split, mask_dir=d.mask_dir, masks=masks)
    else:
        recs = folder.records(root, split, mask_dir=d.mask_dir, masks=masks)
    return FaceDataset(recs, hr_size=d.hr_size, lr_size=d.lr_size, antialias=d.antialias, flip=d.flip,
                       train=train, guided=guided, source=f"{d.dataset} {split} ({root})")


def class_frequencies(masks, num_classes: int = NUM_CLASSES) -> dict[str, np.ndarray]:
    """Over label maps or label PNG paths: ``images`` (fraction containing each class) and ``pixels``
    (fraction of all pixels), each [num_classes] (default: the 19 face classes)."""
    present = np.zeros(num_classes)
    pixels = np.zeros(num_classes)
    n = 0
    for m in masks:
        a = read_label_png(m, num_classes) if not isinstance(m, np.ndarray) else m
        c = np.bincount(a.ravel(), minlength=num_classes)[:num_classes]
        present += c > 0
        pixels += c / a.size
        n += 1
    return {"images": present / max(n, 1), "pixels": pixels / max(n, 1)}


def check_dataset(cfg, *, max_images: int = 0, echo=print, splits: Sequence[str] | None = None) -> dict:
    """Build every split (or those of ``splits``), read up to ``max_images`` items of each (0 = all) and report
    counts, identities and class frequencies (of the classes of ``data.labels``, over those splits' masks). Bad
    data raises a DataError naming the file."""
    labels = label_set(cfg.data.labels)
    report: dict = {"dataset": cfg.data.dataset, "splits": {}}
    masks_all = []
    for split in splits or ("train", "val", "test"):
        ds = build_dataset(cfg, split, train=False)
        people = Counter(r.identity for r in ds.records if r.identity >= 0)
        n_read = len(ds) if max_images <= 0 else min(max_images, len(ds))
        for i in range(n_read):
            ds[i]
        info = {"images": len(ds), "identities": len(people),
                "people_with_2plus": sum(c > 1 for c in people.values()),
                "guided_items": sum(c for c in people.values() if c > 1), "masks": ds.has_masks, "read": n_read}
        report["splits"][split] = info
        echo(f"{split:5s} {info['images']:7d} images  {info['identities']:6d} identities "
             f"({info['people_with_2plus']} with 2+ images; {info['guided_items']} guided items)  "
             f"masks: {'yes' if ds.has_masks else 'no'}  decoded: {n_read}")
        if ds.has_masks:
            masks_all += [r.mask for r in ds.records]
    if masks_all:
        f = class_frequencies(masks_all, labels.num_classes)
        report["class_frequencies"] = {c: {"images": float(f["images"][k]), "pixels": float(f["pixels"][k])}
                                       for k, c in enumerate(labels.classes)}
        echo(f"class frequencies over {len(masks_all)} masks (share of images containing the class, "
             f"share of pixels):")
        for k, c in enumerate(labels.classes):
            echo(f"  {k:2d} {c:11s} {100 * f['images'][k]:6.1f}% {100 * f['pixels'][k]:6.2f}%")
    return report
