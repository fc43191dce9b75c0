"""SynthScenes drawing: one outdoor scene and its exact label map of SFTGAN's outdoor classes.

A scene is painted back to front on an RGB canvas (floats in [0, 1]) with a label map of the same
size: each shape has a coverage in [0, 1] (a one-pixel ramp across its edge, so edges are
anti-aliased), blends its colour by that coverage and claims the label of every pixel it covers by
more than half. The labels are :data:`deepsee.labels.OUTDOOR`'s: 0 background, 1 sky, 2 water,
3 grass, 4 mountain, 5 building, 6 plant, 7 animal.

Painting order: sky (gradient, cumulus and cirrus clouds) -> a far and a near mountain range (ridges,
rock strata, snow caps) -> things on the horizon (a tree line, far buildings) -> the ground below the
horizon (a grass field with blades and flowers, or earth / sand; patches of the other; a path) ->
water from the horizon down to a wavy shore (lake) or beyond the image (sea), reflecting what is above
the horizon through its ripples -> objects standing on the ground, far to near: trees (round or
conifer; the trunk is labelled plant too), bushes, houses and towers (walls of brick, siding, panels or
stucco, window grids with frames and mullions, tiled gable roofs or flat ones with a parapet) and
animals (sheep, cows, horses: simple silhouettes with wool, patches or hair) -> haze near the horizon
and the scene's light.

Every class has appearance that changes from scene to scene and detail finer than a 4x smaller image
shows (periods of 1.5-8 px at 256 px): sky colours and cloud shapes with wispy edges and cirrus
streaks; water colour, ripple period and direction, reflections and glints; grass hue, blade length,
slant and contrast, flowers; rock colour, strata period and tilt, snow; wall colour, brick / siding /
panel texture, window pitch, glazing and roof tiles; foliage colour (green or autumn) and leaf
clumps; fur. The layout (horizon, ridges, shore, objects) stays readable at a quarter of the size.
Lengths scale with the image side (``size / 256``); texture periods do not drop below 1.5 px.

Determinism: one generator seeded with ``(seed, 7, index)`` draws everything, in a fixed order. The
arithmetic uses only operations that are exact or correctly rounded in IEEE float32 (no BLAS, no
vectorised transcendental functions: sines come from a table), so the same settings give the same
pixels on every machine and with any number of worker processes.
"""
from __future__ import annotations

import math

import numpy as np

f32 = np.float32
BACKGROUND, SKY, WATER, GRASS, MOUNTAIN, BUILDING, PLANT, ANIMAL = range(8)

# ------------------------------------------------------------------------------------------ helpers

_N = 4096
_SIN = np.round(np.sin(np.arange(_N + 1, dtype=np.float64) * (2 * math.pi / _N)), 7).astype(f32)


def _sin(t):
    """``sin(2 pi t)`` by table (linear interpolation; error < 1e-6)."""
    u = np.asarray(t, f32) * f32(_N)
    i = np.floor(u)
    f = u - i
    i = i.astype(np.intp) & (_N - 1)
    lo = _SIN[i]
    return lo + (_SIN[i + 1] - lo) * f


def _cos_sin(angle: float) -> tuple[float, float]:
    """``(cos, sin)`` of a scalar angle (radians) from the same table."""
    t = angle / (2 * math.pi)
    return float(_sin(np.float32(t + 0.25))), float(_sin(np.float32(t)))


def _weights(n: int, cells: float):
    t = (np.arange(n, dtype=f32) + f32(0.5)) * f32(cells / n)
    i = np.floor(t)
    f = t - i
    return i.astype(np.intp), f * f * (3 - 2 * f)


def _noise2(rng, h: int, w: int, ch: float, cw: float) -> np.ndarray:
    """Smooth value noise in [-1, 1] over ``[h, w]`` with ``ch`` x ``cw`` cells (separable interpolation)."""
    ch, cw = max(1.0, float(ch)), max(1.0, float(cw))
    g = rng.random((int(ch) + 2, int(cw) + 2), dtype=f32) * 2 - 1
    iy, fy = _weights(h, ch)
    ix, fx = _weights(w, cw)
    a = g[:, ix] * (1 - fx) + g[:, ix + 1] * fx
    return a[iy] * (1 - fy)[:, None] + a[iy + 1] * fy[:, None]


def _noise1(rng, n: int, cells: float) -> np.ndarray:
    cells = max(1.0, float(cells))
    g = rng.random(int(cells) + 2, dtype=f32) * 2 - 1
    i, f = _weights(n, cells)
    return g[i] * (1 - f) + g[i + 1] * f


def _fbm1(rng, n: int, cells: float, octaves: int = 3) -> np.ndarray:
    out = np.zeros(n, f32)
    amp = 1.0
    for _ in range(octaves):
        out += f32(amp) * _noise1(rng, n, cells)
        cells, amp = cells * 2.1, amp * 0.5
    return out


def _jit(rng, colour, amount: float) -> np.ndarray:
    return np.clip(np.asarray(colour, f32) + rng.uniform(-amount, amount, 3).astype(f32), 0, 1)


def _ellipse(xs, ys, cx, cy, rx, ry):
    """Approximate signed distance (px) to an axis-aligned ellipse."""
    dx, dy = (xs - f32(cx)) * f32(1 / rx), (ys - f32(cy)) * f32(1 / ry)
    return (np.sqrt(dx * dx + dy * dy) - 1) * f32(min(rx, ry))


def _capsule(xs, ys, ax, ay, bx, by, r):
    """Signed distance (px) to the segment a-b thickened by ``r``."""
    vx, vy = bx - ax, by - ay
    ll = vx * vx + vy * vy or 1.0
    px, py = xs - f32(ax), ys - f32(ay)
    t = np.clip((px * f32(vx) + py * f32(vy)) * f32(1 / ll), 0, 1)
    dx, dy = px - t * f32(vx), py - t * f32(vy)
    return np.sqrt(dx * dx + dy * dy) - f32(r)


def _cov(sd):
    """Coverage of ``sd < 0`` (px) with a one-pixel ramp."""
    return np.clip(f32(0.5) - sd, 0, 1)


# ----------------------------------------------------------------------------------------- palettes

SKIES = [  # (zenith, horizon)
    ((0.20, 0.42, 0.80), (0.70, 0.84, 0.95)),     # day
    ((0.08, 0.28, 0.68), (0.52, 0.74, 0.92)),     # deep blue
    ((0.24, 0.24, 0.52), (0.98, 0.62, 0.33)),     # sunset
    ((0.36, 0.34, 0.62), (0.96, 0.62, 0.66)),     # pink dusk
    ((0.52, 0.55, 0.60), (0.80, 0.81, 0.82)),     # overcast
    ((0.42, 0.62, 0.74), (0.92, 0.88, 0.74)),     # hazy
]
SKY_P = (0.3, 0.2, 0.14, 0.1, 0.14, 0.12)
ROCKS = [(0.46, 0.46, 0.48), (0.46, 0.37, 0.29), (0.56, 0.36, 0.26), (0.30, 0.32, 0.36), (0.70, 0.56, 0.40),
         (0.36, 0.42, 0.31), (0.38, 0.36, 0.42)]
WATERS = [(0.10, 0.30, 0.52), (0.08, 0.40, 0.46), (0.14, 0.33, 0.24), (0.30, 0.38, 0.46), (0.05, 0.14, 0.30),
          (0.22, 0.46, 0.58)]
GRASSES = [(0.30, 0.55, 0.14), (0.20, 0.44, 0.11), (0.45, 0.60, 0.20), (0.14, 0.40, 0.20), (0.66, 0.60, 0.30),
           (0.36, 0.48, 0.16)]
EARTHS = [(0.84, 0.75, 0.55), (0.46, 0.34, 0.23), (0.62, 0.37, 0.23), (0.56, 0.54, 0.50), (0.32, 0.25, 0.18),
          (0.72, 0.62, 0.46)]
FOLIAGE = [(0.18, 0.40, 0.12), (0.26, 0.50, 0.15), (0.11, 0.30, 0.15), (0.36, 0.50, 0.18), (0.20, 0.36, 0.24),
           (0.80, 0.46, 0.10), (0.68, 0.20, 0.09), (0.84, 0.70, 0.16)]
FOLIAGE_P = (0.18, 0.18, 0.14, 0.12, 0.12, 0.1, 0.08, 0.08)
WALLS = [(0.88, 0.86, 0.82), (0.90, 0.82, 0.64), (0.62, 0.28, 0.20), (0.52, 0.33, 0.22), (0.62, 0.62, 0.62),
         (0.46, 0.56, 0.70), (0.90, 0.74, 0.36), (0.86, 0.60, 0.60), (0.70, 0.72, 0.60)]
ROOFS = [(0.66, 0.22, 0.15), (0.42, 0.26, 0.18), (0.25, 0.27, 0.31), (0.24, 0.40, 0.30), (0.40, 0.45, 0.55),
         (0.55, 0.33, 0.20)]
GLASS = [(0.12, 0.15, 0.20), (0.30, 0.45, 0.60), (0.95, 0.84, 0.50), (0.20, 0.30, 0.28)]
FLOWERS = [(0.97, 0.97, 0.95), (0.98, 0.85, 0.15), (0.90, 0.35, 0.55), (0.60, 0.40, 0.85), (0.95, 0.25, 0.15)]
WALL_STYLES = ("brick", "siding", "panel", "stucco")


# ------------------------------------------------------------------------------------------- scene


class _Scene:
    """One scene: layout and appearance are drawn from ``rng`` while painting (a fixed order)."""

    def __init__(self, seed: int, index: int, size: int):
        self.S = S = int(size)
        self.k = S / 256.0
        self.rng = rng = np.random.default_rng([int(seed), 7, int(index)])
        self.rgb = np.zeros((S, S, 3), f32)
        self.label = np.zeros((S, S), np.uint8)
        self.x = np.arange(S, dtype=f32) + f32(0.5)           # pixel centres
        self.H = float(rng.uniform(0.3, 0.6) * S)             # horizon (y, px)
        self.hash = rng.random((32, 32), dtype=f32) * 2 - 1   # per-brick / per-window values

    # ------------------------------------------------------------------ utilities
    def tex(self, period: float) -> float:
        """A texture period given at 256 px, at this size (at least 1.5 px)."""
        return max(1.5, period * self.k)

    def box(self, x0, x1, y0, y1):
        S = self.S
        c0, c1 = max(0, int(math.floor(x0))), min(S, int(math.ceil(x1)))
        r0, r1 = max(0, int(math.floor(y0))), min(S, int(math.ceil(y1)))
        if c1 <= c0 or r1 <= r0:
            return None
        ys = (np.arange(r0, r1, dtype=f32) + f32(0.5))[:, None]
        xs = (np.arange(c0, c1, dtype=f32) + f32(0.5))[None, :]
        return r0, c0, ys, xs

    def paint(self, cls, r0: int, c0: int, alpha: np.ndarray, colour) -> None:
        h, w = alpha.shape
        dst = self.rgb[r0:r0 + h, c0:c0 + w]
        dst += (np.asarray(colour, f32) - dst) * alpha[..., None]
        if cls is not None:
            self.label[r0:r0 + h, c0:c0 + w][alpha > 0.5] = cls

    def hashed(self, i, j):
        return self.hash[i.astype(np.intp) & 31, j.astype(np.intp) & 31]

    # ------------------------------------------------------------------------ sky
    def sky(self):
        rng, S, H = self.rng, self.S, self.H
        kind = int(rng.choice(len(SKIES), p=SKY_P))
        top, hor = _jit(rng, SKIES[kind][0], 0.06), _jit(rng, SKIES[kind][1], 0.05)
        self.sky_top, self.sky_hor = top, hor
        n = min(S, int(H) + 3)
        t = np.clip((np.arange(n, dtype=f32) + f32(0.5)) * f32(1 / H), 0, 1)
        curve = int(rng.integers(3))
        if curve == 1:
            t = t * t
        elif curve == 2:
            t = 1 - (1 - t) * (1 - t)
        img = np.empty((n, S, 3), f32)
        img[:] = (top + (hor - top) * t[:, None])[:, None, :]
        x = self.x
        if kind in (2, 3, 5) or rng.random() < 0.25:                           # sun glow
            sx = rng.uniform(0.1, 0.9) * S
            g = np.clip(1 - np.abs(x - f32(sx)) * f32(1 / (rng.uniform(0.2, 0.5) * S)), 0, 1)
            g = (g * g)[None, :] * (t * t)[:, None] * f32(rng.uniform(0.2, 0.5))
            glow = _jit(rng, (1.0, 0.88, 0.68), 0.06)
            img += (glow - img) * g[..., None]
        light = np.clip(hor * 0.3 + 0.72, 0, 1) * f32(rng.uniform(0.92, 1.02))
        shadow = light * f32(0.5) + (top * 0.5 + hor * 0.5) * f32(rng.uniform(0.3, 0.45))
        if rng.random() < 0.62:                                                 # cumulus
            cw = 1 / rng.uniform(0.14, 0.32)
            ch = n / S * cw * rng.uniform(1.8, 3.0)
            f = (0.62 * _noise2(rng, n, S, ch, cw) + 0.26 * _noise2(rng, n, S, 2.3 * ch, 2.3 * cw)
                 + 0.12 * _noise2(rng, n, S, 5 * ch, 5 * cw))
            p = self.tex(rng.uniform(1.8, 3.2))
            fine = _noise2(rng, n, S, n / p, S / p)
            d = f - f32(rng.uniform(0.02, 0.38)) + f32(0.1) * fine
            a = np.clip(d * f32(rng.uniform(3.5, 7)), 0, 1) * f32(rng.uniform(0.75, 1.0))
            s = max(1, int(round(4 * self.k)))
            below = np.concatenate([f[s:], np.repeat(f[-1:], s, 0)])
            lit = np.clip(0.6 + 8 * (below - f) + 0.15 * fine, 0, 1)
            col = shadow + (light - shadow) * lit[..., None]
            img += (col - img) * a[..., None]
        if rng.random() < 0.45:                                                 # cirrus streaks
            ca, sa = _cos_sin(rng.uniform(-0.4, 0.4))
            ys = (np.arange(n, dtype=f32) + f32(0.5))[:, None]
            p = self.tex(rng.uniform(2.5, 5.0))
            warp = _noise2(rng, n, S, 2, 3) * f32(rng.uniform(0.8, 2.0))
            st = 0.5 + 0.5 * _sin((ys * f32(ca) - x * f32(sa)) * f32(1 / p) + warp)
            st = st * st
            st = st * st
            pieces = np.clip(_noise2(rng, n, S, n / self.tex(4), S / self.tex(30)) * 2.5 + 0.3, 0, 1)
            amt = np.clip(_noise2(rng, n, S, 2.5, 3.5) * 2.0 - f32(rng.uniform(0.0, 0.6)), 0, 1)
            img += (light - img) * (st * pieces * amt * f32(rng.uniform(0.35, 0.7)))[..., None]
        self.rgb[:n] = img
        self.label[:n] = SKY

    # ------------------------------------------------------------------ mountains
    def mountains(self, far: bool):
        rng, S, H, x = self.rng, self.S, self.H, self.x
        hmax = rng.uniform(0.35, 0.95) * H if far else rng.uniform(0.12, 0.5) * H
        shape = np.zeros(S, f32)
        for _ in range(int(rng.integers(1, 4))):
            px = rng.uniform(-0.1, 1.1) * S
            wl, wr = rng.uniform(0.18, 0.6) * S, rng.uniform(0.18, 0.6) * S
            d = np.where(x < px, (f32(px) - x) * f32(1 / wl), (x - f32(px)) * f32(1 / wr))
            shape = np.maximum(shape, f32(rng.uniform(0.45, 1.0)) * (1 - d))
        shape = shape + 0.12 * _fbm1(rng, S, 5, 3)
        smooth = f32(H + 1) - f32(hmax) * np.clip(shape, 0.02, 1.1)
        shape = shape + 0.035 * _noise1(rng, S, S / self.tex(6)) + 0.012 * _noise1(rng, S, S / self.tex(2))
        ridge = f32(H + 1) - f32(hmax) * np.clip(shape, 0.02, 1.1)
        top, bot = max(0, int(ridge.min()) - 1), min(S, int(H) + 3)
        h = bot - top
        ys = (np.arange(top, bot, dtype=f32) + f32(0.5))[:, None]
        sl = np.empty(S, f32)
        sl[1:-1] = (ridge[2:] - ridge[:-2]) * f32(0.5)
        sl[0], sl[-1] = sl[1], sl[-2]
        dy = ys - ridge
        cov = np.clip(0.5 + dy / np.sqrt(1 + sl * sl), 0, 1)
        sl[1:-1] = (smooth[2:] - smooth[:-2]) * f32(0.5)
        sl[0], sl[-1] = sl[1], sl[-2]
        rock = _jit(rng, ROCKS[int(rng.integers(len(ROCKS)))], 0.05) * f32(0.9 if far else 0.8)
        fade = np.clip(1 - dy * f32(1 / (0.9 * hmax + 1)), 0.25, 1)
        gully = _noise1(rng, S, S / self.tex(rng.uniform(2.5, 5)))[None, :]
        light = 1 + (f32(0.25) * np.clip(-sl * f32(1.3), -1, 1) + f32(0.07) * gully) * fade
        p = self.tex(rng.uniform(3, 7))
        warp = _noise2(rng, h, S, h / (0.15 * S) + 1, 6) * f32(self.tex(6))
        band = np.clip(1.8 * _sin((ys + f32(rng.uniform(-0.35, 0.35)) * x + warp) * f32(1 / p)), -1, 1)
        grain = rng.random((h, S), dtype=f32) - f32(0.5)
        coarse = _noise2(rng, h, S, h / (0.2 * S) + 1, 5)
        patches = np.clip(0.6 + _noise2(rng, h, S, h / (0.1 * S) + 1, 8) * 1.5, 0, 1)
        v = light * (1 + f32(rng.uniform(0.08, 0.22)) * band * patches + f32(0.14) * grain + f32(0.14) * coarse)
        col = rock * v[..., None]
        if rng.random() < (0.55 if far else 0.3):                               # snow cap
            alt = H + 1 - hmax * rng.uniform(0.35, 0.8)
            depth = (np.clip(f32(alt) - ridge, 0, None) * f32(rng.uniform(0.6, 1.5))
                     + f32(self.tex(3)) * _noise1(rng, S, S / self.tex(4)))
            a = np.clip(depth + f32(2.5 * self.k + 0.5) * band - dy + 0.5, 0, 1) * (depth > 0)
            snow = _jit(rng, (0.93, 0.95, 0.98), 0.03)
            sv = np.clip(0.72 + 0.33 * (light - 1) * 3 + 0.08 * grain, 0.4, 1.05)
            col += (snow * sv[..., None] - col) * a[..., None]
        haze = rng.uniform(0.3, 0.6) if far else rng.uniform(0.0, 0.2)
        col += (self.sky_hor - col) * f32(haze)
        self.paint(MOUNTAIN, top, 0, cov, col)

    # ---------------------------------------------------------------- vegetation
    def foliage(self, h, w, colour, lit, period=2.4):
        rng = self.rng
        p = self.tex(period)
        leaf = 0.65 * _noise2(rng, h, w, h / p, w / p) + 0.35 * _noise2(rng, h, w, h / (2.5 * p), w / (2.5 * p))
        v = (0.45 + 0.6 * lit) * (1 + 0.5 * leaf)
        v = np.where(leaf < -0.42, v * f32(0.45), v)
        return np.clip(colour * v[..., None] + f32(0.05) * np.clip(leaf, 0, 1)[..., None], 0, 1)

    def treeline(self):
        rng, S, H, x = self.rng, self.S, self.H, self.x
        height = rng.uniform(4, 16) * self.k + 1
        p = rng.uniform(5, 12) * self.k + 1
        b = np.abs(_sin(x * f32(0.5 / p) + 0.6 * _noise1(rng, S, S / (3 * p))))
        top_y = f32(H + 1) - f32(height) * (0.45 + 0.55 * b) - f32(height * 0.5) * (_fbm1(rng, S, 4, 2) + 0.5)
        top_y = top_y - f32(self.tex(1.2)) * _noise1(rng, S, S / self.tex(1.6))
        r0, r1 = max(0, int(top_y.min()) - 1), min(S, int(H) + 3)
        ys = (np.arange(r0, r1, dtype=f32) + f32(0.5))[:, None]
        cov = np.clip(0.5 + ys - top_y, 0, 1)
        lit = np.clip(1 - (ys - top_y) * f32(1 / (height * 1.5)), 0.2, 1)
        colour = _jit(rng, self.leaf_colour, 0.04) * f32(0.85)
        col = self.foliage(r1 - r0, S, colour, lit)
        col += (self.sky_hor - col) * f32(rng.uniform(0.1, 0.35))
        self.paint(PLANT, r0, 0, cov, col)

    def tree(self, xc, base, R):
        rng = self.rng
        colour = _jit(rng, self.leaf_colour, 0.05)
        bark = _jit(rng, (0.30, 0.22, 0.15), 0.05)
        conifer = rng.random() < self.conifer_p
        if conifer:
            Ht, tw = R * rng.uniform(2.4, 3.6), max(1.0, R * 0.16)
            trunk_h = R * 0.45
            apex = base - trunk_h - Ht
            b = self.box(xc - R * 1.1, xc + R * 1.1, apex - 2, base + 1)
            if b is None:
                return
            r0, c0, ys, xs = b
            dx = np.abs(xs - f32(xc))
            sd = None
            layers = int(rng.integers(3, 6))
            for i in range(layers):
                ya = apex + Ht * 0.75 * i / layers
                yb = apex + Ht * (i + 1) / layers
                hw = R * (0.35 + 0.65 * (i + 1) / layers)
                s = hw / (yb - ya)
                sdi = np.maximum((dx - (ys - f32(ya)) * f32(s)) * f32(1 / math.sqrt(1 + s * s)),
                                 np.maximum(f32(ya) - ys, ys - f32(yb)))
                sd = sdi if sd is None else np.minimum(sd, sdi)
            cy, cr = apex + Ht * 0.3, Ht * 0.7
            tsd = np.maximum(dx - f32(tw / 2), np.maximum(ys - f32(base), f32(base - trunk_h - R) - ys))
        else:
            trunk_h = R * rng.uniform(0.5, 1.1)
            cy = base - trunk_h - R * 0.55
            tw = max(1.0, R * rng.uniform(0.14, 0.24))
            b = self.box(xc - R * 1.5, xc + R * 1.5, cy - R * 1.35, base + 1)
            if b is None:
                return
            r0, c0, ys, xs = b
            sd = None
            for _ in range(int(rng.integers(4, 8))):
                ox, oy = rng.uniform(-0.65, 0.65) * R, rng.uniform(-0.5, 0.35) * R
                r = rng.uniform(0.45, 0.7) * R
                dx, dy = xs - f32(xc + ox), ys - f32(cy + oy)
                sdi = np.sqrt(dx * dx + dy * dy) - f32(r)
                sd = sdi if sd is None else np.minimum(sd, sdi)
            cr = R
            widen = np.clip((ys - f32(cy)) * f32(1 / max(trunk_h, 1)), 0, 1) * f32(0.3 * tw)
            tsd = np.maximum(np.abs(xs - f32(xc)) - f32(tw / 2) - widen,
                             np.maximum(ys - f32(base), f32(cy) - ys))
        h, w = sd.shape
        jag = f32(self.tex(1.4)) * _noise2(rng, h, w, h / self.tex(1.8), w / self.tex(1.8))
        ta = _cov(tsd)
        if ta.any():
            streak = _noise1(rng, w, w / self.tex(1.6))[None, :]
            tv = 0.8 + 0.25 * streak + 0.1 * (rng.random((h, w), dtype=f32) - 0.5)
            self.paint(PLANT, r0, c0, ta, bark * tv[..., None])
        dx, dy = xs - f32(xc - 0.35 * cr), ys - f32(cy - 0.45 * cr)
        lit = np.clip(1.15 - np.sqrt(dx * dx + dy * dy) * f32(1 / (1.6 * cr)), 0, 1)
        self.paint(PLANT, r0, c0, _cov(sd + jag), self.foliage(h, w, colour, lit))

    def bush(self, xc, base, R):
        rng = self.rng
        colour = _jit(rng, self.leaf_colour, 0.06) * f32(rng.uniform(0.75, 1.0))
        b = self.box(xc - R * 1.6, xc + R * 1.6, base - R * 1.5, base + 1)
        if b is None:
            return
        r0, c0, ys, xs = b
        sd = ys - f32(base)
        inner = None
        for _ in range(int(rng.integers(3, 6))):
            ox = rng.uniform(-0.9, 0.9) * R
            r = rng.uniform(0.4, 0.7) * R
            dx, dy = xs - f32(xc + ox), (ys - f32(base - r * 0.8)) * f32(1.3)
            sdi = np.sqrt(dx * dx + dy * dy) - f32(r)
            inner = sdi if inner is None else np.minimum(inner, sdi)
        sd = np.maximum(sd, inner)
        h, w = sd.shape
        jag = f32(self.tex(1.2)) * _noise2(rng, h, w, h / self.tex(1.6), w / self.tex(1.6))
        lit = np.clip(1.2 - (ys - f32(base - 1.4 * R)) * f32(1 / (1.6 * R)), 0, 1) * np.ones((1, w), f32)
        self.paint(PLANT, r0, c0, _cov(sd + jag), self.foliage(h, w, colour, lit, period=2.0))

    # ----------------------------------------------------------------- ground, water
    def blades(self, h, t):
        """Grass blades: vertical streaks (length growing towards the viewer), slanted; ~unit variance."""
        rng, S = self.rng, self.S
        near = max(2, int(round(rng.uniform(5, 13) * self.k)))
        pad = near
        field = rng.random((h + pad, S), dtype=f32)
        C = np.zeros((h + pad + 1, S), f32)
        np.cumsum(field, axis=0, out=C[1:])
        end = C[pad + 1:pad + 1 + h]

        def run(L):
            m = (end - C[pad + 1 - L:pad + 1 - L + h]) * f32(1 / L)
            return (m - f32(0.5)) * f32(math.sqrt(12 * L))

        far = max(1, int(round(2 * self.k)))
        tex = run(far) * (1 - t) + run(near) * t
        shift = (np.arange(h, dtype=f32) * f32(rng.uniform(-0.45, 0.45))).astype(np.intp)
        idx = (np.arange(S)[None, :] + shift[:, None]) % S
        return np.take_along_axis(tex, idx, axis=1)

    def grass_colour(self, r0, t):
        rng, S = self.rng, self.S
        h = S - r0
        base = self.grass_base
        alt = np.clip(base * f32(rng.uniform(0.65, 1.25)) + rng.uniform(-0.06, 0.06, 3).astype(f32), 0, 1)
        patch = 0.5 + 0.5 * _noise2(rng, h, S, max(1.0, 5 * h / S), 5)
        col = base + (alt - base) * patch[..., None]
        tex = self.blades(h, t)
        v = (0.82 + 0.22 * t) * (1 + f32(self.blade_amp) * tex)
        col = col * v[..., None]
        if rng.random() < 0.3:                                                     # flowers
            dots = rng.random((h, S), dtype=f32) < f32(rng.uniform(0.004, 0.02)) * t
            fc = _jit(rng, FLOWERS[int(rng.integers(len(FLOWERS)))], 0.05)
            col[dots] = fc
        return col

    def earth_colour(self, r0, c0, h, w, colour, sand: bool):
        rng = self.rng
        grain = rng.random((h, w), dtype=f32) - f32(0.5)
        p = self.tex(rng.uniform(2.0, 3.5))
        peb = _noise2(rng, h, w, h / p, w / p)
        coarse = _noise2(rng, h, w, max(1.0, 4 * h / self.S), 5)
        v = (1 + 0.12 * grain + 0.1 * coarse + 0.16 * np.clip(peb * 3 - 1.2, 0, 1)
             - 0.2 * np.clip(-peb * 3 - 1.4, 0, 1))
        if sand:
            ca, sa = _cos_sin(rng.uniform(-0.5, 0.5))
            ys = (np.arange(r0, r0 + h, dtype=f32) + f32(0.5))[:, None]
            xs = (np.arange(c0, c0 + w, dtype=f32) + f32(0.5))[None, :]
            q = self.tex(rng.uniform(3, 6))
            v = v + 0.07 * _sin((ys * f32(ca) + xs * f32(sa)) * f32(1 / q) + 0.8 * coarse)
        return colour * v[..., None]

    def ground(self):
        rng, S, H = self.rng, self.S, self.H
        gtop = self.gtop
        r0 = max(0, int(gtop.min()) - 1)
        if r0 >= S:
            return
        h = S - r0
        ys = (np.arange(r0, S, dtype=f32) + f32(0.5))[:, None]
        t = np.clip((ys - f32(H)) * f32(1 / (S - H)), 0, 1)
        a = np.clip(0.5 + ys - gtop, 0, 1)
        earth = _jit(rng, EARTHS[self.earth_kind], 0.05)
        sand = self.earth_kind in (0, 5)
        if self.grass_ground:
            self.paint(GRASS, r0, 0, a, self.grass_colour(r0, t))
            if rng.random() < 0.3:                                                  # bare patches
                m = (_noise2(rng, h, S, max(1.0, 6 * h / S), 6)
                     + 0.15 * _noise2(rng, h, S, h / self.tex(3), S / self.tex(3)))
                pa = np.clip((m - f32(rng.uniform(0.3, 0.55))) * 6, 0, 1) * a
                self.paint(BACKGROUND, r0, 0, pa, self.earth_colour(r0, 0, h, S, earth, sand))
        else:
            self.paint(BACKGROUND, r0, 0, a, self.earth_colour(r0, 0, h, S, earth, sand))
            if rng.random() < 0.5:                                                  # grass tufts
                m = (_noise2(rng, h, S, max(1.0, 6 * h / S), 6)
                     + 0.2 * _noise2(rng, h, S, h / self.tex(2.5), S / self.tex(2.5)))
                pa = np.clip((m - f32(rng.uniform(0.25, 0.5))) * 6, 0, 1) * a
                self.paint(GRASS, r0, 0, pa, self.grass_colour(r0, t))
        if self.grass_ground and rng.random() < 0.45:                               # a path
            x0, xh = rng.uniform(0.15, 0.85) * S, rng.uniform(0.25, 0.75) * S
            bend = rng.uniform(-0.3, 0.3) * S
            cx = f32(xh) + f32(x0 - xh) * t + f32(bend) * t * (1 - t)
            hw = f32(S * rng.uniform(0.06, 0.18)) * (0.04 + t) + f32(0.3)
            pa = np.clip(0.5 + hw - np.abs(self.x - cx), 0, 1) * a
            self.paint(BACKGROUND, r0, 0, pa, self.earth_colour(r0, 0, h, S, earth * f32(0.95), False))

    def water(self):
        rng, S, H, x = self.rng, self.S, self.H, self.x
        shore = self.shore
        r0, r1 = int(H), min(S, int(shore.max()) + 2)
        h = r1 - r0
        ys = (np.arange(r0, r1, dtype=f32) + f32(0.5))[:, None]
        t = np.clip((ys - f32(H)) * f32(1 / (S - H)), 0, 1)
        base = _jit(rng, WATERS[int(rng.integers(len(WATERS)))], 0.04)
        far_col = base + (self.sky_hor - base) * f32(rng.uniform(0.15, 0.45))
        colg = far_col + (base * f32(0.8) - far_col) * t[..., None]
        ca, sa = _cos_sin(rng.uniform(-0.35, 0.35))
        p0 = rng.uniform(3, 8) * self.k
        per = np.maximum(f32(p0) * (0.3 + 0.7 * t), f32(1.5))
        warp = _noise2(rng, h, S, max(1.0, 4 * h / S), 5) * f32(rng.uniform(0.5, 1.5))
        ph = ((ys - f32(H)) * f32(ca) + x * f32(sa)) / per
        rip = 0.65 * _sin(ph + warp) + 0.35 * _sin(ph * f32(1.73) + 0.7 * warp + f32(0.3))
        rip = rip * (0.6 + 0.4 * _noise2(rng, h, S, max(1.0, 8 * h / S), 8))
        dy, dx = rng.uniform(1, 4) * self.k + 0.5, rng.uniform(0.5, 3) * self.k
        sy = np.clip(f32(2 * H) - ys - rip * f32(dy) * (0.3 + t), 0, max(0.0, H - 1)).astype(np.intp)
        sx = np.clip(x + rip * f32(dx), 0, S - 1).astype(np.intp)
        ref = self.rgb[sy, sx]
        ref = np.where((f32(2 * H) - ys > 0)[..., None], ref, self.sky_top)     # steep views: the zenith
        fres = f32(rng.uniform(0.3, 0.8)) * (1 - 0.6 * t)
        col = colg + (ref - colg) * fres[..., None]
        col = col * (1 + f32(rng.uniform(0.06, 0.18)) * rip)[..., None]
        if rng.random() < 0.5:                                                      # glints
            g = (rip > 0.8) & (rng.random((h, S), dtype=f32) < f32(rng.uniform(0.05, 0.3)))
            col[g] = col[g] + (1 - col[g]) * f32(0.6)
        a = np.clip(0.5 + shore - ys, 0, 1) * np.clip(ys - f32(H) + 0.5, 0, 1)
        self.paint(WATER, r0, 0, a, col)

    # ------------------------------------------------------------------ buildings
    def building(self, xc, base, width, height, far: bool = False, tower: bool = False):
        rng, k = self.rng, self.k
        wall = _jit(rng, WALLS[self.walls[int(rng.integers(len(self.walls)))]], 0.05)
        style = WALL_STYLES[self.wall_styles[int(rng.integers(len(self.wall_styles)))]]
        if tower:
            style = "panel" if rng.random() < 0.6 else style
        gable = (not tower) and rng.random() < self.gable_p
        rh = width * rng.uniform(0.22, 0.45) if gable else 0.0
        ov = width * 0.07 if gable else 0.0
        x0, x1, yt = xc - width / 2, xc + width / 2, base - height
        b = self.box(x0 - ov - 1, x1 + ov + 1, yt - rh - 1, base + 1)
        if b is None:
            return
        r0, c0, ys, xs = b
        h, w = ys.shape[0], xs.shape[1]
        lx, ly = xs - f32(x0), ys - f32(yt)
        body = (np.clip(0.5 + np.minimum(lx, f32(x1) - xs), 0, 1)
                * np.clip(0.5 + np.minimum(ly, f32(base) - ys), 0, 1))
        grain = rng.random((h, w), dtype=f32) - f32(0.5)
        if style == "brick":
            bh = self.tex(rng.uniform(2.6, 4.5))
            bw = bh * rng.uniform(2.0, 2.8)
            row = np.floor(ly * f32(1 / bh))
            fy = ly - row * f32(bh)
            bx = lx + (row % 2) * f32(bw / 2)
            col_i = np.floor(bx * f32(1 / bw))
            fx = bx - col_i * f32(bw)
            mortar = (fy < 1) | (fx < 1)
            v = 1 + 0.12 * self.hashed(row, col_i) + 0.06 * grain
            v = np.where(mortar, f32(rng.choice([0.72, 1.25])), v)
        elif style == "siding":
            sp = self.tex(rng.uniform(2.5, 4.5))
            fy = ly * f32(1 / sp)
            fy = fy - np.floor(fy)
            v = (1 - 0.2 * (fy < f32(1 / sp)) + 0.08 * fy) + 0.05 * grain
        elif style == "panel":
            pw, ph = self.tex(rng.uniform(5, 11)), self.tex(rng.uniform(5, 11))
            ix, iy = np.floor(lx * f32(1 / pw)), np.floor(ly * f32(1 / ph))
            seam = ((lx - ix * f32(pw)) < 1) | ((ly - iy * f32(ph)) < 1)
            v = 1 + 0.07 * self.hashed(iy, ix) + 0.04 * grain
            v = np.where(seam, f32(0.8), v)
        else:
            p = self.tex(2.0)
            v = 1 + 0.08 * grain + 0.06 * _noise2(rng, h, w, h / p, w / p)
        v = v * (0.88 + 0.12 * np.clip(1 - ly * f32(1 / max(height, 1)), 0, 1))
        col = wall * v[..., None]
        # windows on a grid (frames, mullions; some lit)
        s = 1.0 if not far else 0.6
        px = max(3.0, self.tex(rng.uniform(6, 13)) * s) if not tower else max(2.5, self.tex(rng.uniform(4, 8)) * s)
        py = px * rng.uniform(0.95, 1.5)
        ww, wh = px * rng.uniform(0.4, 0.72), py * rng.uniform(0.45, 0.75)
        ncols = int((width - 0.4 * px) // px)
        door = 0.0 if (far or tower) else py * 1.1
        nrows = int((height - door - 0.3 * py) // py)
        if ncols >= 1 and nrows >= 1 and ww >= 1.5 and wh >= 1.5:
            mx = (width - ncols * px) / 2 + (px - ww) / 2
            my = py * 0.35
            gx = lx - f32(mx)
            ix = np.floor(gx * f32(1 / px))
            fx = gx - ix * f32(px)
            gy = ly - f32(my)
            iy = np.floor(gy * f32(1 / py))
            fy = gy - iy * f32(py)
            win = ((fx < ww) & (ix >= 0) & (ix < ncols)) & ((fy < wh) & (iy >= 0) & (iy < nrows))
            glass = _jit(rng, GLASS[self.glass_kind], 0.04)
            lit_c = _jit(rng, (0.98, 0.86, 0.52), 0.03)
            lit = self.hashed(iy, ix * 3 + 7) > f32(self.lit_thr)
            gcol = glass * (0.75 + 0.5 * np.clip(fy * f32(1 / wh), 0, 1))[..., None]
            gcol = np.where(lit[..., None], lit_c, gcol)
            frame_c = _jit(rng, (0.92, 0.9, 0.86) if rng.random() < 0.6 else (0.15, 0.13, 0.12), 0.04)
            frame = (fx < 1) | (fx > f32(ww - 1)) | (fy < 1) | (fy > f32(wh - 1))
            if ww >= 4.5 and rng.random() < 0.7:
                frame = frame | (np.abs(fx - f32(ww / 2)) < 0.5) | (np.abs(fy - f32(wh / 2)) < 0.5)
            wcol = np.where(frame[..., None], frame_c, gcol)
            col = np.where(win[..., None], wcol, col)
            if door > 0:
                dw = px * 0.8
                dcx = xc + (int(rng.integers(ncols)) - (ncols - 1) / 2) * px
                dm = (np.abs(xs - f32(dcx)) < dw / 2) & (ys > f32(base - door * 0.9))
                dcol = _jit(rng, (0.35, 0.22, 0.14), 0.08)
                col = np.where(dm[..., None], dcol * (0.85 + 0.15 * grain)[..., None], col)
        if gable:
            half = width / 2 + ov
            top = f32(yt) - f32(rh) * (1 - np.abs(xs - f32(xc)) * f32(1 / half))
            ra = (np.clip(0.5 + ys - top, 0, 1) * np.clip(f32(yt + 1.5) - ys, 0, 1)
                  * np.clip(0.5 + f32(half) - np.abs(xs - f32(xc)), 0, 1))
            roof = _jit(rng, ROOFS[self.roof_kind], 0.05)
            tp = self.tex(rng.uniform(2.2, 3.8))
            tw = tp * rng.uniform(1.2, 2.0)
            rr = np.floor((ys - f32(yt - rh)) * f32(1 / tp))
            fr = (ys - f32(yt - rh)) * f32(1 / tp) - rr
            qx = (xs + (rr % 2) * f32(tw / 2)) * f32(1 / tw)
            qx = qx - np.floor(qx)
            scallop = fr < 0.2 + 0.6 * (2 * qx - 1) * (2 * qx - 1)
            rv = np.where(scallop, f32(0.75), f32(1.0)) * (1 + 0.08 * grain)
            rv = rv * np.where(xs < f32(xc), f32(1.05), f32(0.82))
            self.paint(BUILDING, r0, c0, ra, roof * rv[..., None])
        else:
            parapet = ly < f32(max(1.5, 2.5 * k))
            col = np.where(parapet[..., None], col * f32(0.7), col)
        self.paint(BUILDING, r0, c0, body, col)

    # -------------------------------------------------------------------- animals
    def animal(self, xc, base, L):
        rng = self.rng
        kind = int(rng.integers(3))                        # sheep, cow, horse
        face = 1.0 if rng.random() < 0.5 else -1.0
        legh = L * (0.26, 0.34, 0.46)[kind]
        bh = L * (0.46, 0.40, 0.34)[kind]
        rx, ry = L / 2, bh / 2
        cy = base - legh - ry * 0.9
        hx = xc + face * rx * (1.0, 1.05, 1.05)[kind]
        hy = cy - ry * (0.35, 0.3, 1.6)[kind]
        b = self.box(xc - L * 0.9, xc + L * 0.9, hy - L * 0.2, base + 1)
        if b is None:
            return
        r0, c0, ys, xs = b
        h, w = ys.shape[0], xs.shape[1]
        body = _ellipse(xs, ys, xc, cy, rx, ry)
        if kind == 2:
            head = _capsule(xs, ys, hx - face * L * 0.04, hy - L * 0.03, hx + face * L * 0.12, hy + L * 0.14, L * 0.065)
            neck = _capsule(xs, ys, xc + face * rx * 0.6, cy - ry * 0.2, hx, hy, L * 0.09)
        elif kind == 1:
            head = _capsule(xs, ys, hx - face * L * 0.02, hy - L * 0.03, hx + face * L * 0.1, hy + L * 0.07, L * 0.075)
            neck = _capsule(xs, ys, xc + face * rx * 0.6, cy - ry * 0.2, hx, hy, L * 0.09)
        else:
            head = _ellipse(xs, ys, hx, hy, L * 0.13, L * 0.11)
            neck = _capsule(xs, ys, xc + face * rx * 0.7, cy - ry * 0.1, hx, hy, L * 0.08)
        lw = L * (0.04, 0.05, 0.045)[kind]
        legs = None
        for fx in (0.62, 0.4, -0.42, -0.64):
            lx = xc + face * rx * fx
            d = _capsule(xs, ys, lx, cy, lx + rng.uniform(-0.05, 0.05) * L, base - lw, lw)
            legs = d if legs is None else np.minimum(legs, d)
        tail = _capsule(xs, ys, xc - face * rx * 0.92, cy - ry * 0.3, xc - face * rx * 1.08,
                        cy + ry * (0.5, 1.1, 1.3)[kind], L * (0.03, 0.02, 0.035)[kind])
        sd = np.minimum(np.minimum(body, neck), np.minimum(np.minimum(head, legs), tail))
        grain = rng.random((h, w), dtype=f32) - f32(0.5)
        shade = 1 - 0.3 * np.clip((ys - f32(cy)) * f32(1 / ry), 0, 1)
        if kind == 0:                                     # sheep: wool curls, dark face and legs
            wool = _jit(rng, (0.88, 0.85, 0.76), 0.05)
            p = self.tex(rng.uniform(1.6, 2.6))
            curl = np.abs(_noise2(rng, h, w, h / p, w / p))
            col = wool * ((0.72 + 0.4 * curl + 0.06 * grain) * shade)[..., None]
            dark = _jit(rng, (0.18, 0.15, 0.13), 0.05) if rng.random() < 0.7 else wool * f32(0.9)
            part = np.minimum(head, legs) < np.minimum(body, neck)
            col = np.where(part[..., None], dark * (1 + 0.1 * grain)[..., None], col)
        elif kind == 1:                                   # cow: patches
            c1 = _jit(rng, (0.92, 0.90, 0.86) if rng.random() < 0.6 else (0.55, 0.35, 0.2), 0.05)
            c2 = _jit(rng, (0.10, 0.09, 0.08) if rng.random() < 0.6 else (0.45, 0.25, 0.12), 0.04)
            m = _noise2(rng, h, w, 1 + h / (0.25 * L), 1 + w / (0.25 * L))
            m = m + 0.25 * _noise2(rng, h, w, h / self.tex(2), w / self.tex(2))
            col = np.where((m > f32(rng.uniform(-0.1, 0.25)))[..., None], c2, c1)
            col = col * ((0.9 + 0.12 * grain) * shade)[..., None]
        else:                                             # horse: fine hair, dark mane and tail
            coat = _jit(rng, [(0.50, 0.28, 0.15), (0.33, 0.20, 0.10), (0.10, 0.08, 0.07), (0.72, 0.71, 0.68),
                              (0.78, 0.62, 0.40)][int(rng.integers(5))], 0.04)
            hair = _noise2(rng, h, w, h / self.tex(1.5), w / self.tex(6))
            col = coat * ((0.86 + 0.2 * hair + 0.05 * grain) * shade)[..., None]
            crest = _capsule(xs, ys, xc + face * rx * 0.55, cy - ry * 0.9, hx, hy - L * 0.07, L * 0.04)
            mane = (tail < 0) | (crest < 0)
            col = np.where(mane[..., None], coat * f32(0.35), col)
        self.paint(ANIMAL, r0, c0, _cov(sd), col)

    # ------------------------------------------------------------------- the scene
    def render(self) -> tuple[np.ndarray, np.ndarray]:
        rng, S, H = self.rng, self.S, self.H
        # appearance shared by the scene's objects
        self.leaf_colour = np.asarray(FOLIAGE[int(rng.choice(len(FOLIAGE), p=FOLIAGE_P))], f32)
        self.conifer_p = float(rng.choice([0.0, 0.3, 0.8]))
        self.grass_base = _jit(rng, GRASSES[int(rng.integers(len(GRASSES)))], 0.05)
        self.blade_amp = rng.uniform(0.12, 0.32)
        self.earth_kind = int(rng.integers(len(EARTHS)))
        self.walls = rng.choice(len(WALLS), 2)
        self.wall_styles = rng.choice(len(WALL_STYLES), 2)
        self.roof_kind = int(rng.integers(len(ROOFS)))
        self.glass_kind = int(rng.integers(len(GLASS)))
        self.lit_thr = rng.uniform(0.2, 1.2)
        self.gable_p = rng.uniform(0.3, 0.95)
        # layout
        far_m, near_m = rng.random() < 0.55, rng.random() < 0.32
        water = rng.random() < 0.5
        sea = water and rng.random() < 0.35
        x = self.x
        if water:
            if sea:
                level = H + rng.uniform(0.55, 1.4) * (S - H)
            else:
                level = H + rng.uniform(0.15, 0.65) * (S - H)
            self.shore = (f32(level) + f32(rng.uniform(0.02, 0.1) * (S - H)) * _fbm1(rng, S, 2, 2)
                          + f32(self.tex(1)) * _noise1(rng, S, S / self.tex(3)))
            self.shore = np.maximum(self.shore, f32(H + 2))
            self.gtop = self.shore
        else:
            self.gtop = np.full(S, H, f32)
        self.grass_ground = rng.random() < (0.45 if sea else 0.78)
        if sea and not self.grass_ground:
            self.earth_kind = int(rng.choice([0, 5]))                         # a beach
        treeline = rng.random() < 0.4
        far_town = rng.random() < 0.22

        self.sky()
        if far_m:
            self.mountains(True)
        if near_m:
            self.mountains(False)
        if far_town:
            tower = rng.random() < 0.5
            for _ in range(int(rng.integers(2, 8))):
                wd = rng.uniform(0.03, 0.1) * S
                ht = rng.uniform(0.03, 0.12) * S * (rng.uniform(1.5, 3.5) if tower else 1)
                self.building(rng.uniform(0, 1) * S, H + rng.uniform(0.5, 2.5) * self.k, wd, ht, far=True,
                              tower=tower)
        if treeline:
            self.treeline()
        self.ground()
        if water:
            self.water()

        # things standing on the ground, far to near
        objects = []
        counts = {"tree": int(rng.integers(1, 7)) if rng.random() < 0.72 else 0,
                  "bush": int(rng.integers(0, 4)),
                  "building": int(rng.integers(1, 4)) if rng.random() < 0.33 else 0,
                  "animal": int(rng.integers(1, 4)) if rng.random() < 0.33 else 0}
        for kind, n in counts.items():
            for _ in range(n):
                xc = rng.uniform(-0.05, 1.05) * S
                g = float(self.gtop[min(S - 1, max(0, int(xc)))])
                lo, hi = g + 2 * self.k + 1, S * (1.08 if kind in ("tree", "building") else 0.98)
                if lo >= hi:
                    continue
                base = rng.uniform(lo, hi)
                objects.append((base, kind, xc, rng.uniform(0.7, 1.3)))
        objects.sort(key=lambda o: o[0])
        for base, kind, xc, u in objects:
            dpt = (base - H) / (S - H)
            if kind == "tree":
                self.tree(xc, base, S * (0.02 + 0.11 * dpt) * u)
            elif kind == "bush":
                self.bush(xc, base, S * (0.012 + 0.05 * dpt) * u)
            elif kind == "building":
                wd = S * (0.06 + 0.28 * dpt) * u
                self.building(xc, base, wd, wd * rng.uniform(0.6, 1.5))
            else:
                self.animal(xc, base, S * (0.04 + 0.18 * dpt) * u)

        # haze near the horizon and the scene's light
        haze = rng.uniform(0.0, 0.3)
        span = 0.22 * S
        r0, r1 = max(0, int(H - span)), min(S, int(H + span) + 1)
        ys = np.arange(r0, r1, dtype=f32) + f32(0.5)
        hz = np.clip(1 - np.abs(ys - f32(H)) * f32(1 / span), 0, 1)
        hz = (hz * hz * f32(haze))[:, None, None]
        self.rgb[r0:r1] += (self.sky_hor - self.rgb[r0:r1]) * hz
        gain = _jit(rng, (1.0, 1.0, 1.0), 0.04) * f32(rng.uniform(0.88, 1.08))
        rgb = np.clip(self.rgb * gain * f32(255) + f32(0.5), 0, 255).astype(np.uint8)
        return rgb, self.label


def render_scene(seed: int, index: int, size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Scene ``index`` of the SynthScenes set ``seed`` at ``size`` px: ``(rgb uint8 [size, size, 3],
    labels uint8 [size, size])`` with labels of :data:`deepsee.labels.OUTDOOR` (0..7)."""
    if size < 32:
        raise ValueError(f"SynthScenes size must be >= 32, got {size}")
    return _Scene(seed, index, size).render()
