"""One's own photos as the models' input: one loader shared by ``deepsee predict-masks --images`` and
``deepsee explore``, and one photo-to-item path (:func:`photo_item`: Fig. 17's image folder, the explorer
notebook's ``face_image``).

The models expect aligned, square face crops (CelebA-style: eyes level and centred, the face filling
most of the frame). What :func:`load_photo` does with an ordinary photo, and says it did (each note is
logged with the file name, and returned):

- EXIF orientation (phone photos) is applied first (``PIL.ImageOps.exif_transpose``), so the face is
  upright as a photo viewer shows it;
- grayscale (``L``, ``1``, 16-bit ``I;16`` / ``I``) is converted to RGB (the grey value in all three
  channels); palette, CMYK and other colour modes are converted to RGB;
- an alpha channel (``RGBA``, ``LA``, a palette with transparency) is composited over a white background
  (:data:`BACKGROUND`);
- a non-square image is centre-cropped to a square of its shorter side (nothing is padded or stretched).

A file that is not an image, or a truncated / corrupt one, raises ``ValueError`` naming the file.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from tqdm.auto import tqdm

BACKGROUND = (255, 255, 255)   # what transparent pixels become (white)
_GRAY = ("1", "L", "I", "I;16", "I;16B", "I;16L", "I;16N", "F")
_ORIENTATION = 0x0112
_ORIENTATIONS = {2: "mirrored", 3: "rotated 180 degrees", 4: "flipped vertically",
                 5: "mirrored and rotated 90 degrees", 6: "rotated 90 degrees clockwise",
                 7: "mirrored and rotated 270 degrees", 8: "rotated 90 degrees counter-clockwise"}


@dataclass
class Photo:
    """A photo ready for the models: ``rgb`` uint8 ``[S, S, 3]``, upright and square."""
    path: Path
    rgb: np.ndarray
    original_size: tuple[int, int]          # (width, height) as stored in the file
    notes: list[str] = field(default_factory=list)   # what was done to it (empty: used as it is)


def stderr_log(message: str) -> None:
    """Default log of :func:`load_photo`: one line on stderr that does not break tqdm progress bars."""
    tqdm.write(message, file=sys.stderr)


def _gray_to_uint8(im: Image.Image) -> np.ndarray:
    """A single-channel image (8-bit, 16-bit, 32-bit int or float) -> uint8 ``[H, W]``."""
    a = np.asarray(im)
    if im.mode == "1" or a.dtype == np.bool_:
        return a.astype(np.uint8) * 255
    if a.dtype == np.uint8:
        return a
    a = a.astype(np.float64)
    if im.mode == "F":      # floats: [0, 1] if they fit there, else taken as 0..255
        scale = 255.0 if a.max(initial=0.0) <= 1.0 else 1.0
    else:                   # 16-bit and 32-bit integer grey levels
        scale = 255.0 / 65535.0 if a.max(initial=0) > 255 else 1.0
    return np.clip(np.round(a * scale), 0, 255).astype(np.uint8)


def _to_rgb(im: Image.Image, notes: list[str]) -> Image.Image:
    mode = im.mode
    has_alpha = mode in ("RGBA", "LA", "PA", "La", "RGBa") or (mode in ("P", "L", "RGB") and "transparency" in im.info)
    if has_alpha:
        rgba = im.convert("RGBA")
        opaque = np.asarray(rgba)[..., 3].min() == 255
        bg = Image.new("RGBA", rgba.size, BACKGROUND + (255,))
        out = Image.alpha_composite(bg, rgba).convert("RGB")
        what = "grayscale with transparency" if mode in ("LA", "La") else f"transparency (mode {mode})"
        notes.append(f"{what}: composited over a white background"
                     + (" (every pixel was opaque)" if opaque else "") + ", converted to RGB")
        return out
    if mode == "RGB":
        return im
    if mode in _GRAY:
        g = _gray_to_uint8(im)
        notes.append(f"grayscale (mode {mode}): converted to RGB (the grey value in all three channels)")
        return Image.fromarray(np.stack([g] * 3, -1), mode="RGB")
    notes.append(f"mode {mode}: converted to RGB")
    return im.convert("RGB")


def load_photo(path: str | Path, *, log: Callable[[str], None] | None = stderr_log) -> Photo:
    """Read an image file as an upright, square RGB photo (see the module docstring for what is done).

    Every note is passed to ``log`` as ``"<file name>: <note>"`` (default: stderr; None: silent).
    """
    path = Path(path)
    notes: list[str] = []
    try:
        with Image.open(path) as im:
            im.load()
            size = im.size
            orientation = im.getexif().get(_ORIENTATION, 1)
            upright = ImageOps.exif_transpose(im)
            if orientation in _ORIENTATIONS:
                notes.append(f"EXIF orientation {orientation} applied ({_ORIENTATIONS[orientation]}): "
                             f"{size[0]}x{size[1]} stored, {upright.size[0]}x{upright.size[1]} upright")
            rgb = _to_rgb(upright, notes)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: file not found") from None
    except UnidentifiedImageError:
        raise ValueError(f"{path}: not an image file PIL can read") from None
    except (OSError, SyntaxError) as e:
        raise ValueError(f"{path}: cannot read the image ({e}); the file is truncated or corrupt") from None
    w, h = rgb.size
    if w != h:
        s = min(w, h)
        box = ((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s)
        rgb = rgb.crop(box)
        notes.append(f"not square ({w}x{h}): centre-cropped to {s}x{s} (box left, top, right, bottom = "
                     f"{box}); the models expect aligned square face crops")
    photo = Photo(path=path, rgb=np.array(rgb, dtype=np.uint8), original_size=size, notes=notes)
    if log is not None:
        for n in notes:
            log(f"{path.name}: {n}")
    return photo


def resize_square(rgb: np.ndarray, size: int) -> np.ndarray:
    """A square uint8 image ``[S, S, 3]`` at side ``size`` (PIL bicubic; as it is when already that size)."""
    if rgb.shape[0] == size:
        return rgb
    return np.asarray(Image.fromarray(rgb).resize((size, size), Image.BICUBIC))


def list_photos(folder: str | Path) -> list[Path]:
    """The regular, non-hidden files of ``folder`` (not its subfolders), sorted; clear errors when the
    folder is missing or empty, or when two files share a stem (their outputs would collide)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"images folder {folder} not found")
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise FileNotFoundError(f"{folder} contains no files")
    stems: dict[str, Path] = {}
    for p in files:
        if p.stem in stems:
            raise ValueError(f"{p} and {stems[p.stem]} have the same stem; their outputs would overwrite each other")
        stems[p.stem] = p
    return files
