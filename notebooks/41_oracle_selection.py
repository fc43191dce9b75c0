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
# # 41 · Oracle selection: the best of many solutions (Figs. 5, 6, 7)
#
# **Reproduces** supplement Section 3.1 and Figs. 5-7: how good the best of $n$ random solutions is,
# when an oracle that knows the ground truth picks it.
#
# **Protocol.** For each test image, $K$ styles are sampled around the predicted style $S$:
#
# $$S_i = \mathrm{clamp}(S + \sigma\,\epsilon_i,\,-1,\,1), \qquad \epsilon_i \sim \mathcal N(0, I)\ \text{(seeded per sample)},\quad i = 1..K,$$
#
# every solution is scored against the ground truth (the perceptual metric, lower is better; SSIM,
# higher is better), and for $n \in \{1, 10, 100, 1000\}$ the **expected best of $n$** random solutions is
# computed exactly from the order statistics of the $K$ scores. Fig. 5 shows the picks of one draw for
# $n$ = 10, 100, 1000; Figs. 6-7 the cloud of all $K$ (perceptual, SSIM) pairs with the picks marked.
# A model whose style space matters has wide clouds and best-of-$n$ curves that fall (perceptual) or
# rise (SSIM) with $n$.
#
# **Consistent samples** (beyond the paper; issue 33). The same $K$ styles, each output projected onto the
# images whose downscaling is the LR input, $\hat x' = \hat x + D^\top(DD^\top)^{-1}(y - D\hat x)$: every
# candidate then explains the input exactly, and only what the downscaling discards is left to choose.

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
K = None                # solutions per image (eval.oracle_samples; the paper 1000)
n_images = None         # test images (eval.oracle_images; the paper 12)
noise = None            # distribution of epsilon (eval.oracle_noise: gaussian | uniform)
scale = None            # sigma (eval.oracle_scale)
ns = [1, 10, 100, 1000] # best-of-n sizes (those up to K)
fig5_rows = 3           # faces in Fig. 5
image_seed = 41         # draw of the images (added to seed)

# %%
from IPython.display import Markdown
from deepsee.data import sample_items
from deepsee.paper.oracle import best_of_rows, oracle_study
from deepsee.metrics import ssim
from deepsee.pipeline import setup
from deepsee.viz import best_of_figure, best_of_n_curve_figure, oracle_cloud_figure

P = setup(profile, seed=seed, device=device, data_root=data_root, run_root=run_root, out_dir=out_dir,
          interactive=interactive, overrides=overrides)
K, n_images = P.knob(K, "eval.oracle_samples"), P.knob(n_images, "eval.oracle_images")
noise, scale = P.knob(noise, "eval.oracle_noise"), P.knob(scale, "eval.oracle_scale")
perceptual = P.perceptual_metric()
model = P.load_model("independent")
items = sample_items(P.split(), n_images, seed + image_seed)
print(P, f"\nK = {K}, {len(items)} images, {noise} noise, scale {scale}, metric {perceptual.name}")

# %%
study = oracle_study(model, items, {"ssim": ssim, "perceptual": perceptual}, K=K, ns=ns, noise=noise, scale=scale,
                     seed=seed, device=P.device, also_consistent=True, antialias=P.cfg.data.antialias)
curves = study["curves"]
P.out.save_table(curves, "best_of_n", path=P.out.table_path("oracle_best_of_n"), protocol=study["protocol"],
             perceptual_metric=perceptual.name)
curves.groupby(["metric", "n"])["value"].mean().unstack("n")

# %% [markdown]
# ## Figs. 6 and 7: every solution's scores, picks marked

# %%
for by, name in (("perceptual", "fig06_oracle_perceptual"), ("ssim", "fig07_oracle_ssim")):
    P.out.save_figure(oracle_cloud_figure(study["clouds"], by=by, perceptual_name=perceptual.name,
                                      title=P.out.title(extra=f"K = {K} samples per image")),
                  name, protocol=study["protocol"])

# %% [markdown]
# ## Fig. 5: the best of 10, 100, 1000 by the perceptual metric

# %%
rows = best_of_rows(model, items, study, metric="perceptual", n_rows=fig5_rows, device=P.device)
P.out.save_figure(best_of_figure(rows, metric_name=perceptual.name, title=P.out.title()), "fig05_best_of", protocol=study["protocol"]);

# %% [markdown]
# ## Best of n, averaged over the images

# %%
P.out.save_figure(best_of_n_curve_figure(curves, title=P.out.title()), "oracle_best_of_n_curves");

# %% [markdown]
# ## Consistent samples beside the plain ones
# The same solutions (scored above, in the same pass), each projected onto the consistent images: the
# best-of-$n$ curves of both forms, and Fig. 5's picks among the consistent solutions.

# %%
import pandas as pd
study_c = study["consistent"]       # the same solutions, scored after the projection
curves_c = study_c["curves"]
P.out.save_table(curves_c, "best_of_n_consistent", path=P.out.table_path("oracle_best_of_n_consistent"),
             protocol=study_c["protocol"], perceptual_metric=perceptual.name,
             projection="deepsee.data.degradation.project_consistent")
P.out.save_figure(best_of_n_curve_figure(curves, second=curves_c, title=P.out.title(extra="plain (solid) and consistent (dashed) solutions")),
              "oracle_best_of_n_curves_consistent");

# %%
rows_c = best_of_rows(model, items, study_c, metric="perceptual", n_rows=fig5_rows, device=P.device)
P.out.save_figure(best_of_figure(rows_c, metric_name=perceptual.name, title=P.out.title(extra="consistent samples")),
              "fig05_best_of_consistent", protocol=study_c["protocol"])
curves = pd.concat([curves, curves_c])

# %% [markdown]
# ## This run

# %%
mean = curves.groupby(["metric", "n"])["value"].mean()
lines = []
for metric in mean.index.levels[0]:
    v = mean[metric]
    lines.append(f"- **{metric}**: best of 1 {v.iloc[0]:.4f} → best of {v.index[-1]} {v.iloc[-1]:.4f} "
                 f"({100 * (v.iloc[-1] - v.iloc[0]) / abs(v.iloc[0]):+.1f}%)")
Markdown("\n".join(lines))
