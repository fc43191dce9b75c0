"""Building blocks of the supplementary figures: array conversion, image panels, insets, legends.

Every figure function in :mod:`deepsee.viz.figures` and :mod:`deepsee.viz.plots` is assembled from
these pieces, so all figures share one look: panels without ticks, column titles and row labels at
8 pt or more (at the saved size), class legends below the grid and a caption-like suptitle.

Figures are plain :class:`matplotlib.figure.Figure` objects (not pyplot figures): they never pile up
in pyplot's global registry, a notebook shows them once when returned, and
:func:`deepsee.runs.save_figure` writes them.
"""
from __future__ import annotations

import textwrap

import numpy as np
from matplotlib.figure import Figure

from .palette import colorize, legend_handles, to_uint8_image

FONT = 8            # smallest font size (pt) of any text, at the saved size
TITLE_FONT = 9      # suptitle / caption
PANEL_IN = 1.2      # edge of one image panel (inches)
ORANGE = "#e66100"  # our final models (Fig. 18), highlighted columns
GREEN = "#1a9850"   # ground truth (Fig. 18)
YELLOW = "#ffd400"  # frame of the low-resolution inset (Figs. 14/15)
MINUS = "\u2212"


# --------------------------------------------------------------------------- arrays

def _numpy(x) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def as_rgb(x) -> np.ndarray:
    """Image -> uint8 [H, W, 3].

    Accepts a torch tensor or numpy array ``[3, H, W]`` / ``[1, 3, H, W]`` / ``[H, W, 3]``: floats are
    read as values in [-1, 1], uint8 is taken as is.
    """
    a = _numpy(x)
    if a.ndim == 4 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 3 or 3 not in (a.shape[0], a.shape[-1]):
        raise ValueError(f"expected an image [3, H, W] or [H, W, 3], got shape {a.shape}")
    if a.dtype == np.uint8:
        return np.ascontiguousarray(a.transpose(1, 2, 0) if a.shape[-1] != 3 else a)
    return to_uint8_image(a.astype(np.float32))


def as_mask(m) -> np.ndarray:
    """Label map -> int64 [H, W]; accepts ``[H, W]``, ``[1, H, W]`` or one-hot/soft ``[N, H, W]`` (N > 1)."""
    a = _numpy(m)
    if a.ndim == 3 and a.shape[0] > 1 and a.dtype.kind in "fb":
        a = a.argmax(0)
    if a.ndim == 3 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 2:
        raise ValueError(f"expected a label map [H, W], got shape {a.shape}")
    return a.astype(np.int64)


def resize_nearest(a: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of ``[H, W, ...]`` to ``size = (h, w)`` (pixels stay visible blocks)."""
    h, w = size
    H, W = a.shape[:2]
    if (H, W) == (h, w):
        return a
    rows = np.arange(h) * H // h
    cols = np.arange(w) * W // w
    return a[rows][:, cols]


def lr_display(lr, size: tuple[int, int]) -> np.ndarray:
    """A low-resolution image blown up with nearest neighbour to ``size`` for display."""
    return resize_nearest(as_rgb(lr), size)


def size_str(a: np.ndarray) -> str:
    return f"{a.shape[0]}x{a.shape[1]}"


def lr_title(lr) -> str:
    return f"LR ({size_str(as_rgb(lr))})"


def overlay(image: np.ndarray, mask, alpha: float = 0.5, labels=None) -> np.ndarray:
    """Colour-coded ``mask`` blended over ``image`` (uint8 [H, W, 3]); the mask is resized to the image."""
    colours = resize_nearest(colorize(as_mask(mask), labels), image.shape[:2]).astype(np.float32)
    out = (1.0 - alpha) * image.astype(np.float32) + alpha * colours
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def classes_of(masks) -> list[int]:
    """Sorted class indices present in any of ``masks``."""
    present: set[int] = set()
    for m in masks:
        present.update(int(c) for c in np.unique(as_mask(m)))
    return sorted(present)


def _as_list(xs) -> list:
    """A batch tensor ``[B, ...]`` or any sequence -> list of its items."""
    return list(xs) if xs is not None else []


# --------------------------------------------------------------------------- panels

def blank(ax) -> None:
    """No ticks, no frame (the y label stays usable as a row label)."""
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_visible(False)


def frame(ax, color: str, width: float = 2.5) -> None:
    """Coloured frame around a panel (highlighted column, inset border)."""
    for s in ax.spines.values():
        s.set_visible(True)
        s.set_edgecolor(color)
        s.set_linewidth(width)


def show(ax, img: np.ndarray, *, pixels: bool = False) -> None:
    """Draw an RGB uint8 image; ``pixels=True`` for masks and blown-up LR images (no smoothing)."""
    ax.imshow(img, interpolation="nearest" if pixels else "antialiased")
    blank(ax)


def col_title(ax, text: str, *, color: str | None = None, bold: bool = False) -> None:
    ax.set_title(text, fontsize=FONT, color=color or "black", fontweight="bold" if bold else "normal",
                 pad=3)


def row_label(ax, text: str) -> None:
    ax.set_ylabel(text, fontsize=FONT, labelpad=3)


def inset(ax, img: np.ndarray, *, corner: str = "lower right", frac: float = 0.3,
          color: str = YELLOW, pixels: bool = True):
    """Small image in a corner of ``ax`` (fraction ``frac`` of the panel edge), with a coloured border."""
    pad = 0.015
    x0 = 1.0 - frac - pad if "right" in corner else pad
    y0 = pad if "lower" in corner else 1.0 - frac - pad
    ia = ax.inset_axes([x0, y0, frac, frac])
    show(ia, img, pixels=pixels)
    frame(ia, color, width=1.5)
    return ia


def badge(ax, text: str, *, corner: str = "upper right") -> None:
    """White text on a dark box in a corner of an image panel (scores)."""
    x, ha = (0.97, "right") if "right" in corner else (0.03, "left")
    y, va = (0.97, "top") if "upper" in corner else (0.03, "bottom")
    ax.text(x, y, text, transform=ax.transAxes, ha=ha, va=va, color="white", fontsize=FONT,
            bbox=dict(boxstyle="round,pad=0.2", facecolor="black", alpha=0.7, edgecolor="none"))


def remove_unused(axes) -> None:
    """Remove grid cells that received no image (ragged rows)."""
    for ax in np.ravel(axes):
        if not ax.images and not ax.collections and not ax.lines:
            ax.remove()


# --------------------------------------------------------------------------- figure

def new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    fig.get_layout_engine().set(w_pad=0.02, h_pad=0.02, wspace=0.02, hspace=0.02)
    return fig


def image_grid(n_rows: int, n_cols: int, *, panel: float = PANEL_IN, extra_w: float = 0.3,
               extra_h: float = 0.0, **gridspec_kw):
    """A figure with an ``n_rows x n_cols`` grid of blank square panels of edge ``panel`` inches.

    ``extra_w`` / ``extra_h`` leave room for row labels / titles, legend and caption.
    """
    fig = new_figure(n_cols * panel + extra_w, n_rows * panel + extra_h)
    axes = fig.subplots(n_rows, n_cols, squeeze=False, gridspec_kw=gridspec_kw or None)
    for ax in axes.flat:
        blank(ax)
    return fig, axes


def class_legend(fig: Figure, classes, labels=None) -> None:
    """Colour legend of ``classes`` (indices of the label set ``labels``; faces by default) below the figure."""
    classes = [int(c) for c in classes]
    if not classes:
        return
    per_row = max(1, int(fig.get_figwidth() / 1.1))
    n_rows = -(-len(classes) // per_row)
    ncols = -(-len(classes) // n_rows)  # balance the rows
    fig.legend(handles=legend_handles(classes, labels), loc="outside lower center", ncols=ncols,
               fontsize=FONT, frameon=False, handlelength=1.2, handleheight=1.0,
               columnspacing=0.9, handletextpad=0.4, borderaxespad=0.2)


def caption(fig: Figure, title: str) -> None:
    """Caption-like suptitle stating the conditions (dataset, factor, profile, metric), wrapped to the width."""
    if not title:
        return
    chars = max(30, int(fig.get_figwidth() * 72 / (0.55 * TITLE_FONT)))
    fig.suptitle("\n".join(textwrap.wrap(title, chars)), fontsize=TITLE_FONT)


def fit_to_panels(fig: Figure, iterations: int = 5) -> None:
    """Resize the figure height so that image panels fill their grid cells (no wide gaps).

    Constrained layout keeps the figure size and shrinks each image inside a cell that is wider (or
    taller) than the image; the gaps this leaves depend on the legend and caption height, so the
    height is solved from measured layouts (cell height is close to linear in the figure height:
    secant steps, each one layout pass without rendering).
    """
    def fill(height: float) -> float | None:
        fig.set_figheight(height)
        fig.draw_without_rendering()
        ratios = []
        for ax in image_axes(fig):
            cell = ax.get_position(original=True)
            img_h, img_w = ax.images[0].get_array().shape[:2]
            needed = cell.width * fig.get_figwidth() * img_h / img_w
            ratios.append(cell.height * fig.get_figheight() / needed)
        return float(np.median(ratios)) if ratios else None

    h0 = fig.get_figheight()
    f0 = fill(h0)
    if f0 is None or abs(f0 - 1.0) < 0.01:
        return
    h1 = h0 / f0
    for _ in range(iterations):
        f1 = fill(h1)
        if abs(f1 - 1.0) < 0.01 or f1 == f0:
            return
        h0, f0, h1 = h1, f1, max(0.5, h1 + (1.0 - f1) * (h1 - h0) / (f1 - f0))


def finish(fig: Figure, title: str = "", classes=None, labels=None) -> Figure:
    """Common end of every image figure: class legend (if ``classes``, of the label set ``labels``), caption,
    height fitted to panels."""
    if classes is not None:
        class_legend(fig, classes, labels)
    caption(fig, title)
    fit_to_panels(fig)
    return fig


def image_axes(fig: Figure) -> list:
    """The figure's image panels (axes holding an image; insets excluded)."""
    return [ax for ax in fig.axes if ax.images]
