"""Tables 6 and 7 of the supplementary material: quoted rows beside the kit's measured rows.

Quoted values come from ``deepsee/reference/table{6,7}_*.csv`` (transcribed from the paper, never
edited). Every row says where it comes from (``source``), on which data (``dataset``,
``split_size``), with which weights (``weights``) and which metric filled the ``lpips`` column
(``perceptual_metric``), so a substitute or a smaller test set is never mistaken for the paper's.
"""
from __future__ import annotations

import math
from importlib import resources
from pathlib import Path

import pandas as pd

from ..metrics.settings import metric_settings
from ..runs import write_table

COLUMNS = ["method", "psnr", "ssim", "lpips", "fid", "lr_psnr", "lr_psnr_worst", "source", "dataset", "split_size",
           "profile", "weights", "perceptual_metric", "note"]   # lr_psnr: LR consistency (dB), not in the paper

# table -> (reference CSV, dataset as quoted, test split size, caption)
QUOTED = {
    "table6": ("table6_celeba_8x.csv", "CelebA", "test 19962",
               "Table 6: CelebA, 16x16 -> 128x128 (8x)"),
    "table7": ("table7_celebamaskhq_8x.csv", "CelebAMask-HQ", "test 2824",
               "Table 7: CelebAMask-HQ, 32x32 -> 256x256 (8x)"),
}
DATASET_LABELS = {"celeba": "CelebA", "celebamaskhq": "CelebAMask-HQ", "synthfaces": "SynthFaces"}


def quoted_rows(table: str) -> pd.DataFrame:
    """The paper's rows of ``table`` ("table6" / "table7") in the kit's column layout."""
    if table not in QUOTED:
        raise KeyError(f"unknown table {table!r}; expected one of {', '.join(QUOTED)}")
    fname, dataset, split_size, caption = QUOTED[table]
    with resources.files("deepsee").joinpath("reference", fname).open() as fh:
        df = pd.read_csv(fh)
    df["note"] = [f"quoted from the supplementary material, {caption.split(':')[0]}"
                  + (f"; {n}" if isinstance(n, str) and n else "") for n in df["note"]]
    df["source"] = "quoted"
    df["dataset"] = dataset
    df["split_size"] = split_size
    df["profile"] = "n/a"
    df["weights"] = "n/a (published numbers)"
    df["perceptual_metric"] = "LPIPS (as published)"
    return df.reindex(columns=COLUMNS)   # the paper reports no LR-PSNR: empty there


def _measured(rows: list[dict], profile: str, dataset: str) -> pd.DataFrame:
    out = []
    for r in rows:
        if "method" not in r:
            raise KeyError(f"measured row without 'method': {r}")
        row = {c: r.get(c) for c in COLUMNS}  # other keys (e.g. an evaluate() summary's) are ignored
        row["source"] = "measured"
        row["profile"] = profile
        row["dataset"] = r.get("dataset") or DATASET_LABELS.get(dataset, dataset)
        row["weights"] = r.get("weights") or ("n/a" if str(r["method"]).lower() == "bicubic" else "unknown")
        if row["perceptual_metric"] is None:
            lp = row["lpips"]
            row["perceptual_metric"] = ("unavailable: not measured" if lp is None or
                                        (isinstance(lp, float) and math.isnan(lp)) else "unknown")
        row["note"] = r.get("note") or ""
        out.append(row)
    return pd.DataFrame(out, columns=COLUMNS)


def _table(which: str, measured_rows: list[dict], profile: str, dataset: str) -> pd.DataFrame:
    df = pd.concat([quoted_rows(which), _measured(list(measured_rows), profile, dataset)], ignore_index=True)
    for c in ("psnr", "ssim", "lpips", "fid", "lr_psnr", "lr_psnr_worst"):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    return df


def table6(measured_rows: list[dict], profile: str, dataset: str = "celeba") -> pd.DataFrame:
    """Table 6 (CelebA 8x): the paper's quoted rows, then ``measured_rows``.

    A measured row is a dict with ``method`` and any of ``psnr, ssim, lpips, fid, dataset,
    split_size, weights, perceptual_metric, note`` (other keys are ignored, so an
    :func:`~deepsee.eval.evaluate` summary can be spread into it). ``dataset`` labels measured rows
    whose dict does not name one (e.g. "synthfaces" on the quick profile).
    """
    return _table("table6", measured_rows, profile, dataset)


def table7(measured_rows: list[dict], profile: str, dataset: str = "celebamaskhq") -> pd.DataFrame:
    """Table 7 (CelebAMask-HQ 8x, 32x32 -> 256x256); see :func:`table6`."""
    return _table("table7", measured_rows, profile, dataset)


def table_name(table: str, dataset: str, factor: int = 8) -> str:
    """``table6_celeba_8x``, ``table7_celebamaskhq_8x``, ``table6_synthfaces_8x`` ..."""
    if table not in QUOTED:
        raise KeyError(f"unknown table {table!r}; expected one of {', '.join(QUOTED)}")
    return f"{table}_{dataset}_{int(factor)}x"


def write_results_table(df: pd.DataFrame, name: str, profile: str, results_dir: str | Path = "results",
                        seed: int | None = None, **extra) -> Path:
    """Write ``<results_dir>/<name>_<profile>.csv`` plus its sidecar (metric settings, package versions)."""
    path = Path(results_dir) / f"{name}_{profile}.csv"
    return write_table(df, path, profile=profile, seed=seed, table=name, metric_settings=metric_settings(),
                       **extra)
