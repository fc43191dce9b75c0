"""The released-checkpoint importer (deepsee.models.importer).

Released files are synthesised from ``deepsee/reference/official_checkpoint_keys.json`` (every key and
shape of the released checkpoints): random tensors of those shapes, with u, v from a power iteration
as in a trained checkpoint, saved with ``torch.save`` in the released layout. The imported model is
checked against a functional re-statement of the released computation that reads the *official* keys
directly (eval mode: spectral norm from the stored u, v; BatchNorm running stats; no noise), written
here from docs/ARCHITECTURE_NOTES.md without the kit's modules. Paper widths, tiny spatial sizes (2x2 LR).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from deepsee.models import DeepSEE, build_discriminator
from deepsee.models.importer import CheckpointMismatchError, import_official, official_config

KEYS = json.loads((Path(__file__).resolve().parent.parent / "deepsee" / "reference"
                   / "official_checkpoint_keys.json").read_text())


def synth_state(layout: dict[str, list[int]], seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    sd: dict[str, torch.Tensor] = {}
    for key, shape in layout.items():
        if key.endswith("num_batches_tracked"):
            sd[key] = torch.tensor(1234, dtype=torch.long)
        elif key.endswith("running_var"):
            sd[key] = torch.rand(shape, generator=g) + 0.5
        elif key.endswith(("weight_u", "weight_v")):
            continue                                   # from the power iteration below
        elif key.endswith(("alpha_gamma", "alpha_beta", "noise_weights")) or key.endswith("running_mean"):
            sd[key] = torch.randn(shape, generator=g) * 0.5
        elif len(shape) >= 2:                          # conv weights ~ 1/sqrt(fan_in)
            sd[key] = torch.randn(shape, generator=g) / math.sqrt(math.prod(shape[1:]))
        else:                                          # biases, noise weights
            sd[key] = torch.randn(shape, generator=g) * 0.1
    for key in layout:
        if key.endswith("weight_orig"):
            p = key[: -len("weight_orig")]
            w = sd[key].reshape(sd[key].shape[0], -1)
            u = F.normalize(torch.randn(w.shape[0], generator=g), dim=0)
            for _ in range(3):                         # a few iterations: u, v close to, not at, the top pair
                v = F.normalize(w.t() @ u, dim=0)
                u = F.normalize(w @ v, dim=0)
            sd[p + "weight_u"], sd[p + "weight_v"] = u, v
    assert set(sd) == set(layout)
    return sd


# -- the released computation, restated from the official keys ---------------------------------------

def sn(sd, p):
    w = sd[p + ".weight_orig"]
    return w / torch.dot(sd[p + ".weight_u"], w.reshape(w.shape[0], -1) @ sd[p + ".weight_v"])


def conv(x, sd, p, stride=1, pad=1):
    w = sn(sd, p) if p + ".weight_orig" in sd else sd[p + ".weight"]
    return F.conv2d(x, w, sd.get(p + ".bias"), stride=stride, padding=pad)


def ref_norm(sd, p, x, mask, style):
    x_hat = F.batch_norm(x, sd[p + ".param_free_norm.running_mean"], sd[p + ".param_free_norm.running_var"],
                         training=False, eps=1e-5)
    m = F.interpolate(mask, size=x.shape[-2:], mode="nearest")
    h = F.relu(conv(m, sd, p + ".mlp_shared.0"))
    gamma, beta = conv(h, sd, p + ".mlp_gamma"), conv(h, sd, p + ".mlp_beta")
    if p + ".mlp_style_gamma.weight" not in sd:
        return x_hat * (1 + gamma) + beta
    styled = torch.einsum("bnk,bnhw->bkhw", style, m)
    gamma_s, beta_s = conv(styled, sd, p + ".mlp_style_gamma"), conv(styled, sd, p + ".mlp_style_beta")
    a_g, a_b = torch.sigmoid(sd[p + ".alpha_gamma"]), torch.sigmoid(sd[p + ".alpha_beta"])
    return x_hat * (1 + a_g * gamma_s + (1 - a_g) * gamma) + a_b * beta_s + (1 - a_b) * beta


def ref_block(sd, p, x, mask, style):
    dx = conv(F.leaky_relu(ref_norm(sd, p + ".norm_0", x, mask, style), 0.2), sd, p + ".conv_0")
    dx = conv(F.leaky_relu(ref_norm(sd, p + ".norm_1", dx, mask, style), 0.2), sd, p + ".conv_1")
    return x + dx


def ref_generator(sd, lr, mask, style, n_up):
    up = lambda t: F.interpolate(t, scale_factor=2, mode="nearest")  # noqa: E731
    x = ref_block(sd, "head_0", conv(lr, sd, "initial"), mask, style)
    x = ref_block(sd, "G_middle_1", ref_block(sd, "G_middle_0", up(x), mask, style), mask, style)
    for k in range(n_up):
        x = ref_block(sd, f"up_list.{k}", up(x), mask, style)
    return torch.tanh(conv(F.leaky_relu(x, 0.2), sd, "conv_img"))


def ref_norm_32x(sd, p, x, mask, style, cap):
    """A released 32x NormBlock: masks resized to at most ``cap``. SPADE / SEAN blocks as ``ref_norm`` (none is
    above the cap); the top block (no mlp_gamma, no blend) applies its style convs to the styled map, which
    above the cap is overwritten by the semantic hidden features upsampled (nearest) to the features, and
    returns BN(x) * gamma_s + beta_s (no "1 +")."""
    size = tuple(x.shape[-2:])
    fm = tuple(min(s, cap) for s in size)
    if p + ".mlp_gamma.weight" in sd:
        assert fm == size, "only the top block is above the cap in the released 32x structure"
        return ref_norm(sd, p, x, mask, style)
    x_hat = F.batch_norm(x, sd[p + ".param_free_norm.running_mean"], sd[p + ".param_free_norm.running_var"],
                         training=False, eps=1e-5)
    m = F.interpolate(mask, size=fm, mode="nearest")
    h = F.relu(conv(m, sd, p + ".mlp_shared.0"))
    src = F.interpolate(h, size=size, mode="nearest") if fm != size else torch.einsum("bnk,bnhw->bkhw", style, m)
    return x_hat * conv(src, sd, p + ".mlp_style_gamma") + conv(src, sd, p + ".mlp_style_beta")


def ref_generator_32x(sd, lr, mask, style, cap):
    norm = lambda q, t: ref_norm_32x(sd, q, t, mask, style, cap)  # noqa: E731
    up = lambda t: F.interpolate(t, scale_factor=2, mode="nearest")  # noqa: E731

    def block(p, x):
        dx = conv(F.leaky_relu(norm(p + ".norm_0", x), 0.2), sd, p + ".conv_0")
        return x + conv(F.leaky_relu(norm(p + ".norm_1", dx), 0.2), sd, p + ".conv_1")
    x = block("G_middle_1", block("G_middle_0", up(block("head_0", conv(lr, sd, "initial")))))
    for k in range(4):
        x = block(f"up_list.{k}", up(x))
    return torch.tanh(conv(F.leaky_relu(x, 0.2), sd, "conv_img"))


def ref_encode_lr(sd, image, mask):
    x = image
    for p in ("encoder_mini.initial.0.0", "encoder_mini.conv0.0.0", "encoder_mini.conv1.0.0"):
        x = F.leaky_relu(F.instance_norm(conv(x, sd, p)), 0.2)
    x = F.interpolate(x, scale_factor=2, mode="nearest")
    x = F.leaky_relu(F.instance_norm(conv(x, sd, "encoder_mini.conv2.1.0")), 0.2)
    f = torch.tanh(F.instance_norm(conv(x, sd, "final.0.0")))
    m = F.interpolate(mask, size=f.shape[-2:], mode="nearest")
    return torch.einsum("bkhw,bnhw->bnk", f, m) / (f.shape[-1] * f.shape[-2])


def ref_encode_hr_guided(sd, image, mask):
    x = image
    for p, s in (("initial.0.0", 1), ("down0.0.0", 2), ("down1.0.0", 2)):
        x = F.leaky_relu(F.instance_norm(conv(x, sd, p, stride=s)), 0.2)
    x = F.interpolate(x, scale_factor=2, mode="nearest")
    x = F.leaky_relu(F.instance_norm(conv(x, sd, "up_conv.1.0")), 0.2)
    f = torch.tanh(F.instance_norm(conv(x, sd, "final.0.0")))
    m = F.interpolate(mask, size=f.shape[-2:], mode="nearest")
    return torch.einsum("bkhw,bnhw->bnk", f, m) / (f.shape[-1] * f.shape[-2])


def ref_discriminator(sd, x):
    outs = []
    for s in range(2):
        if s:
            x = F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)
        p = f"discriminator_{s}"
        h = F.leaky_relu(conv(x, sd, p + ".model0.0", stride=2, pad=2), 0.2)
        feats = [h]
        for k, st in ((1, 2), (2, 2), (3, 1)):
            h = F.leaky_relu(F.instance_norm(conv(h, sd, f"{p}.model{k}.0.0", stride=st, pad=2)), 0.2)
            feats.append(h)
        outs.append(feats + [conv(h, sd, p + ".model4.0", pad=2)])
    return outs


class NotATensor:
    pass


# -- fixtures -----------------------------------------------------------------------------------------

def write_release(root: Path, variant: str, parts: dict[str, dict]) -> Path:
    d = root / variant
    d.mkdir(parents=True, exist_ok=True)
    for name, sd in parts.items():
        torch.save(sd, d / f"latest_net_{name}.pth")
    return d


@pytest.fixture(scope="module")
def release_8x(tmp_path_factory):
    root = tmp_path_factory.mktemp("release")
    parts = {"G": synth_state(KEYS["8x_independent_128x128/net_G"], 1),
             "E": synth_state(KEYS["8x_independent_128x128/net_E"], 2),
             "D": synth_state(KEYS["8x_independent_128x128/net_D"], 3)}
    write_release(root, "8x_independent_128x128", parts)
    return root, parts


@pytest.fixture(scope="module")
def imported_8x(release_8x, tmp_path_factory):
    root, parts = release_8x
    out = import_official(root, "8x_independent_128x128", tmp_path_factory.mktemp("imported") / "m")
    return out, parts


def inputs(seed=0, lr_side=2, factor=8):
    g = torch.Generator().manual_seed(seed)
    lr = torch.rand(1, 3, lr_side, lr_side, generator=g) * 2 - 1
    labels = torch.randint(0, 19, (1, lr_side * factor, lr_side * factor), generator=g)
    return lr, F.one_hot(labels, 19).permute(0, 3, 1, 2).float()


# -- tests --------------------------------------------------------------------------------------------

def test_import_8x_independent_matches_released_computation(imported_8x):
    out, parts = imported_8x
    model = DeepSEE.load(out)
    assert not model.training
    report = json.loads((out / "import_report.json").read_text())
    assert report["exact"] and sorted(report["dropped"]["latest_net_E.pth"]) == sorted(
        k for k in KEYS["8x_independent_128x128/net_E"] if k.startswith(("encoder_full.final", "encoder_mini.final")))

    lr, mask = inputs()
    with torch.no_grad():
        style = model.encode_style(lr, mask, "lr")
        style_ref = ref_encode_lr(parts["E"], lr, mask)
        assert torch.allclose(style, style_ref, atol=1e-5), (style - style_ref).abs().max()
        sr = model(lr, mask, style_ref)
        sr_ref = ref_generator(parts["G"], lr, mask, style_ref, n_up=2)
    assert sr.shape == (1, 3, 16, 16)
    assert sr.abs().max() < 0.999 and sr.std() > 0.05          # not saturated: the comparison means something
    assert torch.allclose(sr, sr_ref, atol=1e-4), (sr - sr_ref).abs().max()
    direct = DeepSEE.load(out, style_branch="direct")               # the authors' order of computation
    with torch.no_grad():
        assert torch.allclose(direct(lr, mask, style_ref), sr_ref, atol=1e-4)


def test_import_spectral_norm_uses_stored_uv(imported_8x):
    out, parts = imported_8x
    model = DeepSEE.load(out)
    conv = model.generator.blocks[3].conv_1                    # up_list.0.conv_1
    lr, mask = inputs()
    with torch.no_grad():
        model(lr, mask, model.encode_style(lr, mask, "lr"))     # the eval forward sets conv.weight
    w, u, v = (parts["G"][f"up_list.0.conv_1.weight_{s}"] for s in ("orig", "u", "v"))
    sigma = torch.dot(u, w.reshape(512, -1) @ v)
    assert torch.allclose(conv.weight, w / sigma)
    assert torch.equal(conv.weight_u, u) and torch.equal(conv.weight_v, v)  # eval: no power iteration
    nb = model.generator.blocks[1].norm_1
    assert torch.equal(nb.norm.running_var, parts["G"]["G_middle_0.norm_1.param_free_norm.running_var"])
    assert torch.equal(nb.style.conv.weight[:512], parts["G"]["G_middle_0.norm_1.mlp_style_gamma.weight"])
    assert torch.equal(nb.style.conv.weight[512:], parts["G"]["G_middle_0.norm_1.mlp_style_beta.weight"])
    assert torch.equal(model.generator.blocks[4].noise_mid.weight, parts["G"]["up_list.1.noise_middle.weight"])
    assert torch.equal(model.style_noise.weight, parts["E"]["noise_weights"])


def test_import_discriminator(imported_8x):
    from safetensors.torch import load_file
    out, parts = imported_8x
    cfg = official_config("8x_independent_128x128")
    disc = build_discriminator(cfg).eval()
    disc.load_state_dict(load_file(str(out / "discriminator.safetensors")))
    g = torch.Generator().manual_seed(5)
    image = torch.rand(1, 3, 24, 24, generator=g) * 2 - 1
    labels = torch.randint(0, 19, (1, 24, 24), generator=g)
    x = torch.cat([image, F.one_hot(labels, 19).permute(0, 3, 1, 2).float()], 1)
    with torch.no_grad():
        got, want = disc(image, labels), ref_discriminator(parts["D"], x)
    for gs, ws in zip(got, want):
        for a, b in zip(gs, ws):
            assert a.shape == b.shape and torch.allclose(a, b, atol=1e-5)


def test_import_guided(tmp_path, release_8x):
    _, parts8 = release_8x
    # The released guided folder has the 8x generator layout and its own encoder layout.
    e = synth_state(KEYS["8x_guided_128x128/net_E"], 7)
    write_release(tmp_path, "8x_guided_128x128", {"G": parts8["G"], "E": e})
    out = import_official(tmp_path / "8x_guided_128x128", "8x_guided_128x128", tmp_path / "out")
    model = DeepSEE.load(out)
    assert model.cfg.variant == "guided" and model.lr_encoder is None
    g = torch.Generator().manual_seed(3)
    hr = torch.rand(1, 3, 16, 16, generator=g) * 2 - 1
    mask = F.one_hot(torch.randint(0, 19, (1, 16, 16), generator=g), 19).permute(0, 3, 1, 2).float()
    with torch.no_grad():
        assert torch.allclose(model.encode_style(hr, mask, "hr"), ref_encode_hr_guided(e, hr, mask), atol=1e-5)
    assert not (out / "discriminator.safetensors").exists()


@pytest.mark.parametrize("corruption", ["missing", "shape", "extra", "all"])
def test_import_refuses_corrupt_checkpoint(tmp_path, release_8x, corruption):
    root, parts = release_8x
    e = dict(parts["E"])
    if corruption in ("missing", "all"):
        del e["encoder_mini.conv1.0.0.weight_orig"]
    if corruption in ("shape", "all"):
        e["final.0.0.weight_u"] = torch.zeros(64)
    if corruption in ("extra", "all"):
        e["encoder_mini.conv9.0.0.weight_orig"] = torch.zeros(3)
    d = tmp_path / "bad"
    d.mkdir()
    (d / "latest_net_G.pth").symlink_to(root / "8x_independent_128x128" / "latest_net_G.pth")
    torch.save(e, d / "latest_net_E.pth")
    with pytest.raises(CheckpointMismatchError) as err:
        import_official(d, "8x_independent_128x128", tmp_path / "out")
    msg = str(err.value)
    assert ("encoder_mini.conv1.0.0.weight_orig" in msg) == (corruption in ("missing", "all"))
    assert ("final.0.0.weight_u: [64] (expected [128])" in msg) == (corruption in ("shape", "all"))
    assert ("encoder_mini.conv9.0.0.weight_orig" in msg) == (corruption in ("extra", "all"))
    if corruption == "all":
        assert "missing (1)" in msg and "unexpected (1)" in msg and "mis-shaped (1)" in msg
    assert not (tmp_path / "out").exists()


def test_import_refuses_wrong_variant_and_missing_files(tmp_path, release_8x):
    root, _ = release_8x
    with pytest.raises(CheckpointMismatchError, match="latest_net_G.pth missing"):
        import_official(root / "8x_independent_128x128", "32x_independent", tmp_path / "o")   # 8x G as 32x
    with pytest.raises(ValueError, match="unknown released variant"):
        import_official(root, "64x_independent", tmp_path / "o")
    with pytest.raises(FileNotFoundError, match="latest_net_G.pth"):
        import_official(tmp_path, "8x_independent_128x128", tmp_path / "o")
    bad = tmp_path / "pickle"
    bad.mkdir()
    torch.save({"net": [1, 2]}, bad / "latest_net_G.pth")
    with pytest.raises(CheckpointMismatchError, match="expected a state dict"):
        import_official(bad, "32x_independent", tmp_path / "o")
    torch.save({"net": NotATensor()}, bad / "latest_net_G.pth")     # arbitrary pickled objects are refused
    with pytest.raises(CheckpointMismatchError, match="pickled Python objects other than tensors"):
        import_official(bad, "32x_independent", tmp_path / "o")


def test_cli_import_official_names_a_file_with_pickled_objects(tmp_path, capsys):
    import argparse

    from deepsee.cli import main
    bad = tmp_path / "release"
    bad.mkdir()
    torch.save({"weight": torch.zeros(2), "opt": argparse.Namespace(lr=1e-4)}, bad / "latest_net_G.pth")
    assert main(["import-official", str(bad), "--variant", "32x_independent", "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert str(bad / "latest_net_G.pth") in err
    assert "pickled Python objects other than tensors (e.g. argparse.Namespace)" in err
    assert "never unpickles" in err and "Weights only load failed" not in err
    assert not (tmp_path / "o").exists()


@pytest.fixture(scope="module")
def imported_32x(tmp_path_factory):
    """The released 32x generator (random weights, released keys and shapes) through ``deepsee import-official``."""
    import warnings
    from deepsee.cli import main
    root = tmp_path_factory.mktemp("release32")
    g = synth_state(KEYS["32x_independent/net_G"], 11)
    write_release(root, "32x_independent", {"G": g})
    out = root / "imported"
    with warnings.catch_warnings():
        warnings.simplefilter("error")                            # no warning about a differing block
        assert main(["import-official", str(root), "--variant", "32x_independent", "--out", str(out)]) == 0
    return out, g


def test_import_32x_maps_every_key_and_sets_last_block(imported_32x):
    out, g = imported_32x
    report = json.loads((out / "import_report.json").read_text())
    assert report["exact"] is True and report["dropped"] == {}      # every released key is mapped
    assert report["config"]["last_block"] == "released" and report["config"]["max_mask_size"] == 256
    assert report["style_encoders"].startswith("initialised")       # the 32x release has no encoder file
    assert not any("differ" in n for n in report["notes"])
    assert json.loads((out / "config.json").read_text())["model"]["last_block"] == "released"
    model = DeepSEE.load(out)
    gen = model.generator
    assert gen.block_kinds == ["semantic"] + ["both"] * 5 + ["released"]
    assert sum(p.numel() for p in gen.parameters()) == 61_714_407
    assert gen.blocks[0].noise_in is None                           # the released 32x model has no noise
    assert torch.equal(gen.blocks[5].conv_0.weight_orig, g["up_list.2.conv_0.weight_orig"])
    top = gen.blocks[6].norm_1.released
    assert torch.equal(top.hidden.weight, g["up_list.3.norm_1.mlp_shared.0.weight"])
    assert torch.equal(top.conv.weight[:512], g["up_list.3.norm_1.mlp_style_gamma.weight"])
    assert torch.equal(top.conv.bias[512:], g["up_list.3.norm_1.mlp_style_beta.bias"])
    assert torch.equal(top.unused.weight, g["up_list.3.norm_1.style_conv.weight"])


@pytest.mark.parametrize("cap", [32, 256])
def test_import_32x_matches_released_computation(imported_32x, cap):
    """Paper widths, LR 2x2 -> 64x64 (a 16x16 input would take minutes). cap 32: the 32x structure scaled to
    LR 2 (the released max_fm_size option, 256 = 512 / 2 at LR 16), the top block (64 px) is above the mask
    cap as the 512 px block of the real model; cap 256 (the imported configuration as is): at this input size
    the top block is not above it, and the released block reads the styled map there."""
    import dataclasses
    out, g = imported_32x
    model = DeepSEE.load(out)
    if cap != model.cfg.max_mask_size:   # the 32x structure scaled to LR 2: same blocks, same weights
        state = model.state_dict()
        model = DeepSEE(dataclasses.replace(model.cfg, max_mask_size=cap, lr_size=2))
        assert model.generator.block_kinds == DeepSEE.load(out).generator.block_kinds
        model.load_state_dict(state)
        model.eval()
    lr, mask = inputs(seed=4, lr_side=2, factor=32)
    style = torch.rand(1, 19, 128, generator=torch.Generator().manual_seed(6)) * 2 - 1
    with torch.no_grad():
        sr = model(lr, mask, style)
        sr_ref = ref_generator_32x(g, lr, mask, style, cap)
    assert sr.shape == (1, 3, 64, 64)
    assert (sr.abs() > 0.99).float().mean() < 0.05 and sr.std() > 0.1   # not saturated: the comparison means something
    assert torch.allclose(sr, sr_ref, atol=1e-4), (sr - sr_ref).abs().max()
