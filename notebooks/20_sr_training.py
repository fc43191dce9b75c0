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
# # 20 · SR training: the independent and guided models, the ablation variants, the 32x model
#
# **Reproduces** the training of supplement Section 2 (losses, Eqs. 3-8; training details, Section 2.2)
# for every model the later notebooks use, at the profile's budget in **steps** (the same numbers on
# every machine; a slower CPU only takes longer).
#
# **Losses.** With real HR images $x$ and outputs $\hat x$, a two-scale discriminator $D$ with the
# hinge loss (Eqs. 3-4), discriminator feature matching over layers 2-4 (Eq. 5) and a VGG-19
# perceptual loss with weights $\mathbf w = [\tfrac1{32}, \tfrac1{16}, \tfrac18, \tfrac14, 1]$ (Eq. 6):
#
# $$\mathcal L_{adv} = -\mathbb E_{\hat x}[D(\hat x)], \qquad
#   \mathcal L_{adv_D} = -\mathbb E_x[\min(0, D(x)-1)] - \mathbb E_{\hat x}[\min(0, -D(\hat x)-1)]$$
#
# $$\mathcal L_{feat} = \mathbb E\Big[\sum_{i=2}^{4}\|F^{(i)}_D(x) - F^{(i)}_D(\hat x)\|_1\Big], \qquad
#   \mathcal L_{vgg} = \mathbb E\Big[\sum_{i=1}^{5} w_i \|F^{(i)}_{vgg}(x) - F^{(i)}_{vgg}(\hat x)\|_1\Big]$$
#
# $$\mathcal L_G = \mathcal L_E = \mathcal L_{adv} + \lambda_{feat}\mathcal L_{feat} + \lambda_{vgg}\mathcal L_{vgg}
#   \;(+\lambda_{L1}\|x - \hat x\|_1), \qquad \mathcal L_D = \mathcal L_{adv_D}$$
#
# with $\lambda_{feat} = \lambda_{vgg} = 10$ ($\lambda_{L1}$ is the quick profile's addition, 0 in the paper).
# Without the ImageNet VGG-19 weights the perceptual term is a labelled substitute (the run's
# `run_info.json` and every figure's sidecar say which).
#
# **Style input per step.** *Independent*: a fair coin picks the LR encoder on the LR image or the HR
# encoder on the ground truth (`train.hr_style_share`, 0.5 in the paper), and in half of the steps
# uniform noise $U(-\delta, \delta)$, $\delta = 0.2$, is added to the style. *Guided*: the HR encoder on
# another image of the same person, always with noise $\delta = 0.05$. Ablations: prior-only (no style,
# no mask), semantics-only (mask, no style), LR-style-only, HR-style-only.
#
# **Optimiser and schedule.** Adam ($\beta_1 = 0$, $\beta_2 = 0.9$), learning rates $10^{-4}$ (G and HR /
# shared encoders), $2.5\cdot10^{-5}$ (LR encoder), $4\cdot10^{-4}$ (D); constant, then linear decay to 0
# over the last part (the paper: the last 3 of 8 epochs on CelebA).

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
retrain = False         # showcase profile: train the main models again instead of taking the shipped ones
# Science (None: the profile's value)
variants = None         # e.g. ["independent", "guided", "prior_only", ...] (pipeline.variants)
main_steps = None       # steps of the independent and guided models (pipeline.main_steps)
ablation_steps = None   # steps of each ablation variant (pipeline.ablation_steps)
extreme_steps = None    # steps of the 32x model (pipeline.extreme_steps)
hr_style_share = None   # independent: share of steps with the HR encoder's style (train.hr_style_share)
lambda_l1 = None        # weight of the pixel L1 term (train.lambda_l1; 0 in the paper)
workers = None          # trainings side by side (pipeline.train_workers), each with train_threads threads

# %%
from IPython.display import Markdown
import pandas as pd
from deepsee.config import MAIN_VARIANTS
from deepsee.pipeline import knob_overrides, setup
from deepsee.viz import read_stats, training_curves_figure

P = setup(profile, seed=seed, device=device, data_root=data_root, run_root=run_root, out_dir=out_dir,
          interactive=interactive, overrides=overrides + knob_overrides({
              "pipeline.variants": variants, "pipeline.main_steps": main_steps,
              "pipeline.ablation_steps": ablation_steps, "pipeline.extreme_steps": extreme_steps,
              "train.hr_style_share": hr_style_share, "train.lambda_l1": lambda_l1,
              "pipeline.train_workers": workers}))
print(P)

# %% [markdown]
# ## The trainings
# One row per model, the longest first: the workers take them in this order.

# %%
jobs = P.sr_jobs()
table = pd.DataFrame([{"model": k, "profile": c.profile, "variant": c.model.variant, "factor": f"{c.model.factor}x",
                      "steps": c.train.schedule_steps or c.train.max_steps, "batch": c.train.batch_size, "hr_style_share": c.train.hr_style_share,
                      "lambda_l1": c.train.lambda_l1, "style_pool": c.model.style_pool,
                      "lambda_l1_final": c.train.lambda_l1_final,
                      "masks": "predicted" if c.data.mask_dir else "ground truth",
                      "source": "shipped (pretrained/showcase)" if P.takes_shipped(k, retrain)
                                else "trained here"} for k, c in ((j.key, j.cfg) for j in jobs)])
table

# %% [markdown]
# Train (or, for the showcase profile's main models, take the shipped, checksum-verified models; `retrain=True`
# trains them again: `deepsee reproduce --profile showcase --retrain`).

# %%
runs = P.train_sr_models(retrain)

# %% [markdown]
# ## Training curves
# $\mathcal L_G$ (Eq. 7, with the profile's extra terms) and $\mathcal L_D$ (Eq. 8) per logging interval.
# With the hinge loss $\mathcal L_D \approx 2$ means the discriminator cannot tell fakes from reals.

# %%
main = {k: v for k, v in runs.items() if k in MAIN_VARIANTS}
P.out.save_figure(training_curves_figure(main, keys=["g_total", "d_total"], title=P.out.title(extra="main models")),
              "sr_training_curves");

# %%
others = {k: v for k, v in runs.items() if k not in main}
if others:
    P.out.save_figure(training_curves_figure(others, keys=["g_total", "d_total"],
                                         title=P.out.title(extra="ablation variants and the 32x model")),
                  "sr_training_curves_other");

# %% [markdown]
# ## This run

# %%
last = {k: read_stats(v).iloc[-1] for k, v in runs.items()}
Markdown("\n".join(f"- **{k}**: {int(s['step'])} steps, final $\\mathcal L_G$ {s['g_total']:.3f}, "
                   f"$\\mathcal L_D$ {s['d_total']:.3f}" for k, s in last.items())
         + f"\n\nPerceptual loss used: {'; '.join(P.state.perceptual_losses) or 'none'}.")
