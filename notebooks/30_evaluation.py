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
# # 30 · Evaluation: Tables 6 and 7, explorative metrics, style usage
#
# **Reproduces** supplement Section 2.3 ("Testing") and Tables 6-7: PSNR, SSIM, LPIPS and FID of the
# kit's models and of bicubic upsampling on the test split, with the paper's quoted rows beside the
# measured ones. The guided model reads its style from another image of the same person, so it is
# scored on the test images whose person has a second image.
#
# **Metrics** (images in $[0, 1]$): $\mathrm{PSNR} = 10\log_{10}\big(1/\mathrm{MSE}(x, \hat x)\big)$;
# SSIM with a Gaussian window ($\sigma = 1.5$); LPIPS (AlexNet features; lower is better) when its
# weights are present, else the labelled weight-free substitute **TexStatDist**, which compares local
# band-energy statistics and, like LPIPS, prefers plausible detail to blur (its known-answer test:
# `deepsee.metrics.known_answer`); FID between the outputs and the ground truths (Inception features;
# needs its weights and many images, so off in the CPU profiles).
#
# **Style usage and the explorative metrics** (does the model use its style space?, README "Style usage"): the
# oracle style (HR encoder on the ground truth) against the LR encoder's style; ±2δ walks per region and over
# all rows; diversity; best-of-$n$ selection gain. Each row states its goal and whether this run meets it.
# Every pixel change is in one unit, $c(a, b) = \tfrac12\,\overline{|a - b|}_{RGB}$ (images in $[-1, 1]$, so
# $c \in [0, 1]$). *Diversity*: $K$ styles $S_i = \mathrm{clamp}(S + \sigma\,\epsilon_i, -1, 1)$,
# $\epsilon_i \sim \mathcal N(0, I)$, around the LR style; the mean of $c(x_i, x_j)$ over all pairs, overall
# and per region. *Region control*: one region's rows walked to $\pm 2\delta$; the mean of $c$ between each end
# and the output at the LR style, inside the region and outside it, and the ratio inside / outside (a local
# walk changes little outside: higher is better). A diagnostic splits the outside change into the band of one
# LR pixel ($f$ HR pixels) around the region and the rest: the generator's first blocks read the mask at
# the LR size, so a walk also moves that band, which the LR input cannot tell apart from the region.
#
# **Consistency with the input** (beyond the paper; issue 33). An answer is a candidate for the truth only
# if, degraded as the input was, it gives the input back. With $D$ the dataset's bicubic downscaling,
# $\mathrm{LR\text{-}PSNR}(\hat x, y) = 10\log_{10}\big(1/\mathrm{MSE}(D\hat x, y)\big)$ (images in $[0, 1]$); the NTIRE 2021
# challenge on the SR space asks for at least 45 dB. Every row of Tables 6-7 carries it. The **consistency
# projection** (Bahat and Michaeli 2020) maps any output to the nearest consistent image,
# $$\hat x' = \hat x + D^\top (D D^\top)^{-1} (y - D\hat x),$$
# exactly (the bicubic operator is separable: two small pseudo-inverses per size), with alternating
# projections onto $[-1, 1]$; each model also gets a "consistent" row. The **NTIRE 2021 protocol**: 10
# samples per image, a spatial perceptual map $d_i(p)$ of each against the ground truth, and the diversity
# score $100\,(\min_i \bar d_i - \overline{\min_i d_i}) / \min_i \bar d_i$ (global best against local best).

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
max_images = None       # test images scored for Tables 6-7 (eval.max_images; 0: all)
fid = None              # compute FID (eval.fid; needs the Inception weights)
diversity_k = None      # samples per image for diversity (eval.usage_samples)
consistent = True       # Tables 6-7 also score each model's outputs projected onto the consistent images
noise_scale = None      # sigma of the sampled styles (eval.oracle_scale)

# %%
from IPython.display import Markdown, display
from deepsee.config import MAIN_VARIANTS
from deepsee.data import spread_items
from deepsee.eval import table6, table7
from deepsee.eval.methods import evaluate_methods
from deepsee.eval.style_usage import GOAL_SETS, style_usage
from deepsee.pipeline import setup

P = setup(profile, seed=seed, device=device, data_root=data_root, run_root=run_root, out_dir=out_dir,
          interactive=interactive, overrides=overrides)
max_images, fid = P.knob(max_images, "eval.max_images"), P.knob(fid, "eval.fid")
diversity_k, noise_scale = P.knob(diversity_k, "eval.usage_samples"), P.knob(noise_scale, "eval.oracle_scale")
perceptual = P.perceptual_metric()
print(P, "\nperceptual metric:", perceptual.name)

# %% [markdown]
# ## Table 6: 8x on the configured dataset
# Test split with the **predicted** masks of notebook 10.

# %%
test, guided_test = P.split(), P.split(guided=True)
models = {v: P.load_model(v) for v in MAIN_VARIANTS if P.has_model(v)}
antialias = P.cfg.data.antialias      # the degradation that made the LR inputs (LR-PSNR and the projection use it)
rows, per_image = evaluate_methods(models, test, guided_test, perceptual=perceptual, max_images=max_images or None,
                                   fid=fid, device=P.device, weights={v: f"trained: {P.sr_run(v)}" for v in models},
                                   consistent=consistent, antialias=antialias)
for label, df in per_image.items():
    if label in models:
        df.to_csv(P.run_root / f"pipeline-{P.profile}" / f"eval_test_per_image_{label}.csv", index=False)
t6 = table6(rows, profile=P.profile, dataset=P.dataset)
P.out.save_table(t6, "table6", path=P.out.results_dir / f"table6_{P.dataset}_8x_{P.profile}.csv")
t6

# %% [markdown]
# ### Faces from another generator seed
# With `eval.holdout_seed` set (the showcase profile: seed 1), the independent model and bicubic are also
# scored on SynthFaces drawn with that seed: people, poses and textures that neither training nor any
# recipe choice has seen (masks predicted by the same segmenter). A model that only memorised its
# training faces would fall back towards bicubic here.

# %%
holdout = P.holdout_seed_faces()
if holdout is not None:
    h_rows, _ = evaluate_methods({"independent": models["independent"]}, holdout, perceptual=perceptual,
                                 fid=False, device=P.device, weights={"independent": f"trained: {P.sr_run('independent')}"})
    for r in h_rows:
        r.update(dataset=f"SynthFaces seed {P.cfg.eval.holdout_seed}",
                 note=f"{r.get('note', '')}; faces drawn with SynthFaces seed {P.cfg.eval.holdout_seed} (never trained on)")
    t6h = table6(h_rows, profile=P.profile, dataset=P.dataset)
    t6h = t6h[t6h.source == "measured"]
    P.out.save_table(t6h, "table6_holdout", path=P.out.results_dir / f"table6_{P.dataset}-seed{P.cfg.eval.holdout_seed}_8x_{P.profile}.csv",
                 holdout_seed=P.cfg.eval.holdout_seed, images=len(holdout))
    display(t6h)
else:
    print("eval.holdout_seed < 0: no held-out-seed evaluation for this profile")

# %% [markdown]
# ## Table 7: 32 → 256 px (CelebAMask-HQ's setting)
# Bicubic is measured whenever the dataset has 256 px images; the kit's models at this setting are
# trained by the `paper-celebamaskhq-8x` profile only.

# %%
cfg7 = P.config(masks="ground truth")
t7_rows = []
if not (P.dataset == "synthfaces" and cfg7.data.synth_size < 256):
    from deepsee.data import build_dataset
    cfg7.data.hr_size, cfg7.data.lr_size = 256, 32
    t7_rows, _ = evaluate_methods({}, build_dataset(cfg7, "test"), perceptual=perceptual,
                                  max_images=max_images or None, fid=fid, device=P.device, antialias=antialias)
t7 = table7(t7_rows, profile=P.profile, dataset=P.dataset)
P.out.save_table(t7, "table7", path=P.out.results_dir / f"table7_{P.dataset}_8x_{P.profile}.csv")
t7[t7.source == "measured"] if t7_rows else t7.head(3)

# %% [markdown]
# ## Style usage and the explorative metrics of the independent model
# Test split with the **ground-truth** masks (the style's information, not the segmenter's errors).
# Information and region control on `eval.usage_images` images spread over the split; diversity and
# selection on the first `eval.usage_select_images` of them. Beside the summary, the per-image diversity and
# region-control tables it is computed from.

# %%
ev, model = P.cfg.eval, P.load_model("independent")
usage_items = spread_items(P.split(masks="ground truth"), ev.usage_images)
select_items = usage_items[:ev.usage_select_images]
parts = style_usage(model, usage_items, perceptual, select_items=select_items, region_delta=ev.usage_region_delta,
                    global_delta=ev.usage_global_delta, k=diversity_k, scale=noise_scale, noise=ev.oracle_noise,
                    select_n=ev.usage_select_n, seed=seed, device=P.device, goals=GOAL_SETS[ev.usage_goals])
protocol = dict(masks="ground truth", images=len(usage_items), select_images=len(select_items), samples=diversity_k,
                select_n=ev.usage_select_n, noise_scale=noise_scale, region_delta=ev.usage_region_delta,
                global_delta=ev.usage_global_delta, perceptual_metric=perceptual.name,
                change_unit="[0, 1] (deepsee.metrics.explorative.change_map)")
usage = parts["summary"]
P.out.save_table(usage, "style_usage", path=P.out.table_path("style_usage"), goals=GOAL_SETS[ev.usage_goals],
             goal_set=ev.usage_goals, **protocol)
P.out.save_table(parts["diversity"], "diversity", path=P.out.table_path("diversity"), **protocol)
P.out.save_table(parts["region_control"], "region_control", path=P.out.table_path("region_control"), **protocol)
usage[usage.goal.notna()]

# %% [markdown]
# ## Consistency with the input: what the projection does (issue 33)
# The style-usage protocol and the NTIRE protocol on the first `eval.consistency_images` of the style-usage
# faces (selection and the NTIRE score on the first `eval.consistency_select_images`), each without and with
# the projection; the plain half is the style-usage run above cut down to these faces (the same numbers, as
# every image's rows depend only on it and its sample stream). The projection removes whatever part of a walk
# or sample the LR image shows; the last rows give, per region, the share of a walk's change inside the region
# that survives it.

# %%
from deepsee.eval.consistency import consistency_study, ntire_table
cons_items = usage_items[:ev.consistency_images]
study = consistency_study(model, cons_items, cons_items[:ev.consistency_select_images], perceptual, k=diversity_k,
                          scale=noise_scale, select_n=ev.usage_select_n, region_delta=ev.usage_region_delta,
                          global_delta=ev.usage_global_delta, ntire_k=ev.ntire_samples, seed=seed, antialias=antialias,
                          device=P.device, plain=parts if ev.oracle_noise == "gaussian" else None)
P.out.save_table(study["effect"], "consistency", path=P.out.table_path("consistency"), masks="ground truth",
             images=len(cons_items), select_images=min(len(cons_items), ev.consistency_select_images),
             samples=diversity_k, select_n=ev.usage_select_n, ntire_samples=ev.ntire_samples, noise_scale=noise_scale,
             perceptual_metric=perceptual.name, projection="deepsee.data.degradation.project_consistent")
study["effect"]

# %% [markdown]
# ### The NTIRE 2021 table
# `eval.ntire_images` test faces with the **predicted** masks (the test protocol), `eval.ntire_samples`
# samples each; the challenge's rows (another dataset, MATLAB's bicubic, LPIPS) are quoted beside them.

# %%
ntire_items = spread_items(test, ev.ntire_images)
lr_styled = {v: m_ for v, m_ in models.items() if m_.test_time_source == "lr"}
nt, _ = ntire_table(lr_styled, ntire_items, perceptual, k=ev.ntire_samples, scale=noise_scale, seed=seed,
                    antialias=antialias, dataset=f"{P.dataset} test, predicted masks", device=P.device)
P.out.save_table(nt, "ntire21", path=P.out.results_dir / f"ntire21_{P.dataset}_8x_{P.profile}.csv", images=len(ntire_items),
             samples=ev.ntire_samples, noise_scale=noise_scale, perceptual_metric=perceptual.name,
             diversity_map=f"{perceptual.name}, spatial form")
nt

# %% [markdown]
# ## This run

# %%
m = t6[t6.source == "measured"].set_index("method")
goals = usage[usage.met != ""]
eff = study["effect"]
lines = [f"- **{k}**: PSNR {r.psnr:.2f} dB, SSIM {r.ssim:.3f}, {perceptual.name} {r.lpips:.3f}, LR-PSNR "
         f"{r.lr_psnr:.1f} dB (worst {r.lr_psnr_worst:.1f})" for k, r in m.iterrows()]
lines.append(f"- style usage: {int((goals.met == 'yes').sum())} of {len(goals)} goals met "
             f"({', '.join(goals[goals.met == 'no'].measure.head(4)) or 'all'} not met)"
             if (goals.met == "no").any() else f"- style usage: all {len(goals)} goals met")
cg = eff[eff.met != ""]
lines.append(f"- with the consistency projection: {int((cg.met == 'yes').sum())} of {len(cg)} goals met"
             + (f" (not met: {', '.join(cg[cg.met == 'no'].measure)})" if (cg.met == "no").any() else ""))
Markdown("\n".join(lines))
