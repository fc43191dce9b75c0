"""Image figures of the supplementary material (Figs. 2-5, 8-18), drawn from arrays.

Each function takes images (torch tensors / numpy ``[3, H, W]`` in [-1, 1], or uint8 ``[H, W, 3]``)
and label masks (``[H, W]`` ints 0..18 or one-hot ``[19, H, W]``) and returns a matplotlib Figure;
nothing here runs a model. ``title`` is a caption-like suptitle stating the conditions
(dataset, factor, profile, metric substitutes). Save with :func:`deepsee.runs.save_figure`.

Score plots (Figs. 6/7, best-of-n curves, metric bars) are in :mod:`deepsee.viz.plots`.
"""
from __future__ import annotations

import textwrap

import matplotlib
import numpy as np

from ..config import ABLATION_VARIANTS as CONFIG_ABLATION, MAIN_VARIANTS, VARIANT_LABELS
from ..labels import of
from .palette import colorize
from .panels import (GREEN, MINUS, ORANGE, YELLOW, _as_list, as_mask, as_rgb, badge,
                     classes_of, col_title, finish, frame, image_grid, inset,
                     lr_display, lr_title, new_figure, overlay, remove_unused, resize_nearest,
                     row_label, show, size_str)

# Fig. 18 column order (the variants' figure labels); the final models are highlighted.
ABLATION_VARIANTS: tuple[str, ...] = tuple(VARIANT_LABELS[v] for v in CONFIG_ABLATION + MAIN_VARIANTS)
FINAL_MODELS: tuple[str, ...] = tuple(VARIANT_LABELS[v] for v in MAIN_VARIANTS)


def _check_rows(rows, name: str) -> list[dict]:
    rows = list(rows)
    if not rows:
        raise ValueError(f"{name}: no rows to draw")
    return rows


# --------------------------------------------------------------------------- 00 data

def sample_grid_figure(images, masks, n_cols: int = 8, names=None, title: str = "", labels=None):
    """Dataset samples: a row of images over a row of their colour-coded masks (wrapped every ``n_cols``).

    Args:
        images: ``[B, 3, H, W]`` tensor or a list of images.
        masks: ``[B, H, W]`` label maps (same count).
        n_cols: samples per row pair.
        names: optional per-sample column titles.
    """
    imgs = [as_rgb(x) for x in _as_list(images)]
    ms = [as_mask(m) for m in _as_list(masks)]
    if not imgs or len(imgs) != len(ms):
        raise ValueError(f"need as many masks as images (>0), got {len(imgs)} images, {len(ms)} masks")
    n_cols = max(1, min(n_cols, len(imgs)))
    n_blocks = -(-len(imgs) // n_cols)
    fig, axes = image_grid(2 * n_blocks, n_cols, extra_h=0.9 + 0.2 * (names is not None) * n_blocks)
    for i, (img, m) in enumerate(zip(imgs, ms)):
        b, c = divmod(i, n_cols)
        show(axes[2 * b, c], img)
        show(axes[2 * b + 1, c], colorize(m, labels), pixels=True)
        if names is not None:
            col_title(axes[2 * b, c], str(names[i]))
    for b in range(n_blocks):
        row_label(axes[2 * b, 0], f"image ({size_str(imgs[0])})")
        row_label(axes[2 * b + 1, 0], "mask")
    remove_unused(axes)
    return finish(fig, title, classes_of(ms), labels=labels)


# --------------------------------------------------------------------------- Fig. 2

def segmentation_figure(lr, pred, hr, gt, *, overlay_gt: bool = True, alpha: float = 0.5,
                        names=None, title: str = "", labels=None):
    """Fig. 2: masks predicted from LR images. One row per sample; columns LR (nearest blow-up),
    predicted mask, HR image, ground-truth mask, prediction over HR (``alpha``) and, with
    ``overlay_gt``, ground truth over HR. The pixel accuracy of each prediction is written on it.
    """
    lrs, preds, hrs, gts = (_as_list(x) for x in (lr, pred, hr, gt))
    if not lrs or not len(lrs) == len(preds) == len(hrs) == len(gts):
        raise ValueError("lr, pred, hr and gt need the same (non-zero) number of samples, got "
                         f"{len(lrs)}, {len(preds)}, {len(hrs)}, {len(gts)}")
    preds = [as_mask(m) for m in preds]
    gts = [as_mask(m) for m in gts]
    hrs = [as_rgb(x) for x in hrs]
    headers = [lr_title(lrs[0]), f"predicted mask\n({size_str(preds[0])})", "HR image",
               "ground-truth\nmask", "prediction\nover HR"] + (["ground truth\nover HR"] if overlay_gt else [])
    fig, axes = image_grid(len(lrs), len(headers), extra_w=0.3 * (names is not None), extra_h=0.9)
    for i in range(len(lrs)):
        h = hrs[i]
        p = resize_nearest(preds[i], gts[i].shape)
        panels = [lr_display(lrs[i], h.shape[:2]), colorize(preds[i], labels), h, colorize(gts[i], labels),
                  overlay(h, preds[i], alpha, labels)] + ([overlay(h, gts[i], alpha, labels)] if overlay_gt else [])
        for j, img in enumerate(panels):
            show(axes[i, j], img, pixels=j in (0, 1, 3))
        badge(axes[i, 1], f"acc {float((p == gts[i]).mean()):.2f}")
        if names is not None:
            row_label(axes[i, 0], str(names[i]))
    for j, text in enumerate(headers):
        col_title(axes[0, j], text)
    return finish(fig, title, classes_of(preds + gts), labels=labels)


# --------------------------------------------------------------------------- Figs. 3/4

def delta_headers(deltas) -> list[str]:
    """Column headers of a style walk: multiples of the smallest non-zero step, with the value."""
    steps = [abs(d) for d in deltas if d != 0]
    step = min(steps) if steps else 0.0
    out = []
    for d in deltas:
        if d == 0:
            out.append("predicted style")
            continue
        k = d / step
        sign = "+" if d > 0 else MINUS
        if abs(k - round(k)) < 1e-6:
            coeff = "" if abs(round(k)) == 1 else str(abs(round(k)))
            out.append(f"{sign}{coeff}\u03b4 ({f'{d:+.2f}'.replace('-', MINUS)})")
        else:
            out.append(f"{sign}{abs(d):.2f}")
    return out


def change_map(a, b, gain: float) -> np.ndarray:
    """``|b - a|`` (mean over RGB, [0, 1] units) times ``gain``, clipped to [0, 1], as an RGB heat map
    (black: no change, yellow: a change of ``1 / gain`` or more)."""
    d = np.abs(as_rgb(b).astype(np.float32) - as_rgb(a).astype(np.float32)).mean(-1) / 255.0
    rgb = matplotlib.colormaps["inferno"](np.clip(d * gain, 0.0, 1.0))[..., :3]
    return (rgb * 255).round().astype(np.uint8)


def style_walk_figure(rows, deltas=(-0.3, -0.15, 0.0, 0.15, 0.3), title: str = "", diff_gain: float = 0.0, labels=None):
    """Figs. 3/4: walking the style space. Per row the LR input, then one solution per delta added to
    the predicted style matrix; headers "-2δ", "-δ", "predicted style", "+δ", "+2δ" with values;
    the unmodified (delta 0) column is framed in orange.

    Args:
        rows: dicts ``lr=``, ``images=[one per delta]``, optional ``label=`` (row label).
        deltas: the offsets added to the style matrix, one per image.
        diff_gain: > 0 adds a last column, the change between the walk's two ends
            (:func:`change_map`, amplified ``diff_gain`` times), so small changes can be seen.
    """
    rows = _check_rows(rows, "style_walk_figure")
    deltas = list(deltas)
    for r in rows:
        if len(r["images"]) != len(deltas):
            raise ValueError(f"each row needs {len(deltas)} images (one per delta), got {len(r['images'])}")
    headers = [lr_title(rows[0]["lr"])] + delta_headers(deltas)
    if diff_gain > 0:
        headers.append(f"|first - last| x{diff_gain:g}")
    fig, axes = image_grid(len(rows), len(headers), extra_h=0.6)
    for i, r in enumerate(rows):
        outs = [as_rgb(x) for x in r["images"]]
        show(axes[i, 0], lr_display(r["lr"], outs[0].shape[:2]), pixels=True)
        for j, img in enumerate(outs):
            show(axes[i, j + 1], img)
            if deltas[j] == 0:
                frame(axes[i, j + 1], ORANGE)
        if diff_gain > 0:
            show(axes[i, len(outs) + 1], change_map(outs[0], outs[-1], diff_gain))
        if r.get("label"):
            row_label(axes[i, 0], str(r["label"]))
    for j, text in enumerate(headers):
        centre = 0 < j <= len(deltas) and deltas[j - 1] == 0
        col_title(axes[0, j], text, color=ORANGE if centre else None, bold=centre)
    return finish(fig, title)


# --------------------------------------------------------------------------- Fig. 10

def _highlight(mask: np.ndarray, keep: np.ndarray, labels=None) -> np.ndarray:
    """Colour-coded mask with everything outside ``keep`` turned light grey."""
    rgb = colorize(mask, labels).astype(np.float32)
    grey = 0.3 * rgb.mean(-1, keepdims=True) + 0.7 * 235.0
    return np.where(keep[..., None], rgb, grey).astype(np.uint8)


def region_walk_figure(rows, title: str = "", diff_gain: float = 0.0, headers=None, labels=None):
    """Fig. 10: disentangled (per-region) style changes. Per row the mask with the manipulated region
    in colour (all other classes greyed), then the variants.

    Args:
        rows: dicts ``region=`` (name, row label), ``mask=``, ``images=[...]``, optional
            ``highlight=`` (bool ``[H, W]``; default: ``region_pixels(mask, region)``).
        diff_gain: > 0 adds a last column, the change between the first and the last variant
            (:func:`change_map`, amplified ``diff_gain`` times): where the edit acts.
        headers: column titles of the variants (default "variant 1", ...).
    """
    rows = _check_rows(rows, "region_walk_figure")
    n_var = max(len(r["images"]) for r in rows)
    fig, axes = image_grid(len(rows), 1 + n_var + (diff_gain > 0), extra_h=0.9)
    shown: set[int] = set()
    for i, r in enumerate(rows):
        m = as_mask(r["mask"])
        keep = r.get("highlight")
        if keep is None:
            keep = of(labels).region_pixels(m, r["region"])
        keep = np.asarray(keep.detach().cpu() if hasattr(keep, "detach") else keep, dtype=bool)
        if keep.shape != m.shape:
            raise ValueError(f"highlight shape {keep.shape} differs from mask shape {m.shape}")
        shown.update(int(c) for c in np.unique(m[keep]))
        show(axes[i, 0], _highlight(m, keep, labels), pixels=True)
        row_label(axes[i, 0], str(r["region"]))
        for j, x in enumerate(r["images"]):
            show(axes[i, j + 1], as_rgb(x))
        if diff_gain > 0:
            show(axes[i, n_var + 1], change_map(r["images"][0], r["images"][-1], diff_gain))
    col_title(axes[0, 0], "region")
    heads = list(headers) if headers is not None else [f"variant {j + 1}" for j in range(n_var)]
    if len(heads) != n_var:
        raise ValueError(f"headers: {len(heads)} titles for {n_var} variants")
    for j in range(n_var):
        col_title(axes[0, j + 1], heads[j])
    if diff_gain > 0:
        col_title(axes[0, n_var + 1], f"|first - last| x{diff_gain:g}")
    remove_unused(axes)
    return finish(fig, title, sorted(shown), labels=labels)


# --------------------------------------------------------------------------- Fig. 5

def best_of_figure(rows, metric_name: str = "LPIPS", lower_is_better: bool = True, title: str = "", labels=None):
    """Fig. 5: best of n random solutions. Columns LR, best of 10 / 100 / 1,000 (by ``metric_name``,
    score written top right), ground truth.

    Args:
        rows: dicts ``lr=``, ``gt=``, ``picks={n: (image, score)}``, optional ``label=``.
    """
    rows = _check_rows(rows, "best_of_figure")
    ns = sorted(rows[0]["picks"])
    for r in rows:
        if sorted(r["picks"]) != ns:
            raise ValueError(f"every row needs picks for the same n, got {sorted(r['picks'])} and {ns}")
    arrow = "\u2193" if lower_is_better else "\u2191"
    metric = "\n".join(textwrap.wrap(f"({metric_name} {arrow})", 18))  # long names (substitutes) wrap
    headers = [lr_title(rows[0]["lr"])] + [f"best of {n:,}\n{metric}" for n in ns] + ["ground truth"]
    fig, axes = image_grid(len(rows), len(headers), extra_h=0.5 + 0.2 * metric.count("\n"))
    for i, r in enumerate(rows):
        gt = as_rgb(r["gt"])
        show(axes[i, 0], lr_display(r["lr"], gt.shape[:2]), pixels=True)
        for j, n in enumerate(ns):
            img, score = r["picks"][n]
            show(axes[i, j + 1], as_rgb(img))
            badge(axes[i, j + 1], f"{float(score):.3f}")
        show(axes[i, -1], gt)
        if r.get("label"):
            row_label(axes[i, 0], str(r["label"]))
    for j, text in enumerate(headers):
        col_title(axes[0, j], text)
    return finish(fig, title)


# --------------------------------------------------------------------------- Figs. 8/9/16

def manipulation_figure(rows, title: str = "", labels=None):
    """Figs. 8/9/16: semantic mask edits. For each example a row of (edited) masks above the row of
    outputs, each column captioned with its edit; with ``lr=`` the LR input is inset in the first output.

    Args:
        rows: dicts ``label=``, ``masks=[...]``, ``images=[...]`` (same count), optional
            ``captions=[...]`` (default "original", "edit 1", ...) and ``lr=``.
    """
    rows = _check_rows(rows, "manipulation_figure")
    n_cols = max(len(r["images"]) for r in rows)
    # per example a mask row and an output row, then a thin spacer row that separates the examples
    ratios = ([1.0, 1.0, 0.12] * len(rows))[:-1]
    fig, grid = image_grid(len(ratios), n_cols, extra_w=0.2, extra_h=1.0, height_ratios=ratios)
    for spacer in grid[2::3].flat:
        spacer.remove()
    axes = np.concatenate([grid[0::3], grid[1::3]], axis=1).reshape(2 * len(rows), n_cols)
    masks = []
    for i, r in enumerate(rows):
        if len(r["masks"]) != len(r["images"]):
            raise ValueError(f"row {i}: {len(r['masks'])} masks but {len(r['images'])} images")
        caps = list(r.get("captions") or ["original"] + [f"edit {k}" for k in range(1, len(r["images"]))])
        if len(caps) != len(r["images"]):
            raise ValueError(f"row {i}: {len(caps)} captions for {len(r['images'])} images")
        for j, (m, x) in enumerate(zip(r["masks"], r["images"])):
            m = as_mask(m)
            masks.append(m)
            show(axes[2 * i, j], colorize(m, labels), pixels=True)
            col_title(axes[2 * i, j], str(caps[j]))
            img = as_rgb(x)
            show(axes[2 * i + 1, j], img)
            if j == 0 and r.get("lr") is not None:
                inset(axes[2 * i + 1, j], lr_display(r["lr"], img.shape[:2]), frac=0.3)
        label = str(r.get("label") or f"example {i + 1}")
        row_label(axes[2 * i, 0], f"{label}\nmask")
        row_label(axes[2 * i + 1, 0], "output")
    remove_unused(axes)
    return finish(fig, title, classes_of(masks), labels=labels)


# --------------------------------------------------------------------------- Figs. 14/15/17

def extreme_sr_figure(items, n_per_row: int = 2, title: str = "", labels=None):
    """Figs. 14/15/17: extreme SR at full size. Per item a large output with the LR input inset
    bottom right (yellow border); beside it the predicted mask over the ground truth (or, without
    ``gt``, over the LR input blown up).

    Args:
        items: dicts ``lr=``, ``mask=``, ``output=``, optional ``gt=`` and ``label=``.
        n_per_row: items side by side.
    """
    items = _check_rows(items, "extreme_sr_figure")
    n_per_row = max(1, min(n_per_row, len(items)))
    n_block_rows = -(-len(items) // n_per_row)
    unit = 1.45
    fig = new_figure(n_per_row * 3 * unit + 0.2, n_block_rows * 2 * unit + 1.0)
    gs = fig.add_gridspec(n_block_rows * 2, n_per_row * 3)
    masks = []
    for k, it in enumerate(items):
        b, c = divmod(k, n_per_row)
        r0, c0 = 2 * b, 3 * c
        ax_out = fig.add_subplot(gs[r0:r0 + 2, c0:c0 + 2])
        ax_mask = fig.add_subplot(gs[r0, c0 + 2])
        ax_side = fig.add_subplot(gs[r0 + 1, c0 + 2])
        out = as_rgb(it["output"])
        lr = as_rgb(it["lr"])
        show(ax_out, out)
        inset(ax_out, resize_nearest(lr, out.shape[:2]), frac=0.25)
        factor = out.shape[0] // lr.shape[0]
        col_title(ax_out, f"{it.get('label') or 'output'} ({factor}x, {size_str(lr)} \u2192 {size_str(out)})")
        m = as_mask(it["mask"])
        masks.append(m)
        show(ax_mask, colorize(m, labels), pixels=True)
        badge(ax_mask, "predicted mask", corner="upper left")
        if it.get("gt") is not None:
            show(ax_side, as_rgb(it["gt"]))
            badge(ax_side, "ground truth", corner="upper left")
        else:
            show(ax_side, resize_nearest(lr, out.shape[:2]), pixels=True)
            badge(ax_side, lr_title(lr), corner="upper left")
            frame(ax_side, YELLOW, width=1.5)
    return finish(fig, title, classes_of(masks), labels=labels)


# --------------------------------------------------------------------------- Fig. 19

def scenes_figure(rows, title: str = "", labels="outdoor", diff_gain: float = 0.0):
    """Fig. 19: DeepSEE on outdoor scenes. Per row the LR input (blown up, yellow frame), the predicted mask,
    the output at the model's test-time style, the outputs at sampled styles, where the first two samples differ
    (``diff_gain`` > 0: ``|sample 1 - sample 2|`` times the gain, a heat map) and the ground truth.

    Args:
        rows: dicts ``lr=``, ``mask=``, ``output=``, ``samples=[...]``, ``gt=``, optional ``name=``.
        labels: the label set of the masks (the outdoor classes of SFTGAN by default).
        diff_gain: gain of the difference column (0: none; needs two samples per row).
    """
    rows = _check_rows(rows, "scenes_figure")
    n_samples = max(len(r["samples"]) for r in rows)
    if diff_gain < 0 or (diff_gain > 0 and min(len(r["samples"]) for r in rows) < 2):
        raise ValueError(f"scenes_figure: diff_gain={diff_gain} needs a gain >= 0 and two samples in every row")
    diff = diff_gain > 0
    fig, axes = image_grid(len(rows), 4 + n_samples + diff, extra_h=0.9)
    masks = []
    for i, r in enumerate(rows):
        out = as_rgb(r["output"])
        lr = as_rgb(r["lr"])
        m = as_mask(r["mask"])
        masks.append(m)
        panels = ([(lr_display(r["lr"], out.shape[:2]), lr_title(lr)), (colorize(m, labels), "predicted mask"),
                   (out, "output (LR style)")] + [(as_rgb(x), f"sampled style {k + 1}") for k, x in enumerate(r["samples"])]
                  + ([(change_map(as_rgb(r["samples"][0]), as_rgb(r["samples"][1]), diff_gain),
                       f"|sample 1 {MINUS} 2| x{diff_gain:g}")] if diff else [])
                  + [(as_rgb(r["gt"]), "ground truth")])
        for j, (img, head) in enumerate(panels):
            show(axes[i, j], img, pixels=j < 2)
            if i == 0:
                col_title(axes[i, j], head)
        frame(axes[i, 0], YELLOW, width=1.5)
        if r.get("name"):
            row_label(axes[i, 0], str(r["name"]))
    remove_unused(axes)
    return finish(fig, title, classes_of(masks), labels=labels)


# --------------------------------------------------------------------------- Fig. 18

def ablation_figure(rows, show_lr: bool = True, title: str = "", labels=None):
    """Fig. 18: ablation variants side by side, in the order of :data:`ABLATION_VARIANTS` (unknown
    keys after them), then the ground truth. Final models (independent, guided) have orange headers
    and frames, the ground truth green.

    Args:
        rows: dicts ``lr=``, ``outputs={variant: image}``, ``gt=``, optional ``label=``.
        show_lr: first column with the LR input.
    """
    rows = _check_rows(rows, "ablation_figure")
    keys = [k for k in ABLATION_VARIANTS if any(k in r["outputs"] for r in rows)]
    for r in rows:
        keys += [k for k in r["outputs"] if k not in keys]
    headers = ([lr_title(rows[0]["lr"])] if show_lr else []) + keys + ["ground truth"]
    colours = [None] * show_lr + [ORANGE if k in FINAL_MODELS else None for k in keys] + [GREEN]
    fig, axes = image_grid(len(rows), len(headers), extra_h=0.6)
    off = int(show_lr)
    for i, r in enumerate(rows):
        gt = as_rgb(r["gt"])
        if show_lr:
            show(axes[i, 0], lr_display(r["lr"], gt.shape[:2]), pixels=True)
        for j, k in enumerate(keys):
            if k in r["outputs"]:
                show(axes[i, off + j], as_rgb(r["outputs"][k]))
            else:
                axes[i, off + j].text(0.5, 0.5, "n/a", ha="center", va="center", fontsize=8, color="0.5")
        show(axes[i, -1], gt)
        for j, col in enumerate(colours):
            if col is not None:
                frame(axes[i, j], col)
        if r.get("label"):
            row_label(axes[i, 0], str(r["label"]))
    for j, text in enumerate(headers):
        col_title(axes[0, j], text, color=colours[j], bold=colours[j] is not None)
    return finish(fig, title)


# --------------------------------------------------------------------------- Figs. 11-13

def _is_ours(name: str) -> bool:
    n = name.lower()
    return n.startswith("ours") or "deepsee" in n


def comparison_figure(rows, show_lr: bool = False, title: str = "", labels=None):
    """Figs. 11-13: methods side by side, then the ground truth. The guiding image is inset top right
    on the guided column(s) (name containing "guided"), the predicted mask bottom right on ours
    (names starting with "ours"), the LR input bottom right (yellow) on the ground truth.

    Args:
        rows: dicts ``lr=``, ``methods={name: image}`` (column order of the first row), ``gt=``,
            optional ``guide=``, ``mask=``, ``label=``.
        show_lr: add a first column with the LR input.
    """
    rows = _check_rows(rows, "comparison_figure")
    names = list(rows[0]["methods"])
    for r in rows:
        if set(r["methods"]) != set(names):
            raise ValueError(f"every row needs the same methods, got {sorted(r['methods'])} and {sorted(names)}")
    headers = ([lr_title(rows[0]["lr"])] if show_lr else []) + names + ["ground truth"]
    fig, axes = image_grid(len(rows), len(headers), extra_h=0.9)
    off = int(show_lr)
    masks = []
    for i, r in enumerate(rows):
        gt = as_rgb(r["gt"])
        lr_big = lr_display(r["lr"], gt.shape[:2])
        if show_lr:
            show(axes[i, 0], lr_big, pixels=True)
        for j, name in enumerate(names):
            ax = axes[i, off + j]
            show(ax, as_rgb(r["methods"][name]))
            if "guided" in name.lower() and r.get("guide") is not None:
                inset(ax, as_rgb(r["guide"]), corner="upper right", frac=0.3, color="white", pixels=False)
            if _is_ours(name) and r.get("mask") is not None:
                m = as_mask(r["mask"])
                masks.append(m)
                inset(ax, colorize(m, labels), corner="lower right", frac=0.3, color="white")
        show(axes[i, -1], gt)
        inset(axes[i, -1], lr_big, corner="lower right", frac=0.3)
        if r.get("label"):
            row_label(axes[i, 0], str(r["label"]))
    for j, text in enumerate(headers):
        col_title(axes[0, j], text)
    return finish(fig, title, classes_of(masks), labels=labels)


__all__ = [
    "ABLATION_VARIANTS", "FINAL_MODELS", "sample_grid_figure", "segmentation_figure",
    "style_walk_figure", "region_walk_figure", "best_of_figure", "manipulation_figure", "scenes_figure",
    "extreme_sr_figure", "ablation_figure", "comparison_figure",
]
