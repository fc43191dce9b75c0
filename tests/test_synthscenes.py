"""SynthScenes: determinism, class coverage, fine texture and per-scene appearance, the ADE20K layout,
ensure/regenerate, the CLI and the sample grid."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from deepsee.cli import main as cli_main
from deepsee.config import load_config
from deepsee.data import build_dataset, class_frequencies, ensure_synthscenes, generate_synthscenes, render_scene
from deepsee.data import synthscenes
from deepsee.data.grids import scene_sample_grid as sample_grid
from deepsee.data.synthscenes import OUTDOOR_TO_ADE
from deepsee.labels import OUTDOOR


def _files(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != "synthscenes.json"}


def scene_config(data_root, *overrides):
    return load_config("smoke", ["data.dataset=synthscenes", "data.labels=outdoor", "data.synth_n=12",
                                 "data.splits=[8,2,2]", f"data.data_root={data_root}", *overrides])


def test_render_is_deterministic_and_seeded():
    a_img, a_lab = render_scene(3, 7, 64)
    b_img, b_lab = render_scene(3, 7, 64)
    assert a_img.shape == (64, 64, 3) and a_img.dtype == np.uint8
    assert a_lab.shape == (64, 64) and a_lab.dtype == np.uint8 and a_lab.max() < 8   # masks at the image size
    assert np.array_equal(a_img, b_img) and np.array_equal(a_lab, b_lab)
    assert not np.array_equal(render_scene(4, 7, 64)[0], a_img)
    assert not np.array_equal(render_scene(3, 8, 64)[0], a_img)
    img, lab = render_scene(0, 0, 128)                                    # other sizes work
    assert img.shape == (128, 128, 3) and lab.shape == (128, 128)
    with pytest.raises(ValueError, match=">= 32"):
        render_scene(0, 0, 16)


def test_same_settings_same_bytes_whatever_the_workers(tmp_path):
    a = generate_synthscenes(tmp_path / "a", n=6, size=48, seed=5, splits=[4, 1, 1], progress=False, workers=0)
    b = generate_synthscenes(tmp_path / "b", n=6, size=48, seed=5, splits=[4, 1, 1], progress=False, workers=2)
    fa, fb = _files(a), _files(b)
    assert len(fa) == 12 and fa.keys() == fb.keys() and all(fa[k] == fb[k] for k in fa)


def test_every_class_occurs_with_sensible_frequencies():
    labels = [render_scene(0, i, 64)[1] for i in range(30)]
    f = class_frequencies(labels, OUTDOOR.num_classes)
    assert (f["images"] > 0).all(), [c for c, v in zip(OUTDOOR.classes, f["images"]) if v == 0]
    assert f["images"][OUTDOOR.class_id("sky")] == 1.0
    for c in ("grass", "plant", "mountain"):
        assert f["images"][OUTDOOR.class_id(c)] > 0.5, c
    for c in ("water", "building", "animal", "background"):
        assert 0.1 < f["images"][OUTDOOR.class_id(c)] < 0.95, c
    assert abs(f["pixels"].sum() - 1) < 1e-6


def test_fine_texture_per_class_and_appearance_varies_across_scenes():
    """Every class has detail a 4x smaller image loses (HR minus bicubic(LR) inside each class, 2 px away
    from its edges), and its mean colour changes from scene to scene."""
    size, n = 128, 16
    energy, count = np.zeros(8), np.zeros(8)
    means = {k: [] for k in range(8)}
    for i in range(n):
        rgb, lab = render_scene(0, i, size)
        x = torch.from_numpy(rgb).permute(2, 0, 1).float()[None] / 255
        lr = F.interpolate(x, size=(size // 4,) * 2, mode="bicubic", align_corners=False, antialias=True)
        up = F.interpolate(lr, size=(size,) * 2, mode="bicubic", align_corners=False)
        res = ((x - up) ** 2).mean(1)[0].numpy()
        onehot = F.one_hot(torch.from_numpy(lab.astype(np.int64)), 8).permute(2, 0, 1).float()[None]
        inner = (-F.max_pool2d(-onehot, 5, 1, 2))[0].numpy() > 0.5
        for k in range(8):
            energy[k] += res[inner[k]].sum()
            count[k] += inner[k].sum()
            if (lab == k).sum() > 40:
                means[k].append(rgb[lab == k].mean(0))
    rms = np.sqrt(energy / np.maximum(count, 1))
    for k, c in enumerate(OUTDOOR.classes):
        assert count[k] > 0, c
        assert rms[k] > 0.012, (c, rms[k])          # a smooth gradient gives ~0.001
        assert len(means[k]) >= 2, c
        spread = np.std(np.array(means[k]), axis=0).mean()
        assert spread > 8, (c, spread)               # mean colour (0..255) differs across scenes


def test_drawing_speed():
    render_scene(0, 0, 256)
    t = time.perf_counter()
    for i in range(1, 5):
        render_scene(0, i, 256)
    per = (time.perf_counter() - t) / 4
    assert per < 0.2, f"{1000 * per:.0f} ms per 256 px scene (target ~30 ms on one free core)"


def test_ade20k_layout_and_round_trip(data_root):
    cfg = scene_config(data_root)
    ds = build_dataset(cfg, "train", train=False, progress=False)          # no random flip
    root = data_root / "synthscenes_12x64_seed0"
    man = json.loads((root / "synthscenes.json").read_text())
    assert man["format"] == "synthscenes" and man["n"] == 12 and man["size"] == 64 and man["splits"] == [8, 2, 2]
    assert sorted(p.name for p in (root / "images" / "training").iterdir())[0] == "ADE_train_00000001.jpg"
    assert len(list((root / "images" / "training").glob("ADE_train_*.jpg"))) == 8
    assert len(list((root / "images" / "validation").glob("ADE_val_*.jpg"))) == 4
    ann = Image.open(root / "annotations" / "validation" / "ADE_val_00000004.png")
    a = np.asarray(ann)
    assert ann.mode == "L" and a.shape == (64, 64) and set(np.unique(a)) <= set(OUTDOOR_TO_ADE)
    sizes = {s: len(build_dataset(cfg, s, progress=False)) for s in ("train", "val", "test", "all")}
    assert sizes == {"train": 8, "val": 2, "test": 2, "all": 12}
    val = build_dataset(cfg, "val", progress=False)
    test = build_dataset(cfg, "test", progress=False)
    assert val.names == ["ADE_val_00000001", "ADE_val_00000002"]
    assert test.names == ["ADE_val_00000003", "ADE_val_00000004"]
    # items: the mask is the drawn label map (ADE ids mapped back), the image the drawn scene (JPEG)
    item = ds[2]
    assert item["name"] == "ADE_train_00000003"
    assert item["hr"].shape == (3, 64, 64) and item["lr"].shape == (3, 8, 8) and item["mask"].shape == (64, 64)
    rgb, lab = render_scene(0, 2, 64)
    assert np.array_equal(item["mask"].numpy(), lab)
    hr = ((item["hr"].permute(1, 2, 0).numpy() + 1) * 127.5)
    assert np.abs(hr - rgb).mean() < 8                                      # JPEG (quality 95, 4:2:0)
    assert np.abs(hr - render_scene(0, 3, 64)[0]).mean() > 20                # another scene is far
    rgb_t, lab_t = render_scene(0, 11, 64)                                   # the last scene is test's last
    assert np.array_equal(test[1]["mask"].numpy(), lab_t)


def test_ensure_is_idempotent_and_regenerates_on_change(data_root, monkeypatch):
    cfg = scene_config(data_root, "data.synth_n=6", "data.splits=[4,1,1]", "data.synth_size=32")
    root = ensure_synthscenes(cfg, progress=False)
    stamp = (root / "synthscenes.json").stat().st_mtime_ns
    assert ensure_synthscenes(cfg, progress=False) == root
    assert (root / "synthscenes.json").stat().st_mtime_ns == stamp
    monkeypatch.setattr(synthscenes, "VERSION", synthscenes.VERSION + 1)        # a new drawing version
    ensure_synthscenes(cfg, progress=False)
    assert json.loads((root / "synthscenes.json").read_text())["version"] == synthscenes.VERSION
    cfg2 = scene_config(data_root, "data.synth_n=6", "data.splits=[3,2,1]", "data.synth_size=32")
    ensure_synthscenes(cfg2, progress=False)
    assert len(list((root / "images" / "training").glob("*.jpg"))) == 3
    other = data_root / "mine"
    other.mkdir()
    (other / "keep.txt").write_text("not a dataset")
    with pytest.raises(FileExistsError, match="refusing"):
        generate_synthscenes(other, n=4, size=32, splits=[2, 1, 1], progress=False)
    assert (other / "keep.txt").is_file()
    with pytest.raises(ValueError, match="summing to n=4"):
        generate_synthscenes(data_root / "x", n=4, size=32, splits=[2, 1, 2], progress=False)


def test_cli_synth_scenes_and_grid(tmp_path, capsys):
    out = tmp_path / "ss"
    assert cli_main(["data", "synth", "--kind", "scenes", "--out", str(out), "--n", "6", "--size", "32",
                     "--splits", "4,1,1", "--workers", "0"]) == 0
    assert "wrote 6 SynthScenes images" in capsys.readouterr().out
    assert (out / "images" / "training" / "ADE_train_00000004.jpg").is_file()
    assert (out / "annotations" / "validation" / "ADE_val_00000002.png").is_file()
    assert cli_main(["data", "synth", "--kind", "scenes", "--out", str(out), "--n", "6", "--identities", "3"]) == 1
    assert "faces only" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli_main(["data", "synth", "--kind", "trees", "--out", str(out)])
    grid = sample_grid(out, n=4, out=tmp_path / "grid.png")
    assert grid.shape == (2 * 32 + 2, 4 * 32 + 3 * 2, 3) and (tmp_path / "grid.png").is_file()


def test_a_partial_draw_of_the_scenes_holds_the_same_scenes_and_gains_the_training_split(tmp_path):
    full = generate_synthscenes(tmp_path / "full", n=12, size=64, seed=0, splits=[8, 2, 2], progress=False, workers=0)
    cfg = scene_config(tmp_path / "data", "data.synth_size=64", "data.synth_seed=0")
    part = ensure_synthscenes(cfg, progress=False, splits=["test"])     # val comes along: one folder holds both
    assert json.loads((part / "synthscenes.json").read_text())["written"] == ["val", "test"]
    fa, fp = _files(full), _files(part)
    assert len([k for k in fp if k.suffix == ".jpg"]) == 4 and all(fp[k] == fa[k] for k in fp)
    assert len(build_dataset(cfg, "test", progress=False)) == 2 and len(build_dataset(cfg, "val", progress=False)) == 2
    assert json.loads((part / "synthscenes.json").read_text())["written"] == ["val", "test"]
    assert len(build_dataset(cfg, "train", progress=False)) == 8
    after = _files(part)
    assert all(after[k] == fa[k] for k in fa if k.suffix in (".jpg", ".png") and "cache" not in str(k))
