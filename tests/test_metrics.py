"""deepsee.metrics: PSNR/SSIM known values, LPIPS and FID weight handling, the labelled substitute,
FID formula, the one Gaussian, and the explorative metrics (best-of-n, oracle selection, the change unit,
diversity, region change and leakage)."""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from deepsee import weights
from deepsee.metrics import (LPIPS, FeatureDistance, MissingWeightsError, best_of_n, change_map, diversity,
                             edge_band, feature_statistics, fid_from_features, fid_from_stats, gaussian_blur,
                             gaussian_kernel, inception_features, perceptual_metric, psnr, reference_statistics,
                             reference_stats_path, region_change, region_leakage, ssim, to_uint8, walk_change)
from deepsee.paper.oracle import oracle_selection
from fixtures import accept_weights, standin_alexnet


@pytest.fixture
def empty_hub(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch" / "hub" / "checkpoints"


# ---------------------------------------------------------------------------------------- PSNR / SSIM

def test_to_uint8_conversion():
    x = torch.tensor([-1.0, 1.0, 2.0, -3.0, 0.0, -1 + 10 / 127.5]).view(1, 1, 1, 6).expand(1, 3, 1, 6)
    u = to_uint8(x)
    assert u.dtype == np.uint8 and u.shape == (1, 1, 6, 3)
    assert u[0, 0, :, 0].tolist() == [0, 255, 255, 0, 128, 10]      # clamp; round(127.5) = 128
    with pytest.raises(TypeError):
        to_uint8(np.zeros((4, 4, 3), dtype=np.float32))
    with pytest.raises(ValueError):
        to_uint8(torch.zeros(1, 1, 4, 4))


def test_psnr_identical_is_inf_and_noisy_pair_by_hand():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    assert psnr(a, a)[0] == np.inf
    b = a.astype(np.int64)
    b[:4, :4, 0] = np.clip(b[:4, :4, 0] + 20, 0, 255)            # a known perturbation
    b = b.astype(np.uint8)
    mse = ((a.astype(np.float64) - b) ** 2).mean()
    assert mse > 0
    assert psnr(a, b)[0] == pytest.approx(10 * math.log10(255 ** 2 / mse), rel=1e-12)
    # the same images as [-1, 1] tensors give the same value
    ta = torch.from_numpy(a).permute(2, 0, 1).float() / 127.5 - 1
    tb = torch.from_numpy(b).permute(2, 0, 1).float() / 127.5 - 1
    assert psnr(ta, tb)[0] == pytest.approx(10 * math.log10(255 ** 2 / mse), rel=1e-12)


def test_psnr_per_image_batch():
    a = torch.zeros(3, 3, 12, 12) - 1
    b = a.clone()
    b[1] = a[1] + 2 / 127.5            # +2 grey levels everywhere: MSE 4
    b[2] = a[2] + 4 / 127.5
    v = psnr(a, b)
    assert v.shape == (3,)
    assert v[0] == np.inf
    assert v[1] == pytest.approx(10 * math.log10(255 ** 2 / 4))
    assert v[2] == pytest.approx(10 * math.log10(255 ** 2 / 16))


def test_ssim_identical_and_constant_images_by_hand():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    assert ssim(a, a)[0] == pytest.approx(1.0)
    # constant images: SSIM reduces to the luminance term (2 m1 m2 + C1) / (m1^2 + m2^2 + C1)
    c1, c2, C1 = 100.0, 140.0, (0.01 * 255) ** 2
    lum = (2 * c1 * c2 + C1) / (c1 ** 2 + c2 ** 2 + C1)
    x = np.full((32, 32, 3), 100, np.uint8)
    y = np.full((32, 32, 3), 140, np.uint8)
    assert ssim(x, y)[0] == pytest.approx(lum, rel=1e-9)
    # only one channel differs: the channel mean (1 + 1 + lum) / 3
    y1 = x.copy()
    y1[..., 2] = 140
    assert ssim(x, y1)[0] == pytest.approx((2 + lum) / 3, rel=1e-9)


def test_ssim_rejects_tiny_images_and_shape_mismatch():
    with pytest.raises(ValueError, match="11x11"):
        ssim(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8))
    with pytest.raises(ValueError, match="differ"):
        ssim(torch.zeros(1, 3, 16, 16), torch.zeros(1, 3, 16, 17))


# ---------------------------------------------------------------------------------------- perceptual

class TinyExtractor(torch.nn.Module):
    """Two fixed feature maps: the image itself and a 2x average-pooled conv of it."""

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        with torch.no_grad():
            self.conv.weight.copy_(torch.randn(self.conv.weight.shape, generator=g))
            self.conv.bias.zero_()
        self.drop = torch.nn.Dropout(0.5)
        self.seen_training = None

    def features(self, x):
        self.seen_training = self.training
        return [x, F.avg_pool2d(self.drop(self.conv(x)), 2)]


def test_feature_distance_known_values():
    fd = FeatureDistance(lambda x: [x], quantize=False)
    assert fd.name == "SegFeatDist (LPIPS substitute)"
    u = torch.tensor([0.3, -0.4, 0.0])
    v = torch.tensor([0.0, 0.5, 0.5])
    a = u.view(1, 3, 1, 1).expand(2, 3, 5, 5).clone()
    b = v.view(1, 3, 1, 1).expand(2, 3, 5, 5).clone()
    expect = float(((u / u.norm() - v / v.norm()) ** 2).sum())
    d = fd(a, b)
    assert d.shape == (2,)
    assert torch.allclose(d, torch.full((2,), expect), atol=1e-6)
    assert torch.all(fd(a, a) == 0)
    # half the pixels differ -> half the spatial mean
    b2 = a.clone()
    b2[..., :2, :] = v.view(1, 3, 1, 1)
    b2[..., 2:, :] = u.view(1, 3, 1, 1)
    assert fd(a, b2)[0].item() == pytest.approx(expect * 10 / 25, rel=1e-5)


def test_feature_distance_on_module_uses_eval_mode_and_restores_it():
    ext = TinyExtractor().train()
    fd = perceptual_metric("segfeat", segmenter=ext)
    g = torch.Generator().manual_seed(2)
    a = torch.rand(2, 3, 16, 16, generator=g) * 2 - 1
    b = torch.rand(2, 3, 16, 16, generator=g) * 2 - 1
    d1, d2 = fd(a, b), fd(a, b)
    assert ext.seen_training is False and ext.training is True
    assert torch.equal(d1, d2) and torch.all(d1 > 0)                     # deterministic (dropout off)
    assert torch.all(fd(a, a) == 0)
    assert fd.name.endswith("(LPIPS substitute)")
    with pytest.raises(ValueError, match="segmenter"):
        perceptual_metric("segfeat")
    with pytest.raises(ValueError, match="unknown"):
        perceptual_metric("ssim")


def test_lpips_missing_weights_fails_before_construction(empty_hub, monkeypatch):
    import lpips

    def boom(*a, **k):
        raise AssertionError("LPIPS must not be constructed without weights")
    monkeypatch.setattr(lpips, "LPIPS", boom)
    with pytest.raises(MissingWeightsError) as e:
        perceptual_metric("lpips")
    msg = str(e.value)
    assert "alexnet-owt-7be5be79.pth" in msg and str(empty_hub) in msg
    assert "deepsee weights fetch alexnet" in msg


def test_lpips_loads_every_weight_from_the_verified_files(empty_hub, monkeypatch):
    path = empty_hub / "alexnet-owt-7be5be79.pth"
    sd = standin_alexnet(path, full=False)
    accept_weights(monkeypatch, "alexnet", path)
    m = LPIPS()
    trunk = m.net.net
    for idx in (0, 3, 6, 8, 10):            # AlexNet's conv layers keep their index inside lpips' slices
        mod = next(getattr(trunk, f"slice{k}")._modules[str(idx)] for k in range(1, 6)
                   if str(idx) in getattr(trunk, f"slice{k}")._modules)
        assert torch.equal(mod.weight, sd[f"features.{idx}.weight"])
        assert torch.equal(mod.bias, sd[f"features.{idx}.bias"])
    from deepsee.metrics.perceptual import lpips_linear_weights_path
    lin = torch.load(lpips_linear_weights_path(), map_location="cpu", weights_only=True)
    for k in range(5):
        assert torch.equal(getattr(m.net, f"lin{k}").model[1].weight, lin[f"lin{k}.model.1.weight"])
    g = torch.Generator().manual_seed(3)
    a = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    b = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    d = m(a, b)
    assert d.shape == (2,) and torch.all(d > 0)
    assert torch.all(m(a, a).abs() < 1e-7)
    assert m.name == "LPIPS alex v0.1"
    # a file that fails its checksum is refused
    monkeypatch.setitem(weights.REGISTRY, "alexnet",
                        dataclasses.replace(weights.REGISTRY["alexnet"], sha256="ffffffff"))
    with pytest.raises(weights.WeightsChecksumError):
        LPIPS()


@pytest.mark.slow
def test_lpips_matches_the_lpips_package_own_loading(empty_hub, monkeypatch):
    """Parity: the kit's loader and lpips' (torchvision cache) give the same distances."""
    import lpips
    path = empty_hub / "alexnet-owt-7be5be79.pth"
    standin_alexnet(path, full=True)
    accept_weights(monkeypatch, "alexnet", path)
    ours = LPIPS(quantize=False)
    ref = lpips.LPIPS(net="alex", version="0.1", pretrained=True, pnet_rand=False, verbose=False)
    g = torch.Generator().manual_seed(4)
    a = torch.rand(3, 3, 64, 64, generator=g) * 2 - 1
    b = torch.rand(3, 3, 64, 64, generator=g) * 2 - 1
    with torch.no_grad():
        expect = ref(a, b).flatten()
    assert torch.allclose(ours(a, b), expect, atol=1e-6)


# ---------------------------------------------------------------------------------------- FID

def test_frechet_distance_diagonal_case_by_hand():
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    s1, s2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    expect = ((mu1 - mu2) ** 2).sum() + (s1 + s2 - 2 * np.sqrt(s1 * s2)).sum()   # 5 + (1 + 1 + 4) = 11
    assert expect == pytest.approx(11.0)
    assert fid_from_stats(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(expect, abs=1e-9)


def test_fid_from_features_hand_case_and_self_distance():
    # rows of a 2-level design: sample covariance is exactly diagonal
    base = np.array([[1, 1], [1, -1], [-1, 1], [-1, -1]], dtype=np.float64)
    f1 = base * np.array([1.0, 2.0]) + np.array([0.0, 0.0])
    f2 = base * np.array([3.0, 1.0]) + np.array([2.0, -1.0])
    mu1, c1 = feature_statistics(f1)
    assert np.allclose(c1, np.diag([4 / 3, 16 / 3]))
    v1, v2 = np.array([4 / 3, 16 / 3]), np.array([12.0, 4 / 3])
    expect = 4 + 1 + (v1 + v2 - 2 * np.sqrt(v1 * v2)).sum()
    assert fid_from_features(f1, f2) == pytest.approx(expect, rel=1e-9)
    rng = np.random.default_rng(0)
    f = rng.normal(size=(300, 8))
    assert abs(fid_from_features(f, f)) < 1e-6
    assert fid_from_features(f, f + 1.0) == pytest.approx(8.0, rel=1e-6)   # mean shift only


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_frechet_distance_matches_pytorch_fid_and_survives_newer_scipy(monkeypatch):
    from pytorch_fid import fid_score
    from deepsee.metrics import frechet_distance
    rng = np.random.default_rng(1)
    f1, f2 = rng.normal(size=(50, 6)), rng.normal(size=(40, 6)) * 1.5 + 0.3
    s1, s2 = feature_statistics(f1), feature_statistics(f2)
    ours = frechet_distance(*s1, *s2)
    try:
        ref = float(fid_score.calculate_frechet_distance(*s1, *s2))
    except TypeError:                       # SciPy >= 1.18 rejects pytorch-fid's sqrtm(disp=False)
        ref = None
    if ref is not None:
        assert ours == pytest.approx(ref, rel=1e-9)

    def old_pytorch_fid(*a, **k):
        raise TypeError("sqrtm() got an unexpected keyword argument 'disp'")
    monkeypatch.setattr(fid_score, "calculate_frechet_distance", old_pytorch_fid)
    assert fid_from_stats(*s1, *s2) == pytest.approx(ours, rel=1e-12)
    assert fid_from_stats(np.zeros(2), np.diag([1.0, 4.0]), np.ones(2), np.diag([4.0, 1.0])) == pytest.approx(2 + 2)


class MeanRGB(torch.nn.Module):
    """Stand-in feature extractor: per-channel mean and mean square of [0, 1] images."""

    def forward(self, x):
        return [torch.cat([x.mean((2, 3)), (x ** 2).mean((2, 3))], 1)[:, :, None, None]]


def test_inception_features_with_standin_extractor():
    x = torch.stack([torch.full((3, 8, 8), -1.0), torch.full((3, 8, 8), 1.0), torch.full((3, 8, 8), 0.0)])
    f = inception_features(x, MeanRGB(), batch_size=2)
    assert f.shape == (3, 6) and f.dtype == np.float64
    assert np.allclose(f[0], 0) and np.allclose(f[1], 1)
    assert np.allclose(f[2, :3], 128 / 255)                        # quantised like a saved PNG


def test_fid_missing_weights(empty_hub, monkeypatch):
    import deepsee.metrics.fid as fidmod

    def boom(*a, **k):
        raise AssertionError("the FID Inception must not be constructed without weights")
    monkeypatch.setattr(fidmod, "FIDInception", boom)
    with pytest.raises(MissingWeightsError) as e:
        inception_features(torch.zeros(2, 3, 16, 16))
    msg = str(e.value)
    assert "pt_inception-2015-12-05-6726825d.pth" in msg and str(empty_hub) in msg
    assert "deepsee weights fetch inception_fid" in msg


def test_reference_statistics_are_cached(tmp_path):
    g = torch.Generator().manual_seed(0)
    imgs = torch.rand(6, 3, 8, 8, generator=g) * 2 - 1
    kw = dict(dataset="synthfaces", split="test", size=8, n=6, cache_dir=tmp_path, model=MeanRGB(),
              weights_id="standin")
    mu, sigma = reference_statistics(lambda: [imgs[:4], imgs[4:]], **kw)
    path = reference_stats_path(tmp_path, dataset="synthfaces", split="test", size=8, n=6, weights_id="standin")
    assert path.name == "fid_synthfaces_test_8px_n6_standin.npz" and path.is_file()
    mu_ref, sigma_ref = feature_statistics(inception_features(imgs, MeanRGB()))
    assert np.allclose(mu, mu_ref) and np.allclose(sigma, sigma_ref)

    def fail():
        raise AssertionError("cache miss")
    mu2, sigma2 = reference_statistics(fail, **kw)
    assert np.array_equal(mu, mu2) and np.array_equal(sigma, sigma2)
    with pytest.raises(ValueError, match="weights_id"):
        reference_statistics(imgs, **{**kw, "weights_id": None})
    with pytest.raises(ValueError, match="expected 7"):
        reference_statistics(imgs, **{**kw, "n": 7})


@pytest.mark.slow
def test_build_inception_loads_the_verified_file(empty_hub, monkeypatch):
    import pytorch_fid.inception as pfi
    import torchvision
    from deepsee.metrics.fid import build_inception
    # Stand-in FID weights: pytorch-fid's architecture, seeded random values.
    torch.manual_seed(0)
    with monkeypatch.context() as m:
        m.setattr(pfi, "load_state_dict_from_url", lambda *a, **k: None)
        m.setattr(torchvision.models.Inception3, "load_state_dict", lambda self, sd, *a, **k: None)
        sd = pfi.fid_inception_v3().state_dict()
    path = empty_hub / "pt_inception-2015-12-05-6726825d.pth"
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(sd, path)
    accept_weights(monkeypatch, "inception_fid", path)
    net = build_inception()
    loaded = {k: v for k, v in net.state_dict().items()}
    assert torch.equal(loaded["blocks.0.0.conv.weight"], sd["Conv2d_1a_3x3.conv.weight"])
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    f = inception_features(x, net)
    assert f.shape == (2, 2048)
    # the same network and features as pytorch-fid's own InceptionV3 (its loader handed the same weights;
    # the kit never lets pytorch-fid load files itself)
    with monkeypatch.context() as m:
        m.setattr(pfi, "load_state_dict_from_url", lambda *a, **k: sd)
        ref = pfi.InceptionV3([pfi.InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).eval()
    assert set(ref.state_dict()) == set(loaded)
    assert np.allclose(inception_features(x, ref), f, rtol=1e-5, atol=1e-6)
    import deepsee.metrics.fid as fidmod
    assert "unittest" not in Path(fidmod.__file__).read_text()      # no mocking in production code


# ---------------------------------------------------------------------------------------- best of n

@pytest.mark.parametrize("mode", ["max", "min"])
def test_best_of_n_monotone_and_exact(mode):
    rng = np.random.default_rng(0)
    scores = rng.normal(size=1000)
    ns = [1, 10, 100, 1000]
    r = best_of_n(scores, ns=ns, mode=mode, seed=3, n_draws=200)
    sign = 1 if mode == "max" else -1
    for key in ("expected", "expected_mc"):
        v = sign * np.array(r[key])
        assert np.all(np.diff(v) >= 0), key
    draws = sign * np.array([r["draw_best"][n] for n in ns])
    assert np.all(np.diff(draws) >= 0)
    best = scores.max() if mode == "max" else scores.min()
    assert r["expected"][-1] == pytest.approx(best) and r["draw_best"][1000] == best
    assert r["expected"][0] == pytest.approx(scores.mean())         # best of 1 = a random sample
    assert r["expected_mc"][1] == pytest.approx(r["expected"][1], abs=4 * r["std_mc"][1] / math.sqrt(200))
    assert all(scores[r["indices"][n]] == r["draw_best"][n] for n in ns)
    assert r["overall_index"] == int(np.argmax(sign * scores))


def test_best_of_n_exact_expectation_small_case():
    # K = 3, n = 2: subsets {0,1},{0,2},{1,2} of [1, 2, 4] -> max 2, 4, 4 -> mean 10/3
    assert best_of_n([1.0, 2.0, 4.0], ns=[2], mode="max")["expected"][0] == pytest.approx(10 / 3)
    assert best_of_n([1.0, 2.0, 4.0], ns=[2], mode="min")["expected"][0] == pytest.approx(4 / 3)
    with pytest.raises(ValueError):
        best_of_n([1.0, 2.0], ns=[3])


# ---------------------------------------------------------------------------------------- oracle

def _toy_generator():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(19 * 4, 3 * 16 * 16, generator=g) * 0.05
    calls = []

    def gen(styles):
        calls.append(styles.shape[0])
        return torch.tanh(styles.reshape(styles.shape[0], -1) @ w).view(-1, 3, 16, 16)
    return gen, calls


def test_oracle_selection_deterministic_across_chunks():
    gen, calls = _toy_generator()
    g = torch.Generator().manual_seed(1)
    style = torch.rand(19, 4, generator=g) * 2 - 1
    gt = torch.rand(3, 16, 16, generator=g) * 2 - 1
    metrics = {"ssim": ssim, "psnr": psnr}
    a, proto = oracle_selection(gen, style, gt, K=10, noise="gaussian", scale=0.2, seed=5, chunk=3,
                                metrics=metrics, progress=False)
    assert calls == [3, 3, 3, 1]
    b, _ = oracle_selection(gen, style[None], gt[None], K=10, noise="gaussian", scale=0.2, seed=5, chunk=7,
                            metrics=metrics, progress=False)
    assert list(a.columns) == ["sample", "ssim", "psnr"] and len(a) == 10
    assert np.array_equal(a.to_numpy(), b.to_numpy())
    assert a["ssim"].nunique() == 10                                  # the samples differ
    c, _ = oracle_selection(gen, style, gt, K=10, scale=0.2, seed=6, chunk=3, metrics=metrics, progress=False)
    assert not np.array_equal(a["ssim"].to_numpy(), c["ssim"].to_numpy())
    assert proto["distribution"] == "gaussian" and proto["scale"] == 0.2 and proto["K"] == 10
    assert proto["seed"] == 5 and proto["clamp"] == [-1.0, 1.0]
    # any single sample can be regenerated (the Fig. 5 path)
    from deepsee.explore.walks import sample_styles_chunk
    s7 = sample_styles_chunk(style, 7, 8, noise="gaussian", scale=0.2, seed=5)
    assert ssim(gen(s7), gt)[0] == pytest.approx(a["ssim"][7], abs=0)


def test_oracle_selection_uniform_noise_stays_within_scale():
    seen = []

    def gen(styles):
        seen.append(styles.clone())
        return torch.zeros(styles.shape[0], 3, 16, 16)
    style = torch.zeros(19, 4)
    oracle_selection(gen, style, torch.zeros(3, 16, 16), K=20, noise="uniform", scale=0.3, seed=0, chunk=8,
                     metrics={"psnr": psnr}, progress=False)
    s = torch.cat(seen)
    assert s.shape == (20, 19, 4) and s.abs().max() <= 0.3 and s.abs().max() > 0.25


# ---------------------------------------------------------------------------------------- Gaussian

def test_gaussian_kernel_radius_and_normalisation():
    """One radius rule, r = max(1, ceil(3 sigma)): sigma 1.5 -> 11 taps, 2 -> 13, 0.3 -> 3; sums to 1, symmetric,
    exp(-t^2 / (2 sigma^2)) relative to the centre."""
    for sigma, taps in ((1.5, 11), (2.0, 13), (1.0, 7), (0.3, 3)):
        k = gaussian_kernel(sigma)
        assert k.shape == (taps,) and k.dtype == torch.float32
        assert float(k.sum()) == pytest.approx(1.0, abs=1e-6) and torch.equal(k, k.flip(0))
        r = taps // 2
        assert float(k[r + 1] / k[r]) == pytest.approx(math.exp(-0.5 / sigma ** 2), rel=1e-5)
    with pytest.raises(ValueError, match="sigma > 0"):
        gaussian_kernel(0.0)
    flat = torch.full((1, 3, 20, 20), 0.4)
    assert torch.allclose(gaussian_blur(flat, 1.5), flat, atol=1e-6)      # normalised: a constant stays
    dot = torch.zeros(1, 1, 21, 21)
    dot[0, 0, 10, 10] = 1.0
    blurred = gaussian_blur(dot, 2.0)[0, 0]
    k = gaussian_kernel(2.0)
    assert torch.allclose(blurred[4:17, 4:17], k[:, None] * k[None], atol=1e-7)   # the separable 2-D kernel


# ---------------------------------------------------------------------------------------- the change unit

def test_change_map_is_half_the_rgb_mean_difference():
    """[0, 1] units: images in [-1, 1] that differ by 0.5 in one channel of three change by 0.5 / 3 / 2."""
    a = torch.zeros(3, 4, 4)
    b = a.clone()
    b[0] = 0.5
    assert torch.allclose(change_map(b, a), torch.full((4, 4), 0.5 / 3 / 2))
    assert change_map(torch.ones(2, 3, 4, 4), -torch.ones(3, 4, 4)).max() == 1.0       # the range ends at 1
    ends = torch.stack([a + 0.2, a - 0.6])                                              # a walk's two ends
    assert torch.allclose(walk_change(ends, a), torch.full((4, 4), (0.1 + 0.3) / 2))


# ---------------------------------------------------------------------------------------- diversity

def test_diversity_known_values():
    mask = torch.zeros(8, 8, dtype=torch.long)
    mask[:4] = 13                     # hair on the top half
    mask[4:, :4] = 1                  # skin bottom-left, background bottom-right
    mask[7, 6:] = 12                  # a lower lip of two pixels
    base = torch.zeros(3, 3, 8, 8)
    samples = base.clone()
    samples[1][:, :4] += 0.5          # sample 1 differs by 0.5 ([-1, 1] units) in the hair only: 0.25 in [0, 1]
    d = diversity(samples, mask)
    # pairs (0,1): hair 0.25, (0,2): 0, (1,2): hair 0.25 -> hair mean 1/6
    assert d["pairs"] == 3 and d["K"] == 3
    assert d["l1_hair"] == pytest.approx(1 / 6)
    assert d["l1_skin"] == 0 and d["l1_background"] == 0
    assert d["l1_all"] == pytest.approx(1 / 6 * 32 / 64)
    assert "l1_nose" not in d
    named = diversity(samples, mask, regions=("hair", "lips", "eyes"), min_pixels=3)
    assert set(named) == {"K", "pairs", "l1_all", "l1_hair"}            # lips (2 px) and eyes (absent) left out
    assert diversity(samples, mask, regions=("lips",), min_pixels=2)["l1_lips"] == 0
    same = diversity(base, mask, FeatureDistance(lambda x: [x], quantize=False))
    assert same["l1_all"] == 0 and same["perceptual_all"] == 0
    assert same["perceptual_metric"] == "SegFeatDist (LPIPS substitute)"
    assert diversity(torch.rand(40, 3, 8, 8), mask, max_pairs=50)["pairs"] == 50


def test_diversity_uses_a_metrics_pairwise_form():
    class Metric:
        name = "m"

        def __call__(self, a, b):
            return (a - b).abs().mean((1, 2, 3))

        def pairwise(self, x, first, second):
            self.seen = (first.tolist(), second.tolist())
            return self(x[first], x[second])
    x, mask, metric = torch.rand(4, 3, 8, 8) * 2 - 1, torch.zeros(8, 8, dtype=torch.long), Metric()
    d = diversity(x, mask, metric)
    assert metric.seen == ([0, 0, 0, 1, 1, 2], [1, 2, 3, 2, 3, 3])                  # every pair, once
    assert d["perceptual_all"] == pytest.approx(diversity(x, mask, metric.__call__)["perceptual_all"])


# ---------------------------------------------------------------------------------------- region change

def test_edge_band_is_the_ring_around_a_region():
    m = torch.zeros(16, 16, dtype=torch.bool)
    m[6:10, 6:10] = True
    ring = edge_band(m, 2)
    assert not (ring & m).any()
    assert int(ring.sum()) == 8 * 8 - 4 * 4                      # the square grown by 2 px (Chebyshev), less the region
    assert ring[4, 4] and ring[11, 11] and not ring[3, 6] and not ring[12, 8]
    assert not edge_band(m, 0).any()


def test_region_change_known_values():
    """A square region whose pixels change by 0.2 ([0, 1] units), a 2-px ring around it by 0.05, the rest by 0.01."""
    region = torch.zeros(12, 12, dtype=torch.bool)
    region[4:8, 4:8] = True
    change = torch.full((12, 12), 0.01)
    change[2:10, 2:10] = 0.05
    change[region] = 0.2
    r = region_change(change, region, band=2)
    ring, far = 8 * 8 - 16, 144 - 64
    assert r["pixels"] == 16 and r["band"] == 2
    assert r["inside"] == pytest.approx(0.2)
    assert r["band_change"] == pytest.approx(0.05) and r["outside_far"] == pytest.approx(0.01)
    assert r["outside"] == pytest.approx((ring * 0.05 + far * 0.01) / (ring + far))
    assert r["ratio"] == pytest.approx(r["inside"] / r["outside"])                 # inside / outside: higher is local
    plain = region_change(change, region)                                          # band 0: the whole outside
    assert math.isnan(plain["band_change"]) and plain["outside_far"] == pytest.approx(plain["outside"])
    local = region_change(change * region, region)
    assert local["outside"] == 0 and local["ratio"] == math.inf


# ---------------------------------------------------------------------------------------- leakage

def _synthetic_generator(mask, radius: int, alpha: float):
    """Output = per-class colour (style row's first 3 entries) painted by ``mask``, box-blurred with
    ``radius``, plus ``alpha * mean(style)`` everywhere (a known global leakage)."""
    onehot = F.one_hot(mask, 19).permute(2, 0, 1).float()              # [19, H, W]
    k = 2 * radius + 1

    def gen(styles):
        col = torch.einsum("knc,nhw->kchw", styles[:, :, :3], onehot)   # [k, 3, H, W]
        if radius:
            col = F.avg_pool2d(F.pad(col, (radius,) * 4, mode="replicate"), k, stride=1)
        return col + alpha * styles.mean((1, 2))[:, None, None, None]
    return gen


def test_region_leakage_on_synthetic_generator():
    mask = torch.zeros(24, 24, dtype=torch.long)
    mask[4:16, 4:16] = 13
    mask[16:22, 6:18] = 1
    g = torch.Generator().manual_seed(0)
    style = (torch.rand(19, 3, generator=g) - 0.5) * 0.5                 # in [-0.25, 0.25]: no clamping
    delta, alpha = 0.3, 0.5
    glob = alpha * delta * 3 / (19 * 3) / 2                               # one row of 3 entries moved by delta; [0, 1]
    # no blur: the region changes by delta / 2 ([0, 1] units), everything else by the global term
    df = region_leakage(_synthetic_generator(mask, radius=0, alpha=alpha), style, mask, classes=[13, 1, 5],
                        delta=delta, band=2)
    assert df["class_index"].tolist() == [13, 1]                          # class 5 is absent: skipped
    for _, r in df.iterrows():
        assert r["inside"] == pytest.approx(delta / 2 + glob, abs=1e-6)
        assert r["outside"] == pytest.approx(glob, abs=1e-6) and r["outside_far"] == pytest.approx(glob, abs=1e-6)
        assert r["ratio"] == pytest.approx((delta / 2 + glob) / glob, rel=1e-5)
        assert r["delta_effective"] == pytest.approx(delta)
    # a blur of radius <= band leaks into the band only; a wider one past it
    near = region_leakage(_synthetic_generator(mask, radius=1, alpha=0.0), style, mask, classes=[13], delta=delta)
    assert near["band_change"][0] > 0.005 and near["outside_far"][0] == 0
    wide = region_leakage(_synthetic_generator(mask, radius=4, alpha=0.0), style, mask, classes=[13], delta=delta)
    assert wide["outside_far"][0] > 0.001
