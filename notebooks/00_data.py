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
# # 00 · Data: the faces, their masks and the degradation
#
# **Reproduces** the data side of the supplement (Section 2.3, "Datasets" and "Pre-processing"): the
# splits, the bicubic low-resolution inputs and the 19-class semantic masks every later notebook uses.
# The paper trains on CelebA (8x, 16 → 128 px) and CelebAMask-HQ (32 → 256, 32x); this kit also ships
# **SynthFaces**, a procedurally drawn face dataset in CelebAMask-HQ's on-disk layout, so that the whole
# pipeline runs on a CPU without downloads. Real datasets are read from their own layouts
# (`deepsee.data`); set `profile` / `overrides` to use them.
#
# **Degradation.** The LR input is the HR image resized with bicubic interpolation,
# $x_{LR} = \mathrm{bicubic}_{\downarrow f}(x_{HR})$, $f = 8$ (no antialiasing, as the released code).
#
# **Masks.** Each pixel carries one of $N = 19$ CelebAMask-HQ classes (background, skin, nose, glasses,
# eyes, brows, ears, mouth, lips, hair, hat, earrings, necklace, neck, cloth). The *guided* model needs a
# second image of the same person, so the guided split keeps only people with at least two images.

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
retrain = False         # showcase: train the models again (then the training split is drawn too)
# Science
n_samples = 16          # faces in the sample grid
grid_columns = 8
sample_seed = 0         # draw of the sample grid (added to seed)

# %%
from IPython.display import Markdown
import pandas as pd
from deepsee.pipeline import setup
from deepsee.data import build_dataset, check_dataset, ensure_synthfaces, sample_items
from deepsee.viz import sample_grid_figure

P = setup(profile, seed=seed, device=device, data_root=data_root, run_root=run_root, out_dir=out_dir,
          interactive=interactive, overrides=overrides)
print(P)

# %% [markdown]
# ## The dataset on disk
# SynthFaces is generated once (seeded, so every machine draws the same faces) into
# `<data root>/synthfaces_<n>x<size>_seed<k>`; a real dataset must already be there. A run that only
# evaluates shipped models (the showcase) draws just the validation and test faces (`P.data_splits`); each
# face is drawn from its own index, so they are the same bytes as in the whole set, and the training faces
# are drawn when a step first reads them.

# %%
data_splits = P.data_splits(retrain)
if P.dataset == "synthfaces":
    print("SynthFaces folder:", ensure_synthfaces(P.cfg, splits=data_splits))
report = check_dataset(P.cfg, max_images=4, echo=lambda *_: None, splits=data_splits)
splits = pd.DataFrame(report["splits"]).T[["images", "identities", "people_with_2plus", "guided_items"]]
splits

# %% [markdown]
# ## Class frequencies
# The share of images that contain each class and the share of all pixels it covers (over the splits
# above). Small classes (lips, eyes, brows) are where the LR image says least and the style matrix matters most.

# %%
freq = pd.DataFrame(report["class_frequencies"]).T.rename(columns={"images": "share_of_images", "pixels": "share_of_pixels"})
P.out.save_table(freq.reset_index(names="class"), "class_frequencies", factor=0, splits=list(report["splits"]))
freq.style.format("{:.3f}")

# %% [markdown]
# ## A sample of faces with their masks
# Training faces, or validation faces where the run drew no training split.

# %%
shown = next(iter(report["splits"]))
items = sample_items(build_dataset(P.cfg, shown), n_samples, seed + sample_seed)
fig = sample_grid_figure([it["hr"] for it in items], [it["mask"] for it in items], n_cols=grid_columns,
                         title=f"{P.dataset} {shown} samples ({P.cfg.data.hr_size}px), {P.profile} profile")
P.out.save_figure(fig, "fig00_samples", factor=0);

# %% [markdown]
# ## This run

# %%
s = report["splits"]
drawn = (f"{s['train']['images']} training images of {s['train']['identities']} people, " if "train" in s else
         "the validation and test splits only (the shipped models need no training faces), ")
Markdown(f"**{P.dataset}**: {drawn}{s['val']['images']} validation and {s['test']['images']} test images; "
         f"{s['test']['guided_items']} test images have another image of their person for the guided model. "
         f"HR {P.cfg.data.hr_size} px, LR {P.cfg.data.lr_size} px ({P.cfg.data.hr_size // P.cfg.data.lr_size}x).")
