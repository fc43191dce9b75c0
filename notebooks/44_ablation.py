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
# # 44 · Ablation: what each input contributes (Fig. 18)
#
# **Reproduces** supplement Fig. 18: the same LR inputs through models that see less:
#
# | variant | generator input |
# |---|---|
# | prior-only | LR image only (no mask, no style) |
# | semantics-only | LR image and mask |
# | LR-style-only | LR image, mask, style from the LR encoder |
# | HR-style-only | LR image, mask, style from the HR encoder on another image of the person |
# | independent | both encoders during training; the LR encoder's style at test time |
# | guided | the HR encoder on another image of the person |
#
# Models whose style comes from an HR image read it from another image of the same person (the test
# item's guide), never from the ground truth. In the quick profile the ablation variants train for
# `pipeline.ablation_steps` steps, fewer than the main models: each column header gives its model's steps,
# and the title says when the budgets differ (then the figure shows the budget as much as the inputs).

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
# Science (None: the profile's value)
n_images = None         # rows of Fig. 18 (pipeline.figure_images)
columns = None          # the variants shown, in order (None: the four ablations, then the main models)
image_seed = 44         # draw of the faces (added to seed)

# %%
from IPython.display import Markdown, display
from deepsee.config import ABLATION_VARIANTS, MAIN_VARIANTS, VARIANT_LABELS
from deepsee.data import sample_items
from deepsee.paper.rows import method_outputs
from deepsee.metrics import psnr
from deepsee.pipeline import setup
from deepsee.viz import ablation_figure

P = setup(profile, seed=seed, device=device, data_root=data_root, run_root=run_root, out_dir=out_dir,
          interactive=interactive, overrides=overrides)
n_images = P.knob(n_images, "pipeline.figure_images")
columns = columns or ABLATION_VARIANTS + MAIN_VARIANTS
steps = {v: P.model_steps(v) for v in columns if P.has_model(v)}
models = {f"{VARIANT_LABELS[v]}\n{n:,} steps": P.load_model(v) for v, n in steps.items()}
items = sample_items(P.split(guided=True), n_images, seed + image_seed)
print(P, "\nvariants:", ", ".join(models))

# %% [markdown]
# A profile without ablation models (the showcase profile ships only the main models) skips the figure
# and says where it is: the quick run's `figures/fig18_ablation_synthfaces_8x_quick.png` (`make reproduce`).

# %%
ablations = [v for v in columns if v not in MAIN_VARIANTS and P.has_model(v)]
rows = [{"lr": it["lr"], "outputs": method_outputs(models, it, P.device), "gt": it["hr"]} for it in items]
if ablations:
    unequal = "; UNEQUAL training budgets (column headers)" if len(set(steps.values())) > 1 else ""
    P.out.save_figure(ablation_figure(rows, title=P.out.title(extra="HR-style models use another image of the person" + unequal)),
                  "fig18_ablation");
else:
    print(f"Fig. 18 skipped: the {P.profile} profile trains no ablation variants (pipeline.variants); "
          "see the quick run's figures/fig18_ablation_synthfaces_8x_quick.png")

# %% [markdown]
# ## The ablation table
# Every variant on the same test faces (`eval.ablation_images`; HR-style variants read another image of the person):
# PSNR, SSIM and the perceptual distance with 95 % intervals from one paired bootstrap over the faces, and for each
# variant with a style the global walk (all rows $\pm 2 \times 0.15$, mean change) and the selection gain
# ($1 - $ best of $n$ / best of 1 by the perceptual distance). Then the paper's orderings: prior-only below each
# single-input variant, and each single-input variant below independent and guided ("holds" when the interval of
# the difference lies on the right side of 0).

# %%
if ablations:
    from deepsee.eval.ablation import ablation_table
    ev, test = P.cfg.eval, P.split(guided=True)
    faces = [test[i] for i in range(min(ev.ablation_images or ev.max_images or len(test), len(test)))]
    table, orderings = ablation_table({v: P.load_model(v) for v in steps}, faces, P.perceptual_metric(),
                                      select_items=faces[:ev.ablation_select_images], k=ev.usage_samples,
                                      select_n=ev.usage_select_n, scale=ev.oracle_scale, seed=seed, device=P.device)
    table.insert(1, "steps", table.variant.map(steps))
    P.out.save_table(table, "ablation")
    P.out.save_table(orderings, "ablation_orderings")
    display(table, orderings)

# %% [markdown]
# ## This run
# PSNR of each variant on the figure's faces (a handful of images: a sanity check, not a table).

# %%
import pandas as pd
scores = pd.DataFrame([{k: float(psnr(v[None], r["gt"][None])[0]) for k, v in r["outputs"].items()} for r in rows])
Markdown("Mean PSNR on Fig. 18's faces: " + ", ".join(f"{k.split(chr(10))[0]} ({steps_:,} steps) {v:.2f} dB"
                                                     for (k, v), steps_ in zip(scores.mean().items(), steps.values())))
