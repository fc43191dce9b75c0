"""Quick-profile SR training throughput: one run with 2 threads against two runs side by side with one
thread each (``pipeline.train_workers=2, train_threads=1``), on the CPU (not a test).

Each measurement is a separate process (spawned), training the quick independent model on
SynthFaces for ``--steps`` steps after ``--warmup`` steps (random data order as in training; the
perceptual loss is left out so that no segmenter run is needed: ``train.perceptual=none``, which
makes every step a little cheaper than in the pipeline, equally for all three settings):

  two_threads        one process, torch 2 threads
  one_thread         one process, torch 1 thread
  two_side_by_side   two processes at once, 1 thread each (steps/s counted over both)

    python benchmarks/quick_parallel.py            # writes results/benchmark_quick_parallel.csv

Run it on a quiet machine: the three settings share nothing but the CPU.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _steps_per_s(threads: int, steps: int, warmup: int, seed: int, queue) -> None:
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import torch
    torch.set_num_threads(threads)
    from deepsee.config import load_config
    from deepsee.data import build_dataset, ensure_synthfaces
    from deepsee.models import DeepSEE, build_discriminator
    from deepsee.train.schedule import steps_plan
    from deepsee.train.trainer import SRTrainer
    cfg = load_config("quick", ["model.variant=independent", "train.perceptual=none", f"seed={seed}"])
    ensure_synthfaces(cfg)
    ds = build_dataset(cfg, "train", train=True)
    torch.manual_seed(seed)
    trainer = SRTrainer(DeepSEE(cfg.model), build_discriminator(cfg.model), cfg, steps_plan(cfg.train, len(ds)))
    loader = iter(torch.utils.data.DataLoader(ds, batch_size=cfg.train.batch_size, shuffle=True))
    batches = [next(loader) for _ in range(warmup + steps)]
    for b in batches[:warmup]:
        trainer.train_step(b)
    t0 = time.perf_counter()
    for b in batches[warmup:]:
        trainer.train_step(b)
    queue.put((time.perf_counter() - t0, steps))


def measure(threads: int, procs: int, steps: int, warmup: int) -> float:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    ps = [ctx.Process(target=_steps_per_s, args=(threads, steps, warmup, i, q)) for i in range(procs)]
    for p in ps:
        p.start()
    res = [q.get() for _ in ps]
    for p in ps:
        p.join()
    return sum(n / s for s, n in res)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--out", default=str(REPO / "results" / "benchmark_quick_parallel.csv"))
    a = p.parse_args(argv)
    import pandas as pd

    from deepsee.runs import write_table
    rows = []
    for name, threads, procs in (("two_threads", 2, 1), ("one_thread", 1, 1), ("two_side_by_side", 1, 2)):
        rate = measure(threads, procs, a.steps, a.warmup)
        rows.append({"setting": name, "threads_per_process": threads, "processes": procs,
                     "steps_per_s": round(rate, 3), "s_per_step": round(1 / rate, 3)})
        print(rows[-1], flush=True)
    df = pd.DataFrame(rows)
    base = df.loc[df.setting == "two_threads", "steps_per_s"].iloc[0]
    df["speedup_vs_two_threads"] = (df.steps_per_s / base).round(2)
    write_table(df, Path(a.out), profile="quick", seed=0, dataset="synthfaces", steps=a.steps, warmup=a.warmup,
                cpu_count=os.cpu_count(), perceptual="none (no segmenter run needed)")
    print(df.to_string(index=False))


if __name__ == "__main__":
    main()
