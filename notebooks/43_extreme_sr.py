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
# # 43 · Extreme super-resolution: 32x (Figs. 14, 15, 17)
#
# **Reproduces** supplement Figs. 14-15 (32x upscaling, shown larger than in the main paper) and Fig. 17
# (the 32x model on faces from another source: FFHQ in the paper, with masks predicted by the segmenter).
#
# At 32x the LR input has 4x4 pixels per 128 px output (16x16 per 512 px in the paper), so almost
# everything in the output comes from the mask and the style: $\hat x = G(x_{LR}, M, S(x_{LR}, M))$ with
# the style predicted from the LR image. The quick 32x model is trained for few steps and is weak; the
# figure shows the pipeline, the `paper-32x` profile the paper's model.
#
# Without FFHQ in the data root, Fig. 17 uses held-out SynthFaces people (another generator seed), read
# back as a plain image folder and segmented like any photo.

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
# Science
n_images = 4            # test faces: two in Fig. 14, two in Fig. 15
folder_images = 3       # faces of Fig. 17
held_out_seed = 1717    # SynthFaces generator seed of Fig. 17's stand-in folder (people unseen in training)
image_seed = 43         # draw of the faces (added to seed)

# %%
from IPython.display import Markdown
from deepsee.config import data_root as data_folder
from deepsee.data import ensure_synthfaces, sample_items
from deepsee.seg import photo_item
from deepsee.paper.rows import image_files, sr_rows
from deepsee.metrics import psnr
from deepsee.pipeline import setup
from deepsee.seg import load_segmenter
from deepsee.viz import extreme_sr_figure

P = setup(profile, seed=seed, device=device, data_root=data_root, run_root=run_root, out_dir=out_dir,
          interactive=interactive, overrides=overrides)
model, test, factor = P.extreme_or_main()
print(P, f"\n{factor}x model: {model.cfg.lr_size} -> {model.cfg.hr_size} px")

# %% [markdown]
# ## Figs. 14 and 15: test faces

# %%
out = sr_rows(model, sample_items(test, n_images, seed + image_seed), device=P.device)
P.out.save_figure(extreme_sr_figure(out[:2], title=P.out.title(factor)), "fig14_extreme_sr", factor=factor);
P.out.save_figure(extreme_sr_figure(out[2:4], title=P.out.title(factor)), "fig15_extreme_sr", factor=factor);

# %% [markdown]
# ## Fig. 17: faces from an image folder
# Each image is turned upright (EXIF) and centre-cropped to a square when it is not one
# (`deepsee.seg.photo_item`), resized to the output size, made LR, and segmented by the pipeline's
# segmenter from the LR image at the segmenter's own input size.

# %%
folder, label = data_folder(P.cfg.data) / "ffhq", "FFHQ"
if not folder.is_dir():
    held_out = P.config([f"data.synth_seed={held_out_seed}", "data.synth_n=8", "data.splits=[4,2,2]", "data.identities=8"],
                        masks="ground truth")
    folder, label = ensure_synthfaces(held_out) / "CelebA-HQ-img", "held-out SynthFaces folder (FFHQ not present)"
seg = load_segmenter(P.get("segmenter_run")).to(P.device)
photos = [photo_item(f, seg, model.cfg.hr_size, model.cfg.lr_size, seg_sizes=(P.cfg.data.lr_size, P.cfg.data.hr_size),
                     device=P.device) for f in image_files(folder, folder_images)]
fig17 = [dict(r, gt=None) for r in sr_rows(model, photos, device=P.device)]
P.out.save_figure(extreme_sr_figure(fig17, title=P.out.title(factor, f"images from {label}; masks predicted")),
              "fig17_image_folder", factor=factor);

# %% [markdown]
# ## This run

# %%
scores = [float(psnr(r["output"][None], r["gt"][None])[0]) for r in out]
Markdown(f"{factor}x model ({model.cfg.lr_size} → {model.cfg.hr_size} px): PSNR of Figs. 14-15's outputs "
         + ", ".join(f"{s:.2f}" for s in scores) + f" dB; Fig. 17 from {label}.")
