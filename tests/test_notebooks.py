"""The notebooks: their reviewable sources are in sync, they read as the supplement's chapters, and every
one runs top to bottom under papermill on the smoke profile, writes what it promises, renders its figures
and tables inline, and is exported to HTML."""
import json
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image


# notebook -> files it must write (relative to out_dir), with the smoke conditions in their names
PROMISES = {
    "00": ["figures/fig00_samples_synthfaces_smoke.png", "results/class_frequencies_synthfaces_smoke.csv"],
    "01": ["results/table1_lr_style_encoder_paper-config.csv", "results/table4_generator_8x_paper-config.csv"],
    "10": ["results/table5_segmentation_synthfaces_smoke.csv", "results/table5_per_class_iou_synthfaces_smoke.csv",
           "figures/fig02_segmentation_synthfaces_smoke.png", "figures/seg_training_loss_synthfaces_smoke.png"],
    "20": ["figures/sr_training_curves_synthfaces_8x_smoke.png"],  # + the models 30-90 draw from
    "30": ["results/table6_synthfaces_8x_smoke.csv", "results/table7_synthfaces_8x_smoke.csv",
           "results/diversity_synthfaces_8x_smoke.csv", "results/region_control_synthfaces_8x_smoke.csv",
           "results/style_usage_synthfaces_8x_smoke.csv", "results/table6_synthfaces-seed1_8x_smoke.csv",
           "results/consistency_synthfaces_8x_smoke.csv", "results/ntire21_synthfaces_8x_smoke.csv"],
    "31": ["results/emergence_synthfaces_8x_smoke.csv", "figures/fig_emergence_synthfaces_8x_smoke.png"],
    "40": ["figures/fig03_style_walk_synthfaces_8x_smoke.png", "figures/fig04_style_walk_more_synthfaces_8x_smoke.png",
           "figures/fig10_region_walk_consistent_synthfaces_8x_smoke.png",
           "figures/fig10_region_walk_synthfaces_8x_smoke.png"],
    "41": ["figures/fig05_best_of_synthfaces_8x_smoke.png", "figures/fig06_oracle_perceptual_synthfaces_8x_smoke.png",
           "figures/fig07_oracle_ssim_synthfaces_8x_smoke.png", "results/oracle_best_of_n_synthfaces_8x_smoke.csv",
           "figures/fig05_best_of_consistent_synthfaces_8x_smoke.png",
           "results/oracle_best_of_n_consistent_synthfaces_8x_smoke.csv"],
    "42": ["figures/fig08_manipulations_synthfaces_32x_smoke.png", "figures/fig09_manipulations_synthfaces_32x_smoke.png",
           "figures/fig16_open_mouth_synthfaces_32x_smoke.png", "results/edit_consistency_synthfaces_32x_smoke.csv"],
    "43": ["figures/fig14_extreme_sr_synthfaces_32x_smoke.png", "figures/fig15_extreme_sr_synthfaces_32x_smoke.png",
           "figures/fig17_image_folder_synthfaces_32x_smoke.png"],
    "44": ["figures/fig18_ablation_synthfaces_8x_smoke.png", "results/ablation_synthfaces_8x_smoke.csv",
           "results/ablation_orderings_synthfaces_8x_smoke.csv"],
    "45": ["figures/fig11_comparison_synthfaces_8x_smoke.png", "figures/fig13_comparison_landmark_methods_synthfaces_8x_smoke.png"],
    "46": ["figures/fig19_scenes_synthscenes_4x_smoke.png", "results/scenes_vs_bicubic_synthscenes_4x_smoke.csv",
           "results/style_usage_synthscenes_4x_smoke.csv", "figures/explorer_snapshot_synthscenes_4x_smoke.png"],
    "90": ["figures/explorer_snapshot_synthfaces_8x_smoke.png"],
}


NB_DIR = Path(__file__).resolve().parent.parent / "notebooks"


def _cells(nb):
    return [(c.cell_type, c.source.strip(), tuple(c.metadata.get("tags", []))) for c in nb.cells]


def test_every_notebook_pair_is_in_sync():
    """notebooks/NN_*.py (percent format, the reviewed source) and NN_*.ipynb (what papermill and
    JupyterLab run) hold the same cells; the .ipynb is committed without outputs. Fix: `make notebooks`."""
    import jupytext
    import nbformat
    scripts = sorted(NB_DIR.glob("[0-9][0-9]_*.py"))
    notebooks = sorted(NB_DIR.glob("[0-9][0-9]_*.ipynb"))
    assert [p.stem for p in scripts] == [p.stem for p in notebooks] and scripts
    for py, ipynb in zip(scripts, notebooks):
        a, b = jupytext.read(py), nbformat.read(ipynb, as_version=4)
        assert _cells(a) == _cells(b), f"{py.name} and {ipynb.name} differ: run `make notebooks`"
        for c in b.cells:
            if c.cell_type == "code":
                assert not c.outputs and c.execution_count is None, f"{ipynb.name} is committed with outputs"
        assert b.metadata.get("kernelspec", {}).get("name") == "python3", f"{ipynb.name} has no python3 kernelspec"


def test_notebooks_read_as_the_supplements_chapters():
    """A title that says what it reproduces, markdown before the steps, a parameters cell with
    scientific knobs next to the infrastructure ones, short code cells that call the package (no step
    module), and a closing cell computed from the run."""
    import jupytext
    infrastructure = {"profile", "seed", "device", "data_root", "run_root", "out_dir", "interactive", "overrides"}
    for py in sorted(NB_DIR.glob("[0-9][0-9]_*.py")):
        nb = jupytext.read(py)
        kinds = [c.cell_type for c in nb.cells]
        assert kinds[0] == "markdown" and nb.cells[0].source.startswith(f"# {py.name[:2]} ·"), py.name
        assert "Reproduces" in nb.cells[0].source or "counterpart" in nb.cells[0].source, py.name
        assert kinds.count("markdown") >= 2, py.name
        params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(params) == 1, py.name
        names = {line.split("=")[0].strip() for line in params[0].source.splitlines()
                 if "=" in line and not line.lstrip().startswith("#")}
        assert infrastructure <= names and names - infrastructure, f"{py.name}: no scientific knobs"
        code = [c.source for c in nb.cells if c.cell_type == "code" and c not in params]
        assert all(len(src.splitlines()) <= 16 for src in code), f"{py.name}: a code cell over 16 lines"
        assert "notebook_steps" not in py.read_text()
        assert nb.cells[-2].cell_type == "markdown" and "This run" in nb.cells[-2].source, py.name
        assert "Markdown(" in nb.cells[-1].source, f"{py.name}: the closing cell must be computed"


@pytest.fixture(scope="module")
def smoke_pipeline(tmp_path_factory):
    """The whole pipeline on the smoke profile, once for this module."""
    import subprocess
    import sys
    tmp = tmp_path_factory.mktemp("smoke-pipeline")
    proc = subprocess.run([sys.executable, "-m", "deepsee.cli", "reproduce", "--profile", "smoke",
                           "--run-root", str(tmp / "runs"), "--out-dir", str(tmp / "out"),
                           "--data-root", str(tmp / "data")], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    recs = json.loads((tmp / "runs" / "reproduce-smoke" / "timings.json").read_text())["notebooks"]
    return {"tmp": tmp, "out": tmp / "out", "records": recs, "log": (proc.stdout + proc.stderr).splitlines()}


@pytest.mark.slow
def test_every_notebook_runs_on_smoke_and_writes_its_outputs(smoke_pipeline):
    tmp_path, out, recs = smoke_pipeline["tmp"], smoke_pipeline["out"], smoke_pipeline["records"]
    assert [r["notebook"][:2] for r in recs] == sorted(PROMISES)
    for nb, files in PROMISES.items():
        for f in files:
            p = out / f
            assert p.is_file() and p.stat().st_size > 0, f"notebook {nb} did not write {f}"
            if p.suffix == ".png":
                im = Image.open(p)
                im.load()
                assert min(im.size) > 50
                assert p.with_suffix(".pdf").is_file()
            else:
                df = pd.read_csv(p)
                assert len(df) > 0
            assert json.loads(p.with_suffix(".meta.json").read_text())["profile"] in ("smoke", "")
    t6 = pd.read_csv(out / "results/table6_synthfaces_8x_smoke.csv")
    assert {"method", "psnr", "ssim", "lpips", "fid", "source"} <= set(t6.columns)
    assert set(t6.source) == {"quoted", "measured"}
    t5 = pd.read_csv(out / "results/table5_segmentation_synthfaces_smoke.csv")
    assert {"acc", "miou", "fwiou"} <= set(t5.columns)
    # no absolute path of this machine in what results/ and figures/ hold (deepsee.runs.portable)
    for p in [*(out / "results").iterdir(), *(out / "figures").glob("*.meta.json")]:
        if p.suffix in (".csv", ".json"):
            assert str(tmp_path) not in p.read_text(), f"{p.name} holds an absolute path"


@pytest.mark.slow
def test_executed_notebooks_show_figures_and_tables_inline_and_are_exported(smoke_pipeline):
    """Every figure a notebook saves is also shown in it, tables render as HTML tables, the closing
    cell renders, no cell wrote to stderr, and each has an HTML export with its images embedded."""
    import nbformat
    for rec in smoke_pipeline["records"]:
        nb = nbformat.read(rec["executed"], as_version=4)
        kinds, stderr = [], []
        for c in nb.cells:
            for o in c.get("outputs", []):
                if o.output_type == "stream" and o.name == "stderr":
                    stderr.append(o.text)
                if o.output_type in ("display_data", "execute_result"):
                    kinds += list(o.data)
        name = Path(rec["executed"]).name
        assert not stderr, f"{name} wrote to stderr: {stderr[0][:200]}"
        assert "text/markdown" in kinds, f"{name}: the closing cell did not render"
        figures = [f for f in PROMISES[name[:2]] if f.endswith(".png")]
        assert kinds.count("image/png") >= len(figures), f"{name}: a saved figure is not shown inline"
        if name[:2] in ("00", "01", "10", "30", "41"):
            assert "text/html" in kinds, f"{name}: its tables are not shown inline"
        html = Path(rec["html"]).read_text()
        assert html.count("data:image/png;base64") >= len(figures) and "<html" in html
    # a clean log: the notebooks and their times, nothing that reads like an error
    noise = [line for line in smoke_pipeline["log"] if not (line.startswith("[") and line.endswith("...")
                                                            or line.strip().startswith("done in")
                                                            or line.startswith("all "))]
    assert not noise, f"reproduce printed more than its progress lines: {noise[:5]}"


@pytest.mark.slow
def test_an_override_given_to_reproduce_reaches_a_later_notebooks_runs(tmp_path, capsys):
    """`deepsee reproduce --set`: the override is in the config.yaml of the SR runs notebook 20 makes
    (through Pipeline.sub_config, not a re-read of the profile); a bad key stops before any notebook."""
    import yaml

    from deepsee.cli import main
    args = ["reproduce", "--profile", "smoke", "--run-root", str(tmp_path / "runs"), "--out-dir", str(tmp_path / "out"),
            "--data-root", str(tmp_path / "data"), "--only", "00,10,20"]
    assert main(args + ["--set", "train.lambda_l1=2.5", "--set", "pipeline.variants=[independent]"]) == 0
    runs = sorted(p.name for p in (tmp_path / "runs").glob("sr-*"))
    assert "sr-smoke-independent" in runs and "sr-smoke-guided" not in runs
    cfg = yaml.safe_load((tmp_path / "runs" / "sr-smoke-independent" / "config.yaml").read_text())
    assert cfg["train"]["lambda_l1"] == 2.5
    assert main(args + ["--set", "train.no_such_key=1"]) == 1
    assert "no_such_key" in capsys.readouterr().err


def test_html_export_names_no_folder_of_the_machine(tmp_path):
    """The committed HTML pages: paths under the repository the run was made in are written relative."""
    import nbformat

    from deepsee.reproduce import export_html
    root = tmp_path / "clone"
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(P)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"run {root}/runs/sr-quick-independent; root {root}\n")]
    nb.cells = [nbformat.v4.new_markdown_cell("# 00 · title"), cell]
    src = tmp_path / "00_x.ipynb"
    nbformat.write(nb, src)
    html = export_html(src, tmp_path / "out" / "00_x.html", root=root).read_text()
    assert str(root) not in html
    assert "run runs/sr-quick-independent" in html and "<html" in html
