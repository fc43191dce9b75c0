"""Exploration speed: the ExplorationEngine against the released way of computing (not a test).

On the paper 8x configuration (16 -> 128 px, C = 512, d = 128; random weights of
``DeepSEE(load_config("paper").model)``, eval mode), one SynthFaces input and K style samples:

  reference  a loop of plain forwards, batch 1, with the styled map convolved directly
             (``style_branch="direct"``), recomputing everything per sample, as the released code does;
  engine     ``deepsee.explore.ExplorationEngine`` (mask tables, BatchNorm folded, batched styles).

Also measured in the same run: the machine's 3x3-convolution peak (512 -> 512, channels-last, the
best GFLOP/s over a few shapes), the FLOPs each path does per sample (torch.utils.flop_counter; for
the engine without its once-per-input cache), the achieved GFLOP/s and fraction of the peak, the
engine's max abs difference to the reference images, and one generator training step (forward +
backward, batch 1) with the effective-weight style branch against the direct one.

    python benchmarks/exploration.py                      # CPU (2 threads) + CUDA when present
    python benchmarks/exploration.py --devices cuda --out results/benchmark_exploration-cuda.csv

Writes ``results/benchmark_exploration.csv`` (+ ``.meta.json``) and prints the speed-up.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from deepsee.config import load_config  # noqa: E402
from deepsee.data.degradation import project_consistent  # noqa: E402
from deepsee.explore import ExplorationEngine, sample_styles  # noqa: E402
from deepsee.models import DeepSEE  # noqa: E402


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device, reps: int = 1) -> list[float]:
    out = []
    for _ in range(reps):
        sync(device)
        t = time.perf_counter()
        fn()
        sync(device)
        out.append(time.perf_counter() - t)
    return out


def flops_of(fn) -> float:
    with FlopCounterMode(display=False) as fc:
        fn()
    return float(fc.get_total_flops())


def load() -> float:
    return round(os.getloadavg()[0], 2)


def conv_peak(device: torch.device, shapes, reps: int) -> tuple[float, list[dict]]:
    """Best GFLOP/s of a 512 -> 512 3x3 conv (channels-last) over ``shapes`` = [(batch, side), ...]."""
    conv = torch.nn.Conv2d(512, 512, 3, padding=1).to(device).eval().to(memory_format=torch.channels_last)
    rows = []
    with torch.inference_mode():
        for b, s in shapes:
            x = torch.randn(b, 512, s, s, device=device).contiguous(memory_format=torch.channels_last)
            conv(x)
            t = min(timed(lambda: conv(x), device, reps))
            fl = 2 * 9 * 512 * 512 * s * s * b
            rows.append({"batch": b, "side": s, "seconds": t, "gflops": fl / t / 1e9})
            del x
    return max(r["gflops"] for r in rows), rows


def face_input(cfg):
    """One SynthFaces face (image and exact mask) at the configuration's sizes."""
    from deepsee.data.common import lr_from_hr
    from deepsee.data.synthfaces import render_face
    img, labels = render_face(0, 3, 1, 2 * cfg.hr_size)
    hr = torch.from_numpy(img).permute(2, 0, 1).float()[None] / 127.5 - 1
    hr = F.interpolate(hr, size=(cfg.hr_size, cfg.hr_size), mode="bicubic", align_corners=False).clamp(-1, 1)
    lr = lr_from_hr(hr, cfg.lr_size)
    lr = lr if lr.ndim == 4 else lr[None]
    mask = torch.from_numpy(labels.astype("int64"))[None]
    if mask.shape[-1] != cfg.hr_size:
        mask = F.interpolate(mask[:, None].float(), size=(cfg.hr_size, cfg.hr_size), mode="nearest")[:, 0].long()
    return lr, mask


PROJ_PATH = "consistency projection per sample (engine outputs)"


def bench_device(device: torch.device, k: int, train_reps: int, peak_shapes, peak_reps: int,
                 max_activation_mb: float, profile: str = "paper", group: int = 4) -> tuple[list[dict], dict]:
    cfg = load_config(profile).model
    torch.manual_seed(0)
    model = DeepSEE(cfg).to(device).eval()
    direct = DeepSEE(cfg, style_branch="direct").to(device).eval()    # the same weights, the authors' order
    direct.load_state_dict(model.state_dict(), assign=True)             # shared tensors, no second copy
    by_mode = {"direct": direct, "effective": model}
    lr, mask = face_input(cfg)
    lr, mask = lr.to(device), mask.to(device)
    extra: dict = {"load_before": load()}

    peak, peak_rows = conv_peak(device, peak_shapes, peak_reps)
    extra["conv_peak"] = peak_rows

    with torch.inference_mode():
        base = model.encode_style(lr, mask, "lr")
    styles = sample_styles(base, k, noise="gaussian", scale=0.1, seed=0)             # [K, 19, d]

    # (a) reference: plain forwards, batch 1, direct styled maps, everything recomputed per sample;
    # (b) engine: once-per-input cache, then the samples. The two are timed in interleaved groups of
    # ``group`` samples (the same styles), so that other processes' load hits both alike.
    t = time.perf_counter()
    eng = ExplorationEngine(model, lr, mask, chunk=16, max_activation_mb=max_activation_mb)
    sync(device)
    t_setup = time.perf_counter() - t
    setup_fl = flops_of(lambda: ExplorationEngine(model, lr, mask, chunk=16))
    with torch.inference_mode():
        direct(lr, mask, styles[:1])                                                  # warm-ups
        eng.generate(styles[:min(k, eng.chunk)], progress=False)    # buffers, conv algorithms
        ref_fl = flops_of(lambda: direct(lr, mask, styles[:1]))
        eng_fl = flops_of(lambda: eng.generate(styles[:1], progress=False))
        extra["load_timing"] = load()
        ref_imgs, eng_imgs, ref_t, eng_t = [], [], [], []
        for g in range(0, k, group):
            sl = styles[g:g + group]
            ref_t += [t / len(sl) for t in timed(lambda: ref_imgs.extend(direct(lr, mask, s[None]) for s in sl),
                                                 device)]
            eng_t += [t / len(sl) for t in timed(lambda: eng_imgs.append(eng.generate(sl, progress=False)),
                                                 device)]
        diff = float((torch.cat(eng_imgs) - torch.cat(ref_imgs)).abs().max())
        # (d) the consistency projection (issue 33) of ``group`` engine outputs, and of ``group`` random images
        # (the worst case: many pixels out of range, every Dykstra round runs), per sample
        outs = torch.cat(eng_imgs)[:group].float()
        lrs = lr.float().expand(outs.shape[0], -1, -1, -1)
        noise = torch.rand(outs.shape, generator=torch.Generator().manual_seed(0)).to(device) * 2 - 1
        proj_t = min(timed(lambda: project_consistent(outs, lrs), device, reps=5)) / outs.shape[0]
        proj_worst = min(timed(lambda: project_consistent(noise, lrs), device, reps=3)) / outs.shape[0]
    extra["table_rows"] = eng.table_rows()
    del eng, eng_imgs, ref_imgs

    # (c) one generator training step (forward + backward, batch 1): effective vs direct style branch;
    # ``--train-reps 0`` skips it (the inference rows only)
    step = {}
    if train_reps > 0:
        target = torch.rand(1, 3, cfg.hr_size, cfg.hr_size, device=device) * 2 - 1
        style1 = base.clone()
        step = {"direct": [], "effective": []}
        for rep in range(train_reps + 1):   # interleaved, first round = warm-up; the best of each
            for mode in ("direct", "effective"):
                net = by_mode[mode].train()

                def one():
                    net.zero_grad(set_to_none=True)
                    (net(lr, mask, style1) - target).abs().mean().backward()

                t = timed(one, device)
                if rep:
                    step[mode] += t
        step = {mode: min(ts) for mode, ts in step.items()}
        model.eval()
    extra["load_after"] = load()

    per_ref, per_eng = min(ref_t), min(eng_t)
    extra["reference_seconds_per_sample_by_group"] = ref_t
    extra["engine_seconds_per_sample_by_group"] = eng_t
    threads = torch.get_num_threads() if device.type == "cpu" else 0
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    common = {"device": name, "threads": threads, "samples": k}

    def row(path, seconds, gflop, **kw):
        gfs = gflop / seconds if gflop and seconds else float("nan")
        return {**common, "path": path, "seconds": seconds, "gflop": gflop, "gflops": gfs,
                "fraction_of_peak": gfs / peak if gflop else float("nan"), **kw}

    rows = [
        row("reference: plain forward per sample (direct styled map, batch 1)", per_ref, ref_fl / 1e9,
            speedup_vs_reference=1.0, seconds_median=statistics.median(ref_t)),
        row("engine: per sample", per_eng, eng_fl / 1e9, speedup_vs_reference=per_ref / per_eng,
            max_abs_diff_vs_reference=diff, seconds_median=statistics.median(eng_t)),
        row("engine: setup per (LR, mask), once", t_setup, setup_fl / 1e9),
        row("conv peak: 512->512 3x3 channels-last (best)", float("nan"), float("nan"), gflops=peak,
            fraction_of_peak=1.0),
    ]
    if step:
        rows += [
            row("train step G fwd+bwd batch 1: direct styled map", step["direct"], float("nan"),
                speedup_vs_reference=1.0),
            row("train step G fwd+bwd batch 1: effective weights", step["effective"], float("nan"),
                speedup_vs_reference=step["direct"] / step["effective"]),
        ]
    rows += [
        row(PROJ_PATH, proj_t, float("nan"), share_of_engine_per_sample=proj_t / per_eng),
        row("consistency projection per sample (random images: worst case)", proj_worst, float("nan"),
            share_of_engine_per_sample=proj_worst / per_eng),
    ]
    return rows, extra


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--devices", default="auto", help="auto (cpu + cuda when present) | cpu | cuda | cpu,cuda")
    ap.add_argument("--threads", type=int, default=2, help="CPU threads (torch.set_num_threads)")
    ap.add_argument("--samples", type=int, default=16, help="K style samples of one input")
    ap.add_argument("--train-reps", type=int, default=2)
    ap.add_argument("--profile", default="paper", help="model configuration (paper = 8x; smoke = a quick check)")
    ap.add_argument("--out", default=str(REPO / "results" / "benchmark_exploration.csv"))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.devices == "auto":
        devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    else:
        devices = [d.strip() for d in args.devices.split(",")]
    import pandas as pd
    from deepsee.runs import write_table
    rows, extras = [], {}
    for dev in devices:
        device = torch.device(dev)
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True
            shapes, reps, mam = [(1, 64), (4, 64), (1, 128), (4, 128), (16, 128)], 10, 2048.0
        else:
            shapes, reps, mam = [(1, 64), (4, 64), (1, 128), (2, 128)], 3, 128.0
        print(f"[{dev}] benchmarking (K={args.samples}) ...", flush=True)
        r, extra = bench_device(device, args.samples, args.train_reps, shapes, reps, mam, args.profile)
        rows += r
        extras[dev] = extra
        ref, eng, _, peak = r[:4]
        print(f"[{dev}] reference {ref['seconds']:.3f} s/sample ({ref['gflop']:.0f} GFLOP, "
              f"{ref['gflops']:.0f} GFLOP/s); "
              f"engine {eng['seconds']:.3f} s/sample ({eng['gflop']:.0f} GFLOP, {eng['gflops']:.0f} GFLOP/s = "
              f"{100 * eng['fraction_of_peak']:.0f}% of the {peak['gflops']:.0f} GFLOP/s conv peak); "
              f"speed-up {eng['speedup_vs_reference']:.2f}x; max |diff| {eng['max_abs_diff_vs_reference']:.1e}")
        proj = next(x for x in r if x["path"] == PROJ_PATH)
        print(f"[{dev}] consistency projection {1000 * proj['seconds']:.2f} ms/sample = "
              f"{100 * proj['share_of_engine_per_sample']:.1f}% of the engine's per-sample time")
        if args.train_reps > 0:
            tdir, teff = r[4:6]
            print(f"[{dev}] training step: direct {tdir['seconds']:.2f} s, effective {teff['seconds']:.2f} s "
                  f"({teff['speedup_vs_reference']:.2f}x)")
        print(f"[{dev}] load average before/after {extra['load_before']}/{extra['load_after']}", flush=True)
    df = pd.DataFrame(rows)
    write_table(df, args.out, profile=args.profile, seed=0, benchmark="exploration", devices=devices,
                statistics="reference and engine: K samples timed in interleaved groups of 4 (the same styles); "
                           "seconds = the best group's time per sample, seconds_median = the median group's; "
                           "train steps: best of interleaved repetitions; conv peak: best of a few shapes",
                threads=args.threads, details=extras)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
