"""``deepsee data synth`` (write SynthFaces, or SynthScenes with ``--kind scenes``) and ``deepsee data check``
(validate a configured dataset)."""
from __future__ import annotations

import argparse
import time
from ..config import add_config_args, load_config
from .build import check_dataset
from .synthfaces import generate_synthfaces
from .synthscenes import generate_synthscenes


def _splits(text: str) -> list[int]:
    try:
        out = [int(s) for s in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--splits expects three integers a,b,c, got {text!r}") from None
    if len(out) != 3:
        raise argparse.ArgumentTypeError(f"--splits expects three integers a,b,c, got {text!r}")
    return out


def register(subparsers) -> None:
    p = subparsers.add_parser("data", help="SynthFaces / SynthScenes generation and dataset checks")
    sub = p.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    s = sub.add_parser("synth", help="write a SynthFaces dataset in the CelebAMask-HQ layout (or, with --kind "
                                     "scenes, a SynthScenes dataset in the ADE20K layout)")
    s.add_argument("--kind", choices=("faces", "scenes"), default="faces",
                   help="faces: SynthFaces (default); scenes: SynthScenes, outdoor scenes with SFTGAN's classes")
    s.add_argument("--out", required=True, help="output folder (replaced if it holds an older dataset of that kind)")
    s.add_argument("--n", type=int, default=1500, help="number of images (default 1500)")
    s.add_argument("--size", type=int, default=256,
                   help="image side in px; SynthFaces masks are half, SynthScenes masks full size (default 256)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--identities", type=int, default=None, help="number of people (default n / 5; faces only)")
    s.add_argument("--splits", type=_splits, default=None, help="train,val,test sizes (default 80/6.7/13.3%%)")
    s.add_argument("--workers", type=int, default=None, help="processes (default: up to 8; 0 = this one)")
    s.set_defaults(func=_synth)
    c = sub.add_parser("check", help="count splits, identities and class frequencies; fail on bad data")
    add_config_args(c)
    c.add_argument("--max-images", type=int, default=0, help="decode at most this many images per split (0 = all)")
    c.set_defaults(func=_check)
    p.set_defaults(func=lambda args: p.print_help() or 2)


def _synth(args) -> int:
    if args.kind == "scenes":
        return _synth_scenes(args)
    ident = args.identities if args.identities is not None else max(1, args.n // 5)
    t = time.perf_counter()
    out = generate_synthfaces(args.out, args.n, args.size, args.seed, ident, args.splits, workers=args.workers)
    dt = time.perf_counter() - t
    print(f"wrote {args.n} SynthFaces images ({args.size}px, {ident} people) to {out} in {dt:.1f} s "
          f"({1000 * dt / args.n:.1f} ms per image)")
    return 0


def _synth_scenes(args) -> int:
    if args.identities is not None:
        raise ValueError("--identities applies to --kind faces only (scenes have no people)")
    t = time.perf_counter()
    out = generate_synthscenes(args.out, args.n, args.size, args.seed, args.splits, workers=args.workers)
    dt = time.perf_counter() - t
    print(f"wrote {args.n} SynthScenes images ({args.size}px, ADE20K layout) to {out} in {dt:.1f} s "
          f"({1000 * dt / args.n:.1f} ms per image)")
    return 0


def _check(args) -> int:
    cfg = load_config(args.config, args.overrides)
    check_dataset(cfg, max_images=args.max_images)
    print("dataset OK")
    return 0
