"""Quick-training bit-identity check (issue 23): train the quick independent model for 12 steps on the
CPU (``train.perceptual=none``, so no pretrained weights are needed), hash its weight tensors and compare
them with the hash recorded for an earlier commit.

The hash is over the tensors (names in sorted order, dtype, shape, raw bytes), not over the
``model.safetensors`` file, whose header order varies from run to run. A refactor that keeps the
computation and the state-dict keys keeps this hash.

    python benchmarks/quick_bit_identity.py                   # print the hash
    python benchmarks/quick_bit_identity.py --expect HASH     # exit 1 if it differs
    python benchmarks/quick_bit_identity.py --record          # write results/quick_bit_identity.json
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RECORD = REPO / "results" / "quick_bit_identity.json"


def tensor_hash(path: Path) -> str:
    from safetensors.torch import load_file
    sd = load_file(str(path))
    h = hashlib.sha256()
    for k in sorted(sd):
        t = sd[k].contiguous()
        h.update(f"{k}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.view(-1).view(__import__("torch").uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def train_and_hash(steps: int, variant: str) -> tuple[str, int]:
    import torch

    from deepsee.config import load_config
    from deepsee.train.loop import train_sr
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        sets = [f"train.max_steps={steps}", "train.perceptual=none", f"model.variant={variant}",
                f"run_root={tmp}", "train.sample_every=0", "device=cpu"]
        try:
            cfg = load_config("quick", sets + ["train.snapshot_steps=[]"])
        except KeyError:        # a commit from before train.snapshot_steps existed
            cfg = load_config("quick", sets)
        cfg.data.data_root = str(REPO / "data")
        run = train_sr(cfg, run_dir=Path(tmp) / "run", progress=False)
        from safetensors.torch import load_file
        n = len(load_file(str(run / "model" / "model.safetensors")))
        return tensor_hash(run / "model" / "model.safetensors"), n


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--variant", default="independent")
    ap.add_argument("--expect", default="", help="hash to compare with (default: the recorded one, if any)")
    ap.add_argument("--record", action="store_true", help=f"write the hash to {RECORD.relative_to(REPO)}")
    args = ap.parse_args(argv)
    digest, n = train_and_hash(args.steps, args.variant)
    print(f"{args.variant} after {args.steps} quick steps: {n} tensors, tensor sha256 {digest}")
    expect = args.expect
    if not expect and RECORD.is_file():
        rec = json.loads(RECORD.read_text()).get(f"{args.variant}_{args.steps}")
        expect = rec["sha256"] if rec else ""
    if args.record:
        import subprocess
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                                text=True).stdout.strip()
        data = json.loads(RECORD.read_text()) if RECORD.is_file() else {}
        data[f"{args.variant}_{args.steps}"] = {"sha256": digest, "tensors": n, "commit": commit}
        RECORD.write_text(json.dumps(data, indent=2) + "\n")
        print(f"recorded in {RECORD}")
    elif expect:
        ok = digest == expect
        print("bit-identical to the recorded run" if ok else f"DIFFERENT from the recorded {expect}")
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
