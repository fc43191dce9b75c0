"""Several independent training runs at once, each in its own process with a fixed thread count.

On a small CPU the kit's quick models do not use two cores well: measured on a quiet 2-core CPU
(``benchmarks/quick_parallel.py``), a quick SR step takes 0.31 s with two threads and 0.46 s with
one, and two runs side by side with one thread each make 1.33x the steps per second of one run with
two threads. :func:`train_many` runs the notebook pipeline's
SR trainings that way (``pipeline.train_workers`` processes, ``pipeline.train_threads`` threads each).
A fixed thread count per run also fixes the order of the floating-point reductions, so the same
configuration gives the same weights on any machine with the same instruction set, whatever its
core count. Each run is the ordinary :func:`deepsee.train.train_sr` (its own run folder, config,
checkpoints); a failure stops with the run's configuration and the worker's error. This is not
distributed training: for one run on several GPUs use ``torchrun`` (README, "Multi-GPU").
"""
from __future__ import annotations

import multiprocessing as mp
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Sequence

import torch
from tqdm.auto import tqdm

from ..config import Config, load_config, restart_stages
from .checkpoint import has_checkpoint
from .loop import branch_run, train_sr


def set_threads(threads: int) -> None:
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    torch.set_num_threads(threads)


def train_one(cfg: Config, segmenter_dir: str | None, run_dir: str | None = None,
               progress: bool = False) -> tuple[str, float]:
    """One run; with ``run_dir`` holding a checkpoint, it resumes there (a long run continued later)."""
    t0 = time.perf_counter()
    resume = run_dir is not None and has_checkpoint(run_dir)
    run = train_sr(cfg, run_dir=run_dir, resume=resume, segmenter_dir=segmenter_dir, progress=progress)
    return str(run), time.perf_counter() - t0


def job_label(cfg: Config) -> str:
    return f"{cfg.profile}/{cfg.model.variant} ({cfg.model.factor}x)"


def train_many(configs: Sequence[Config], segmenter_dirs: Sequence[str | None] | None = None, *,
               workers: int = 2, threads: int = 1, progress: bool = True,
               run_dirs: Sequence[str | Path | None] | None = None) -> list[Path]:
    """Train every configuration; returns the run folders in the order of ``configs``.

    ``workers`` processes (spawned) take the runs in order, so put the longest first. ``workers <= 1``
    or a CUDA device trains them one after the other in this process (``threads`` still applies
    when > 0). ``segmenter_dirs``: one per configuration (``train.perceptual=segmenter``) or None.
    ``run_dirs``: one folder per configuration (None: a new ``runs/sr-...`` folder); a folder that holds a
    checkpoint is resumed, so a long job killed midway continues where it stopped.
    """
    configs = list(configs)
    segs = list(segmenter_dirs) if segmenter_dirs is not None else [None] * len(configs)
    if len(segs) != len(configs):
        raise ValueError(f"segmenter_dirs has {len(segs)} entries for {len(configs)} configurations")
    dirs = [None if d is None else str(d) for d in run_dirs] if run_dirs is not None else [None] * len(configs)
    if len(dirs) != len(configs):
        raise ValueError(f"run_dirs has {len(dirs)} entries for {len(configs)} configurations")
    if workers < 1 or threads < 0:
        raise ValueError(f"workers must be >= 1 and threads >= 0, got workers={workers}, threads={threads}")
    cuda = any(str(c.device).startswith("cuda") for c in configs)
    runs: list[Path | None] = [None] * len(configs)
    if workers == 1 or cuda or len(configs) == 1:
        before = torch.get_num_threads()
        try:
            if threads:
                torch.set_num_threads(threads)
            for i, (cfg, seg, d) in enumerate(zip(configs, segs, dirs)):
                runs[i] = Path(train_one(cfg, seg, d, progress)[0])
        finally:
            torch.set_num_threads(before)      # the caller (a notebook kernel) keeps its own count
        return runs  # type: ignore[return-value]
    bar = tqdm(total=len(configs), unit="run", desc=f"training ({workers} processes x {threads} thread)",
               disable=not progress)
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                             initializer=set_threads, initargs=(threads or 1,)) as pool:
        futures = {pool.submit(train_one, cfg, seg, d): i for i, (cfg, seg, d) in enumerate(zip(configs, segs, dirs))}
        for fut in as_completed(futures):
            i = futures[fut]
            try:
                run, seconds = fut.result()
            except Exception as e:
                for f in futures:
                    f.cancel()
                raise RuntimeError(f"training run {job_label(configs[i])} failed in its worker process: "
                                   f"{type(e).__name__}: {e}") from e
            runs[i] = Path(run)
            bar.set_postfix_str(f"{job_label(configs[i])} done in {seconds / 60:.1f} min", refresh=False)
            bar.update(1)
    bar.close()
    return runs  # type: ignore[return-value]


def stage_folder(run: str | Path, steps: int) -> Path:
    """The folder of a warm-restart stage of ``run``: ``<run>-<steps/1000>k`` beside it (sr-independent-30k)."""
    run = Path(run)
    tag = f"{steps // 1000}k" if steps % 1000 == 0 else str(steps)
    return run.parent / f"{run.name}-{tag}"


def stage_folders(run: str | Path, restarts) -> list[Path]:
    """``run`` and the folder of each of its warm-restart stages (``pipeline.restarts``), in order."""
    return [Path(run)] + [stage_folder(run, n) for n, _, _ in restart_stages(restarts)]


def first_stage(run: str | Path, restarts) -> int:
    """The stage a run's training continues from: the last of :func:`stage_folders` that holds a
    checkpoint (0, the first schedule, when none does). The earlier stages are then not needed: a clone
    that has only the last stage's committed checkpoint trains nothing before it."""
    found = [i for i, f in enumerate(stage_folders(run, restarts)) if has_checkpoint(f)]
    return max(found, default=0)


def train_restarts(runs: Sequence[str | Path], restarts, segmenter_dirs: Sequence[str | None] | None = None, *,
                   workers: int = 2, threads: int = 1, progress: bool = True,
                   overrides: Sequence[str] = ()) -> list[Path]:
    """The warm restarts of ``pipeline.restarts`` after finished runs: for each stage in order, every run is
    branched (:func:`deepsee.train.loop.branch_run`) from its previous stage's final checkpoint into
    :func:`stage_folder` with ``train.schedule_steps`` = the stage's steps (a new decay phase from the rate
    the longer schedule has there), the stage's ``set`` overrides and, for runs that keep snapshots, the
    stage's snapshot steps; then all are trained on side by side (:func:`train_many`). A stage folder that
    already holds a checkpoint is resumed (an interrupted stage continues) and the stages before it are
    skipped (:func:`first_stage`). ``overrides`` apply to every stage's configuration, also of a resumed
    one (this machine's data and mask folders, e.g., where a committed stage was trained elsewhere).
    Returns the last stage's folders (the runs themselves when there are no restarts)."""
    stages = restart_stages(restarts)
    folders = [stage_folders(r, restarts) for r in runs]
    starts = [first_stage(r, restarts) for r in runs]
    segs = list(segmenter_dirs) if segmenter_dirs is not None else [None] * len(folders)
    for k, (steps, snaps, sets) in enumerate(stages, 1):
        todo = [i for i in range(len(folders)) if starts[i] <= k]
        for i in todo:
            src, dest = folders[i][k - 1], folders[i][k]
            if not has_checkpoint(dest):
                own = load_config(str(src / "config.yaml")).train.snapshot_steps
                extra = [f"train.snapshot_steps={sorted(set(own) | set(snaps))}"] if own else []
                branch_run(src, dest, [f"train.schedule_steps={steps}", "train.max_steps=0", *extra, *sets,
                                       *overrides])
        if todo:
            train_many([load_config(str(folders[i][k] / "config.yaml"), list(overrides)) for i in todo],
                       [segs[i] for i in todo],
                       workers=workers, threads=threads, progress=progress, run_dirs=[folders[i][k] for i in todo])
    return [f[-1] for f in folders]


def train_staged(configs: Sequence[Config], segmenter_dirs: Sequence[str | None] | None = None, *,
                 restarts=(), restart: Sequence[bool] | None = None,
                 run_dirs: Sequence[str | Path | None] | None = None, workers: int = 2, threads: int = 1,
                 progress: bool = True, overrides: Sequence[str] = (),
                 run_many=None, run_restarts=None) -> list[Path]:
    """The one training orchestration of the notebooks (``Pipeline.train_sr_models``) and ``deepsee showcase
    train``: every configuration's first schedule side by side (:func:`train_many`), then the warm restarts of
    ``restarts`` (``pipeline.restarts``, :func:`train_restarts`) of the runs with ``restart`` true (default:
    all). A run whose folder already holds a later stage's checkpoint (:func:`first_stage`) skips its first
    schedule. ``overrides`` apply to every restart stage (this machine's data and mask folders). Returns
    each run's last folder, in the order of ``configs``. ``run_many`` / ``run_restarts``: what trains the first
    schedules and the restart stages (default :func:`train_many`, :func:`train_restarts`)."""
    run_many, run_restarts = run_many or train_many, run_restarts or train_restarts
    n = len(configs)
    segs = list(segmenter_dirs) if segmenter_dirs is not None else [None] * n
    dirs: list = [None if d is None else Path(d) for d in run_dirs] if run_dirs is not None else [None] * n
    again = list(restart) if restart is not None else [True] * n
    if not (len(segs) == len(dirs) == len(again) == n):
        raise ValueError(f"train_staged: {n} configurations need as many segmenter_dirs, run_dirs and restart "
                         f"entries (got {len(segs)}, {len(dirs)}, {len(again)})")
    first = [i for i in range(n) if not (restarts and again[i] and dirs[i] is not None
                                         and first_stage(dirs[i], restarts) > 0)]
    trained = run_many([configs[i] for i in first], [segs[i] for i in first], workers=workers, threads=threads,
                         progress=progress, run_dirs=[dirs[i] for i in first]) if first else []
    for i, run in zip(first, trained):
        dirs[i] = Path(run)
    later = [i for i in range(n) if again[i]]
    if restarts and later:
        finals = run_restarts([dirs[i] for i in later], restarts, [segs[i] for i in later], workers=workers,
                                threads=threads, progress=progress, overrides=overrides)
        for i, run in zip(later, finals):
            dirs[i] = Path(run)
    return dirs
