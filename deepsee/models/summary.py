"""Tables 1-4 of the supplement regenerated from the kit's own networks, the paper's numbers beside them.

Parameter counts are read off the built modules; output shapes come from a forward pass on the meta
device (no memory, no arithmetic by hand). The paper's values are the CSVs shipped in
``deepsee/reference`` (transcribed from the supplement). Table 4 is the 8x generator in the paper;
for other factors the rows have no paper counterpart and the total is compared with the released
implementation's total instead (4x, 16x, and the released 32x model: 61,714,407 with
``model.last_block: released``, the released top block; the kit's default ``style_only`` top block has
44,032 fewer, see ``deepsee.models.generator``).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import torch
import torch.nn as nn

from ..config import MAIN_VARIANTS, ModelConfig
from .deepsee import HR_STRIDES, LR_STRIDES, DeepSEE, check_model_config
from .encoders import SharedEncoder, StyleEncoder
from .released import RELEASED

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "reference"
PAPER_CSV = {"table1": "table1_lr_style_encoder.csv", "table2": "table2_hr_style_encoder.csv",
             "table3": "table3_shared_style_encoder.csv", "table4": "table4_generator_8x.csv"}
TITLES = {"table1": "Table 1. LR style encoder", "table2": "Table 2. HR style encoder",
          "table3": "Table 3. Shared style encoder", "table4": "Table 4. Generator"}
# Generator totals of the released implementation (docs/ARCHITECTURE_NOTES.md "Generator") for factors other than 8.
RELEASED_GENERATOR_TOTALS = {4: 35_620_599, 8: 45_109_235, 16: 54_597_871, 32: 61_714_407}


def count(module: nn.Module | None) -> int:
    return 0 if module is None else sum(p.numel() for p in module.parameters())


def _shape(t: torch.Tensor) -> str:
    if t.ndim == 4:                       # [B, C, H, W] -> HxWxC as in the paper
        return f"{t.shape[2]}x{t.shape[3]}x{t.shape[1]}"
    return "x".join(str(s) for s in t.shape[1:])


def _trace(modules: list[tuple[str, nn.Module]], run) -> list[tuple[str, nn.Module, str]]:
    """(name, module, output shape) for every call of the given modules, in call order."""
    calls, handles = [], []
    for name, mod in modules:
        handles.append(mod.register_forward_hook(
            lambda m, inp, out, name=name: calls.append((name, m, _shape(out)))))
    try:
        with torch.no_grad():
            run()
    finally:
        for h in handles:
            h.remove()
    return calls


def paper_table(key: str) -> pd.DataFrame:
    path = REFERENCE_DIR / PAPER_CSV[key]
    if not path.is_file():
        raise FileNotFoundError(f"{path} missing: the package ships the paper's tables in deepsee/reference")
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _with_paper(rows: list[dict], key: str, align: bool, total_quoted: int | None = None,
                shape_cols: tuple[str, ...] = ("output_shape",)) -> pd.DataFrame:
    """Append the total row, then the paper's params / shapes and a match column."""
    total = sum(r["params"] for r in rows)
    rows = rows + [{"layer": "total", "params": total}]
    df = pd.DataFrame(rows).fillna("")
    paper = paper_table(key)
    body, ptotal = paper[paper.layer != "total"], paper[paper.layer == "total"]
    df["paper_params"] = ""
    for c in shape_cols:
        df[f"paper_{c}"] = ""
    if align and len(body) == len(df) - 1:
        for c in ["params", *shape_cols]:
            df.loc[: len(body) - 1, f"paper_{c}"] = list(body[c])
    quoted = int(ptotal.params.iloc[0]) if align else total_quoted
    df.loc[len(df) - 1, "paper_params"] = "" if quoted is None else str(quoted)

    def match(r) -> str:
        if r["paper_params"] == "":
            return ""
        ok = int(r["paper_params"]) == int(r["params"])
        for c in shape_cols:
            if r[f"paper_{c}"] != "":
                ok = ok and r[f"paper_{c}"] == r[c]
        return "yes" if ok else "NO"
    df["match"] = df.apply(match, axis=1)
    df.attrs["title"] = TITLES[key]
    return df


def _encoder_rows(encoder: StyleEncoder, side: int) -> list[dict]:
    x = torch.empty(1, 3, side, side, device="meta")
    mods = [("conv_0", encoder.conv_0), ("conv_1", encoder.conv_1), ("conv_2", encoder.conv_2),
            ("up", encoder.up), ("conv_3", encoder.conv_3)]
    rows = []
    for name, mod, shape in _trace(mods, lambda: encoder(x)):
        if name == "up":
            rows.append(dict(layer="Upsampling", stride="", params=0, output_shape=shape))
        else:
            rows.append(dict(layer="Conv+IN", stride=str(mod.conv.stride[0]), params=count(mod), output_shape=shape))
    return rows


def architecture_tables(cfg: ModelConfig) -> dict[str, pd.DataFrame]:
    """Tables 1-4 for a ModelConfig: ``{"table1": ..., "table4": ...}``, each with columns layer,
    (stride | semantics, style), params, output_shape, paper_params, paper_output_shape, match.

    Tables 1-3 are built from the configuration's encoder widths whatever the variant (the paper's
    tables describe the full model); Table 4 is the variant's generator.
    """
    check_model_config(cfg)
    n, d = cfg.num_classes, cfg.style_dim
    paper_widths = cfg.enc_widths == [32, 64, 128, 256] and d == 128 and n == 19
    with torch.device("meta"):
        lr_enc = StyleEncoder(widths=cfg.enc_widths, strides=LR_STRIDES)
        hr_enc = StyleEncoder(widths=cfg.enc_widths, strides=HR_STRIDES)
        shared = SharedEncoder(in_ch=cfg.enc_widths[3], style_dim=d)
        gen = DeepSEE(dataclasses.replace(cfg, enc_widths=list(cfg.enc_widths))).generator.eval()
    lr_side, hr_side = cfg.lr_size, cfg.hr_size
    tables = {
        "table1": _with_paper(_encoder_rows(lr_enc, lr_side), "table1", align=True),
        "table2": _with_paper(_encoder_rows(hr_enc, hr_side), "table2", align=True),
    }

    # Table 3: the shared layer on the LR and on the HR features.
    shapes = {}
    for src, enc, side in (("lr", lr_enc, lr_side), ("hr", hr_enc, hr_side)):
        feats = enc(torch.empty(1, 3, side, side, device="meta"))
        mask = torch.empty(1, n, side, side, device="meta")
        calls = _trace([("conv", shared.conv.conv), ("tanh", shared.conv.act)], lambda: shared(feats, mask))
        shapes[src] = {name: s for name, _, s in calls}
    pool = f"{n}x{d}"
    rows3 = [dict(layer="Conv+IN", stride="1", params=count(shared.conv), output_shape_lr=shapes["lr"]["conv"],
                  output_shape_hr=shapes["hr"]["conv"]),
             dict(layer="Tanh", stride="", params=0, output_shape_lr=shapes["lr"]["tanh"],
                  output_shape_hr=shapes["hr"]["tanh"]),
             dict(layer="Regional avg pool", stride="", params=0, output_shape_lr=pool, output_shape_hr=pool)]
    tables["table3"] = _with_paper(rows3, "table3", align=True, shape_cols=("output_shape_lr", "output_shape_hr"))

    # Table 4: the generator, traced in call order.
    lr = torch.empty(1, 3, lr_side, lr_side, device="meta")
    mask = torch.empty(1, n, hr_side, hr_side, device="meta")
    style = torch.empty(1, n, d, device="meta") if gen.uses_style else None
    mods = [("conv", gen.head_conv), ("up", gen.upsample), *[("block", b) for b in gen.blocks],
            ("conv", gen.out_conv), ("tanh", gen.tanh)]
    rows4 = []
    for name, mod, shape in _trace(mods, lambda: gen(lr, mask, style)):
        if name == "block":
            sem, sty = mod.kind in ("semantic", "both", RELEASED), mod.kind in ("style", "both")
            label = {"prior": "ResBlock (BN affine)",
                     RELEASED: "ResBlock (released, style ignored)"}.get(mod.kind, "ResBlock")
            rows4.append(dict(layer=label, semantics="yes" if sem else "no", style="yes" if sty else "no",
                              params=count(mod), output_shape=shape))
        else:
            label = {"conv": "Conv", "up": "Upsampling", "tanh": "Tanh"}[name]
            rows4.append(dict(layer=label, semantics="no", style="no", params=count(mod), output_shape=shape))
    paper_like = cfg.factor == 8 and cfg.variant in MAIN_VARIANTS
    quoted = None if paper_like else RELEASED_GENERATOR_TOTALS.get(cfg.factor) if paper_widths else None
    t4 = _with_paper(rows4, "table4", align=paper_like, total_quoted=quoted)
    t4.attrs["title"] = f"{TITLES['table4']} ({cfg.factor}x, {cfg.variant})"
    if not paper_like and quoted is not None:
        top = ""
        if any(k in ("style", RELEASED) for k in gen.block_kinds) and cfg.max_mask_size > 0:
            top = ("; model.last_block=released: the released top block (its style convs read the semantic "
                   "hidden features)" if cfg.last_block == "released" else
                   "; model.last_block=style_only: the kit's top block uses the style and has no semantic hidden "
                   "layer (the released one ignores the style), --set model.last_block=released for the release")
        t4.attrs["note"] = (f"paper_params of the total: the released {cfg.factor}x generator "
                            f"(docs/ARCHITECTURE_NOTES.md){top}")
    tables["table4"] = t4
    return tables


def format_tables(tables: dict[str, pd.DataFrame]) -> str:
    """Plain-text rendering of ``architecture_tables`` with thousands separators."""
    def fmt(v):
        if isinstance(v, (int,)) or (isinstance(v, str) and v.isdigit()):
            return f"{int(v):,}"
        return str(v)
    out = []
    for key, df in tables.items():
        shown = df.copy()
        for c in shown.columns:
            if "params" in c:
                shown[c] = shown[c].map(fmt)
        out.append(df.attrs.get("title", key))
        out.append(shown.to_string(index=False))
        if df.attrs.get("note"):
            out.append(f"note: {df.attrs['note']}")
        out.append("")
    return "\n".join(out)
