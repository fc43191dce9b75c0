# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags
#     notebook_metadata_filter: kernelspec,jupytext
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 46 · Beyond faces: outdoor scenes at 4x (Fig. 19)
#
# **Reproduces** supplement Fig. 19: DeepSEE retrained on outdoor scenes segmented into SFTGAN's outdoor
# classes (background, sky, water, grass, mountain, building, plant, animal). Nothing in the method is
# specific to faces: the label set (`data.labels=outdoor`, `deepsee.labels.OUTDOOR`) fixes the number of
# style rows $N = 8$ and the regions that walks, edits and metrics use. The models here read SynthScenes
# (the kit's procedural scenes; ADE20K and SFTGAN's OST sets load with `data.dataset=ade20k|ost`) at 4x,
# $32 \times 32 \to 128 \times 128$, with masks predicted from the LR scene by a scenes segmenter,
#
# $$\hat x = G\big(x_{LR},\; \hat M(x_{LR}),\; S\big), \qquad S \in \{E_{LR}(x_{LR}, \hat M)\} \cup
# \{\mathrm{clamp}(E_{LR}(x_{LR}, \hat M) + \sigma\,\varepsilon_k, -1, 1)\}.$$
#
# The model is measured as the faces are: against bicubic on the test scenes (PSNR, SSIM, the perceptual
# distance, with paired bootstrap intervals), and under the style-usage protocol of notebook 30 (region walks on
# the sky and water rows, K samples, best-of-n selection), with issue 32's goals.
#
# **Training** (`deepsee/profiles/showcase-scenes.yaml`, `deepsee showcase train --part scenes`): 20,000 steps at
# batch 2 on the ground-truth masks (the locality hinge from 15,000), then a warm restart to 25,000 on the
# segmenter's predicted masks of the training scenes, as the paper trains on predicted regions, with the pixel L1
# x10: the test reads predicted masks, and a model that only saw exact masks paints the wrong texture where the
# segmenter errs.

# %% tags=["parameters"]
# Infrastructure (papermill sets these; the defaults run the quick profile by hand in JupyterLab)
profile = "quick"       # smoke | quick | paper (or a YAML file)
seed = 0
device = "auto"
data_root = ""          # "" -> $DEEPSEE_DATA, else data/
run_root = ""         # "" -> $DEEPSEE_RUNS, else runs/
out_dir = ""            # "" -> figures/ and results/ of the repository
interactive = True
overrides = []          # configuration overrides for every step, as `deepsee reproduce --set` takes them
# Science (None: the scenes profile's value)
n_images = None         # rows of Fig. 19 (pipeline.figure_images)
samples = 2             # sampled styles per row of Fig. 19
sample_scale = 1.0      # their noise scale sigma (None: eval.oracle_scale, the tables' 0.3, whose samples differ
                        # by about 1 % of the range: invisible at this size)
diff_gain = 8.0         # the column |sample 1 - sample 2| x diff_gain (0: none)
table_images = None     # test scenes of the table against bicubic (eval.max_images)
usage_images = None     # test scenes of the style-usage table (eval.usage_images; eval.usage_select_images for K, n)
image_seed = 46         # draw of the scenes (added to seed)

# %%
from IPython.display import Image, Markdown, display
from deepsee.data import build_dataset, sample_items
from deepsee.eval.scenes import fig19_rows, scenes_table, summary_line, with_predicted_masks
from deepsee.pipeline import setup
from deepsee.viz import scenes_figure

P = setup(profile, seed=seed, device=device, data_root=data_root, run_root=run_root, out_dir=out_dir,
          interactive=interactive, overrides=overrides)
S = P.scenes_models()
print(P, "\n", S.get("skipped") or f"scenes models: {S['source']} ({S['run']})")

# %% [markdown]
# ## Fig. 19: LR scene, predicted mask, output, two sampled styles, ground truth
# The segmenter predicts the mask from the LR scene; the model renders it with its LR encoder's style and with
# styles sampled around it (the sky's clouds, the water's ripples and the walls' bricks are what the samples change).
# The samples here use $\sigma = 1$ (`sample_scale`), wider than the tables' protocol ($\sigma = 0.3$), so that the
# difference shows at this size; the heat map marks where the two samples differ (`diff_gain` times the change).

# %%
if "model" in S:
    c, model, seg = S["cfg"], S["model"], S["segmenter"]
    ev, where = c.eval, dict(factor=c.model.factor, dataset=c.data.dataset)
    test = build_dataset(c, "test")
    items = with_predicted_masks(sample_items(test, P.knob(n_images, "pipeline.figure_images"), seed + image_seed), seg)
    rows = fig19_rows(model, items, samples=samples, scale=sample_scale or ev.oracle_scale, seed=seed, device=P.device)
    title = (f"DeepSEE on outdoor scenes: {c.data.dataset}, {c.data.lr_size} -> {c.data.hr_size} px "
             f"({c.model.factor}x), {S['source']}; samples at sigma = {sample_scale or ev.oracle_scale:g}")
    P.out.save_figure(scenes_figure(rows, title=title, labels=model.labels, diff_gain=diff_gain), "fig19_scenes",
                      **where);

# %% [markdown]
# ## The scenes model against bicubic
# Test scenes with predicted masks; each goal row is the paired mean difference (model minus bicubic) with its
# 95 % bootstrap interval over the scenes. Goals (issue 32): at least 0.5 dB PSNR above bicubic, and a lower
# perceptual distance (the interval's upper end below 0).

# %%
if "model" in S:
    perceptual = P.perceptual_metric()
    n = table_images or ev.max_images or len(test)
    scored = with_predicted_masks([test[i] for i in range(min(n, len(test)))], seg)
    table = scenes_table(model, scored, perceptual, device=P.device, antialias=c.data.antialias, seed=seed)
    P.out.save_table(table, "scenes_vs_bicubic", **where)
    display(table)

# %% [markdown]
# ## Style usage on scenes
# Notebook 30's protocol on the scenes model: the oracle style against the LR style, region walks
# ($\pm 2 \times 0.3$ on one region's rows; inside / outside change), K samples and best-of-n selection, over
# the label set's regions (sky, water, grass, mountain, building, plant).

# %%
if "model" in S:
    from deepsee.eval.style_usage import GOAL_SETS, style_usage
    nu = usage_images or ev.usage_images
    parts = style_usage(model, scored[:nu], perceptual, select_items=scored[:ev.usage_select_images],
                        k=ev.usage_samples, select_n=ev.usage_select_n, scale=ev.oracle_scale, seed=seed,
                        device=P.device, goals=GOAL_SETS[ev.usage_goals], antialias=c.data.antialias)
    P.out.save_table(parts["summary"], "style_usage", **where)
    display(parts["summary"][parts["summary"].goal != ""])

# %% [markdown]
# ## The explorer on a scene
# The widget of notebook 90 on the scenes model: its sliders are the label set's walk regions (sky, water,
# grass, mountain, building) and its edit menus list the outdoor classes; its gallery samples at Fig. 19's $\sigma$.
# Headless, the controls are driven once and a snapshot is saved.

# %%
if "model" in S:
    from deepsee.explore.widgets import explorer_for
    ex = explorer_for(model, items[0], metric=perceptual, metric_name=perceptual.name, device=P.device,
                      export_dir=P.run_root / "explorer-scenes", noise_scale=sample_scale or ev.oracle_scale)
    if P.interactive:
        display(ex.widget)
    snap = P.out.figure_path("explorer_snapshot", **where)
    ex.drive(snapshot=snap, profile=P.profile, seed=P.cfg.seed)
    display(Image(filename=f"{snap}.png", width=900))

# %% [markdown]
# ## This run

# %%
Markdown(S["skipped"] if "model" not in S else
         f"{S['source']}: {summary_line(table)} Style-usage goals met: "
         + ", ".join(f"{r.measure} ({r.region}) {r.met}" for r in parts["summary"].itertuples() if r.met))
