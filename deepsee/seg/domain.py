"""What a model was trained on, and whether a photo is far from it (issue 32, "models that state their domain").

Every model the kit trains or ships is a run folder whose ``config.yaml`` and ``run_info.json`` say what it
learned from; :func:`model_domain` reads them into one record (dataset, label set, resolution, budget) that
``deepsee explore``, the explorer and ``deepsee weights status`` print.

A photo far from that domain (a real portrait for a model of SynthFaces' drawn faces) is recognised by the
segmenter, the first model to see it: its **mean confidence** (the mean over pixels of the largest class
probability) falls below what it reaches on its own test split. :func:`confidence_reference` measures that level
once (written as ``confidence.json`` beside the segmenter's weights); :func:`domain_check` compares a photo with it.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from ..labels import label_set, read_saved

LABEL_SET_NAMES = {"celebamaskhq": "CelebAMask-HQ face", "outdoor": "SFTGAN outdoor-scene"}
from ..runs import write_json
from ..config import load_config

CONFIDENCE_FILE = "confidence.json"
DATASET_NAMES = {"synthfaces": "SynthFaces (drawn faces, built in)", "celebamaskhq": "CelebAMask-HQ photographs",
                 "celeba": "CelebA photographs", "folder": "an image folder",
                 "synthscenes": "SynthScenes (drawn outdoor scenes, built in)", "ade20k": "ADE20K photographs",
                 "ost": "SFTGAN's OutdoorSceneTraining photographs"}


def _run_folder(path: str | Path) -> Path:
    """The run folder of ``path``: a run folder itself, or the run folder above a ``model/`` folder."""
    p = Path(path)
    return p.parent if p.name == "model" and (p.parent / "config.yaml").is_file() else p


def model_domain(path: str | Path) -> dict:
    """What the model (or segmenter) of run folder ``path`` was trained on, from its ``config.yaml`` and
    ``run_info.json``: ``dataset`` (and ``faces`` for SynthFaces), ``labels`` (the label set), ``lr_size``,
    ``hr_size``, ``steps``, ``batch_size``, ``images_seen`` and a one-line ``summary``. Fields the folder does not
    record are absent (a model folder imported alone records no dataset)."""
    run = _run_folder(path)
    out: dict = {}
    if (run / "config.yaml").is_file():
        cfg = load_config(str(run / "config.yaml"))
        d = cfg.data
        ls = read_saved(run) if (run / "labels.json").is_file() else label_set(d.labels)
        out.update(dataset=d.dataset, labels=f"{ls.num_classes} {LABEL_SET_NAMES.get(ls.name, ls.name)} classes",
                   label_set=ls.name, lr_size=d.lr_size, hr_size=d.hr_size)
        if d.dataset in ("synthfaces", "synthscenes"):
            out["faces" if d.dataset == "synthfaces" else "scenes"] = d.synth_n
        if (run / "segmenter.json").is_file():
            out["input"] = cfg.seg.input                  # a segmenter: "lr", or "hr" for a judge
    else:   # a model folder alone (DeepSEE.save): its config.json states the label set and sizes
        meta = next((p for p in (run / "model" / "config.json", run / "config.json") if p.is_file()), None)
        model_cfg = json.loads(meta.read_text()) if meta is not None else {}
        if isinstance(model_cfg.get("model"), dict):
            ls = label_set(model_cfg.get("labels"))
            m = model_cfg["model"]
            out.update(labels=f"{ls.num_classes} {LABEL_SET_NAMES.get(ls.name, ls.name)} classes", label_set=ls.name,
                       lr_size=m.get("lr_size"), hr_size=m.get("lr_size", 0) * m.get("factor", 0))
    info = {}
    if (run / "run_info.json").is_file():
        info = json.loads((run / "run_info.json").read_text())
    elif (run / "segmenter.json").is_file():
        info = json.loads((run / "segmenter.json").read_text())
    steps = info.get("steps_done", info.get("steps"))
    if steps:
        out["steps"] = int(steps)
        if info.get("batch_size"):
            out["batch_size"] = int(info["batch_size"])
            out["images_seen"] = int(steps) * int(info["batch_size"])
    parts = []
    if "dataset" in out:
        parts.append(DATASET_NAMES.get(out["dataset"], out["dataset"])
                     + (f", {out['faces']:,} faces" if "faces" in out else "")
                     + (f", {out['scenes']:,} scenes" if "scenes" in out else ""))
        reads = (f"{out['hr_size']} px HR images -> masks" if out.get("input") == "hr"
                 else f"{out['lr_size']} -> {out['hr_size']} px")
        parts.append(f"{out['labels']}, {reads}")
    elif "labels" in out:
        parts.append(f"dataset not recorded; {out['labels']}, {out['lr_size']} -> {out['hr_size']} px")
    if "steps" in out:
        parts.append(f"{out['steps']:,} steps" + (f" at batch {out['batch_size']}" if "batch_size" in out else ""))
    out["summary"] = "; ".join(parts) or "not recorded (a model folder without its run's config and log)"
    return out


@torch.no_grad()
def masks_and_confidence(segmenter, lr: Tensor, size) -> tuple[Tensor, Tensor]:
    """One segmenter pass over LR images ``lr`` ``[B, 3, h, w]``: the label maps ``[B, H, W]`` (as
    :func:`deepsee.seg.predict_masks`, on ``lr``'s device) and, per image ``[B]`` on the CPU, the mean over pixels
    of the largest class probability: in [1/19, 1], low on inputs unlike its training data."""
    was = segmenter.training
    segmenter.eval()
    try:
        dev = next(segmenter.parameters()).device
        logits = segmenter(lr.to(dev), size).float()
    finally:
        segmenter.train(was)
    return logits.argmax(1).to(lr.device), logits.softmax(1).amax(1).mean((1, 2)).cpu()


def mean_confidence(segmenter, lr: Tensor, size) -> Tensor:
    """Per image ``[B]``: the segmenter's mean confidence (:func:`masks_and_confidence`)."""
    return masks_and_confidence(segmenter, lr, size)[1]


def confidence_reference(segmenter, items: Sequence[dict], batch_size: int = 32) -> dict:
    """The segmenter's mean confidence on ``items`` (its own test split): ``mean``, ``p05`` (5th percentile of
    the per-image values) and ``n``; what :func:`domain_check` compares a photo with."""
    vals = []
    for a in range(0, len(items), batch_size):
        chunk = items[a:a + batch_size]
        lr = torch.stack([it["lr"] for it in chunk])
        vals.append(mean_confidence(segmenter, lr, tuple(chunk[0]["mask"].shape[-2:])))
    v = torch.cat(vals).numpy()
    if v.size == 0:
        raise ValueError("confidence_reference: no items")
    return {"mean": float(v.mean()), "p05": float(np.quantile(v, 0.05)), "min": float(v.min()), "n": int(v.size)}


def write_confidence_reference(run: str | Path, reference: dict, split: str) -> Path:
    """Write ``reference`` (:func:`confidence_reference`) as ``<run>/confidence.json``."""
    path = Path(run) / CONFIDENCE_FILE
    write_json(path, {**reference, "split": split,
                      "what": "mean over pixels of the largest class probability, per image; p05 = 5th percentile"})
    return path


def read_confidence_reference(run: str | Path) -> dict | None:
    path = Path(run) / CONFIDENCE_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def domain_check(confidence: float, reference: dict | None) -> str:
    """A warning (``""`` when none) for a photo whose segmenter confidence lies below the lowest the segmenter
    reaches on any face of its own test split (so an in-domain face is almost never flagged)."""
    if reference is None:
        return ""
    if confidence < reference["min"]:
        return (f"far from the models' training domain: the segmenter's mean confidence is {confidence:.3f}, below "
                f"{reference['min']:.3f}, the lowest on any of the {reference['n']} faces of its own test split "
                f"(mean {reference['mean']:.3f}); the mask and the outputs are unreliable")
    return ""
