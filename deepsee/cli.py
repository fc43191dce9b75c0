"""The ``deepsee`` command line. Each sub-package registers its own subcommands.

    deepsee data synth|check ...      (deepsee.data.cli)
    deepsee model summary ...         (deepsee.models.cli)
    deepsee import-official ...       (deepsee.models.cli)
    deepsee train-sr ...              (deepsee.train.cli)
    deepsee train-seg / predict-masks (deepsee.seg.cli)
    deepsee showcase status|train|export|save-state  (deepsee.showcase: the shipped long-trained models)
    deepsee evaluate / weights ...    (deepsee.eval.cli)
    deepsee explore ...               (deepsee.apps.explore: a model on one's own face images)
    deepsee reproduce ...             (deepsee.reproduce)
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

from . import __version__
from .config import add_config_args  # noqa: F401  (the sub-commands' shared options)

# Modules that define ``register(subparsers)``.
COMMAND_MODULES = (
    "deepsee.data.cli",
    "deepsee.models.cli",
    "deepsee.train.cli",
    "deepsee.seg.cli",
    "deepsee.eval.cli",
    "deepsee.apps.explore",
    "deepsee.apps.weights",
    "deepsee.reproduce",
    "deepsee.showcase",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deepsee", description="DeepSEE reproducibility kit")
    parser.add_argument("--version", action="version", version=f"deepsee {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            spec = importlib.util.find_spec(name)
        except ModuleNotFoundError:
            spec = None
        if spec is None:  # sub-package not built yet
            continue
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        rc = args.func(args)
    except (FileNotFoundError, ValueError, KeyError, TypeError, RuntimeError) as e:
        if getattr(args, "debug", False):
            raise
        print(f"deepsee: error: {e}", file=sys.stderr)
        return 1
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
