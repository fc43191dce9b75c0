"""``deepsee evaluate``: test-set scores of a model or of bicubic (``deepsee weights``: :mod:`deepsee.apps.weights`)."""
from __future__ import annotations

from pathlib import Path

import torch

from ..config import add_config_args, dataset_root, load_config, resolve_device
from ..data import build_dataset
from ..metrics import perceptual_metric
from ..metrics.fid import build_inception, fid_weights_id, reference_statistics
from ..metrics.perceptual import choose_perceptual
from ..models.deepsee import DeepSEE
from ..runs import model_folder, run_root, write_json, write_table
from ..seg import load_segmenter
from ..weights import MissingWeightsError, require
from .evaluate import evaluate


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="PSNR/SSIM/LPIPS/FID of a trained model (or bicubic) on a split",
                       description="Score a DeepSEE model and the bicubic baseline on a test split; writes "
                                   "per_image.csv (+ sidecar) and summary.json.")
    p.add_argument("--checkpoint", required=True,
                   help="run folder holding model/ (from DeepSEE.save), a model folder, or 'bicubic'")
    add_config_args(p)
    p.add_argument("--split", default="test", choices=("train", "val", "test"))
    p.add_argument("--out", default=None, help="output folder (default <run>/eval-<split>, or "
                                               "<run_root>/eval-bicubic-<profile>-<split>)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:N (default: config's device)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--max-images", type=int, default=None, help="default: eval.max_images of the config")
    p.add_argument("--style-source", choices=("lr", "guide"), default=None,
                   help="default: 'guide' for models whose only style encoder is the HR one "
                        "(guided, hr_style_only), else 'lr'")
    p.add_argument("--perceptual", choices=PERCEPTUAL_CHOICES, default=None,
                   help="auto: LPIPS when its AlexNet weights are present, else the weight-free substitute "
                        "'TexStatDist (LPIPS substitute)'; lpips (fails without the weights); texture (the "
                        "substitute); segfeat (segmenter-feature substitute, needs --segmenter); none. "
                        "Default: auto (none when the config sets eval.lpips=false). The console and "
                        "summary.json say which one was used")
    p.add_argument("--segmenter", default=None, help="segmenter run folder for --perceptual segfeat")
    p.add_argument("--fid", choices=("on", "off", "auto"), default=None,
                   help="on (fails without the FID Inception weights), off, auto (skip if missing); "
                        "default: eval.fid of the config")
    p.add_argument("--provenance", default=None,
                   help="weights provenance for tables, e.g. 'imported: official' (default 'trained: <checkpoint>')")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    p.set_defaults(func=_evaluate)



# ---------------------------------------------------------------------------------------------------

PERCEPTUAL_CHOICES = ("auto", "lpips", "texture", "segfeat", "none")


def _perceptual(kind: str, segmenter_dir: str | None, device):
    """(metric or None, why: a note when ``auto`` fell back or nothing was requested)."""
    if kind == "none":
        return None, "no perceptual metric: not requested"
    if kind in ("lpips", "auto"):
        metric, why = choose_perceptual("lpips" if kind == "lpips" else "lpips_or_texture", device)
        return metric, why + (", the weight-free substitute used instead" if why else "")
    if kind == "texture":
        return perceptual_metric("texture", device=device), ""
    if kind == "segfeat":
        if not segmenter_dir:
            raise ValueError("--perceptual segfeat needs --segmenter RUN_DIR (a trained segmenter)")
        return perceptual_metric("segfeat", segmenter=load_segmenter(segmenter_dir, device=device), device=device), ""
    raise ValueError(f"--perceptual {kind!r}; expected one of {', '.join(PERCEPTUAL_CHOICES)}")


def _evaluate(args) -> int:
    cfg = load_config(args.config, args.overrides)
    device = resolve_device(args.device or cfg.device)
    model = None
    ckpt = args.checkpoint
    if ckpt.lower() != "bicubic":
        mdir = model_folder(ckpt)
        model = DeepSEE.load(mdir)
    source = args.style_source or ("guide" if getattr(model, "test_time_source", None) == "hr" else "lr")
    dataset = build_dataset(cfg, args.split, train=False, guided=(model is not None and source == "guide"))
    kind = args.perceptual or ("auto" if cfg.eval.lpips else "none")
    perceptual, why = _perceptual(kind, args.segmenter, device)
    used = perceptual.name if perceptual is not None else "none"
    print(f"perceptual metric: {used} (--perceptual {kind}{'; ' + why if why else ''})")
    fid_mode = args.fid or ("on" if cfg.eval.fid else "off")
    fid, fid_note = fid_mode != "off", ""
    if fid_mode == "auto":
        try:
            require("inception_fid")
        except MissingWeightsError as e:
            fid, fid_note = False, f"FID skipped: {str(e).split(';')[0]}"
    max_images = cfg.eval.max_images if args.max_images is None else args.max_images
    fid_model = fid_ref = None
    if fid:  # ground-truth statistics cached under <dataset root>/fid_stats
        fid_model = build_inception(device)
        n = len(dataset) if not max_images else min(max_images, len(dataset))
        bs = args.batch_size

        def hr_batches():
            for s in range(0, n, bs):
                yield torch.stack([dataset[i]["hr"] for i in range(s, min(s + bs, n))])
        fid_ref = reference_statistics(hr_batches, dataset=cfg.data.dataset, split=args.split,
                                       size=int(dataset[0]["hr"].shape[-1]), n=n, cache_dir=dataset_root(cfg.data) / "fid_stats",
                                       model=fid_model, weights_id=fid_weights_id(), device=device, batch_size=bs)
    per_image, summary = evaluate(model, dataset, device=device, batch_size=args.batch_size,
                                  max_images=max_images, perceptual=perceptual, fid=fid, fid_model=fid_model,
                                  fid_reference=fid_ref, style_source=source, progress=not args.no_progress)
    summary.update(checkpoint=ckpt, split=args.split, profile=cfg.profile, dataset=cfg.data.dataset,
                   weights=args.provenance or ("n/a" if model is None else f"trained: {ckpt}"))
    summary["split_size"] = f"{args.split} {summary['n_images']}"
    summary["note"] += "".join(f"; {x}" for x in (why, fid_note) if x)
    summary["perceptual_choice"] = {"requested": kind, "used": used, "why": why}
    if args.out:
        out = Path(args.out)
    elif model is not None:
        run = Path(ckpt)
        out = (run if (run / "model").is_dir() else run.parent) / f"eval-{args.split}"
    else:
        out = run_root(cfg.run_root) / f"eval-bicubic-{cfg.profile}-{args.split}"
    write_table(per_image, out / "per_image.csv", profile=cfg.profile, seed=cfg.seed,
                checkpoint=ckpt, split=args.split, perceptual_metric=summary["perceptual_metric"],
                metric_settings=summary["metric_settings"])
    write_json(out / "summary.json", summary)
    for m, v in summary["methods"].items():
        vals = ", ".join(f"{k} {v[k]:.4f}" for k in ("psnr", "ssim", "lpips", "fid") if v[k] is not None)
        print(f"{m:<22} {vals}  (n={v['n']})")
    print(f"perceptual metric: {summary['perceptual_metric']}; wrote {out}/per_image.csv and summary.json")
    return 0
