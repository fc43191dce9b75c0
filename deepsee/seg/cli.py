"""Command line of the segmenter (supplementary Section 1.4, Table 5, Fig. 2).

    deepsee train-seg --config quick [--set seg.backbone=resnet101] [--resume RUN]
    deepsee predict-masks --checkpoint RUN --images DIR --out DIR [--lr-size 16 --hr-size 128]
    deepsee predict-masks --checkpoint RUN --dataset --config quick --out DIR [--splits train val test]
    deepsee eval-seg --checkpoint RUN [RUN ...] --config quick --out DIR [--figure]
"""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib

from ..config import add_config_args, load_config
from ..runs import save_figure
from .evaluate import evaluate_segmenter, figure2, write_table5
from .predict import predict_dataset_masks, predict_mask_folder
from .train import train_segmenter


def _config(args):
    return load_config(args.config, args.overrides)


def _train(args) -> int:
    if args.resume:
        cfg = load_config(str(Path(args.resume) / "config.yaml"), args.overrides)
        run = train_segmenter(cfg, run_dir=args.resume, resume=True, save_every=args.save_every)
    else:
        run = train_segmenter(_config(args), run_dir=args.run_dir, save_every=args.save_every)
    print(run)
    return 0


def _predict(args) -> int:
    if args.dataset == (args.images is not None):
        raise ValueError("predict-masks needs exactly one of --images DIR or --dataset")
    if args.dataset:
        out = predict_dataset_masks(_config(args), args.checkpoint, args.out, tuple(args.splits))
        print(out)
    else:
        paths = predict_mask_folder(args.checkpoint, args.images, args.out, lr_size=args.lr_size,
                                    hr_size=args.hr_size, batch_size=args.batch_size, device=args.device)
        print(f"{len(paths)} masks written to {args.out}")
    return 0


def _evaluate(args) -> int:
    cfg = _config(args)
    results = [evaluate_segmenter(cfg, run, split=args.split) for run in args.checkpoint]
    for r in results:
        print(json.dumps({k: r[k] for k in ("backbone", "arch", "acc", "miou", "fwiou", "n_images")}))
    for p in write_table5(results, cfg.data.dataset, cfg.profile, args.out, seed=cfg.seed):
        print(p)
    if args.figure:
        matplotlib.use("Agg")
        fig = figure2(cfg, args.checkpoint[0], n=args.n, seed=args.seed, split=args.split)
        print(save_figure(fig, Path(args.out) / f"fig2_segmentation_{cfg.data.dataset}_{cfg.profile}",
                          profile=cfg.profile, seed=args.seed, segmenter_run=str(args.checkpoint[0])))
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("train-seg", help="train the LR-face segmenter (DeepLabV3+, Table 5)")
    add_config_args(p)
    p.add_argument("--resume", metavar="RUN", help="continue the run in this folder from its last checkpoint")
    p.add_argument("--run-dir", help="run folder (default runs/seg-<profile>[-N])")
    p.add_argument("--save-every", type=int, default=500, help="checkpoint every N steps (default 500)")
    p.set_defaults(func=_train)

    p = subparsers.add_parser("predict-masks", help="predict label-PNG masks from (LR) images")
    add_config_args(p)
    p.add_argument("--checkpoint", required=True, metavar="RUN", help="segmenter run folder")
    p.add_argument("--images", metavar="DIR",
                   help="folder of images (HR or already LR); EXIF orientation is applied, grayscale/RGBA "
                        "converted to RGB (RGBA over white), non-square images centre-cropped, each logged")
    p.add_argument("--dataset", action="store_true", help="predict every split of --config's dataset")
    p.add_argument("--splits", nargs="+", default=["train", "val", "test"], help="with --dataset")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder of <stem>.png label maps")
    p.add_argument("--lr-size", type=int, default=16)
    p.add_argument("--hr-size", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--device", default="cpu")
    p.set_defaults(func=_predict)

    p = subparsers.add_parser("eval-seg", help="Table 5 metrics (+ per-class IoU, Fig. 2) of segmenter runs")
    add_config_args(p)
    p.add_argument("--checkpoint", required=True, nargs="+", metavar="RUN", help="segmenter run folder(s)")
    p.add_argument("--split", default="test")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the CSVs (and figure)")
    p.add_argument("--figure", action="store_true", help="also draw Fig. 2 from the first run")
    p.add_argument("--n", type=int, default=6, help="figure rows")
    p.add_argument("--seed", type=int, default=0, help="figure sample seed")
    p.set_defaults(func=_evaluate)
