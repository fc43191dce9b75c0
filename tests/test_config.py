import pytest

from deepsee.config import Config, config_from_dict, load_config, parse_overrides


def test_profiles_load_and_paper_is_published_configuration():
    for name in ("smoke", "quick", "paper", "paper-8x", "paper-celebamaskhq-8x", "paper-32x", "paper-4x",
                 "paper-16x", "smoke-32x"):
        cfg = load_config(name)
        assert isinstance(cfg, Config)
    p = load_config("paper")
    assert (p.model.channels, p.model.style_dim, p.model.hidden) == (512, 128, 128)
    assert (p.train.lr_g, p.train.lr_e_lr, p.train.lr_d) == (1e-4, 2.5e-5, 4e-4)
    assert (p.train.beta1, p.train.beta2, p.train.lambda_feat, p.train.lambda_vgg) == (0.0, 0.9, 10.0, 10.0)
    assert p.train.perceptual == "vgg19" and p.train.lambda_l1 == 0.0
    hq = load_config("paper-celebamaskhq-8x")
    assert (hq.data.lr_size, hq.data.hr_size, hq.train.batch_size, hq.train.epochs_const, hq.train.epochs_decay) == (32, 256, 1, 50, 25)
    x32 = load_config("paper-32x")
    assert x32.model.hr_size == 512 and x32.model.noise is False and x32.train.batch_size == 2


def test_overrides_are_typed_and_nested():
    cfg = load_config("smoke", ["train.batch_size=3", "model.variant=guided", "data.splits=[1,2,3]"])
    assert cfg.train.batch_size == 3 and cfg.model.variant == "guided" and cfg.data.splits == [1, 2, 3]
    assert cfg.model.delta == 0.05
    assert load_config("smoke").model.delta == 0.2
    assert parse_overrides({"a.b": 1}) == {"a": {"b": 1}}


@pytest.mark.parametrize("bad,msg", [
    (["train.batchsize=3"], "unknown config key train.'batchsize'"),
    (["train.batch_size=abc"], "train.batch_size expects int"),
    (["model.variant=magic"], "model.variant='magic'"),
    (["model.factor=6"], "model.factor=6; expected one of 4, 8, 16, 32"),
    (["nosection"], "section.key=value"),
])
def test_bad_overrides_name_the_key(bad, msg):
    with pytest.raises((KeyError, TypeError, ValueError)) as e:
        load_config("smoke", bad)
    assert msg in str(e.value)


@pytest.mark.parametrize("factor", [2, 6, 64])
def test_factor_has_one_check_and_one_message(factor):
    """Config loading, DeepSEE and Generator refuse the same factors with the same message."""
    import dataclasses

    from deepsee.models.deepsee import DeepSEE
    from deepsee.models.generator import Generator
    expected = f"model.factor={factor}; expected one of 4, 8, 16, 32"
    bad = dataclasses.replace(load_config("smoke").model, factor=factor)
    for make in (lambda: load_config("smoke", [f"model.factor={factor}"]), lambda: DeepSEE(bad),
                 lambda: Generator(factor=factor, block_kinds=["semantic"] * 3)):
        with pytest.raises(ValueError) as e:
            make()
        assert str(e.value).startswith(expected)
    for ok in (4, 32):     # every factor the message lists is accepted
        assert load_config("smoke", [f"model.factor={ok}"]).model.factor == ok


def test_unknown_profile_lists_shipped_ones():
    with pytest.raises(FileNotFoundError, match="shipped profiles: .*quick"):
        load_config("nope")


def test_saved_config_round_trips(tmp_path):
    import yaml
    cfg = load_config("quick", ["seed=7"])
    cfg.save(tmp_path / "c.yaml")
    again = config_from_dict(yaml.safe_load((tmp_path / "c.yaml").read_text()))
    assert again == cfg


@pytest.mark.parametrize("section,key,value,msg", [
    ("train", "lambda_l1", -1.0, "train.lambda_l1=-1.0; expected >= 0"),
    ("model", "variant", "magic", "model.variant='magic'"),
    ("model", "last_block", "late", "model.last_block='late'; expected one of"),
    ("model", "style_pool", "sean", "model.style_pool='sean'"),
    ("pipeline", "pretrained", "mine", "pipeline.pretrained='mine'"),
])
def test_config_from_dict_validates_as_load_config_does(section, key, value, msg):
    """A saved configuration goes through the same validation as a profile: one rule per key."""
    d = load_config("quick").to_dict()
    d[section][key] = value
    for make in (lambda: config_from_dict(d), lambda: load_config("quick", [f"{section}.{key}={value}"])):
        with pytest.raises(ValueError, match=msg.replace("(", r"\(").replace(".", r"\.")):
            make()


def test_style_pool_is_named_after_eq2_and_still_loads_released():
    """model.style_pool=eq2 is the paper's Eq. 2; configurations saved before the rename say "released" and
    load with the same meaning, however the configuration is built."""
    import dataclasses

    from deepsee.config import ModelConfig
    assert load_config("paper").model.style_pool == "eq2" and load_config("quick").model.style_pool == "region"
    assert load_config("paper", ["model.style_pool=released"]).model == load_config("paper").model
    d = load_config("paper").to_dict()
    d["model"]["style_pool"] = "released"
    assert config_from_dict(d) == load_config("paper")
    assert ModelConfig(style_pool="released").style_pool == "eq2"          # e.g. an old model's config.json
    assert dataclasses.replace(ModelConfig(), style_pool="released").style_pool == "eq2"


def test_data_root_rule(tmp_path, monkeypatch):
    """data.data_root, else $DEEPSEE_DATA, else the checkout's data/; relative paths from the checkout."""
    from deepsee.config import DataConfig, data_root
    from deepsee.runs import REPO_ROOT
    monkeypatch.delenv("DEEPSEE_DATA", raising=False)
    monkeypatch.chdir(tmp_path)                                            # not the working folder
    assert data_root(DataConfig()) == data_root() == REPO_ROOT / "data"
    monkeypatch.setenv("DEEPSEE_DATA", str(tmp_path / "env"))
    assert data_root(DataConfig()) == tmp_path / "env"
    assert data_root(DataConfig(data_root=str(tmp_path / "set"))) == tmp_path / "set"
    assert data_root(DataConfig(data_root="mine")) == REPO_ROOT / "mine"
