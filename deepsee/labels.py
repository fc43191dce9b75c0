"""Label sets: the semantic classes a model, a segmenter and a dataset share, as data.

A :class:`LabelSet` holds the class names (label value = index), the legend labels, the colour
palette, the named regions that walks, edits and metrics use, the mirror permutation of a horizontal
flip, the regions the style-usage table measures (and the small ones its goals single out), and the
face-specific mask edits that apply (closed eyes, an opened mouth, glasses removed, more hair).

The configuration names it (``data.labels``: ``celebamaskhq`` for faces, ``outdoor`` for SFTGAN's
outdoor scenes, or the path of a JSON/YAML file with the same fields); every run and every exported
model saves it (``labels.json``), and :func:`label_set` turns any of those spellings into the object.

Two sets ship:

=================  =====  ====================================================================
name               N      classes
=================  =====  ====================================================================
``celebamaskhq``   19     CelebAMask-HQ's face parts (SynthFaces draws the same)
``outdoor``        8      SFTGAN's outdoor-scene categories (ADE20K / OutdoorSceneTraining,
                          SynthScenes): background, sky, water, grass, mountain, building,
                          plant, animal
=================  =====  ====================================================================

This module imports nothing of the kit and no torch: a mask may be a torch tensor or a numpy array.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

#: Face-specific mask edits of Figs. 8, 9 and 16 (``deepsee.explore.edits``) and the classes each needs.
FACE_EDITS: dict[str, tuple[str, ...]] = {
    "close_eyes": ("l_eye", "r_eye", "skin"),
    "open_mouth": ("mouth", "u_lip", "l_lip"),
    "close_mouth": ("mouth", "u_lip", "l_lip"),
    "add_hair": ("hair",),
    "remove_glasses": ("eye_g",),
}


@dataclass(frozen=True)
class LabelSet:
    """One domain's semantic classes. Checked on construction (a ``ValueError`` names the field)."""
    name: str
    classes: tuple[str, ...]                      # class names; label value = position
    labels: tuple[str, ...]                       # legend labels (human-readable)
    palette: tuple[tuple[int, int, int], ...]     # RGB (uint8) per class
    regions: Mapping[str, tuple[int, ...]]        # named region -> class ids (walks, edits, metrics)
    usage_regions: tuple[str, ...] = ()           # regions of the style-usage table
    small_regions: tuple[str, ...] = ()           # regions whose inside change has a goal of its own
    walk_regions: tuple[str, ...] = ()            # regions shown by region-walk figures (Fig. 10, explorer sliders)
    mirror_pairs: tuple[tuple[int, int], ...] = ()  # classes a horizontal flip swaps (left/right parts)
    edits: tuple[str, ...] = ()                   # face edits (FACE_EDITS) that apply to this set
    domain: str = ""                              # what the classes describe, for messages ("faces")
    index: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "classes", tuple(self.classes))
        object.__setattr__(self, "labels", tuple(self.labels))
        object.__setattr__(self, "palette", tuple(tuple(int(v) for v in rgb) for rgb in self.palette))
        object.__setattr__(self, "regions", {str(k): tuple(int(c) for c in v) for k, v in dict(self.regions).items()})
        for f in ("usage_regions", "small_regions", "walk_regions", "edits"):
            object.__setattr__(self, f, tuple(getattr(self, f)))
        object.__setattr__(self, "mirror_pairs", tuple((int(a), int(b)) for a, b in self.mirror_pairs))
        n = len(self.classes)
        where = f"label set {self.name!r}"
        if n < 2:
            raise ValueError(f"{where}: classes needs at least two names, got {list(self.classes)}")
        if len(set(self.classes)) != n:
            raise ValueError(f"{where}: class names repeat: {list(self.classes)}")
        if len(self.labels) != n or len(self.palette) != n:
            raise ValueError(f"{where}: {n} classes but {len(self.labels)} labels and {len(self.palette)} palette colours")
        if any(len(rgb) != 3 or not all(0 <= v <= 255 for v in rgb) for rgb in self.palette):
            raise ValueError(f"{where}: palette entries must be three values in 0..255")
        for r, ids in self.regions.items():
            if not ids or any(not 0 <= c < n for c in ids):
                raise ValueError(f"{where}: region {r!r} = {list(ids)}; expected class ids in 0..{n - 1}")
        for f in ("usage_regions", "small_regions", "walk_regions"):
            bad = [r for r in getattr(self, f) if r not in self.regions]
            if bad:
                raise ValueError(f"{where}: {f} names unknown regions {bad}; regions: {', '.join(self.regions)}")
        if any(not (0 <= a < n and 0 <= b < n) for a, b in self.mirror_pairs):
            raise ValueError(f"{where}: mirror_pairs {list(self.mirror_pairs)} outside 0..{n - 1}")
        bad = [e for e in self.edits if e not in FACE_EDITS]
        if bad:
            raise ValueError(f"{where}: unknown edits {bad}; known: {', '.join(FACE_EDITS)}")
        for e in self.edits:
            missing = [c for c in FACE_EDITS[e] if c not in self.classes]
            if missing:
                raise ValueError(f"{where}: edit {e!r} needs the classes {missing}, which the set lacks")
        object.__setattr__(self, "index", {c: i for i, c in enumerate(self.classes)})

    # ---------------------------------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def class_id(self, name: str) -> int:
        """The label value of a class name; a ``ValueError`` lists the names otherwise."""
        if name not in self.index:
            raise ValueError(f"unknown class {name!r} in label set {self.name!r}; classes: {', '.join(self.classes)}")
        return self.index[name]

    def region_ids(self, region: str) -> tuple[int, ...]:
        """Class ids of a named region, or of a single class given by name."""
        if region in self.regions:
            return self.regions[region]
        if region in self.index:
            return (self.index[region],)
        raise ValueError(f"unknown region {region!r} in label set {self.name!r}; regions: "
                         f"{', '.join(self.regions)}; classes: {', '.join(self.classes)}")

    def region_pixels(self, mask, region: str):
        """Boolean map of a named region (or class) in a label map, of the map's kind and shape
        (a torch tensor or a numpy array, ``[H, W]`` or batched)."""
        first, *rest = self.region_ids(region)
        pixels = mask == first
        for c in rest:
            pixels = pixels | (mask == c)
        return pixels

    def has_edit(self, edit: str) -> bool:
        return edit in self.edits

    def skip_reason(self, edit: str) -> str:
        """Why a face-only edit or figure does not apply ("" when it does)."""
        if edit in self.edits:
            return ""
        need = FACE_EDITS.get(edit, ())
        missing = [c for c in need if c not in self.index]
        why = f"it needs the classes {', '.join(missing)}" if missing else "the label set does not list it"
        return f"{edit} skipped for label set {self.name!r} ({self.domain or 'no domain stated'}): {why}"

    def mirror(self) -> list[int]:
        """Label permutation of a horizontal flip (left/right classes swapped)."""
        perm = list(range(self.num_classes))
        for a, b in self.mirror_pairs:
            perm[a], perm[b] = b, a
        return perm

    def describe(self) -> str:
        return f"{self.name} ({self.num_classes} {self.domain + ' ' if self.domain else ''}classes)"

    # ---------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"format": "deepsee-labels/1", "name": self.name, "domain": self.domain,
                "classes": list(self.classes), "labels": list(self.labels),
                "palette": [list(p) for p in self.palette],
                "regions": {k: list(v) for k, v in self.regions.items()},
                "usage_regions": list(self.usage_regions), "small_regions": list(self.small_regions),
                "walk_regions": list(self.walk_regions),
                "mirror_pairs": [list(p) for p in self.mirror_pairs], "edits": list(self.edits)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "label set") -> "LabelSet":
        d = dict(d)
        d.pop("format", None)
        need = {"name", "classes", "labels", "palette", "regions"}
        missing = sorted(need - set(d))
        if missing:
            raise ValueError(f"{where}: missing field(s) {', '.join(missing)}")
        known = {"name", "classes", "labels", "palette", "regions", "usage_regions", "small_regions",
                 "walk_regions", "mirror_pairs", "edits", "domain"}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"{where}: unknown field(s) {', '.join(unknown)}; expected {', '.join(sorted(known))}")
        return cls(**d)

    def save(self, path: str | Path) -> Path:
        p = Path(path)
        p.write_text(json.dumps(self.to_dict(), indent=1) + "\n")
        return p


# ------------------------------------------------------------------------------------------------
# the shipped sets
# ------------------------------------------------------------------------------------------------
FACES = LabelSet(
    name="celebamaskhq", domain="face",
    classes=("background", "skin", "nose", "eye_g", "l_eye", "r_eye", "l_brow", "r_brow", "l_ear",
             "r_ear", "mouth", "u_lip", "l_lip", "hair", "hat", "ear_r", "neck_l", "neck", "cloth"),
    labels=("background", "skin", "nose", "glasses", "left eye", "right eye", "left brow", "right brow",
            "left ear", "right ear", "mouth (inner)", "upper lip", "lower lip", "hair", "hat", "earring",
            "necklace", "neck", "cloth"),
    palette=((0, 0, 0), (204, 153, 102), (255, 102, 51), (128, 128, 255), (51, 204, 255), (0, 128, 255),
             (153, 51, 0), (102, 0, 51), (255, 204, 0), (204, 204, 0), (255, 255, 255), (255, 0, 102),
             (204, 0, 0), (102, 51, 204), (0, 153, 76), (255, 0, 255), (0, 255, 153), (255, 153, 153),
             (0, 102, 102)),
    regions={"hair": (13,), "skin": (1,), "lips": (11, 12), "brows": (6, 7), "eyes": (4, 5), "mouth": (10,),
             "nose": (2,), "glasses": (3,), "ears": (8, 9), "neck": (17,), "cloth": (18,), "background": (0,)},
    usage_regions=("hair", "skin", "cloth", "background", "lips", "eyes", "brows"),
    small_regions=("lips", "eyes", "brows"),
    walk_regions=("hair", "skin", "lips", "brows", "eyes"),
    mirror_pairs=((4, 5), (6, 7), (8, 9)),
    edits=tuple(FACE_EDITS),
)

# SFTGAN's outdoor categories (Wang et al., CVPR 2018), in its label order.
OUTDOOR = LabelSet(
    name="outdoor", domain="outdoor scene",
    classes=("background", "sky", "water", "grass", "mountain", "building", "plant", "animal"),
    labels=("background", "sky", "water", "grass", "mountain", "building", "plant", "animal"),
    palette=((0, 0, 0), (110, 170, 255), (0, 70, 160), (120, 200, 60), (140, 100, 70), (200, 60, 50),
             (20, 110, 40), (240, 200, 0)),
    regions={"background": (0,), "sky": (1,), "water": (2,), "grass": (3,), "mountain": (4,),
             "building": (5,), "plant": (6,), "animal": (7,)},
    usage_regions=("sky", "water", "grass", "mountain", "building", "plant"),
    small_regions=("sky", "water"),
    walk_regions=("sky", "water", "grass", "mountain", "building"),
)

LABEL_SETS: dict[str, LabelSet] = {FACES.name: FACES, OUTDOOR.name: OUTDOOR}
DEFAULT = FACES.name


def register(ls: LabelSet) -> LabelSet:
    """Add a label set under its name (a user's own domain), so configs can name it."""
    if ls.name in LABEL_SETS and LABEL_SETS[ls.name] != ls:
        raise ValueError(f"a different label set named {ls.name!r} is already registered")
    LABEL_SETS[ls.name] = ls
    return ls


def label_set(spec: "str | Path | Mapping | LabelSet | None" = None) -> LabelSet:
    """A :class:`LabelSet` from a name (:data:`LABEL_SETS`), the path of a JSON/YAML file holding its fields,
    a dict (``LabelSet.to_dict()``), or a label set; ``None``/"" is the face set (what every model before
    label sets was trained on)."""
    if isinstance(spec, LabelSet):
        return spec
    if spec is None or spec == "":
        return LABEL_SETS[DEFAULT]
    if isinstance(spec, Mapping):
        return LabelSet.from_dict(spec)
    s = str(spec)
    if s in LABEL_SETS:
        return LABEL_SETS[s]
    p = Path(s)
    if p.suffix.lower() in (".json", ".yaml", ".yml"):
        if not p.is_file():
            raise FileNotFoundError(f"label set file {p} not found")
        text = p.read_text()
        if p.suffix.lower() == ".json":
            d = json.loads(text)
        else:
            d = yaml.safe_load(text)
        if not isinstance(d, Mapping):
            raise ValueError(f"{p}: a label set file must hold a mapping of its fields")
        return LabelSet.from_dict(d, where=str(p))
    raise ValueError(f"unknown label set {s!r}; shipped: {', '.join(LABEL_SETS)} (or the path of a .json/.yaml "
                     "file with name, classes, labels, palette, regions)")


def of(obj: Any) -> LabelSet:
    """The label set an object carries: a label set, a model or segmenter (its ``labels`` attribute),
    or a config (``data.labels``); the face set for objects made before label sets existed."""
    if isinstance(obj, LabelSet):
        return obj
    ls = getattr(obj, "labels", None)
    if isinstance(ls, LabelSet):
        return ls
    data = getattr(obj, "data", None)
    if data is not None and hasattr(data, "labels"):
        return label_set(data.labels)
    return LABEL_SETS[DEFAULT]


def read_saved(folder: str | Path) -> LabelSet:
    """The label set saved in a run or model folder (``labels.json``); the face set when there is none
    (models saved before label sets existed were all trained on faces)."""
    p = Path(folder) / "labels.json"
    if not p.is_file():
        return LABEL_SETS[DEFAULT]
    return label_set(p)
