"""deepsee.eval.style_usage: the measurements of how much a model uses its style space."""
from __future__ import annotations

import pandas as pd
import pytest
import torch

from deepsee.config import load_config
from deepsee.eval.style_usage import (high_pass, information_rows, region_control_rows, region_stats,
                                         style_usage, summarize_style_usage)
from deepsee.models import DeepSEE


def _model(variant="independent", seed=0):
    torch.manual_seed(seed)
    cfg = load_config("smoke", [f"model.variant={variant}"]).model
    return DeepSEE(cfg).eval()


def _items(n=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(n):
        mask = torch.zeros(64, 64, dtype=torch.long)
        mask[8:44, 12:52] = 1            # skin
        mask[4:14, 10:54] = 13           # hair
        mask[30:35, 24:40] = 11          # upper lip
        mask[35:38, 24:40] = 12          # lower lip
        mask[20:24, 18:26] = 4           # eyes
        mask[20:24, 38:46] = 5
        mask[46:, :] = 18                # cloth
        hr = torch.rand(3, 64, 64, generator=g) * 2 - 1
        lr = torch.nn.functional.interpolate(hr[None], size=(8, 8), mode="area")[0]
        out.append({"lr": lr, "hr": hr, "mask": mask, "name": f"img{i}"})
    return out


def _l1(a, b):
    return (a - b).abs().mean((1, 2, 3))


def test_high_pass_and_region_stats():
    flat = torch.full((1, 3, 32, 32), 0.3)
    assert high_pass(flat).abs().max() < 1e-6
    checker = ((torch.arange(32)[:, None] + torch.arange(32)[None]) % 2).float().expand(1, 3, 32, 32)
    assert high_pass(checker).pow(2).mean().sqrt() > 0.3
    mask = torch.zeros(32, 32, dtype=torch.long)
    mask[:, 16:] = 13
    img = torch.cat([flat[0, :, :, :16] * 2 - 1, checker[0, :, :, 16:] * 2 - 1], -1)   # [-1, 1]
    stats = region_stats(img, mask, regions=("hair", "background", "lips"))
    assert "lips" not in stats                                   # absent region skipped
    assert stats["background"][1] < 0.05 < 0.3 < stats["hair"][1]   # some blur leaks across the edge
    assert torch.allclose(stats["background"][0], torch.full((3,), 0.3), atol=1e-6)


def test_oracle_equals_lr_style_when_both_encoders_agree():
    model, items = _model(), _items()
    info = information_rows(model, items, _l1)
    assert set(info["style"]) == {"lr", "oracle"}
    model.encode_style = lambda image, mask, source="lr": DeepSEE.encode_style(
        model, torch.nn.functional.interpolate(image, size=(8, 8), mode="area") if source == "hr" else image,
        mask, source="lr")
    same = information_rows(model, items, _l1)
    a = same[same.region == "all"].set_index(["image", "style"])
    for img in ("img0", "img1"):
        assert a.loc[(img, "lr"), "psnr"] == pytest.approx(a.loc[(img, "oracle"), "psnr"])
    s = summarize_style_usage({"information": same})
    gain = s[s.measure == "PSNR gain of the oracle style"].iloc[0]
    assert gain.value == pytest.approx(0.0, abs=1e-9) and gain.met == "no"


def test_region_walk_changes_its_region_and_a_style_free_model_does_not_move():
    model, items = _model(seed=1), _items(1)
    rc = region_control_rows(model, items, delta=0.3)
    assert {"global", "hair", "skin", "lips", "eyes", "cloth"} <= set(rc.region)
    assert (rc.inside > 0).all()
    zeroed = 0
    with torch.no_grad():   # no style branch weights: the output ignores the style
        for name, p in model.generator.named_parameters():
            if ".style." in name:
                p.zero_()
                zeroed += 1
    assert zeroed > 0
    rc0 = region_control_rows(model, items, delta=0.3)
    assert rc0.inside.max() < 1e-6 and rc0.outside.max() < 1e-6


def test_style_usage_summary_has_every_group_and_goal_flags():
    parts = style_usage(_model(), _items(2), _l1, k=3, select_n=4, progress=False)
    s = parts["summary"]
    assert set(s.group) == {"information", "region control", "diversity", "selection", "consistency"}
    assert set(s.met) <= {"yes", "no", ""}
    sel = s[s.group == "selection"]
    best1 = sel[sel.measure.str.contains("best of 1,")].value.iloc[0]
    best4 = sel[sel.measure.str.contains("best of 4,")].value.iloc[0]
    assert best4 <= best1 + 1e-12                              # more samples never select worse


def test_summary_goals_from_known_tables():
    rc = pd.DataFrame([
        {"image": "a", "region": "global", "delta": 0.15, "steps": 2, "inside": 0.03, "outside": float("nan")},
        {"image": "a", "region": "lips", "delta": 0.3, "steps": 2, "inside": 0.06, "outside": 0.006},
        {"image": "a", "region": "hair", "delta": 0.3, "steps": 2, "inside": 0.02, "outside": 0.01},
    ])
    sel = pd.DataFrame([{"image": "a", "n": 100, "best_of_1": 0.5, "best_of_n": 0.4}])
    s = summarize_style_usage({"region_control": rc, "selection": sel}).set_index(["measure", "region"])
    assert s.loc[("inside / outside", "lips"), "met"] == "yes"          # 10 >= 5
    assert s.loc[("inside / outside", "hair"), "met"] == "no"           # 2 < 5
    glob = [m for m in s.index if m[0].startswith("global walk")][0]
    assert s.loc[glob, "met"] == "yes"
    gain = [m for m in s.index if m[0].startswith("selection gain")][0]
    assert s.loc[gain, "value"] == pytest.approx(0.2) and s.loc[gain, "met"] == "yes"


def test_models_without_both_encoders_are_refused():
    with pytest.raises(ValueError, match="LR and an HR style encoder"):
        style_usage(_model("guided"), _items(1), _l1, progress=False)


def test_style_usage_item_by_item_equals_the_four_parts_run_apart():
    """style_usage builds each item's engine once for all parts; its tables are those of the four
    functions called on their own (select item j keeps the sample stream seed + j)."""
    from deepsee.eval.style_usage import diversity_rows, selection_rows
    from deepsee.metrics.texture import TextureDistance
    model, items = _model(), _items(3)
    tex = TextureDistance()
    select = [items[2], items[0]]
    parts = style_usage(model, items, tex, select_items=select, k=4, scale=0.3, select_n=5, seed=7,
                        progress=False)
    apart = {"information": information_rows(model, items, tex),
             "region_control": region_control_rows(model, items, delta=0.3),
             "diversity": diversity_rows(model, select, 4, 0.3, "gaussian", tex, 7),
             "selection": selection_rows(model, select, tex, 5, 0.3, "gaussian", 7)}
    for name, df in apart.items():
        pd.testing.assert_frame_equal(parts[name], df, rtol=1e-5, check_dtype=False)
    assert list(parts["diversity"].image) == ["img2", "img0"]


def test_region_control_walks_every_present_region_and_the_whole_style():
    rc = region_control_rows(_model(), _items(1), delta=0.3)
    assert list(rc.region) == ["global", "hair", "skin", "cloth", "background", "lips", "eyes"]   # no brows
    assert (rc.inside > 0).all()


def test_region_walk_splits_the_outside_into_the_edge_band_and_beyond():
    model, items = _model(seed=1), _items(1)
    rc = region_control_rows(model, items, delta=0.3)
    loc = rc[rc.region != "global"]
    assert (loc.band == model.cfg.factor).all()
    both = loc.dropna(subset=["band_change", "outside_far"])
    assert len(both)
    lo = both[["band_change", "outside_far"]].min(axis=1) - 1e-9
    hi = both[["band_change", "outside_far"]].max(axis=1) + 1e-9
    assert ((both.outside >= lo) & (both.outside <= hi)).all()  # the outside mean is a mix of the two parts
    assert (loc.ratio == loc.inside / loc.outside).all()        # deepsee.metrics.explorative.region_change per image
    s = summarize_style_usage({"region_control": rc})
    diag = s[s.measure.str.startswith("inside / outside beyond")]
    assert len(diag) == len(loc) and (diag.goal == "").all()     # a diagnostic beside the goal, not a goal
    assert len(s[s.measure == "inside / outside"]) == len(loc)
    from deepsee.eval.style_usage import emergence_row
    row = emergence_row(s)
    assert row["min_inside_outside_beyond_band"] == pytest.approx(diag.value.min())
    assert row["min_inside_outside"] == pytest.approx(s[s.measure == "inside / outside"].value.min())


def test_style_usage_with_the_projection_is_consistent_everywhere():
    """Issue 33: the consistency rows give every rendered answer's LR-PSNR; with consistent=True the LR style,
    the oracle style, the walks and the samples all give back their input (>= 60 dB), while the plain
    (untrained) model's answers do not."""
    model, items = _model(), _items(2)
    plain = style_usage(model, items, _l1, k=3, select_n=4, progress=False)["summary"]
    cons = style_usage(model, items, _l1, k=3, select_n=4, progress=False, consistent=True)["summary"]
    worst = lambda s: s[(s.group == "consistency") & s.measure.str.endswith("worst")]   # noqa: E731
    assert len(worst(cons)) == 5 and (worst(cons).value >= 60).all()
    assert (worst(plain).value < 45).any()
    assert worst(cons).goal.str.contains("NTIRE 2021").all() and set(worst(cons).met) == {""}
