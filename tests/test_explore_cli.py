"""``deepsee explore`` on a folder of three SynthFaces images with a smoke-profile model and a smoke
segmenter: every promised file, deterministic samples per seed, the photo handling, clear refusals."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from deepsee.cli import main
from deepsee.config import load_config
from deepsee.constants import PALETTE
from deepsee.data import render_face
from deepsee.explore.walks import sample_styles
from deepsee.models.deepsee import DeepSEE
from fixtures import smoke_segmenter


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A smoke segmenter run (2 steps) and a smoke-profile model folder, plus three SynthFaces images."""
    root = tmp_path_factory.mktemp("explore")
    cfg = load_config("smoke", [f"run_root={root / 'runs'}", f"data.root={root / 'data'}", "device=cpu",
                                "eval.max_images=0"])
    seg = smoke_segmenter(cfg)
    torch.manual_seed(0)
    model = root / "runs" / "sr-smoke-independent"
    DeepSEE(load_config("smoke").model).save(model / "model")
    images = root / "images"
    images.mkdir()
    for i in range(3):
        rgb, _ = render_face(0, 100 + i, 100 + i, 128)
        Image.fromarray(rgb).save(images / f"person{i}.png")
    return {"seg": seg, "model": model, "images": images, "root": root}


def _explore(runs, out, *extra):
    return main(["explore", "--model", str(runs["model"]), "--segmenter", str(runs["seg"]), "--images",
                 str(runs["images"]), "--out", str(out), "--device", "cpu", *extra])


def test_explore_writes_everything_it_promises(runs, tmp_path, capsys):
    out = tmp_path / "out"
    assert _explore(runs, out, "--samples", "3", "--seed", "5", "--downsample") == 0
    printed = capsys.readouterr()
    assert "explored 3 image(s) with 3 sample(s) each" in printed.out
    assert "explore: " in printed.err                              # the progress bar (tqdm writes to stderr)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_images"] == 3 and summary["samples"] == 3 and summary["seed"] == 5
    assert summary["style_source"] == "lr" and summary["downsample"] is True
    assert [e["image"] for e in summary["images_explored"]] == ["person0.png", "person1.png", "person2.png"]
    for e in summary["images_explored"]:
        d = out / e["folder"]
        names = ["mask.png", "lr.png", "output.png", "input_hr.png", "styles.safetensors", "contact_sheet.png",
                 "samples/sample_000.png", "samples/sample_001.png", "samples/sample_002.png"]
        for name in names:
            assert (d / name).is_file() and (d / name).stat().st_size > 0, f"{e['folder']}/{name} missing"
        assert sorted(e["files"]["samples"]) == names[-3:]
        with Image.open(d / "mask.png") as m:                      # labels 0..18 coloured with the palette
            assert m.mode == "P" and m.size == (64, 64)
            assert np.asarray(m).max() <= 18
            assert m.getpalette()[:57] == [v for rgb in PALETTE for v in rgb]
        for name, size in (("lr.png", 8), ("output.png", 64), ("input_hr.png", 64), ("samples/sample_001.png", 64)):
            with Image.open(d / name) as im:
                assert im.mode == "RGB" and im.size == (size, size)
        with Image.open(d / "contact_sheet.png") as sheet:
            assert sheet.width > 3 * 64 and sheet.height > 2 * 64
        st = load_file(str(d / "styles.safetensors"))
        assert st["style"].shape == (19, 8) and st["samples"].shape == (3, 19, 8)
        assert torch.equal(st["samples"], sample_styles(st["style"], 3, noise="gaussian", scale=0.1, seed=5))
        assert e["notes"] and "--downsample: resized from 128 px" in e["notes"][0]


def test_explore_samples_are_deterministic_per_seed(runs, tmp_path):
    args = ("--samples", "2", "--no-progress", "--downsample")
    assert _explore(runs, tmp_path / "a", *args, "--seed", "1") == 0
    assert _explore(runs, tmp_path / "b", *args, "--seed", "1") == 0
    assert _explore(runs, tmp_path / "c", *args, "--seed", "2") == 0

    def pixels(run, name):
        return np.asarray(Image.open(tmp_path / run / "person1" / name))
    for name in ("samples/sample_000.png", "samples/sample_001.png", "output.png", "mask.png"):
        assert np.array_equal(pixels("a", name), pixels("b", name))
    assert np.array_equal(pixels("a", "output.png"), pixels("c", "output.png"))     # the seed only moves samples
    sa = load_file(str(tmp_path / "a" / "person1" / "styles.safetensors"))["samples"]
    sc = load_file(str(tmp_path / "c" / "person1" / "styles.safetensors"))["samples"]
    assert not torch.equal(sa, sc)


def test_explore_lr_inputs_guide_and_photo_handling(runs, tmp_path, capsys):
    imgs = tmp_path / "mixed"
    imgs.mkdir()
    rgb, _ = render_face(0, 200, 200, 64)
    Image.fromarray(rgb).convert("L").save(imgs / "gray.png")
    Image.fromarray(np.asarray(Image.fromarray(rgb).resize((8, 8), Image.BICUBIC))).save(imgs / "tiny.png")
    Image.fromarray(np.concatenate([rgb, rgb[:16]], 0)).save(imgs / "tall.png")
    guide = tmp_path / "guide.png"
    Image.fromarray(render_face(0, 201, 200, 64)[0]).save(guide)
    out = tmp_path / "out"
    rc = main(["explore", "--model", str(runs["model"]), "--segmenter", str(runs["seg"]), "--images", str(imgs),
               "--out", str(out), "--samples", "1", "--guide", str(guide), "--no-progress", "--device", "cpu"])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "gray.png: grayscale (mode L): converted to RGB" in err
    assert "tall.png: not square (64x80): centre-cropped to 64x64" in err
    assert "gray.png: 64x64 resized to the model's LR size 8x8" in err and "tiny.png" not in err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["style_source"] == "guide (HR encoder)" and summary["guide"] == str(guide)
    assert not (out / "tiny" / "input_hr.png").exists() and (out / "tiny" / "samples" / "sample_000.png").is_file()


def test_explore_refusals_name_the_problem(runs, tmp_path, capsys):
    guided = tmp_path / "guided"
    DeepSEE(load_config("smoke", ["model.variant=guided"]).model).save(guided)
    rc = main(["explore", "--model", str(guided), "--segmenter", str(runs["seg"]), "--images", str(runs["images"]),
               "--out", str(tmp_path / "o")])
    assert rc == 1 and "pass --guide IMAGE" in capsys.readouterr().err
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "notes.txt").write_text("not an image")
    rc = main(["explore", "--model", str(runs["model"]), "--segmenter", str(runs["seg"]), "--images", str(bad),
               "--out", str(tmp_path / "o2")])
    assert rc == 1 and "notes.txt: not an image file" in capsys.readouterr().err


def test_photo_item_is_an_hr_face_made_lr_with_its_predicted_mask(runs, tmp_path):
    """What the explorer notebook's face_image parameter uses: the photo (a non-square grayscale
    file here) as an HR face, made LR like the datasets, with the segmenter's mask."""
    from PIL import Image

    from deepsee.data import lr_from_hr
    from deepsee.seg import photo_item
    from deepsee.seg import load_segmenter
    src = sorted(runs["images"].iterdir())[0]
    odd = tmp_path / "me.png"
    Image.open(src).convert("L").crop((0, 0, 64, 48)).save(odd)
    notes = []
    it = photo_item(odd, load_segmenter(runs["seg"]), 64, 8, log=notes.append)
    assert it["hr"].shape == (3, 64, 64) and it["lr"].shape == (3, 8, 8) and it["mask"].shape == (64, 64)
    assert it["name"] == "me" and any("grayscale" in n for n in notes) and any("square" in n for n in notes)
    assert torch.allclose(it["lr"], lr_from_hr(it["hr"][None], 8, antialias=False)[0])
    assert it["mask"].dtype == torch.long and 0 <= int(it["mask"].min()) and int(it["mask"].max()) < 19


def test_photo_item_turns_an_exif_rotated_portrait_upright_and_crops_it(runs, tmp_path):
    """The one photo-to-item path (Fig. 17, the explorer): a phone portrait stored on its side with an EXIF
    orientation, taller than wide, gives the item of its upright centre square; no stretching."""
    from deepsee.seg import photo_item
    from deepsee.seg import load_segmenter
    seg = load_segmenter(runs["seg"])
    face = np.asarray(Image.open(sorted(runs["images"].iterdir())[0]).convert("RGB"))      # 128 x 128
    upright = np.concatenate([np.zeros((16, 128, 3), np.uint8), face, np.full((16, 128, 3), 255, np.uint8)])
    exif = Image.Exif()
    exif[0x0112] = 6                                                # stored 90 degrees off, as phones do
    Image.fromarray(np.rot90(upright, 1).copy()).save(tmp_path / "phone.png", exif=exif)   # 160 wide, 128 high
    Image.fromarray(face).save(tmp_path / "square.png")
    notes = []
    it = photo_item(tmp_path / "phone.png", seg, 64, 8, seg_sizes=(8, 32), log=notes.append)
    want = photo_item(tmp_path / "square.png", seg, 64, 8, seg_sizes=(8, 32), log=None)
    assert any("EXIF orientation 6" in n for n in notes) and any("centre-cropped to 128x128" in n for n in notes)
    for key in ("hr", "lr", "mask"):
        assert torch.equal(it[key], want[key]), key
    assert it["mask"].shape == (64, 64) and it["name"] == "phone"


def test_sampling_scale_defaults_to_the_run_profiles(runs, tmp_path):
    """Without --scale the samples use the model's run config's eval.oracle_scale (quick: 0.3); a model
    folder without its run config falls back to 0.1; --scale wins over both."""
    run = tmp_path / "run"
    (run / "model").mkdir(parents=True)
    for f in (runs["model"] / "model").iterdir():
        (run / "model" / f.name).write_bytes(f.read_bytes())
    load_config("smoke", ["eval.oracle_scale=0.3"]).save(run / "config.yaml")
    cases = {"run": (run, [], 0.3), "model_dir": (run / "model", [], 0.1), "given": (run, ["--scale", "0.2"], 0.2)}
    for name, (model, extra, want) in cases.items():
        out = tmp_path / name
        assert main(["explore", "--model", str(model), "--segmenter", str(runs["seg"]), "--images",
                     str(runs["images"]), "--out", str(out), "--device", "cpu", "--samples", "2", "--no-progress",
                     "--downsample", *extra]) == 0
        summary = json.loads((out / "summary.json").read_text())
        assert summary["scale"] == want, name
        st = load_file(str(out / summary["images_explored"][0]["folder"] / "styles.safetensors"))
        assert torch.equal(st["samples"], sample_styles(st["style"], 2, noise="gaussian", scale=want, seed=0))


def test_explore_consistent_answers_give_back_their_input(runs, tmp_path, capsys):
    """Issue 33: summary.json reports each image's LR-PSNR; --consistent projects the output and every
    sample onto the images whose downscaling is the LR input (>= 45 dB, the NTIRE 2021 bar; here >= 60)."""
    assert _explore(runs, tmp_path / "plain", "--samples", "2", "--no-progress", "--downsample") == 0
    assert _explore(runs, tmp_path / "cons", "--samples", "2", "--no-progress", "--downsample", "--consistent") == 0
    printed = capsys.readouterr().out
    assert "projected onto the consistent images" in printed
    assert float(printed.split("worst LR-PSNR ")[-1].split(" dB")[0]) >= 60
    plain = json.loads((tmp_path / "plain" / "summary.json").read_text())
    cons = json.loads((tmp_path / "cons" / "summary.json").read_text())
    assert cons["consistent"] is True and plain["consistent"] is False
    for p, c in zip(plain["images_explored"], cons["images_explored"]):
        assert p["consistency"]["output_lr_psnr"] < 40          # an untrained model ignores its input
        assert c["consistency"]["output_lr_psnr"] >= 60 and c["consistency"]["samples_lr_psnr_worst"] >= 60
        # the saved PNGs (uint8) still give back the LR input to within rounding
        lr = np.asarray(Image.open(tmp_path / "cons" / c["folder"] / "lr.png"), dtype=np.float64)
        out = torch.from_numpy(np.asarray(Image.open(tmp_path / "cons" / c["folder"] / "output.png"),
                                          dtype=np.float32)).permute(2, 0, 1)[None] / 127.5 - 1
        from deepsee.data import lr_from_hr
        down = (lr_from_hr(out, 8)[0].permute(1, 2, 0).numpy() + 1) * 127.5
        assert np.abs(down - lr).max() < 3


def test_explore_states_the_models_domain_and_warns_on_photos_far_from_it(runs, tmp_path, capsys):
    """Issue 32, item 3: the log and summary.json say what the model was trained on; a photo on which the
    segmenter is less confident than on any face of its own test split gets a warning (log and summary),
    and the outputs are still written."""
    from deepsee.seg.domain import write_confidence_reference
    seg = runs["seg"]
    write_confidence_reference(seg, {"mean": 0.999, "p05": 0.999, "min": 0.999, "n": 3}, "test")   # unreachable
    try:
        assert _explore(runs, tmp_path / "warn", "--samples", "1", "--no-progress", "--downsample") == 0
        err = capsys.readouterr().err
        assert "the model was trained on" in err and "WARNING far from the models' training domain" in err
        s = json.loads((tmp_path / "warn" / "summary.json").read_text())
        assert s["confidence_reference"]["min"] == 0.999 and "summary" in s["trained_on"]["model"]
        for e in s["images_explored"]:
            assert 0 < e["segmenter_confidence"] < 0.999 and e["domain_warning"].startswith("far from")
            assert (tmp_path / "warn" / e["folder"] / "output.png").is_file()
        write_confidence_reference(seg, {"mean": 0.1, "p05": 0.06, "min": 0.06, "n": 3}, "test")   # any face passes
        assert _explore(runs, tmp_path / "ok", "--samples", "1", "--no-progress", "--downsample") == 0
        s = json.loads((tmp_path / "ok" / "summary.json").read_text())
        assert all(e["domain_warning"] == "" for e in s["images_explored"])
    finally:
        (seg / "confidence.json").unlink()


def test_model_domain_reads_the_run_folder(runs):
    from deepsee.seg.domain import model_domain
    d = model_domain(runs["seg"])
    assert d["dataset"] == "renderedfaces" and d["labels"].startswith("19 ") and d["hr_size"] == 64   # fixtures.py
    assert d["summary"].startswith("renderedfaces; 19 CelebAMask-HQ face classes") and "px" in d["summary"]
    bare = model_domain(runs["model"] / "model")        # a model folder alone records no dataset
    assert "not recorded" in bare["summary"]


def test_the_shipped_scenes_model_explores_scenes_with_the_segmenter_of_its_label_set(tmp_path, capsys):
    """Issue 32: ``deepsee explore --model <the shipped scenes model>`` on scene images; without --segmenter it takes
    the shipped segmenter of the model's label set (the scenes segmenter), and a model of a label set without a shipped
    segmenter is refused with the way out."""
    from deepsee.apps.explore import default_models
    from deepsee.data.synthscenes import render_scene
    from deepsee.showcase import shipped
    model = shipped("scenes-independent")
    assert default_models(str(model), None)[1] == shipped("scenes-segmenter")
    assert default_models(str(shipped("independent")), None)[1] == shipped("segmenter")
    images = tmp_path / "scenes"
    images.mkdir()
    for i in range(2):
        Image.fromarray(render_scene(7, 500 + i, 128)[0]).save(images / f"scene{i}.png")
    assert main(["explore", "--model", str(model), "--images", str(images), "--out", str(tmp_path / "out"),
                 "--device", "cpu", "--samples", "2", "--no-progress", "--downsample"]) == 0
    assert "scenes-segmenter" in capsys.readouterr().err
    s = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert s["n_images"] == 2 and s["trained_on"]["model"]["label_set"] == "outdoor"
    for e in s["images_explored"]:
        mask = np.array(Image.open(tmp_path / "out" / e["folder"] / "mask.png"))
        assert mask.shape == (128, 128) and mask.max() < 8 and len(np.unique(mask)) >= 2   # outdoor classes
        assert e["domain_warning"] == ""                    # SynthScenes: the scenes models' own domain
    from deepsee.labels import LabelSet
    custom = LabelSet(name="mine", classes=("a", "b"), labels=("A", "B"), palette=((0, 0, 0), (9, 9, 9)),
                      regions={"all": (0, 1)}).save(tmp_path / "mine.json")
    torch.manual_seed(0)
    two = load_config("smoke").model
    two.num_classes = 2
    DeepSEE(two, labels=str(custom)).save(tmp_path / "m" / "model")
    with pytest.raises(ValueError, match="pass --segmenter"):
        default_models(str(tmp_path / "m"), None)
