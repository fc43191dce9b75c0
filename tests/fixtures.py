"""Tiny datasets written in the real on-disk layouts, with known answers, for tests.

Every writer takes the folder to write into and returns it (or a dict of expected values). Images
are small; JPEG files are written at quality 95 like the real data, so compare their pixels with a
tolerance or use flat colour regions.

- :func:`write_celebamaskhq`: the CelebAMask-HQ layout from explicit part masks.
- :func:`tiny_celebamaskhq`: a 10-image CelebAMask-HQ with overlapping parts, a permuted mapping,
  splits 5/2/3 and identities including a singleton.
- :func:`write_celeba`: the aligned CelebA layout (178x218 images marked so the centre crop is visible).
- :func:`write_image_folder`: a plain image folder, optionally with label masks and identities.
- :func:`write_label_pngs`: label PNGs ``<stem>.png`` (a ``data.mask_dir``).
- :func:`smoke_config`: the smoke profile with ``data.root`` (and more overrides) set.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from deepsee.config import Config, load_config
from deepsee.data import render_face

PARTS = ("skin", "nose", "eye_g", "l_eye", "r_eye", "l_brow", "r_brow", "l_ear", "r_ear", "mouth",
         "u_lip", "l_lip", "hair", "hat", "ear_r", "neck_l", "neck", "cloth")


def _write_image(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(rgb, np.uint8)).save(path, quality=95)


def write_celebamaskhq(root: str | Path, parts: Sequence[Mapping[str, np.ndarray]], *,
                       partition: Sequence[int], identities: Sequence[int] | None = None,
                       orig_idx: Sequence[int] | None = None, images: Sequence[np.ndarray] | None = None,
                       image_size: int | None = None) -> Path:
    """Write images ``0..n-1`` in the CelebAMask-HQ layout.

    Args:
        parts:      per image, ``{part name: bool [m, m]}`` (written as 0/255 PNGs under
                    ``CelebAMask-HQ-mask-anno/<idx // 2000>/<idx:05d>_<part>.png``).
        partition:  per image, its CelebA split code (0 train, 1 val, 2 test).
        identities: per image, its person id (None: no identity_CelebA.txt).
        orig_idx:   per image, its CelebA index (default: reversed order, so the mapping matters);
                    the CelebA file is ``f"{orig_idx + 1:06d}.jpg"``.
        images:     per image, uint8 RGB (default: flat grey images twice the mask size).
        image_size: side of the default images (default: twice the mask side).
    """
    root = Path(root)
    n = len(parts)
    orig = list(range(n))[::-1] if orig_idx is None else list(orig_idx)
    files = [f"{o + 1:06d}.jpg" for o in orig]
    for idx, pm in enumerate(parts):
        m = next(iter(pm.values())).shape[0]
        size = image_size or 2 * m
        img = images[idx] if images is not None else np.full((size, size, 3), 40 + 20 * idx, np.uint8)
        _write_image(root / "CelebA-HQ-img" / f"{idx}.jpg", img)
        folder = root / "CelebAMask-HQ-mask-anno" / str(idx // 2000)
        folder.mkdir(parents=True, exist_ok=True)
        for name, mask in pm.items():
            Image.fromarray((np.asarray(mask) > 0).astype(np.uint8) * 255).save(folder / f"{idx:05d}_{name}.png")
    lines = ["idx         orig_idx    orig_file"] + [f"{i:<12d}{o:<12d}{f}" for i, (o, f) in enumerate(zip(orig, files))]
    (root / "CelebA-HQ-to-CelebA-mapping.txt").write_text("\n".join(lines) + "\n")
    # CelebA's files list every image in CelebA order
    order = sorted(range(n), key=lambda i: orig[i])
    (root / "list_eval_partition.txt").write_text("".join(f"{files[i]} {partition[i]}\n" for i in order))
    if identities is not None:
        (root / "identity_CelebA.txt").write_text("".join(f"{files[i]} {identities[i]}\n" for i in order))
    return root


def tiny_celebamaskhq(root: str | Path, mask_size: int = 16) -> dict:
    """A 10-image CelebAMask-HQ with known answers. Returns ``root``, ``labels`` (the merged label map
    of each image at ``mask_size``), ``splits`` ({split: sorted names}) and ``identity`` ({name: id}).

    Every image has skin (a centred square), nose inside the skin, hair over the skin's top rows,
    cloth over the bottom of the neck; image ``i`` also has l_eye at pixel column ``i``.
    """
    m = mask_size
    parts, labels = [], []
    for i in range(10):
        skin = np.zeros((m, m), bool); skin[2:m - 2, 2:m - 2] = True
        nose = np.zeros((m, m), bool); nose[6:9, 6:9] = True                # inside skin: nose wins
        hair = np.zeros((m, m), bool); hair[0:4, :] = True                  # over skin rows 2-3: hair wins
        neck = np.zeros((m, m), bool); neck[m - 4:, 4:m - 4] = True
        cloth = np.zeros((m, m), bool); cloth[m - 2:, :] = True             # over the neck: cloth wins
        eye = np.zeros((m, m), bool); eye[5, min(i, m - 1)] = True
        pm = {"skin": skin, "nose": nose, "hair": hair, "neck": neck, "cloth": cloth, "l_eye": eye}
        lab = np.zeros((m, m), np.uint8)
        for k, name in enumerate(PARTS, start=1):     # the merge rule, written out
            if name in pm:
                lab[pm[name]] = k
        parts.append(pm)
        labels.append(lab)
    partition = [0, 1, 0, 2, 0, 0, 2, 1, 2, 0]          # train 5, val 2, test 3
    identities = [7, 7, 3, 9, 3, 7, 9, 4, 5, 1]          # test: 9 twice, 5 alone
    write_celebamaskhq(root, parts, partition=partition, identities=identities)
    splits = {s: sorted(str(i) for i in range(10) if partition[i] == c) for s, c in
              (("train", 0), ("val", 1), ("test", 2))}
    return {"root": Path(root), "labels": labels, "splits": splits,
            "identity": {str(i): identities[i] for i in range(10)}}


def write_celeba(root: str | Path, partition: Sequence[int], identities: Sequence[int] | None = None,
                 size: tuple[int, int] = (178, 218)) -> Path:
    """Aligned CelebA: ``img_align_celeba/<000001>.jpg`` (``size`` = width, height) plus the partition
    and identity files. Each image is green inside its centred square crop, red above and blue below it,
    so a correct crop contains only green."""
    root = Path(root)
    w, h = size
    top = (h - w) // 2
    img = np.zeros((h, w, 3), np.uint8)
    img[:, :] = (0, 200, 0)
    img[:top] = (220, 0, 0)
    img[top + w:] = (0, 0, 220)
    files = [f"{i + 1:06d}.jpg" for i in range(len(partition))]
    for f in files:
        _write_image(root / "img_align_celeba" / f, img)
    (root / "list_eval_partition.txt").write_text("".join(f"{f} {s}\n" for f, s in zip(files, partition)))
    if identities is not None:
        (root / "identity_CelebA.txt").write_text("".join(f"{f} {i}\n" for f, i in zip(files, identities)))
    return root


def write_label_pngs(folder: str | Path, labels: Mapping[str, np.ndarray]) -> Path:
    """Label PNGs ``<folder>/<stem>.png`` (mode L, class indices) from ``{stem: uint8 [H, W]}``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for stem, lab in labels.items():
        Image.fromarray(np.asarray(lab, np.uint8)).save(folder / f"{stem}.png")
    return folder


def write_image_folder(root: str | Path, n: int = 4, size: int = 24, *, masks: bool = False,
                       identities: Sequence[int] | None = None, ext: str = ".png") -> Path:
    """``n`` images ``img<k><ext>`` (flat colours), with ``masks/<stem>.png`` labels ``k`` when
    ``masks`` and ``identities.txt`` when ``identities`` is given."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for k in range(n):
        _write_image(root / f"img{k}{ext}", np.full((size, size, 3), 30 * k, np.uint8))
    if masks:
        write_label_pngs(root / "masks", {f"img{k}": np.full((size, size), k % 19, np.uint8) for k in range(n)})
    if identities is not None:
        (root / "identities.txt").write_text("".join(f"img{k}{ext} {i}\n" for k, i in enumerate(identities)))
    return root


def smoke_config(root: str | Path, *overrides: str, dataset: str | None = None) -> Config:
    """The smoke profile reading (or, for SynthFaces, writing) its data at ``root``."""
    extra = [f"data.root={root}"] + ([f"data.dataset={dataset}"] if dataset else [])
    return load_config("smoke", extra + list(overrides))


class RenderedFaces(torch.utils.data.Dataset):
    """SynthFaces renders at the smoke sizes (64 px HR, 8 px LR), in the data layer's item format."""

    def __init__(self, n: int, offset: int = 0):
        self.items = []
        for i in range(n):
            rgb, labels = render_face(0, offset + i, offset + i, 64)
            hr = torch.from_numpy(rgb.copy()).permute(2, 0, 1).float() / 127.5 - 1
            mask = F.interpolate(torch.from_numpy(labels.astype(np.int64))[None, None].float(), size=(64, 64),
                                 mode="nearest")[0, 0].long()
            lr = F.interpolate(hr[None], size=(8, 8), mode="bicubic", align_corners=False).clamp(-1, 1)[0]
            self.items.append({"hr": hr, "lr": lr, "mask": mask, "identity": i, "name": f"face{offset + i:03d}"})

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def smoke_segmenter(cfg: Config) -> Path:
    """A smoke-profile segmenter run (``cfg.seg`` steps) trained on a few :class:`RenderedFaces`
    (``data.dataset=renderedfaces``, registered for the training: ``deepsee.data.register_dataset``)."""
    from deepsee.data import register_dataset
    from deepsee.seg import train_segmenter
    sets = {"train": RenderedFaces(4), "val": RenderedFaces(2, 10), "test": RenderedFaces(2, 20)}
    register_dataset("renderedfaces", lambda c, split, **kw: sets[split])
    try:
        return train_segmenter(dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, dataset="renderedfaces")))
    finally:
        register_dataset("renderedfaces", None)


def randomize(model, seed=0):
    """Weights that keep activations O(1) and make every branch matter (fresh init is nearly constant)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "alpha" in name:
                p.copy_(torch.randn(p.shape, generator=g))
            elif p.ndim >= 2:
                p.copy_(torch.randn(p.shape, generator=g) / p[0].numel() ** 0.5)
            else:
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
        for mod in model.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.copy_(torch.randn(mod.running_mean.shape, generator=g) * 0.2)
                mod.running_var.copy_(torch.rand(mod.running_var.shape, generator=g) + 0.5)
            if hasattr(mod, "weight_orig"):   # spectral norm: converge u, v for the new weights
                mat = mod.weight_orig.reshape(mod.weight_orig.shape[0], -1)
                for _ in range(30):
                    mod.weight_v.copy_(torch.nn.functional.normalize(mat.t() @ mod.weight_u, dim=0))
                    mod.weight_u.copy_(torch.nn.functional.normalize(mat @ mod.weight_v, dim=0))
    return model.eval()


def model(profile="smoke", **overrides):
    from deepsee.config import load_config
    from deepsee.models import DeepSEE
    cfg = load_config(profile, [f"model.{k}={v}" for k, v in overrides.items()]).model
    torch.manual_seed(0)
    return randomize(DeepSEE(cfg)), cfg


def face(H, seed=0):
    """A label map with regions (so that the mask tables compress) plus a few random pixels."""
    g = torch.Generator().manual_seed(seed)
    m = torch.zeros(1, H, H, dtype=torch.long)
    m[:, H // 8:, H // 5:4 * H // 5] = 13
    m[:, H // 4:7 * H // 8, H // 4:3 * H // 4] = 1
    m[:, H // 2:H // 2 + 2, H // 3:2 * H // 3] = 11
    m[:, 3 * H // 8, H // 3:H // 3 + 3] = 4
    noise = torch.randint(0, 19, (1, H, H), generator=g)
    keep = torch.rand(1, H, H, generator=g) < 0.05
    return torch.where(keep, noise, m)


class TinyFaces(torch.utils.data.Dataset):
    """``build_dataset`` stand-in: random HR images, blocky masks, random flip, guide = neighbour."""

    SIZES = {"train": 32, "val": 8, "test": 8}

    def __init__(self, cfg, split, *, train=None, guided=False, progress=True):
        n = self.SIZES[split]
        hr = cfg.data.hr_size
        g = torch.Generator().manual_seed(list(self.SIZES).index(split))
        self.hr = torch.rand(n, 3, hr, hr, generator=g) * 2 - 1
        blocks = torch.randint(0, 19, (n, hr // 8, hr // 8), generator=g)
        self.mask = blocks.repeat_interleave(8, 1).repeat_interleave(8, 2)
        self.lr_size, self.train, self.guided = cfg.data.lr_size, bool(train), guided

    def __len__(self):
        return len(self.hr)

    def _item(self, i):
        hr, mask = self.hr[i], self.mask[i]
        if self.train and torch.rand(()) < 0.5:
            hr, mask = hr.flip(-1), mask.flip(-1)
        lr = F.interpolate(hr[None], size=self.lr_size, mode="bicubic", align_corners=False).clamp(-1, 1)[0]
        return hr, lr, mask

    def __getitem__(self, i):
        hr, lr, mask = self._item(i)
        out = {"hr": hr, "lr": lr, "mask": mask, "identity": i // 2, "name": f"{i:04d}"}
        if self.guided:
            ghr, glr, gmask = self._item(i ^ 1)
            out.update(guide_hr=ghr, guide_mask=gmask, guide_lr=glr, guide_name=f"{i ^ 1:04d}")
        return out


def standin_alexnet(path: Path, full: bool) -> dict:
    """Seeded torchvision AlexNet weights saved at ``path`` (where torchvision looks), in place of the real
    download; returns the state dict. ``full=False``: the conv trunk only (what LPIPS reads)."""
    import torchvision
    torch.manual_seed(0)
    sd = torchvision.models.alexnet(weights=None).state_dict()
    if not full:
        sd = {k: v for k, v in sd.items() if k.startswith("features.")}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(sd, path)
    return sd


def accept_weights(monkeypatch, name: str, path: Path) -> None:
    """Let the weights registry accept the stand-in file at ``path`` for ``name`` (its checksum prefix)."""
    import dataclasses

    from deepsee import weights
    digest = weights.sha256_file(path)
    monkeypatch.setitem(weights.REGISTRY, name, dataclasses.replace(weights.REGISTRY[name], sha256=digest[:8]))
