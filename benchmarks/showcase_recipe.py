"""Showcase recipe comparison (issue 22): the style-usage rows of candidate trainings at equal steps.

    python benchmarks/showcase_recipe.py NAME=RUN_DIR [NAME=RUN_DIR ...] [--steps 1000 3000] [--images 100]

For each candidate run folder (``deepsee train-sr`` with ``train.snapshot_steps``) and each requested step
(a snapshot, or the final model), runs notebook 30's style-usage protocol on the showcase profile's test
faces (ground-truth masks, ``spread_items``, the first 16 for diversity and selection, K = 16, scale
0.3, best of 100, seed 0, TexStatDist) and writes one row per (candidate, step) to
``results/showcase_recipe_comparison_synthfaces_8x.csv`` (+ sidecar with each candidate's overrides).
Not a speed benchmark: it measures what a recipe does to the style space at equal training steps.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from deepsee.config import load_config  # noqa: E402
from deepsee.data import build_dataset, spread_items  # noqa: E402
from deepsee.metrics import perceptual_metric  # noqa: E402
from deepsee.eval.style_usage import SHOWCASE_GOALS, emergence_row, style_usage  # noqa: E402
from deepsee.models import DeepSEE  # noqa: E402
from deepsee.runs import REPO_ROOT, write_table  # noqa: E402


def model_at(run: Path, step: int) -> Path:
    snap = run / "snapshots" / f"step_{step:08d}"
    if (snap / "model.safetensors").is_file():
        return snap
    info = json.loads((run / "run_info.json").read_text())
    if int(info.get("steps_done", -1)) == step and (run / "model").is_dir():
        return run / "model"
    raise FileNotFoundError(f"{run}: no snapshot or final model at step {step}")


def recipe(run: Path) -> dict:
    """What a candidate changes against the showcase profile (its config.yaml's differing fields)."""
    base, cfg = load_config("showcase").to_dict(), load_config(str(run / "config.yaml")).to_dict()
    skip = {"data.mask_dir", "data.data_root", "run_root", "train.max_steps", "model.variant"}
    out = {}
    for sec, vals in cfg.items():
        if isinstance(vals, dict) and sec not in ("eval", "pipeline"):   # what the training does, not its evaluation
            for k, v in vals.items():
                if base[sec].get(k) != v and f"{sec}.{k}" not in skip:
                    out[f"{sec}.{k}"] = v
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", metavar="NAME=RUN_DIR")
    ap.add_argument("--steps", nargs="+", type=int, default=[3000])
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--select-images", type=int, default=16)
    ap.add_argument("--append", action="store_true", help="add the rows to an existing --out table")
    ap.add_argument("--out", default=str(REPO_ROOT / "results" / "showcase_recipe_comparison_synthfaces_8x.csv"))
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = load_config("showcase")
    cfg.data.data_root = str(REPO_ROOT / "data")
    items = spread_items(build_dataset(cfg, "test"), args.images)
    metric = perceptual_metric("texture")
    rows, recipes = [], {}
    for spec in args.runs:
        name, run = spec.split("=", 1)
        run = Path(run)
        recipes[name] = recipe(run)
        for step in args.steps:
            model = DeepSEE.load(model_at(run, step))
            ev = cfg.eval
            summary = style_usage(model, items, metric, select_items=items[:args.select_images],
                                  region_delta=ev.usage_region_delta, global_delta=ev.usage_global_delta,
                                  k=ev.usage_samples, scale=ev.oracle_scale, noise=ev.oracle_noise,
                                  select_n=ev.usage_select_n, seed=0, progress=False,
                                  goals=SHOWCASE_GOALS)["summary"]
            ratio = summary[(summary.group == "region control") & (summary.measure == "inside / outside")]
            row = {"candidate": name, "step": step, **emergence_row(summary),
                   **{f"inside_outside_{r}": float(v) for r, v in zip(ratio.region, ratio.value)},
                   "recipe": "; ".join(f"{k}={v}" for k, v in recipes[name].items()) or "the showcase profile"}
            rows.append(row)
            print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}), flush=True)
    df = pd.DataFrame(rows)
    if args.append and Path(args.out).is_file():
        old = pd.read_csv(args.out)
        meta = json.loads(Path(args.out).with_suffix(".meta.json").read_text())
        recipes = {**meta.get("candidates", {}), **recipes}
        df = pd.concat([old[~old.candidate.isin(df.candidate.unique()) | ~old.step.isin(df.step.unique())], df])
    write_table(df, args.out, profile="showcase", seed=0, candidates=recipes, images=len(items),
                select_images=args.select_images, protocol="notebook 30's style usage (ground-truth masks)")
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
