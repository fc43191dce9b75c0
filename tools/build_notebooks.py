"""Write notebooks/NN_*.ipynb from the cell sources below (run after editing: python tools/build_notebooks.py).

Notebooks stay thin: a markdown header, a tagged ``parameters`` cell, then a few calls into deepsee.
They are committed without outputs; executed copies go to runs/reproduce-<profile>/executed.
"""
from __future__ import annotations

from pathlib import Path

import nbformat as nbf

ROOT = Path(__file__).resolve().parent.parent
NB_DIR = ROOT / "notebooks"

PARAMS = '''# Parameters (papermill overrides these; defaults run the quick profile by hand in JupyterLab)
profile = "quick"
seed = 0
device = "auto"
data_root = ""      # "" -> $DEEPSEE_DATA or data/
run_root = "runs"
out_dir = ""        # "" -> figures/ and results/ of the repository
interactive = True
overrides = []      # config overrides for every step, e.g. ["pipeline.main_steps=400"]
'''

SETUP = '''import deepsee
from deepsee.pipeline import setup
P = setup(profile, seed=seed, device=device, data_root=data_root, run_root=run_root,
          out_dir=out_dir, interactive=interactive, overrides=overrides)
print(P.cfg.profile, P.device, P.dataset)'''

NOTEBOOKS: dict[str, tuple[str, list[str]]] = {}


def nb(name: str, title: str, *cells: str) -> None:
    NOTEBOOKS[name] = (title, list(cells))


nb("00_data", "# 00 Data: dataset check and sample grid\nGenerates SynthFaces (the built-in dataset) when it is the configured dataset, checks the dataset and draws a sample grid.",
   '''from deepsee.notebook_steps import data_step
info = data_step(P)
info''')

nb("01_architecture", "# 01 Architecture: Tables 1-4 from the kit's own models\nBuilds the paper configuration (no forward pass at full size) and regenerates Tables 1-4 (layer, stride, #params, output shape) beside the paper's numbers.",
   '''from deepsee.notebook_steps import architecture_step
tables = architecture_step(P)
for name, df in tables.items():
    print(name); display(df)''')

nb("10_segmenter", "# 10 Segmenter: train, Table 5, Fig. 2\nDeepLabV3+ predicting HR masks from LR faces (Section 1.4). Then predicts masks for every split: the SR models train and test on predicted masks, as in the paper.",
   '''from deepsee.notebook_steps import segmenter_step
out = segmenter_step(P)
display(out["table"])''')

nb("20_sr_training", "# 20 SR training: independent, guided and the ablation variants\nTrains every variant with the profile's budget (Section 2.2), then the 32x model used by notebooks 42-43.",
   '''from deepsee.notebook_steps import sr_training_step
runs = sr_training_step(P)
runs''')

nb("30_evaluation", "# 30 Evaluation: Tables 6 and 7 (and their counterparts on the configured dataset)\nPSNR, SSIM, LPIPS (or the labelled substitute when its weights are absent), FID when available; quoted rows beside measured ones. Also the explorative metrics (diversity, region leakage).",
   '''from deepsee.notebook_steps import evaluation_step
tables = evaluation_step(P)
for name, df in tables.items():
    print(name); display(df)''')

nb("40_style_space", "# 40 Style space: Figs. 3, 4 and 10\nStyle walks (style from the LR image, five solutions, -2d..+2d with d = 0.15 on all rows, middle unchanged) and one region's rows changed at a time.",
   '''from deepsee.notebook_steps import style_space_step
paths = style_space_step(P)
paths''')

nb("41_oracle_selection", "# 41 Oracle selection: Figs. 5, 6, 7 and best-of-n curves\n12 test images, K style samples each (Section 3.1), best of 1/10/100/1000 by the perceptual metric and by SSIM.",
   '''from deepsee.notebook_steps import oracle_step
out = oracle_step(P)
display(out["curves"].head())''')

nb("42_semantic_manipulation", "# 42 Semantic manipulation: Figs. 8, 9 and 16\nEdits of predicted masks with package functions (close eyes, open/close the mouth in steps, remove glasses, add hair, remove brows, hair to skin).",
   '''from deepsee.notebook_steps import manipulation_step
paths = manipulation_step(P)
paths''')

nb("43_extreme_sr", "# 43 Extreme SR: Figs. 14, 15 and 17\n32x upscaling; Fig. 17 on other face images read from an image folder.",
   '''from deepsee.notebook_steps import extreme_step
paths = extreme_step(P)
paths''')

nb("44_ablation", "# 44 Ablation: Fig. 18\nprior-only, LR-style-only, HR-style-only, semantics-only, independent, guided, ground truth.",
   '''from deepsee.notebook_steps import ablation_step
paths = ablation_step(P)
paths''')

nb("45_comparisons", "# 45 Comparisons and other domains: Figs. 11-13 and 19\nThe methods the kit can run (bicubic, independent, guided with its guide image); the other methods' quoted numbers are in Tables 6-7. Fig. 19 needs ADE20K outdoor scenes.",
   '''from deepsee.notebook_steps import comparison_step
paths = comparison_step(P)
paths''')

nb("90_explorer", "# 90 Explorer\nA live view of one test input: per-region style sliders, a global walk slider, noise sampling with a seed, a gallery with best-by-metric highlighting, mask editing, reset and export. Under papermill the controls are driven through their callbacks and a snapshot is saved.",
   '''from deepsee.notebook_steps import explorer_step
ex, log = explorer_step(P, face_image=face_image, image_index=image_index)
print(log)''',
   '''if interactive:
    display(ex.widget)''')


# Parameters of one notebook only (appended to its parameters cell).
EXTRA_PARAMS = {
    "90_explorer": '\nface_image = ""     # a photo of your own face (aligned, square; made LR like the data), or ""\n'
                   'image_index = -1    # else this test-split image (-1: a seeded random one)\n',
}


def build() -> list[Path]:
    NB_DIR.mkdir(exist_ok=True)
    written = []
    for name, (title, cells) in NOTEBOOKS.items():
        n = nbf.v4.new_notebook()
        n.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        n.metadata["language_info"] = {"name": "python"}
        n.cells.append(nbf.v4.new_markdown_cell(title))
        p = nbf.v4.new_code_cell(PARAMS + EXTRA_PARAMS.get(name, ""))
        p.metadata["tags"] = ["parameters"]
        n.cells.append(p)
        n.cells.append(nbf.v4.new_code_cell(SETUP))
        for c in cells:
            n.cells.append(nbf.v4.new_code_cell(c))
        for i, c in enumerate(n.cells):
            c["id"] = f"{name}-{i}"
        path = NB_DIR / f"{name}.ipynb"
        nbf.write(n, path)
        written.append(path)
    return written


if __name__ == "__main__":
    for p in build():
        print(p.relative_to(ROOT))
