"""The papermill runner: order, --from/--only, and the failure report (notebook, cell, error)."""
import nbformat as nbf
import pytest

from deepsee.reproduce import NotebookFailure, list_notebooks, run_notebooks, select


def _nb(path, *sources):
    n = nbf.v4.new_notebook()
    n.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    p = nbf.v4.new_code_cell("profile = 'x'\nout_dir = ''\ninteractive = True")
    p.metadata["tags"] = ["parameters"]
    n.cells = [p] + [nbf.v4.new_code_cell(s) for s in sources]
    nbf.write(n, path)


@pytest.fixture
def nbdir(tmp_path):
    d = tmp_path / "nbs"
    d.mkdir()
    _nb(d / "00_first.ipynb", "from pathlib import Path\nPath(out_dir, f'00_{profile}.txt').write_text('ok')")
    _nb(d / "10_boom.ipynb", "x = 1", "raise ValueError('broken on purpose')")
    _nb(d / "20_last.ipynb", "from pathlib import Path\nPath(out_dir, '20.txt').write_text(str(interactive))")
    return d


def test_select_from_and_only(nbdir):
    nbs = list_notebooks(nbdir)
    assert [p.name[:2] for p in select(nbs, start="10")] == ["10", "20"]
    assert [p.name[:2] for p in select(nbs, only="0,20")] == ["00", "20"]
    with pytest.raises(ValueError, match="--from 30"):
        select(nbs, start="30")


@pytest.mark.slow
def test_failure_names_notebook_cell_and_error_then_from_resumes(nbdir, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(NotebookFailure) as e:
        run_notebooks("smoke", notebook_dir=nbdir, run_root=str(tmp_path / "runs"), out_dir=str(out), log=lambda *_: None)
    msg = str(e.value)
    assert "10_boom.ipynb" in msg and "ValueError: broken on purpose" in msg and "--from 10" in msg
    assert e.value.cell == 4 and "cell In [4]" in msg  # execution count: parameters, injected, x = 1, raise
    assert (out / "00_smoke.txt").read_text() == "ok"
    assert not (out / "20.txt").exists()
    recs = run_notebooks("smoke", notebook_dir=nbdir, run_root=str(tmp_path / "runs"), out_dir=str(out),
                         start="20", log=lambda *_: None)
    assert [r["notebook"] for r in recs] == ["20_last.ipynb"]
    assert (out / "20.txt").read_text() == "False"  # papermill passed interactive=False


@pytest.mark.slow
def test_lanes_run_the_notebooks_after_20_side_by_side_with_a_fixed_thread_count(nbdir, tmp_path):
    """--jobs 2: 00-20 one after the other, the rest in two processes whose kernels get pipeline.threads=1
    (the profile's 2 threads shared); records in notebook order; a failing lane notebook stops the run."""
    import os
    (nbdir / "10_boom.ipynb").unlink()
    for nn in ("30", "31", "32"):
        _nb(nbdir / f"{nn}_lane.ipynb", "import os\nfrom pathlib import Path\n"
            f"Path(out_dir, '{nn}.txt').write_text(f'{{os.getpid()}} {{overrides}} {{os.environ[\"OMP_NUM_THREADS\"]}}')")
    out = tmp_path / "out"
    out.mkdir()
    recs = run_notebooks("smoke", notebook_dir=nbdir, run_root=str(tmp_path / "runs"), out_dir=str(out), jobs=2,
                         log=lambda *_: None)
    assert [r["notebook"][:2] for r in recs] == ["00", "20", "30", "31", "32"]
    assert [r["lane"] for r in recs] == [0, 0, 1, 1, 1]
    seen = [(out / f"{nn}.txt").read_text().split(" ", 1) for nn in ("30", "31", "32")]
    assert all("'pipeline.threads=1'" in rest and rest.endswith(" 1") for _, rest in seen)
    assert str(os.getpid()) not in {pid for pid, _ in seen}
    _nb(nbdir / "31_lane.ipynb", "raise RuntimeError('lane broke')")
    with pytest.raises(NotebookFailure, match="31_lane.ipynb.*lane broke"):
        run_notebooks("smoke", notebook_dir=nbdir, run_root=str(tmp_path / "runs"), out_dir=str(out), jobs=2,
                      start="30", log=lambda *_: None)
    with pytest.raises(ValueError, match="--jobs 0|expected 1"):
        run_notebooks("smoke", notebook_dir=nbdir, run_root=str(tmp_path / "runs"), out_dir=str(out), jobs=-1,
                      log=lambda *_: None)
