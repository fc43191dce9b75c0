"""Semantic classes of CelebAMask-HQ (label value = index), the named regions of a label map, and the
kit's fixed colour palette.

Every figure of the kit colours masks with :data:`PALETTE`, so a class has one colour everywhere;
every region (Fig. 10's hair, lips, ...) is :data:`REGIONS`, and its pixels :func:`region_pixels`.
"""
from __future__ import annotations

CLASSES: tuple[str, ...] = (
    "background", "skin", "nose", "eye_g", "l_eye", "r_eye", "l_brow", "r_brow", "l_ear",
    "r_ear", "mouth", "u_lip", "l_lip", "hair", "hat", "ear_r", "neck_l", "neck", "cloth",
)
NUM_CLASSES = len(CLASSES)  # 19
CLASS_INDEX = {name: i for i, name in enumerate(CLASSES)}

# Human-readable names for legends.
CLASS_LABELS: tuple[str, ...] = (
    "background", "skin", "nose", "glasses", "left eye", "right eye", "left brow", "right brow",
    "left ear", "right ear", "mouth (inner)", "upper lip", "lower lip", "hair", "hat", "earring",
    "necklace", "neck", "cloth",
)

# Fixed RGB palette (uint8) for the 19 classes, chosen for contrast between neighbouring regions.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (0, 0, 0),        # background
    (204, 153, 102),  # skin
    (255, 102, 51),   # nose
    (128, 128, 255),  # eye_g (glasses)
    (51, 204, 255),   # l_eye
    (0, 128, 255),    # r_eye
    (153, 51, 0),     # l_brow
    (102, 0, 51),     # r_brow
    (255, 204, 0),    # l_ear
    (204, 204, 0),    # r_ear
    (255, 255, 255),  # mouth
    (255, 0, 102),    # u_lip
    (204, 0, 0),      # l_lip
    (102, 51, 204),   # hair
    (0, 153, 76),     # hat
    (255, 0, 255),    # ear_r (earring)
    (0, 255, 153),    # neck_l (necklace)
    (255, 153, 153),  # neck
    (0, 102, 102),    # cloth
)

# Regions the paper's figures manipulate (Fig. 10): name -> class indices.
REGIONS: dict[str, tuple[int, ...]] = {
    "hair": (13,),
    "skin": (1,),
    "lips": (11, 12),
    "brows": (6, 7),
    "eyes": (4, 5),
    "mouth": (10,),
    "nose": (2,),
    "glasses": (3,),
    "ears": (8, 9),
    "neck": (17,),
    "cloth": (18,),
    "background": (0,),
}


def region_pixels(mask, region: str):
    """Boolean map of a named region (:data:`REGIONS`) in a label map, of the map's kind and shape
    (a torch tensor or a numpy array, ``[H, W]`` or batched)."""
    if region not in REGIONS:
        raise ValueError(f"unknown region {region!r}; expected one of {sorted(REGIONS)}")
    first, *rest = REGIONS[region]
    pixels = mask == first
    for c in rest:
        pixels = pixels | (mask == c)
    return pixels
