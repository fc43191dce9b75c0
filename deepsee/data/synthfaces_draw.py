"""SynthFaces drawing: one face image and its exact label map from a person and a view.

A face is a stack of implicit shapes (approximate signed distances in "face units": the image spans
[-1, 1] at scale 1, the face centre is the origin, y grows downwards) painted in depth order with a
one-pixel linear edge ramp (anti-aliasing). A pose (shift, rotation, scale) maps image pixels to face
units. The label of a mask pixel is the last shape that covers more than half of its 2x2 image
pixels, so masks are exact at half the image size, as CelebAMask-HQ stores them.

A person (:class:`Identity`) fixes geometry and base appearance; a :class:`View` holds what changes
between images of that person (pose, expression, lighting, clothes, accessories worn). Texture finer
than a 16x16 image can show (hair strands along the flow from the crown, skin grain and freckles,
fabric patterns, iris fibres, lip lines) keeps 8x super-resolution ill-posed.

Version 3 adds per-person appearance that an HR image shows and a 16x16 image cannot (drawn from a
stream of its own, ``(seed, 4, person)``, so geometry and base colours stay those of version 2):
two-tone hair (highlight strands of a second colour), vivid iris colours, lipstick shades and gloss,
brow colour independent of the hair, freckle density, and a favourite outfit (a two-colour pattern:
the accent colour averages away at 16x16) worn in most of a person's images. It is what the HR style
encoder can read and the LR image cannot: the style space then has something to explore.

Left/right classes (l_eye, l_brow, l_ear) are drawn on the image's left.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..constants import CLASS_INDEX

_C = CLASS_INDEX
f32 = np.float32


# ------------------------------------------------------------------------------------- painting


class _Painter:
    """An RGB canvas (``size`` px) and its label map (``size // 2`` px), painted in depth order.

    Pixel centres map to face units by the pose: ``p_face = R(-angle) (p_image - centre) / scale``.
    Shapes are evaluated only inside a pixel box (even-aligned, so the 2x2 label blocks line up).
    """

    def __init__(self, size: int, centre: tuple[float, float], angle: float, scale: float):
        self.S = size
        self.rgb = np.zeros((size, size, 3), f32)
        self.label = np.zeros((size // 2, size // 2), np.uint8)
        self.cx, self.cy, self.scale = centre[0], centre[1], scale
        self.cos, self.sin = math.cos(angle), math.sin(angle)
        self.px = 2.0 / (size * scale)              # one pixel in face units

    def box(self, x0: float, x1: float, y0: float, y1: float) -> tuple[int, int, int, int]:
        """Pixel box ``(i0, i1, j0, j1)`` covering the face-unit rectangle (clipped, even-aligned)."""
        xs = np.array([x0, x1, x0, x1]); ys = np.array([y0, y0, y1, y1])
        u = self.cx + self.scale * (self.cos * xs - self.sin * ys)
        v = self.cy + self.scale * (self.sin * xs + self.cos * ys)
        h = self.S / 2
        j0, j1 = math.floor((u.min() + 1) * h) - 2, math.ceil((u.max() + 1) * h) + 2
        i0, i1 = math.floor((v.min() + 1) * h) - 2, math.ceil((v.max() + 1) * h) + 2
        clip = lambda a: min(max(a, 0), self.S)   # noqa: E731
        return clip(i0 - i0 % 2), clip(i1 + i1 % 2), clip(j0 - j0 % 2), clip(j1 + j1 % 2)

    def full(self) -> tuple[int, int, int, int]:
        return 0, self.S, 0, self.S

    def grid(self, box) -> tuple[np.ndarray, np.ndarray]:
        """Face-unit coordinates ``x, y`` [h, w] of the pixel centres in ``box``."""
        i0, i1, j0, j1 = box
        u = (np.arange(j0, j1, dtype=f32) + 0.5) * f32(2 / self.S) - f32(1 + self.cx)
        v = (np.arange(i0, i1, dtype=f32) + 0.5) * f32(2 / self.S) - f32(1 + self.cy)
        c, s = f32(self.cos / self.scale), f32(self.sin / self.scale)
        x = c * u[None, :] + s * v[:, None]
        y = c * v[:, None] - s * u[None, :]
        return x, y

    def image_grid(self, box) -> tuple[np.ndarray, np.ndarray]:
        """Image coordinates ``u, v`` in [-1, 1] of the pixel centres in ``box`` (broadcastable)."""
        i0, i1, j0, j1 = box
        u = (np.arange(j0, j1, dtype=f32) + 0.5) * f32(2 / self.S) - 1
        v = (np.arange(i0, i1, dtype=f32) + 0.5) * f32(2 / self.S) - 1
        return u[None, :], v[:, None]

    def coverage(self, sd: np.ndarray) -> np.ndarray:
        return np.clip(0.5 - sd * f32(1 / self.px), 0, 1)

    def paint(self, cls: int | None, box, sd: np.ndarray, colour=None) -> None:
        """Paint the shape ``sd < 0`` (face units) with ``colour`` ([h, w, 3] or [3]) and claim its
        mask pixels for class ``cls`` (None: colour only; ``colour=None``: label only)."""
        a = self.coverage(sd)
        rows, cols = np.flatnonzero(a.any(1)), np.flatnonzero(a.any(0))
        if not rows.size:
            return
        # work only on the (even-aligned) rows and columns the shape touches
        r0, r1 = rows[0] - rows[0] % 2, rows[-1] + 2 - rows[-1] % 2
        c0, c1 = cols[0] - cols[0] % 2, cols[-1] + 2 - cols[-1] % 2
        a = a[r0:r1, c0:c1]
        i0, j0 = box[0] + r0, box[2] + c0
        i1, j1 = i0 + a.shape[0], j0 + a.shape[1]
        if colour is not None:
            colour = np.asarray(colour, f32)
            if colour.ndim == 3:
                colour = colour[r0:r1, c0:c1]
            dst = self.rgb[i0:i1, j0:j1]
            dst += (colour - dst) * a[..., None]
        if cls is not None:   # a mask pixel is the class's when the shape covers half its 2x2 block
            cov = a[0::2, 0::2] + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2]
            self.label[i0 // 2:i1 // 2, j0 // 2:j1 // 2][cov > 2] = cls

    def existing(self, box) -> np.ndarray:
        i0, i1, j0, j1 = box
        return self.rgb[i0:i1, j0:j1]


# --------------------------------------------------------------------------------------- shapes
# Approximate signed distances in face units (negative inside). Exact near the boundary is enough:
# they only set the one-pixel edge ramp.


def _circle(x, y, cx, cy, r):
    return np.sqrt((x - cx) ** 2 + (y - cy) ** 2) - r


def _ellipse(x, y, cx, cy, rx, ry):
    """Ellipse distance (Quilez's first-order approximation, clamped to the radii's range)."""
    dx, dy = (x - cx) / rx, (y - cy) / ry
    k0 = np.sqrt(dx * dx + dy * dy)
    k1 = np.sqrt((dx / rx) ** 2 + (dy / ry) ** 2)
    lo, hi = np.minimum(rx, ry), np.maximum(rx, ry)
    return (k0 - 1) * np.clip(k0 / (k1 + 1e-12), lo, hi)


def _rounded_box(x, y, cx, cy, hx, hy, r):
    qx, qy = np.abs(x - cx) - (hx - r), np.abs(y - cy) - (hy - r)
    outside = np.sqrt(np.maximum(qx, 0) ** 2 + np.maximum(qy, 0) ** 2)
    return outside + np.minimum(np.maximum(qx, qy), 0) - r


def _rotate(x, y, cx, cy, angle):
    c, s = math.cos(angle), math.sin(angle)
    dx, dy = x - cx, y - cy
    return cx + c * dx + s * dy, cy - s * dx + c * dy


def _smoothstep(e0, e1, t):
    t = np.clip((t - e0) / (e1 - e0), 0, 1)
    return t * t * (3 - 2 * t)


def _interp_matrix(n: int, g: int) -> np.ndarray:
    """[n, g] smooth interpolation weights from g control points spread over n samples."""
    t = np.linspace(0, g - 1, n, dtype=f32)
    i0 = np.minimum(t.astype(int), g - 2)
    f = t - i0
    f = f * f * (3 - 2 * f)
    m = np.zeros((n, g), f32)
    m[np.arange(n), i0] = 1 - f
    m[np.arange(n), i0 + 1] = f
    return m


def _noise(rng, h: int, w: int, cells: int) -> np.ndarray:
    """Smooth value noise in about [-1, 1] over an [h, w] patch with ``cells`` cells per side."""
    g = rng.uniform(-1, 1, (cells + 1, cells + 1)).astype(f32)
    return _interp_matrix(h, cells + 1) @ g @ _interp_matrix(w, cells + 1).T


def _grain(rng, h: int, w: int) -> np.ndarray:
    return rng.random((h, w), dtype=f32) * 2 - 1


def _table(rng, t: np.ndarray, n: int = 512) -> np.ndarray:
    """1-D value noise along ``t`` (period ``n``): random levels linearly interpolated."""
    tab = rng.uniform(-1, 1, n + 1).astype(f32)
    tab[n] = tab[0]
    i = np.floor(t)
    f = t - i
    i = i.astype(np.int32) % n
    lo = tab[i]
    return lo + (tab[i + 1] - lo) * f


def _mix(a, b, t):
    """Per-pixel blend of colours a, b ([3] or [h, w, 3]) by t [h, w]."""
    a, b = np.asarray(a, f32), np.asarray(b, f32)
    return a + (b - a) * t[..., None]


# ------------------------------------------------------------------------------- people, views

SKIN_TONES = np.array([(0.96, 0.83, 0.73), (0.91, 0.73, 0.60), (0.80, 0.59, 0.44), (0.62, 0.42, 0.29),
                       (0.40, 0.26, 0.18)], f32)
HAIR_COLOURS = np.array([(0.06, 0.05, 0.045), (0.20, 0.13, 0.08), (0.38, 0.25, 0.15), (0.56, 0.41, 0.26),
                         (0.84, 0.70, 0.47), (0.58, 0.25, 0.11), (0.64, 0.62, 0.60)], f32)
HAIR_P = (0.25, 0.22, 0.16, 0.10, 0.13, 0.07, 0.07)
IRIS_COLOURS = np.array([(0.36, 0.21, 0.10), (0.16, 0.10, 0.06), (0.30, 0.46, 0.68), (0.30, 0.47, 0.30),
                         (0.47, 0.36, 0.18), (0.46, 0.51, 0.56)], f32)
LIPSTICKS = np.array([(0.72, 0.10, 0.16), (0.86, 0.40, 0.50), (0.50, 0.12, 0.26)], f32)
METALS = np.array([(0.86, 0.70, 0.30), (0.80, 0.80, 0.83), (0.95, 0.93, 0.88)], f32)
FRAMES = np.array([(0.05, 0.05, 0.05), (0.30, 0.18, 0.10), (0.75, 0.62, 0.30), (0.55, 0.55, 0.58)], f32)
HAIR_STYLES = ("short", "medium", "long", "bald")
# Version 3 (per-person appearance that only an HR image shows).
HIGHLIGHTS = np.array([(0.93, 0.80, 0.50), (0.74, 0.36, 0.16), (0.80, 0.80, 0.82), (0.90, 0.35, 0.60),
                       (0.25, 0.45, 0.85), (0.55, 0.30, 0.75), (0.20, 0.70, 0.65)], f32)
HIGHLIGHT_P = (0.26, 0.18, 0.14, 0.12, 0.10, 0.10, 0.10)
VIVID_IRIS = np.array([(0.15, 0.45, 0.90), (0.15, 0.65, 0.35), (0.75, 0.50, 0.10), (0.50, 0.55, 0.62),
                       (0.45, 0.25, 0.10), (0.10, 0.60, 0.70), (0.55, 0.35, 0.70)], f32)
LIPSTICKS3 = np.array([(0.80, 0.08, 0.14), (0.93, 0.45, 0.58), (0.45, 0.08, 0.25), (0.95, 0.45, 0.35),
                       (0.55, 0.30, 0.25), (0.60, 0.12, 0.45), (0.30, 0.10, 0.15)], f32)
BROW_DYES = np.array([(0.05, 0.04, 0.04), (0.30, 0.18, 0.10), (0.55, 0.40, 0.28), (0.45, 0.20, 0.12)], f32)


def _hsv(rng, s: tuple[float, float], v: tuple[float, float]) -> np.ndarray:
    h = rng.uniform(0, 6)
    s, v = rng.uniform(*s), rng.uniform(*v)
    k = (np.array([5, 3, 1]) + h) % 6
    return (v - v * s * np.clip(np.minimum(k, 4 - k), 0, 1)).astype(f32)


@dataclass
class Identity:
    """What stays fixed for a person (face units; y grows downwards, the face centre is 0)."""
    person: int
    face_a: float          # face half-width
    face_b: float          # face half-height (chin at +b)
    jaw: float             # narrowing towards the chin
    skin: np.ndarray       # RGB in [0, 1]
    freckles: float        # freckle density (0 = none)
    hair_style: str        # short | medium | long | bald
    hair: np.ndarray
    hairline: float        # forehead hairline height (centre)
    hair_part: float       # hairline tilt (side parting)
    hair_volume: float
    hair_wave: float       # strand waviness
    strands: float         # strands around the crown
    covers_ears: bool
    eye_x: float           # eye centre offset from the midline
    eye_y: float
    eye_w: float           # eye half-width
    eye_h: float           # upper half-height
    eye_tilt: float
    iris: np.ndarray
    brow_dy: float         # brow centre above the eye
    brow_len: float
    brow_t: float          # brow half-thickness
    brow_arch: float
    brow: np.ndarray
    nose_tip: float
    nose_w: float
    mouth_dy: float        # mouth below the nose tip
    mouth_w: float
    lip_u: float
    lip_l: float
    lips: np.ndarray
    ear_y: float
    ear_r: float
    neck_w: float
    glasses: str           # "" | round | rect
    glasses_colour: np.ndarray
    earrings: str          # "" | stud | hoop | drop
    earring_colour: np.ndarray
    necklace: bool
    necklace_colour: np.ndarray
    hat_p: float           # chance of a hat in an image
    # version 3: appearance an HR image shows and a 16x16 image cannot
    highlight: np.ndarray = None      # colour of the highlight strands
    highlight_share: float = 0.0      # share of strands in the highlight colour (0 = one-tone hair)
    gloss: float = 0.0                # lip gloss highlight strength
    outfit: np.ndarray = None         # favourite outfit: main colour
    outfit_accent: np.ndarray = None  # ... its second colour (the pattern alternates the two)
    outfit_pattern: str = "stripes"
    outfit_p: float = 0.0             # chance of wearing it in an image


def _appearance(seed: int, person: int, ident: "Identity") -> "Identity":
    """Version 3's per-person HR-only appearance, from the stream ``(seed, 4, person)``."""
    r = np.random.default_rng([seed, 4, person])
    u = r.uniform
    if ident.hair_style != "bald" and u() < 0.6:
        ident.highlight = (HIGHLIGHTS[r.choice(len(HIGHLIGHTS), p=HIGHLIGHT_P)] * u(0.85, 1.1)).astype(f32)
        ident.highlight_share = u(0.3, 0.55)
    else:
        ident.highlight, ident.highlight_share = ident.hair.copy(), 0.0
        u(), u()
    ident.iris = (VIVID_IRIS[r.integers(len(VIVID_IRIS))] * u(0.85, 1.1)).astype(f32)
    if u() < 0.55:
        ident.lips = (LIPSTICKS3[r.integers(len(LIPSTICKS3))] * u(0.85, 1.05)).astype(f32)
    else:
        u()
    ident.gloss = u(0.2, 0.6) if u() < 0.4 else 0.0
    if u() < 0.45:
        ident.brow = (BROW_DYES[r.integers(len(BROW_DYES))] * u(0.85, 1.15)).astype(f32)
    else:
        u()
    if ident.freckles == 0.0 and u() < 0.3:
        ident.freckles = u(0.4, 1.0)
    ident.outfit = _hsv(r, (0.2, 0.85), (0.15, 0.9))
    ident.outfit_accent = _hsv(r, (0.3, 0.9), (0.3, 0.95))
    ident.outfit_pattern = ("stripes", "check", "dots")[r.integers(3)]
    ident.outfit_p = 0.75
    return ident


def sample_identity(seed: int, person: int) -> Identity:
    """Person ``person`` of generator ``seed``."""
    r = np.random.default_rng([seed, 1, person])
    u = r.uniform
    a = u(0.36, 0.41)
    t = u(0, 1) * (len(SKIN_TONES) - 1)
    i = min(int(t), len(SKIN_TONES) - 2)
    skin = SKIN_TONES[i] * (1 - (t - i)) + SKIN_TONES[i + 1] * (t - i)
    skin = np.clip(skin * (1 + r.normal(0, 0.03, 3)), 0, 1).astype(f32)
    style = str(r.choice(HAIR_STYLES, p=(0.36, 0.30, 0.31, 0.03)))
    hair = HAIR_COLOURS[r.choice(len(HAIR_COLOURS), p=HAIR_P)]
    hair = np.clip(hair * (1 + r.normal(0, 0.04, 3)) * u(0.85, 1.15), 0, 1).astype(f32)
    lips = np.clip(skin * np.array([0.86, 0.55, 0.55]) * u(0.85, 1.05), 0, 1).astype(f32)
    if u() < 0.25:
        lips = LIPSTICKS[r.integers(len(LIPSTICKS))] * u(0.85, 1.05)
    brow = (hair * 0.65 if hair.mean() > 0.3 else hair * 0.9 + 0.01).astype(f32)
    glasses = ("round", "rect")[r.integers(2)] if u() < 0.12 else ""
    earrings = ("stud", "hoop", "drop")[r.integers(3)] if u() < 0.17 else ""
    ident = Identity(
        person=person, face_a=a, face_b=a * u(1.24, 1.36), jaw=u(0.25, 0.5), skin=skin,
        freckles=u(0.3, 1.0) if u() < 0.2 else 0.0,
        hair_style=style, hair=hair, hairline=u(-0.40, -0.27), hair_part=u(-0.12, 0.12),
        hair_volume=u(0.04, 0.11), hair_wave=u(0, 0.08) if u() < 0.4 else 0.0, strands=u(140, 260),
        covers_ears=style == "long" or (style == "medium" and u() < 0.7),
        eye_x=u(0.145, 0.17), eye_y=u(-0.05, -0.01), eye_w=u(0.076, 0.09), eye_h=u(0.034, 0.044),
        eye_tilt=u(-0.05, 0.12), iris=(IRIS_COLOURS[r.integers(len(IRIS_COLOURS))] * u(0.85, 1.15)).astype(f32),
        brow_dy=u(0.10, 0.125), brow_len=u(0.085, 0.105), brow_t=u(0.021, 0.03), brow_arch=u(0.015, 0.045),
        brow=brow, nose_tip=u(0.17, 0.22), nose_w=u(0.058, 0.078), mouth_dy=u(0.10, 0.13),
        mouth_w=u(0.12, 0.15), lip_u=u(0.036, 0.048), lip_l=u(0.042, 0.058), lips=lips.astype(f32),
        ear_y=u(0.02, 0.06), ear_r=u(0.10, 0.12), neck_w=a * u(0.5, 0.58),
        glasses=glasses, glasses_colour=FRAMES[r.integers(len(FRAMES))],
        earrings=earrings, earring_colour=METALS[r.integers(len(METALS))],
        necklace=bool(u() < 0.13), necklace_colour=METALS[r.integers(len(METALS))],
        hat_p=0.5 if u() < 0.1 else 0.02,
    )
    return _appearance(seed, person, ident)


@dataclass
class View:
    """What changes from one image of a person to the next."""
    centre: tuple[float, float]
    angle: float
    scale: float
    eyes_closed: bool
    gaze: tuple[float, float]
    mouth_open: float      # gap between the lips (0 = closed)
    smile: float
    brow_raise: float
    light: tuple[float, float]   # shading gradient (image units)
    exposure: float
    tint: np.ndarray
    background: tuple[np.ndarray, np.ndarray]
    cloth: np.ndarray
    pattern: str           # knit | stripes | check | dots
    neckline: str          # crew | v | scoop
    glasses: bool
    earrings: bool
    necklace: bool
    hat: str               # "" | beanie | cap
    hat_colour: np.ndarray
    accent: np.ndarray = None   # version 3: the pattern's second colour (None: one colour, shaded)


def sample_view(seed: int, index: int, ident: Identity, rng=None) -> View:
    """The pose, expression, lighting and clothes of image ``index`` (of person ``ident``)."""
    r = np.random.default_rng([seed, 2, index]) if rng is None else rng
    u = r.uniform
    la = u(0, 2 * np.pi)
    amp = u(0.04, 0.28)
    hat = ("beanie", "cap")[r.integers(2)] if u() < ident.hat_p else ""
    necklace = ident.necklace and u() < 0.75
    view = View(
        centre=(float(np.clip(r.normal(0, 0.035), -0.08, 0.08)), float(np.clip(r.normal(-0.05, 0.03), -0.12, 0.02))),
        angle=float(np.clip(r.normal(0, 0.08), -0.2, 0.2)), scale=u(1.25, 1.45),
        eyes_closed=bool(u() < 0.08), gaze=(u(-0.25, 0.25), u(-0.1, 0.1)),
        mouth_open=u(0.03, 0.08) if u() < 0.25 else 0.0, smile=u(-0.01, 0.035), brow_raise=u(-0.01, 0.025),
        light=(amp * math.cos(la), amp * math.sin(la)), exposure=u(0.85, 1.1),
        tint=(1 + r.normal(0, 0.03, 3)).astype(f32),
        background=(_hsv(r, (0.05, 0.5), (0.25, 0.95)), _hsv(r, (0.05, 0.5), (0.2, 0.9))),
        cloth=_hsv(r, (0.1, 0.8), (0.1, 0.9)), pattern=("knit", "stripes", "check", "dots")[r.integers(4)],
        neckline="scoop" if necklace else ("crew", "v", "scoop")[r.integers(3)],
        glasses=bool(ident.glasses) and u() < 0.85, earrings=bool(ident.earrings) and u() < 0.8,
        necklace=necklace, hat=hat, hat_colour=_hsv(r, (0.1, 0.8), (0.1, 0.85)),
    )
    _wardrobe(seed, index, ident, view)
    return view


def _wardrobe(seed: int, index: int, ident: Identity, view: View) -> None:
    """Version 3: the person's favourite two-colour outfit in most images (stream ``(seed, 5, index)``),
    otherwise a two-colour pattern of the view's own colours half of the time."""
    if ident.outfit is None:
        return
    r = np.random.default_rng([seed, 5, index])
    if r.uniform() < ident.outfit_p:
        view.cloth = (ident.outfit * r.uniform(0.92, 1.08)).astype(f32)
        view.accent = (ident.outfit_accent * r.uniform(0.92, 1.08)).astype(f32)
        view.pattern = ident.outfit_pattern
    elif r.uniform() < 0.5:
        view.accent = _hsv(r, (0.3, 0.9), (0.3, 0.95))


# ------------------------------------------------------------------------------------ the face


class _Face:
    """Draws one image of one person; each method paints one part, in depth order (see render)."""

    def __init__(self, ident: Identity, view: View, size: int, rng):
        self.p = _Painter(size, view.centre, view.angle, view.scale)
        self.i, self.v, self.r = ident, view, rng
        a, b = ident.face_a, ident.face_b
        self.a, self.b = a, b
        self.neck_base = b + 0.06
        self.crown = (ident.hair_part * 0.6, -b - 0.12)
        self.mouth_y = ident.nose_tip + ident.mouth_dy
        self.relabel: list = []   # (cls, box, sd) re-asserted after the glasses (eyes/brows win)
        # light direction in face units (the pose rotation is small; its sign matters for shading)
        self.lx, self.ly = view.light

    # -- shapes reused by several parts
    def face_sd(self, x, y):
        t = np.clip(y / self.b, 0, 1)
        ax = self.a * (1 - self.i.jaw * t * t)
        return _ellipse(x, y, 0.0, 0.0, ax, self.b)

    def hair_sd(self, x, y):
        i, a, b = self.i, self.a, self.b
        vol = i.hair_volume
        sd = _ellipse(x, y, 0.0, -0.12, a + vol, b * 0.8 + vol)
        if i.hair_style == "short":
            sd = np.maximum(sd, y + 0.02 - 0.12 * np.abs(x))
        elif i.hair_style == "medium":
            sd = np.minimum(sd, _rounded_box(x, y, 0.0, 0.05, a + vol, 0.3, 0.12))
        elif i.hair_style == "long":
            sd = np.minimum(sd, _rounded_box(x, y, 0.0, 0.35, a + vol + 0.04, 0.6, 0.15))
        return sd

    def hairline(self, x):
        i = self.i
        return i.hairline + i.hair_part * x + 0.38 * (x / self.a) ** 2

    def torso_top(self, x):
        ax = np.abs(x)
        return self.neck_base + 0.2 * np.maximum(ax - self.i.neck_w * 0.8, 0) + 0.6 * np.maximum(ax - 0.8, 0) ** 2

    def opening_sd(self, x, y):
        """The neckline: where neck skin shows through the cloth."""
        nb, w = self.neck_base, self.i.neck_w
        kind = self.v.neckline
        if kind == "v":
            return np.maximum((y - nb - 0.28) + 1.6 * np.abs(x), np.abs(x) - w - 0.2)
        if kind == "scoop":
            return _ellipse(x, y, 0.0, nb - 0.02, w + 0.12, 0.2)
        return _ellipse(x, y, 0.0, nb - 0.1, w + 0.01, 0.16)

    def cloth_sd(self, x, y):
        return np.maximum((self.torso_top(x) - y) * 0.9, -self.opening_sd(x, y))

    # -- parts
    def background(self):
        p, v = self.p, self.v
        uu, vv = p.image_grid(p.full())
        g = np.clip(0.5 + 0.5 * (uu * 0.6 + vv * 0.8), 0, 1) * (1 + 0.12 * _noise(self.r, p.S, p.S, 3))
        p.rgb[:] = _mix(v.background[0], v.background[1], g)    # the label map starts as background

    def hair(self, part: str):
        """``back``: the whole hair mass behind the head; ``sides``: over the ears (and long hair over
        the shoulders); ``fringe``: over the forehead."""
        i, p = self.i, self.p
        if i.hair_style == "bald":
            return
        a = self.a
        if part == "back":   # the shape and colour are computed once and reused by the other parts
            box = p.box(-a - 0.2, a + 0.2, -self.b - 0.35, 1.1 if i.hair_style == "long" else 0.45)
            x, y = p.grid(box)
            sd = self.hair_sd(x, y)
            on = sd < p.px                                  # colour only the pixels the hair touches
            col = np.zeros(sd.shape + (3,), f32)
            col[on] = self.hair_colour(x[on], y[on], sd[on])
            self._hair = box, x, y, sd, col
        box, x, y, sd, col = self._hair
        if part == "sides":
            sd = np.maximum(np.maximum(sd, 0.62 * a - np.abs(x)), -0.2 - y)
        elif part == "fringe":
            sd = np.maximum(sd, y - self.hairline(x))
        p.paint(_C["hair"], box, sd, col)

    def hair_colour(self, x, y, sd):
        i, r = self.i, self.r
        cx, cy = self.crown
        dx, dy = x - cx, y - cy
        rad = np.sqrt(dx * dx + dy * dy) + f32(1e-6)
        th = dx / rad               # sine of the angle around the crown (the hair lies below it)
        if i.hair_wave:
            th += i.hair_wave * np.sin(rad * 40)
        streak = _table(r, th * f32(i.strands / (2 * np.pi)))           # strands: fine, across the flow
        sheen = np.clip(1 - ((rad - 0.32) * 10) ** 2, 0, 1)             # a soft highlight band
        sheen *= 0.45 * (0.35 + 0.5 * max(0.0, -self.ly * 3))
        lum = (0.78 + 0.22 * streak) * (1 + sheen) * (1 - 0.25 * _smoothstep(-0.08, 0.0, sd))
        if i.highlight_share > 0:   # strands of a second colour, finer than an LR pixel
            hl = _table(r, th * f32(i.strands * 0.6 / (2 * np.pi)) + 97.0)
            t = _smoothstep(1 - 2 * i.highlight_share - 0.08, 1 - 2 * i.highlight_share + 0.08, hl)
            return lum[..., None] * _mix(i.hair, i.highlight, t.astype(f32))
        return lum[..., None] * i.hair

    def neck(self):
        i, p = self.i, self.p
        box = p.box(-i.neck_w - 0.4, i.neck_w + 0.4, 0.15, self.neck_base + 0.36)
        x, y = p.grid(box)
        w = i.neck_w + 0.12 * np.maximum(y - self.neck_base + 0.1, 0)
        column = np.maximum(np.abs(x) - w, 0.2 - y)
        sd = np.minimum(column, np.maximum(self.torso_top(x) - y, self.opening_sd(x, y)))
        shade = 0.78 + 0.14 * _smoothstep(self.b - 0.05, self.b + 0.15, y)   # shadow under the chin
        shade = shade * (1 - 0.12 * np.abs(x / (w + 0.3)))
        col = self.skin_texture(x, y, i.skin[None, None, :] * shade[..., None])
        p.paint(_C["neck"], box, sd, col)

    def cloth(self):
        v, p = self.v, self.p
        box = p.box(-1.4, 1.4, self.neck_base - 0.2, 1.4)
        x, y = p.grid(box)
        sd = self.cloth_sd(x, y)
        k = 2 * np.pi
        if v.pattern == "knit":
            tex = 0.5 + 0.5 * np.sin(x * f32(k / 0.022)) * np.sin(y * f32(k / 0.03))
            tex = 0.85 + 0.15 * tex
        elif v.pattern == "stripes":
            tex = np.where(np.sin(y * f32(k / 0.06)) > 0, f32(1.0), f32(0.6))
        elif v.pattern == "check":
            tex = 0.7 + 0.15 * (np.sign(np.sin(x * f32(k / 0.07))) + np.sign(np.sin(y * f32(k / 0.07))))
        else:
            tex = np.where((np.sin(x * f32(k / 0.05)) * np.sin(y * f32(k / 0.05))) > 0.6, f32(0.55), f32(1.0))
        folds = 1 + 0.12 * _noise(self.r, *x.shape, 4)
        if v.accent is not None and v.pattern != "knit":   # two colours: where the shade is dark, the accent
            t = np.clip((1.0 - tex) / 0.4, 0, 1).astype(f32)
            col = _mix(v.cloth, v.accent, t) * folds[..., None]
        else:
            col = v.cloth[None, None, :] * (tex * folds)[..., None]
        p.paint(_C["cloth"], box, sd, col)

    def necklace(self):
        i, p = self.i, self.p
        nb = self.neck_base
        box = p.box(-0.4, 0.4, nb - 0.2, nb + 0.25)
        x, y = p.grid(box)
        line = nb + 0.03 + 0.9 * x * x
        sd = np.abs(y - line) - 0.024
        sd = np.minimum(sd, _circle(x, y, 0.0, nb + 0.08, 0.04))        # pendant
        sd = np.maximum(sd, -self.cloth_sd(x, y))                        # only where skin shows
        sd = np.maximum(sd, np.abs(x) - i.neck_w - 0.15)
        beads = 0.75 + 0.25 * np.cos(x * f32(2 * np.pi / 0.03))
        col = i.necklace_colour[None, None, :] * beads[..., None]
        p.paint(_C["neck_l"], box, sd, col)

    def ears(self):
        i, p = self.i, self.p
        for side, cls in ((-1, _C["l_ear"]), (1, _C["r_ear"])):
            cx = side * (self.a * 0.97 + 0.01)
            box = p.box(cx - 0.1, cx + 0.1, i.ear_y - i.ear_r - 0.02, i.ear_y + i.ear_r + 0.02)
            x, y = p.grid(box)
            sd = _ellipse(x, y, cx, i.ear_y, 0.055, i.ear_r)
            inner = _ellipse(x, y, cx + side * 0.012, i.ear_y - 0.01, 0.025, i.ear_r * 0.6)
            shade = 0.82 - 0.15 * (inner < 0)
            col = self.skin_texture(x, y, i.skin[None, None, :] * shade[..., None])
            p.paint(cls, box, sd, col)

    def skin_texture(self, x, y, col):
        """Fine skin grain and (for some people) freckles on an RGB array."""
        h, w = x.shape
        g = _grain(self.r, h, w)
        col = col * (1 + 0.035 * g)[..., None]
        if self.i.freckles:
            spots = _grain(self.r, h, w) > 1 - 0.06 * self.i.freckles
            zone = np.exp(-((np.abs(x) - 0.15) / 0.12) ** 2 - ((y - 0.08) / 0.12) ** 2)
            col = col * (1 - 0.25 * (spots * zone))[..., None]
        return col

    def face(self):
        i, p = self.i, self.p
        a, b = self.a, self.b
        box = p.box(-a - 0.02, a + 0.02, -b - 0.02, b + 0.02)
        x, y = p.grid(box)
        sd = self.face_sd(x, y)
        k0 = np.sqrt((x / a) ** 2 + (y / b) ** 2)
        shade = 1 - 0.22 * k0 ** 4 + 0.5 * (self.lx * x + self.ly * y)
        for s in (-1, 1):   # eye sockets a little darker, cheeks a little redder
            shade = shade - 0.06 * np.exp(-((x - s * i.eye_x) / 0.11) ** 2 - ((y - i.eye_y) / 0.07) ** 2)
        shade = shade - 0.07 * np.exp(-(x / 0.08) ** 2 - ((y - i.nose_tip - 0.035) / 0.025) ** 2)
        col = i.skin[None, None, :] * shade[..., None]
        blush = np.exp(-((np.abs(x) - 0.2) / 0.09) ** 2 - ((y - 0.13) / 0.08) ** 2) * 0.12
        col = _mix(col, np.array([0.85, 0.35, 0.35], f32) * i.skin.max(), blush)
        p.paint(_C["skin"], box, sd, self.skin_texture(x, y, col))

    def nose(self):
        i, p = self.i, self.p
        top, tip = i.eye_y + 0.03, i.nose_tip
        box = p.box(-i.nose_w - 0.02, i.nose_w + 0.02, top - 0.02, tip + 0.05)
        x, y = p.grid(box)
        t = np.clip((y - top) / (tip - top), 0, 1)
        w = 0.026 + (i.nose_w - 0.026) * t ** 2.2
        sd = np.maximum(np.abs(x) - w, top - y)
        sd = np.maximum(sd, _ellipse(x, y, 0.0, tip - 0.01, i.nose_w * 1.05, tip - top + 0.01))
        side = np.clip(x / (w + 1e-3), -1, 1)
        shade = 1 - 0.12 * np.abs(side) ** 2 - 0.2 * self.lx * side + 0.1 * np.exp(-(x / 0.012) ** 2) * (1 - t)
        nostrils = np.minimum(_ellipse(x, y, -0.032, tip - 0.004, 0.018, 0.01),
                              _ellipse(x, y, 0.032, tip - 0.004, 0.018, 0.01))
        shade = shade * (1 - 0.55 * p.coverage(nostrils)) * (1 - 0.12 * _smoothstep(0.6, 1.0, t))
        p.paint(_C["nose"], box, sd, self.skin_texture(x, y, i.skin[None, None, :] * shade[..., None]))

    def eyes(self):
        i, v, p = self.i, self.v, self.p
        for side, cls in ((-1, _C["l_eye"]), (1, _C["r_eye"])):
            cx, cy = side * i.eye_x, i.eye_y
            box = p.box(cx - i.eye_w - 0.02, cx + i.eye_w + 0.02, cy - i.eye_h - 0.03, cy + i.eye_h + 0.03)
            x, y = p.grid(box)
            xr, yr = _rotate(x, y, cx, cy, side * i.eye_tilt)
            if v.eyes_closed:
                sd = _ellipse(xr, yr, cx, cy + 0.008, i.eye_w * 0.95, np.where(yr < cy + 0.008, 0.006, 0.011))
                col = np.broadcast_to(i.skin * 0.3, x.shape + (3,))
            else:
                ry = np.where(yr < cy, i.eye_h, i.eye_h * 0.78)
                sd = _ellipse(xr, yr, cx, cy, i.eye_w, ry)
                col = self.eye_colour(xr, yr, cx, cy, sd)
            p.paint(cls, box, sd, col)
            self.relabel.append((cls, box, sd))

    def eye_colour(self, x, y, cx, cy, sd):
        i, v = self.i, self.v
        ri = i.eye_h * 1.12
        ix, iy = cx + v.gaze[0] * i.eye_w, cy + v.gaze[1] * i.eye_h
        dx, dy = x - ix, y - iy
        rr = np.sqrt(dx * dx + dy * dy) / ri
        fibres = _table(self.r, np.arctan2(dy, dx) * f32(40 / np.pi))
        iris = i.iris[None, None, :] * (0.75 + 0.25 * fibres - 0.4 * _smoothstep(0.8, 1.0, rr))[..., None]
        col = _mix(np.array([0.93, 0.91, 0.88], f32) * i.skin.max() ** 0.3, iris, 1 - _smoothstep(0.95, 1.05, rr))
        col = _mix(col, np.array([0.02, 0.02, 0.02], f32), 1 - _smoothstep(0.36, 0.44, rr))      # pupil
        hl = _circle(x, y, ix - 0.3 * ri, iy - 0.35 * ri, 0.17 * ri)
        col = _mix(col, np.array([1, 1, 1], f32), 1 - _smoothstep(-0.002, 0.002, hl))           # catchlight
        lash = (sd > -0.009) & (y < cy + 0.006)                               # upper lid line
        return _mix(col, i.brow * 0.5, lash * f32(0.9))

    def brows(self):
        i, v, p = self.i, self.v, self.p
        for side, cls in ((-1, _C["l_brow"]), (1, _C["r_brow"])):
            cx = side * (i.eye_x + 0.01)
            cy = i.eye_y - i.brow_dy - v.brow_raise
            box = p.box(cx - i.brow_len - 0.03, cx + i.brow_len + 0.03, cy - 0.08, cy + 0.06)
            x, y = p.grid(box)
            s = (x - cx) / i.brow_len * side             # -1 at the inner end, +1 at the outer end
            line = cy - i.brow_arch * (1 - (s - 0.2) ** 2) + 0.01
            thick = i.brow_t * (1.15 - 0.35 * np.clip(s, -1, 1) - 0.2 * np.clip(s, 0, 1))
            sd = np.maximum(np.abs(y - line) - thick, np.abs(s) * i.brow_len - i.brow_len)
            hairs = 0.8 + 0.2 * np.sin((x * side * 0.8 - y * 0.6) * f32(2 * np.pi / 0.012))
            col = i.brow[None, None, :] * hairs[..., None]
            p.paint(cls, box, sd, col)
            self.relabel.append((cls, box, sd))

    def mouth(self):
        i, v, p = self.i, self.v, self.p
        my, w = self.mouth_y, i.mouth_w
        gap = v.mouth_open
        box = p.box(-w - 0.02, w + 0.02, my - i.lip_u - 0.03, my + gap + i.lip_l + 0.03)
        x, y = p.grid(box)
        q = np.clip(np.abs(x) / w, 0, 1)
        arc = np.sqrt(1 - q * q)
        line = my - v.smile * q * q * 2 + 0.004 * np.exp(-(x / 0.02) ** 2)   # the mouth line
        cupid = 1 - 0.2 * np.exp(-(x / (0.25 * w)) ** 2)
        top = line - i.lip_u * (0.35 + 0.65 * arc ** 0.7) * cupid
        inner_gap = gap * np.sqrt(np.clip(1 - (x / (0.85 * w)) ** 2, 0, 1))
        bot = line + inner_gap + i.lip_l * (0.25 + 0.75 * arc)
        xlim = np.abs(x) - w
        upper = np.maximum(np.maximum(top - y, y - line), xlim)
        lower = np.maximum(np.maximum(line + inner_gap - y, y - bot), xlim)
        lines = 0.9 + 0.1 * np.sin(x * f32(2 * np.pi / 0.01))
        col_u = i.lips[None, None, :] * (lines * 0.88)[..., None]
        col_l = i.lips[None, None, :] * (lines * (1 + (0.25 + i.gloss) * np.exp(-((y - line - inner_gap - i.lip_l * 0.45) / 0.012) ** 2)))[..., None]
        if gap > 0:
            inner = np.maximum(np.maximum(line - 0.002 - y, y - line - inner_gap - 0.002), np.abs(x) - 0.85 * w)
            teeth = (y < line + inner_gap * 0.45) & (np.abs(x) < 0.6 * w)
            col_m = np.where(teeth[..., None], np.array([0.9, 0.88, 0.82], f32), np.array([0.25, 0.06, 0.07], f32))
            p.paint(_C["mouth"], box, inner, col_m)
        p.paint(_C["u_lip"], box, upper, col_u)
        p.paint(_C["l_lip"], box, lower, col_l)

    def glasses(self):
        i, p = self.i, self.p
        ex, ey = i.eye_x, i.eye_y + 0.01
        hx = i.eye_w + 0.035
        box = p.box(-self.a - 0.05, self.a + 0.05, ey - 0.12, ey + 0.12)
        x, y = p.grid(box)
        if i.glasses == "round":
            lens = np.minimum(_circle(x, y, -ex, ey, hx), _circle(x, y, ex, ey, hx))
        else:
            lens = np.minimum(_rounded_box(x, y, -ex, ey, hx, 0.075, 0.03),
                              _rounded_box(x, y, ex, ey, hx, 0.075, 0.03))
        t = 0.012
        bridge = np.maximum(np.abs(y - ey + 0.03) - t, np.abs(x) - (ex - hx + 0.01))
        arms = np.maximum(np.abs(y - ey + 0.02) - t * 0.8, np.maximum(ex + hx - 0.01 - np.abs(x), np.abs(x) - self.a - 0.03))
        tint = self.p.existing(box) * f32(0.85) + f32(0.08) * (0.5 + 0.5 * np.sin((x + y) * f32(40)))[..., None]
        p.paint(_C["eye_g"], box, lens, tint)
        frame = np.minimum(np.minimum(np.abs(lens) - t, bridge), arms)
        p.paint(_C["eye_g"], box, frame, i.glasses_colour)
        for cls, b, sd in self.relabel:     # eyes and brows over the glasses, as CelebAMask-HQ merges
            p.paint(cls, b, sd)

    def hat(self):
        i, v, p = self.i, self.v, self.p
        a, b = self.a, self.b
        brim = self.hairline(0.0) - 0.02
        box = p.box(-a - 0.2, a + 0.2, -b - 0.5, brim + 0.15)
        x, y = p.grid(box)
        line = brim + 0.12 * (x / a) ** 2
        sd = np.maximum(_ellipse(x, y, 0.0, -0.15, a + 0.12, b * 0.82 + 0.1), y - line)
        k = 2 * np.pi
        tex = 0.85 + 0.15 * np.sin(x * f32(k / 0.025))
        tex = tex * (1 - 0.15 * (y > line - 0.08))                           # cuff
        if v.hat == "cap":
            peak = _ellipse(x, y, 0.0, brim - 0.01, a * 0.85, 0.07)           # the visor, below the brim
            sd = np.minimum(sd, np.maximum(peak, line - 0.02 - y))
            tex = tex * (1 - 0.2 * (y > line))
        col = v.hat_colour[None, None, :] * tex[..., None]
        p.paint(_C["hat"], box, sd, col)

    def earrings(self):
        i, p = self.i, self.p
        for side in (-1, 1):
            cx = side * (self.a * 0.97 + 0.01)
            cy = i.ear_y + i.ear_r * 0.85
            box = p.box(cx - 0.08, cx + 0.08, cy - 0.03, cy + 0.16)
            x, y = p.grid(box)
            if i.earrings == "stud":
                sd = _circle(x, y, cx, cy, 0.038)
                rc = (cx - 0.01, cy - 0.01)
            elif i.earrings == "hoop":
                sd = np.abs(_circle(x, y, cx, cy + 0.055, 0.05)) - 0.016
                rc = (cx - 0.03, cy + 0.02)
            else:
                sd = np.minimum(_circle(x, y, cx, cy + 0.085, 0.048),
                                np.maximum(np.abs(x - cx) - 0.007, np.abs(y - cy - 0.03) - 0.04))
                rc = (cx - 0.012, cy + 0.065)
            glint = np.exp(-((x - rc[0]) ** 2 + (y - rc[1]) ** 2) / 0.0002)
            col = i.earring_colour[None, None, :] * (0.7 + 0.6 * glint)[..., None]
            p.paint(_C["ear_r"], box, sd, col)

    def lighting(self, rng):
        p, v = self.p, self.v
        uu, vv = p.image_grid(p.full())
        g = (1 + v.light[0] * uu + v.light[1] * vv) * f32(v.exposure * 255)   # the shading gradient
        rgb = p.rgb
        rgb *= g[..., None]
        rgb *= v.tint
        rgb += _grain(rng, p.S, p.S * 3).reshape(rgb.shape) * f32(0.012 * 255) + f32(0.5)   # sensor noise
        return np.clip(rgb, 0, 255, out=rgb).astype(np.uint8)


def render(ident: Identity, view: View, size: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Draw one image: uint8 RGB ``[size, size, 3]`` and its label map uint8 ``[size//2, size//2]``."""
    if size < 16 or size % 2:
        raise ValueError(f"SynthFaces size must be even and >= 16, got {size}")
    f = _Face(ident, view, size, rng)
    f.background()
    f.hair("back")
    f.neck()
    f.cloth()
    if view.necklace:
        f.necklace()
    f.ears()
    if ident.covers_ears:
        f.hair("sides")
    f.face()
    f.nose()
    f.eyes()
    f.brows()
    f.mouth()
    if view.glasses:
        f.glasses()
    f.hair("fringe")
    if view.hat:
        f.hat()
    if view.earrings:
        f.earrings()
    return f.lighting(rng), f.p.label


def render_face(seed: int, index: int, person: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Image ``index`` (of ``person``) of generator ``seed``: (RGB uint8 [S, S, 3], labels uint8 [S/2, S/2])."""
    ident = sample_identity(seed, person)
    rng = np.random.default_rng([seed, 2, index])
    view = sample_view(seed, index, ident, rng)
    return render(ident, view, size, rng)
