"""The explorer's callbacks are plain functions: test them with a stand-in engine whose output is
the styled map's first three style entries per pixel (so every region's effect is known)."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from deepsee.constants import CLASS_INDEX
from deepsee.explore.walks import region_offset, sample_styles, style_walk
from deepsee.explore.widgets import (Explorer, ExplorerState, current_style, export, load_style_csv, on_global_slider,
                             on_mask_edit, on_region_slider, on_reset, on_sample, best_in_gallery,
                             pick_from_gallery)


class StandInEngine:
    def __init__(self, mask):
        self.set_mask(mask)
        self.mask_sets = 0

    def set_mask(self, mask):
        self.onehot = torch.nn.functional.one_hot(torch.as_tensor(mask).long(), 19).permute(2, 0, 1).float()
        self.mask_sets = getattr(self, "mask_sets", 0) + 1

    def generate(self, styles, progress=False):
        # [K, 19, d] -> [K, 3, H, W]: each pixel shows its region's style entries 0..2
        return torch.einsum("knd,nhw->kdhw", styles[:, :, :3], self.onehot)


def make_state():
    mask = torch.zeros(16, 16, dtype=torch.long)
    mask[:6] = CLASS_INDEX["hair"]
    mask[6:12, 4:12] = CLASS_INDEX["skin"]
    mask[9:10, 6:10] = CLASS_INDEX["mouth"]
    style0 = torch.linspace(-0.5, 0.5, 19 * 4).reshape(19, 4)
    return ExplorerState(engine=StandInEngine(mask), lr=torch.zeros(1, 3, 4, 4), mask0=mask, style0=style0,
                         gt=torch.zeros(3, 16, 16))


def test_region_slider_changes_only_that_region():
    st = make_state()
    before = on_global_slider(st, 0.0).clone()
    after = on_region_slider(st, "hair", 0.2)
    changed = (after - before).abs().sum(0) > 1e-6
    hair = st.mask == CLASS_INDEX["hair"]
    assert changed[hair].all() and not changed[~hair].any()
    assert torch.allclose(current_style(st)[CLASS_INDEX["hair"]], (st.style0[CLASS_INDEX["hair"]] + 0.2).clamp(-1, 1))


def test_global_slider_moves_every_region_and_reset_restores():
    st = make_state()
    base = on_reset(st).clone()
    moved = on_global_slider(st, 0.15)
    assert ((moved - base).abs().sum(0) > 0).all()
    assert torch.allclose(on_reset(st), base)


def test_sample_is_seeded_and_best_is_marked():
    st = make_state()
    metric = lambda a, b: (a - b).abs().mean(dim=(1, 2, 3))
    g1 = on_sample(st, n=6, seed=3, scale=0.2, metric=metric)
    imgs1 = torch.stack([g[0] for g in g1])
    g2 = on_sample(st, n=6, seed=3, scale=0.2, metric=metric)
    assert torch.equal(imgs1, torch.stack([g[0] for g in g2]))
    scores = [s for _, s in g2]
    assert best_in_gallery(st) == int(np.argmin(scores))
    g3 = on_sample(st, n=6, seed=4, scale=0.2)
    assert not torch.equal(imgs1, torch.stack([g[0] for g in g3]))


def test_sliders_and_gallery_are_the_notebooks_walks_and_samples():
    """One source of truth: the explorer's styles are deepsee.explore.walks' (same seeding)."""
    st = make_state()
    on_region_slider(st, "lips", 0.3)
    assert torch.equal(current_style(st), region_offset(st.style0, "lips", 0.3))
    on_reset(st)
    on_global_slider(st, -0.3)
    assert torch.equal(current_style(st), style_walk(st.style0, delta=0.15, steps=5)[0])   # Fig. 3's -2 delta
    on_reset(st)
    gallery = on_sample(st, n=5, seed=3, scale=0.2)
    expected = st.engine.generate(sample_styles(st.style0, 5, noise="gaussian", scale=0.2, seed=3))
    assert torch.equal(torch.stack([g[0] for g in gallery]), expected)
    assert torch.equal(pick_from_gallery(st, 2), expected[2])
    assert torch.equal(current_style(st), sample_styles(st.style0, 5, scale=0.2, seed=3)[2])
    on_region_slider(st, "hair", 0.1)       # the picked sample's noise stays while a slider moves
    assert torch.equal(current_style(st), sample_styles(region_offset(st.style0, "hair", 0.1), 5, scale=0.2, seed=3)[2])
    with pytest.raises(ValueError, match="gallery index 5"):
        pick_from_gallery(st, 5)


def test_mask_edit_rebuilds_only_the_mask_and_relabels():
    st = make_state()
    on_reset(st)
    n0 = st.engine.mask_sets
    out = on_mask_edit(st, "relabel", "mouth", target="u_lip")
    assert st.engine.mask_sets == n0 + 1
    assert not (st.mask == CLASS_INDEX["mouth"]).any()
    assert (st.mask == CLASS_INDEX["u_lip"]).sum() == 4
    with pytest.raises(ValueError, match="mask edit 'explode'"):
        on_mask_edit(st, "explode", 1)
    with pytest.raises(ValueError, match="region 'tail'"):
        on_region_slider(st, "tail", 0.1)


def test_export_round_trips(tmp_path):
    st = make_state()
    on_region_slider(st, "skin", -0.3)
    paths = export(st, tmp_path)
    assert torch.allclose(load_style_csv(paths["style"]), current_style(st), atol=1e-6)
    assert np.array_equal(np.asarray(Image.open(paths["mask"])), st.mask.numpy())
    assert Image.open(paths["image"]).size == (16, 16)


def test_widget_drive_runs_headless_and_snapshots(tmp_path):
    st = make_state()
    ex = Explorer(st, metric=lambda a, b: (a - b).abs().mean(dim=(1, 2, 3)), metric_name="L1", gallery_size=4)
    log = ex.drive(snapshot=tmp_path / "snap", profile="smoke", seed=3)
    assert set(log) == {"region_slider", "global_slider", "sample_per_image", "mask_edit", "lr_psnr"}
    meta = json.loads((tmp_path / "snap.meta.json").read_text())
    assert meta["profile"] == "smoke" and meta["seed"] == 3
    assert Image.open(tmp_path / "snap.png").size[0] > 200
    assert len(ex.gallery.children) == 4


def test_gallery_differences_show_where_samples_differ():
    """The gallery's difference maps are black where all samples agree and bright where one differs,
    and the reported spread is the mean pairwise L1 in [0, 1] units; the widget shows one map per sample."""
    from deepsee.explore.widgets import DIFF_GAIN, gallery_differences
    st = make_state()
    h = 16
    base = torch.zeros(3, h, h)
    other = base.clone()
    other[:, :4, :4] = 0.5                                    # [-1, 1] units: 0.25 in [0, 1] units
    st.gallery = [(base, None), (base.clone(), None), (other, None)]
    maps, pair = gallery_differences(st)
    assert len(maps) == 3 and maps[0].shape == (h, h, 3) and maps[0].dtype == np.uint8
    dark = maps[0][8:, 8:].astype(int).sum(-1)
    assert (dark == dark.flat[0]).all()                       # identical everywhere else: one colour
    bright = maps[2][:4, :4].astype(int).sum(-1)
    assert bright.min() > dark.max() + 100                    # the differing corner stands out
    expected = (0 + 0.25 * 16 / (h * h) * 2) / 3               # pairs (0,1), (0,2), (1,2)
    assert pair == pytest.approx(expected, rel=1e-5)
    assert DIFF_GAIN == 8
    assert gallery_differences(make_state()) == ([], 0.0)
    ex = Explorer(st, gallery_size=3)
    assert all(len(item.children) == 3 for item in ex.gallery.children)   # sample, difference map, label
    assert "mean pairwise L1" in ex.status.value
    shown = ex.gallery.children
    ex.sliders["hair"].value = 0.3                 # a slider move re-renders the output, not the gallery
    assert ex.gallery.children is shown and "mean pairwise L1" in ex.status.value
    ex.sample_btn.click()                          # a new gallery is drawn and shown
    assert ex.gallery.children is not shown and len(ex.gallery.children) == 3


def test_consistency_checkbox_projects_output_and_gallery_and_reports_lr_psnr():
    """Issue 33: the checkbox switches the projection of everything rendered; the status line gives the
    output's LR-PSNR, >= 60 dB with the projection and far lower without (an untrained model)."""
    from fixtures import face as _face, model as _model
    from deepsee.data import lr_from_hr
    from deepsee.explore.widgets import explorer_for
    from deepsee.metrics.consistency import lr_psnr
    model, cfg = _model()
    H = cfg.lr_size * cfg.factor
    hr = torch.rand(3, H, H, generator=torch.Generator().manual_seed(2)) * 1.2 - 0.6
    item = {"hr": hr, "lr": lr_from_hr(hr, cfg.lr_size), "mask": _face(H)[0]}
    ex = explorer_for(model, item, gallery_size=3)
    assert "LR-PSNR" in ex.status.value and "projected" not in ex.status.value
    ex.sample_btn.click()
    plain = float(ex.status.value.split("LR-PSNR ")[1].split(" dB")[0])
    ex.consistent.value = True
    assert "projected onto the consistent images" in ex.status.value
    cons = float(ex.status.value.split("LR-PSNR ")[1].split(" dB")[0])
    assert plain < 40 and cons >= 60
    imgs = torch.stack([img for img, _ in ex.state.gallery])
    assert lr_psnr(imgs, item["lr"][None].expand(3, -1, -1, -1)).min() >= 60
    ex.consistent.value = False
    assert float(ex.status.value.split("LR-PSNR ")[1].split(" dB")[0]) == pytest.approx(plain, abs=0.05)
