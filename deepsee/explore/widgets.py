"""The ipywidget explorer: a live view of one input (LR image, predicted mask, current output, ground
truth when known) with per-region style sliders, a global walk slider, noise sampling with a seed, a
gallery with best-by-metric highlighting, mask editing, reset and export.

The callbacks are plain functions on :class:`ExplorerState` (tested without a browser); the widget
class only wires them to ipywidgets. Styles come from the package's style-space functions, so the
explorer and the notebooks agree: a slider moves rows as :func:`deepsee.explore.walks.region_offset`
(the walks of Figs. 3, 4, 10), and the gallery of seed ``s`` is
:func:`deepsee.explore.walks.sample_styles` ``(style, n, scale=..., seed=s)`` (Figs. 5-7), so the
explorer's seed 0 is the notebooks' seed 0. The state renders through the exploration engine, so a slider
move reuses the mask-only computation and a mask edit invalidates only the mask-dependent cache.
Under papermill (``interactive=False``) :meth:`Explorer.drive` moves the controls through their
callbacks and saves a snapshot PNG; nothing blocks. The status line gives the current output's LR-PSNR (how
well it gives back the LR input, :func:`deepsee.metrics.consistency.lr_psnr`), and the "consistent with the
input" checkbox projects every rendered image onto the images consistent with it (:func:`on_consistent`).
"""
from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib import colormaps
from PIL import Image

from ..labels import LabelSet, label_set, of
from ..metrics.consistency import capped_lr_psnr
from ..metrics.explorative import change_map, pairwise_change
from ..runs import atomic_path, run_root, save_figure
from ..viz import colorize, to_uint8_image
from . import edits
from .engine import engine_for, predicted_style
from .walks import region_offset, sample_styles, sample_styles_chunk

# Mask edits offered in the explorer: name -> function(mask, cls, amount, other) -> mask.
EDIT_OPS = ("relabel", "grow", "shrink", "move_up", "move_down", "move_left", "move_right", "paste")


@dataclass
class ExplorerState:
    """Everything the explorer shows. ``engine`` renders styles for the current mask."""
    engine: object                      # deepsee.explore.ExplorationEngine (generate, set_mask)
    lr: torch.Tensor                    # [1, 3, h, w]
    mask0: torch.Tensor                 # [H, W] predicted mask (int64)
    style0: torch.Tensor                # [19, d] style predicted from the LR image
    gt: torch.Tensor | None = None      # [3, H, W] ground truth, when known
    mask: torch.Tensor = None           # current (edited) mask
    region_offsets: dict = field(default_factory=dict)  # region name -> offset
    global_offset: float = 0.0
    noise_scale: float = 0.1
    seed: int = 0
    sample_index: int | None = None     # the current sample of the (seed, noise_scale) stream (None = none)
    image: torch.Tensor | None = None   # [3, H, W] current output
    gallery: list = field(default_factory=list)  # [(image, score)]
    latencies: list = field(default_factory=list)
    labels: LabelSet | None = None      # the model's label set (default: the engine's model's, faces before them)

    def __post_init__(self):
        if self.mask is None:
            self.mask = self.mask0.clone()
        self.labels = of(getattr(self.engine, "model", None)) if self.labels is None else label_set(self.labels)


def base_style(state: ExplorerState) -> torch.Tensor:
    """``style0`` with the global slider's offset on every row and each region slider's offset on its
    rows, clamped to [-1, 1] once: ``region_offset(style0, None, 1.0, direction=offsets)``. With one
    slider moved this is ``region_offset(style0, region, value)``, a point of the notebooks' walks."""
    offsets = torch.full_like(state.style0, float(state.global_offset))
    for region, off in state.region_offsets.items():
        for c in state.labels.region_ids(region):
            offsets[c] += off
    return region_offset(state.style0, None, 1.0, direction=offsets)


def current_style(state: ExplorerState) -> torch.Tensor:
    """The style the explorer shows: :func:`base_style`, or the current gallery sample around it
    (sample ``i`` of ``sample_styles(base, n, scale=state.noise_scale, seed=state.seed)``)."""
    s = base_style(state)
    if state.sample_index is None:
        return s
    i = int(state.sample_index)
    return sample_styles_chunk(s, i, i + 1, noise="gaussian", scale=state.noise_scale, seed=state.seed)[0]


def render(state: ExplorerState) -> torch.Tensor:
    """Render the current style through the engine; records the latency."""
    t0 = time.perf_counter()
    out = state.engine.generate(current_style(state)[None], progress=False)[0]
    state.latencies.append(time.perf_counter() - t0)
    state.image = out
    return out


def on_region_slider(state: ExplorerState, region: str, value: float) -> torch.Tensor:
    if region not in state.labels.regions:
        raise ValueError(f"region {region!r}; expected one of {', '.join(state.labels.regions)}")
    state.region_offsets[region] = float(value)
    return render(state)


def on_global_slider(state: ExplorerState, value: float) -> torch.Tensor:
    state.global_offset = float(value)
    return render(state)


def on_sample(state: ExplorerState, n: int = 8, seed: int | None = None, scale: float | None = None,
              metric: Callable | None = None) -> list:
    """Draw ``n`` samples around the slider style (:func:`deepsee.explore.walks.sample_styles`, Gaussian,
    ``scale`` and ``seed``); the first becomes the current sample. With ground truth and a metric (lower
    is better), the gallery is scored."""
    if seed is not None:
        state.seed = int(seed)
    if scale is not None:
        state.noise_scale = float(scale)
    styles = sample_styles(base_style(state), n, noise="gaussian", scale=state.noise_scale, seed=state.seed)
    t0 = time.perf_counter()
    imgs = state.engine.generate(styles, progress=False)
    state.latencies.append((time.perf_counter() - t0) / n)
    scores = [None] * n
    if metric is not None and state.gt is not None:
        scores = [float(v) for v in metric(imgs, state.gt[None].expand_as(imgs))]
    state.gallery = list(zip(imgs, scores))
    state.sample_index = 0
    state.image = imgs[0]
    return state.gallery


def on_consistent(state: ExplorerState, value: bool, metric: Callable | None = None) -> torch.Tensor:
    """Switch the consistency projection (issue 33) of everything the explorer renders: the current output and,
    when there is one, the gallery (the same seed and scale, drawn again) are projected onto the images whose
    kit LR is the input, or shown as the model makes them."""
    state.engine.consistent = bool(value)
    if state.gallery:
        index = state.sample_index
        on_sample(state, len(state.gallery), metric=metric)
        state.sample_index = index
    return render(state)


def output_lr_psnr(state: ExplorerState) -> float:
    """The current output's LR-PSNR (dB; 200 = exact): its kit LR against the LR input."""
    if state.image is None:
        return float("nan")
    aa = bool(getattr(state.engine, "antialias", False))
    return float(capped_lr_psnr(state.image[None].cpu().float(), state.lr.cpu().float(), aa)[0])


DIFF_GAIN = 8   # difference maps are |a - b| x 8, as in the walk figures (Figs. 3, 4, 10)


def gallery_differences(state: ExplorerState, gain: float = DIFF_GAIN) -> tuple[list[np.ndarray], float]:
    """Where the gallery's samples differ: per sample ``|sample - gallery mean|`` (mean over RGB, in
    ``[0, 1]`` units, times ``gain``, clipped to 1) as a magma-coloured ``uint8`` ``[H, W, 3]`` map, and
    the gallery's mean pairwise L1 distance (``[0, 1]`` units: :func:`~deepsee.metrics.explorative.pairwise_change`,
    as the style-usage table's diversity row).
    Samples that look alike at a glance still show *where* the style noise acts."""
    if not state.gallery:
        return [], 0.0
    imgs = torch.stack([img for img, _ in state.gallery]).float().clamp(-1, 1)        # [n, 3, H, W]
    diff = change_map(imgs, imgs.mean(0, keepdim=True))                               # [n, H, W], [0, 1] units
    cmap = colormaps["magma"]
    maps = [(cmap((d * gain).clamp(0, 1).numpy())[..., :3] * 255).round().astype(np.uint8) for d in diff]
    pair = float(pairwise_change(imgs).mean()) if len(imgs) > 1 else 0.0
    return maps, pair


def best_in_gallery(state: ExplorerState) -> int | None:
    scores = [s for _, s in state.gallery]
    if not scores or scores[0] is None:
        return None
    return int(np.argmin(scores))


def pick_from_gallery(state: ExplorerState, index: int) -> torch.Tensor:
    """Make gallery sample ``index`` the current output (later slider moves keep its noise)."""
    if not state.gallery:
        raise ValueError("the gallery is empty: draw samples first (on_sample)")
    if not 0 <= index < len(state.gallery):
        raise ValueError(f"gallery index {index} outside 0..{len(state.gallery) - 1}")
    state.sample_index = int(index)
    return render(state)


def on_mask_edit(state: ExplorerState, op: str, cls: int | str, amount: int = 2, target: int | str = 1,
                 other: torch.Tensor | None = None) -> torch.Tensor:
    """Edit the current mask (relabel ``cls`` -> ``target``, grow/shrink by ``amount`` px, move by
    ``amount`` px, or paste ``cls`` from ``other``) and re-render (only the mask cache is rebuilt)."""
    ls = state.labels
    c = ls.class_id(cls) if isinstance(cls, str) else int(cls)
    t = ls.class_id(target) if isinstance(target, str) else int(target)
    if not 0 <= c < ls.num_classes:
        raise ValueError(f"class {cls!r} outside 0..{ls.num_classes - 1}")
    m = state.mask
    if op == "relabel":
        m = edits.relabel(m, c, t, labels=ls)
    elif op == "grow":
        m = edits.grow(m, c, amount, labels=ls)
    elif op == "shrink":
        m = edits.shrink(m, c, amount, labels=ls)
    elif op.startswith("move_"):
        dy, dx = {"move_up": (-1, 0), "move_down": (1, 0), "move_left": (0, -1), "move_right": (0, 1)}[op]
        m = edits.move(m, c, dy * amount, dx * amount, labels=ls)
    elif op == "paste":
        if other is None:
            raise ValueError("paste needs another mask (other=...)")
        m = edits.paste(m, other, c, labels=ls)
    else:
        raise ValueError(f"mask edit {op!r}; expected one of {', '.join(EDIT_OPS)}")
    state.mask = torch.as_tensor(m).long()
    state.engine.set_mask(state.mask)
    return render(state)


def on_reset(state: ExplorerState) -> torch.Tensor:
    state.region_offsets.clear()
    state.global_offset = 0.0
    state.sample_index = None
    state.gallery = []
    if not torch.equal(state.mask, state.mask0):
        state.mask = state.mask0.clone()
        state.engine.set_mask(state.mask)
    return render(state)


def export(state: ExplorerState, out_dir: str | Path, stem: str = "explorer") -> dict[str, Path]:
    """Write the current image (PNG), style matrix (CSV, 19 rows named by class) and mask (label PNG)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if state.image is None:
        render(state)
    paths = {"image": out / f"{stem}_image.png", "style": out / f"{stem}_style.csv",
             "mask": out / f"{stem}_mask.png"}
    with atomic_path(paths["image"]) as tmp:
        Image.fromarray(to_uint8_image(state.image)).save(tmp, format="PNG")
    s = current_style(state).numpy()
    lines = ["class," + ",".join(f"s{k}" for k in range(s.shape[1]))]
    lines += [state.labels.classes[i] + "," + ",".join(f"{v:.6f}" for v in row) for i, row in enumerate(s)]
    with atomic_path(paths["style"]) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    with atomic_path(paths["mask"]) as tmp:
        Image.fromarray(state.mask.numpy().astype(np.uint8), mode="L").save(tmp, format="PNG")
    return paths


def load_style_csv(path: str | Path, labels=None) -> torch.Tensor:
    """Read a style matrix written by :func:`export` -> [N, d] (N: the classes of ``labels``, faces by default)."""
    n_classes = label_set(labels).num_classes
    rows = Path(path).read_text().strip().splitlines()[1:]
    if len(rows) != n_classes:
        raise ValueError(f"{path}: expected {n_classes} style rows, found {len(rows)}")
    return torch.tensor([[float(v) for v in r.split(",")[1:]] for r in rows])


def _png_bytes(arr: np.ndarray, scale: int = 1) -> bytes:
    im = Image.fromarray(arr)
    if scale > 1:
        im = im.resize((im.width * scale, im.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


class Explorer:
    """ipywidgets front-end over :class:`ExplorerState`. ``Explorer(...).widget`` is displayable."""

    def __init__(self, state: ExplorerState, *, regions=None,
                 metric: Callable | None = None, metric_name: str = "", gallery_size: int = 8,
                 other_mask: torch.Tensor | None = None, export_dir: str | Path = ""):
        import ipywidgets as W   # optional dependency
        self.state, self.metric, self.metric_name = state, metric, metric_name
        self.other_mask, self.gallery_size = other_mask, gallery_size
        self.export_dir = Path(export_dir) if export_dir else run_root() / "explorer"   # the run-folder rule
        ls = state.labels
        regions = ls.walk_regions if regions is None else regions   # the label set's (faces: hair, skin, ...)
        self.views = {k: W.Image(format="png", width=160, height=160) for k in ("lr", "mask", "output", "gt")}
        self.sliders = {r: W.FloatSlider(value=0.0, min=-0.5, max=0.5, step=0.05, description=r,
                                         continuous_update=False) for r in regions}
        self.global_slider = W.FloatSlider(value=0.0, min=-0.5, max=0.5, step=0.05, description="all rows",
                                           continuous_update=False)
        self.noise = W.FloatSlider(value=state.noise_scale, min=0.0, max=1.0, step=0.01,
                                   description="noise", continuous_update=False)
        self.seed = W.IntText(value=state.seed, description="seed")
        self.sample_btn = W.Button(description="sample")
        first = ls.index.get("mouth", 1)   # faces open on the mouth (Fig. 9's edit), other sets on class 1
        self.cls = W.Dropdown(options=[(c, i) for i, c in enumerate(ls.classes)], value=first, description="class")
        self.target = W.Dropdown(options=[(c, i) for i, c in enumerate(ls.classes)], value=1 if first != 1 else 0,
                                 description="to")
        self.op = W.Dropdown(options=list(EDIT_OPS), value="relabel", description="edit")
        self.amount = W.IntSlider(value=2, min=1, max=12, description="px")
        self.edit_btn = W.Button(description="apply edit")
        self.reset_btn = W.Button(description="reset")
        self.export_btn = W.Button(description="export")
        self.consistent = W.Checkbox(value=bool(getattr(state.engine, "consistent", False)),
                                     description="consistent with the input", indent=False)
        self.status = W.HTML()
        self.gallery = W.HBox()
        self._gallery_shown, self._spread = None, ""   # the gallery list the HBox shows, and its spread line
        for r, s in self.sliders.items():
            s.observe(lambda ch, r=r: self._update(on_region_slider, r, ch["new"]), names="value")
        self.global_slider.observe(lambda ch: self._update(on_global_slider, ch["new"]), names="value")
        self.sample_btn.on_click(lambda _: self._sample())
        self.edit_btn.on_click(lambda _: self._edit())
        self.reset_btn.on_click(lambda _: self._reset())
        self.export_btn.on_click(lambda _: self._export())
        self.consistent.observe(lambda ch: self._update(on_consistent, ch["new"], self.metric), names="value")
        views = W.HBox([W.VBox([W.HTML(f"<b>{k}</b>"), v]) for k, v in self.views.items()
                        if k != "gt" or state.gt is not None])
        controls = W.VBox([W.HTML("<b>style</b>"), self.global_slider, *self.sliders.values(),
                           W.HBox([self.noise, self.seed, self.sample_btn]), self.consistent])
        editing = W.VBox([W.HTML("<b>mask</b>"), self.op, self.cls, self.target, self.amount,
                          W.HBox([self.edit_btn, self.reset_btn, self.export_btn])])
        self.widget = W.VBox([views, W.HBox([controls, editing]), self.gallery, self.status])
        self._refresh(render(state))

    # wiring
    def _update(self, fn, *args):
        self._refresh(fn(self.state, *args))

    def _sample(self):
        on_sample(self.state, self.gallery_size, self.seed.value, self.noise.value, self.metric)
        self._refresh(self.state.image)

    def _edit(self):
        self._refresh(on_mask_edit(self.state, self.op.value, self.cls.value, self.amount.value,
                                   self.target.value, self.other_mask))

    def _reset(self):
        for s in self.sliders.values():
            s.unobserve_all()
            s.value = 0.0
        self.global_slider.unobserve_all()
        self.global_slider.value = 0.0
        for r, s in self.sliders.items():
            s.observe(lambda ch, r=r: self._update(on_region_slider, r, ch["new"]), names="value")
        self.global_slider.observe(lambda ch: self._update(on_global_slider, ch["new"]), names="value")
        self._refresh(on_reset(self.state))

    def _export(self):
        paths = export(self.state, self.export_dir)
        self.status.value = "exported: " + ", ".join(str(p) for p in paths.values())

    def _refresh(self, image):
        import ipywidgets as W   # optional dependency

        st = self.state
        h = image.shape[-1]
        lr_scale = max(1, h // st.lr.shape[-1])
        self.views["lr"].value = _png_bytes(to_uint8_image(st.lr[0]), lr_scale)
        self.views["mask"].value = _png_bytes(colorize(st.mask, st.labels))
        self.views["output"].value = _png_bytes(to_uint8_image(image))
        if st.gt is not None:
            self.views["gt"].value = _png_bytes(to_uint8_image(st.gt))
        if st.gallery is not self._gallery_shown:   # a new gallery (on_sample / reset): a slider move keeps it
            self._gallery_shown = st.gallery
            best = best_in_gallery(st)
            diffs, pair = gallery_differences(st)
            items = []
            for i, (img, score) in enumerate(st.gallery):
                label = f"{score:.3f}" if score is not None else f"#{i}"
                style = "color:#d60" if i == best else ""
                items.append(W.VBox([W.Image(value=_png_bytes(to_uint8_image(img)), width=80, height=80),
                                     W.Image(value=_png_bytes(diffs[i]), width=80, height=80),
                                     W.HTML(f"<span style='{style}'>{label}{' best' if i == best else ''}</span>")]))
            self.gallery.children = items
            self._spread = (f"; gallery: samples above, |sample - gallery mean| x{DIFF_GAIN} below, mean "
                            f"pairwise L1 {pair:.4f}" if st.gallery else "")
        lat = st.latencies[-1] if st.latencies else float("nan")
        proj = " (projected onto the consistent images)" if getattr(st.engine, "consistent", False) else ""
        self.status.value = (f"last update: {lat * 1000:.0f} ms per image; LR-PSNR {output_lr_psnr(st):.1f} dB"
                             f"{proj}{self._spread}")

    # headless use
    def drive(self, snapshot: str | Path | None = None, **meta) -> dict:
        """Move every control through its callback (as a user would) and optionally save a snapshot
        (``meta``, e.g. ``profile`` and ``seed``, goes to its sidecar)."""
        log = {}
        first = next(iter(self.sliders))
        self.sliders[first].value = 0.3
        log["region_slider"] = self.state.latencies[-1]
        self.global_slider.value = -0.15
        log["global_slider"] = self.state.latencies[-1]
        self.sample_btn.click()
        log["sample_per_image"] = self.state.latencies[-1]
        self.op.value, self.amount.value = "grow", 2     # on the class the dropdown opens on (faces: the mouth)
        self.edit_btn.click()
        log["mask_edit"] = self.state.latencies[-1]
        log["lr_psnr"] = output_lr_psnr(self.state)
        if snapshot is not None:
            self.snapshot(snapshot, **meta)
        return log

    def snapshot(self, path: str | Path, **meta):
        """Save the current view (LR, mask, output, GT, gallery and its difference maps) as PNG and PDF,
        with a metadata sidecar (``meta``: ``profile``, ``seed``, ... as :func:`deepsee.runs.save_figure`)."""
        st = self.state
        panels = [("LR input", to_uint8_image(st.lr[0])), ("edited mask", colorize(st.mask, st.labels)),
                  ("current output", to_uint8_image(st.image))]
        if st.gt is not None:
            panels.append(("ground truth", to_uint8_image(st.gt)))
        ng = len(st.gallery)
        diffs, pair = gallery_differences(st)
        cols = max(len(panels), ng)
        fig, axes = plt.subplots(3 if ng else 1, cols, figsize=(1.8 * cols, 5.9 if ng else 2.1), squeeze=False)
        for ax in axes.ravel():
            ax.axis("off")
        for ax, (t, im) in zip(axes[0], panels):
            ax.imshow(im, interpolation="nearest")
            ax.set_title(t, fontsize=9)
        best = best_in_gallery(st)
        for i, (img, score) in enumerate(st.gallery):
            ax = axes[1, i]
            ax.imshow(to_uint8_image(img))
            lab = f"{score:.3f}" if score is not None else f"sample {i}"
            ax.set_title(lab + (" (best)" if i == best else ""), fontsize=8,
                         color="tab:orange" if i == best else "black")
            axes[2, i].imshow(diffs[i])
        if ng:
            axes[2, 0].set_title(f"|sample - gallery mean| x{DIFF_GAIN}", fontsize=8, loc="left")
        lat = np.median(st.latencies) * 1000 if st.latencies else float("nan")
        scored = f"; gallery scored by {self.metric_name}, best in orange" if best is not None else ""
        spread = (f"\n{ng} samples at style-noise scale {st.noise_scale:g}: mean pairwise L1 {pair:.4f} "
                  f"([0, 1] units)" if ng else "")
        cons = ", projected onto the consistent images" if getattr(st.engine, "consistent", False) else ""
        fig.suptitle(f"Explorer snapshot (median update {lat:.0f} ms{scored}; output LR-PSNR "
                     f"{output_lr_psnr(st):.1f} dB{cons}){spread}", fontsize=10)
        save_figure(fig, path, **meta)
        plt.close(fig)


def explorer_for(model, item: dict, *, metric: Callable | None = None, metric_name: str = "",
                 other_mask: torch.Tensor | None = None, export_dir: str | Path = "",
                 noise_scale: float = 0.1, device="cpu", consistent: bool = False, antialias: bool = False,
                 **kwargs) -> Explorer:
    """The explorer on one test item (or :func:`deepsee.seg.photo_item`): it opens on the
    style the LR encoder predicts and the item's (predicted) mask; ``other_mask`` is the mask that
    the "paste" edit takes regions from (another face). ``consistent``: open with the consistency projection
    on (``antialias``: the degradation that made the item's LR image)."""
    state = ExplorerState(engine=engine_for(model, item, device, consistent, antialias), lr=item["lr"][None].to(device),
                          mask0=item["mask"], style0=predicted_style(model, item, device).cpu(), gt=item.get("hr"),
                          noise_scale=noise_scale)
    return Explorer(state, metric=metric, metric_name=metric_name, other_mask=other_mask,
                    export_dir=export_dir, **kwargs)
