"""``deepsee explore``: a trained (or imported) model on one's own face images, no Python needed.

For every image of a folder (read by :func:`deepsee.data.photos.load_photo`: EXIF orientation, grayscale
/ RGBA conversion, centre crop of non-square images, each logged) it writes ``<out>/<stem>/``:

    mask.png            the segmenter's mask predicted from the LR input: a palette PNG whose pixel values
                        are the class labels 0..18 and whose colours are the kit's palette
                        (``deepsee.viz.palette``), so it is both a label map and a picture
    lr.png              the LR input the model saw (the model's LR size)
    input_hr.png        with ``--downsample``: the image at the model's HR size, from which the LR was made
    output.png          the model's output with the style predicted from the LR input (or, with
                        ``--guide``, encoded from the guide image)
    samples/sample_<i>.png   K solutions around that style (``ExplorationEngine.sample``): sample i is
                        ``sample_styles(style, K, noise="gaussian", scale, seed)[i]``, so the same seed gives
                        the same samples on every run and device (the notebooks' seeding)
    styles.safetensors  ``style`` [19, d] (the output's style) and ``samples`` [K, 19, d]
    contact_sheet.png   the LR input, mask, output (and HR input / guide) above the K samples

and ``<out>/summary.json``: the settings, what each image went through, the files written and, per image,
the LR-PSNR of the output and of the samples (:func:`deepsee.metrics.consistency.lr_psnr`: how well each
answer, downscaled, gives back the LR input). With ``--consistent`` the output and every sample are projected
onto the images consistent with the LR input (:func:`deepsee.data.degradation.project_consistent`), so only
what the downscaling discards is explored.

Inputs: without ``--downsample`` the images are the low-resolution inputs themselves; one whose side
differs from the model's LR size is resized to it (bicubic, antialiased; logged). With ``--downsample``
they are high-resolution faces, made LR as the datasets are (bicubic to the model's HR size, then the
released bicubic downsampling), so the output can be compared with the original.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image, ImageDraw
from safetensors.torch import save_file
from tqdm.auto import tqdm

from ..config import load_config, resolve_device
from ..data import lr_from_hr
from ..data.common import to_tensor_image
from ..data.degradation import project_consistent
from ..data.photos import list_photos, load_photo, resize_square, stderr_log
from ..explore.engine import ExplorationEngine
from ..explore.walks import sample_styles
from ..labels import label_set as _label_set
from ..metrics.consistency import capped_lr_psnr, lr_psnr, summarize_lr_psnr
from ..models.deepsee import DeepSEE
from ..runs import atomic_path, metadata, model_folder, write_json
from ..seg import load_segmenter, predict_masks
from ..seg.domain import domain_check, masks_and_confidence, model_domain, read_confidence_reference
from ..showcase import shipped
from ..viz import colorize, to_uint8_image

NOISE = "gaussian"


def default_scale(model: str | Path) -> tuple[float, str]:
    """The sampling scale ``deepsee explore`` uses without ``--scale``: the model's training profile's
    ``eval.oracle_scale`` when ``model`` is a run folder with its ``config.yaml`` (0.3 for the quick
    profile, 0.1 for the paper's), else 0.1. Returns the scale and where it came from."""
    cfg_path = Path(model) / "config.yaml"
    if cfg_path.is_file():
        cfg = load_config(str(cfg_path))
        return float(cfg.eval.oracle_scale), f"eval.oracle_scale of {cfg_path.name} (profile {cfg.profile})"
    return 0.1, "default (no run config.yaml beside the model)"


def write_mask_png(path: Path, labels: torch.Tensor | np.ndarray, label_set=None) -> None:
    """Label map ``[H, W]`` (0..N-1) -> palette PNG: pixel values = labels, colours = the palette of ``label_set``
    (the model's; faces by default)."""
    m = labels.cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    im = Image.fromarray(m.astype(np.uint8), mode="P")
    flat = [v for rgb in _label_set(label_set).palette for v in rgb]
    im.putpalette(flat + [0] * (768 - len(flat)))
    with atomic_path(path) as tmp:
        im.save(tmp, format="PNG")


def _save_png(path: Path, arr: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        Image.fromarray(arr).save(tmp, format="PNG")


def contact_sheet(top: list[tuple[str, np.ndarray]], samples: list[np.ndarray], title: str,
                  tile: int, cols: int = 8) -> Image.Image:
    """A white sheet: a title line, the ``top`` panels (label, uint8 image) in one row, then the samples
    ``cols`` per row, each panel ``tile`` px square (nearest for smaller images) with its label above."""
    label_h, pad = 14, 6
    cols = max(cols, len(top))
    rows = 1 + (len(samples) + cols - 1) // cols
    width = pad + cols * (tile + pad)
    height = label_h + pad + rows * (tile + label_h + pad)
    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    draw.text((pad, 2), title, fill=(0, 0, 0))
    panels = [(0, i, lab, img) for i, (lab, img) in enumerate(top)]
    panels += [(1 + i // cols, i % cols, f"sample {i}", img) for i, img in enumerate(samples)]
    for r, c, lab, img in panels:
        x = pad + c * (tile + pad)
        y = label_h + pad + r * (tile + label_h + pad)
        draw.text((x, y), lab, fill=(0, 0, 0))
        im = Image.fromarray(img)
        if im.size != (tile, tile):
            im = im.resize((tile, tile), Image.NEAREST if im.width < tile else Image.BICUBIC)
        sheet.paste(im, (x, y + label_h))
    return sheet


def explore_images(model: str | Path, segmenter: str | Path, images: str | Path, out: str | Path, *,
                   samples: int = 16, seed: int = 0, scale: float | None = None, downsample: bool = False,
                   guide: str | Path | None = None, device: str | torch.device = "cpu", progress: bool = True,
                   consistent: bool = False, log: Callable[[str], None] | None = None) -> dict:
    """Run ``deepsee explore`` (see the module docstring); returns the summary written to
    ``<out>/summary.json``. ``log`` receives every note (default: stderr)."""
    log = stderr_log if log is None else log
    scale, scale_source = (float(scale), "--scale") if scale is not None else default_scale(model)
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 0:
        raise ValueError(f"--samples must be a non-negative integer, got {samples!r}")
    if not scale >= 0:
        raise ValueError(f"--scale must be non-negative, got {scale!r}")
    device = torch.device(device)
    files = list_photos(images)
    net = DeepSEE.load(model_folder(model), map_location=device)
    lr_size, hr_size = net.cfg.lr_size, net.cfg.hr_size
    seg = load_segmenter(segmenter, device=device)
    general: list[str] = []
    domains = {"model": model_domain(model), "segmenter": model_domain(segmenter)}
    reference = read_confidence_reference(segmenter)
    log(f"explore: the model was trained on {domains['model']['summary']}")
    if reference is None:
        general.append(f"the segmenter records no confidence on its test split ({segmenter}/confidence.json): "
                       "photos far from its training domain cannot be recognised")
    seg_cfg = getattr(seg, "config", None)
    labels = net.labels
    if getattr(seg, "labels", labels).name != labels.name:
        raise ValueError(f"the segmenter {segmenter} predicts the label set {seg.labels.describe()}, the model {model} "
                         f"takes {labels.describe()}: pass a segmenter of the model's label set (--segmenter)")
    if seg_cfg is not None and seg_cfg.data.lr_size != lr_size:
        general.append(f"the segmenter was trained on {seg_cfg.data.lr_size} px LR images, the model takes "
                       f"{lr_size} px: its masks may be poorer")
    sources = net.style_sources
    uses_style = net.generator.uses_style
    if guide is not None and "hr" not in sources:
        raise ValueError(f"--guide: the {net.cfg.variant} model has no HR style encoder (style sources: "
                         f"{', '.join(sources) or 'none'}); leave --guide out")
    if guide is None and sources and "lr" not in sources:
        raise ValueError(f"the {net.cfg.variant} model takes its style from an HR image of the same person: "
                         "pass --guide IMAGE")
    if not uses_style:
        general.append(f"the {net.cfg.variant} model has no style branch: every style gives the same image, "
                       "so no samples are drawn")

    def lr_of(rgb: np.ndarray) -> torch.Tensor:                  # the dataset operator, HR size first
        return lr_from_hr(to_tensor_image(resize_square(rgb, hr_size))[None], lr_size, antialias=False)

    guide_style = guide_panel = None
    if guide is not None:
        g = load_photo(guide, log=log)
        ghr = to_tensor_image(resize_square(g.rgb, hr_size))[None].to(device)
        gmask = predict_masks(seg, lr_of(g.rgb).to(device), hr_size)
        guide_style = net.encode_style(ghr, gmask, "hr")         # [1, 19, d]
        guide_panel = to_uint8_image(ghr[0])
    style_source = "none" if not uses_style else ("guide (HR encoder)" if guide is not None else "lr")
    for n in general:
        log(f"explore: {n}")

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    k = samples if uses_style else 0
    entries = []
    for path in tqdm(files, desc="explore", unit="img", disable=not progress):
        photo = load_photo(path, log=log)
        notes = list(photo.notes)
        hr_rgb = None
        if downsample:
            hr_rgb = resize_square(photo.rgb, hr_size)
            if photo.rgb.shape[0] != hr_size:
                notes.append(f"--downsample: resized from {photo.rgb.shape[0]} px to the model's HR size "
                             f"{hr_size} px (bicubic), then made LR ({lr_size} px) like the datasets")
            lr = lr_from_hr(to_tensor_image(hr_rgb)[None], lr_size, antialias=False)
        else:
            side = photo.rgb.shape[0]
            if side != lr_size:
                note = (f"{side}x{side} resized to the model's LR size {lr_size}x{lr_size} (bicubic); "
                        "pass --downsample if the images are high-resolution images to be made LR like the "
                        "training data")
                notes.append(note)
                log(f"{path.name}: {note}")
            lr = to_tensor_image(resize_square(photo.rgb, lr_size))[None]
        lr = lr.to(device)
        mask, conf = masks_and_confidence(seg, lr, hr_size)      # [1, H, W], [1]
        confidence = float(conf[0])
        warning = domain_check(confidence, reference)
        if warning:
            notes.append(warning)
            log(f"{path.name}: WARNING {warning}")
        style = guide_style if guide is not None else (net.encode_style(lr, mask, "lr") if uses_style else None)
        output = net(lr, mask, style).clamp(-1, 1)
        if consistent:
            output = project_consistent(output, lr)
        output = output[0]
        if k:
            eng = ExplorationEngine(net, lr, mask[0], style=style, consistent=consistent)
            imgs = eng.sample(k, noise=NOISE, scale=scale, seed=seed, progress=False)
            styles = sample_styles(style, k, noise=NOISE, scale=scale, seed=seed)
        else:
            imgs, styles = torch.empty(0, 3, hr_size, hr_size), None

        d = out / path.stem
        (d / "samples").mkdir(parents=True, exist_ok=True)
        files_written = {"mask": "mask.png", "lr": "lr.png", "output": "output.png"}
        write_mask_png(d / "mask.png", mask[0], labels)
        _save_png(d / "lr.png", to_uint8_image(lr[0]))
        _save_png(d / "output.png", to_uint8_image(output))
        if hr_rgb is not None:
            _save_png(d / "input_hr.png", hr_rgb)
            files_written["input_hr"] = "input_hr.png"
        sample_names = []
        for i, img in enumerate(imgs):
            name = f"samples/sample_{i:03d}.png"
            _save_png(d / name, to_uint8_image(img))
            sample_names.append(name)
        files_written["samples"] = sample_names
        if style is not None:
            tensors = {"style": style[0].detach().cpu().contiguous()}
            if styles is not None:
                tensors["samples"] = styles.detach().cpu().contiguous()
            with atomic_path(d / "styles.safetensors") as tmp:
                save_file(tensors, str(tmp), metadata={"noise": NOISE, "scale": str(scale), "seed": str(seed),
                                                       "style_source": style_source})
            files_written["styles"] = "styles.safetensors"
        top = [(f"LR input {lr_size}px", to_uint8_image(lr[0])), ("predicted mask", colorize(mask[0], labels)),
               ("output", to_uint8_image(output))]
        if hr_rgb is not None:
            top.append(("HR input", hr_rgb))
        if guide_panel is not None:
            top.append(("guide", guide_panel))
        title = (f"{path.name}: {net.cfg.variant} {net.cfg.factor}x, output with the "
                 f"{'guide' if guide is not None else 'LR-predicted'} style; {k} samples "
                 f"({NOISE} noise, scale {scale}, seed {seed})"
                 + ("; all projected onto the images consistent with the LR input" if consistent else ""))
        sheet = contact_sheet(top, [to_uint8_image(x) for x in imgs], title, tile=min(max(hr_size, 112), 256))
        with atomic_path(d / "contact_sheet.png") as tmp:
            sheet.save(tmp, format="PNG")
        files_written["contact_sheet"] = "contact_sheet.png"
        consistency = {"output_lr_psnr": float(capped_lr_psnr(output, lr)[0])}
        if k:
            consistency.update({f"samples_{key}": v for key, v in
                                summarize_lr_psnr(lr_psnr(imgs, lr.expand(k, -1, -1, -1))).items()})
        entries.append({"image": path.name, "folder": path.stem, "original_size": list(photo.original_size),
                        "notes": notes, "files": files_written, "consistency": consistency,
                        "segmenter_confidence": confidence, "domain_warning": warning})

    summary = metadata("", seed, command="deepsee explore", model=str(model), segmenter=str(segmenter),
                       images=str(images), guide=None if guide is None else str(guide),
                       variant=net.cfg.variant, factor=net.cfg.factor, labels=labels.name, lr_size=lr_size, hr_size=hr_size,
                       downsample=bool(downsample), style_source=style_source, samples=k, noise=NOISE,
                       consistent=bool(consistent), trained_on=domains, confidence_reference=reference,
                       lr_psnr=("dB, the output (and samples) downscaled with the datasets' bicubic against the LR "
                                "input; 200 = exact" + ("; all projected onto the consistent images" if consistent
                                                        else "")),
                       scale=float(scale), scale_source=scale_source,
                       sampling=(f"sample i = deepsee.explore.sample_styles(style, {k}, noise='{NOISE}', "
                                 f"scale={scale}, seed={seed})[i]"),
                       photo_background="white (transparent pixels are composited over it)",
                       notes=general, n_images=len(entries), images_explored=entries)
    write_json(out / "summary.json", summary)
    return summary


SHIPPED_SEGMENTER = {"celebamaskhq": "segmenter", "outdoor": "scenes-segmenter"}   # label set -> shipped LR segmenter


def default_models(model: str | None, segmenter: str | None) -> tuple[Path, Path, list[str]]:
    """``--model`` / ``--segmenter`` or, when not given, the shipped showcase models (the independent 8x
    model; the shipped segmenter of the model's label set: the face segmenter, or the scenes segmenter for an
    outdoor-scenes model; ``pretrained/showcase``, checksums verified). Returns both and a note per default taken."""
    notes = []
    if model is None:
        model = shipped("independent")
        notes.append(f"--model not given: the shipped showcase model {model} (verified)")
    if segmenter is None:
        labels = model_domain(model).get("label_set", "celebamaskhq")
        if labels not in SHIPPED_SEGMENTER:
            raise ValueError(f"--segmenter not given, and no segmenter ships for the label set {labels!r} of the model "
                             f"{model}: pass --segmenter RUN (a deepsee train-seg folder of that label set)")
        segmenter = shipped(SHIPPED_SEGMENTER[labels])
        notes.append(f"--segmenter not given: the shipped showcase segmenter of the model's label set ({labels}), "
                     f"{segmenter} (verified)")
    return Path(model), Path(segmenter), notes


def _main(args) -> int:

    model, segmenter, notes = default_models(args.model, args.segmenter)
    for note in notes:
        print(note, file=sys.stderr)
    summary = explore_images(model, segmenter, args.images, args.out, samples=args.samples,
                             seed=args.seed, scale=args.scale, downsample=args.downsample, guide=args.guide,
                             device=resolve_device(args.device), progress=not args.no_progress,
                             consistent=args.consistent)
    worst = min(min(e["consistency"]["output_lr_psnr"], e["consistency"].get("samples_lr_psnr_worst", float("inf")))
                for e in summary["images_explored"]) if summary["n_images"] else None
    print(f"explored {summary['n_images']} image(s) with {summary['samples']} sample(s) each "
          f"({'projected onto the consistent images, ' if args.consistent else ''}worst LR-PSNR "
          f"{worst if worst is None else round(worst, 1)} dB) "
          f"(style: {summary['style_source']}, seed {summary['seed']}); wrote {Path(args.out)}/<image>/ and "
          f"{Path(args.out) / 'summary.json'}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "explore", help="run a model on your own face images: mask, output, K sampled solutions, contact sheet",
        description="For each image of --images: the predicted mask, the output with the LR-predicted style "
                    "(or the --guide image's), K sampled solutions with their style matrices, and a contact "
                    "sheet, under --out/<image stem>/, plus --out/summary.json. Images should be aligned, "
                    "square face crops; EXIF orientation is applied, grayscale/RGBA converted to RGB (RGBA "
                    "over white) and non-square images centre-cropped, each logged.")
    p.add_argument("--model", default=None, metavar="RUN_OR_DIR",
                   help="SR run folder (holding model/) or model folder (e.g. from deepsee import-official); "
                        "default: the shipped showcase independent 8x model (pretrained/showcase/independent)")
    p.add_argument("--segmenter", default=None, metavar="RUN",
                   help="segmenter run folder (deepsee train-seg); default: the shipped showcase segmenter")
    p.add_argument("--images", required=True, metavar="DIR", help="folder of face images")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--samples", type=int, default=16, metavar="K", help="sampled solutions per image (default 16)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="sample seed: same seed, same samples (default 0)")
    p.add_argument("--scale", type=float, default=None,
                   help="Gaussian style-noise scale of the samples (default: the training profile's "
                        "eval.oracle_scale when --model is a run folder, 0.3 for quick models; else 0.1)")
    p.add_argument("--downsample", action="store_true",
                   help="the images are high-resolution: make them LR like the datasets and keep the HR "
                        "version for comparison (default: the images are the LR inputs)")
    p.add_argument("--guide", metavar="IMAGE", default=None,
                   help="another image of the same person: the style comes from it (HR encoder; required for "
                        "the guided model)")
    p.add_argument("--consistent", action="store_true",
                   help="project the output and every sample onto the images whose bicubic downscaling is the LR "
                        "input (exact; only what the downscaling discards is explored)")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    p.set_defaults(func=_main)


__all__ = ["explore_images", "contact_sheet", "write_mask_png", "register"]
