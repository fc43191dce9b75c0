"""``train_sr``: the SR training run (supplementary Section 2.2), callable from notebooks and the CLI.

A run folder ``runs/sr-<profile>-<variant>`` holds:
- ``config.yaml``      the resolved configuration;
- ``run_info.json``    what was used (``perceptual_used``, schedule plan, processes, AMP, stop reason);
- ``stats.jsonl``      one line per logging interval: step, epoch, mean losses, learning rates, img/s;
- ``samples/step_<n>.png``  grids LR | mask | output | ground truth of a fixed validation batch;
- ``checkpoint.json`` + ``ckpt-<step>.safetensors``  the resumable state (every ``save_every`` steps);
- ``model/``           the final ``DeepSEE.save`` folder;
- ``snapshots/step_<n>/``  the model at the steps of ``train.snapshot_steps`` (same format as ``model/``);
- ``tensorboard/``     optional (``train.tensorboard``; needs the tensorboard package).

The schedule is the paper's (constant, then linear decay to zero) in epochs, or in
``train.schedule_steps`` steps (the quick profile: the same run on every machine); ``train.max_steps``
stops early without changing it; the optional cap ``train.max_minutes`` (off in the shipped profiles) measures the speed of the first steps and compresses
the schedule to the steps that fit, re-fitted every few steps from the recent speed (the rate never
jumps), so the decay still ends at zero when the machine slows down or speeds up. Under torchrun every rank trains, only rank 0 writes.
"""
from __future__ import annotations

import datetime as _dt
import json
import shutil
import time
from pathlib import Path

import torch
import yaml
from tqdm.auto import tqdm

from ..config import Config, load_config
from ..data import build_dataset
from ..losses import build_perceptual, describe_perceptual
from ..models import DeepSEE, build_discriminator
from ..runs import append_jsonl, atomic_write_text, cpu_model, metadata, new_run_dir, seed_everything, write_json
from ..seg import load_segmenter
from .checkpoint import has_checkpoint, read_checkpoint, write_checkpoint
from .data import EpochSampler, make_loader
from .distributed import DistInfo, barrier, broadcast_object, init_distributed, shutdown
from .samples import fixed_batch, grid_image, render_outputs, save_png
from .schedule import Plan, refit_plan, steps_plan
from .step import Speedups, locality_record
from .trainer import SRTrainer

CHECK_EVERY = 10          # steps between budget checks (re-plan / hard stop), same on every rank
BUDGET_SAFETY = 0.95      # share of the remaining budget the plan fills
BUDGET_HARD_STOP = 1.10   # stop when the wall clock exceeds the budget by this factor
RATE_WINDOW = 3           # budget checks over which the speed is measured
SAMPLE_ROWS = 4


def train_sr(cfg: Config, run_dir: str | Path | None = None, resume: bool = False,
             segmenter_dir: str | Path | None = None, progress: bool = True) -> Path:
    """Train a DeepSEE SR model; returns the run folder (final model in ``<run>/model``).

    Args:
        cfg:           resolved configuration (``load_config(profile, overrides)``).
        run_dir:       run folder; default a new ``<run_root>/sr-<profile>-<variant>``.
        resume:        continue from ``run_dir``'s latest checkpoint.
        segmenter_dir: ``train-seg`` run folder for ``train.perceptual=segmenter``.
        progress:      show a tqdm bar (rank 0).
    """
    info = init_distributed(cfg.device)
    try:
        return _Run(cfg, info, run_dir, resume, segmenter_dir, progress).run()
    finally:
        shutdown(info)


def check_config(cfg: Config) -> None:
    """Start-up checks that need no data or weights."""
    m, d = cfg.model, cfg.data
    if d.lr_size != m.lr_size or d.hr_size != m.lr_size * m.factor:
        raise ValueError(f"data sizes {d.lr_size}->{d.hr_size} do not match model.lr_size={m.lr_size} x "
                         f"factor {m.factor} = {m.lr_size * m.factor}")
    if cfg.train.batch_size < 1:
        raise ValueError(f"train.batch_size={cfg.train.batch_size} must be >= 1")
    if cfg.train.tensorboard:
        try:
            import tensorboard  # noqa: F401
        except ImportError:
            raise RuntimeError("train.tensorboard=true needs the tensorboard package: "
                               "pip install 'deepsee[tensorboard]' (or set train.tensorboard=false)") from None


def _log_interval(cfg: Config) -> int:
    return max(1, min(50, cfg.train.sample_every // 10 if cfg.train.sample_every >= 10 else 1))


class _Run:
    """One call of :func:`train_sr` (kept as an object so the loop reads top-down)."""

    def __init__(self, cfg, info: DistInfo, run_dir, resume, segmenter_dir, progress):
        self.cfg, self.info, self.resume, self.progress = cfg, info, resume, progress
        self.segmenter_dir = segmenter_dir
        self.run_dir = None if run_dir is None else Path(run_dir)
        self.tb = None

    # ----------------------------------------------------------------------------- set-up
    def _resolve_run_dir(self) -> Path:
        cfg = self.cfg
        if self.resume:
            if self.run_dir is None:
                raise ValueError("resume=True needs run_dir (the run folder to continue)")
            if not has_checkpoint(self.run_dir):
                raise FileNotFoundError(f"cannot resume: no checkpoint.json in {self.run_dir}")
            return self.run_dir
        if self.run_dir is not None:
            if has_checkpoint(self.run_dir):
                raise FileExistsError(f"{self.run_dir} already holds a training checkpoint; resume it "
                                      f"(--resume {self.run_dir}) or choose another folder")
            if self.info.is_main:
                self.run_dir.mkdir(parents=True, exist_ok=True)
            return self.run_dir
        path = new_run_dir("sr", cfg.profile, cfg.model.variant, root=cfg.run_root) if self.info.is_main else None
        return Path(broadcast_object(str(path) if path else None, self.info))

    def _read_resume(self):
        tensors, meta = read_checkpoint(self.run_dir)
        if self.segmenter_dir is None:
            self.segmenter_dir = meta.get("segmenter_dir") or None
        return tensors, meta

    def _datasets(self):
        guided = self.cfg.model.variant == "guided"
        bar = self.progress and self.info.is_main
        train = build_dataset(self.cfg, "train", train=True, guided=guided, progress=bar)
        sample = None
        if self.info.is_main:
            try:
                sample = build_dataset(self.cfg, "val", train=False, guided=guided, progress=bar)
                if len(sample) == 0:
                    sample = None
            except (FileNotFoundError, ValueError, KeyError):
                sample = None
            if sample is None:
                sample = build_dataset(self.cfg, "train", train=False, guided=guided, progress=bar)
        return train, sample

    def _build(self):
        cfg = self.cfg
        check_config(cfg)
        resume_state = None
        if self.resume:
            self.run_dir = self._resolve_run_dir()
            resume_state = self._read_resume()
        seg = (load_segmenter(self.segmenter_dir) if cfg.train.perceptual == "segmenter" and self.segmenter_dir
               else None)
        perceptual = build_perceptual(cfg, self.segmenter_dir, segmenter=seg)   # fails early if VGG weights are missing
        if not self.resume:
            self.run_dir = self._resolve_run_dir()
        seed_everything(cfg.seed + self.info.rank)
        self.train_set, self.sample_set = self._datasets()
        plan = steps_plan(cfg.train, len(self.train_set), self.info.world_size)
        self.epoch_plan = plan
        model = DeepSEE(cfg.model, speedups=Speedups.parse(cfg.train.speedups).model_side(), labels=cfg.data.labels,
                        grad_checkpoint=cfg.train.grad_checkpoint)
        disc = build_discriminator(cfg.model)
        self.trainer = SRTrainer(model, disc, cfg, plan, self.info, perceptual)
        self.perceptual_used = describe_perceptual(perceptual, cfg.train.lambda_vgg)
        self.elapsed_before = 0.0
        self.resumed_from = []
        self.branched_from = None
        if resume_state is not None:
            tensors, meta = resume_state
            self.elapsed_before = float(meta.get("elapsed_s", 0.0))
            self.resumed_from = list(meta.get("resumed_from", [])) + [int(meta["step"])]
            self.branched_from = meta.get("branched_from")
            self.trainer.load_state(tensors, meta)       # last: sets the random states
        # A resumed run keeps the schedule it was planned with.
        self.may_replan = cfg.train.max_minutes > 0 and resume_state is None
        self.sampler = EpochSampler(len(self.train_set), seed=cfg.seed, rank=self.info.rank,
                                    world_size=self.info.world_size)
        self.loader = make_loader(self.train_set, cfg.train.batch_size, self.sampler, cfg.data.num_workers,
                                  pin_memory=self.info.device.type == "cuda")

    def _prepare_outputs(self):
        if not self.info.is_main:
            return
        cfg, run = self.cfg, self.run_dir
        if self.resume:
            _trim_stats(run / "stats.jsonl", self.trainer.step)
        else:
            atomic_write_text(run / "config.yaml", yaml.safe_dump(cfg.to_dict(), sort_keys=False))
        (run / "samples").mkdir(exist_ok=True)
        self.samples = self.trainer.to_device(fixed_batch(self.sample_set, SAMPLE_ROWS, seed=cfg.seed))
        self.segments = self._segments()
        if cfg.train.tensorboard:
            from torch.utils.tensorboard import SummaryWriter   # optional dependency
            self.tb = SummaryWriter(str(run / "tensorboard"), purge_step=self.trainer.step or None)
        self._write_info(status="running")

    def _segments(self) -> list[dict]:
        """Where each stretch of this run trained: one entry per start or resume (first step, CPU/GPU,
        threads, time), so a run continued across machines says which machine made which steps."""
        old = []
        info = self.run_dir / "run_info.json"
        if self.resume and info.is_file():
            old = [s for s in json.loads(info.read_text()).get("segments", []) if s["from_step"] < self.trainer.step]
        dev = self.info.device
        return old + [{"from_step": self.trainer.step,
                       "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else cpu_model(),
                       "threads": torch.get_num_threads(), "world_size": self.info.world_size,
                       "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}]

    # ------------------------------------------------------------------------------ outputs
    def _write_info(self, **extra):
        cfg, plan = self.cfg, self.trainer.plan
        info = {"kind": "sr", "profile": cfg.profile, "variant": cfg.model.variant,
                "perceptual_used": self.perceptual_used, "lambda_vgg": cfg.train.lambda_vgg,
                "lambda_feat": cfg.train.lambda_feat, "lambda_l1": cfg.train.lambda_l1,
                **({"locality": local} if (local := locality_record(cfg.train)) else {}),
                "segmenter_dir": str(self.segmenter_dir) if self.segmenter_dir else None,
                "plan": plan.to_dict(), "planned_total_steps": plan.total_steps,
                "epoch_plan_total_steps": self.epoch_plan.total_steps,
                "max_steps": cfg.train.max_steps, "max_minutes": cfg.train.max_minutes,
                "schedule_steps": cfg.train.schedule_steps,
                "steps_done": self.trainer.step, "world_size": self.info.world_size,
                "device": str(self.info.device), "amp": cfg.train.amp,
                "grad_checkpoint": cfg.train.grad_checkpoint, "train_items": len(self.train_set),
                "resumed_from": self.resumed_from, "branched_from": self.branched_from,
                "segments": getattr(self, "segments", []),
                "sync_batchnorm": self.info.distributed and self.info.device.type == "cuda"}
        info.update(extra)
        info["metadata"] = metadata(cfg.profile, cfg.seed)
        write_json(self.run_dir / "run_info.json", info)

    def _save_samples(self):
        t = self.trainer
        out = render_outputs(t.generate, self.samples, t.sources, t.guided)
        grid = grid_image(self.samples["lr"], self.samples["mask"], out, self.samples["hr"], labels=self.cfg.data.labels)
        path = save_png(grid, self.run_dir / "samples" / f"step_{t.step:08d}.png")
        if self.tb is not None:
            self.tb.add_image("samples", grid, t.step, dataformats="HWC")
        return path

    def _checkpoint(self, elapsed: float):
        state = self.trainer.collect_state()        # collective: every rank
        if state is None:
            return
        tensors, meta = state
        meta.update(config=self.cfg.to_dict(), elapsed_s=elapsed, resumed_from=self.resumed_from,
                    branched_from=self.branched_from,
                    segmenter_dir=str(self.segmenter_dir) if self.segmenter_dir else None,
                    epoch=self.trainer.step // self.trainer.plan.steps_per_epoch)
        write_checkpoint(self.run_dir, self.trainer.step, tensors, meta)

    def _log(self, acc: dict, counts: dict, n: int, seconds: float, elapsed: float):
        """One stats row: each loss term averaged over the steps that logged it (``counts``)."""
        t = self.trainer
        row = {"step": t.step, "epoch": t.step // t.plan.steps_per_epoch,
               **{k: v / counts[k] for k, v in acc.items()}, "lr": t.lrs(),
               "img_per_s": n * self.cfg.train.batch_size * self.info.world_size / max(seconds, 1e-9),
               "elapsed_s": round(elapsed, 2)}
        append_jsonl(self.run_dir / "stats.jsonl", row)
        if self.tb is not None:
            for k, v in row.items():
                if isinstance(v, float):
                    self.tb.add_scalar(f"train/{k}", v, t.step)
            for k, v in row["lr"].items():
                self.tb.add_scalar(f"lr/{k}", v, t.step)
        return row

    # ----------------------------------------------------------------------------- budget
    def _budget_check(self, elapsed: float, step_rate: float | None) -> tuple[Plan | None, bool]:
        """Rank 0 re-fits the schedule to the time left (the rate never jumps: ``refit_plan``) and
        decides whether to stop; every rank receives the decision."""
        decision = (None, False)
        budget = self.cfg.train.max_minutes * 60
        t = self.trainer
        if self.info.is_main and budget > 0:
            plan, stop = None, elapsed > budget * BUDGET_HARD_STOP
            if self.may_replan and step_rate:
                fit = t.step + int(max(0.0, budget - elapsed) * BUDGET_SAFETY / step_rate)
                plan = refit_plan(t.plan, self.epoch_plan, self.cfg.train, t.step, fit)
            decision = (plan, stop)
        return broadcast_object(decision, self.info)

    def _stop_at(self) -> int:
        total = self.trainer.plan.total_steps
        return min(total, self.cfg.train.max_steps) if self.cfg.train.max_steps > 0 else total

    # -------------------------------------------------------------------------------- loop
    def run(self) -> Path:
        self._build()
        self._prepare_outputs()
        cfg, t = self.cfg, self.trainer
        bar = tqdm(total=self._stop_at(), initial=t.step, unit="step", dynamic_ncols=True,
                   desc=f"train-sr {cfg.profile}/{cfg.model.variant}",
                   disable=not (self.progress and self.info.is_main))
        t0 = time.perf_counter() - self.elapsed_before
        log_every = _log_interval(cfg)
        acc, counts, n_acc, t_log = {}, {}, 0, time.perf_counter()
        first_step, marks = t.step, []          # (step, time) at each budget check
        stopped_by = "schedule"
        while t.step < self._stop_at():
            epoch, pos = divmod(t.step, t.plan.steps_per_epoch)
            self.sampler.set_epoch(epoch)
            self.sampler.set_start(pos * cfg.train.batch_size)
            for batch in self.loader:
                losses = t.train_step(batch)
                now = time.perf_counter()
                if not marks:
                    marks.append((t.step, now))        # the first step includes warm-up; rate from here
                for k, v in losses.items():
                    acc[k] = acc.get(k, 0.0) + v
                    counts[k] = counts.get(k, 0) + 1    # a term may be logged on some steps only
                n_acc += 1
                bar.update(1)
                if self.info.is_main and (t.step % log_every == 0 or t.step >= self._stop_at()):
                    row = self._log(acc, counts, n_acc, now - t_log, now - t0)
                    bar.set_postfix(g=f"{row['g_total']:.3f}", d=f"{row['d_total']:.3f}",
                                    img_s=f"{row['img_per_s']:.1f}", refresh=False)
                    acc, counts, n_acc, t_log = {}, {}, 0, time.perf_counter()
                if cfg.train.max_minutes > 0 and (t.step - first_step) % CHECK_EVERY == 4 % CHECK_EVERY:
                    marks.append((t.step, now))
                    s0, w0 = marks[max(0, len(marks) - 1 - RATE_WINDOW)]   # recent speed, for varying load
                    rate = (now - w0) / (t.step - s0) if t.step > s0 else None
                    plan, stop = self._budget_check(now - t0, rate)
                    if plan is not None:
                        t.set_plan(plan)
                        bar.total = self._stop_at()
                    if stop:
                        stopped_by = "max_minutes"
                if self.info.is_main and cfg.train.sample_every > 0 and t.step % cfg.train.sample_every == 0:
                    self._save_samples()
                if cfg.train.save_every > 0 and t.step % cfg.train.save_every == 0:
                    self._checkpoint(time.perf_counter() - t0)
                if self.info.is_main and t.step in cfg.train.snapshot_steps:
                    t.model.save(self.run_dir / "snapshots" / f"step_{t.step:08d}")
                if t.step >= self._stop_at() or stopped_by != "schedule":
                    break
            if stopped_by != "schedule":
                break
        if cfg.train.max_steps > 0 and t.step >= cfg.train.max_steps and t.step < t.plan.total_steps:
            stopped_by = "max_steps"
        bar.close()
        return self._finish(time.perf_counter() - t0, stopped_by)

    def _finish(self, elapsed: float, stopped_by: str) -> Path:
        t, cfg = self.trainer, self.cfg
        if not (cfg.train.save_every > 0 and t.step % cfg.train.save_every == 0):
            self._checkpoint(elapsed)
        if self.info.is_main:
            if not (cfg.train.sample_every > 0 and t.step % cfg.train.sample_every == 0):
                self._save_samples()
            t.model.save(self.run_dir / "model")
            self._write_info(status="done", stopped_by=stopped_by, elapsed_s=round(elapsed, 1),
                             lr_at_end=t.lrs())
            if self.tb is not None:
                self.tb.close()
        barrier(self.info)
        return self.run_dir


def run_snapshots(run: str | Path) -> list[tuple[int, Path]]:
    """``[(step, model folder)]`` of an SR run folder: its ``snapshots/step_<n>`` (``train.snapshot_steps``)
    and its final ``model/`` (at ``run_info.json``'s ``steps_done``, unless a snapshot has that step), by step."""
    run = Path(run)
    out = [(int(p.name.split("_")[1]), p) for p in sorted((run / "snapshots").glob("step_*"))
           if (p / "model.safetensors").is_file()]
    info = run / "run_info.json"
    final = int(json.loads(info.read_text()).get("steps_done", 0)) if info.is_file() else 0
    if (run / "model").is_dir() and final not in [s for s, _ in out]:
        out.append((final, run / "model"))
    return sorted(out)


def _trim_stats(path: Path, step: int) -> None:
    """Drop log lines written after the checkpoint being resumed (they will be written again)."""
    if not path.is_file():
        return
    keep = [line for line in path.read_text().splitlines()
            if line.strip() and json.loads(line).get("step", 0) <= step]
    atomic_write_text(path, "".join(line + "\n" for line in keep))


def branch_run(src: str | Path, dest: str | Path, overrides: list[str] | None = None) -> Path:
    """Start run ``dest`` from the latest checkpoint of SR run ``src`` under ``src``'s configuration plus
    ``overrides`` (``["train.schedule_steps=28000", ...]``), for :func:`train_sr` ``(resume=True)``.

    Everything of the checkpoint carries over (weights, optimiser moments, RNG and data-order states,
    step count); only the schedule is planned anew from the new configuration, so the learning rate
    follows the new plan from the branch step on (a longer ``train.schedule_steps`` continues a
    finished run with a warm restart; ``train.lambda_l1_final`` and the like act from there). The
    training log and the snapshots up to the branch step are copied (a finished source's final model
    becomes the snapshot of the branch step); ``run_info.json`` and every later
    checkpoint record ``branched_from`` (run, step, overrides). Returns ``dest``."""
    src, dest = Path(src), Path(dest)
    if not (src / "config.yaml").is_file():
        raise FileNotFoundError(f"cannot branch {src}: {src / 'config.yaml'} not found (not an SR run folder)")
    if has_checkpoint(dest):
        raise FileExistsError(f"{dest} already holds a training checkpoint; resume it (--resume {dest}) "
                              "or choose another folder")
    tensors, meta = read_checkpoint(src)
    step = int(meta["step"])
    cfg = load_config(str(src / "config.yaml"), list(overrides or []))
    old = Plan.from_dict(meta["plan"])
    spe = old.steps_per_epoch
    plan = steps_plan(cfg.train, spe * cfg.train.batch_size * int(meta.get("world_size", 1) or 1),
                      int(meta.get("world_size", 1) or 1))
    if plan.total_steps <= step:
        raise ValueError(f"the new schedule ends at step {plan.total_steps:,}, not after the branch step "
                         f"{step:,} of {src}; set train.schedule_steps (or the epochs) beyond it")
    dest.mkdir(parents=True, exist_ok=True)
    atomic_write_text(dest / "config.yaml", yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    if (src / "stats.jsonl").is_file():
        shutil.copy2(src / "stats.jsonl", dest / "stats.jsonl")
        _trim_stats(dest / "stats.jsonl", step)
    for snap in sorted((src / "snapshots").glob("step_*")) if (src / "snapshots").is_dir() else []:
        if int(snap.name.split("_")[1]) <= step and not (dest / "snapshots" / snap.name).exists():
            shutil.copytree(snap, dest / "snapshots" / snap.name)
    final = src / "model"     # a finished source: its final model is the branch step's snapshot
    info = json.loads((src / "run_info.json").read_text()) if (src / "run_info.json").is_file() else {}
    snap = dest / "snapshots" / f"step_{step:08d}"
    if (final / "model.safetensors").is_file() and int(info.get("steps_done", -1)) == step and not snap.exists():
        shutil.copytree(final, snap)
    meta = dict(meta, plan=Plan(spe, plan.const_steps, plan.total_steps, plan.source).to_dict(),
                config=cfg.to_dict(),
                branched_from={"run": str(src), "step": step, "overrides": list(overrides or []),
                               "plan_before": old.to_dict()})
    write_checkpoint(dest, step, tensors, meta)
    write_json(dest / "branch.json", meta["branched_from"])
    return dest
