"""``deepsee train-sr``: train a DeepSEE SR model (one process, or one per GPU under torchrun).

    deepsee train-sr --config quick
    deepsee train-sr --config paper --set model.variant=guided
    deepsee train-sr --resume runs/sr-quick-independent            # config from the run folder
    deepsee train-sr --branch runs/sr-quick-independent --run-dir runs/sr-longer --set train.schedule_steps=1600
    torchrun --nproc_per_node 4 -m deepsee.cli train-sr --config paper
"""
from __future__ import annotations

import os
from pathlib import Path
from ..config import add_config_args, load_config
from .loop import branch_run, train_sr


def register(subparsers) -> None:
    p = subparsers.add_parser("train-sr", help="train a DeepSEE super-resolution model (paper Sec. 2.2)",
                              description=__doc__.split("\n\n")[0])
    add_config_args(p)
    p.add_argument("--resume", metavar="RUN_DIR",
                   help="continue RUN_DIR from its latest checkpoint (its config.yaml plus any --set)")
    p.add_argument("--branch", metavar="RUN_DIR",
                   help="start --run-dir from RUN_DIR's latest checkpoint (weights, optimiser, data order) under "
                        "RUN_DIR's config.yaml plus any --set, with the schedule planned anew: e.g. train a "
                        "finished run on with a longer train.schedule_steps")
    p.add_argument("--segmenter", metavar="RUN_DIR",
                   help="train-seg run folder, for train.perceptual=segmenter")
    p.add_argument("--run-dir", metavar="DIR", help="run folder (default runs/sr-<profile>-<variant>)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.branch:
        if args.resume or not args.run_dir:
            raise ValueError("--branch RUN_DIR needs --run-dir DIR (the new run folder) and no --resume")
        dest = branch_run(args.branch, args.run_dir, args.overrides)
        args.resume, args.overrides = str(dest), []
    if args.resume:
        if args.run_dir and Path(args.run_dir) != Path(args.resume) and not args.branch:
            raise ValueError("--resume RUN_DIR and --run-dir DIR name different folders; give one")
        saved = Path(args.resume) / "config.yaml"
        if not saved.is_file():
            raise FileNotFoundError(f"cannot resume {args.resume}: {saved} not found")
        cfg = load_config(str(saved), args.overrides)
        run_dir = train_sr(cfg, args.resume, resume=True, segmenter_dir=args.segmenter,
                           progress=not args.no_progress)
    else:
        cfg = load_config(args.config, args.overrides)
        run_dir = train_sr(cfg, args.run_dir, segmenter_dir=args.segmenter, progress=not args.no_progress)
    if int(os.environ.get("RANK", "0")) == 0:   # under torchrun only rank 0 reports
        print(f"trained model: {run_dir / 'model'}")
    return 0
