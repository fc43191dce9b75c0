"""Dataset loaders on tiny fixtures in the real layouts (CelebAMask-HQ, CelebA, image folder)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from deepsee.cli import main as cli_main
from deepsee.data import DataError, build_dataset, lr_from_hr
from deepsee.data import celebamaskhq
from fixtures import (smoke_config, tiny_celebamaskhq, write_celeba, write_celebamaskhq, write_image_folder,
                      write_label_pngs)


@pytest.fixture
def hq(tmp_path):
    return tiny_celebamaskhq(tmp_path / "hq", mask_size=16)


def hq_cfg(root, *overrides):
    return smoke_config(root, "data.hr_size=16", "data.lr_size=4", *overrides, dataset="celebamaskhq")


# ------------------------------------------------------------------------------------- tensors


def test_lr_from_hr_shapes_range_and_operator():
    hr = torch.rand(2, 3, 32, 32) * 2 - 1
    lr = lr_from_hr(hr, 4)
    assert lr.shape == (2, 3, 4, 4) and lr.min() >= -1 and lr.max() <= 1
    ref = torch.nn.functional.interpolate(hr, size=(4, 4), mode="bicubic", align_corners=False).clamp(-1, 1)
    assert torch.equal(lr, ref)                                     # the released operator, no antialias
    assert lr_from_hr(hr[0], 4).shape == (3, 4, 4)
    assert not torch.allclose(lr_from_hr(hr, 4, antialias=True), lr)
    sharp = torch.ones(1, 3, 16, 16); sharp[..., ::2] = -1          # overshoot is clamped
    assert lr_from_hr(sharp, 5).abs().max() <= 1


# --------------------------------------------------------------------------------- CelebAMask-HQ


def test_celebamaskhq_merge_splits_and_identities(hq):
    cfg = hq_cfg(hq["root"])
    for split, names in hq["splits"].items():
        ds = build_dataset(cfg, split)
        assert sorted(ds.names) == names                                  # mapping + partition
        for k, name in enumerate(ds.names):
            item = ds.records[k]
            assert item.identity == hq["identity"][name]
    ds = build_dataset(cfg, "all", train=False)
    assert len(ds) == 10
    for k in range(10):
        item = ds[k]
        want = hq["labels"][int(item["name"])]
        assert item["mask"].dtype == torch.int64 and item["mask"].shape == (16, 16)
        assert np.array_equal(item["mask"].numpy(), want)
        assert item["hr"].shape == (3, 16, 16) and item["lr"].shape == (3, 4, 4)
        assert -1 <= item["hr"].min() and item["hr"].max() <= 1
    # overlap pixels follow the class order: nose over skin, hair over skin, cloth over neck
    m = ds[0]["mask"]
    assert m[7, 7] == 2 and m[2, 8] == 13 and m[15, 8] == 18 and m[13, 8] == 17 and m[10, 3] == 1


def test_celebamaskhq_masks_resized_nearest(hq):
    ds = build_dataset(hq_cfg(hq["root"], "data.hr_size=32", "data.lr_size=4"), "all", train=False)
    item = ds[3]
    want = np.kron(hq["labels"][int(item["name"])], np.ones((2, 2), np.uint8))
    assert np.array_equal(item["mask"].numpy(), want)
    assert (hq["root"] / "cache" / "labels_32" / "COMPLETE.json").is_file()


def test_label_cache_is_built_once_and_never_partial(hq):
    root = hq["root"]
    cache = celebamaskhq.label_cache(root, 16, progress=False)
    stamp = (cache / "0.png").stat().st_mtime_ns
    assert celebamaskhq.label_cache(root, 16, progress=False) == cache
    assert (cache / "0.png").stat().st_mtime_ns == stamp                   # not rebuilt
    # a cache folder without its marker is rebuilt
    (cache / "COMPLETE.json").unlink()
    (cache / "0.png").write_bytes(b"junk")
    celebamaskhq.label_cache(root, 16, progress=False)
    assert np.array_equal(np.asarray(Image.open(cache / "0.png")), hq["labels"][0])
    # a failure during the build leaves no cache behind
    bad = root / "CelebAMask-HQ-mask-anno" / "0" / "00004_hat.png"
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(bad)
    with pytest.raises(DataError, match="00004_hat.png.*one size"):
        celebamaskhq.label_cache(root, 8, progress=False)
    assert not (root / "cache" / "labels_8").exists()
    assert not [p for p in (root / "cache").iterdir() if p.name.startswith(".")]


def test_guided_pairs_same_person_never_itself(hq):
    cfg = hq_cfg(hq["root"])
    test = build_dataset(cfg, "test", guided=True)
    # test split: 3 (id 9), 6 (id 9), 8 (id 5, alone) -> the singleton is left out
    assert sorted(test.names) == ["3", "6"]
    first = [test[k]["guide_name"] for k in range(len(test))]
    for k in range(len(test)):
        it = test[k]
        assert it["guide_name"] != it["name"]
        assert hq["identity"][it["guide_name"]] == it["identity"] == hq["identity"][it["name"]]
        assert it["guide_hr"].shape == it["hr"].shape and it["guide_mask"].shape == it["mask"].shape
        assert it["guide_lr"].shape == it["lr"].shape
    assert first == [test[k]["guide_name"] for k in range(len(test))]     # deterministic at test time
    train = build_dataset(cfg, "train", guided=True)
    # train: 0 (7), 2 (3), 4 (3), 5 (7), 9 (1, alone)
    assert sorted(train.names) == ["0", "2", "4", "5"]
    torch.manual_seed(0)
    for _ in range(5):
        for k in range(len(train)):
            it = train[k]
            assert it["guide_name"] != it["name"] and hq["identity"][it["guide_name"]] == it["identity"]


def test_guided_random_guide_covers_all_others(tmp_path):
    parts = [{"skin": np.ones((8, 8), bool)} for _ in range(4)]
    write_celebamaskhq(tmp_path, parts, partition=[0] * 4, identities=[1] * 4)
    ds = build_dataset(hq_cfg(tmp_path, "data.hr_size=8", "data.lr_size=2"), "train", guided=True)
    torch.manual_seed(0)
    seen = {ds[0]["guide_name"] for _ in range(40)}
    assert seen == {"1", "2", "3"}


def test_flip_moves_image_and_mask_together(tmp_path):
    m = 8
    skin = np.zeros((m, m), bool); skin[:, :3] = True                      # left columns only
    img = np.zeros((2 * m, 2 * m, 3), np.uint8); img[:, :6] = 255          # bright on the left
    write_celebamaskhq(tmp_path, [{"skin": skin}], partition=[0], identities=[1], images=[img])
    ds = build_dataset(hq_cfg(tmp_path, "data.hr_size=8", "data.lr_size=2"), "train")
    plain = build_dataset(hq_cfg(tmp_path, "data.hr_size=8", "data.lr_size=2"), "train", train=False)[0]
    flips = 0
    torch.manual_seed(0)
    for _ in range(20):
        it = ds[0]
        if not torch.equal(it["mask"], plain["mask"]):
            flips += 1
            assert torch.equal(it["mask"], plain["mask"].flip(-1))
            assert torch.equal(it["hr"], plain["hr"].flip(-1))
            assert torch.allclose(it["lr"], lr_from_hr(plain["hr"].flip(-1), 2))
            assert it["mask"][:, -1].eq(1).all() and it["hr"][:, :, -1].mean() > 0.5
    assert 0 < flips < 20
    no_flip = build_dataset(hq_cfg(tmp_path, "data.hr_size=8", "data.lr_size=2", "data.flip=false"), "train")
    assert all(torch.equal(no_flip[0]["mask"], plain["mask"]) for _ in range(10))


def test_mask_dir_overrides_ground_truth(hq, tmp_path):
    labels = {str(i): np.full((32, 32), i + 2, np.uint8) for i in range(10)}
    write_label_pngs(tmp_path / "pred", labels)
    ds = build_dataset(hq_cfg(hq["root"], f"data.mask_dir={tmp_path / 'pred'}"), "val")
    for k in range(len(ds)):
        it = ds[k]
        assert it["mask"].shape == (16, 16) and (it["mask"] == int(it["name"]) + 2).all()


# ------------------------------------------------------------------------------------------ CelebA


def test_celeba_crop_resize_partition_identities(tmp_path):
    write_celeba(tmp_path, partition=[0, 0, 0, 1, 2, 2], identities=[5, 5, 6, 6, 8, 8])
    cfg = smoke_config(tmp_path, "data.hr_size=178", "data.lr_size=89", dataset="celeba")
    sizes = {s: len(build_dataset(cfg, s)) for s in ("train", "val", "test")}
    assert sizes == {"train": 3, "val": 1, "test": 2}
    it = build_dataset(cfg, "train", train=False)[0]
    rgb = ((it["hr"] + 1) * 127.5).permute(1, 2, 0).numpy()
    assert it["hr"].shape == (3, 178, 178) and "mask" not in it
    # only the green crop (JPEG chroma bleeds a little into the edge rows; a crop one row off shows ~220)
    assert rgb[..., 1].min() > 150 and rgb[..., 0].max() < 100 and rgb[..., 2].max() < 100
    assert rgb[1:-1, :, 0].max() < 30 and rgb[1:-1, :, 2].max() < 30
    assert it["name"] == "000001" and it["identity"] == 5
    small = build_dataset(smoke_config(tmp_path, "data.hr_size=128", "data.lr_size=16", dataset="celeba"), "test")
    assert small[0]["hr"].shape == (3, 128, 128) and small[0]["lr"].shape == (3, 16, 16)
    guided = build_dataset(cfg, "test", guided=True)
    assert guided[0]["guide_name"] == "000006"


def test_celeba_predicted_masks(tmp_path):
    write_celeba(tmp_path, partition=[0, 0, 2])
    labels = {"000001": np.full((64, 64), 4, np.uint8), "000002": np.zeros((64, 64), np.uint8)}
    # full-frame (178x218) masks are cropped like the image
    tall = np.zeros((218, 178), np.uint8); tall[20:198] = 1; tall[:20] = 13
    labels["000003"] = tall
    write_label_pngs(tmp_path / "pred", labels)
    cfg = smoke_config(tmp_path, "data.hr_size=32", "data.lr_size=4", f"data.mask_dir={tmp_path / 'pred'}",
                       dataset="celeba")
    tr = build_dataset(cfg, "train", train=False)
    assert (tr[0]["mask"] == 4).all() and tr[0]["mask"].shape == (32, 32)
    assert (build_dataset(cfg, "test")[0]["mask"] == 1).all()
    (tmp_path / "pred" / "000002.png").unlink()
    with pytest.raises(DataError, match="000002.png"):
        build_dataset(cfg, "train")
    with pytest.raises(DataError, match="no ground-truth masks"):
        build_dataset(smoke_config(tmp_path, dataset="celeba"), "train", masks=True)


# ------------------------------------------------------------------------------------ image folder


def test_image_folder_with_and_without_masks(tmp_path):
    write_image_folder(tmp_path / "plain", n=3, size=24)
    ds = build_dataset(smoke_config(tmp_path / "plain", "data.hr_size=16", "data.lr_size=4", dataset="folder"), "test")
    assert len(ds) == 3 and not ds.has_masks and "mask" not in ds[0] and ds[0]["identity"] == -1
    write_image_folder(tmp_path / "m", n=3, size=24, masks=True, identities=[1, 1, 2])
    cfg = smoke_config(tmp_path / "m", "data.hr_size=16", "data.lr_size=4", dataset="folder")
    ds = build_dataset(cfg, "train", train=False)
    assert [int(ds[k]["mask"][0, 0]) for k in range(3)] == [0, 1, 2]
    assert build_dataset(cfg, "test", guided=True).names == ["img0", "img1"]
    (tmp_path / "m" / "masks" / "img2.png").unlink()
    with pytest.raises(DataError, match="img2.png"):                       # stem without a mask
        build_dataset(cfg, "train")


# -------------------------------------------------------------------------------------- bad input


def test_missing_folders_and_files_are_named(tmp_path, hq):
    with pytest.raises(DataError, match="missing folder .*nowhere"):
        build_dataset(hq_cfg(tmp_path / "nowhere"), "train")
    (hq["root"] / "CelebA-HQ-to-CelebA-mapping.txt").rename(tmp_path / "moved.txt")
    with pytest.raises(DataError, match="CelebA-HQ-to-CelebA-mapping.txt.*layout"):
        build_dataset(hq_cfg(hq["root"]), "train")
    with pytest.raises(DataError, match="img_align_celeba"):
        build_dataset(smoke_config(tmp_path, dataset="celeba"), "train")
    with pytest.raises(ValueError, match="data.dataset"):
        build_dataset(smoke_config(tmp_path, dataset="imagenet"), "train")


def test_missing_image_and_partition_entry(tmp_path, hq):
    (hq["root"] / "CelebA-HQ-img" / "4.jpg").unlink()
    with pytest.raises(DataError, match="missing from .*4.jpg"):
        build_dataset(hq_cfg(hq["root"]), "train")


def test_label_values_outside_range(tmp_path, hq):
    labels = {str(i): np.full((16, 16), 1, np.uint8) for i in range(10)}
    labels["3"][0, 0] = 19
    write_label_pngs(tmp_path / "pred", labels)
    ds = build_dataset(hq_cfg(hq["root"], f"data.mask_dir={tmp_path / 'pred'}"), "test", train=False)
    k = ds.names.index("3")
    with pytest.raises(DataError, match=r"3.png holds values 1..19; valid class indices are 0..18"):
        ds[k]
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / "pred" / "3.png")
    with pytest.raises(DataError, match="single-channel"):
        ds[k]


def test_image_mask_size_mismatch(tmp_path):
    parts = [{"skin": np.ones((8, 8), bool)}]
    write_celebamaskhq(tmp_path / "a", parts, partition=[0], identities=[1], images=[np.zeros((16, 24, 3), np.uint8)])
    with pytest.raises(DataError, match=r"masks of image .*0.jpg are 8x8 but the image is 24x16"):
        build_dataset(hq_cfg(tmp_path / "a"), "train")
    write_image_folder(tmp_path / "f", n=1, size=24)
    write_label_pngs(tmp_path / "f" / "masks", {"img0": np.zeros((10, 20), np.uint8)})
    ds = build_dataset(smoke_config(tmp_path / "f", dataset="folder"), "train")
    with pytest.raises(DataError, match=r"img0.png is 20x10 but its image is 24x24"):
        ds[0]


def test_truncated_and_unreadable_images(tmp_path, hq):
    ds = build_dataset(hq_cfg(hq["root"]), "train", train=False)
    path = ds.records[0].image
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=f"cannot read image {path}"):
        ds[0]
    path.write_bytes(b"not an image at all")
    with pytest.raises(DataError, match=f"cannot read image {path}"):
        ds[0]


def test_bad_part_file_name_and_empty_masks(tmp_path, hq):
    (hq["root"] / "CelebAMask-HQ-mask-anno" / "0" / "00001_beard.png").write_bytes(b"")
    with pytest.raises(DataError, match="00001_beard.png; expected <idx:05d>_<part>.png"):
        build_dataset(hq_cfg(hq["root"]), "train")
    (hq["root"] / "CelebAMask-HQ-mask-anno" / "0" / "00001_beard.png").unlink()
    for p in (hq["root"] / "CelebAMask-HQ-mask-anno" / "0").glob("00002_*.png"):
        p.unlink()
    with pytest.raises(DataError, match="no part masks, e.g. idx 2"):
        build_dataset(hq_cfg(hq["root"]), "train")


def test_malformed_annotation_files(tmp_path, hq):
    (hq["root"] / "list_eval_partition.txt").write_text("000001.jpg 3\n")
    with pytest.raises(DataError, match="split of 000001.jpg is '3'"):
        build_dataset(hq_cfg(hq["root"]), "train")
    (hq["root"] / "list_eval_partition.txt").write_text("000001.jpg\n")
    with pytest.raises(DataError, match=r"line 1: expected 2 columns"):
        build_dataset(hq_cfg(hq["root"]), "train")


# ------------------------------------------------------------------------------------------- CLI


def test_cli_check_reports_and_fails_clearly(hq, capsys):
    args = ["data", "check", "--config", "smoke", "--set", f"data.root={hq['root']}",
            "--set", "data.dataset=celebamaskhq", "--set", "data.hr_size=16", "--set", "data.lr_size=4"]
    assert cli_main(args) == 0
    out = capsys.readouterr().out
    assert "train" in out and "5 images" in out and "nose" in out and "dataset OK" in out
    (hq["root"] / "CelebA-HQ-img" / "9.jpg").write_bytes(b"broken")
    assert cli_main(args) == 1
    assert "cannot read image" in capsys.readouterr().err


def test_one_time_label_cache_bar_follows_progress(hq, capfd):
    cfg = hq_cfg(hq["root"])
    build_dataset(cfg, "train", progress=False)                    # builds the cache: silently
    assert "label cache" not in capfd.readouterr().err
    build_dataset(hq_cfg(hq["root"], "data.hr_size=32", "data.lr_size=4"), "train")   # a new size: shown
    assert "label cache 32px" in capfd.readouterr().err


def test_training_without_progress_prints_no_data_bars(tmp_path, hq, capfd):
    from deepsee.train import train_sr
    cfg = hq_cfg(hq["root"], "model.lr_size=4", "model.factor=4", "train.max_steps=1", f"run_root={tmp_path / 'runs'}")
    train_sr(cfg, progress=False)
    err = capfd.readouterr().err
    assert "label cache" not in err and "it/s" not in err


def test_register_dataset_adds_a_name_and_refuses_the_built_in_ones(tmp_path, tiny_data):
    """Your own data without a loader: ``register_dataset(name, factory)`` and ``data.dataset: name``."""
    from deepsee.config import load_config
    from deepsee.data import build_dataset, register_dataset
    ds = build_dataset(load_config("smoke", [tiny_data]), "val", guided=True)
    assert len(ds) == 8 and set(ds[0]) >= {"hr", "lr", "mask", "guide_hr", "name"}
    with pytest.raises(ValueError, match="'synthfaces' is a built-in dataset"):
        register_dataset("synthfaces", lambda *a, **k: None)
    with pytest.raises(TypeError, match="must be callable"):
        register_dataset("mine", 3)
    with pytest.raises(ValueError, match="data.dataset='mine'.*register_dataset adds your own"):
        build_dataset(load_config("smoke", ["data.dataset=mine"]), "val")
