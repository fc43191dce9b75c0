"""The face label set's fields under their historical names (CelebAMask-HQ: label value = index).

The label set of a model, segmenter or dataset is data now (:mod:`deepsee.labels`, ``data.labels`` in the
configuration); these names are the face set's, kept so code and notebooks written before still run.
New code takes the label set from the model or the configuration (``deepsee.labels.of(model)``).
"""
from __future__ import annotations

from .labels import FACES

CLASSES: tuple[str, ...] = FACES.classes
NUM_CLASSES = FACES.num_classes  # 19
CLASS_INDEX = dict(FACES.index)
CLASS_LABELS: tuple[str, ...] = FACES.labels
PALETTE: tuple[tuple[int, int, int], ...] = FACES.palette
REGIONS: dict[str, tuple[int, ...]] = dict(FACES.regions)


def region_pixels(mask, region: str):
    """Boolean map of a named face region (:data:`REGIONS`) in a label map, of the map's kind and shape
    (a torch tensor or a numpy array, ``[H, W]`` or batched)."""
    if region not in REGIONS:
        raise ValueError(f"unknown region {region!r}; expected one of {sorted(REGIONS)}")
    return FACES.region_pixels(mask, region)
