"""Supplementary figure functions (deepsee.viz.figures / deepsee.viz.plots) on small random data."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.figure import Figure
from PIL import Image

from deepsee.constants import CLASS_LABELS, PALETTE, REGIONS
from deepsee.runs import save_figure
from deepsee.viz import (ablation_figure, best_of_figure, best_of_n_curve_figure, comparison_figure,
                         extreme_sr_figure, image_axes, manipulation_figure, metric_bar_figure,
                         oracle_cloud_figure, region_walk_figure, sample_grid_figure,
                         segmentation_figure, style_walk_figure)
from deepsee.viz.figures import delta_headers
from deepsee.viz.panels import GREEN, ORANGE, YELLOW, as_rgb, fit_to_panels, resize_nearest

HR, LR = 32, 8
VARIANTS = ["prior-only", "LR-style-only", "HR-style-only", "semantics-only", "independent", "guided"]


def _img(seed: int, size: int = HR) -> torch.Tensor:
    return torch.rand(3, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def _mask(seed: int, classes=(0, 1, 2, 4, 5, 11, 12, 13), size: int = HR) -> np.ndarray:
    return np.random.default_rng(seed).choice(np.asarray(classes), size=(size, size))


# ----------------------------------------------------------------------------- builders

def _samples():
    return sample_grid_figure(torch.stack([_img(i) for i in range(6)]),
                              torch.from_numpy(np.stack([_mask(i) for i in range(6)])), n_cols=4,
                              title="SynthFaces train, 32x32")


def _segmentation():
    return segmentation_figure([_img(i, LR) for i in range(2)], [_mask(i) for i in range(2)],
                               [_img(i) for i in range(2)], [_mask(i + 9) for i in range(2)], title="seg")


def _style_walk():
    rows = [dict(lr=_img(i, LR), images=[_img(10 * i + k) for k in range(5)], label=f"img {i}") for i in range(3)]
    return style_walk_figure(rows, title="SynthFaces, 4x (8->32), quick profile")


def _region_walk():
    rows = [dict(region=r, mask=_mask(0), images=[_img(k) for k in range(4)]) for r in ("hair", "skin", "lips")]
    return region_walk_figure(rows, title="regions")


def _best_of():
    rows = [dict(lr=_img(i, LR), gt=_img(i + 50), picks={n: (_img(n + i), 0.5 / n) for n in (10, 100, 1000)})
            for i in range(2)]
    return best_of_figure(rows, metric_name="SegFeatDist", title="best of")


def _clouds(n_img=12, K=200):
    rng = np.random.default_rng(0)
    out = []
    for i in range(n_img):
        lp, ss = rng.uniform(0.1, 0.4, K), rng.uniform(0.5, 0.8, K)
        best = {"perceptual": {n: int(np.argmin(lp[:n])) for n in (1, 10, 100, K)},
                "ssim": {n: int(np.argmax(ss[:n])) for n in (1, 10, 100, K)}}
        out.append(dict(perceptual=lp, ssim=ss, best=best, name=f"image {i}"))
    return out


def _oracle():
    return oracle_cloud_figure(_clouds(), by="perceptual", perceptual_name="SegFeatDist", title="Fig. 6")


def _manipulation():
    rows = [dict(label=f"ex {i}", masks=[_mask(i + k) for k in range(3)], images=[_img(i + k) for k in range(3)],
                 captions=["original", "close eyes", "remove glasses"], lr=_img(i, LR)) for i in range(2)]
    rows.append(dict(label="short", masks=[_mask(7)], images=[_img(7)]))
    return manipulation_figure(rows, title="Fig. 8")


def _extreme():
    items = [dict(lr=_img(0, 4), mask=_mask(0), output=_img(1), gt=_img(2), label="a"),
             dict(lr=_img(3, 4), mask=_mask(3), output=_img(4), label="b")]
    return extreme_sr_figure(items, title="Fig. 14, 8x")


def _ablation():
    rows = [dict(lr=_img(i, LR), outputs={k: _img(i * 10 + j) for j, k in enumerate(VARIANTS)}, gt=_img(i + 99))
            for i in range(2)]
    return ablation_figure(rows, title="Fig. 18")


def _comparison_rows():
    return [dict(lr=_img(i, LR), methods={"bicubic": _img(i), "ours (independent)": _img(i + 1),
                                          "ours (guided)": _img(i + 2)},
                 guide=_img(i + 3), mask=_mask(i), gt=_img(i + 4)) for i in range(2)]


def _comparison():
    return comparison_figure(_comparison_rows(), title="Fig. 11")


def _curve_df():
    recs = [dict(image=i, n=n, SSIM=0.6 + 0.01 * i + 0.02 * np.log10(n), SegFeatDist=0.3 - 0.02 * np.log10(n))
            for i in range(4) for n in (1, 10, 100, 1000)]
    return pd.DataFrame(recs)


def _curves():
    return best_of_n_curve_figure(_curve_df(), title="best of n")


def _bar_df():
    recs = []
    for m, v in (("bicubic", 0.5), ("ours (independent)", 0.66)):
        for src, f in (("paper", 1.0), ("measured", 0.9)):
            recs += [dict(method=m, metric="SSIM", value=v * f, source=src),
                     dict(method=m, metric="LPIPS", value=0.3 * f, source=src)]
    return pd.DataFrame(recs)


def _bars():
    return metric_bar_figure(_bar_df(), title="Table 6")


# name -> (builder, number of image panels)
CASES = {
    "samples": (_samples, 12), "segmentation": (_segmentation, 12), "style_walk": (_style_walk, 18),
    "region_walk": (_region_walk, 15), "best_of": (_best_of, 10), "oracle": (_oracle, 0),
    "manipulation": (_manipulation, 14), "extreme": (_extreme, 6), "ablation": (_ablation, 16),
    "comparison": (_comparison, 8), "curves": (_curves, 0), "bars": (_bars, 0),
}


# ----------------------------------------------------------------------------- every figure

@pytest.mark.parametrize("name", sorted(CASES))
def test_figure_builds_and_saves(name, tmp_path):
    build, n_images = CASES[name]
    fig = build()
    assert isinstance(fig, Figure)
    assert len(image_axes(fig)) == n_images
    for ax in image_axes(fig):  # image panels carry no ticks
        assert len(ax.get_xticks()) == 0 and len(ax.get_yticks()) == 0
    png = save_figure(fig, tmp_path / name, pdf=False)
    assert (tmp_path / f"{name}.meta.json").exists()
    with Image.open(png) as im:
        im.load()
        w, h = im.size
        assert w > 300 and h > 200
        assert np.asarray(im.convert("L")).std() > 5  # not a blank page


@pytest.mark.parametrize("name", sorted(CASES))
def test_text_readable_at_saved_size(name):
    fig = CASES[name][0]()
    fig.draw_without_rendering()
    texts = [t for t in fig.findobj(lambda a: hasattr(a, "get_text") and hasattr(a, "get_fontsize"))
             if t.get_text().strip() and t.get_visible()]
    assert texts
    small = [(t.get_text(), t.get_fontsize()) for t in texts if t.get_fontsize() < 8]
    assert not small
    assert fig.get_suptitle()


def test_save_writes_pdf(tmp_path):
    save_figure(_best_of(), tmp_path / "fig05")
    assert (tmp_path / "fig05.pdf").read_bytes()[:4] == b"%PDF"


def test_no_title_no_suptitle():
    fig = sample_grid_figure([_img(0)], [_mask(0)])
    assert fig.get_suptitle() == ""


def test_panels_fill_their_cells():
    fig = _style_walk()
    fig.draw_without_rendering()
    for ax in image_axes(fig):
        cell, box = ax.get_position(original=True), ax.get_position()
        assert box.width / cell.width > 0.9 and box.height / cell.height > 0.9


def test_fit_to_panels_changes_height_of_a_badly_sized_figure():
    fig = Figure(figsize=(8, 2), layout="constrained")
    for ax in fig.subplots(1, 2):
        ax.imshow(np.zeros((10, 10, 3), np.uint8))
    fit_to_panels(fig)
    assert fig.get_figheight() > 3.0


# ----------------------------------------------------------------------------- conversions

def test_as_rgb_and_nearest_resize():
    x = torch.tensor([-1.0, 0.0, 1.0]).view(3, 1, 1).expand(3, 2, 2)
    out = as_rgb(x)
    assert out.shape == (2, 2, 3) and out.dtype == np.uint8
    assert out[0, 0].tolist() == [0, 128, 255]
    u8 = np.full((4, 4, 3), 7, np.uint8)
    assert as_rgb(u8) is not None and as_rgb(u8)[0, 0, 0] == 7
    a = np.arange(4).reshape(2, 2)
    assert resize_nearest(a, (4, 4)).tolist() == [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]]
    with pytest.raises(ValueError):
        as_rgb(np.zeros((5, 5)))


# ----------------------------------------------------------------------------- specifics

def test_legend_lists_exactly_the_classes_shown():
    masks = [_mask(0, classes=(0, 1)), _mask(1, classes=(13, 1))]
    fig = sample_grid_figure([_img(0), _img(1)], masks)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == [CLASS_LABELS[0], CLASS_LABELS[1], CLASS_LABELS[13]]


def test_sample_grid_rows_and_mask_colours():
    masks = [np.full((HR, HR), 13), np.full((HR, HR), 2)]
    fig = sample_grid_figure([_img(0), _img(1)], masks, n_cols=1)
    axs = image_axes(fig)  # image, mask, image, mask
    assert len(axs) == 4
    assert axs[1].images[0].get_array()[0, 0].tolist() == list(PALETTE[13])
    assert axs[3].images[0].get_array()[0, 0].tolist() == list(PALETTE[2])
    with pytest.raises(ValueError):
        sample_grid_figure([_img(0)], [])


def test_segmentation_accuracy_and_lr_blowup():
    gt = np.zeros((HR, HR), int)
    pred = gt.copy()
    pred[: HR // 4] = 1  # a quarter wrong
    fig = segmentation_figure([_img(0, LR)], [pred], [_img(1)], [gt])
    axs = image_axes(fig)
    assert [t.get_text() for t in axs[1].texts] == ["acc 0.75"]
    assert axs[0].get_title() == "LR (8x8)"
    assert axs[0].images[0].get_array().shape[:2] == (HR, HR)  # shown at HR size, nearest
    assert len(axs) == 6
    fig = segmentation_figure([_img(0, LR)], [pred], [_img(1)], [gt], overlay_gt=False)
    assert len(image_axes(fig)) == 5
    with pytest.raises(ValueError):
        segmentation_figure([_img(0, LR)], [pred, pred], [_img(1)], [gt])


def test_style_walk_headers_and_highlight():
    assert delta_headers([-0.3, -0.15, 0, 0.15, 0.3]) == [
        "\u22122\u03b4 (\u22120.30)", "\u2212\u03b4 (\u22120.15)", "predicted style", "+\u03b4 (+0.15)",
        "+2\u03b4 (+0.30)"]
    fig = _style_walk()
    axs = image_axes(fig)
    centre = axs[3]  # LR, -2d, -d, predicted
    assert centre.get_title() == "predicted style"
    assert centre.spines["top"].get_visible()
    assert centre.spines["top"].get_edgecolor()[:3] == pytest.approx(tuple(int(ORANGE[i:i + 2], 16) / 255 for i in (1, 3, 5)))
    assert not axs[2].spines["top"].get_visible()
    with pytest.raises(ValueError):
        style_walk_figure([dict(lr=_img(0, LR), images=[_img(0)] * 4)])


def test_region_walk_greys_other_regions():
    mask = np.zeros((HR, HR), int)
    mask[:, : HR // 2] = 13
    fig = region_walk_figure([dict(region="hair", mask=mask, images=[_img(0)])])
    shown = image_axes(fig)[0].images[0].get_array()
    assert shown[0, 0].tolist() == list(PALETTE[13])
    right = shown[0, -1]
    assert right[0] == right[1] == right[2]  # background greyed
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [CLASS_LABELS[13]]
    assert 13 in REGIONS["hair"]
    with pytest.raises(ValueError):
        region_walk_figure([dict(region="no-such-region", mask=mask, images=[_img(0)])])


def test_best_of_scores_written_on_images():
    fig = _best_of()
    axs = image_axes(fig)
    assert [t.get_text() for t in axs[1].texts] == ["0.050"]
    assert [t.get_text() for t in axs[3].texts] == ["0.001"]
    assert axs[3].get_title().startswith("best of 1,000")
    assert axs[4].get_title() == "ground truth"


def test_oracle_marks_best_of_n():
    clouds = _clouds(n_img=5, K=50)
    fig = oracle_cloud_figure(clouds, by="ssim", perceptual_name="SegFeatDist", n_cols=3)
    axes = [ax for ax in fig.axes if ax.collections]
    assert len(axes) == 5
    ax = axes[1]
    assert len(ax.collections) == 1 + 4  # cloud + 4 crosses
    for j, n in enumerate(sorted(clouds[1]["best"]["ssim"])):
        idx = clouds[1]["best"]["ssim"][n]
        assert coll_xy(ax.collections[1 + j]) == pytest.approx((clouds[1]["perceptual"][idx], clouds[1]["ssim"][idx]))
    assert axes[3].get_xlabel().startswith("SegFeatDist") and axes[3].get_ylabel().startswith("SSIM")
    assert axes[1].get_ylabel() == ""  # inner panel
    assert axes[2].get_xlabel().startswith("SegFeatDist")  # nothing below it in a 2x3 grid
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels[1:] == ["best of 1", "best of 10", "best of 50", "best of 100"]
    assert "SSIM" in fig.legends[0].get_title().get_text()
    with pytest.raises(ValueError):
        oracle_cloud_figure(clouds, by="psnr")


def test_oracle_accepts_best_of_n_result():
    from deepsee.metrics.explorative import best_of_n
    cl = _clouds(n_img=1, K=100)[0]
    res = best_of_n(cl["perceptual"], ns=(1, 10, 100), mode="min")
    cl["best"] = {"perceptual": res}
    fig = oracle_cloud_figure([cl])
    ax = fig.axes[0]
    assert coll_xy(ax.collections[3]) == pytest.approx((cl["perceptual"].min(), cl["ssim"][cl["perceptual"].argmin()]))


def coll_xy(coll):
    return tuple(coll.get_offsets()[0])


def test_manipulation_captions_and_lr_inset():
    fig = _manipulation()
    axs = image_axes(fig)
    assert [ax.get_title() for ax in axs[:3]] == ["original", "close eyes", "remove glasses"]
    assert len(axs[3].child_axes) == 1  # LR inset on the first output
    with pytest.raises(ValueError):
        manipulation_figure([dict(label="x", masks=[_mask(0)], images=[_img(0), _img(1)])])


def test_extreme_sr_lr_inset_has_yellow_frame():
    fig = _extreme()
    outputs = [ax for ax in image_axes(fig) if ax.child_axes]
    assert len(outputs) == 2
    ins = outputs[0].child_axes[0]
    assert ins.spines["left"].get_edgecolor()[:3] == pytest.approx(
        tuple(int(YELLOW[i:i + 2], 16) / 255 for i in (1, 3, 5)))
    assert "8x" in outputs[0].get_title()  # 4 -> 32


def test_ablation_order_and_highlight_colours():
    fig = _ablation()
    axs = image_axes(fig)[:8]
    titles = [ax.get_title() for ax in axs]
    assert titles == ["LR (8x8)"] + VARIANTS + ["ground truth"]
    colour = {ax.get_title(): ax.title.get_color() for ax in axs}
    assert colour["independent"] == colour["guided"] == ORANGE
    assert colour["ground truth"] == GREEN
    assert colour["prior-only"] == "black"


def test_comparison_insets():
    fig = _comparison()
    axs = image_axes(fig)[:4]
    assert [ax.get_title() for ax in axs] == ["bicubic", "ours (independent)", "ours (guided)", "ground truth"]
    assert [len(ax.child_axes) for ax in axs] == [0, 1, 2, 1]
    rows = _comparison_rows()
    rows[1]["methods"].pop("bicubic")
    with pytest.raises(ValueError):
        comparison_figure(rows)


def test_best_of_n_curves_mean_and_log_axis():
    fig = _curves()
    axes = [ax for ax in fig.axes if ax.lines]
    assert len(axes) == 2 and all(ax.get_xscale() == "log" for ax in axes)
    assert [ax.get_title() for ax in axes] == ["SSIM", "SegFeatDist"]
    mean_line = axes[0].lines[-1]
    df = _curve_df()
    assert mean_line.get_ydata() == pytest.approx(df.groupby("n")["SSIM"].mean().values)
    assert len(axes[0].lines) == 4 + 1
    assert "\u2191" in axes[0].get_ylabel() and "\u2193" in axes[1].get_ylabel()


def test_best_of_n_curves_draw_a_second_form_dashed_on_the_same_panels():
    from deepsee.viz import best_of_n_curve_figure
    df = _curve_df()
    second = df.assign(SSIM=df.SSIM + 0.1).melt(id_vars=["image", "n"], var_name="metric", value_name="value")
    second["metric"] += " (consistent)"
    fig = best_of_n_curve_figure(df, second=second)
    axes = [ax for ax in fig.axes if ax.lines]
    assert [ax.get_title() for ax in axes] == ["SSIM", "SegFeatDist"]        # no extra panels
    dashed = axes[0].lines[-1]
    assert dashed.get_linestyle() == "--"
    assert dashed.get_ydata() == pytest.approx(df.groupby("n")["SSIM"].mean().values + 0.1)


def test_metric_bars():
    fig = metric_bar_figure(_bar_df())
    axes = [ax for ax in fig.axes if ax.patches]
    assert len(axes) == 2
    assert len(axes[0].patches) == 4  # 2 methods x 2 sources
    widths = sorted(p.get_width() for p in axes[0].patches)
    assert widths == pytest.approx(sorted([0.5, 0.45, 0.66, 0.594]))
    with pytest.raises(ValueError):
        metric_bar_figure(pd.DataFrame({"method": ["a"], "value": [1.0]}))


def test_walk_figures_show_the_amplified_change_between_the_ends():
    from deepsee.viz.figures import change_map
    a = torch.zeros(3, HR, HR)
    b = a.clone()
    b[:, :4, :4] = 0.1                                   # a change of 0.05 in [0, 1] units, top left only
    m = change_map(a, b, 8)
    assert m.shape == (HR, HR, 3) and m[0, 0].sum() > m[-1, -1].sum()
    assert m[-1, -1].tolist() == change_map(a, a, 8)[0, 0].tolist()       # unchanged pixels: the colour of 0
    rows = [dict(lr=_img(0, LR), images=[a, a, a, a, b], label="x")]
    fig = style_walk_figure(rows, diff_gain=8)
    axs = image_axes(fig)
    assert len(axs) == 7 and axs[-1].get_title() == "|first - last| x8"
    assert np.array_equal(axs[-1].images[0].get_array(), m)
    mask = np.zeros((HR, HR), int)
    fig = region_walk_figure([dict(region="background", mask=mask, images=[a, b])], diff_gain=8,
                             headers=["-0.3", "+0.3"])
    assert [ax.get_title() for ax in image_axes(fig)] == ["region", "-0.3", "+0.3", "|first - last| x8"]
    with pytest.raises(ValueError, match="headers"):
        region_walk_figure([dict(region="background", mask=mask, images=[a, b])], headers=["one"])


def test_fig19_shows_where_the_two_sampled_styles_differ():
    from deepsee.viz import scenes_figure
    from deepsee.viz.figures import change_map
    a = torch.zeros(3, HR, HR)
    b = a.clone()
    b[:, :4, :4] = 0.1
    row = dict(lr=_img(0, LR), mask=np.zeros((HR, HR), int), output=a, samples=[a, b], gt=a, name="scene")
    heads = [ax.get_title() for ax in image_axes(scenes_figure([row], labels="outdoor", diff_gain=8))]
    assert heads[1:] == ["predicted mask", "output (LR style)", "sampled style 1", "sampled style 2",
                         "|sample 1 \u2212 2| x8", "ground truth"]
    diff = image_axes(scenes_figure([row], labels="outdoor", diff_gain=8))[5].images[0].get_array()
    assert np.array_equal(diff, change_map(a, b, 8))
    assert len(image_axes(scenes_figure([row], labels="outdoor"))) == 6      # no gain: no difference column
    with pytest.raises(ValueError, match="two samples"):
        scenes_figure([{**row, "samples": [a]}], labels="outdoor", diff_gain=8)
