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
# # 45 · Comparisons: bicubic, independent, guided (Figs. 11-13; Fig. 19)
#
# **Reproduces** supplement Figs. 11-13 with the methods the kit runs: bicubic upsampling and the two
# DeepSEE models, each with its own test-time style (the guided model reads another image of the
# person, shown as the guide). The related methods of the paper (GFRNet, GWAInet, FSRNet, ...) are not
# re-implemented; their published numbers are the quoted rows of Tables 6-7 (notebook 30).
#
# Fig. 19 (outdoor scenes, ADE20K) needs that dataset and a model trained on it; it is reported as
# skipped when the data is absent.

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
n_images = None         # rows per figure (pipeline.figure_images)
image_seed = 45         # draw of the faces (added to seed)

# %%
from IPython.display import Markdown
from deepsee.config import data_root as data_folder
from deepsee.config import MAIN_VARIANTS
from deepsee.data import sample_items
from deepsee.paper.rows import method_outputs
from deepsee.pipeline import setup
from deepsee.viz import comparison_figure

P = setup(profile, seed=seed, device=device, data_root=data_root, run_root=run_root, out_dir=out_dir,
          interactive=interactive, overrides=overrides)
n = P.knob(n_images, "pipeline.figure_images")
models = {f"ours ({k})": P.load_model(k) for k in MAIN_VARIANTS if P.has_model(k)}
items = sample_items(P.split(guided=True), 3 * n, seed + image_seed)
print(P)

# %%
shown = []
for name, chunk in (("fig11_comparison", items[:n]), ("fig12_comparison_more", items[n:2 * n]),
                    ("fig13_comparison_landmark_methods", items[2 * n:3 * n])):
    if not chunk:
        continue
    rows = [{"lr": it["lr"], "methods": method_outputs(models, it, P.device, bicubic=True), "guide": it["guide_hr"],
             "mask": it["mask"], "gt": it["hr"]} for it in chunk]
    shown += rows
    P.out.save_figure(comparison_figure(rows, title=P.out.title(extra="other methods' numbers: Tables 6-7 (quoted)")), name)

# %% [markdown]
# ## Fig. 19: other domains
# Needs the ADE20K outdoor-scenes subset in the data root and a model trained on it.

# %%
ade = data_folder(P.cfg.data) / "ade20k"
fig19 = (f"Fig. 19 skipped: it needs the ADE20K outdoor-scenes subset at `{ade}` (not present)." if not ade.is_dir()
         else "ADE20K found, but outdoor-scene training is not part of this kit's pipeline yet.")
print(fig19)

# %% [markdown]
# ## This run
# Mean PSNR of each method on the faces of Figs. 11-13 (a handful of images: Table 6 has the numbers).

# %%
import pandas as pd
from deepsee.metrics import psnr
scores = pd.DataFrame([{k: float(psnr(v[None], r["gt"][None])[0]) for k, v in r["methods"].items()} for r in shown])
Markdown(f"{len(shown)} faces: " + ", ".join(f"{k} {v:.2f} dB" for k, v in scores.mean().items()) + f". {fig19}")
