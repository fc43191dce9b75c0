"""SynthFaces: determinism, class coverage, people and splits, the on-disk layout, ensure/regenerate."""
from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from deepsee.cli import main as cli_main
from deepsee.constants import CLASSES
from deepsee.data import build_dataset, class_frequencies, ensure_synthfaces, generate_synthfaces, render_face
from deepsee.data.grids import sample_grid
from deepsee.data.synthfaces import assign_people
from fixtures import smoke_config


def _files(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != "synthfaces.json"}


def test_render_is_deterministic_and_seeded():
    a_img, a_lab = render_face(3, 7, 2, 64)
    b_img, b_lab = render_face(3, 7, 2, 64)
    assert a_img.shape == (64, 64, 3) and a_img.dtype == np.uint8 and a_lab.shape == (32, 32)
    assert np.array_equal(a_img, b_img) and np.array_equal(a_lab, b_lab)
    assert not np.array_equal(render_face(4, 7, 2, 64)[0], a_img)
    assert not np.array_equal(render_face(3, 8, 2, 64)[0], a_img)


def test_same_settings_same_bytes(tmp_path):
    a = generate_synthfaces(tmp_path / "a", n=12, size=32, seed=5, identities=4, splits=[8, 2, 2], progress=False)
    b = generate_synthfaces(tmp_path / "b", n=12, size=32, seed=5, identities=4, splits=[8, 2, 2], progress=False,
                            workers=2)
    fa, fb = _files(a), _files(b)
    assert fa.keys() == fb.keys() and all(fa[k] == fb[k] for k in fa)


def test_class_coverage_over_300_samples():
    table = assign_people(300, [300, 0, 0], 60, seed=0)
    labels = [render_face(0, idx, person, 128)[1] for idx, person in zip(table["idx"], table["person"])]
    f = class_frequencies(labels)["images"]
    assert (f > 0).all(), [c for c, v in zip(CLASSES, f) if v == 0]
    for c in ("background", "skin", "hair", "neck", "cloth", "nose", "l_eye", "r_eye", "u_lip", "l_lip"):
        assert f[CLASSES.index(c)] > 0.9, (c, f[CLASSES.index(c)])
    for c in ("eye_g", "hat", "ear_r", "neck_l"):                    # rare accessories
        assert 0.02 < f[CLASSES.index(c)] < 0.2, (c, f[CLASSES.index(c)])
    assert 0.1 < f[CLASSES.index("mouth")] < 0.45


def test_people_and_splits():
    t = assign_people(1500, [1200, 100, 200], 300, seed=0)
    assert Counter(t["split"]) == {0: 1200, 1: 100, 2: 200} and sorted(t["idx"]) == list(range(1500))
    assert len(set(t["person"])) == 300
    per_split = [Counter(p for p, s in zip(t["person"], t["split"]) if s == k) for k in range(3)]
    assert not set(per_split[0]) & set(per_split[2])                   # people stay in one split
    counts = Counter(t["person"]).values()
    singles = sum(c == 1 for c in counts)
    assert 0.05 * 300 < singles < 0.4 * 300 and max(counts) > 5      # some alone, most several
    assert sum(c > 1 for c in per_split[2].values()) >= 10             # guided test pairs
    with pytest.raises(ValueError, match="sum"):
        assign_people(10, [5, 2, 2], 3, seed=0)
    with pytest.raises(ValueError, match="identities"):
        assign_people(10, [6, 2, 2], 11, seed=0)


def test_layout_and_smoke_dataset(data_root):
    cfg = smoke_config(data_root / "sf")
    root = ensure_synthfaces(cfg)
    man = json.loads((root / "synthfaces.json").read_text())
    assert man["n"] == 48 and man["size"] == 64 and man["splits"] == [32, 8, 8]
    assert len(list((root / "CelebA-HQ-img").glob("*.jpg"))) == 48
    assert (root / "CelebAMask-HQ-mask-anno" / "0" / "00000_skin.png").is_file()
    head = (root / "CelebA-HQ-to-CelebA-mapping.txt").read_text().splitlines()[0].split()
    assert head == ["idx", "orig_idx", "orig_file"]
    sizes = {s: len(build_dataset(cfg, s)) for s in ("train", "val", "test")}
    assert sizes == {"train": 32, "val": 8, "test": 8}
    item = build_dataset(cfg, "train")[0]
    assert item["hr"].shape == (3, 64, 64) and item["lr"].shape == (3, 8, 8) and item["mask"].max() <= 18
    guided = build_dataset(cfg, "test", guided=True)
    assert len(guided) >= 2
    g = guided[0]
    assert g["guide_name"] != g["name"] and g["guide_hr"].shape == (3, 64, 64)


def test_ensure_is_idempotent_and_regenerates_on_change(data_root):
    cfg = smoke_config(data_root / "sf", "data.synth_n=10", "data.splits=[6,2,2]", "data.identities=4")
    root = ensure_synthfaces(cfg)
    stamp = (root / "synthfaces.json").stat().st_mtime_ns
    assert ensure_synthfaces(cfg) == root and (root / "synthfaces.json").stat().st_mtime_ns == stamp
    cfg2 = smoke_config(data_root / "sf", "data.synth_n=12", "data.splits=[8,2,2]", "data.identities=4")
    ensure_synthfaces(cfg2)
    assert json.loads((root / "synthfaces.json").read_text())["n"] == 12
    assert len(list((root / "CelebA-HQ-img").glob("*.jpg"))) == 12
    other = data_root / "mine"
    other.mkdir()
    (other / "keep.txt").write_text("not a dataset")
    with pytest.raises(FileExistsError, match="refusing"):
        generate_synthfaces(other, n=4, size=32, identities=3, splits=[2, 1, 1], progress=False)
    assert (other / "keep.txt").is_file()


def test_cli_synth_and_grid(tmp_path, capsys):
    out = tmp_path / "sf"
    assert cli_main(["data", "synth", "--out", str(out), "--n", "8", "--size", "32", "--identities", "3",
                     "--splits", "4,2,2", "--workers", "0"]) == 0
    assert "wrote 8 SynthFaces images" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli_main(["data", "synth", "--out", str(out), "--n", "8", "--splits", "4,2"])
    assert cli_main(["data", "synth", "--out", str(out), "--n", "8", "--splits", "4,2,1"]) == 1
    assert "summing to n=8" in capsys.readouterr().err
    fig = sample_grid(out, n=4, out_stem=tmp_path / "grid")
    assert (tmp_path / "grid.png").is_file() and sum(bool(ax.images) for ax in fig.axes) == 8
    cfg = smoke_config(out, "data.synth_n=8", "data.synth_size=32", "data.splits=[4,2,2]", "data.identities=3",
                       "data.hr_size=32", "data.lr_size=4")
    assert sum(bool(ax.images) for ax in sample_grid(cfg, n=2).axes) == 4


def test_a_partial_draw_writes_the_same_faces_and_gains_the_rest_when_read(tmp_path):
    """make showcase draws only val and test (the shipped models need no training faces): those files are the
    whole set's bytes; reading the training split draws it (the folder becomes the whole set); the label cache
    of the partial folder covers its splits."""
    full = generate_synthfaces(tmp_path / "full", n=12, size=32, seed=5, identities=4, splits=[8, 2, 2], progress=False,
                               workers=0)
    cfg = smoke_config(tmp_path / "data", "data.synth_n=12", "data.synth_size=32", "data.splits=[8,2,2]",
                       "data.identities=4", "data.synth_seed=5", "data.hr_size=32", "data.lr_size=4")
    part = ensure_synthfaces(cfg, progress=False, splits=["test", "val"])
    manifest = json.loads((part / "synthfaces.json").read_text())
    assert manifest["written"] == ["val", "test"]
    fa, fp = _files(full), _files(part)
    images = {k for k in fa if str(k).startswith("CelebA-HQ-img")}
    assert len({k for k in fp if str(k).startswith("CelebA-HQ-img")}) == 4 and all(fp[k] == fa[k] for k in fp)
    assert len(build_dataset(cfg, "test", progress=False)[0]["mask"].unique()) > 2      # its label cache
    assert ensure_synthfaces(cfg, progress=False, splits=["val"]) == part
    assert "written" in json.loads((part / "synthfaces.json").read_text())              # not drawn again
    assert len(build_dataset(cfg, "train", progress=False)) == 8                         # draws the rest
    after = _files(part)
    assert "written" not in json.loads((part / "synthfaces.json").read_text())
    assert images <= set(after) and all(after[k] == fa[k] for k in images)
    with pytest.raises(ValueError, match="only=.*expected some of train, val, test"):
        generate_synthfaces(tmp_path / "bad", n=12, size=32, identities=4, splits=[8, 2, 2], only=["training"])
    held = generate_synthfaces(tmp_path / "held", n=4, size=32, identities=2, splits=[0, 0, 4], only=["test"],
                               progress=False, workers=0)
    assert "written" not in json.loads((held / "synthfaces.json").read_text())        # the others are empty
