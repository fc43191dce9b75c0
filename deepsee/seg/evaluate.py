"""Evaluation of the LR-face segmenter: Table 5 (accuracy, mIoU, fwIoU per backbone, measured rows
beside the paper's quoted ones), a per-class IoU table, and a figure like the supplementary's Fig. 2
(LR input, predicted mask, HR image, ground-truth mask, overlay) for random test samples.
"""
from __future__ import annotations

import csv
import json
from importlib import resources
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from ..config import Config, resolve_device
from ..data import build_dataset
from ..labels import FACES, label_set
from ..runs import write_table
from ..viz import colorize, legend_handles, to_uint8_image
from . import train as _train
from .deeplab import BACKBONES, arch_name
from .metrics import ConfusionMeter
from .predict import predict_masks
from .train import ground_truth_config, load_segmenter

# Table 5 of the supplementary (CelebAMask-HQ, 16x16 -> 128x128); used when the packaged
# deepsee/reference/table5_segmentation.csv is absent.
PAPER_TABLE5 = (
    {"backbone": "Xception", "acc": 0.821, "miou": 0.457, "fwiou": 0.714},
    {"backbone": "ResNet", "acc": 0.848, "miou": 0.457, "fwiou": 0.747},
    {"backbone": "DRN", "acc": 0.877, "miou": 0.547, "fwiou": 0.794},
)
COLUMNS = ["backbone", "arch", "acc", "miou", "fwiou", "dataset", "split", "n_images", "lr_size", "mask_size",
           "epochs", "pretrained", "source"]


def evaluate_segmenter(cfg: Config, run_dir: str | Path, split: str = "test", *, batch_size: int = 32) -> dict:
    """Accuracy, mIoU, fwIoU and per-class IoU of a trained segmenter on ``split`` of ``cfg.data``
    (ground-truth masks; the first ``cfg.eval.max_images`` items when that is > 0).

    Returns a dict with ``acc, miou, fwiou`` (see :func:`deepsee.seg.metrics.segmentation_metrics`),
    ``per_class_iou`` (class name -> IoU, nan if absent from both), ``class_share`` (ground-truth
    pixel share per class), the confusion matrix (list of lists) and the segmenter's description
    (backbone, arch, width, epochs, pretrained, sizes, dataset, split, n_images, run_dir).
    """
    ground_truth_config(cfg)
    run_dir = Path(run_dir)
    device = resolve_device(cfg.device)
    model = load_segmenter(run_dir, device=device)
    ds = build_dataset(cfg, split, train=False)
    _train.require_masks(ds, f"evaluate_segmenter ({split})")
    if cfg.eval.max_images > 0 and len(ds) > cfg.eval.max_images:
        ds = torch.utils.data.Subset(ds, range(cfg.eval.max_images))
    labels = model.labels
    meter = ConfusionMeter(num_classes=labels.num_classes)
    loader = torch.utils.data.DataLoader(ds, batch_size=batch_size, num_workers=cfg.data.num_workers)
    for batch in tqdm(loader, desc=f"evaluate segmenter ({split})", unit="batch"):
        image = batch[model.config.seg.input]                  # the LR image, or the HR one for a judge
        pred = predict_masks(model, image, tuple(batch["mask"].shape[-2:]))   # [B, H, W]
        meter.update(pred.cpu(), batch["mask"])
    m = meter.metrics()
    info_path = run_dir / "segmenter.json"
    info = json.loads(info_path.read_text()) if info_path.is_file() else {}
    seg = model.config.seg
    share = (meter.matrix.sum(1).double() / meter.matrix.sum()).tolist()
    return {"backbone": BACKBONES[seg.backbone][1], "arch": arch_name(seg),
            "width": seg.width, "acc": m["acc"], "miou": m["miou"], "fwiou": m["fwiou"],
            "per_class_iou": dict(zip(labels.classes, m["per_class_iou"])),
            "class_share": dict(zip(labels.classes, share)), "labels": labels.name,
            "confusion": meter.matrix.tolist(), "dataset": cfg.data.dataset, "split": split, "n_images": len(ds),
            "lr_size": cfg.data.lr_size, "mask_size": cfg.data.hr_size,
            "epochs": info.get("epochs_done", float("nan")), "pretrained": bool(model.pretrained_source),
            "run_dir": str(run_dir)}


def paper_table5() -> list[dict]:
    """The paper's Table 5 rows (packaged reference CSV if present, else the embedded numbers)."""
    try:
        text = resources.files("deepsee").joinpath("reference/table5_segmentation.csv").read_text()
    except (FileNotFoundError, ModuleNotFoundError, NotADirectoryError):
        return [dict(r) for r in PAPER_TABLE5]
    names = {"resnet": "ResNet", "xception": "Xception", "drn": "DRN"}
    return [{"backbone": names.get(r["backbone"].lower(), r["backbone"]), "acc": float(r["acc"]),
             "miou": float(r["miou"]), "fwiou": float(r["fwiou"])} for r in csv.DictReader(text.splitlines())]


def table5(results: list[dict], dataset: str, profile: str) -> pd.DataFrame:
    """Table 5: one row per measured segmenter (``source="measured"``) and the paper's three rows
    (``source="quoted"``, CelebAMask-HQ 16x16 -> 128x128, 150 epochs)."""
    rows = []
    for r in results:
        rows.append({"backbone": r["backbone"], "arch": r["arch"], "acc": round(r["acc"], 4),
                     "miou": round(r["miou"], 4), "fwiou": round(r["fwiou"], 4), "dataset": r["dataset"],
                     "split": r["split"], "n_images": r["n_images"], "lr_size": f"{r['lr_size']}x{r['lr_size']}",
                     "mask_size": f"{r['mask_size']}x{r['mask_size']}", "epochs": r["epochs"],
                     "pretrained": "yes" if r["pretrained"] else "no", "source": "measured"})
    for q in paper_table5():
        rows.append({"backbone": q["backbone"], "arch": "", "acc": q["acc"], "miou": q["miou"], "fwiou": q["fwiou"],
                     "dataset": "CelebAMask-HQ (paper)", "split": "test", "n_images": 2824, "lr_size": "16x16",
                     "mask_size": "128x128", "epochs": 150, "pretrained": "not stated", "source": "quoted"})
    df = pd.DataFrame(rows, columns=COLUMNS)
    df.attrs.update(dataset=dataset, profile=profile)
    return df


def per_class_table(results: list[dict]) -> pd.DataFrame:
    """Per-class IoU: one row per class, one ``iou_<backbone>`` column per measured segmenter, plus
    the ground-truth pixel share of the first result's split."""
    ls = label_set(results[0].get("labels")) if results else FACES
    df = pd.DataFrame({"class_index": range(ls.num_classes), "class": ls.classes, "label": ls.labels})
    if results:
        df["gt_pixel_share"] = [round(results[0]["class_share"][c], 6) for c in ls.classes]
    for r in results:
        df[f"iou_{r['backbone']}"] = [round(r["per_class_iou"][c], 4) for c in ls.classes]
    return df


def write_table5(results: list[dict], dataset: str, profile: str, out_dir: str | Path = "results",
                 seed: int | None = None) -> tuple[Path, Path]:
    """Write ``table5_segmentation_<dataset>_<profile>.csv`` and
    ``table5_per_class_iou_<dataset>_<profile>.csv`` (with metadata sidecars) to ``out_dir``."""
    out_dir = Path(out_dir)
    runs = [r["run_dir"] for r in results]
    a = write_table(table5(results, dataset, profile), out_dir / f"table5_segmentation_{dataset}_{profile}.csv",
                    profile=profile, seed=seed, segmenter_runs=runs, table="Table 5 (supplementary)")
    b = write_table(per_class_table(results), out_dir / f"table5_per_class_iou_{dataset}_{profile}.csv",
                    profile=profile, seed=seed, segmenter_runs=runs, table="Table 5, per-class IoU")
    return a, b


def figure2(cfg: Config, run_dir: str | Path, n: int = 6, seed: int = 0, split: str = "test"):
    """Fig. 2 of the supplementary: for ``n`` random ``split`` samples, the LR input, the predicted
    mask, the HR image, the ground-truth mask and the prediction overlaid on the HR image, with a
    legend of the classes that appear. Returns the matplotlib Figure."""
    ground_truth_config(cfg)
    model = load_segmenter(run_dir, device=resolve_device(cfg.device))
    ds = build_dataset(cfg, split, train=False)
    _train.require_masks(ds, f"figure2 ({split})")
    if n > len(ds):
        raise ValueError(f"figure2: n={n} samples requested, the {split} split has {len(ds)}")
    idx = np.random.default_rng(seed).choice(len(ds), size=n, replace=False)
    items = [ds[int(i)] for i in idx]
    lr = torch.stack([it["lr"] for it in items])
    pred = predict_masks(model, lr, cfg.data.hr_size)   # [n, H, W]
    cols = [f"LR input ({cfg.data.lr_size}\u00d7{cfg.data.lr_size})", "predicted mask",
            f"HR image ({cfg.data.hr_size}\u00d7{cfg.data.hr_size})", "ground truth", "overlay (prediction on HR)"]
    gt = torch.stack([it["mask"] for it in items])      # [n, H, W]
    present = sorted(set(torch.unique(pred).tolist()) | set(torch.unique(gt).tolist()))
    legend_in = 0.22 * -(-len(present) // 6) + 0.15   # legend height in inches (rows of 8 pt text)
    fig, axes = plt.subplots(n, 5, figsize=(10, 2.2 * n + 0.5 + legend_in), squeeze=False)
    for r, (it, p) in enumerate(zip(items, pred)):
        hr = to_uint8_image(it["hr"])
        pc, gc = colorize(p), colorize(it["mask"])
        acc = float((p == it["mask"]).float().mean())
        overlay = (0.5 * hr + 0.5 * pc).astype(np.uint8)
        panels = [to_uint8_image(it["lr"]), pc, hr, gc, overlay]
        for c, img in enumerate(panels):
            ax = axes[r, c]
            ax.imshow(img, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(cols[c], fontsize=9)
        axes[r, 0].set_ylabel(f"{it['name']}", fontsize=8)
        axes[r, 1].text(0.03, 0.03, f"pixel acc. {acc:.2f}", transform=axes[r, 1].transAxes, fontsize=7,
                        color="white", bbox={"facecolor": "black", "alpha": 0.6, "pad": 1.5, "linewidth": 0})
    fig.legend(handles=legend_handles(present), loc="lower center", ncol=min(6, len(present)),
               fontsize=8, frameon=False, bbox_to_anchor=(0.5, 0.0))
    fig.suptitle(f"Segmentation from {cfg.data.lr_size}\u00d7{cfg.data.lr_size} inputs "
                 f"({arch_name(model.config.seg)}, {cfg.data.dataset} {split})", fontsize=10)
    fig.tight_layout(rect=(0, legend_in / fig.get_figheight(), 1, 0.98))
    return fig
