"""Label sets as data (issue 32 item 1): the set is named in the configuration, carried and saved by models and
segmenters, and every consumer (walks, edits, explorer, style usage, figures) takes it from there."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from deepsee.labels import FACES, OUTDOOR, LabelSet, label_set, of, read_saved
from fixtures import randomize


def _outdoor_model(**overrides):
    from deepsee.config import load_config
    from deepsee.models import DeepSEE
    cfg = load_config("smoke", ["data.dataset=synthscenes", "data.labels=outdoor"]
                      + [f"model.{k}={v}" for k, v in overrides.items()])
    torch.manual_seed(0)
    return randomize(DeepSEE(cfg.model, labels=cfg.data.labels)), cfg


def _scene(H: int) -> torch.Tensor:
    """Sky on top, a mountain band, water below, a building block: an outdoor label map [H, W]."""
    m = torch.zeros(H, H, dtype=torch.long)
    m[: H // 3] = OUTDOOR.class_id("sky")
    m[H // 3: H // 2] = OUTDOOR.class_id("mountain")
    m[H // 2:] = OUTDOOR.class_id("water")
    m[H // 3: 2 * H // 3, H // 8: H // 3] = OUTDOOR.class_id("building")
    return m


def test_shipped_sets_and_their_checks():
    assert FACES.num_classes == 19 and OUTDOOR.num_classes == 8
    assert FACES.classes[FACES.regions["lips"][0]] == "u_lip"
    assert OUTDOOR.classes == ("background", "sky", "water", "grass", "mountain", "building", "plant", "animal")
    assert FACES.mirror()[4] == 5 and OUTDOOR.mirror() == list(range(8))
    base = OUTDOOR.to_dict()
    with pytest.raises(ValueError, match="repeat"):
        LabelSet.from_dict({**base, "classes": ["a", "a"] + base["classes"][2:]})
    with pytest.raises(ValueError, match="palette"):
        LabelSet.from_dict({**base, "palette": base["palette"][:-1]})
    with pytest.raises(ValueError, match="region 'sky'"):
        LabelSet.from_dict({**base, "regions": {**base["regions"], "sky": [9]}})
    with pytest.raises(ValueError, match="needs the classes"):
        LabelSet.from_dict({**base, "edits": ["close_eyes"]})
    with pytest.raises(ValueError, match="unknown field"):
        LabelSet.from_dict({**base, "colour": []})
    assert "needs the classes" in OUTDOOR.skip_reason("open_mouth") and FACES.skip_reason("open_mouth") == ""


def test_label_set_from_name_file_and_dict(tmp_path):
    assert label_set(None) is FACES and label_set("outdoor") is OUTDOOR
    own = LabelSet.from_dict({**OUTDOOR.to_dict(), "name": "my-scenes"})
    p = own.save(tmp_path / "mine.json")
    assert label_set(p) == own and label_set(own.to_dict()) == own
    import yaml
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump(own.to_dict()))
    assert label_set(tmp_path / "mine.yaml") == own
    with pytest.raises(ValueError, match="shipped: celebamaskhq, outdoor"):
        label_set("cityscapes")
    with pytest.raises(FileNotFoundError, match="nothere.json"):
        label_set(tmp_path / "nothere.json")
    assert read_saved(tmp_path) is FACES            # no labels.json: a model from before label sets (faces)


def test_config_names_the_set_and_sets_the_class_count():
    from deepsee.config import load_config
    assert load_config("smoke").model.num_classes == 19
    cfg = load_config("smoke", ["data.dataset=synthscenes", "data.labels=outdoor"])
    assert cfg.model.num_classes == 8 and of(cfg) is OUTDOOR
    with pytest.raises(ValueError, match="data.labels=outdoor, but data.dataset='synthfaces'"):
        load_config("smoke", ["data.labels=outdoor"])
    with pytest.raises(ValueError, match="set data.labels=outdoor"):
        load_config("smoke", ["data.dataset=ade20k"])
    with pytest.raises(ValueError, match="model.num_classes=19, but data.labels='outdoor'"):
        load_config("smoke", ["data.dataset=synthscenes", "data.labels=outdoor", "model.num_classes=19"])
    with pytest.raises(ValueError, match="data.labels='nope'"):
        load_config("smoke", ["data.labels=nope"])


def test_model_carries_and_saves_its_set_and_face_folders_load_unchanged(tmp_path):
    from deepsee.models import DeepSEE
    model, cfg = _outdoor_model()
    assert model.labels is OUTDOOR and model.style_noise.weight.shape == (8,)
    d = model.save(tmp_path / "scenes")
    assert json.loads((d / "config.json").read_text())["labels"]["name"] == "outdoor"
    back = DeepSEE.load(d)
    assert back.labels == OUTDOOR
    # a folder written before label sets (no "labels" entry) is a face model, its keys unchanged
    from deepsee.config import load_config
    face = DeepSEE(load_config("smoke").model)
    fd = face.save(tmp_path / "faces")
    meta = json.loads((fd / "config.json").read_text())
    del meta["labels"]
    (fd / "config.json").write_text(json.dumps(meta))
    old = DeepSEE.load(fd)
    assert old.labels is FACES and list(old.state_dict()) == list(face.state_dict())
    with pytest.raises(ValueError, match="has 19 classes, but model.num_classes=8"):
        DeepSEE(cfg.model, labels="celebamaskhq")


def test_walks_engine_and_style_usage_use_the_models_regions():
    from deepsee.explore import ExplorationEngine
    from deepsee.eval.style_usage import region_control_rows
    from deepsee.paper.rows import region_walk_rows
    model, cfg = _outdoor_model()
    m = cfg.model
    lr = torch.rand(1, 3, m.lr_size, m.lr_size, generator=torch.Generator().manual_seed(0)) * 2 - 1
    mask = _scene(m.hr_size)
    item = {"lr": lr[0], "mask": mask, "hr": torch.zeros(3, m.hr_size, m.hr_size), "name": "scene"}
    eng = ExplorationEngine(model, lr, mask)
    assert eng.labels is OUTDOOR
    eng.set_style(torch.zeros(1, 8, m.style_dim))
    walk = eng.walk(delta=0.3, steps=3, classes="sky")
    change = (walk[2] - walk[0]).abs().mean(0)
    sky = OUTDOOR.region_pixels(mask, "sky")
    assert change[sky].mean() > change[~sky].mean()       # the sky rows act on the sky first
    rows = region_walk_rows(model, item, ["sky", "water"])
    assert [r["region"] for r in rows] == ["sky", "water"] and torch.equal(rows[0]["highlight"], sky)
    rc = region_control_rows(model, [item], steps=1)
    assert set(rc.region) - {"global"} <= set(OUTDOOR.usage_regions)
    assert {"sky", "water", "mountain", "building"} <= set(rc.region)


def test_edits_explorer_and_figures_speak_the_models_set(tmp_path):
    from deepsee.explore import edits
    from deepsee.explore.widgets import Explorer, ExplorerState, on_mask_edit
    from deepsee.viz import colorize
    from deepsee.viz.palette import legend_handles
    mask = _scene(16)
    out = edits.relabel(mask, "sky", "water", labels="outdoor")
    assert int((out == 2).sum()) == int(((mask == 1) | (mask == 2)).sum())
    with pytest.raises(ValueError, match="unknown class or region name 'hair'"):
        edits.relabel(mask, "hair", "sky", labels="outdoor")
    grown = edits.grow(mask, "building", 2, labels="outdoor")
    assert (grown == 5).sum() > (mask == 5).sum()
    rgb = colorize(mask, "outdoor")
    assert tuple(rgb[0, 0]) == OUTDOOR.palette[1]
    with pytest.raises(ValueError, match="label set 'outdoor'"):
        colorize(torch.full((4, 4), 12), "outdoor")
    assert [h.get_label() for h in legend_handles([1, 2], "outdoor")] == ["sky", "water"]

    class StandIn:
        model = type("M", (), {"labels": OUTDOOR})()

        def set_mask(self, m):
            self.mask = m

        def generate(self, styles, progress=False):
            return torch.zeros(len(styles), 3, 16, 16)

    st = ExplorerState(engine=StandIn(), lr=torch.zeros(1, 3, 4, 4), mask0=mask, style0=torch.zeros(8, 4))
    assert st.labels is OUTDOOR
    ex = Explorer(st)
    assert list(ex.sliders) == list(OUTDOOR.walk_regions)
    assert [o[0] for o in ex.cls.options] == list(OUTDOOR.classes)
    on_mask_edit(st, "relabel", "building", target="grass")
    assert int((st.mask == 5).sum()) == 0 and int((st.mask == 3).sum()) == int((mask == 5).sum())


def test_segmenter_flip_and_class_weights_follow_the_set():
    from deepsee.seg.train import mirror_labels, random_flip
    assert torch.equal(mirror_labels(8, OUTDOOR), torch.arange(8))
    lr, m = torch.zeros(4, 3, 4, 4), torch.full((4, 8, 8), 4)
    m[:, :, :2] = 5                     # left: l_eye for faces
    torch.manual_seed(1)
    _, faces = random_flip(lr, m.clone())
    torch.manual_seed(1)
    _, scenes = random_flip(lr, m.clone(), labels=OUTDOOR)
    flipped = (faces[:, :, -2:] == 4).all(-1).all(-1)
    assert flipped.any()                                        # faces: l_eye <-> r_eye swapped on a flip
    assert set(np.unique(scenes.numpy())) == {4, 5}             # scenes: classes kept, only positions flip


def test_face_only_figures_say_why_they_are_skipped(tmp_path, capsys):
    """A user's own label set without glasses or a mouth: notebook 42's face edits are skipped, with the reason."""
    from deepsee.pipeline import setup
    d = FACES.to_dict()
    d.update(name="faces-no-glasses", classes=[c if c != "eye_g" else "scarf" for c in FACES.classes],
             edits=["close_eyes", "open_mouth", "close_mouth", "add_hair"])
    path = LabelSet.from_dict(d).save(tmp_path / "own.json")
    P = setup("smoke", run_root=str(tmp_path / "runs"), out_dir=str(tmp_path / "out"), interactive=False,
              overrides=[f"data.labels={path}"])
    assert P.labels.name == "faces-no-glasses"
    why = P.face_only("Figs. 8, 9 and 16", "close_eyes", "remove_glasses")
    assert why.startswith("Figs. 8, 9 and 16 skipped: remove_glasses skipped for label set 'faces-no-glasses'")
    assert "needs the classes eye_g" in why and why in capsys.readouterr().out
    assert setup("smoke", run_root=str(tmp_path / "r2"), out_dir=str(tmp_path / "o2"),
                 interactive=False).face_only("Fig. 8", "close_eyes", "remove_glasses") == ""


def test_deepsee_explore_runs_a_scenes_model_and_refuses_a_face_segmenter(tmp_path, capsys):
    """``deepsee explore --model`` on an outdoor-scenes model: the mask PNG carries the outdoor palette, the styles
    have 8 rows, the summary names the label set; a face segmenter with a scenes model is refused, naming both."""
    from PIL import Image
    from safetensors.torch import load_file

    from deepsee.cli import main
    from deepsee.config import load_config
    from deepsee.data import generate_synthscenes
    from deepsee.models import DeepSEE
    from deepsee.seg import train_segmenter
    from fixtures import smoke_segmenter
    data = generate_synthscenes(tmp_path / "scenes", n=12, size=64, seed=0, splits=[8, 2, 2], workers=0,
                                progress=False)
    cfg = load_config("smoke-scenes", [f"run_root={tmp_path / 'runs'}", f"data.root={data}", "device=cpu"])
    seg = train_segmenter(cfg)
    torch.manual_seed(0)
    model = tmp_path / "runs" / "sr-scenes"
    DeepSEE(cfg.model, labels=cfg.data.labels).save(model / "model")
    images = tmp_path / "images"
    images.mkdir()
    for p in sorted((data / "images" / "validation").glob("*.jpg"))[:2]:
        Image.open(p).save(images / (p.stem + ".png"))
    out = tmp_path / "out"
    args = ["explore", "--model", str(model), "--images", str(images), "--device", "cpu", "--samples", "2"]
    assert main(args + ["--segmenter", str(seg), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["labels"] == "outdoor" and summary["trained_on"]["model"]["label_set"] == "outdoor"
    d = out / summary["images_explored"][0]["folder"]
    with Image.open(d / "mask.png") as m:
        assert m.getpalette()[:24] == [v for rgb in OUTDOOR.palette for v in rgb] and np.asarray(m).max() <= 7
    assert load_file(str(d / "styles.safetensors"))["samples"].shape == (2, 8, cfg.model.style_dim)
    face_seg = smoke_segmenter(load_config("smoke", [f"run_root={tmp_path / 'faces'}", "device=cpu"]))
    capsys.readouterr()
    assert main(args + ["--segmenter", str(face_seg), "--out", str(tmp_path / "out2")]) != 0
    err = capsys.readouterr().err
    assert "predicts the label set celebamaskhq (19 face classes)" in err and "takes outdoor (8" in err
    assert not (tmp_path / "out2").exists()                    # refused before anything is written
