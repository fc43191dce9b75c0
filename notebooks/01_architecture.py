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
# # 01 · Architecture: Tables 1-4 from the kit's own networks
#
# **Reproduces** supplementary Tables 1-4 (Section 1): the layers, strides, parameter counts and output
# shapes of the LR style encoder, the HR style encoder, the shared style encoder and the 8x generator,
# counted from the kit's modules built at the paper's widths (no forward pass), beside the paper's numbers.
#
# **Regional average pooling** (Eqs. 1-2). The shared encoder's features $F \in [-1,1]^{H_{fm}\times W_{fm}\times d}$
# are averaged per semantic region $R_n$ of the mask resized to the feature map:
#
# $$R_n = \{(x,y) \mid M^{\text{resized}}_{x,y,n} = 1\}, \qquad
#   S_{n,k} = \frac{1}{H_{fm} W_{fm}} \sum_{(x,y)\in R_n} F_{x,y,k},$$
#
# giving the style matrix $S \in [-1,1]^{N\times d}$, one row per region ($N = 19$, $d = 128$).
# Eq. 2 divides by the whole map's size, as the released code does (`model.style_pool: eq2`); the
# quick profile divides by the region's own size instead (`region`), so small regions' rows are not
# ~50x smaller than the style noise (README, "Style usage").
#
# **Generator.** A semantics-only residual block at LR size, then residual blocks that upsample 2x each;
# every block's normalisation is modulated by the mask (SPADE) and by the style matrix broadcast over its
# regions (Fig. 1 of the supplement), a convolution and `tanh` map to RGB.

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
model_profile = "paper"  # the widths counted: the paper profile (C 512, d 128, 16 -> 128 px)

# %%
from IPython.display import Markdown, display
from deepsee.config import load_config
from deepsee.models.summary import architecture_tables
from deepsee.pipeline import setup

P = setup(profile, seed=seed, device=device, data_root=data_root, run_root=run_root, out_dir=out_dir,
          interactive=interactive, overrides=overrides)
TABLES = {"table1": ("table1_lr_style_encoder", "Table 1: LR style encoder"),
          "table2": ("table2_hr_style_encoder", "Table 2: HR style encoder"),
          "table3": ("table3_shared_style_encoder", "Table 3: shared style encoder"),
          "table4": ("table4_generator_8x", "Table 4: generator, 8x")}

# %% [markdown]
# ## Tables 1-4
# `params` and `output_shape` are counted from the kit's modules; `paper_*` are the supplement's
# numbers; `match` compares them row by row.

# %%
tables = architecture_tables(load_config(model_profile).model)
for key, df in tables.items():
    name, caption = TABLES[key]
    P.out.save_table(df, name, path=P.out.results_dir / f"{name}_{model_profile}-config.csv", model_config=f"{model_profile} 8x")
    display(Markdown(f"**{caption}**"), df)

# %% [markdown]
# ## This run

# %%
lines = []
for key, df in tables.items():
    total = df[df["layer"] == "total"].iloc[0]
    ok = (df["match"] == "yes").sum()
    lines.append(f"- {TABLES[key][1]}: {int(total['params']):,} parameters (paper {int(total['paper_params']):,}); "
                 f"{ok} of {len(df)} rows match")
Markdown("\n".join(lines))
