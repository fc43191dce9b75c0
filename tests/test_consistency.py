"""LR consistency (issue 33): the degradation as a matrix, the exact consistency projection, LR-PSNR and the
NTIRE 2021 diversity score."""
import math

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from deepsee.data.common import lr_from_hr
from deepsee.data.degradation import downsample_linear, project_consistent, resize_matrix
from deepsee.metrics.consistency import diversity_score, lr_psnr, summarize_lr_psnr
from deepsee.metrics.texture import TextureDistance

AA = [False, True]


def _rand(*shape, seed=0, amp=1.0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(*shape, generator=g) * 2 - 1) * amp


@pytest.mark.parametrize("antialias", AA)
@pytest.mark.parametrize("size", [(32, 8), (64, 16), (40, 8), (24, 20)])
def test_resize_matrix_is_the_kits_degradation(antialias, size):
    H, h = size
    x = _rand(2, 3, H, H, amp=0.4)                    # small amplitude: lr_from_hr's clamp never acts
    assert torch.allclose(downsample_linear(x, h, antialias), lr_from_hr(x, h, antialias), atol=1e-5)
    a, ap = resize_matrix(H, h, antialias)
    assert a.shape == (h, H) and ap.shape == (H, h)
    assert torch.allclose(a @ ap, torch.eye(h, dtype=a.dtype), atol=1e-10)   # a right inverse


@pytest.mark.parametrize("antialias", AA)
def test_projection_is_consistent_on_random_inputs(antialias):
    hr, x = _rand(3, 3, 64, 64, seed=1), _rand(3, 3, 64, 64, seed=2)
    lr = lr_from_hr(hr, 8, antialias)
    before = lr_psnr(x, lr, antialias)
    p = project_consistent(x, lr, antialias)
    after = lr_psnr(p, lr, antialias)
    assert before.max() < 30 and after.min() >= 60
    assert p.min() >= -1 and p.max() <= 1 and p.shape == x.shape and p.dtype == x.dtype


@pytest.mark.parametrize("antialias", AA)
def test_projection_is_idempotent(antialias):
    x, lr = _rand(2, 3, 32, 32, seed=3), lr_from_hr(_rand(2, 3, 32, 32, seed=4), 8, antialias)
    once = project_consistent(x, lr, antialias)
    assert torch.allclose(project_consistent(once, lr, antialias), once, atol=1e-5)
    exact = project_consistent(x, lr, antialias, clip=False)
    assert torch.allclose(project_consistent(exact, lr, antialias, clip=False), exact, atol=1e-5)


@pytest.mark.parametrize("antialias", AA)
def test_a_consistent_image_is_unchanged(antialias):
    hr = _rand(2, 3, 32, 32, seed=5, amp=0.5)
    assert torch.allclose(project_consistent(hr, lr_from_hr(hr, 8, antialias), antialias), hr, atol=1e-5)


@pytest.mark.parametrize("antialias", AA)
def test_projection_is_the_least_squares_nearest_consistent_image(antialias):
    H, h = 12, 4
    a, _ = resize_matrix(H, h, antialias)
    D = torch.kron(a, a)                                   # row-major vec: vec(A X A^T) = (A (x) A) vec(X)
    x = _rand(1, 1, H, H, seed=6).double()
    y = _rand(1, 1, h, h, seed=7, amp=0.5).double()
    # min ||z - x|| s.t. D z = y  <=>  z = x + lstsq(D, y - D x) (the minimum-norm solution)
    r = y.flatten() - D @ x.flatten()
    expect = x.flatten() + torch.linalg.lstsq(D, r.unsqueeze(1), driver="gelsd").solution.squeeze(1)
    ours = project_consistent(x, y, antialias, clip=False)
    assert torch.allclose(ours.flatten(), expect, atol=1e-10)
    assert torch.allclose((D @ ours.flatten()), y.flatten(), atol=1e-10)


def test_projection_rejects_bad_input():
    with pytest.raises(ValueError, match="lr"):
        project_consistent(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 16, 16))
    with pytest.raises(ValueError, match="same B"):
        project_consistent(torch.zeros(2, 3, 16, 16), torch.zeros(1, 3, 4, 4))
    with pytest.raises(TypeError, match="float"):
        project_consistent(torch.zeros(1, 3, 16, 16, dtype=torch.uint8), torch.zeros(1, 3, 4, 4))


def test_lr_psnr_known_values():
    hr = _rand(2, 3, 32, 32, seed=8, amp=0.5)
    lr = lr_from_hr(hr, 8)
    assert np.isinf(lr_psnr(hr, lr)).all()
    # bicubic rows sum to one: a constant offset d of the HR image is an offset d on the LR grid,
    # i.e. d / 2 in [0, 1] units -> 20 log10(2 / d) dB
    got = lr_psnr(hr + 0.1, lr)
    assert got == pytest.approx([20 * math.log10(2 / 0.1)] * 2, abs=1e-3)
    s = summarize_lr_psnr([50.0, 40.0, float("inf")])
    assert s["lr_psnr_worst"] == 40.0 and s["lr_psnr_ge45"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="lr_psnr"):
        lr_psnr(hr, lr[:1])


def test_diversity_score_known_answers():
    one = torch.rand(1, 8, 8)
    assert diversity_score(one.expand(4, 8, 8)) == 0.0          # identical samples: nothing to gain locally
    left = torch.zeros(8, 8)
    left[:, 4:] = 1.0                                               # sample 0 right on the left half
    maps = torch.stack([left, left.flip(1)])                        # sample 1 right on the right half
    assert diversity_score(maps) == pytest.approx(100.0)           # global best 0.5, local best 0
    maps = torch.stack([torch.full((8, 8), 0.2), torch.full((8, 8), 0.4)])
    assert diversity_score(maps) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="K, H, W"):
        diversity_score(torch.zeros(8, 8))


def test_texstatdist_map_averages_to_the_distance():
    a, b = _rand(3, 3, 64, 64, seed=9), _rand(3, 3, 64, 64, seed=10, amp=0.3)
    m = TextureDistance()
    maps = m.spatial(a, b)
    assert maps.shape == (3, 64, 64) and maps.min() >= 0
    assert torch.allclose(maps.mean((1, 2)), m(a, b), atol=1e-5)
    assert m.spatial(a, a).abs().max() < 1e-6


def _model_and_faces(n: int = 2, seed: int = 0):
    """A smoke-width model in eval mode (random weights that make every branch matter) and ``n`` faces: random
    HR images of moderate amplitude, their kit LR, a face-like mask."""
    from fixtures import face as _face, model as _model
    model, cfg = _model()
    H = cfg.lr_size * cfg.factor
    items = []
    for i in range(n):
        hr = _rand(3, H, H, seed=seed + i, amp=0.6)
        items.append({"hr": hr, "lr": lr_from_hr(hr, cfg.lr_size), "mask": _face(H, seed=i)[0], "name": f"f{i}"})
    return model.eval(), items


def test_ntire_table_measures_both_forms_beside_the_quoted_rows():
    from deepsee.eval.consistency import COLUMNS, ntire_table, walk_survival
    from deepsee.eval.style_usage import region_control_rows
    model, items = _model_and_faces(seed=20)
    table, per = ntire_table({"independent": model}, items, TextureDistance(), k=3, scale=0.3)
    assert list(table.columns) == COLUMNS
    assert set(table.source) == {"quoted", "measured"} and (table.source == "quoted").sum() == 4
    m = table[table.source == "measured"].set_index("method")
    plain, cons = m.loc["DeepSEE (independent)"], m.loc["DeepSEE (independent, consistent)"]
    assert cons.lr_psnr_worst >= 60 > plain.lr_psnr_worst
    assert 0 <= plain.diversity_score <= 100 and plain.perceptual_metric.startswith("TexStatDist")
    with pytest.raises(TypeError, match="spatial"):
        ntire_table({"independent": model}, items, lambda a, b: (a - b).abs().mean((1, 2, 3)), k=3)
    rc = region_control_rows(model, items)
    rcc = region_control_rows(model, items, consistent=True)
    surv = walk_survival(rc, rcc).set_index("region")
    assert (surv.surviving_share >= 0).all() and "global" in surv.index


def test_consistency_study_states_every_quantity_with_and_without_the_projection():
    from deepsee.eval.consistency import consistency_study
    model, items = _model_and_faces(seed=30)
    out = consistency_study(model, items, items[:1], TextureDistance(), k=3, select_n=4, ntire_k=3)
    eff = out["effect"].set_index(["measure", "region"])
    assert eff.loc[("LR-PSNR, samples: worst", "all"), "consistent"] >= 60
    assert eff.loc[("LR-PSNR, samples: worst", "all"), "plain"] < 45
    assert eff.loc[("LR-PSNR, samples: worst", "all"), "met"] == "yes"
    assert {"PSNR, LR style", "selection gain", "NTIRE 2021 diversity score"} <= {m for m, _ in eff.index}
    shares = out["effect"][out["effect"].measure.str.startswith("region walk: share")]
    assert len(shares) >= 3 and (shares.plain == 1.0).all() and (shares.consistent >= 0).all()


def test_the_study_reuses_a_plain_style_usage_run_and_gets_the_same_numbers():
    """Notebook 30 measures the plain protocol once on its style-usage faces; the study cut down from that run
    equals the study measured on its own faces, and a run of another protocol or order is refused."""
    from deepsee.eval.consistency import consistency_study
    from deepsee.eval.style_usage import style_usage
    model, items = _model_and_faces(n=3, seed=40)
    kw = dict(k=3, scale=0.3, select_n=4)
    parts = style_usage(model, items, TextureDistance(), select_items=items[:2], progress=False, **kw)
    own = consistency_study(model, items[:2], items[:1], TextureDistance(), ntire_k=3, **kw)
    reused = consistency_study(model, items[:2], items[:1], TextureDistance(), ntire_k=3, plain=parts, **kw)
    pd.testing.assert_frame_equal(own["usage_plain"], reused["usage_plain"])
    pd.testing.assert_frame_equal(own["effect"], reused["effect"])
    with pytest.raises(ValueError, match="prefix|first items"):
        consistency_study(model, items[:2], items[1:2], TextureDistance(), ntire_k=3, plain=parts, **kw)
    with pytest.raises(ValueError, match="scale"):
        consistency_study(model, items[:2], items[:1], TextureDistance(), ntire_k=3, plain=parts,
                          k=3, scale=0.5, select_n=4)
