"""Segmentation metrics of Table 5 (supplementary Section 1.4): pixel accuracy, mean IoU,
frequency-weighted IoU and per-class IoU, all computed from one confusion matrix accumulated over
the whole split (not averaged per image).

The confusion matrix ``C`` is ``[N, N]`` int64 with rows = ground truth, columns = prediction:
``C[g, p]`` counts pixels of true class ``g`` predicted as ``p``.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor


def confusion_matrix(pred: Tensor, target: Tensor, num_classes: int = 19) -> Tensor:
    """Confusion matrix ``[N, N]`` (int64, rows = ground truth) of label maps of equal shape.

    Args:
        pred: predicted labels, int ``[...]`` in ``0..N-1``.
        target: ground-truth labels, int ``[...]`` in ``0..N-1``.
        num_classes: N.
    """
    if pred.shape != target.shape:
        raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} must have the same shape")
    p = pred.reshape(-1).long()
    t = target.reshape(-1).long()
    for name, x in (("pred", p), ("target", t)):
        if x.numel() and (int(x.min()) < 0 or int(x.max()) >= num_classes):
            raise ValueError(f"{name} labels must lie in 0..{num_classes - 1}, got {int(x.min())}..{int(x.max())}")
    idx = t * num_classes + p
    return torch.bincount(idx, minlength=num_classes * num_classes).reshape(num_classes, num_classes).cpu()


class ConfusionMeter:
    """Accumulates a confusion matrix over batches: ``meter.update(pred, target)``; ``meter.metrics()``."""

    def __init__(self, *, num_classes: int = 19):
        self.num_classes = num_classes
        self.matrix = torch.zeros(num_classes, num_classes, dtype=torch.int64)

    def update(self, pred: Tensor, target: Tensor) -> None:
        self.matrix += confusion_matrix(pred, target, self.num_classes)

    def metrics(self) -> dict:
        return segmentation_metrics(self.matrix)


def per_class_iou(confusion: Tensor) -> list[float]:
    """IoU of each class, ``TP / (TP + FP + FN)``; ``nan`` for a class absent from both the
    prediction and the ground truth (its IoU is undefined)."""
    c = confusion.double()
    tp = c.diag()
    union = c.sum(0) + c.sum(1) - tp
    return [float(tp[i] / union[i]) if union[i] > 0 else math.nan for i in range(c.shape[0])]


def segmentation_metrics(confusion: Tensor) -> dict:
    """Table 5's metrics from a confusion matrix ``[N, N]`` (rows = ground truth).

    Returns a dict with
      - ``acc``: pixel accuracy, ``sum(TP) / #pixels``, in [0, 1];
      - ``miou``: mean IoU over the classes present in the ground truth *or* the prediction; classes
        absent from both are excluded (their IoU is undefined), a class predicted but never true
        counts with IoU 0; in [0, 1];
      - ``fwiou``: frequency-weighted IoU, ``sum_c f_c IoU_c`` with ``f_c`` the ground-truth pixel
        frequency of class c (classes absent from the ground truth get weight 0); in [0, 1];
      - ``per_class_iou``: list of N floats, ``nan`` for classes absent from both;
      - ``pixels``: number of pixels counted.
    """
    c = confusion.double()
    if c.ndim != 2 or c.shape[0] != c.shape[1]:
        raise ValueError(f"confusion matrix must be square [N, N], got {tuple(c.shape)}")
    total = float(c.sum())
    if total <= 0:
        raise ValueError("confusion matrix is empty (no pixels counted)")
    ious = per_class_iou(confusion)
    present = [v for v in ious if not math.isnan(v)]
    freq = c.sum(1) / total
    fw = sum(float(freq[i]) * v for i, v in enumerate(ious) if not math.isnan(v))
    return {"acc": float(c.diag().sum()) / total, "miou": sum(present) / len(present), "fwiou": fw,
            "per_class_iou": ious, "pixels": int(total)}
