import json

import pandas as pd
import pytest

from deepsee.runs import atomic_path, new_run_dir, write_table


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "ckpt.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"partial")
            raise RuntimeError("killed")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.bin"]


def test_write_table_has_sidecar_with_versions(tmp_path):
    p = write_table(pd.DataFrame({"a": [1]}), tmp_path / "t_quick.csv", profile="quick", seed=3, note="x")
    md = json.loads(p.with_suffix(".meta.json").read_text())
    assert md["profile"] == "quick" and md["seed"] == 3 and md["note"] == "x"
    assert "torch" in md["versions"] and md["commit"]
    assert pd.read_csv(p).a.tolist() == [1]


def test_new_run_dir_never_clobbers(tmp_path):
    a = new_run_dir("sr", "smoke", "independent", root=tmp_path)
    b = new_run_dir("sr", "smoke", "independent", root=tmp_path)
    assert a != b and a.is_dir() and b.is_dir()


def test_results_and_figures_carry_no_absolute_paths(tmp_path, monkeypatch):
    """A smoke pipeline's table and figure, with run folders, the torch hub cache and the repository in
    their notes, cells and extras: the sidecars and the CSV name them portably."""
    import matplotlib.pyplot as plt
    import torch

    from deepsee.pipeline import setup
    from deepsee.runs import HUB_LABEL, REPO_ROOT
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    P = setup("smoke", run_root=str(tmp_path / "runs"), out_dir=str(tmp_path / "out"),
              data_root=str(tmp_path / "data"), interactive=False)
    seg = new_run_dir("seg", "smoke", root=P.run_root)                 # registers its run root
    (seg / "config.yaml").write_text("profile: smoke\n")
    other = tmp_path / "elsewhere" / "runs" / "sr-smoke-guided"         # found by its config.yaml alone
    other.mkdir(parents=True)
    (other / "config.yaml").write_text("profile: smoke\n")
    hub = tmp_path / "torch" / "hub" / "checkpoints" / "alexnet-owt-7be5be79.pth"
    assert str(hub.parent.parent) == torch.hub.get_dir()
    P.record(perceptual_losses=[f"segmenter substitute (from {seg}; the paper uses VGG-19)"],
             perceptual_metric="TexStatDist", lpips_missing=f"expected file {hub.name} at {hub}; fetch it")
    df = pd.DataFrame({"method": ["ours (independent)", "ours (guided)", "bicubic"],
                       "weights": [f"trained: {seg.parent / 'sr-smoke-independent'}", f"trained: {other}", "n/a"],
                       "psnr": [20.0, 21.0, 19.0]})
    table = P.out.save_table(df, "table6", segmenter_run=str(seg), source=REPO_ROOT / "deepsee" / "reference")
    fig = plt.figure()
    png = P.out.save_figure(fig, "fig05_best_of", segmenter_run=seg, inputs=[str(other / "model")])
    texts = {p.name: p.read_text() for p in (table, table.with_suffix(".meta.json"), png.with_suffix(".meta.json"))}
    for name, text in texts.items():
        for machine_path in (str(tmp_path), str(REPO_ROOT), torch.hub.get_dir()):
            assert machine_path not in text, f"{name} holds {machine_path}"
    out = pd.read_csv(table, keep_default_na=False)
    assert out.weights.tolist() == ["trained: sr-smoke-independent", "trained: sr-smoke-guided", "n/a"]
    meta = json.loads(texts[table.with_suffix(".meta.json").name])
    assert meta["segmenter_run"] == seg.name and meta["source"] == "deepsee/reference"
    assert meta["note_perceptual_loss"] == f"segmenter substitute (from {seg.name}; the paper uses VGG-19)"
    assert f"at {HUB_LABEL}/checkpoints/alexnet-owt-7be5be79.pth;" in meta["note_perceptual_metric"]
    fmeta = json.loads(texts[png.with_suffix(".meta.json").name])
    assert fmeta["segmenter_run"] == seg.name and fmeta["inputs"] == ["sr-smoke-guided/model"]


def test_portable_leaves_non_paths_alone():
    from deepsee.runs import portable
    for text in ("1/16, 1/8 and/or GFLOP/s", "https://example.org/a/b", "x / y", "relative/path.csv"):
        assert portable(text) == text
    assert portable({"n": 3, "v": [1.5, None]}) == {"n": 3, "v": [1.5, None]}




def test_commit_is_dirty_for_code_changes_not_for_the_runs_own_outputs(tmp_path, monkeypatch):
    import subprocess

    import deepsee.runs as runs

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    for rel in ("deepsee/model.py", "figures/fig3.pdf", "results/t.csv", "docs/executed/quick/a.html"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("v1\n")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "init")
    monkeypatch.setattr(runs, "REPO_ROOT", tmp_path)
    clean = runs.git_commit()
    assert clean != "unknown" and not clean.endswith("-dirty")
    for rel in ("figures/fig3.pdf", "results/t.csv", "docs/executed/quick/a.html"):
        (tmp_path / rel).write_text("re-run\n")         # a re-run rewrites its outputs: still clean
    assert runs.git_commit() == clean
    (tmp_path / "deepsee/model.py").write_text("edited\n")
    assert runs.git_commit() == clean + "-dirty"


def test_commit_outside_a_checkout_is_unknown(tmp_path, monkeypatch):
    import deepsee.runs as runs
    monkeypatch.setattr(runs, "REPO_ROOT", tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert runs.git_commit() == "unknown"




def test_one_run_folder_rule_beside_the_data_root_rule(tmp_path, monkeypatch):
    """run_root: the value when set, else $DEEPSEE_RUNS, else runs/; relative paths from the checkout whatever the
    working folder; default run folders (new_run_dir, showcase train, the pipeline) lie under it."""
    from deepsee import showcase
    from deepsee.pipeline import setup
    from deepsee.runs import REPO_ROOT, new_run_dir, run_root
    monkeypatch.delenv("DEEPSEE_RUNS", raising=False)
    monkeypatch.chdir(tmp_path)
    assert run_root() == REPO_ROOT / "runs" and run_root("elsewhere") == REPO_ROOT / "elsewhere"
    monkeypatch.setenv("DEEPSEE_RUNS", str(tmp_path / "env-runs"))
    assert run_root() == tmp_path / "env-runs" and run_root(tmp_path / "given") == tmp_path / "given"
    assert new_run_dir("sr", "smoke", "x").parent == tmp_path / "env-runs"
    assert showcase.runs_dir() == tmp_path / "env-runs" / "showcase"
    P = setup("smoke", out_dir=str(tmp_path / "out"), data_root=str(tmp_path / "d"), interactive=False)
    assert P.run_root == tmp_path / "env-runs" and P.state_path.parent == tmp_path / "env-runs" / "pipeline-smoke"
