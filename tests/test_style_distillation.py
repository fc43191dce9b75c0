"""train.lambda_style_distill: the LR encoder is regressed onto the HR encoder's style of the ground truth
(independent variant), on every styled step; the HR encoder is only the target (no gradient from the term)."""
import pytest
import torch

from fixtures import face as _face


def _run(source, lam, steps=1):
    from deepsee.config import load_config
    from deepsee.models import DeepSEE, build_discriminator
    from deepsee.train import Plan, SRTrainer
    from deepsee.train.step import StyleChoice, style_distance
    import deepsee.train.trainer as trainer_mod

    cfg = load_config("smoke", ["train.perceptual=none", f"train.lambda_style_distill={lam}"])
    g = torch.Generator().manual_seed(0)
    B = 2
    batch = {"hr": torch.rand(B, 3, 64, 64, generator=g) * 2 - 1, "mask": torch.stack([_face(64, i)[0] for i in range(B)])}
    batch["lr"] = torch.nn.functional.interpolate(batch["hr"], size=8, mode="bicubic", align_corners=False).clamp(-1, 1)
    torch.manual_seed(0)
    model, disc = DeepSEE(cfg.model), build_discriminator(cfg.model)
    with torch.no_grad():
        expected = style_distance(model.encode_style(batch["lr"], batch["mask"], "lr"),
                                  model.encode_style(batch["hr"], batch["mask"], "hr"), batch["mask"], 19)
    t = SRTrainer(model, disc, cfg, Plan(steps_per_epoch=10, const_steps=10, total_steps=20))
    orig = trainer_mod.choose_style
    trainer_mod.choose_style = lambda *a, **k: StyleChoice(source, False)
    try:
        torch.manual_seed(1)
        outs = [t.train_step(batch) for _ in range(steps)]
    finally:
        trainer_mod.choose_style = orig
    flat = {name: torch.cat([p.detach().flatten() for p in getattr(model, name).parameters()])
            for name in ("lr_encoder", "hr_encoder", "generator")}
    return flat, outs, float(expected)


def test_distillation_trains_the_lr_encoder_on_hr_style_steps():
    plain, outs0, _ = _run("hr", 0.0)
    with_term, outs, expected = _run("hr", 5.0)
    # Without the term the LR encoder takes no part in an HR-style step; with it, it learns.
    assert torch.equal(plain["lr_encoder"], _run("hr", 0.0)[0]["lr_encoder"])
    assert not torch.allclose(plain["lr_encoder"], with_term["lr_encoder"])
    assert "g_style_distill" not in outs0[0]
    assert outs[0]["g_style_distill"] == pytest.approx(expected, rel=1e-5) and expected > 0


def test_the_hr_encoder_is_only_the_target():
    """On an LR-style step the HR encoder is read under no_grad: its weights stay as without the term,
    while the LR encoder's differ (the term's gradient reaches it)."""
    plain, _, _ = _run("lr", 0.0)
    with_term, outs, expected = _run("lr", 5.0)
    assert torch.equal(plain["hr_encoder"], with_term["hr_encoder"])
    assert not torch.allclose(plain["lr_encoder"], with_term["lr_encoder"])
    assert outs[0]["g_style_distill"] == pytest.approx(expected, rel=1e-5)


def test_the_distance_falls_when_trained(monkeypatch):
    _, outs, _ = _run("hr", 50.0, steps=6)
    vals = [o["g_style_distill"] for o in outs]
    assert vals[-1] < 0.8 * vals[0], vals


def test_negative_weights_are_refused():
    from deepsee.config import load_config
    with pytest.raises(ValueError, match="lambda_style_distill"):
        load_config("smoke", ["train.lambda_style_distill=-1"])
    with pytest.raises(ValueError, match="l1_region_balance"):
        load_config("smoke", ["train.l1_region_balance=-1"])
