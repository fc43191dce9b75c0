"""Mask control, measured (issue 31; the paper shows it only in pictures, Figs. 8, 9, 16).

A *judge* segmenter reads HR images (``seg.input: hr``, the kit's DeepLab; trained like the LR segmenter,
``deepsee train-seg --set seg.input=hr``). Three numbers follow from it:

- its **ceiling**: mIoU(judge(ground truth HR), ground-truth mask), what the judge can tell at all;
- **mask fidelity** of an SR model: mIoU(judge(output), the mask the model was given);
- **edit IoU** of each mask edit: the IoU, within the classes the edit changed, between judge(edited output)
  and the edited mask, accumulated over the faces the edit applies to; and the share of the pixels the edit
  changed whose judged label is the edited one.

The confusion matrices are accumulated over all faces (:class:`deepsee.seg.metrics.ConfusionMeter`), so a class
that is small in one face is not over-weighted.
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from ..explore import edits
from ..labels import of
from ..paper.rows import engine_for, predicted_style
from ..seg.metrics import ConfusionMeter, per_class_iou
from ..seg.predict import predict_masks


# The mask edits that Figs. 8, 9 and 16 make (notebook 42's defaults, pixels of the output size): name -> edit.
FIGURE_EDITS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "close eyes (Fig. 8)": lambda m: edits.close_eyes(m),
    "open mouth 3 px (Fig. 8)": lambda m: edits.open_mouth(m, 3),
    "remove glasses (Figs. 8, 9)": lambda m: edits.remove(m, "eye_g"),
    "add hair 6 px (Fig. 8)": lambda m: edits.add_hair(m, 6),
    "add hair 12 px (Fig. 8)": lambda m: edits.add_hair(m, 12),
    "mouth -> lips (Fig. 9)": lambda m: edits.relabel(m, "mouth", "u_lip"),
    "brows -> skin (Fig. 9)": lambda m: edits.remove(m, ["l_brow", "r_brow"], "skin"),
    "hair -> skin (Fig. 9)": lambda m: edits.relabel(m, "hair", "skin"),
    "open mouth 5 px (Fig. 16)": lambda m: edits.open_mouth(m, 5),
}


def _judge(judge, images: torch.Tensor, size) -> torch.Tensor:
    """The judge's labels ``[B, *size]`` of ``images``; images of another size than the judge was trained on
    (its ``config.data.hr_size``, e.g. a 32x model's 256 px outputs for a 128 px judge) are resized to it first
    (bilinear, antialiased), so the judge sees faces at its own scale."""
    cfg = getattr(judge, "config", None)
    side = getattr(getattr(cfg, "data", None), "hr_size", 0)
    if side and tuple(images.shape[-2:]) != (side, side):
        images = torch.nn.functional.interpolate(images.float(), size=(side, side), mode="bilinear",
                                                 align_corners=False, antialias=True).clamp(-1, 1)
    return predict_masks(judge, images, size).cpu()                      # [B, H, W]


@torch.no_grad()
def judge_miou(judge, images: Sequence[torch.Tensor], masks: Sequence[torch.Tensor]) -> float:
    """mIoU between the judge's masks of ``images`` (``[3, H, W]`` each, in [-1, 1]) and ``masks`` (``[H, W]``),
    one confusion matrix over all of them."""
    meter = ConfusionMeter(num_classes=of(judge).num_classes)
    for img, m in zip(images, masks):
        meter.update(_judge(judge, img[None], tuple(m.shape[-2:])), m[None].cpu())
    return float(meter.metrics()["miou"])


def changed_classes(before: torch.Tensor, after: torch.Tensor) -> list[int]:
    """The classes whose pixels an edit changed (gained or lost)."""
    diff = before != after
    return sorted({int(c) for c in torch.cat([before[diff], after[diff]]).unique()})


@torch.no_grad()
def edit_scores(judge, outputs: Sequence[torch.Tensor], before: Sequence[torch.Tensor],
                after: Sequence[torch.Tensor]) -> dict:
    """One edit over several faces: ``outputs`` (the model's images for the edited masks ``after``; ``before``: the
    masks before the edit). Returns ``edit_iou`` (mean over the changed classes of their IoU between the judged
    and the edited masks, accumulated over the faces), ``changed_pixel_acc`` (the share of the changed pixels
    judged as their edited label), ``classes`` (names) and ``faces``."""
    ls = of(judge)
    meter = ConfusionMeter(num_classes=ls.num_classes)
    classes: set[int] = set()
    hit = total = 0
    for out, b, a in zip(outputs, before, after):
        pred = _judge(judge, out[None], tuple(a.shape[-2:]))[0]
        meter.update(pred[None], a[None].cpu())
        classes |= set(changed_classes(b.cpu(), a.cpu()))
        diff = b.cpu() != a.cpu()
        hit += int((pred[diff] == a.cpu()[diff]).sum())
        total += int(diff.sum())
    ious = per_class_iou(meter.matrix)
    vals = [ious[c] for c in sorted(classes) if not np.isnan(ious[c])]
    return {"edit_iou": float(np.mean(vals)) if vals else float("nan"),
            "changed_pixel_acc": hit / total if total else float("nan"),
            "classes": [ls.classes[c] for c in sorted(classes)], "faces": len(outputs)}


@torch.no_grad()
def mask_control_table(judge, models: Mapping[str, object], items: Sequence[dict],
                       edits: Mapping[str, Callable[[torch.Tensor], torch.Tensor]], *, device="cpu",
                       min_faces: int = 20) -> pd.DataFrame:
    """The mask-control table: the judge's ceiling on the ground truth of ``items``, each model's mask fidelity
    (its outputs for the items' masks, with its test-time style) and, per model and edit (``{name: mask ->
    edited mask}``), the edit scores over the items the edit changes (an edit that leaves a face's mask as it
    was does not apply there). ``fidelity_ratio`` = fidelity / ceiling; an edit with fewer than ``min_faces``
    faces says so in ``note``."""
    ceiling = judge_miou(judge, [it["hr"] for it in items], [it["mask"] for it in items])
    rows = [{"model": "ground truth", "measure": "judge ceiling: mIoU on the ground-truth images", "value": ceiling,
             "faces": len(items)}]
    for name, model in models.items():
        outs, edited = [], {e: ([], [], []) for e in edits}
        for it in items:
            eng, style = engine_for(model, it, device), predicted_style(model, it, device)[None]
            outs.append(eng.generate(style, progress=False)[0].cpu())
            for e, fn in edits.items():
                after = fn(it["mask"])
                if torch.equal(after, it["mask"]):
                    continue
                eng.set_mask(after.to(device))
                o, b, a = edited[e]
                o.append(eng.generate(style, progress=False)[0].cpu())
                b.append(it["mask"])
                a.append(after)
                eng.set_mask(it["mask"].to(device))
        fid = judge_miou(judge, outs, [it["mask"] for it in items])
        rows.append({"model": name, "measure": "mask fidelity: mIoU(judge(output), input mask)", "value": fid,
                     "faces": len(items), "fidelity_ratio": fid / ceiling if ceiling > 0 else float("nan")})
        for e, (o, b, a) in edited.items():
            sc = edit_scores(judge, o, b, a) if o else {"edit_iou": float("nan"), "changed_pixel_acc": float("nan"),
                                                        "classes": [], "faces": 0}
            note = f"only {sc['faces']} faces (< {min_faces})" if sc["faces"] < min_faces else ""
            rows.append({"model": name, "measure": f"edit IoU: {e}", "value": sc["edit_iou"], "faces": sc["faces"],
                         "changed_pixel_acc": sc["changed_pixel_acc"], "classes": " ".join(sc["classes"]),
                         "note": note})
    return pd.DataFrame(rows)
