"""One function per notebook: what ``notebooks/NN_*.ipynb`` runs after its parameters cell.

Each step reads the resolved configuration from the :class:`deepsee.pipeline.Pipeline`, calls the
package (data, seg, train, eval, explore, viz), writes its figures (PNG + PDF) and tables (CSV +
sidecar) with the conditions in their names, and records in the pipeline state what later notebooks
need. Every figure/table file is written by exactly one step.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .config import load_config
from .constants import CLASSES, REGIONS
from .pipeline import Pipeline

# --------------------------------------------------------------------------------------------- helpers


def _sub_config(P: Pipeline, profile: str | None = None, overrides: list[str] | None = None):
    """The pipeline's configuration with its overrides (``Pipeline.sub_config``) plus a step's own."""
    return P.sub_config(profile, overrides)


def _with_masks(P: Pipeline, cfg=None):
    """The configuration with the predicted masks of notebook 10 (as in the paper)."""
    cfg = cfg or _sub_config(P)
    masks = P.state.get("pred_masks")
    if masks:
        cfg.data.mask_dir = masks
    return cfg


def _load_model(P: Pipeline, key: str):
    from .models import DeepSEE
    run = Path(P.get(key, "20"))
    model = DeepSEE.load(run / "model" if (run / "model").is_dir() else run)
    return model.to(P.device).eval()


def _items(dataset, n: int, seed: int = 0) -> list[dict]:
    g = np.random.default_rng(seed)
    idx = g.choice(len(dataset), size=min(n, len(dataset)), replace=False)
    return [dataset[int(i)] for i in sorted(idx)]


def _perceptual(P: Pipeline):
    """LPIPS when its weights are present; otherwise the labelled, weight-free substitute
    "TexStatDist (LPIPS substitute)" (deepsee.metrics.texture), which prefers sharp, plausible detail
    to blur as LPIPS does (its known-answer test: deepsee.metrics.known_answer)."""
    from .metrics import perceptual_metric
    from .weights import MissingWeightsError
    try:
        m = perceptual_metric("lpips")
        P.record("note_perceptual_metric", m.name)
        return m
    except MissingWeightsError as e:
        m = perceptual_metric("texture")
        P.record("note_perceptual_metric", f"{m.name} (LPIPS unavailable: {str(e).splitlines()[0]})")
        return m


def _engine(model, item, device):
    from .explore import ExplorationEngine
    return ExplorationEngine(model, item["lr"][None].to(device), item["mask"].to(device))


def _style(model, item, device):
    with torch.inference_mode():
        return model.encode_style(item["lr"][None].to(device), item["mask"][None].to(device), source="lr")[0]


def _title(P: Pipeline, factor: int | None = None, extra: str = "") -> str:
    c = P.cfg
    f = factor or c.model.factor
    lr = c.model.lr_size if factor is None else P.state.get("extreme_lr_size", c.model.lr_size)
    t = f"{P.dataset}, {f}x (from {lr}x{lr}), {P.profile} profile"
    note = P.state.get("note_perceptual_loss")
    if note:  # short form in the title; the full description (weights, source run) is in the sidecar
        t += f"; perceptual loss: {note.split(' (')[0]}" + ("" if note.startswith("vgg19 (ImageNet") else
                                                              " (not the paper's VGG-19)")
    return t + (f"; {extra}" if extra else "")


# ------------------------------------------------------------------------------------------ 00 data


def data_step(P: Pipeline) -> dict:
    from .data import build_dataset, ensure_synthfaces
    from .viz import sample_grid_figure
    if P.dataset == "synthfaces":
        ensure_synthfaces(P.cfg)
    splits = {split: build_dataset(P.cfg, split) for split in ("train", "val", "test")}
    info = {split: len(ds) for split, ds in splits.items()}
    items = _items(splits["train"], 16, P.cfg.seed)
    fig = sample_grid_figure([it["hr"] for it in items], [it["mask"] for it in items], n_cols=8,
                             title=f"{P.dataset} samples ({P.cfg.data.hr_size}px), {P.profile} profile")
    info["figure"] = str(P.save_figure(fig, "fig00_samples", factor=0))
    return info


# ---------------------------------------------------------------------------------- 01 architecture


def architecture_step(P: Pipeline) -> dict:
    from .models.summary import architecture_tables
    names = {"table1": "table1_lr_style_encoder", "table2": "table2_hr_style_encoder",
             "table3": "table3_shared_style_encoder", "table4": "table4_generator_8x"}
    tables = architecture_tables(load_config("paper").model)
    for key, df in tables.items():
        name = names.get(key, key)
        P.save_table(df, name, path=P.results_dir / f"{name}_paper-config.csv", model_config="paper 8x")
    return tables


# ------------------------------------------------------------------------------------- 10 segmenter


def segmenter_step(P: Pipeline) -> dict:
    from .seg import evaluate_segmenter, figure2, per_class_table, predict_dataset_masks, table5, train_segmenter
    rows, runs = [], {}
    for backbone in P.cfg.pipeline.seg_backbones:
        ov = [f"seg.backbone={backbone}"]
        if backbone != "drn" and P.cfg.pipeline.extra_backbone_steps:
            ov.append(f"seg.max_steps={P.cfg.pipeline.extra_backbone_steps}")
        cfg = _sub_config(P, overrides=ov)
        run = train_segmenter(cfg)
        runs[backbone] = run
        rows.append(evaluate_segmenter(cfg, run, split="test"))
    table = table5(rows, dataset=P.dataset, profile=P.profile)
    P.save_table(table, "table5", path=P.results_dir / f"table5_segmentation_{P.dataset}_{P.profile}.csv")
    per_class = per_class_table(rows)
    P.save_table(per_class, "table5_per_class",
                 path=P.results_dir / f"table5_per_class_iou_{P.dataset}_{P.profile}.csv")
    best = runs.get("drn", next(iter(runs.values())))
    fig = figure2(P.cfg, best, n=6, seed=P.cfg.seed)
    P.save_figure(fig, "fig02_segmentation", factor=0)
    masks = predict_dataset_masks(P.cfg, best, Path(best) / "pred_masks")
    P.record("segmenter_run", str(best))
    P.record("pred_masks", str(masks))
    return {"table": table, "per_class": per_class, "runs": runs}


# ----------------------------------------------------------------------------------- 20 SR training


def sr_training_step(P: Pipeline) -> dict:
    """Every SR model of the pipeline: the 8x variants (main ones first), then the 32x model, as
    ``pipeline.train_workers`` parallel runs of ``pipeline.train_threads`` threads each."""
    from .train.jobs import train_many
    pc = P.cfg.pipeline
    seg_run = P.state.get("segmenter_run")
    keys, cfgs, segs = [], [], []
    main = [v for v in pc.variants if v in ("independent", "guided")]
    # the longest runs first (the workers take them in order): main models, the 32x model, ablations
    for variant in main + (["extreme"] if pc.extreme_profile else []) + [v for v in pc.variants if v not in main]:
        if variant == "extreme":
            ov = [f"train.schedule_steps={pc.extreme_steps}"] if pc.extreme_steps else []
            cfg = _sub_config(P, pc.extreme_profile, ov)
            seg = seg_run if cfg.train.perceptual == "segmenter" else None
        else:
            steps = pc.main_steps if variant in main else pc.ablation_steps
            ov = [f"model.variant={variant}"] + ([f"train.schedule_steps={steps}"] if steps else [])
            cfg, seg = _with_masks(P, _sub_config(P, overrides=ov)), seg_run
        keys.append(variant)
        cfgs.append(cfg)
        segs.append(seg)
    runs = dict(zip(keys, map(str, train_many(cfgs, segs, workers=pc.train_workers, threads=pc.train_threads))))
    for key in keys:
        P.record(f"sr_{key}", runs[key])
    _record_perceptual_loss(P, {k: v for k, v in runs.items() if k != "extreme"})
    if pc.extreme_profile:
        P.record("extreme_profile", pc.extreme_profile)
        P.record("extreme_lr_size", cfgs[keys.index("extreme")].model.lr_size)
    return runs


def _record_perceptual_loss(P: Pipeline, runs: dict) -> None:
    import json
    notes = set()
    for run in runs.values():
        info = Path(run) / "run_info.json"
        if info.is_file():
            notes.add(str(json.loads(info.read_text()).get("perceptual_used", "")))
    if notes:
        P.record("note_perceptual_loss", "; ".join(sorted(n for n in notes if n)))


# ------------------------------------------------------------------------------------ 30 evaluation


def evaluation_step(P: Pipeline) -> dict:
    from .data import build_dataset
    from .eval import evaluate, table6, table7
    from .metrics.explorative import diversity, region_leakage
    cfg = _with_masks(P)
    perceptual = _perceptual(P)
    tables = {}
    test = build_dataset(cfg, "test")
    guided_test = build_dataset(cfg, "test", guided=True)
    rows = []
    n = P.cfg.eval.max_images or None
    per_img, summary = evaluate(None, test, device=P.device, max_images=n, perceptual=perceptual,
                                fid=P.cfg.eval.fid)
    rows.append({"method": "Bicubic", **summary})
    for variant in ("independent", "guided"):
        key = f"sr_{variant}"
        if key not in P.state:
            continue
        model = _load_model(P, key)
        source = "lr" if "lr" in model.style_sources else "guide"     # what the model reads, not its name
        ds = test if source == "lr" else guided_test
        per_img, summary = evaluate(model, ds, device=P.device, max_images=n, perceptual=perceptual,
                                    fid=P.cfg.eval.fid, style_source=source)
        per_img.to_csv(Path(P.get(key)) / "eval_test_per_image.csv", index=False)
        rows.append({"method": f"ours ({variant})", "weights": f"trained: {P.get(key)}", **summary})
    t6 = table6(rows, profile=P.profile, dataset=P.dataset)
    tables["table6"] = t6
    P.save_table(t6, "table6", path=P.results_dir / f"table6_{P.dataset}_8x_{P.profile}.csv")
    # Table 7's setting: 32x32 -> 256x256 (8x). Bicubic is always measured; the kit's models at this
    # setting are trained only by the paper-celebamaskhq-8x profile.
    cfg7 = _with_masks(P)
    cfg7.data.mask_dir = ""
    if P.dataset == "synthfaces" and cfg7.data.synth_size < 256:
        t7_rows = []
    else:
        cfg7.data.hr_size, cfg7.data.lr_size = 256, 32
        test7 = build_dataset(cfg7, "test")
        _, s7 = evaluate(None, test7, device=P.device, max_images=n, perceptual=perceptual, fid=P.cfg.eval.fid)
        t7_rows = [{"method": "Bicubic", **s7}]
    t7 = table7(t7_rows, profile=P.profile, dataset=P.dataset)
    tables["table7"] = t7
    P.save_table(t7, "table7", path=P.results_dir / f"table7_{P.dataset}_8x_{P.profile}.csv")
    # Explorative metrics on the independent model.
    if "sr_independent" in P.state:
        model = _load_model(P, "sr_independent")
        div_rows, leak_rows = [], []
        k = P.cfg.eval.usage_samples           # K samples per image (quick 16, smoke 4)
        for i, item in enumerate(_items(test, max(2, P.cfg.pipeline.figure_images), P.cfg.seed)):
            eng = _engine(model, item, P.device)
            style = _style(model, item, P.device)
            from .explore.walks import sample_styles
            styles = sample_styles(style, k, scale=P.cfg.eval.oracle_scale, seed=P.cfg.seed + i)
            samples = eng.generate(styles.to(P.device), progress=False).cpu()
            d = diversity(samples, item["mask"], perceptual)
            div_rows.append({"image": item["name"], **d})
            present = [int(c) for c in torch.unique(item["mask"])]
            classes = [c for c in (1, 4, 6, 11, 13) if c in present] or present[:5]
            lk = region_leakage(lambda s: eng.generate(s.to(P.device), progress=False).cpu(), style.cpu(),
                                item["mask"], classes=classes, delta=0.3)
            lk.insert(0, "image", item["name"])
            leak_rows.append(lk)
        div = pd.DataFrame(div_rows)
        leak = pd.concat(leak_rows, ignore_index=True)
        tables["diversity"], tables["leakage"] = div, leak
        P.save_table(div, "diversity", path=P.table_path("diversity"), samples_per_image=k,
                     noise_scale=P.cfg.eval.oracle_scale)
        P.save_table(leak, "leakage", path=P.table_path("region_leakage"), delta=0.3)
        tables.update(style_usage_tables(P, model, perceptual))
    return tables


def style_usage_tables(P: Pipeline, model, perceptual) -> dict:
    """results/style_usage_<dataset>_8x_<profile>.csv: does the model use its style space?
    Test split, ground-truth masks (the style's information, not the segmenter's errors)."""
    from .data import build_dataset
    from .metrics.style_usage import GOALS, style_usage
    ev = P.cfg.eval
    cfg = _sub_config(P)
    cfg.data.mask_dir = ""
    test = build_dataset(cfg, "test")
    items = [test[i] for i in np.linspace(0, len(test) - 1, min(ev.usage_images, len(test))).round().astype(int)]
    sel = items[:min(ev.usage_select_images, len(items))]
    k, select_n = ev.usage_samples, ev.usage_select_n
    parts = style_usage(model, items, perceptual, select_items=sel, region_delta=ev.usage_region_delta,
                        global_delta=ev.usage_global_delta, k=k, scale=ev.oracle_scale, noise=ev.oracle_noise,
                        select_n=select_n, seed=P.cfg.seed, device=P.device)
    summary = parts["summary"]
    P.save_table(summary, "style_usage", path=P.table_path("style_usage"), masks="ground truth",
                 images=len(items), select_images=len(sel), samples=k, select_n=select_n,
                 noise_scale=ev.oracle_scale, region_delta=ev.usage_region_delta,
                 global_delta=ev.usage_global_delta, perceptual_metric=getattr(perceptual, "name", ""),
                 goals=GOALS)
    return {"style_usage": summary}


# ----------------------------------------------------------------------------------- 40 style space


WALK_DIFF_GAIN = 8   # Figs. 3, 4, 10: the last column shows the walk's change amplified this many times


def style_space_step(P: Pipeline) -> dict:
    from .data import build_dataset
    from .explore.walks import style_walk
    from .viz import region_walk_figure, style_walk_figure
    model = _load_model(P, "sr_independent")
    test = build_dataset(_with_masks(P), "test")
    rows_n = P.cfg.pipeline.style_rows
    items = _items(test, 3 * rows_n, P.cfg.seed + 3)
    d = 0.15
    deltas = [-2 * d, -d, 0.0, d, 2 * d]

    def walk_rows(its):
        rows = []
        for it in its:
            eng, style = _engine(model, it, P.device), _style(model, it, P.device)
            imgs = eng.generate(style_walk(style, delta=d, steps=5), progress=False).cpu()
            rows.append({"lr": it["lr"], "images": list(imgs), "label": it["name"]})
        return rows

    paths = {}
    gain = WALK_DIFF_GAIN
    fig = style_walk_figure(walk_rows(items[:rows_n]), deltas=deltas, diff_gain=gain,
                            title=_title(P, extra="delta = 0.15 on all rows"))
    paths["fig03"] = str(P.save_figure(fig, "fig03_style_walk"))
    fig = style_walk_figure(walk_rows(items[rows_n:3 * rows_n]), deltas=deltas, diff_gain=gain,
                            title=_title(P, extra="delta = 0.15 on all rows"))
    paths["fig04"] = str(P.save_figure(fig, "fig04_style_walk_more"))
    # Fig. 10: one region's rows changed at a time, on the first face that shows every walked region.
    from .metrics.style_usage import MIN_PIXELS, region_pixels
    walked = ("hair", "skin", "lips", "brows", "eyes")
    it = next((x for x in items if all(int(region_pixels(x["mask"], r).sum()) >= MIN_PIXELS for r in walked)),
              items[0])
    eng, style = _engine(model, it, P.device), _style(model, it, P.device)
    rows = []
    for region in walked:
        imgs = eng.generate(style_walk(style, delta=0.3, steps=5, classes=list(REGIONS[region])),
                            progress=False).cpu()
        rows.append({"region": region, "mask": it["mask"], "images": list(imgs),
                     "highlight": region_pixels(it["mask"], region)})
    fig = region_walk_figure(rows, diff_gain=gain, headers=[f"{k:+.1f}" for k in (-0.6, -0.3, 0.0, 0.3, 0.6)],
                             title=_title(P, extra="region rows walked -0.6..+0.6"))
    paths["fig10"] = str(P.save_figure(fig, "fig10_region_walk"))
    return paths


# ------------------------------------------------------------------------------- 41 oracle selection


def oracle_step(P: Pipeline) -> dict:
    from .data import build_dataset
    from .metrics import ssim
    from .metrics.explorative import best_of_n, oracle_selection
    from .viz import best_of_figure, best_of_n_curve_figure, oracle_cloud_figure
    model = _load_model(P, "sr_independent")
    perceptual = _perceptual(P)
    test = build_dataset(_with_masks(P), "test")
    ev = P.cfg.eval
    items = _items(test, ev.oracle_images, P.cfg.seed + 41)
    ns = [n for n in (1, 10, 100, 1000) if n <= ev.oracle_samples]
    clouds, curves, picks_rows = [], [], []
    protocol = None
    for i, it in enumerate(items):
        eng, style = _engine(model, it, P.device), _style(model, it, P.device)
        scores, protocol = oracle_selection(lambda s: eng.generate(s.to(P.device), progress=False).cpu(),
                                            style.cpu(), it["hr"], K=ev.oracle_samples, noise=ev.oracle_noise,
                                            scale=ev.oracle_scale, seed=P.cfg.seed + i, chunk=64,
                                            metrics={"ssim": ssim, "perceptual": perceptual})
        best = {}
        for metric, mode in (("perceptual", "min"), ("ssim", "max")):
            r = best_of_n(scores[metric].to_numpy(), ns=ns, mode=mode, seed=P.cfg.seed + i)
            best[metric] = r["indices"]
            label = "SSIM" if metric == "ssim" else perceptual.name
            for n, v in zip(ns, r["expected"]):
                curves.append({"image": it["name"], "metric": label, "n": n, "value": v})
        clouds.append({"lpips": scores["perceptual"].to_numpy(), "ssim": scores["ssim"].to_numpy(),
                       "best": {"lpips": best["perceptual"], "ssim": best["ssim"]}, "name": it["name"]})
        picks_rows.append((i, it, best["perceptual"], scores, eng, style))
    curves = pd.DataFrame(curves)
    P.save_table(curves, "best_of_n", path=P.table_path("oracle_best_of_n"), protocol=protocol,
                 perceptual_metric=perceptual.name)
    pname = perceptual.name
    paths = {}
    for by, fig_name in (("lpips", "fig06_oracle_perceptual"), ("ssim", "fig07_oracle_ssim")):
        fig = oracle_cloud_figure(clouds, by=by, perceptual_name=pname,
                                  title=_title(P, extra=f"K = {ev.oracle_samples} samples per image"))
        paths[fig_name] = str(P.save_figure(fig, fig_name, protocol=protocol))
    # Fig. 5: the best of 10/100/1000 by the perceptual metric, with the score on the image.
    from .explore.walks import sample_styles_chunk
    rows = []
    for i, it, best, scores, eng, style in picks_rows[:3]:
        picks = {}
        for n, idx in best.items():
            if n == 1:
                continue
            s = sample_styles_chunk(style.cpu(), idx, idx + 1, noise=ev.oracle_noise, scale=ev.oracle_scale,
                                    seed=P.cfg.seed + i)
            img = eng.generate(s.to(P.device), progress=False)[0].cpu()
            picks[n] = (img, float(scores["perceptual"].iloc[idx]))
        rows.append({"lr": it["lr"], "gt": it["hr"], "picks": picks})
    fig = best_of_figure(rows, metric_name=pname, title=_title(P))
    paths["fig05"] = str(P.save_figure(fig, "fig05_best_of", protocol=protocol))
    fig = best_of_n_curve_figure(curves, title=_title(P))
    paths["curves"] = str(P.save_figure(fig, "oracle_best_of_n_curves"))
    return {"curves": curves, "paths": paths}


# ------------------------------------------------------------------------ 42 semantic manipulation


def _extreme_or_main(P: Pipeline):
    """The 32x model and its data when notebook 20 trained one, else the 8x model."""
    from .data import build_dataset
    if "sr_extreme" in P.state:
        cfg = _sub_config(P, P.get("extreme_profile"))
        return _load_model(P, "sr_extreme"), build_dataset(cfg, "test"), cfg.model.factor
    return _load_model(P, "sr_independent"), build_dataset(_with_masks(P), "test"), P.cfg.model.factor


def manipulation_step(P: Pipeline) -> dict:
    from .explore import edits
    from .viz import manipulation_figure
    model, test, factor = _extreme_or_main(P)
    items = _items(test, 3 * P.cfg.pipeline.figure_images, P.cfg.seed + 42)

    def run(it, masks, captions, label):
        eng, style = _engine(model, it, P.device), _style(model, it, P.device)
        imgs = []
        for m in masks:
            eng.set_mask(torch.as_tensor(m).to(P.device))
            imgs.append(eng.generate(style[None], progress=False)[0].cpu())
        return {"label": label, "masks": [torch.as_tensor(m) for m in masks], "images": imgs, "captions": captions}

    paths = {}
    # Fig. 8: multiple continuous manipulations.
    rows = []
    it = items[0]
    m0 = it["mask"]
    m1 = edits.close_eyes(m0)
    m2 = edits.open_mouth(m0, 3)
    m3 = edits.remove(m2, "eye_g")
    rows.append(run(it, [m0, m1, m0, m2, m3], ["original", "close eyes", "reopen", "open mouth", "no glasses"],
                    it["name"]))
    it = items[1 % len(items)]
    seq = [it["mask"]] + edits.close_mouth(edits.open_mouth(it["mask"], 4), steps=4)
    rows.append(run(it, seq, ["original", "mouth open"] + [f"closing {k}" for k in range(1, len(seq) - 1)],
                    it["name"]))
    it = items[2 % len(items)]
    rows.append(run(it, [it["mask"], edits.add_hair(it["mask"], 6), edits.add_hair(it["mask"], 12)],
                    ["original", "add hair", "add more hair"], it["name"]))
    fig = manipulation_figure(rows, title=_title(P, factor, "edited masks (predicted for 8x; ground truth for the quick 32x model)"))
    paths["fig08"] = str(P.save_figure(fig, "fig08_manipulations", factor=factor))
    # Fig. 9: mouth -> lips, brows -> skin, hair -> skin, remove glasses.
    rows = []
    for it, (cap, fn) in zip(items, [("mouth -> lips", lambda m: edits.relabel(m, "mouth", "u_lip")),
                                     ("brows -> skin", lambda m: edits.remove(m, ["l_brow", "r_brow"], "skin")),
                                     ("hair -> skin", lambda m: edits.relabel(m, "hair", "skin")),
                                     ("remove glasses", lambda m: edits.remove(m, "eye_g"))]):
        rows.append(run(it, [it["mask"], fn(it["mask"])], ["original", cap], it["name"]))
    fig = manipulation_figure(rows, title=_title(P, factor, "edits inconsistent with the LR input are visible"))
    paths["fig09"] = str(P.save_figure(fig, "fig09_manipulations", factor=factor))
    # Fig. 16: open a closed mouth.
    it = items[-1]
    rows = [run(it, [it["mask"], edits.open_mouth(it["mask"], 3), edits.open_mouth(it["mask"], 5)],
                ["default solution", "open mouth", "open wider"], it["name"])]
    fig = manipulation_figure(rows, title=_title(P, factor, "mask edited to open the mouth"))
    paths["fig16"] = str(P.save_figure(fig, "fig16_open_mouth", factor=factor))
    return paths


# ------------------------------------------------------------------------------------ 43 extreme SR


def extreme_step(P: Pipeline) -> dict:
    from .viz import extreme_sr_figure
    model, test, factor = _extreme_or_main(P)
    items = _items(test, 4, P.cfg.seed + 43)
    out = []
    for it in items:
        style = _style(model, it, P.device)
        with torch.inference_mode():
            y = model(it["lr"][None].to(P.device), it["mask"][None].to(P.device), style[None])[0].cpu()
        out.append({"lr": it["lr"], "mask": it["mask"], "output": y, "gt": it["hr"], "label": it["name"]})
    paths = {}
    fig = extreme_sr_figure(out[:2], title=_title(P, factor))
    paths["fig14"] = str(P.save_figure(fig, "fig14_extreme_sr", factor=factor))
    fig = extreme_sr_figure(out[2:4], title=_title(P, factor))
    paths["fig15"] = str(P.save_figure(fig, "fig15_extreme_sr", factor=factor))
    paths["fig17"] = _fig17(P, model, factor)
    return paths


def _fig17(P: Pipeline, model, factor: int) -> str:
    """Fig. 17: faces from an image folder (FFHQ when present), masks predicted by the segmenter."""
    from .config import data_root
    from .data import ensure_synthfaces
    from .seg import load_segmenter, predict_masks
    from .viz import extreme_sr_figure
    from PIL import Image
    folder = data_root() / "ffhq"
    label = "FFHQ"
    if not folder.is_dir():
        # Stand-in: held-out SynthFaces people (another seed), read back as a plain image folder.
        cfg = _sub_config(P, overrides=["data.synth_seed=1717", "data.synth_n=8", "data.splits=[4,2,2]",
                                        "data.identities=8"])
        folder = ensure_synthfaces(cfg) / "CelebA-HQ-img"
        label = "held-out SynthFaces folder (FFHQ not present)"
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".png", ".jpeg"))[:3]
    seg = load_segmenter(P.get("segmenter_run", "10")).to(P.device)
    hr_size, lr_size = model.cfg.hr_size, model.cfg.lr_size
    seg_lr = P.cfg.data.lr_size
    items = []
    for f in files:
        im = Image.open(f).convert("RGB").resize((hr_size, hr_size), Image.BICUBIC)
        hr = torch.from_numpy(np.array(im)).permute(2, 0, 1).float() / 127.5 - 1
        from .data import lr_from_hr
        lr = lr_from_hr(hr[None], lr_size)
        seg_in = lr_from_hr(hr[None], seg_lr)
        mask = predict_masks(seg, seg_in.to(P.device), out_size=P.cfg.data.hr_size)[0].cpu()
        mask = torch.nn.functional.interpolate(mask[None, None].float(), size=(hr_size, hr_size),
                                               mode="nearest")[0, 0].long()
        with torch.inference_mode():
            style = model.encode_style(lr.to(P.device), mask[None].to(P.device), source="lr")
            y = model(lr.to(P.device), mask[None].to(P.device), style)[0].cpu()
        items.append({"lr": lr[0], "mask": mask, "output": y, "gt": None, "label": f.name})
    fig = extreme_sr_figure(items, title=_title(P, factor, f"images from {label}; masks predicted"))
    return str(P.save_figure(fig, "fig17_image_folder", factor=factor))


# ------------------------------------------------------------------------------------- 44 ablation


ABLATION_COLUMNS = (("prior_only", "prior-only"), ("lr_style_only", "LR-style-only"),
                    ("hr_style_only", "HR-style-only"), ("semantics_only", "semantics-only"),
                    ("independent", "independent"), ("guided", "guided"))


def ablation_step(P: Pipeline) -> dict:
    from .data import build_dataset
    from .viz import ablation_figure
    guided_test = build_dataset(_with_masks(P), "test", guided=True)
    items = _items(guided_test, P.cfg.pipeline.figure_images, P.cfg.seed + 44)
    models = {v: _load_model(P, f"sr_{v}") for v, _ in ABLATION_COLUMNS if f"sr_{v}" in P.state}
    rows = []
    for it in items:
        outs = {}
        for v, label in ABLATION_COLUMNS:
            if v not in models:
                continue
            m = models[v]
            lr, mask = it["lr"][None].to(P.device), it["mask"][None].to(P.device)
            style = m.test_time_style(it, P.device)     # by the model's style sources (HR: another image)
            with torch.inference_mode():
                outs[label] = m(lr, mask, style)[0].cpu()
        rows.append({"lr": it["lr"], "outputs": outs, "gt": it["hr"]})
    fig = ablation_figure(rows, title=_title(P, extra="HR-style models use another image of the person"))
    return {"fig18": str(P.save_figure(fig, "fig18_ablation"))}


# --------------------------------------------------------------------------------- 45 comparisons


def comparison_step(P: Pipeline) -> dict:
    from .config import data_root
    from .data import build_dataset
    from .eval import bicubic_upsample
    from .viz import comparison_figure
    guided_test = build_dataset(_with_masks(P), "test", guided=True)
    models = {k: _load_model(P, f"sr_{k}") for k in ("independent", "guided") if f"sr_{k}" in P.state}
    n = P.cfg.pipeline.figure_images
    items = _items(guided_test, 3 * n, P.cfg.seed + 45)
    paths = {}
    for fig_name, chunk in (("fig11_comparison", items[:n]), ("fig12_comparison_more", items[n:2 * n]),
                            ("fig13_comparison_landmark_methods", items[2 * n:3 * n])):
        rows = []
        for it in chunk:
            lr, mask = it["lr"][None].to(P.device), it["mask"][None].to(P.device)
            methods = {"bicubic": bicubic_upsample(lr, it["hr"].shape[-1])[0].cpu()}
            for name, m in models.items():         # each model's own test-time style (style_sources)
                style = m.test_time_style(it, P.device)
                with torch.inference_mode():
                    methods[f"ours ({name})"] = m(lr, mask, style)[0].cpu()
            rows.append({"lr": it["lr"], "methods": methods, "guide": it["guide_hr"], "mask": it["mask"],
                         "gt": it["hr"]})
        extra = "other methods' numbers: Tables 6-7 (quoted)"
        fig = comparison_figure(rows, title=_title(P, extra=extra))
        paths[fig_name] = str(P.save_figure(fig, fig_name))
    ade = data_root() / "ade20k"
    if not ade.is_dir():
        msg = f"Fig. 19 skipped: needs the ADE20K outdoor-scenes subset at {ade} (not present)."
        print(msg)
        paths["fig19"] = msg
    else:
        paths["fig19"] = "ADE20K found, but outdoor-scene training is not part of this kit's pipeline yet"
        print(paths["fig19"])
    return paths


# -------------------------------------------------------------------------------------- 90 explorer


def explorer_step(P: Pipeline, face_image: str = "", image_index: int = -1):
    """The explorer on one input: ``face_image`` (a photo of your own face, made LR like the data,
    its mask predicted by the pipeline's segmenter), else test image ``image_index``, else a seeded
    random test image."""
    from .data import build_dataset
    from .widgets import Explorer, ExplorerState
    model = _load_model(P, "sr_independent")
    test = build_dataset(_with_masks(P), "test")
    if face_image:
        from .explore.images import photo_item
        from .seg import load_segmenter
        seg = load_segmenter(P.get("segmenter_run", "10"), device=P.device)
        it = photo_item(face_image, seg, model.cfg.hr_size, model.cfg.lr_size, device=P.device)
    elif image_index >= 0:
        if image_index >= len(test):
            raise ValueError(f"image_index={image_index}: the test split has {len(test)} images (0..{len(test) - 1})")
        it = test[image_index]
    else:
        it = _items(test, 1, P.cfg.seed + 90)[0]
    other = _items(test, 2, P.cfg.seed + 91)[1]["mask"]
    eng = _engine(model, it, P.device)
    state = ExplorerState(engine=eng, lr=it["lr"][None].to(P.device), mask0=it["mask"],
                          style0=_style(model, it, P.device).cpu(), gt=it["hr"])
    perceptual = _perceptual(P)
    ex = Explorer(state, metric=lambda a, b: perceptual(a, b), metric_name=perceptual.name,
                  other_mask=other, export_dir=P.run_root / f"pipeline-{P.profile}" / "explorer")
    log = ex.drive(snapshot=P.figure_path("explorer_snapshot"))
    return ex, {k: f"{v * 1000:.0f} ms" for k, v in log.items()}
