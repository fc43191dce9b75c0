"""Typed configuration: dataclasses loaded from YAML profiles shipped in ``deepsee/profiles``.

A profile is ``smoke`` (tests), ``quick`` (2-core CPU main job) or ``paper`` (the published
configuration; ``paper-8x``, ``paper-celebamaskhq-8x``, ``paper-32x``... derive from it through
``base:``). Every field can be overridden with dotted ``key=value`` strings (CLI ``--set`` /
papermill parameters), e.g. ``load_config("quick", ["train.batch_size=2", "model.variant=guided"])``.
The resolved configuration is saved with every run (``config.yaml``).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Sequence

import yaml

from .labels import label_set
from .runs import REPO_ROOT

PROFILE_DIR = Path(__file__).parent / "profiles"


@dataclass(frozen=True)
class VariantFacts:
    """What a model variant is made of (the main paper's model and its ablations, supplement Section 2.2)."""
    style_sources: tuple[str, ...]   # its style encoders, "lr" (Table 1) / "hr" (Table 2); () = no style
    first_block: str                 # NormBlock kind of the first ResBlock (LR size; deepsee.models.generator)
    block: str                       # NormBlock kind of every other ResBlock
    noise_delta: float               # uniform style-noise delta unless model.style_noise_delta >= 0 (0: no style)


VARIANT_FACTS: dict[str, VariantFacts] = {   # the one table of variant facts; VARIANTS is its keys
    "independent":    VariantFacts(("lr", "hr"), "semantic", "both", 0.2),
    "guided":         VariantFacts(("hr",), "semantic", "both", 0.05),
    "prior_only":     VariantFacts((), "prior", "prior", 0.0),
    "semantics_only": VariantFacts((), "semantic", "semantic", 0.0),
    "lr_style_only":  VariantFacts(("lr",), "prior", "style", 0.2),
    "hr_style_only":  VariantFacts(("hr",), "prior", "style", 0.2),
}
VARIANTS = tuple(VARIANT_FACTS)
MAIN_VARIANTS = tuple(v for v, f in VARIANT_FACTS.items() if f.block == "both")   # the paper's models
ABLATION_VARIANTS = ("prior_only", "lr_style_only", "hr_style_only", "semantics_only")   # Fig. 18's order
VARIANT_LABELS = {"prior_only": "prior-only", "lr_style_only": "LR-style-only", "hr_style_only": "HR-style-only",
                  "semantics_only": "semantics-only", "independent": "independent", "guided": "guided"}   # figures
if set(ABLATION_VARIANTS) != set(VARIANTS) - set(MAIN_VARIANTS) or set(VARIANT_LABELS) != set(VARIANTS):
    raise AssertionError("ABLATION_VARIANTS / VARIANT_LABELS must cover VARIANT_FACTS")
LAST_BLOCKS = ("style_only", "released")   # model.last_block (deepsee.models.generator)
FACTORS = (4, 8, 16, 32)                   # model.factor: the paper's magnifications 2**i, i = 2..5
STYLE_POOLS = ("eq2", "region")            # model.style_pool (deepsee.models.encoders.regional_average_pool)
# Earlier spellings of a value -> the value (configurations saved before the rename still load, same meaning).
STYLE_POOL_ALIASES = {"released": "eq2"}


def check_factor(factor) -> int:
    """The one check of ``model.factor`` (config loading, ``DeepSEE``, ``Generator``); returns it."""
    if isinstance(factor, bool) or not isinstance(factor, int) or factor not in FACTORS:
        raise ValueError(f"model.factor={factor!r}; expected one of {', '.join(map(str, FACTORS))} "
                         "(the paper's magnifications 2**i, i = 2..5)")
    return factor


@dataclass
class DataConfig:
    dataset: str = "synthfaces"        # synthfaces | celebamaskhq | celeba | folder | synthscenes | ade20k | ost
    labels: str = "celebamaskhq"       # label set (deepsee.labels): celebamaskhq (faces) | outdoor (SFTGAN's scene
                                       # classes) | path of a .json/.yaml label-set file; sets model.num_classes
    root: str = ""                     # dataset folder; "" -> <data_root>/<dataset>
    data_root: str = ""                # folder of the datasets; "" -> $DEEPSEE_DATA, else <checkout>/data (data_root())
    hr_size: int = 128                 # HR image side (px)
    lr_size: int = 16                  # LR image side (px)
    antialias: bool = False            # bicubic LR with antialias; False reproduces the released code
    flip: bool = True                  # random horizontal flip (image and mask together) in training
    mask_dir: str = ""                 # predicted masks (label PNGs by stem); "" -> ground truth where the dataset has it
    num_workers: int = 0
    synth_n: int = 1500                # SynthFaces: number of images
    synth_size: int = 256              # SynthFaces: image side on disk
    synth_seed: int = 0                # SynthFaces: generator seed
    splits: list[int] = field(default_factory=lambda: [1200, 100, 200])  # SynthFaces train/val/test
    identities: int = 300              # SynthFaces: number of people


@dataclass
class ModelConfig:
    variant: str = "independent"       # one of VARIANTS
    factor: int = 8                    # magnification 2**i, i = 2..5
    lr_size: int = 16                  # LR input side
    num_classes: int = 19
    channels: int = 512                # generator channels C (16 x ngf)
    style_dim: int = 128               # style length d
    hidden: int = 128                  # semantic (SPADE) hidden width
    enc_widths: list[int] = field(default_factory=lambda: [32, 64, 128, 256])  # style encoder widths
    disc_width: int = 32               # discriminator base width (ndf)
    num_scales: int = 2                # discriminator scales
    noise: bool = True                 # ResBlock noise injections (training only)
    style_noise_delta: float = -1.0    # uniform style noise; <0 -> the variant's (VARIANT_FACTS: 0.2, guided 0.05)
    keep_unused_style_conv: bool = True  # the released NormBlock's unused Conv1d(19,19,1) (380 params)
    style_pool: str = "eq2"            # regional average pooling: eq2 (the paper's Eq. 2: / map area; alias
                                       # "released") | region (/ region area, area-resized mask; quick profile)
    max_mask_size: int = 0             # resize masks to at most this inside NormBlocks (0 = off; 256 for 32x)
    last_block: str = "style_only"     # block(s) above max_mask_size: style_only (the kit's) | released
                                       # (the released 32x block, style ignored; set by import-official)

    def __post_init__(self):
        """Spell ``style_pool`` as now (:data:`STYLE_POOL_ALIASES`), however the config was built."""
        self.style_pool = STYLE_POOL_ALIASES.get(self.style_pool, self.style_pool)

    @property
    def hr_size(self) -> int:
        return self.lr_size * self.factor

    @property
    def delta(self) -> float:
        if self.style_noise_delta >= 0:
            return self.style_noise_delta
        return VARIANT_FACTS[self.variant].noise_delta


@dataclass
class TrainConfig:
    batch_size: int = 4
    epochs_const: int = 5              # epochs at constant learning rate
    epochs_decay: int = 3              # epochs of linear decay to zero
    schedule_steps: int = 0            # >0: the whole schedule in this many steps (constant:decay as the
                                       # epochs), independent of the data size and the machine's speed
    max_steps: int = 0                 # stop after this many steps (0 = no limit); schedule unchanged
    max_minutes: float = 0.0           # optional wall-clock safety cap (0 = off, as in every shipped
                                       # profile): the schedule is compressed to fit; recorded in run_info
    lr_g: float = 1e-4                 # generator, HR encoder, shared encoder
    lr_e_lr: float = 2.5e-5            # LR encoder
    lr_d: float = 4e-4                 # discriminator
    beta1: float = 0.0
    beta2: float = 0.9
    lambda_feat: float = 10.0
    lambda_vgg: float = 10.0
    hr_style_share: float = 0.5        # independent: share of steps whose style comes from the HR encoder
                                       # on the ground truth (the paper's fair coin: 0.5)
    lambda_style_rec: float = 0.0      # style reconstruction |E_HR(G(x, M, S)) - S| on the steps whose style comes from
                                       # the HR encoder (not in the paper; quick profile only, stated in outputs)
    lambda_style_distill: float = 0.0  # independent: |E_LR(lr) - sg(E_HR(hr))| on every styled step, the LR encoder
                                       # regressed onto the HR encoder's style of the ground truth (not in the paper)
    l1_region_balance: float = 0.0     # > 0: the pixel L1 weighs every present region equally (per image), pixel
                                       # weights capped at this multiple of uniform (not in the paper)
    lambda_l1: float = 0.0             # pixel L1 (not in the paper; quick/showcase profiles, stated in outputs)
    lambda_l1_final: float = -1.0      # >= 0: the L1 weight decays linearly from lambda_l1 to this during the
                                       # schedule's decay phase, with the learning rate (< 0: constant)
    lambda_local: float = 0.0          # > 0: region locality |G(x, M, S_walk) - G(x, M, sg(S))| outside the walked
                                       # class, S_walk = sg(S) with one class's rows moved by +-local_delta (the
                                       # class of a random pixel)
                                       # (not in the paper; showcase extension, stated in outputs)
    local_delta: float = 0.6           # the locality walk's step: the region walk of Fig. 10 / notebook 30 (2 x 0.3)
    local_every: int = 1               # the locality term on every k-th step (it costs a generator pass on 2B)
    local_ratio: float = 0.0           # > 0: a hinge, only the outside change above 1/local_ratio of the inside
                                       # change is penalised (and the inside change rewarded up to it); 0: all of it
    local_from: int = 0                # the locality term from this step on (a stage's later part)
    perceptual: str = "vgg19"          # vgg19 | segmenter (documented CPU substitute) | none
    save_every: int = 5000             # checkpoint every N steps (and at the end)
    snapshot_steps: list[int] = field(default_factory=list)  # also save the model (DeepSEE.save) at these
                                       # steps, as <run>/snapshots/step_<n>/ (how exploration emerges)
    sample_every: int = 1000           # sample grid PNG every N steps
    amp: str = "none"                  # none | bf16 | fp16
    grad_checkpoint: bool = False      # activation checkpointing in the generator
    tensorboard: bool = False
    d_fake: str = "regenerate"         # D step's fake: regenerate (released code) | detach (reuse G step's; ~25% cheaper)
    speedups: str = "all"              # training-step speed-ups that keep the numerics (deepsee.train.step.SPEEDUPS):
                                       # "all" | "none" | comma list of names, "-name" removes one ("all,-fused_adam")


@dataclass
class SegConfig:
    input: str = "lr"                  # the image it reads: "lr" (the paper's segmenter: LR face -> HR mask) or "hr"
                                       # (a judge of SR outputs: HR face -> mask; issue 31's mask-control measure)
    backbone: str = "drn"              # drn | resnet101 | xception65
    width: int = 64                    # DRN base width (64 = DRN-D-54)
    epochs: int = 150
    batch_size: int = 16
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 5e-4
    poly_power: float = 0.9
    max_steps: int = 0
    max_minutes: float = 0.0
    pretrained: bool = True            # use ImageNet weights when they are in the local cache
    class_weighting: str = "enet"      # enet | median | none: cross-entropy class balancing (paper: balanced)
    lovasz_weight: float = 0.0         # + this x Lovasz-softmax loss (not in the paper; quick profile only)
    lovasz_stride: int = 1             # Lovasz term on every k-th pixel row/column (cost)


@dataclass
class EvalConfig:
    max_images: int = 0                # 0 = whole split
    fid: bool = True
    lpips: bool = True
    perceptual_metric: str = "lpips_or_texture"   # the notebooks' metric: lpips | texture | lpips_or_texture (stated)
    oracle_images: int = 12
    oracle_samples: int = 1000
    oracle_noise: str = "gaussian"     # gaussian | uniform
    oracle_scale: float = 0.1
    usage_images: int = 100            # style usage (information, region control): test images
    usage_select_images: int = 16      # style usage (diversity, selection): test images
    usage_samples: int = 16            # style usage: diversity samples K per image
    usage_select_n: int = 100          # style usage: best-of-n selection
    usage_region_delta: float = 0.3    # style usage: region walk delta (as Fig. 10), +-2 delta
    usage_global_delta: float = 0.15   # style usage: global walk delta (as Fig. 3), +-2 delta
    usage_goals: str = "quick"         # style usage: the goal set of the table's goal/met columns (quick | showcase;
                                       # deepsee.eval.style_usage.GOAL_SETS)
    emergence_images: int = 40         # emergence figure: test images per snapshot (information, region control)
    emergence_select_images: int = 8   #   and for diversity and selection (the style-usage protocol, smaller)
    emergence_steps: list[int] = field(default_factory=list)   # snapshot steps measured (the final model always);
                                       # empty: every snapshot
    consistency_images: int = 30       # issue 33: the style-usage protocol with and without the consistency
    consistency_select_images: int = 8 #   projection on this many test images (and this many for selection)
    ntire_images: int = 30             # the NTIRE 2021 protocol (10 samples per image): test images
    ablation_images: int = 0           # the ablation table (notebook 44): test faces (0: max_images)
    ablation_select_images: int = 4    #   of which the first this many for the global walk and the selection gain
    ntire_samples: int = 10            #   samples per image (the challenge's 10)
    mask_control_images: int = 60      # issue 31: test faces of the mask-control table (each edit on those it applies to)
    holdout_seed: int = -1             # >= 0: also score the independent model on SynthFaces drawn with this seed
    holdout_images: int = 200          #   (faces it was neither trained nor tuned on): this many test faces


@dataclass
class PipelineConfig:
    """What the notebook pipeline trains and draws (notebooks 10-45)."""
    variants: list[str] = field(default_factory=lambda: list(VARIANTS))  # SR variants trained by notebook 20
    main_steps: int = 0                # train.schedule_steps for independent/guided (0 = train section's)
    ablation_steps: int = 0            # train.schedule_steps for the ablation variants (0 = train section's)
    extreme_profile: str = "paper-32x"  # profile of the 32x model (notebooks 42-43); "" = skip
    extreme_steps: int = 0             # train.schedule_steps for the 32x model (0 = its profile's)
    scenes_profile: str = ""           # profile of the outdoor-scenes models (notebook 46, Fig. 19); "" = skip
    scenes_steps: int = 0              # train.schedule_steps for the scenes SR model (0 = its profile's)
    scenes_seg_steps: int = 0          # seg.max_steps for the scenes segmenter (0 = its profile's)
    seg_backbones: list[str] = field(default_factory=lambda: ["drn", "resnet101", "xception65"])
    extra_backbone_steps: int = 0      # seg.max_steps for the non-DRN backbones (0 = seg section's)
    restarts: list = field(default_factory=list)  # warm restarts of the main SR runs after their schedule, in
                                       # order: {steps: N, snapshots: [...], set: ["train.key=value", ...]}; each
                                       # branches the previous stage's final checkpoint into <run>-<N/1000>k and
                                       # trains it on to step N (deepsee.train.jobs.train_restarts)
    pretrained: str = ""               # "showcase": notebooks 10 and 20 take the models shipped in pretrained/showcase
                                       # (checksums verified) instead of training them; `deepsee reproduce --retrain`
                                       # trains them again
    threads: int = 0                   # torch threads of the notebooks' own work, e.g. the segmenter
                                       # (0 = torch's default: the machine's cores; results then vary with them)
    notebook_jobs: int = 1             # `deepsee reproduce`: the notebooks after 20 run in this many lanes side by side,
                                       # each kernel with threads // notebook_jobs torch threads (the order is fixed,
                                       # so the numbers are the same on every machine; deepsee.reproduce)
    train_workers: int = 1             # SR trainings run side by side in this many processes (CPU)
    train_threads: int = 0             # torch threads per training process (0 = torch's default)
    style_rows: int = 3                # Fig. 3 rows (Fig. 4 shows twice as many)
    figure_images: int = 4             # rows of Figs. 8-18


@dataclass
class Config:
    profile: str = "quick"
    seed: int = 0
    device: str = "auto"               # auto | cpu | cuda | cuda:N
    run_root: str = ""
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    seg: SegConfig = field(default_factory=SegConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def save(self, path: str | os.PathLike) -> None:
        Path(path).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))


def data_root(cfg: "DataConfig | None" = None) -> Path:
    """The folder of the datasets, the kit's one rule (docs/DATA.md): ``cfg.data_root`` when set
    (``deepsee.pipeline.setup(data_root=...)``, ``--set data.data_root=...``), else ``$DEEPSEE_DATA``, else
    ``data``; a relative path is taken from the checkout (:data:`deepsee.runs.REPO_ROOT`), whatever the
    working folder. Absolute."""
    root = Path((cfg.data_root if cfg is not None else "") or os.environ.get("DEEPSEE_DATA", "") or "data")
    return root if root.is_absolute() else REPO_ROOT / root


def dataset_root(cfg: DataConfig) -> Path:
    """``cfg.root`` if set; else ``<data root>/<dataset>`` (:func:`data_root`). SynthFaces folders carry their generation
    settings in the name (``synthfaces_<n>x<size>_seed<k>``), so profiles never overwrite each other."""
    if cfg.root:
        return Path(cfg.root)
    if cfg.dataset in ("synthfaces", "synthscenes"):
        return data_root(cfg) / f"{cfg.dataset}_{cfg.synth_n}x{cfg.synth_size}_seed{cfg.synth_seed}"
    return data_root(cfg) / cfg.dataset


def resolve_device(name: str = "auto"):
    import torch   # heavy: this module loads without it
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _read_profile(name_or_path: str, seen: tuple = ()) -> dict:
    p = Path(name_or_path)
    if not p.suffix:
        p = PROFILE_DIR / f"{name_or_path}.yaml"
    if not p.is_file():
        known = sorted(q.stem for q in PROFILE_DIR.glob("*.yaml"))
        raise FileNotFoundError(f"config profile {name_or_path!r} not found (looked for {p}); "
                                f"shipped profiles: {', '.join(known)}")
    if str(p) in seen:
        raise ValueError(f"circular 'base:' in config {p}")
    d = yaml.safe_load(p.read_text()) or {}
    if not isinstance(d, dict):
        raise ValueError(f"config {p} must be a YAML mapping")
    base = d.pop("base", None)
    if base:
        d = _merge(_read_profile(base, seen + (str(p),)), d)
    return d


# Keys of earlier versions -> what replaced them (budgets are steps now, so results do not depend on
# the machine's speed).
RENAMED_KEYS = {"pipeline.main_minutes": "pipeline.main_steps",
                "pipeline.ablation_minutes": "pipeline.ablation_steps",
                "pipeline.extreme_minutes": "pipeline.extreme_steps",
                "pipeline.extra_backbone_minutes": "pipeline.extra_backbone_steps"}


def _build(cls, d: dict, where: str):
    names = {f.name: f for f in fields(cls)}
    kwargs = {}
    for k, v in d.items():
        if f"{where}{k}" in RENAMED_KEYS:
            raise KeyError(f"config key {where}{k} was replaced by {RENAMED_KEYS[where + k]} (a step count: "
                           f"budgets are steps, so every machine trains the same run)")
        if k not in names:
            raise KeyError(f"unknown config key {where}{k!r}; valid keys: {', '.join(names)}")
        f = names[k]
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        if is_dataclass(default):
            if not isinstance(v, dict):
                raise TypeError(f"config key {where}{k} must be a mapping, got {v!r}")
            kwargs[k] = _build(type(default), v, f"{where}{k}.")
        else:
            kwargs[k] = _coerce(v, default, f"{where}{k}")
    return cls(**kwargs)


def _coerce(v, default, key):
    if default is None or v is None:
        return v
    if isinstance(default, bool):
        if isinstance(v, bool):
            return v
        raise TypeError(f"config key {key} must be true/false, got {v!r}")
    if isinstance(default, float) and isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    if isinstance(default, int) and isinstance(v, int) and not isinstance(v, bool):
        return v
    if isinstance(default, str) and isinstance(v, str):
        return v
    if isinstance(default, list) and isinstance(v, (list, tuple)):
        return list(v)
    raise TypeError(f"config key {key} expects {type(default).__name__}, got {v!r}")


def parse_overrides(overrides: Sequence[str] | dict | None) -> dict:
    """``["train.batch_size=2", "model.variant=guided"]`` -> nested dict (values parsed as YAML)."""
    if not overrides:
        return {}
    if isinstance(overrides, dict):
        items = overrides.items()
    else:
        items = []
        for o in overrides:
            if "=" not in o:
                raise ValueError(f"override {o!r} must look like section.key=value")
            k, v = o.split("=", 1)
            items.append((k.strip(), yaml.safe_load(v)))
    out: dict = {}
    for k, v in items:
        cur = out
        parts = k.split(".")
        for p in parts[:-1]:
            cur = cur.setdefault(p, {})
        cur[parts[-1]] = v
    return out


def validate_model(m: ModelConfig) -> ModelConfig:
    """The checks of a model section (config loading and ``DeepSEE``): a ``ValueError`` naming the key
    for a value the model cannot be built with. Returns ``m``."""
    if m.variant not in VARIANTS:
        raise ValueError(f"model.variant={m.variant!r}; expected one of {VARIANTS}")
    check_factor(m.factor)
    if len(m.enc_widths) != 4:
        raise ValueError(f"model.enc_widths={m.enc_widths}; expected four widths")
    if m.style_pool not in STYLE_POOLS:
        raise ValueError(f"model.style_pool={m.style_pool!r}; expected one of {STYLE_POOLS} (eq2: the paper's "
                         "Eq. 2, also accepted as 'released'; region: SEAN's per-region mean)")
    if m.last_block not in LAST_BLOCKS:
        raise ValueError(f"model.last_block={m.last_block!r}; expected one of {LAST_BLOCKS} (\"released\": the "
                         "authors' 32x model's last block, for their checkpoints; \"style_only\": the kit's)")
    if m.last_block == "released" and m.max_mask_size <= 0:
        raise ValueError("model.last_block='released' applies to the blocks above model.max_mask_size, which is "
                         f"{m.max_mask_size} (off); the authors' 32x configuration has "
                         "model.max_mask_size=256 (profile paper-32x)")
    return m


#: The style-usage goal sets ``eval.usage_goals`` names (their thresholds: deepsee.eval.style_usage.GOAL_SETS, whose
#: keys a test holds equal to these).
USAGE_GOAL_SETS = ("quick", "showcase", "scenes")
PERCEPTUAL_CHOICES = ("lpips", "texture", "lpips_or_texture")   # eval.perceptual_metric (metrics.choose_perceptual)

#: Datasets whose masks are outdoor-scene labels (deepsee.labels.OUTDOOR); the others hold faces.
SCENE_DATASETS = ("synthscenes", "ade20k", "ost")


def validate_labels(cfg: Config):
    """The label set ``data.labels`` names (:func:`deepsee.labels.label_set`), checked against the dataset:
    a scene dataset needs a label set of 8 outdoor classes, a face dataset the face set (or a file of the
    user's own); a ``ValueError`` names the key otherwise."""
    try:
        ls = label_set(cfg.data.labels)
    except (ValueError, FileNotFoundError) as e:
        raise ValueError(f"data.labels={cfg.data.labels!r}: {e}") from None
    scenes = cfg.data.dataset in SCENE_DATASETS
    if scenes and ls.name != "outdoor":
        raise ValueError(f"data.dataset={cfg.data.dataset!r} holds outdoor scenes; set data.labels=outdoor "
                         f"(got {cfg.data.labels!r})")
    if not scenes and ls.name == "outdoor":
        raise ValueError(f"data.labels=outdoor, but data.dataset={cfg.data.dataset!r} holds faces; use a scene "
                         f"dataset ({', '.join(SCENE_DATASETS)})")
    return ls


def restart_stages(restarts, after: int = 0) -> list[tuple[int, list[int], list[str]]]:
    """``pipeline.restarts`` checked -> ``[(steps, snapshot steps, overrides)]``: each stage ends later than
    the one before (and than ``after``, the first schedule's steps, when known); a ``ValueError`` names
    the entry otherwise."""
    out, last = [], int(after or 0)
    for i, stage in enumerate(restarts or []):
        where = f"pipeline.restarts[{i}]"
        if not isinstance(stage, dict) or "steps" not in stage:
            raise ValueError(f"{where}={stage!r}; expected {{steps: N, snapshots: [...], set: [...]}}")
        unknown = set(stage) - {"steps", "snapshots", "set"}
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}; expected steps, snapshots, set")
        steps, snaps, sets = stage["steps"], list(stage.get("snapshots") or []), list(stage.get("set") or [])
        if not isinstance(steps, int) or steps <= last:
            raise ValueError(f"{where}.steps={steps!r}; expected a step total after {last:,} (the stage before)")
        if any(not isinstance(n, int) or not last < n < steps for n in snaps):
            raise ValueError(f"{where}.snapshots={snaps!r}; expected steps between {last:,} and {steps:,}")
        if any(not isinstance(o, str) or "=" not in o for o in sets):
            raise ValueError(f"{where}.set={sets!r}; expected overrides like 'train.lambda_local=20'")
        out.append((steps, snaps, sets))
        last = steps
    return out


def validate(cfg: Config) -> Config:
    """The one validation of a whole configuration, which :func:`load_config` and :func:`config_from_dict`
    apply: a ``ValueError`` naming the key for a value out of its range (types and key names are checked
    while building). Returns ``cfg``."""
    t = cfg.train
    if t.l1_region_balance < 0:
        raise ValueError(f"train.l1_region_balance={t.l1_region_balance}; expected 0 (off) or a cap > 0")
    if any(not isinstance(n, int) or n < 1 for n in t.snapshot_steps):
        raise ValueError(f"train.snapshot_steps={t.snapshot_steps}; expected positive step numbers")
    if t.lambda_l1 < 0:
        raise ValueError(f"train.lambda_l1={t.lambda_l1}; expected >= 0")
    if t.lambda_local < 0:
        raise ValueError(f"train.lambda_local={t.lambda_local}; expected >= 0")
    if t.local_ratio < 0 or t.local_from < 0:
        raise ValueError(f"train.local_ratio={t.local_ratio}, train.local_from={t.local_from}; expected >= 0")
    if t.local_every < 1:
        raise ValueError(f"train.local_every={t.local_every}; expected a step interval >= 1")
    if not 0.0 < t.local_delta <= 2.0:
        raise ValueError(f"train.local_delta={t.local_delta}; expected a walk step in (0, 2] (styles lie in [-1, 1])")
    if t.lambda_style_distill < 0:
        raise ValueError(f"train.lambda_style_distill={t.lambda_style_distill}; expected >= 0")
    if not 0.0 <= t.hr_style_share <= 1.0:
        raise ValueError(f"train.hr_style_share={t.hr_style_share}; expected a probability in [0, 1]")
    validate_model(cfg.model)
    labels = validate_labels(cfg)
    if cfg.model.num_classes != labels.num_classes:
        raise ValueError(f"model.num_classes={cfg.model.num_classes}, but data.labels={cfg.data.labels!r} has "
                         f"{labels.num_classes} classes (leave model.num_classes out: the label set sets it)")
    if cfg.eval.perceptual_metric not in PERCEPTUAL_CHOICES:
        raise ValueError(f"eval.perceptual_metric={cfg.eval.perceptual_metric!r}; expected one of "
                         f"{', '.join(PERCEPTUAL_CHOICES)}")
    if cfg.eval.usage_goals not in USAGE_GOAL_SETS:
        raise ValueError(f"eval.usage_goals={cfg.eval.usage_goals!r}; expected one of {', '.join(USAGE_GOAL_SETS)}")
    restart_stages(cfg.pipeline.restarts, cfg.pipeline.main_steps or t.schedule_steps)
    if cfg.pipeline.notebook_jobs < 1:
        raise ValueError(f"pipeline.notebook_jobs={cfg.pipeline.notebook_jobs}; expected 1 (one after the other) or more")
    if cfg.pipeline.pretrained not in ("", "showcase"):
        raise ValueError(f"pipeline.pretrained={cfg.pipeline.pretrained!r}; expected '' (train) or 'showcase'")
    return cfg


def load_config(profile: str | os.PathLike = "quick", overrides: Sequence[str] | dict | None = None) -> Config:
    """Load a shipped profile (name) or a YAML file (path), then apply overrides; validated (:func:`validate`)."""
    return config_from_dict(_merge(_read_profile(str(profile)), parse_overrides(overrides)))


def config_from_dict(d: dict) -> Config:
    """A validated Config (:func:`validate`) from a nested dict, e.g. ``Config.to_dict()`` output or a run's
    saved ``config.yaml``."""
    return validate(_build(Config, _labels_set_classes(d), ""))


def _labels_set_classes(d: dict) -> dict:
    """``model.num_classes`` from ``data.labels`` when the dict does not state it (profiles name the label
    set once); a stated value is kept and checked by :func:`validate`."""
    labels = (d.get("data") or {}).get("labels") if isinstance(d.get("data"), dict) else None
    model = d.get("model") if isinstance(d.get("model"), dict) else {}
    if labels and "num_classes" not in model:
        try:
            n = label_set(labels).num_classes
        except (ValueError, FileNotFoundError):
            return d          # validate() names the key
        d = _merge(d, {"model": {"num_classes": n}})
    return d


def add_config_args(p: argparse.ArgumentParser, default: str = "quick") -> None:
    """The shared ``--config PROFILE`` and ``--set key=value`` options."""
    p.add_argument("--config", default=default,
                   help=f"profile name (smoke, quick, paper, paper-8x, ...) or YAML path (default {default})")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field, e.g. --set train.batch_size=2 (repeatable)")
