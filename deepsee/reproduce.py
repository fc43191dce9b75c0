"""The papermill runner: ``deepsee reproduce --profile quick|showcase|paper [--retrain] [--from NN] [--only NN,...]``.

Executes ``notebooks/NN_*.ipynb`` in order with papermill, passing profile, seed, device, data and
output paths and ``interactive=False``. Executed copies go to ``runs/reproduce-<profile>/executed``.
Progress is shown per notebook; a failure stops with the notebook, the cell and the error, and
``--from NN`` resumes there. Per-notebook wall times go to ``results/reproduce_timings_<profile>.csv``.
Each executed notebook is also exported to HTML (nbconvert, figures and tables inline) as
``docs/executed/<profile>/NN_*.html`` (under ``--out-dir`` when given), for readers without Jupyter.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pandas as pd

from .config import load_config
from .runs import REPO_ROOT, run_root as resolve_run_root, write_json, write_table

NOTEBOOK_DIR = REPO_ROOT / "notebooks"


@dataclass
class NotebookFailure(RuntimeError):
    notebook: str
    cell: int | None
    error: str
    executed: Path

    def __str__(self) -> str:
        where = f"cell In [{self.cell}]" if self.cell is not None else "start-up"
        nn = Path(self.notebook).name[:2]
        return (f"notebook {self.notebook} failed at {where}: {self.error}\n"
                f"  executed copy: {self.executed}\n"
                f"  fix it, then resume with: deepsee reproduce --from {nn}")


def list_notebooks(notebook_dir: Path = NOTEBOOK_DIR) -> list[Path]:
    nbs = sorted(p for p in Path(notebook_dir).glob("[0-9][0-9]_*.ipynb"))
    if not nbs:
        raise FileNotFoundError(f"no notebooks NN_*.ipynb in {notebook_dir}")
    return nbs


def select(notebooks: list[Path], start: str | None = None, only: str | None = None) -> list[Path]:
    """Filter by ``--from NN`` (that one and the following) and ``--only NN,MM``."""
    keys = {p.name[:2]: p for p in notebooks}
    if start is not None:
        start = f"{int(start):02d}"
        if start not in keys:
            raise ValueError(f"--from {start}: no such notebook; have {', '.join(keys)}")
        notebooks = [p for p in notebooks if p.name[:2] >= start]
    if only:
        want = [f"{int(x):02d}" for x in only.split(",") if x.strip()]
        missing = [w for w in want if w not in keys]
        if missing:
            raise ValueError(f"--only {only}: no notebook {', '.join(missing)}; have {', '.join(keys)}")
        notebooks = [p for p in notebooks if p.name[:2] in want]
    return notebooks


def export_html(notebook: Path, html: Path, root: Path = REPO_ROOT) -> Path:
    """An executed notebook as one self-contained HTML page (JupyterLab's look, figures embedded,
    equations typeset by MathJax when the reader is online). Paths under ``root`` (the repository
    the run was made in) are written relative to it, so a committed page names no machine's folders."""
    import nbformat   # optional dependency
    from nbconvert import HTMLExporter   # optional dependency
    nb = nbformat.read(str(notebook), as_version=4)
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb, resources={"metadata": {"name": notebook.stem}})
    root = str(Path(root).resolve())
    body = body.replace(root + os.sep, "").replace(root, ".")
    html.parent.mkdir(parents=True, exist_ok=True)
    html.write_text(body, encoding="utf-8")
    return html


def run_notebooks(profile: str = "quick", *, seed: int = 0, device: str = "auto", data_root: str = "",
                  run_root: str = "", out_dir: str = "", start: str | None = None,
                  only: str | None = None, notebook_dir: Path = NOTEBOOK_DIR,
                  extra_parameters: dict | None = None, overrides: list[str] | None = None,
                  log=print) -> list[dict]:
    """Execute the notebooks; returns one dict per notebook (name, seconds, executed path).
    ``overrides`` (``["section.key=value", ...]``) reach every notebook's configuration."""
    run_root_p = resolve_run_root(run_root)
    exec_dir = run_root_p / f"reproduce-{profile}" / "executed"
    exec_dir.mkdir(parents=True, exist_ok=True)
    html_dir = (Path(out_dir) if out_dir else REPO_ROOT) / "docs" / "executed" / profile
    params = dict(profile=profile, seed=seed, device=device, data_root=data_root,
                  run_root=str(run_root_p), out_dir=out_dir, interactive=False)
    if overrides:
        load_config(profile, list(overrides))            # refuse a bad key before any notebook runs
        params["overrides"] = list(overrides)
    params.update(extra_parameters or {})
    nbs = select(list_notebooks(notebook_dir), start, only)
    # headless kernels: no progress-bar widgets in the executed notebooks (their HTML exports cannot
    # show them); this process prints one line per notebook instead
    with mock.patch.dict(os.environ, TQDM_DISABLE="1"):
        return _run(nbs, exec_dir, html_dir, params, log)


def _run(nbs: list[Path], exec_dir: Path, html_dir: Path, params: dict, log) -> list[dict]:
    import papermill as pm   # optional dependency
    records = []
    t_all = time.perf_counter()
    for i, nb in enumerate(nbs, 1):
        out = exec_dir / nb.name
        log(f"[{i}/{len(nbs)}] {nb.name} ...", flush=True) if log is print else log(f"[{i}/{len(nbs)}] {nb.name}")
        t0 = time.perf_counter()
        try:
            pm.execute_notebook(str(nb), str(out), parameters=params, cwd=str(REPO_ROOT),
                                kernel_name="python3", progress_bar=False, log_output=False,
                                # the kernel app's own log is noise here: its plain-TCP notice on every
                                # start, and "KeyboardInterrupt caught in kernel" when jupyter_client's
                                # shutdown interrupts it (it always does); cell errors still stop the run
                                # with the notebook, the cell and the error
                                extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
        except pm.PapermillExecutionError as e:
            raise NotebookFailure(nb.name, e.exec_count if e.exec_count is not None else e.cell_index,
                                  f"{e.ename}: {e.evalue}", out) from None
        dt = time.perf_counter() - t0
        html = export_html(out, html_dir / out.with_suffix(".html").name)
        log(f"      done in {dt / 60:.1f} min")
        records.append({"notebook": nb.name, "seconds": round(dt, 1), "executed": str(out), "html": str(html)})
    total = time.perf_counter() - t_all
    log(f"all {len(nbs)} notebooks done in {total / 60:.1f} min")
    write_json(exec_dir.parent / "timings.json", {"profile": params["profile"], "total_seconds": round(total, 1),
                                                  "notebooks": records})
    return records


def _cmd(args: argparse.Namespace) -> int:
    try:
        records = run_notebooks(args.profile, seed=args.seed, device=args.device, data_root=args.data_root,
                                run_root=args.run_root, out_dir=args.out_dir, start=args.start,
                                only=args.only, overrides=args.set,
                                extra_parameters={"retrain": True} if args.retrain else None)
    except NotebookFailure as e:
        print(f"deepsee reproduce: {e}", file=sys.stderr)
        return 1
    if not args.out_dir and (args.start is None and not args.only):
        df = pd.DataFrame(records)[["notebook", "seconds"]]
        df.loc[len(df)] = ["total", round(float(df["seconds"].sum()), 1)]
        write_table(df, REPO_ROOT / "results" / f"reproduce_timings_{args.profile}.csv",
                    profile=args.profile, seed=args.seed)
    return 0


def register(sub) -> None:
    p = sub.add_parser("reproduce", help="run the notebook pipeline with papermill")
    p.add_argument("--profile", default="quick", help="smoke | quick | paper (default quick)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--data-root", default=os.environ.get("DEEPSEE_DATA", ""),
                   help="data root (default $DEEPSEE_DATA or data/)")
    p.add_argument("--run-root", default="", help="run root (default $DEEPSEE_RUNS or runs/)")
    p.add_argument("--out-dir", default="", help="write figures/ and results/ here instead of the repository")
    p.add_argument("--from", dest="start", default=None, metavar="NN", help="start at notebook NN")
    p.add_argument("--only", default=None, metavar="NN,MM", help="run only these notebooks")
    p.add_argument("--retrain", action="store_true",
                   help="showcase profile: train the segmenter and the main SR models again (notebooks 10 and 20) "
                        "instead of taking the shipped, checksum-verified models of pretrained/showcase")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field in every notebook, e.g. --set pipeline.main_steps=400 (repeatable)")
    p.set_defaults(func=_cmd)
