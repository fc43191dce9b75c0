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
# # 10 · Segmenter: masks from 16x16 faces (Table 5, Fig. 2)
#
# **Reproduces** supplement Section 1.4, Table 5 and Fig. 2. DeepSEE needs a semantic mask at the
# *output* resolution, but at test time only the LR image is known, so a DeepLabV3+ network predicts
# the 128x128 mask from the 16x16 input (here: the profile's sizes). The SR models then train and test
# on **predicted** masks, as in the paper.
#
# **Training loss.** The paper trains with class-balanced cross-entropy. The quick profile uses plain
# cross-entropy plus the Lovász-softmax surrogate of the IoU (`seg.class_weighting`, `seg.lovasz_weight`),
# which reached a higher mIoU at CPU budgets (README, "Segmenter").
#
# **Metrics** (over the test split, $n_{ij}$ = pixels of class $i$ predicted as $j$, $t_i = \sum_j n_{ij}$):
#
# $$\mathrm{Acc} = \frac{\sum_i n_{ii}}{\sum_i t_i}, \qquad
#   \mathrm{mIoU} = \frac{1}{N_c}\sum_i \frac{n_{ii}}{t_i + \sum_j n_{ji} - n_{ii}}, \qquad
#   \mathrm{fwIoU} = \frac{1}{\sum_k t_k}\sum_i t_i \frac{n_{ii}}{t_i + \sum_j n_{ji} - n_{ii}}$$
#
# with $N_c$ the classes present in the ground truth or the prediction.

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
retrain = False         # showcase profile: train the segmenter again instead of taking the shipped one
# Science (None: the profile's value)
backbones = None             # e.g. ["drn", "resnet101", "xception65"] (pipeline.seg_backbones)
drn_steps = None             # training steps of the DRN segmenter (seg.max_steps)
extra_backbone_steps = None  # steps of the other backbones (pipeline.extra_backbone_steps)
figure_rows = 6              # faces in Fig. 2
figure_seed = 0              # draw of Fig. 2's faces (added to seed)

# %%
from IPython.display import Markdown
from deepsee.pipeline import knob_overrides, setup
from deepsee.seg import evaluate_segmenter, figure2, per_class_table, predict_dataset_masks, table5, train_segmenter
from deepsee.viz import training_curves_figure

P = setup(profile, seed=seed, device=device, data_root=data_root, run_root=run_root, out_dir=out_dir,
          interactive=interactive, overrides=overrides + knob_overrides({
              "pipeline.seg_backbones": backbones, "seg.max_steps": drn_steps,
              "pipeline.extra_backbone_steps": extra_backbone_steps}))
print(P)

# %% [markdown]
# ## Train and evaluate each backbone
# The DRN segmenter trains for `seg.max_steps` steps; the others (Table 5's ResNet-101 and Xception-65
# rows) for `pipeline.extra_backbone_steps`, keeping only their final weights (their optimiser checkpoints
# took 1.3 GB). Masks: the dataset's ground truth. The showcase profile
# takes its shipped DRN segmenter (`pretrained/showcase/segmenter`, checksums verified) and evaluates it;
# with `retrain=True` (`deepsee reproduce --profile showcase --retrain`) it trains it again.

# %%
rows, runs = [], {}
if P.use_shipped(retrain):
    runs["drn"] = P.shipped("segmenter")
    rows.append(evaluate_segmenter(P.config(masks="ground truth"), runs["drn"], split="test"))
    print(f"shipped segmenter {runs['drn']} (verified); the other backbones have no showcase models: "
          "their Table 5 rows come from the quick run (make reproduce)")
for backbone in [] if runs else P.cfg.pipeline.seg_backbones:
    extra = [f"seg.max_steps={P.cfg.pipeline.extra_backbone_steps}"] if backbone != "drn" and P.cfg.pipeline.extra_backbone_steps else []
    cfg = P.config([f"seg.backbone={backbone}", *extra], masks="ground truth")
    runs[backbone] = train_segmenter(cfg, keep_checkpoints=backbone == "drn")   # the others: final weights only
    rows.append(evaluate_segmenter(cfg, runs[backbone], split="test"))

# %%
P.out.save_figure(training_curves_figure(runs, keys=["loss"], title=P.out.title(extra="training loss", segmenter=runs.get("drn") or next(iter(runs.values())))),
              "seg_training_loss", factor=0);

# %% [markdown]
# ## Table 5
# Measured rows (this run) beside the paper's quoted rows (CelebAMask-HQ, 150 epochs).

# %%
t5 = table5(rows, dataset=P.dataset, profile=P.profile)
P.out.save_table(t5, "table5", path=P.out.results_dir / f"table5_segmentation_{P.dataset}_{P.profile}.csv")
t5

# %% [markdown]
# Per-class IoU (and each class's share of the test pixels): the rare classes pull the mIoU down.

# %%
per_class = per_class_table(rows)
P.out.save_table(per_class, "table5_per_class", path=P.out.results_dir / f"table5_per_class_iou_{P.dataset}_{P.profile}.csv")
per_class

# %% [markdown]
# ## Fig. 2: predictions of the best segmenter (DRN)
# LR input, predicted mask, HR image, ground-truth mask, prediction over the HR image.

# %%
best = runs.get("drn", next(iter(runs.values())))
P.out.save_figure(figure2(P.cfg, best, n=figure_rows, seed=seed + figure_seed), "fig02_segmentation", factor=0);

# %% [markdown]
# ## Predicted masks for every split
# Notebooks 20-90 train and test the 8x models on these masks (only val and test when every SR model is
# shipped: nothing then trains on the training split).

# %%
masks = predict_dataset_masks(P.cfg, best, P.masks_dir(best), splits=P.mask_splits(retrain))
P.record(segmenter_run=str(best), pred_masks=str(masks))

# %% [markdown]
# ## This run

# %%
Markdown("\n".join(f"- **{r['backbone']}**: acc {r['acc']:.3f}, mIoU {r['miou']:.3f}, fwIoU {r['fwiou']:.3f} "
                   f"on {r['n_images']} test images" for r in rows)
         + "\n\nQuoted (the paper, CelebAMask-HQ): " + "; ".join(
             f"{q.backbone} mIoU {q.miou:.3f}" for q in t5[t5.source == "quoted"].itertuples()))
