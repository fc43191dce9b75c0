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
# # 40 · Style space: walking the style matrix (Figs. 3, 4 and 10)
#
# **Reproduces** supplement Figs. 3, 4 ("Exploring solutions by walking the latent style space") and
# Fig. 10 (one region's style changed at a time).
#
# **Protocol.** The LR style encoder predicts the style matrix $S \in [-1, 1]^{N\times d}$ from the LR
# image and its predicted mask. A walk of five solutions moves it by multiples of $\delta$:
#
# $$S_k = \mathrm{clamp}\big(S + k\,\delta\,\mathbf 1_{\mathcal R},\; -1,\; 1\big), \qquad k = -2, -1, 0, 1, 2,$$
#
# where $\mathbf 1_{\mathcal R}$ selects the rows of the walked regions (Figs. 3-4: every row, $\delta = 0.15$;
# Fig. 10: one region's rows). The middle column ($k = 0$) is the model's default solution. The paper
# observes that large regions (hair, skin) stay consistent because the LR image constrains them, while
# small, uncertain regions (lips, eyes, brows) vary more. The last column shows the change between the
# two ends of the walk, $|S_{+2} - S_{-2}|$ in the image, amplified `diff_gain` times.

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
delta = 0.15            # Figs. 3-4: the step on every style row
walk_points = 5         # solutions per walk (odd: the middle one is the predicted style)
region_delta = 0.3      # Fig. 10: the step on one region's rows
walked_regions = ["hair", "skin", "lips", "brows", "eyes"]   # Fig. 10's rows
rows = None             # faces in Fig. 3 (pipeline.style_rows); Fig. 4 shows twice as many
diff_gain = 8           # amplification of the change column
image_seed = 3          # draw of the faces (added to seed)

# %%
from IPython.display import Markdown
import numpy as np
from deepsee.data import sample_items
from deepsee.explore.walks import walk_offsets
from deepsee.paper.rows import full_face, region_walk_rows, row_change, walk_rows
from deepsee.pipeline import setup
from deepsee.viz import region_walk_figure, style_walk_figure

P = setup(profile, seed=seed, device=device, data_root=data_root, run_root=run_root, out_dir=out_dir,
          interactive=interactive, overrides=overrides)
rows = P.knob(rows, "pipeline.style_rows")
model = P.load_model("independent")
items = sample_items(P.split(), 3 * rows, seed + image_seed)
offsets = walk_offsets(delta, walk_points).tolist()
print(P)

# %% [markdown]
# ## Fig. 3: one walk on all rows

# %%
fig3 = walk_rows(model, items[:rows], delta=delta, steps=walk_points, device=P.device)
P.out.save_figure(style_walk_figure(fig3, deltas=offsets, diff_gain=diff_gain, title=P.out.title(extra=f"delta = {delta} on all rows")),
              "fig03_style_walk");

# %% [markdown]
# ## Fig. 4: more faces

# %%
fig4 = walk_rows(model, items[rows:3 * rows], delta=delta, steps=walk_points, device=P.device)
P.out.save_figure(style_walk_figure(fig4, deltas=offsets, diff_gain=diff_gain, title=P.out.title(extra=f"delta = {delta} on all rows")),
              "fig04_style_walk_more");

# %% [markdown]
# ## Fig. 10: one region at a time
# On the first drawn face whose mask shows every walked region; the walked region is outlined.

# %%
face = full_face(items, walked_regions)
fig10 = region_walk_rows(model, face, walked_regions, delta=region_delta, steps=walk_points, device=P.device)
P.out.save_figure(region_walk_figure(fig10, diff_gain=diff_gain, headers=[f"{k:+.1f}" for k in walk_offsets(region_delta, walk_points).tolist()],
                                 title=P.out.title(extra=f"region rows walked by multiples of {region_delta}")),
              "fig10_region_walk");

# %% [markdown]
# ## Fig. 10 with the consistency projection (beyond the paper; issue 33)
# The same walks, every image projected onto the images whose downscaling is the LR input,
# $\hat x' = \hat x + D^\top(DD^\top)^{-1}(y - D\hat x)$. What the LR image shows (a region's overall colour,
# the skin tone) goes; what the downscaling discards (texture, fine shape) stays.

# %%
fig10c = region_walk_rows(model, face, walked_regions, delta=region_delta, steps=walk_points, device=P.device,
                          consistent=True, antialias=P.cfg.data.antialias)
P.out.save_figure(region_walk_figure(fig10c, diff_gain=diff_gain, headers=[f"{k:+.1f}" for k in walk_offsets(region_delta, walk_points).tolist()],
                                 title=P.out.title(extra="as Fig. 10, projected onto the images consistent with the LR input")),
              "fig10_region_walk_consistent");

# %% [markdown]
# ## This run
# The change each walk makes, as the style-usage table measures it (notebook 30): the mean absolute change of
# its two ends against the middle image, in $[0, 1]$ units, per figure and, for Fig. 10, inside the walked
# region and inside / outside, with and without the projection (the share of the walk that survives it).

# %%
walk_all = np.mean([row_change(r)["all"] for r in fig3 + fig4])
plain, proj = {r["region"]: row_change(r) for r in fig10}, {r["region"]: row_change(r) for r in fig10c}
Markdown(f"- Fig. 3-4 walk (all rows, ±{2 * delta:.2f}): mean change {walk_all:.4f}\n"
         + "\n".join(f"- Fig. 10, {k} (±{2 * region_delta:.1f}): change inside the region {v['inside']:.4f} "
                      f"(inside / outside {v['ratio']:.1f}); with the projection {proj[k]['inside']:.4f} "
                      f"({100 * proj[k]['inside'] / v['inside']:.0f} % survives)" for k, v in plain.items()))
