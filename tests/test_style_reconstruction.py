"""train.lambda_style_rec: the style-reconstruction term reaches the generator, not the HR encoder that
reads the output, and only on the steps whose style comes from the HR encoder."""
import torch

from fixtures import face as _face, model as _model


def test_the_reconstruction_gradient_goes_to_the_output_only():
    from deepsee.models.masks import to_onehot
    from deepsee.train.step import style_reconstruction, style_reconstruction_grad
    model, cfg = _model()
    model.train()
    fake = (torch.rand(2, 3, cfg.hr_size, cfg.hr_size) * 2 - 1).requires_grad_(True)
    onehot = to_onehot(torch.cat([_face(cfg.hr_size, 0), _face(cfg.hr_size, 1)]), cfg.num_classes)
    style = torch.rand(2, cfg.num_classes, cfg.style_dim) * 2 - 1
    surrogate, value = style_reconstruction_grad(model, fake, onehot, style, weight=3.0)
    surrogate.backward()
    assert all(p.grad is None for p in model.hr_encoder.parameters())
    assert all(p.grad is None for p in model.shared_encoder.parameters())
    fake2 = fake.detach().clone().requires_grad_(True)
    (3.0 * style_reconstruction(model, fake2, onehot, style)).backward()
    assert torch.allclose(fake.grad, fake2.grad) and fake.grad.abs().sum() > 0
    assert float(value) > 0
    # absent regions do not count: a style that differs only in an absent row changes nothing
    absent = (onehot.flatten(2).sum(-1) == 0)
    other = style.clone()
    other[absent] += 0.5
    assert torch.allclose(style_reconstruction(model, fake.detach(), onehot, other),
                          style_reconstruction(model, fake.detach(), onehot, style))


def test_the_term_changes_only_hr_style_steps(tmp_path):
    """Two trainers from the same weights, one with the term: an LR-style step gives identical
    generators, an HR-style step different ones, and the term is logged on that step only."""
    from deepsee.config import load_config
    from deepsee.models import DeepSEE, build_discriminator
    from deepsee.train import Plan, SRTrainer
    from deepsee.train.step import StyleChoice
    import deepsee.train.trainer as trainer_mod

    cfg0 = load_config("smoke", ["train.perceptual=none"])
    g = torch.Generator().manual_seed(0)
    B = 2
    batch = {"hr": torch.rand(B, 3, 64, 64, generator=g) * 2 - 1, "mask": torch.stack([_face(64, i)[0] for i in range(B)])}
    batch["lr"] = torch.nn.functional.interpolate(batch["hr"], size=8, mode="bicubic", align_corners=False).clamp(-1, 1)
    results = {}
    for source in ("lr", "hr"):
        for lam in (0.0, 5.0):
            cfg = load_config("smoke", ["train.perceptual=none", f"train.lambda_style_rec={lam}"])
            torch.manual_seed(0)
            model, disc = DeepSEE(cfg.model), build_discriminator(cfg.model)
            t = SRTrainer(model, disc, cfg, Plan(steps_per_epoch=10, const_steps=10, total_steps=20))
            orig = trainer_mod.choose_style
            trainer_mod.choose_style = lambda *a, **k: StyleChoice(source, False)
            try:
                torch.manual_seed(1)
                out = t.train_step(batch)
            finally:
                trainer_mod.choose_style = orig
            results[source, lam] = (torch.cat([p.detach().flatten() for p in model.generator.parameters()]), out)
    assert torch.equal(results["lr", 0.0][0], results["lr", 5.0][0])
    assert not torch.allclose(results["hr", 0.0][0], results["hr", 5.0][0])
    assert "g_style_rec" in results["hr", 5.0][1] and "g_style_rec" not in results["lr", 5.0][1]
    assert "g_style_rec" not in results["hr", 0.0][1]
