"""Segmenter losses: class-weighted cross-entropy (the paper's) and the Lovász-softmax loss.

The Lovász-softmax loss (Berman, Rannen Triki & Blaschko, CVPR 2018) is a convex surrogate of the
Jaccard loss ``1 - IoU`` that is optimised directly: for each class ``c`` present in the batch, the
pixel errors ``e_i = |[y_i = c] - p_i(c)|`` are sorted in decreasing order and weighted by the
increments of the Jaccard loss along that order (the gradient of its Lovász extension). For hard
one-hot predictions it *equals* ``1 - IoU_c`` computed over the batch; the loss is the mean over
the classes present in the ground truth of the batch.

It is not part of the paper's recipe. The quick profile adds it to the cross-entropy
(``seg.lovasz_weight``) because Table 5 reports mean IoU, which the cross-entropy only optimises
indirectly: on the 2-core CPU, at equal steps, it lifts the quick segmenter's test mIoU by ~0.07,
mostly on small and rare classes (see :mod:`deepsee.seg.train`). ``seg.lovasz_stride`` evaluates it
on every k-th pixel row and column, which keeps the sorts cheap (stride 2 on 128x128 masks makes a
quick step ~25% slower instead of ~90%, at the same mIoU within the seed spread).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def lovasz_jaccard_grad(fg_sorted: Tensor) -> Tensor:
    """Gradient of the Lovász extension of the Jaccard loss at a sorted error vector.

    Args:
        fg_sorted: float ``[P]``, 1 where the pixel belongs to the class, in the order of
            decreasing error.
    Returns:
        ``[P]`` weights: ``J(k) - J(k-1)`` with ``J(k)`` the Jaccard loss when the first ``k``
        pixels are counted as errors.
    """
    total = fg_sorted.sum()
    inter = total - fg_sorted.cumsum(0)           # true pixels not among the first k
    union = total + (1.0 - fg_sorted).cumsum(0)   # true pixels + false ones among the first k
    jac = 1.0 - inter / union
    return torch.cat([jac[:1], jac[1:] - jac[:-1]])


def lovasz_softmax(logits: Tensor, target: Tensor, *, stride: int = 1, ignore_index: int | None = None) -> Tensor:
    """Lovász-softmax loss of logits ``[B, N, H, W]`` against labels ``[B, H, W]``.

    Args:
        logits: class scores (softmax is applied here).
        target: int labels in ``0..N-1`` (and ``ignore_index``, if given).
        stride: use every ``stride``-th row and column only (1 = all pixels).
        ignore_index: label of pixels to leave out.
    Returns:
        Scalar: mean over the classes present in ``target`` of the Lovász extension of
        ``1 - IoU_c``; 0 (with a gradient path) when no pixel is left.
    """
    if logits.ndim != 4 or target.shape != (logits.shape[0], *logits.shape[2:]):
        raise ValueError(f"lovasz_softmax: logits [B, N, H, W] and target [B, H, W] expected, got "
                         f"{tuple(logits.shape)} and {tuple(target.shape)}")
    if stride < 1:
        raise ValueError(f"lovasz_softmax: stride must be >= 1, got {stride}")
    if stride > 1:
        logits, target = logits[:, :, ::stride, ::stride], target[:, ::stride, ::stride]
    n = logits.shape[1]
    prob = F.softmax(logits.float(), dim=1).permute(0, 2, 3, 1).reshape(-1, n)   # [P, N]
    labels = target.reshape(-1)
    if ignore_index is not None:
        keep = labels != ignore_index
        prob, labels = prob[keep], labels[keep]
    if labels.numel() == 0:
        return logits.sum() * 0.0
    losses = []
    for c in torch.unique(labels).tolist():
        fg = (labels == c).float()
        errors = (fg - prob[:, c]).abs()
        errors_sorted, order = torch.sort(errors, descending=True)
        losses.append(torch.dot(errors_sorted, lovasz_jaccard_grad(fg[order])))
    return torch.stack(losses).mean()


def segmenter_loss(logits: Tensor, target: Tensor, weights: Tensor | None, *, lovasz_weight: float = 0.0,
                   lovasz_stride: int = 1) -> Tensor:
    """Training loss of the segmenter: class-weighted cross-entropy, plus ``lovasz_weight`` times the
    Lovász-softmax loss when that is > 0."""
    loss = F.cross_entropy(logits, target, weight=weights)
    if lovasz_weight > 0:
        loss = loss + lovasz_weight * lovasz_softmax(logits, target, stride=lovasz_stride)
    return loss
