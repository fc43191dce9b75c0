"""deepsee.eval: evaluate() on a stand-in model and a tiny dataset, Tables 6/7 and the results writer, CLI."""
from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from deepsee.eval.methods import evaluate_methods
from deepsee.eval import (COLUMNS, bicubic_upsample, evaluate, quoted_rows, table6, table7, table_name,
                          write_results_table)
from deepsee.metrics import FeatureDistance, fid_from_features, inception_features, psnr, ssim
from fixtures import accept_weights, standin_alexnet


class StandIn(torch.nn.Module):
    """DeepSEE's interface: encode_style(image, mask, source) -> [B, 19, d]; forward(lr, mask, style)."""

    def __init__(self, offset: float = 0.0, variant: str = "independent"):
        super().__init__()
        self.cfg = SimpleNamespace(variant=variant)
        self.offset = offset
        self.scale = torch.nn.Parameter(torch.ones(()))
        self.sources = []
        self.test_time_source = "lr"

    def encode_style(self, image, mask, source):
        self.sources.append((source, image.shape[-1]))
        return image.mean((1, 2, 3))[:, None, None].expand(-1, 19, 4)

    def forward(self, lr, mask, style):
        assert style.shape == (lr.shape[0], 19, 4)
        return bicubic_upsample(lr, mask.shape[-2:]) * self.scale + self.offset


def tiny_dataset(n=5, size=32, factor=4, guided=False):
    g = torch.Generator().manual_seed(0)
    items = []
    for i in range(n):
        hr = (torch.rand(3, size, size, generator=g) * 2 - 1)
        hr = F.avg_pool2d(hr[None], 3, 1, 1)[0]                         # some spatial correlation
        lr = F.interpolate(hr[None], scale_factor=1 / factor, mode="bicubic", align_corners=False)[0].clamp(-1, 1)
        mask = torch.randint(0, 19, (size, size), generator=g)
        it = {"hr": hr, "lr": lr, "mask": mask, "name": f"img{i:03d}", "identity": i // 2}
        if guided:
            it["guide_hr"], it["guide_mask"] = hr.flip(-1), mask.flip(-1)
        items.append(it)
    return items


class MeanRGB(torch.nn.Module):
    def forward(self, x):
        return [torch.cat([x.mean((2, 3)), x.std((2, 3))], 1)[:, :, None, None]]


def test_evaluate_reports_lr_consistency_and_the_projected_outputs():
    """Issue 33: every method's LR-PSNR; with consistent=True the projected outputs are scored as well and
    give back the LR input (>= 60 dB), where the model's own outputs (an offset) do not."""
    ds = tiny_dataset()
    per, summ = evaluate(StandIn(offset=0.2), ds, batch_size=2, consistent=True, progress=False)
    means = summ["methods"]
    assert set(means) == {"Bicubic", "ours (independent)", "ours (independent) consistent"}
    plain, proj = means["ours (independent)"], means["ours (independent) consistent"]
    # an offset of 0.2 everywhere is 0.1 in [0, 1] units on the LR grid: 20 dB (minus clamping at the range ends)
    assert 19 < plain["lr_psnr"] < 22 and proj["lr_psnr_worst"] >= 60
    assert proj["psnr"] > plain["psnr"]                       # removing what the LR image contradicts helps here
    assert summ["lr_psnr"] == pytest.approx(plain["lr_psnr"]) and "lr_psnr_worst" in summ
    rows, _ = evaluate_methods({"independent": StandIn(offset=0.2)}, ds, consistent=True)
    assert [r["method"] for r in rows] == ["Bicubic", "ours (independent)", "ours (independent, consistent)"]
    assert rows[2]["lr_psnr_worst"] >= 60 and "projected" in rows[2]["note"]
    t = table6(rows, "smoke", "synthfaces")
    assert t.loc[t.source == "quoted", "lr_psnr"].isna().all()
    assert t.loc[t.method == "ours (independent, consistent)", "lr_psnr_worst"].iloc[0] >= 60


def test_evaluate_standin_model_and_bicubic_rows():
    ds = tiny_dataset()
    model = StandIn(offset=0.0)
    fd = FeatureDistance(lambda x: [x, F.avg_pool2d(x, 2)])
    per, summ = evaluate(model, ds, batch_size=2, perceptual=fd, fid=True, fid_model=MeanRGB(), progress=False)
    assert list(per.columns) == ["method", "name", "identity", "psnr", "ssim", "lr_psnr", "segfeatdist"]
    assert per["method"].tolist() == ["Bicubic", "Bicubic", "ours (independent)", "ours (independent)"] * 2 + \
        ["Bicubic", "ours (independent)"]
    bic = per[per.method == "Bicubic"].reset_index(drop=True)
    ours = per[per.method == "ours (independent)"].reset_index(drop=True)
    hr = torch.stack([d["hr"] for d in ds])
    up = bicubic_upsample(torch.stack([d["lr"] for d in ds]), 32)
    assert np.allclose(bic["psnr"], psnr(up, hr)) and np.allclose(bic["ssim"], ssim(up, hr))
    assert np.allclose(bic["segfeatdist"], fd(up, hr).numpy())
    # the stand-in reproduces bicubic, so its scores are the same numbers
    assert np.allclose(ours[["psnr", "ssim", "segfeatdist"]], bic[["psnr", "ssim", "segfeatdist"]])
    assert bic["name"].tolist() == [d["name"] for d in ds] and bic["identity"].tolist() == [0, 0, 1, 1, 2]
    assert model.sources == [("lr", 8)] * 3
    # summary: the evaluated method as a table row, plus every method's means
    assert summ["evaluated"] == "ours (independent)" and summ["n_images"] == 5
    assert summ["psnr"] == pytest.approx(float(bic["psnr"].mean()))
    assert summ["lpips"] == pytest.approx(float(bic["segfeatdist"].mean()))
    assert summ["perceptual_metric"] == "SegFeatDist (LPIPS substitute)"
    ref = fid_from_features(inception_features(up, MeanRGB()), inception_features(hr, MeanRGB()))
    assert summ["methods"]["Bicubic"]["fid"] == pytest.approx(ref, rel=1e-6)
    assert summ["fid"] == pytest.approx(ref, rel=1e-6)
    assert set(summ["metric_settings"]) >= {"psnr", "ssim", "lpips", "fid"}


def test_evaluate_bicubic_only_and_a_different_model():
    ds = tiny_dataset()
    per, summ = evaluate(None, ds, max_images=3, progress=False)
    assert per["method"].unique().tolist() == ["Bicubic"] and len(per) == 3
    assert "segfeatdist" not in per and "lpips" not in per
    assert summ["evaluated"] == "Bicubic" and summ["lpips"] is None and summ["fid"] is None
    assert summ["perceptual_metric"].startswith("unavailable")
    per2, summ2 = evaluate(StandIn(offset=0.2), ds, max_images=3, bicubic=False, label="shifted", progress=False)
    assert per2["method"].unique().tolist() == ["shifted"]
    assert summ2["psnr"] < summ["psnr"]                          # a worse model scores worse


def test_evaluate_guided_uses_the_guide_image():
    ds = tiny_dataset(guided=True)
    model = StandIn(variant="guided")
    per, summ = evaluate(model, ds, batch_size=5, style_source="guide", progress=False)
    assert model.sources == [("hr", 32)]
    assert summ["style_source"] == "guide" and summ["evaluated"] == "ours (guided)"
    with pytest.raises(KeyError, match="guided=True"):
        evaluate(StandIn(), tiny_dataset(), style_source="guide", progress=False)
    with pytest.raises(ValueError, match="style_source"):
        evaluate(StandIn(), ds, style_source="hr", progress=False)


def test_evaluate_fid_without_weights_fails_early(tmp_path, monkeypatch):
    from deepsee.weights import MissingWeightsError
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(MissingWeightsError, match="deepsee weights fetch inception_fid"):
        evaluate(None, tiny_dataset(), fid=True, progress=False)


def test_table6_quoted_and_measured_rows():
    _, summ = evaluate(None, tiny_dataset(), progress=False)
    rows = [{"method": "Bicubic", **summ},
            {"method": "ours (independent)", "psnr": 21.0, "ssim": 0.6, "lpips": 0.2, "fid": None,
             "weights": "trained: runs/sr-quick", "perceptual_metric": "LPIPS alex v0.1", "split_size": "test 200"}]
    t = table6(rows, profile="quick", dataset="synthfaces")
    assert list(t.columns) == COLUMNS
    q = t[t.source == "quoted"]
    assert q["method"].tolist() == ["Bicubic", "FSRNet (MSE)", "FSRNet (GAN)", "Kim et al.", "ours (independent)",
                                    "ours (guided)"]
    assert q.iloc[0][["psnr", "ssim", "lpips", "fid"]].tolist() == [20.67, 0.5917, 0.5625, 159.60]
    assert (q["dataset"] == "CelebA").all() and (q["split_size"] == "test 19962").all()
    m = t[t.source == "measured"].reset_index(drop=True)
    assert m["dataset"].tolist() == ["SynthFaces", "SynthFaces"] and (m["profile"] == "quick").all()
    assert m.loc[0, "weights"] == "n/a" and m.loc[0, "perceptual_metric"].startswith("unavailable")
    assert m.loc[0, "psnr"] == pytest.approx(summ["psnr"]) and np.isnan(m.loc[0, "lpips"])
    assert m.loc[1, "weights"] == "trained: runs/sr-quick" and np.isnan(m.loc[1, "fid"])
    t7 = table7([], profile="paper")
    assert len(t7) == 5 and t7.loc[0, "fid"] == pytest.approx(125.148)
    assert (t7["dataset"] == "CelebAMask-HQ").all()
    with pytest.raises(KeyError):
        table6([{"psnr": 1.0}], profile="quick")


def test_quoted_rows_carry_the_papers_numbers():
    q = quoted_rows("table7").set_index("method")
    assert q.loc["ours (guided)", ["psnr", "ssim", "lpips", "fid"]].tolist() == [23.94, 0.6887, 0.1519, 22.02]
    assert q.loc["GWAInet", "fid"] == 28.79
    assert (q["source"] == "quoted").all() and (q["weights"] == "n/a (published numbers)").all()
    assert q.loc["Bicubic", "note"].startswith(
        "quoted from the supplementary material, Table 7; CelebAMask-HQ test 2824")
    with pytest.raises(KeyError):
        quoted_rows("table8")


def test_write_results_table(tmp_path):
    t = table6([], profile="smoke")
    name = table_name("table6", "synthfaces")
    assert name == "table6_synthfaces_8x"
    path = write_results_table(t, name, "smoke", results_dir=tmp_path)
    assert path == tmp_path / "table6_synthfaces_8x_smoke.csv"
    back = pd.read_csv(path)
    assert list(back.columns) == COLUMNS and len(back) == 6
    meta = json.loads(path.with_suffix(".meta.json").read_text())
    assert meta["profile"] == "smoke" and meta["table"] == name
    assert meta["metric_settings"]["ssim"]["sigma"] == 1.5
    assert "lpips" in meta["versions"] and "pytorch-fid" in meta["versions"]


@pytest.fixture
def tiny_data_as():
    """``tiny_data_as(factory)`` -> the CLI options that make ``data.dataset=tiny`` build ``factory(cfg, split, ...)``
    (the kit's extension point ``deepsee.data.register_dataset``), for this test."""
    from deepsee.data import register_dataset

    def use(factory):
        register_dataset("tiny", factory)
        return ["--set", "data.dataset=tiny"]
    yield use
    register_dataset("tiny", None)


def test_cli_evaluate_bicubic(tmp_path, data_root, tiny_data_as):
    from deepsee.cli import main
    ds = tiny_dataset(n=4)
    seen = {}

    def dataset(cfg, split, train=None, guided=False, progress=True):
        seen.update(split=split, guided=guided)
        return ds
    out = tmp_path / "ev"
    rc = main(["evaluate", "--checkpoint", "bicubic", "--config", "smoke", "--out", str(out), "--no-progress",
               "--perceptual", "none", "--fid", "off", "--max-images", "3", *tiny_data_as(dataset)])
    assert rc == 0 and seen == {"split": "test", "guided": False}
    per = pd.read_csv(out / "per_image.csv")
    assert len(per) == 3 and set(per["method"]) == {"Bicubic"}
    summ = json.loads((out / "summary.json").read_text())
    assert summ["split_size"] == "test 3" and summ["weights"] == "n/a" and summ["profile"] == "smoke"
    assert summ["psnr"] == pytest.approx(per["psnr"].mean())
    assert (out / "per_image.meta.json").is_file()


def test_evaluate_style_source_follows_the_model_encoders():
    ds = tiny_dataset(n=2, guided=True)

    class NoStyle(StandIn):
        style_sources = ()

        def forward(self, lr, mask, style):
            assert style is None
            return bicubic_upsample(lr, mask.shape[-2:])
    no_style = NoStyle()
    _, summ = evaluate(no_style, ds, progress=False)
    assert summ["style_source"] == "none" and no_style.sources == []
    hr_only = StandIn()
    hr_only.style_sources = ("hr",)
    with pytest.raises(ValueError, match="guide"):
        evaluate(hr_only, ds, style_source="lr", progress=False)


def _smoke_model():
    from deepsee.config import load_config
    from deepsee.models.deepsee import DeepSEE
    torch.manual_seed(0)
    return DeepSEE(load_config("smoke").model)


def test_evaluate_real_deepsee_smoke_model():
    model = _smoke_model()
    ds = tiny_dataset(n=2, size=64, factor=8)
    per, summ = evaluate(model, ds, progress=False)
    assert summ["evaluated"] == "ours (independent)" and len(per) == 4
    assert np.isfinite(per["psnr"]).all() and per["ssim"].between(-1, 1).all()


def test_cli_evaluate_saved_model(tmp_path, data_root, tiny_data_as):
    from deepsee.cli import main
    run = tmp_path / "runs" / "sr-smoke"
    _smoke_model().save(run / "model")
    rc = main(["evaluate", "--checkpoint", str(run), "--config", "smoke", "--no-progress",
               "--perceptual", "none", "--fid", "off",
               *tiny_data_as(lambda cfg, split, **kw: tiny_dataset(n=2, size=64, factor=8))])
    assert rc == 0
    summ = json.loads((run / "eval-test" / "summary.json").read_text())
    assert summ["evaluated"] == "ours (independent)" and summ["weights"] == f"trained: {run}"
    assert set(summ["methods"]) == {"Bicubic", "ours (independent)"}
    per = pd.read_csv(run / "eval-test" / "per_image.csv")
    assert len(per) == 4


def test_cli_evaluate_fid_caches_reference_statistics(tmp_path, monkeypatch, data_root, tiny_data_as):
    import deepsee.eval.cli
    from deepsee.cli import main
    tiny = tiny_data_as(lambda cfg, split, **kw: tiny_dataset(n=4))
    monkeypatch.setattr(deepsee.eval.cli, "build_inception", lambda device="cpu": MeanRGB())
    monkeypatch.setattr(deepsee.eval.cli, "fid_weights_id", lambda: "standin")
    args = ["evaluate", "--checkpoint", "bicubic", "--config", "smoke", "--no-progress", "--perceptual", "none",
            "--max-images", "4", *tiny]
    assert main(args + ["--fid", "on", "--out", str(tmp_path / "a")]) == 0
    from deepsee.config import dataset_root, load_config
    cache = dataset_root(load_config("smoke", ["data.dataset=tiny"]).data) / "fid_stats" / "fid_tiny_test_32px_n4_standin.npz"
    assert cache.is_file()
    summ = json.loads((tmp_path / "a" / "summary.json").read_text())
    ds = tiny_dataset(n=4)
    up = bicubic_upsample(torch.stack([d["lr"] for d in ds]), 32)
    hr = torch.stack([d["hr"] for d in ds])
    assert summ["fid"] == pytest.approx(fid_from_features(inception_features(up, MeanRGB()),
                                                           inception_features(hr, MeanRGB())), rel=1e-6)
    # auto without the FID weights: skipped, and the note says so
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    assert main(args + ["--fid", "auto", "--out", str(tmp_path / "b")]) == 0
    summ = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert summ["fid"] is None and "FID skipped: missing pretrained weights 'inception_fid'" in summ["note"]


def test_cli_evaluate_perceptual_auto_says_which_metric(tmp_path, monkeypatch, data_root, capsys, tiny_data_as):
    """The README's command on an offline machine: auto = LPIPS when its weights are present, else the
    weight-free substitute; console and summary.json say which."""
    from deepsee.cli import main
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-hub"))           # no AlexNet weights
    args = ["evaluate", "--checkpoint", "bicubic", "--config", "smoke", "--no-progress", "--fid", "off",
            *tiny_data_as(lambda cfg, split, **kw: tiny_dataset(n=2))]
    assert main(args + ["--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    summ = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summ["perceptual_choice"]["requested"] == "auto"
    assert summ["perceptual_choice"]["used"] == summ["perceptual_metric"] == "TexStatDist (LPIPS substitute)"
    assert "LPIPS unavailable" in summ["perceptual_choice"]["why"] and "LPIPS unavailable" in summ["note"]
    assert "perceptual metric: TexStatDist (LPIPS substitute) (--perceptual auto; LPIPS unavailable" in out
    assert summ["lpips"] is not None                                       # the substitute's mean
    # LPIPS present: auto takes it (a stand-in in LPIPS's place)
    # explicit lpips refuses without the weights; segfeat needs a segmenter
    assert main(args + ["--perceptual", "lpips", "--out", str(tmp_path / "c")]) == 1
    assert "alexnet" in capsys.readouterr().err
    assert main(args + ["--perceptual", "segfeat", "--out", str(tmp_path / "d")]) == 1
    assert "--segmenter" in capsys.readouterr().err
    # LPIPS present (stand-in AlexNet weights where torchvision looks): auto takes it
    hub = tmp_path / "empty-hub" / "hub" / "checkpoints" / "alexnet-owt-7be5be79.pth"
    standin_alexnet(hub, full=False)
    accept_weights(monkeypatch, "alexnet", hub)
    assert main(args + ["--out", str(tmp_path / "b")]) == 0
    summ = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert summ["perceptual_choice"] == {"requested": "auto", "used": "LPIPS alex v0.1", "why": ""}
    assert "perceptual metric: LPIPS alex v0.1 (--perceptual auto)" in capsys.readouterr().out


def test_cli_evaluate_truncated_model_names_the_file(tmp_path, capsys):
    from deepsee.cli import main
    run = tmp_path / "runs" / "sr-smoke"
    _smoke_model().save(run / "model")
    weights = run / "model" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:40])
    assert main(["evaluate", "--checkpoint", str(run), "--config", "smoke", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert str(weights) in err and "truncated or corrupt" in err and "deepsee weights status" in err
