"""Datasets (supplementary Sec. 2): SynthFaces (built in), CelebAMask-HQ, CelebA, image folders; outdoor
scenes (Fig. 19): SynthScenes (built in), ADE20K, SFTGAN's OST sets.

``build_dataset(cfg, split)`` returns a dataset of dicts ``hr`` [3, H, W], ``lr`` [3, h, w] (both in
[-1, 1]), ``mask`` int64 [H, W], ``identity``, ``name`` (+ ``guide_*`` with ``guided=True``).
"""
from .build import DATASETS, build_dataset, check_dataset, class_frequencies, register_dataset  # noqa: F401
from .common import DataError, FaceDataset, Record, lr_from_hr  # noqa: F401
from .grids import sample_grid, scene_sample_grid  # noqa: F401
from .sampling import choose_item, pick_item, sample_items, spread_items  # noqa: F401
from .synthfaces import ensure_synthfaces, generate_synthfaces  # noqa: F401
from .synthfaces_draw import render_face  # noqa: F401
from .synthscenes import ensure_synthscenes, generate_synthscenes  # noqa: F401
from .synthscenes_draw import render_scene  # noqa: F401
