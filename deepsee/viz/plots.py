"""Score plots of the supplementary material: oracle point clouds (Figs. 6/7, Section 3.1), best-of-n
curves, and measured-vs-quoted metric bars for Tables 6/7.

Inputs are score arrays or pandas DataFrames; every function returns a matplotlib Figure with fonts of
8 pt or more and takes ``title`` for a caption stating the conditions (and metric substitutes).
"""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from .panels import FONT, caption, new_figure

# best-of-1 / 10 / 100 / 1,000 crosses (colour-blind safe, distinct from the grey cloud)
BEST_COLOURS: tuple[str, ...] = ("#d62728", "#ff7f0e", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b")
HIGHER_IS_BETTER = ("ssim", "psnr")


def _arrow(metric: str, higher_is_better: dict | None = None) -> str:
    up = (higher_is_better or {}).get(metric, metric.lower().split()[0] in HIGHER_IS_BETTER)
    return "\u2191" if up else "\u2193"


def _style_axes(ax) -> None:
    ax.tick_params(labelsize=FONT, length=2, pad=1.5)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


# --------------------------------------------------------------------------- Figs. 6/7

def oracle_cloud_figure(clouds, by: str = "perceptual", perceptual_name: str = "LPIPS", n_cols: int = 4,
                        title: str = ""):
    """Figs. 6/7: one scatter per test image of all K sampled solutions (x: perceptual distance,
    lower is better; y: SSIM), with the best of 1 / 10 / 100 / 1,000 random solutions marked by crosses.

    Args:
        clouds: dicts ``perceptual=[K]`` (the perceptual distance: LPIPS or its substitute), ``ssim=[K]``,
            ``best={"perceptual": {n: index}, "ssim": {n: index}}``
            (index into the K samples of the best of n, selected by that metric; the dict returned by
            :func:`deepsee.metrics.explorative.best_of_n` is accepted too, its ``indices`` are used),
            ``name=``.
        by: which selection to mark, "perceptual" (Fig. 6) or "ssim" (Fig. 7).
        perceptual_name: name of the perceptual metric on the x axis (it may be a substitute).
        n_cols: panels per row (12 images -> 3 x 4).
    """
    if by not in ("perceptual", "ssim"):
        raise ValueError(f"by must be 'perceptual' or 'ssim', got {by!r}")
    clouds = list(clouds)
    if not clouds:
        raise ValueError("oracle_cloud_figure: no clouds to draw")
    n_cols = max(1, min(n_cols, len(clouds)))
    n_rows = -(-len(clouds) // n_cols)
    fig = new_figure(n_cols * 1.85 + 0.3, n_rows * 1.6 + 0.9)
    fig.get_layout_engine().set(wspace=0.04, hspace=0.06)
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    def selection(cloud) -> dict:
        sel = cloud["best"][by]
        return sel["indices"] if "indices" in sel else sel

    ns = sorted(selection(clouds[0]))
    if len(ns) > len(BEST_COLOURS):
        raise ValueError(f"at most {len(BEST_COLOURS)} best-of-n selections, got {ns}")
    sizes = np.linspace(90, 30, len(ns)) if len(ns) > 1 else [60]  # later crosses drawn smaller, on top
    selector = perceptual_name if by == "perceptual" else "SSIM"
    for k, cl in enumerate(clouds):
        ax = axes.flat[k]
        x = np.asarray(cl["perceptual"], dtype=float).ravel()
        y = np.asarray(cl["ssim"], dtype=float).ravel()
        if x.shape != y.shape or x.size == 0:
            raise ValueError(f"cloud {k}: perceptual and ssim need the same non-zero length, got {x.size}, {y.size}")
        sel = selection(cl)
        if sorted(sel) != ns:
            raise ValueError(f"cloud {k}: best-of-n selections {sorted(sel)} differ from {ns}")
        ax.scatter(x, y, s=5, c="0.55", alpha=0.35, linewidths=0, rasterized=True)
        for j, n in enumerate(ns):
            idx = int(sel[n])
            if not 0 <= idx < x.size:
                raise ValueError(f"cloud {k}: best-of-{n} index {idx} outside 0..{x.size - 1}")
            ax.scatter([x[idx]], [y[idx]], marker="x", s=sizes[j], c=BEST_COLOURS[j], linewidths=1.6,
                       zorder=3)
        ax.set_title(str(cl.get("name", f"image {k + 1}")), fontsize=FONT, pad=2)
        ax.locator_params(axis="y", nbins=4)
        ax.locator_params(axis="x", nbins=3)      # 4-decimal perceptual ticks overlap at 4 per panel
        _style_axes(ax)
        r, c = divmod(k, n_cols)
        if k + n_cols >= len(clouds):  # nothing below: outer panel
            ax.set_xlabel("\n".join(textwrap.wrap(f"{perceptual_name} \u2193", 22)), fontsize=FONT, labelpad=1)
        if c == 0:
            ax.set_ylabel("SSIM \u2191", fontsize=FONT, labelpad=1)
    for ax in axes.flat[len(clouds):]:
        ax.remove()
    K = np.asarray(clouds[0]["perceptual"]).size
    handles = [Line2D([], [], ls="", marker="o", ms=4, color="0.55", alpha=0.6, label=f"{K:,} samples")]
    handles += [Line2D([], [], ls="", marker="x", ms=7, mew=1.6, color=BEST_COLOURS[j],
                       label=f"best of {n:,}") for j, n in enumerate(ns)]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=FONT,
               frameon=False, title=f"best of n random solutions, selected by {selector}",
               title_fontsize=FONT, columnspacing=1.2, handletextpad=0.3)
    caption(fig, title)
    return fig


# --------------------------------------------------------------------------- best-of-n curves

def _long_scores(df):
    """Long table ``image, n, metric, value``; a wide table (one column per metric) is melted."""
    need = {"n", "value", "metric"}
    if need <= set(df.columns):
        out = df.copy()
    else:
        if "n" not in df.columns:
            raise ValueError(f"need a column 'n', got {list(df.columns)}")
        ids = [c for c in ("image", "n") if c in df.columns]
        out = df.melt(id_vars=ids, var_name="metric", value_name="value")
    if "image" not in out.columns:
        out["image"] = 0
    return out


def best_of_n_curve_figure(df, higher_is_better: dict | None = None, title: str = "", second=None,
                           second_label: str = "consistent"):
    """Expected best score among n random solutions against n (log scale), one panel per metric:
    a thin line per test image and the mean over images as a thick line.

    Args:
        df: long table with columns ``image, n, metric, value`` (or wide: ``image, n`` plus one
            column per metric, e.g. ``SSIM`` and ``SegFeatDist``).
        higher_is_better: per-metric direction; default: SSIM/PSNR up, the others down.
        second: another such table of the same solutions in another form (e.g. the consistent ones, whose
            metric names may end in ``" (<second_label>)"``): its mean is drawn dashed on the same panels.
    """
    data = _long_scores(df)
    other = None
    if second is not None:
        other = _long_scores(second)
        other["metric"] = other["metric"].str.replace(f" ({second_label})", "", regex=False)
    metrics = list(dict.fromkeys(data["metric"]))
    if not metrics:
        raise ValueError("best_of_n_curve_figure: empty table")
    fig = new_figure(3.0 * len(metrics) + 0.3, 2.9)
    fig.get_layout_engine().set(wspace=0.08)
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    for ax, metric in zip(axes, metrics):
        sub = data[data["metric"] == metric]
        for _, g in sub.groupby("image", sort=False):
            g = g.sort_values("n")
            ax.plot(g["n"], g["value"], color="#4477aa", lw=0.8, alpha=0.35)
        mean = sub.groupby("n")["value"].mean().sort_index()
        ax.plot(mean.index, mean.values, color="#1b2f5c", lw=2.4, marker="o", ms=3.5)
        if other is not None and (other["metric"] == metric).any():
            m2 = other[other["metric"] == metric].groupby("n")["value"].mean().sort_index()
            ax.plot(m2.index, m2.values, color="#cc6600", lw=2.0, ls="--", marker="s", ms=3.5)
        ax.set_xscale("log")
        ax.set_xlabel("n (random solutions)", fontsize=FONT)
        ax.set_ylabel(f"expected best {metric} {_arrow(metric, higher_is_better)}", fontsize=FONT)
        ax.set_title(metric, fontsize=FONT)
        ax.grid(True, which="major", lw=0.4, color="0.85")
        _style_axes(ax)
    n_img = data["image"].nunique()
    handles = [Line2D([], [], color="#4477aa", lw=0.8, alpha=0.6, label=f"one test image ({n_img})"),
               Line2D([], [], color="#1b2f5c", lw=2.4, marker="o", ms=3.5, label="mean over images")]
    if other is not None:
        handles.append(Line2D([], [], color="#cc6600", lw=2.0, ls="--", marker="s", ms=3.5,
                              label=f"mean over images, {second_label}"))
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=FONT, frameon=False)
    caption(fig, title)
    return fig


# --------------------------------------------------------------------------- Tables 6/7

def metric_bar_figure(df, metrics=None, source_order=None, higher_is_better: dict | None = None,
                      title: str = ""):
    """Measured vs quoted scores: one panel per metric, a group of horizontal bars per method, one bar
    per source (e.g. "measured", "paper"), with the value written at the bar end.

    Args:
        df: long table with columns ``method, metric, value, source``.
        metrics: panels to draw (default: all, in table order).
        source_order: bar order within a group (default: table order).
    """
    need = {"method", "metric", "value", "source"}
    if not need <= set(df.columns):
        raise ValueError(f"need columns {sorted(need)}, got {list(df.columns)}")
    metrics = list(metrics or dict.fromkeys(df["metric"]))
    sources = list(source_order or dict.fromkeys(df["source"]))
    methods = list(dict.fromkeys(df["method"]))
    colours = ["#4477aa", "#cccccc", "#ee6677", "#228833"]
    fig = new_figure(2.3 * len(metrics) + 1.2, 0.32 * len(methods) * max(1, len(sources)) * 0.75 + 1.3)
    fig.get_layout_engine().set(wspace=0.06)
    axes = fig.subplots(1, len(metrics), squeeze=False, sharey=True)[0]
    height = 0.8 / len(sources)
    ypos = np.arange(len(methods))
    for ax, metric in zip(axes, metrics):
        sub = df[df["metric"] == metric]
        top = float(np.nanmax(sub["value"])) if len(sub) else 1.0
        for s, source in enumerate(sources):
            vals = [sub[(sub["method"] == m) & (sub["source"] == source)]["value"] for m in methods]
            vals = np.array([float(v.iloc[0]) if len(v) else np.nan for v in vals])
            y = ypos - 0.4 + height * (s + 0.5)
            ax.barh(y, np.nan_to_num(vals), height=height * 0.92, color=colours[s % len(colours)],
                    label=str(source))
            for yy, v in zip(y, vals):
                if np.isfinite(v):
                    ax.text(v + 0.02 * top, yy, f"{v:.3g}", va="center", fontsize=FONT)
        ax.set_xlim(0, top * 1.35 if top > 0 else 1)
        ax.set_title(f"{metric} {_arrow(metric, higher_is_better)}", fontsize=FONT)
        ax.set_yticks(ypos, methods)
        _style_axes(ax)
    axes[0].invert_yaxis()  # shared: first method on top in every panel
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(sources), fontsize=FONT, frameon=False)
    caption(fig, title)
    return fig


__all__ = ["oracle_cloud_figure", "best_of_n_curve_figure", "metric_bar_figure", "BEST_COLOURS"]


def read_stats(run_dir) -> "pd.DataFrame":
    """A run's ``stats.jsonl`` (SR or segmenter training) as a DataFrame of its logged steps."""
    path = Path(run_dir) / "stats.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no training log (is {run_dir} a training run folder?)")
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return pd.DataFrame([r for r in rows if "event" not in r and "step" in r])


def training_curves_figure(runs: dict, keys=("g_total", "d_total"), title: str = ""):
    """The logged losses ``keys`` against the step, one line per run (``{label: run folder}``), one
    panel per key."""
    keys = list(keys)
    fig = new_figure(3.4 * len(keys), 2.6)
    axes = fig.subplots(1, len(keys), squeeze=False)[0]
    stats = {label: read_stats(run) for label, run in runs.items()}
    for ax, key in zip(axes, keys):
        for label, df in stats.items():
            if key in df.columns and len(df):
                ax.plot(df["step"], df[key], label=label, lw=1.2)
        ax.set_xlabel("step", fontsize=FONT)
        ax.set_ylabel(key, fontsize=FONT)
        _style_axes(ax)
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        axes[-1].legend(handles, labels, fontsize=FONT - 1, frameon=False, loc="best")
    if title:
        caption(fig, title)
    return fig


def emergence_figure(df, goals: dict | None = None, images_per_step: int | None = None, title: str = "",
                     marks=()):
    """How exploration emerges during training: the LR-style PSNR, the walks, diversity, the selection
    gain and the smallest inside/outside ratio of the region walks against the training step (``df``:
    :func:`deepsee.eval.style_usage.emergence`), with the goal of each measure (``goals``: a
    :data:`~deepsee.eval.style_usage.GOAL_SETS` entry) as a dashed line. ``marks``: ``[(step, label)]``
    drawn as dotted vertical lines, e.g. the warm restarts of the schedule
    (:meth:`deepsee.pipeline.Pipeline.stage_marks`)."""
    goals = goals or {}
    steps = df["step"].to_numpy()
    panels = [
        ("fidelity: PSNR with the LR-predicted style (dB)", [("psnr_lr_style", "PSNR, LR style", None)]),
        ("style walks: mean change of the output ([0, 1])",
         [("global_walk", "global walk (+-2 x 0.15)", goals.get("global_walk_change")),
          ("lips_inside", "lips (+-2 x 0.3, inside)", goals.get("small_region_inside_change")),
          ("eyes_inside", "eyes", None), ("brows_inside", "brows", None)]),
        ("diversity: mean pairwise L1 of K samples", [("diversity_l1", "diversity L1", goals.get("diversity_l1"))]),
        ("selection gain: 1 - best of n / best of 1", [("selection_gain", "selection gain", goals.get("selection_gain"))]),
    ]
    if "min_inside_outside" in df:
        panels.append(("locality: smallest inside/outside ratio of the region walks",
                       [("min_inside_outside", "smallest of 7 regions", goals.get("inside_outside_ratio"))]))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.0 * len(panels), 3.6), constrained_layout=True)
    for ax, (name, series) in zip(axes, panels):
        for i, (col, label, goal) in enumerate(series):
            if col not in df:
                continue
            line, = ax.plot(steps, df[col].to_numpy(), marker="o", ms=4, label=label)
            if goal is not None:
                ax.axhline(goal, ls="--", lw=1, color=line.get_color(), alpha=0.7)
        for j, (step, label) in enumerate(marks):
            ax.axvline(step, ls=":", lw=1, color="0.45")
            if name.startswith("style walks"):   # labelled once, in the walks panel
                ax.text(step, 0.98 - 0.09 * j, f" {label}", transform=ax.get_xaxis_transform(), fontsize=6.5,
                        color="0.3", va="top", ha="right" if j % 2 == 0 else "left")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("training step (batch 2)")
        ax.set_xscale("log")
        if name.startswith("locality"):
            ax.set_yscale("log")
        _style_axes(ax)
        if len(series) > 1:
            ax.legend(fontsize=7, frameon=False)
    sub = f" ({images_per_step} test faces per step; dashed: the goal)" if images_per_step else " (dashed: the goal)"
    fig.suptitle((title + "\n" if title else "") + "how exploration emerges during training" + sub, fontsize=10)
    return fig
