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
# # 31 · How exploration emerges during training
#
# **Reproduces** no figure of the paper: it is the kit's counterpart of a question the paper leaves open. DeepSEE's claim is that the style space *controls* the output. This notebook
# measures how that control grows with training, on the model snapshots saved during the independent
# model's run (`train.snapshot_steps`; the showcase model ships 8 of them beside its final weights).
# At every snapshot the style-usage protocol of notebook 30 runs on the same test faces (ground-truth
# masks, fewer faces than notebook 30: `eval.emergence_images`):
#
# - **fidelity**: PSNR of $G(x_{LR}, M, E_{LR}(x_{LR}, M))$ against the ground truth;
# - **walks**: the mean absolute change of the output, in $[0, 1]$, when all style rows move by
#   $\pm 2 \times 0.15$ (global walk, as Fig. 3), or one region's rows by $\pm 2 \times 0.3$ (as Fig. 10),
#   measured inside that region;
# - **diversity**: the mean pairwise L1 of $K$ samples $S_i = \mathrm{clamp}(S + \sigma\epsilon_i, -1, 1)$;
# - **selection gain**: $1 - \mathbb E[\text{best of } n] / \mathbb E[\text{best of } 1]$ of the perceptual
#   metric over $n$ such samples (the oracle of notebook 41);
# - **locality**: the smallest, over the 7 regions, of the region walk's mean change inside the region
#   divided by its mean change outside it.
#
# Dotted lines mark the schedule's changes (`pipeline.restarts`): a *warm restart* trains a finished
# model on under a longer schedule (the learning rate jumps up, then decays again), and the showcase's
# last stage adds the region-locality term (not in the paper; `docs/DEVELOPING.md`), which asks a
# region's style walk to move the pixels outside the region by at most a tenth of what it moves inside.
#
# The curves also tell a user how long to train before the style space is worth exploring.

# %% tags=["parameters"]
# Infrastructure (papermill sets these; the defaults run the quick profile by hand in JupyterLab)
profile = "quick"       # smoke | quick | showcase | paper (or a YAML file)
seed = 0
device = "auto"
data_root = ""          # "" -> $DEEPSEE_DATA, else data/
run_root = ""         # "" -> $DEEPSEE_RUNS, else runs/
out_dir = ""            # "" -> figures/ and results/ of the repository
interactive = True
overrides = []          # configuration overrides for every step, as `deepsee reproduce --set` takes them
# Science (None: the profile's value)
n_images = None         # test faces per snapshot (eval.emergence_images)
n_select = None         # of them, for diversity and selection (eval.emergence_select_images)
steps = None            # snapshot steps to measure, the final model always (eval.emergence_steps; empty: all)
noise_scale = None      # sigma of the samples (eval.oracle_scale)

# %%
from IPython.display import Markdown
from deepsee.data import spread_items
from deepsee.eval.style_usage import GOAL_SETS, emergence
from deepsee.pipeline import setup
from deepsee.viz import emergence_figure

P = setup(profile, seed=seed, device=device, data_root=data_root, run_root=run_root, out_dir=out_dir,
          interactive=interactive, overrides=overrides)
ev = P.cfg.eval
n_images, n_select = P.knob(n_images, "eval.emergence_images"), P.knob(n_select, "eval.emergence_select_images")
noise_scale = P.knob(noise_scale, "eval.oracle_scale")
steps = P.knob(steps, "eval.emergence_steps")
snaps = P.snapshots("independent", steps)
print(P, "\nsnapshots at steps:", ", ".join(str(s) for s, _ in snaps))

# %% [markdown]
# ## The protocol at every snapshot

# %%
items = spread_items(P.split(masks="ground truth"), n_images)
perceptual = P.perceptual_metric()
rows = emergence(snaps, items, perceptual, select_items=items[:n_select],
                 region_delta=ev.usage_region_delta, global_delta=ev.usage_global_delta, k=ev.usage_samples,
                 scale=noise_scale, noise=ev.oracle_noise, select_n=ev.usage_select_n, seed=seed, device=P.device)
P.out.save_table(rows, "emergence", path=P.out.table_path("emergence"), images=len(items), select_images=n_select,
             noise_scale=noise_scale, samples=ev.usage_samples, select_n=ev.usage_select_n)
rows

# %%
P.out.save_figure(emergence_figure(rows, GOAL_SETS[ev.usage_goals], images_per_step=len(items),
                               title=P.out.title(extra="independent model"), marks=P.stage_marks()), "fig_emergence");

# %% [markdown]
# ## This run

# %%
first, last = rows.iloc[0], rows.iloc[-1]
Markdown(f"From step {int(first.step)} to step {int(last.step)}: global walk {first.global_walk:.4f} -> "
         f"{last.global_walk:.4f}, diversity {first.diversity_l1:.4f} -> {last.diversity_l1:.4f}, selection gain "
         f"{first.selection_gain:.1%} -> {last.selection_gain:.1%}, LR-style PSNR {first.psnr_lr_style:.2f} -> "
         f"{last.psnr_lr_style:.2f} dB ({len(rows)} snapshots, {len(items)} faces each).")
