"""Import the authors' released checkpoints into the kit's ``DeepSEE`` folder format.

A released variant is a folder of PyTorch state dicts: ``latest_net_G.pth`` (generator),
``latest_net_E.pth`` (style encoders), ``latest_net_D.pth`` (discriminator). They are read with
``torch.load(weights_only=True)`` (nothing is unpickled but tensors) and every key is mapped onto the
kit's modules:

    generator     initial -> head_conv, head_0 / G_middle_0 / G_middle_1 / up_list.k -> blocks.0 / 1 / 2 / 3+k,
                  conv_img -> out_conv; in a block conv_0/conv_1 (weight_orig, weight_u, weight_v, bias),
                  noise_in / noise_skip / noise_middle, and per NormBlock param_free_norm (BatchNorm running
                  stats) -> norm, mlp_shared.0 -> semantic.hidden, [mlp_gamma | mlp_beta] -> semantic.out,
                  [mlp_style_gamma | mlp_style_beta] -> style.conv, style_conv -> style.unused,
                  alpha_gamma / alpha_beta; the authors' 32x top block (``deepsee.models.released.ReleasedStyleBranch``): mlp_shared.0 ->
                  released.hidden, [mlp_style_gamma | mlp_style_beta] -> released.conv, style_conv -> released.unused.
    encoders      noise_weights -> style_noise, final.0.0 -> shared_encoder (the shared layer);
                  independent: encoder_mini (initial, conv0, conv1, conv2.1) -> lr_encoder and encoder_full
                  (initial, down0, down1, up_conv.1) -> hr_encoder; guided: the HR encoder at the top level.
                  encoder_full.final / encoder_mini.final are the two unused per-branch copies of the shared
                  layer: the only keys dropped.
    discriminator discriminator_s.model0..model4 -> scales.s.layer_0..3, head (saved as discriminator.safetensors).

Spectral norm keeps ``weight_orig`` / ``weight_u`` / ``weight_v``; in eval mode the kit, like the released
model, divides by ``u^T W v`` with the stored vectors, so the imported model computes what the released
one computes (BatchNorm running stats, no noise). Any missing, unexpected or mis-shaped key is refused in
one message listing all of them.

32x: the released 32x generator's last block (``up_list.3``, 512 px) feeds its style convs with the
semantic hidden features instead of the styled map, so it ignores the style there (a defect;
docs/ARCHITECTURE_NOTES.md "32x"). The import therefore sets ``model.last_block: released`` (saved in ``config.json``),
under which the kit's block computes exactly that (``deepsee.models.generator``): ``mlp_shared.0`` ->
released.hidden, [mlp_style_gamma | mlp_style_beta] -> released.conv, style_conv -> released.unused.
Every released key maps; none is dropped. The released 32x folder holds only a generator; if
``latest_net_E.pth`` is absent the encoders keep their initialisation (reported).
"""
from __future__ import annotations

import dataclasses
import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import Tensor

from ..config import load_config
from ..runs import atomic_path, write_json
from .deepsee import DeepSEE
from .discriminator import build_discriminator

FILES = {"G": "latest_net_G.pth", "E": "latest_net_E.pth", "D": "latest_net_D.pth"}


@dataclass(frozen=True)
class OfficialVariant:
    profile: str            # the kit profile with the same configuration
    variant: str            # ModelConfig.variant
    encoder_layout: str     # "independent" | "guided"
    encoder_required: bool  # False: the release has no encoder file for this variant
    overrides: tuple[str, ...] = ()   # further ModelConfig settings the released model needs


OFFICIAL_VARIANTS: dict[str, OfficialVariant] = {
    "8x_independent_128x128": OfficialVariant("paper-8x", "independent", "independent", True),
    "8x_guided_128x128": OfficialVariant("paper-8x", "guided", "guided", True),
    "32x_independent": OfficialVariant("paper-32x", "independent", "independent", False,
                                       ("model.last_block=released",)),
}


class CheckpointMismatchError(ValueError):
    """A released checkpoint whose keys or shapes do not match the expected layout."""


# ----------------------------------------------------------------------------------------------------
# Key translation: kit key -> official key(s). Two official keys = concatenated along dim 0 (gamma | beta).

_NORM_RULES = [
    (r"norm\.(running_mean|running_var|num_batches_tracked)$", [r"param_free_norm.\1"]),
    (r"semantic\.hidden\.(weight|bias)$", [r"mlp_shared.0.\1"]),
    (r"semantic\.out\.(weight|bias)$", [r"mlp_gamma.\1", r"mlp_beta.\1"]),
    (r"style\.conv\.(weight|bias)$", [r"mlp_style_gamma.\1", r"mlp_style_beta.\1"]),
    (r"style\.unused\.(weight|bias)$", [r"style_conv.\1"]),
    (r"(alpha_gamma|alpha_beta)$", [r"\1"]),
    (r"released\.hidden\.(weight|bias)$", [r"mlp_shared.0.\1"]),                      # 32x top block
    (r"released\.conv\.(weight|bias)$", [r"mlp_style_gamma.\1", r"mlp_style_beta.\1"]),
    (r"released\.unused\.(weight|bias)$", [r"style_conv.\1"]),
]
_BLOCK_RULES = [
    (r"(conv_[01])\.(weight_orig|weight_u|weight_v|bias)$", [r"\1.\2"]),
    (r"noise_(in|skip)\.weight$", [r"noise_\1.weight"]),
    (r"noise_mid\.weight$", ["noise_middle.weight"]),
]
_ENC_LAYERS = {  # kit conv index -> official sub-path, per branch layout
    "lr": ("initial.0.0", "conv0.0.0", "conv1.0.0", "conv2.1.0"),
    "hr": ("initial.0.0", "down0.0.0", "down1.0.0", "up_conv.1.0"),
}


def _apply(rules, rest: str) -> list[str] | None:
    for pattern, targets in rules:
        m = re.fullmatch(pattern, rest)
        if m:
            return [m.expand(t) for t in targets]
    return None


def official_block_name(index: int) -> str:
    return {0: "head_0", 1: "G_middle_0", 2: "G_middle_1"}.get(index, f"up_list.{index - 3}")


def generator_keys(kit_key: str) -> list[str] | None:
    """Official generator key(s) of a kit ``generator.*`` key (without the prefix); None: no counterpart."""
    if kit_key.startswith("head_conv."):
        return ["initial." + kit_key.split(".", 1)[1]]
    if kit_key.startswith("out_conv."):
        return ["conv_img." + kit_key.split(".", 1)[1]]
    m = re.fullmatch(r"blocks\.(\d+)\.(.+)", kit_key)
    if not m:
        return None
    prefix, rest = official_block_name(int(m.group(1))), m.group(2)
    n = re.fullmatch(r"(norm_[01])\.(.+)", rest)
    out = _apply(_NORM_RULES, n.group(2)) if n else _apply(_BLOCK_RULES, rest)
    if out is None:
        return None
    return [f"{prefix}.{n.group(1)}.{o}" if n else f"{prefix}.{o}" for o in out]


def encoder_keys(kit_key: str, layout: str) -> list[str] | None:
    """Official encoder key of a kit ``lr_encoder.* / hr_encoder.* / shared_encoder.* / style_noise.*`` key."""
    if kit_key == "style_noise.weight":
        return ["noise_weights"]
    m = re.fullmatch(r"shared_encoder\.conv\.conv\.(.+)", kit_key)
    if m:
        return [f"final.0.0.{m.group(1)}"]
    m = re.fullmatch(r"(lr|hr)_encoder\.conv_([0-3])\.conv\.(.+)", kit_key)
    if not m:
        return None
    src, idx, leaf = m.group(1), int(m.group(2)), m.group(3)
    if layout == "guided":
        if src != "hr":
            return None
        return [f"{_ENC_LAYERS['hr'][idx]}.{leaf}"]
    branch = "encoder_mini" if src == "lr" else "encoder_full"
    return [f"{branch}.{_ENC_LAYERS[src][idx]}.{leaf}"]


def discriminator_keys(kit_key: str) -> list[str] | None:
    m = re.fullmatch(r"scales\.(\d+)\.(layer_0\.0|layer_[123]\.conv|head)\.(.+)", kit_key)
    if not m:
        return None
    s, part, leaf = m.groups()
    sub = {"layer_0.0": "model0.0", "head": "model4.0"}.get(part) or f"model{part[6]}.0.0"
    return [f"discriminator_{s}.{sub}.{leaf}"]


KNOWN_UNUSED = {  # official keys dropped on purpose, per part and layout
    ("E", "independent"): re.compile(r"encoder_(full|mini)\.final\.0\.0\.weight_(orig|u|v)"),
}


# ----------------------------------------------------------------------------------------------------
# Matching


@dataclass
class PartMatch:
    """The mapping of one released file onto kit tensors."""
    name: str                                             # "G" | "E" | "D"
    path: Path
    tensors: dict[str, Tensor] = field(default_factory=dict)   # kit key (within the module) -> tensor
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    misshaped: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


def _match(name: str, path: Path, official: dict[str, Tensor], expected: dict[str, Tensor], translate,
           unused: re.Pattern | None = None, skip_kit=lambda k: False) -> PartMatch:
    part = PartMatch(name, path)
    used: set[str] = set()
    for key, ref in expected.items():
        if skip_kit(key):
            continue
        targets = translate(key)
        if targets is None:
            part.missing.append(f"(kit {key}: no released counterpart)")
            continue
        used.update(targets)
        absent = [t for t in targets if t not in official]
        if absent:
            part.missing += absent
            continue
        pieces = [official[t] for t in targets]
        want = [tuple(ref.shape)] if len(pieces) == 1 else \
               [(ref.shape[0] // len(pieces), *ref.shape[1:])] * len(pieces)
        bad = [f"{t}: {list(p.shape)} (expected {list(w)})" for t, p, w in zip(targets, pieces, want)
               if tuple(p.shape) != w]
        if bad:
            part.misshaped += bad
            continue
        value = pieces[0] if len(pieces) == 1 else torch.cat(pieces, 0)
        part.tensors[key] = value.to(ref.dtype)
    for key in official:
        if key in used:
            continue
        if unused is not None and unused.fullmatch(key):
            part.dropped.append(key)
        else:
            part.unexpected.append(key)
    return part


def _read(path: Path) -> dict[str, Tensor]:
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:   # torch's weights-only unpickler met a Python object
        found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(e))
        what = f" (e.g. {found.group(1)})" if found else ""
        raise CheckpointMismatchError(
            f"{path}: the file holds pickled Python objects other than tensors{what}. The kit never unpickles "
            "objects (only tensors, with torch.load(weights_only=True)), so it does not read this file. A released "
            "latest_net_*.pth holds a plain state dict; if this one was re-saved with other objects, save the "
            "state dict alone (torch.save(model.state_dict(), path)) where you trust the file, and import that"
        ) from None
    except Exception as e:  # noqa: BLE001 - report the file
        raise CheckpointMismatchError(f"{path}: cannot be read as a weights-only state dict ({e})") from e
    if not isinstance(obj, dict) or not all(isinstance(v, Tensor) for v in obj.values()):
        raise CheckpointMismatchError(f"{path}: expected a state dict (key -> tensor), got {type(obj).__name__}")
    if obj and all(k.startswith("module.") for k in obj):      # saved from a DataParallel wrapper
        obj = {k[len("module."):]: v for k, v in obj.items()}
    return dict(obj)


def _resolve_dir(checkpoint_dir: Path, variant: str) -> Path:
    if (checkpoint_dir / FILES["G"]).is_file():
        return checkpoint_dir
    if (checkpoint_dir / variant / FILES["G"]).is_file():
        return checkpoint_dir / variant
    raise FileNotFoundError(f"{checkpoint_dir}: no {FILES['G']} here or in {checkpoint_dir / variant} "
                            f"(the released variant folder holds {', '.join(FILES.values())})")


def official_config(variant: str):
    """The kit ModelConfig of a released variant."""
    if variant not in OFFICIAL_VARIANTS:
        raise ValueError(f"unknown released variant {variant!r}; known: {', '.join(OFFICIAL_VARIANTS)}")
    spec = OFFICIAL_VARIANTS[variant]
    return load_config(spec.profile, [f"model.variant={spec.variant}", *spec.overrides]).model


def import_official(checkpoint_dir: str | Path, variant: str, out_dir: str | Path) -> Path:
    """Convert a released checkpoint folder into a kit model folder (``DeepSEE.load(out_dir)``).

    Writes ``model.safetensors`` + ``config.json``, ``discriminator.safetensors`` when the release has
    ``latest_net_D.pth`` (keys of ``build_discriminator(cfg)``), and ``import_report.json`` (sources,
    dropped keys, notes). Raises ``CheckpointMismatchError`` listing every missing, unexpected and
    mis-shaped key.
    """
    cfg = official_config(variant)
    spec = OFFICIAL_VARIANTS[variant]
    src = _resolve_dir(Path(checkpoint_dir), variant)
    paths = {k: src / f for k, f in FILES.items()}
    if spec.encoder_required and not paths["E"].is_file():
        raise FileNotFoundError(f"{paths['E']} not found: the released {variant} has a style encoder file")

    with torch.device("meta"):   # shapes only; nothing allocated
        model_meta = DeepSEE(cfg)
        disc_meta = build_discriminator(cfg)
    gen_expected = {k: v for k, v in model_meta.generator.state_dict().items()}
    enc_expected = {k: v for k, v in model_meta.state_dict().items() if not k.startswith("generator.")}

    notes: list[str] = []
    parts: list[PartMatch] = []
    parts.append(_match("G", paths["G"], _read(paths["G"]), gen_expected, generator_keys))
    if paths["E"].is_file():
        parts.append(_match("E", paths["E"], _read(paths["E"]), enc_expected,
                            lambda k: encoder_keys(k, spec.encoder_layout),
                            KNOWN_UNUSED.get(("E", spec.encoder_layout))))
    else:
        notes.append(f"no {FILES['E']} in the release: the style encoders keep their initialisation")
    if paths["D"].is_file():
        parts.append(_match("D", paths["D"], _read(paths["D"]), disc_meta.state_dict(), discriminator_keys))

    problems = []
    for p in parts:
        for label, items in (("missing", p.missing), ("unexpected", p.unexpected), ("mis-shaped", p.misshaped)):
            if items:
                problems.append(f"  {p.path.name} {label} ({len(items)}): " + ", ".join(items))
    if problems:
        raise CheckpointMismatchError(f"{src}: the checkpoint does not match the released {variant} layout\n"
                                      + "\n".join(problems))

    if cfg.last_block == "released":
        notes.append("32x: imported with model.last_block=released, so the last block (up_list.3, 512 px) computes "
                     "what the released block computes: its style convs read the semantic hidden features "
                     "(mlp_shared) instead of the styled map, i.e. the style takes no part in that block, as in "
                     "the released model. Every released key is mapped.")

    model = DeepSEE(cfg)
    by_name = {p.name: p for p in parts}
    state = model.state_dict()
    state.update({f"generator.{k}": v for k, v in by_name["G"].tensors.items()})
    if "E" in by_name:
        state.update(by_name["E"].tensors)
    model.load_state_dict(state, strict=True)
    out = Path(out_dir)
    model.eval().save(out)
    if "D" in by_name:
        disc = build_discriminator(cfg)
        disc.load_state_dict(by_name["D"].tensors, strict=True)
        with atomic_path(out / "discriminator.safetensors") as tmp:
            save_file({k: v.contiguous() for k, v in disc.state_dict().items()}, str(tmp))
    write_json(out / "import_report.json", {
        "variant": variant, "source": str(src),
        # exact: every tensor the released forward uses is mapped and the imported modules compute what the
        # released ones compute (only KNOWN_UNUSED keys are dropped). style_encoders: "imported", or
        # "initialised" where the release has no encoder file (the 32x release).
        "exact": True,
        "style_encoders": "imported" if "E" in by_name else "initialised (no latest_net_E.pth in the release)",
        "files": {p.name: p.path.name for p in parts},
        "config": dataclasses.asdict(cfg),
        "dropped": {p.path.name: p.dropped for p in parts if p.dropped},
        "notes": notes,
    })
    return out
