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
# # 90 · Explorer: one input, many faces
#
# **The interactive counterpart of Sections 3.1-3.4.** One LR face, its predicted mask and the style the
# LR encoder predicts; the controls move through the space of solutions:
#
# - **region sliders** add an offset to one region's style rows, $S' = \mathrm{clamp}(S + o\,\mathbf 1_{\mathcal R}, -1, 1)$
#   (the walks of Figs. 4 and 10); **all rows** moves every row (Fig. 3);
# - **sample** draws a gallery of styles $\mathrm{clamp}(S + \sigma\epsilon_i, -1, 1)$ with the given seed and
#   noise scale (the samples of Figs. 5-7; seed 0 is the notebooks' seed 0), scored against the ground
#   truth by the perceptual metric when it is known, the best one highlighted; under each sample a map of
#   $8\,|x_i - \bar x|$ (its difference from the gallery mean) shows where the samples differ, and the status
#   line gives the gallery's mean pairwise L1;
# - **mask edits** relabel, grow, shrink, move or paste a class (Figs. 8-9); the style stays;
# - **reset** returns to the predicted style and mask; **export** writes the current image, mask and style.
#
# The explorer opens on the predicted style and mask. Rendering goes through the exploration engine,
# which caches what does not depend on the style, so a slider update re-renders in well under a second
# on a CPU for the quick model. Run headless (papermill, `interactive = False`), the controls are driven
# through their callbacks once and a snapshot is saved; the widget itself is shown only interactively.
# Bring your own face with `face_image` (a square, roughly aligned photo; it is made LR like the data
# and segmented by the pipeline's segmenter).

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
face_image = ""         # a photo of your own face (aligned, square; made LR like the data), or ""
image_index = -1        # else this test-split image (-1: a seeded random one)
regions = ["hair", "skin", "lips", "brows", "eyes"]   # one slider per region
noise_scale = None      # sigma of the gallery's samples (eval.oracle_scale)
gallery_size = 8        # styles per gallery
image_seed = 90         # draw of the face when image_index < 0 (added to seed)
paste_seed = 91         # draw of the face whose mask the "paste" edit takes regions from

# %%
from IPython.display import Image, Markdown, display
import pandas as pd
from deepsee.data import choose_item, sample_items
from deepsee.pipeline import setup
from deepsee.explore.widgets import explorer_for

P = setup(profile, seed=seed, device=device, data_root=data_root, run_root=run_root, out_dir=out_dir,
          interactive=interactive, overrides=overrides)
noise_scale = P.knob(noise_scale, "eval.oracle_scale")
model, test, segmenter_run, source = P.explorer_setup()   # this pipeline's model, else the shipped showcase one
perceptual = P.perceptual_metric()
print(P, "\nmodel:", source)

# %%
if face_image:
    from deepsee.seg import photo_item
    from deepsee.seg import load_segmenter
    item = photo_item(face_image, load_segmenter(segmenter_run, device=P.device),
                      model.cfg.hr_size, model.cfg.lr_size, device=P.device)
else:
    item = choose_item(test, image_index, seed + image_seed)
ex = explorer_for(model, item, metric=perceptual, metric_name=perceptual.name,
                  other_mask=sample_items(test, 2, seed + paste_seed)[1]["mask"], regions=regions,
                  gallery_size=gallery_size, export_dir=P.run_root / f"pipeline-{P.profile}" / "explorer",
                  noise_scale=noise_scale, device=P.device)
print("face:", item["name"])

# %% [markdown]
# ## The explorer
# Interactive: the widget below. Headless: every control is moved once through its callback, and the
# update latencies and a snapshot are the output.

# %%
if interactive:
    display(ex.widget)
else:
    latencies = ex.drive(snapshot=P.out.figure_path("explorer_snapshot"), profile=P.profile, seed=P.cfg.seed)
    display(Image(filename=f"{P.out.figure_path('explorer_snapshot')}.png", width=900))
    display(pd.DataFrame({"control": list(latencies), "ms per update": [round(v * 1000) for v in latencies.values()]}))

# %% [markdown]
# ## This run

# %%
Markdown(f"Face `{item['name']}`, {model.cfg.factor}x model, gallery noise scale {noise_scale}; "
         + ("move the sliders above." if interactive else
            f"headless drive: median update {1000 * pd.Series(ex.state.latencies).median():.0f} ms; "
            f"snapshot `{P.out.figure_path('explorer_snapshot').name}.png`."))
