"""``deepsee model summary`` (Tables 1-4 regenerated) and ``deepsee import-official`` (released checkpoints)."""
from __future__ import annotations

import argparse
from ..config import add_config_args, load_config
from .importer import OFFICIAL_VARIANTS, import_official
from .summary import architecture_tables, format_tables


def _summary(args: argparse.Namespace) -> int:
    cfg = load_config(args.config, args.overrides)
    print(f"DeepSEE architecture, profile {args.config!r}: {cfg.model.factor}x, {cfg.model.variant}, "
          f"LR {cfg.model.lr_size} -> HR {cfg.model.hr_size}\n")
    print(format_tables(architecture_tables(cfg.model)))
    return 0


def _import(args: argparse.Namespace) -> int:
    out = import_official(args.checkpoint_dir, args.variant, args.out)
    print(f"imported {args.variant} from {args.checkpoint_dir} -> {out} (load with DeepSEE.load); "
          f"see {out / 'import_report.json'}")
    return 0


def register(subparsers) -> None:

    model = subparsers.add_parser("model", help="network tools (architecture tables)")
    msub = model.add_subparsers(dest="model_command", metavar="ACTION")
    summary = msub.add_parser("summary", help="print Tables 1-4 from the kit's networks beside the paper's numbers")
    add_config_args(summary, default="paper-8x")
    summary.set_defaults(func=_summary)
    model.set_defaults(func=lambda a: (model.print_help(), 2)[1])

    imp = subparsers.add_parser("import-official", help="convert a released DeepSEE checkpoint folder")
    imp.add_argument("checkpoint_dir", help="folder with latest_net_G.pth / latest_net_E.pth / latest_net_D.pth "
                                            "(or its parent holding the variant folder)")
    imp.add_argument("--variant", required=True, choices=sorted(OFFICIAL_VARIANTS),
                     help="which released model the folder holds")
    imp.add_argument("--out", required=True, help="output folder (model.safetensors + config.json)")
    imp.set_defaults(func=_import)
