"""Outdoor-scene loaders on tiny fixtures in the real layouts: ADE20K (SceneParsing) and SFTGAN's OST sets."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from deepsee.config import load_config
from deepsee.data import DataError, build_dataset, check_dataset, class_frequencies
from deepsee.data import ade20k, ost
from deepsee.data.common import read_label_png
from deepsee.labels import OUTDOOR

O = OUTDOOR.class_id

# ADE ids in the fixture's annotation stripes, and the outdoor class each must become
STRIPES = [(27, "water"), (5, "plant"), (1, "background"), (3, "sky"), (69, "mountain"), (30, "grass"),
           (127, "animal"), (26, "building"), (0, "background"), (105, "background"), (110, "water"), (73, "plant")]


def _img(path, rgb):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(rgb, np.uint8)).save(path, quality=95)


def write_ade(root, n_train=3, n_val=12, size=(24, 24), nested=True):
    """ADE20K's SceneParsing layout (``ADEChallengeData2016/`` inside ``root`` when ``nested``). Every
    annotation has 12 two-row stripes of the ids in STRIPES; image k of a subset is grey level 10 k."""
    ade = root / "ADEChallengeData2016" if nested else root
    w, h = size
    ann = np.zeros((h, w), np.uint8)
    for k, (i, _) in enumerate(STRIPES):
        ann[2 * k:2 * k + 2] = i
    for subset, prefix, n in (("training", "ADE_train", n_train), ("validation", "ADE_val", n_val)):
        for k in range(n):
            stem = f"{prefix}_{k + 1:08d}"
            _img(ade / "images" / subset / f"{stem}.jpg", np.full((h, w, 3), 10 * k, np.uint8))
            (ade / "annotations" / subset).mkdir(parents=True, exist_ok=True)
            Image.fromarray(ann).save(ade / "annotations" / subset / f"{stem}.png")
    expect = np.zeros((h, w), np.uint8)
    for k, (_, c) in enumerate(STRIPES):
        expect[2 * k:2 * k + 2] = O(c)
    return ade, expect


def ade_cfg(root, *overrides, dataset="ade20k"):
    return load_config("smoke", [f"data.dataset={dataset}", "data.labels=outdoor", f"data.root={root}",
                                 "data.hr_size=24", "data.lr_size=6", *overrides])


# ------------------------------------------------------------------------------------------- ADE20K


def test_ade20k_class_names_and_table():
    assert len(ade20k.ADE_CLASSES) == 150 and ade20k.NUM_ADE == 151
    names = {1: "wall", 2: "building", 3: "sky", 5: "tree", 10: "grass", 14: "earth", 17: "mountain",
             18: "plant", 22: "water", 26: "house", 27: "sea", 30: "field", 35: "rock", 49: "skyscraper",
             61: "river", 67: "flower", 69: "hill", 73: "palm", 80: "hovel", 85: "tower", 105: "fountain",
             110: "swimming pool", 114: "waterfall", 127: "animal", 129: "lake", 150: "flag"}
    assert {i: ade20k.ade_name(i) for i in names} == names and ade20k.ade_name(0) == "other"
    assert set(ade20k.ADE20K_TO_OUTDOOR.values()) == set(OUTDOOR.classes) - {"background"}
    lut = ade20k.outdoor_lut()
    assert lut[27] == O("water") and lut[5] == O("plant") and lut[1] == O("background") and lut[0] == 0
    assert lut[14] == lut[47] == lut[53] == O("background")            # earth, sand, path
    table = ade20k.mapping_table()
    assert "27 sea" in table and "127 animal" in table and table.count("\n") == 7
    # SynthScenes writes one ADE id per outdoor class, and the table maps each back
    from deepsee.data.synthscenes import OUTDOOR_TO_ADE
    assert [int(lut[i]) for i in OUTDOOR_TO_ADE] == list(range(8))


def test_ade20k_maps_ids_and_splits(tmp_path):
    ade, expect = write_ade(tmp_path / "ade")
    cfg = ade_cfg(tmp_path / "ade")                                        # the folder holding ADEChallengeData2016/
    train = build_dataset(cfg, "train", progress=False)
    assert train.names == ["ADE_train_00000001", "ADE_train_00000002", "ADE_train_00000003"]
    item = train[1]
    assert np.array_equal(item["mask"].numpy(), expect)                   # sea -> water, tree -> plant, wall -> bg
    assert item["hr"].shape == (3, 24, 24) and item["lr"].shape == (3, 6, 6) and item["identity"] == -1
    val = build_dataset(cfg, "val", progress=False)
    test = build_dataset(cfg, "test", progress=False)
    assert val.names == ["ADE_val_00000001", "ADE_val_00000011"]          # every 10th sorted name
    assert len(test) == 10 and not set(val.names) & set(test.names)
    assert len(build_dataset(cfg, "all", progress=False)) == 15
    marker = ade / ".deepsee-outdoor-labels" / "training" / "COMPLETE.json"
    assert json.loads(marker.read_text())["mapping_version"] == ade20k.MAPPING_VERSION
    # the ADE folder itself works as the root too
    assert len(ade20k.records(ade, "train", progress=False)) == 3


def test_ade20k_label_cache_rebuilt_when_the_mapping_changes(tmp_path, monkeypatch):
    ade, expect = write_ade(tmp_path / "ade", nested=False, n_val=2)
    recs = ade20k.records(tmp_path / "ade", "train", progress=False)
    assert np.array_equal(read_label_png(recs[0].mask, 8), expect)
    stamp = recs[0].mask.stat().st_mtime_ns
    assert ade20k.records(tmp_path / "ade", "train", progress=False)[0].mask.stat().st_mtime_ns == stamp
    monkeypatch.setitem(ade20k.ADE20K_TO_OUTDOOR, 1, "building")          # wall -> building
    monkeypatch.setattr(ade20k, "MAPPING_VERSION", ade20k.MAPPING_VERSION + 1)
    recs = ade20k.records(tmp_path / "ade", "train", progress=False)
    assert read_label_png(recs[0].mask, 8)[4, 0] == O("building")
    assert not list((ade / ".deepsee-outdoor-labels").glob(".*partial*"))


def test_ade20k_masks_off_and_mask_dir(tmp_path):
    write_ade(tmp_path / "ade", n_val=2)
    assert all(r.mask is None for r in ade20k.records(tmp_path / "ade", "train", masks=False))
    assert not (tmp_path / "ade" / "ADEChallengeData2016" / ".deepsee-outdoor-labels").exists()
    pred = tmp_path / "pred"
    pred.mkdir()
    for k in range(3):
        Image.fromarray(np.full((24, 24), k + 1, np.uint8)).save(pred / f"ADE_train_{k + 1:08d}.png")
    ds = build_dataset(ade_cfg(tmp_path / "ade", f"data.mask_dir={pred}"), "train", progress=False)
    assert [int(ds[k]["mask"].max()) for k in range(3)] == [1, 2, 3]
    with pytest.raises(DataError, match="have no mask"):
        build_dataset(ade_cfg(tmp_path / "ade", f"data.mask_dir={pred}"), "val", progress=False)


def test_ade20k_bad_layouts_name_the_path(tmp_path):
    with pytest.raises(DataError, match="missing folder"):
        ade20k.records(tmp_path / "nowhere", "train")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="not an ADE20K folder") as e:
        ade20k.records(empty, "train")
    assert str(empty / "ADEChallengeData2016" / "images") in str(e.value)
    # an image without its annotation
    ade, _ = write_ade(tmp_path / "a", n_val=2)
    (ade / "annotations" / "training" / "ADE_train_00000002.png").unlink()
    with pytest.raises(DataError, match="ADE_train_00000002.png"):
        ade20k.records(tmp_path / "a", "train", progress=False)
    # ids beyond 150
    ade, _ = write_ade(tmp_path / "b", n_val=2)
    bad = ade / "annotations" / "training" / "ADE_train_00000001.png"
    Image.fromarray(np.full((24, 24), 200, np.uint8)).save(bad)
    with pytest.raises(DataError, match="0..150") as e:
        ade20k.records(tmp_path / "b", "train", progress=False)
    assert str(bad) in str(e.value)
    # an annotation of another size
    ade, _ = write_ade(tmp_path / "c", n_val=2)
    Image.fromarray(np.zeros((10, 12), np.uint8)).save(ade / "annotations" / "validation" / "ADE_val_00000001.png")
    with pytest.raises(DataError, match="12x10 but its image"):
        ade20k.records(tmp_path / "c", "val", progress=False)
    with pytest.raises(ValueError, match="unknown split"):
        ade20k.records(tmp_path / "c", "holdout")


def test_ade20k_non_square_images_are_centre_cropped(tmp_path):
    ade, expect = write_ade(tmp_path / "ade", n_train=1, n_val=1, size=(32, 24))
    item = build_dataset(ade_cfg(tmp_path / "ade"), "train", progress=False)[0]
    assert np.array_equal(item["mask"].numpy(), expect[:, 4:28])


def test_check_dataset_reports_outdoor_classes(tmp_path):
    write_ade(tmp_path / "ade")
    lines = []
    report = check_dataset(ade_cfg(tmp_path / "ade"), echo=lines.append)
    assert list(report["class_frequencies"]) == list(OUTDOOR.classes)
    assert report["class_frequencies"]["water"]["images"] == 1.0
    assert abs(report["class_frequencies"]["background"]["pixels"] - 6 / 24) < 1e-6   # wall, other, fountain
    assert any(" 7 animal" in s for s in lines)
    f = class_frequencies([np.zeros((2, 2), np.uint8)])                  # the face default is unchanged
    assert f["images"].shape == (19,)


# ----------------------------------------------------------------------------------------------- OST


def write_ost(root, per_category=3, test_sub="", categories=("animal", "building", "grass", "mountain", "plant",
                                                              "sky", "water")):
    for c in categories:
        for k in range(per_category):
            _img(root / "OutdoorSceneTraining" / c / f"{c}_{k:04d}.png", np.full((20, 30, 3), 50, np.uint8))
    folder = root / "OutdoorSceneTest300" / test_sub if test_sub else root / "OutdoorSceneTest300"
    for k in range(4):
        _img(folder / f"OST_{k + 1:03d}.png", np.full((24, 24, 3), 90, np.uint8))
    return root


def test_ost_splits_category_folders_and_ost300(tmp_path):
    root = write_ost(tmp_path / "ost", per_category=2)
    train, val, test = (ost.records(root, s) for s in ("train", "val", "test"))
    assert len(train) == 14 and not val and len(test) == 4             # < 20 per category: all train
    assert [r.name for r in train[:3]] == ["animal_0000", "animal_0001", "building_0000"]
    assert [r.name for r in test] == ["OST_001", "OST_002", "OST_003", "OST_004"]
    assert all(r.mask is None for r in train + test)
    assert len(ost.records(root, "all")) == 18
    # every 20th image of each category is val; a bg folder is read; OST300 in an OST300_img/ subfolder
    root2 = write_ost(tmp_path / "ost2", per_category=41, test_sub="OST300_img", categories=("sky", "bg"))
    val = [r.name for r in ost.records(root2, "val")]
    assert val == ["sky_0019", "sky_0039", "bg_0019", "bg_0039"]
    assert len(ost.records(root2, "train")) == 78 and len(ost.records(root2, "test")) == 4


def test_ost_masks_from_mask_dir_and_the_missing_mask_error(tmp_path):
    root = write_ost(tmp_path / "ost", per_category=1)
    with pytest.raises(DataError, match="predict them first"):
        ost.records(root, "test", masks=True)
    with pytest.raises(DataError, match="predict them first"):
        build_dataset(ade_cfg(root, dataset="ost"), "test", masks=True)
    pred = tmp_path / "pred"
    pred.mkdir()
    for k in range(4):
        Image.fromarray(np.full((24, 24), k + 4, np.uint8)).save(pred / f"OST_{k + 1:03d}.png")
    ds = build_dataset(ade_cfg(root, f"data.mask_dir={pred}", dataset="ost"), "test")
    assert ds.has_masks and [int(ds[k]["mask"][0, 0]) for k in range(4)] == [4, 5, 6, 7]
    assert ds[0]["hr"].shape == (3, 24, 24)
    no_masks = build_dataset(ade_cfg(root, dataset="ost"), "train")
    assert len(no_masks) == 7
    assert not no_masks.has_masks and "mask" not in no_masks[0]
    with pytest.raises(DataError, match="have no mask"):                    # train images lack predicted masks
        build_dataset(ade_cfg(root, f"data.mask_dir={pred}", dataset="ost"), "train")


def test_ost_bad_layouts_name_the_path(tmp_path):
    with pytest.raises(DataError, match="missing folder"):
        ost.records(tmp_path / "nowhere", "train")
    (tmp_path / "o").mkdir()
    with pytest.raises(DataError, match="OutdoorSceneTraining") as e:
        ost.records(tmp_path / "o", "train")
    assert str(tmp_path / "o" / "OutdoorSceneTraining") in str(e.value)
    (tmp_path / "o" / "OutdoorSceneTraining" / "trees").mkdir(parents=True)
    with pytest.raises(DataError, match="none of the category folders"):
        ost.records(tmp_path / "o", "train")
    with pytest.raises(DataError, match="OutdoorSceneTest300"):
        ost.records(tmp_path / "o", "test")
    (tmp_path / "o" / "OutdoorSceneTest300").mkdir()
    with pytest.raises(DataError, match="no images in"):
        ost.records(tmp_path / "o", "test")
    root = write_ost(tmp_path / "dup", per_category=1, categories=("sky",))
    _img(root / "OutdoorSceneTraining" / "water" / "sky_0000.png", np.zeros((8, 8, 3)))
    with pytest.raises(DataError, match="share the stem"):
        ost.records(root, "all")
