"""The papermill runner: ``deepsee reproduce --profile quick|showcase|paper [--retrain] [--from NN] [--only NN,...]``.

Executes ``notebooks/NN_*.ipynb`` in order with papermill, passing profile, seed, device, data and
output paths and ``interactive=False``. Executed copies go to ``runs/reproduce-<profile>/executed``.
Progress is shown per notebook; a failure stops with the notebook, the cell and the error, and
``--from NN`` resumes there. Per-notebook wall times go to ``results/reproduce_timings_<profile>.csv``.
Each executed notebook is also exported to HTML (nbconvert, figures and tables inline) as
``docs/executed/<profile>/NN_*.html`` (under ``--out-dir`` when given), for readers without Jupyter.

Lanes (``--jobs N``, default the profile's ``pipeline.notebook_jobs``: the showcase's 2). The notebooks up to 20
(data, architecture, segmenter, SR models: what the others read) run one after the other; the ones after them
read only those and write their own figures and tables, so they run in ``N`` processes side by side, longest
first (by the profile's last timings), each kernel with ``pipeline.threads // N`` torch threads. On a 2-core
CPU two one-thread kernels do more than one two-thread kernel (and hide each other's start-up and I/O). The thread
count is fixed by the profile, not the machine, so the numbers are the same wherever the run is made.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pandas as pd

from .config import load_config
from .runs import REPO_ROOT, machine_info, run_root as resolve_run_root, write_json, write_table

NOTEBOOK_DIR = REPO_ROOT / "notebooks"
HEAD_END = "20"   # the notebooks up to this one make what the others read: they always run one after the other


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
                  jobs: int | None = None, log=print) -> list[dict]:
    """Execute the notebooks; returns one dict per notebook (name, seconds, executed path, lane), in notebook
    order. ``overrides`` (``["section.key=value", ...]``) reach every notebook's configuration. ``jobs``: lanes
    for the notebooks after :data:`HEAD_END` (default the profile's ``pipeline.notebook_jobs``; see the module)."""
    run_root_p = resolve_run_root(run_root)
    exec_dir = run_root_p / f"reproduce-{profile}" / "executed"
    exec_dir.mkdir(parents=True, exist_ok=True)
    html_dir = (Path(out_dir) if out_dir else REPO_ROOT) / "docs" / "executed" / profile
    params = dict(profile=profile, seed=seed, device=device, data_root=data_root,
                  run_root=str(run_root_p), out_dir=out_dir, interactive=False)
    cfg = load_config(profile, list(overrides or []))     # refuses a bad key before any notebook runs
    if overrides:
        params["overrides"] = list(overrides)
    params.update(extra_parameters or {})
    jobs = int(jobs or cfg.pipeline.notebook_jobs)
    if jobs < 1:
        raise ValueError(f"--jobs {jobs}: expected 1 (one after the other) or more")
    nbs = select(list_notebooks(notebook_dir), start, only)
    head = [nb for nb in nbs if nb.name[:2] <= HEAD_END]
    rest = [nb for nb in nbs if nb.name[:2] > HEAD_END]
    lane_params = params
    if jobs > 1 and len(rest) > 1:
        threads = max(1, (cfg.pipeline.threads or 2) // jobs)
        lane_params = {**params, "overrides": [*params.get("overrides", []), f"pipeline.threads={threads}"]}
    # headless kernels: no progress-bar widgets in the executed notebooks (their HTML exports cannot
    # show them); this process prints one line per notebook instead
    t_all = time.perf_counter()
    with mock.patch.dict(os.environ, TQDM_DISABLE="1"):
        records = _run(head, exec_dir, html_dir, params, log, total=len(nbs))
        if jobs > 1 and len(rest) > 1:
            records += _run_lanes(rest, exec_dir, html_dir, lane_params, log, jobs=jobs, done=len(head),
                                  total=len(nbs), threads=threads, order=_longest_first(rest, profile))
        else:
            records += _run(rest, exec_dir, html_dir, params, log, total=len(nbs), done=len(head))
    total = time.perf_counter() - t_all
    log(f"all {len(nbs)} notebooks done in {total / 60:.1f} min" + (f" ({jobs} lanes after {HEAD_END})" if jobs > 1 else ""))
    write_json(exec_dir.parent / "timings.json", {"profile": profile, "total_seconds": round(total, 1), "jobs": jobs,
                                                  "notebooks": records})
    return records


def _execute(nb: Path, out: Path, params: dict) -> None:
    """One notebook through papermill; a failing cell raises :class:`NotebookFailure`."""
    import papermill as pm   # optional dependency
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


def _run(nbs: list[Path], exec_dir: Path, html_dir: Path, params: dict, log, *, total: int, done: int = 0) -> list[dict]:
    records = []
    for i, nb in enumerate(nbs, done + 1):
        out = exec_dir / nb.name
        log(f"[{i}/{total}] {nb.name} ...", flush=True) if log is print else log(f"[{i}/{total}] {nb.name}")
        t0 = time.perf_counter()
        _execute(nb, out, params)
        dt = time.perf_counter() - t0
        html = export_html(out, html_dir / out.with_suffix(".html").name)
        log(f"      done in {dt / 60:.1f} min")
        records.append({"notebook": nb.name, "seconds": round(dt, 1), "executed": str(out), "html": str(html),
                        "lane": 0})
    return records


def _lane_job(nb: str, out: str, params: dict, threads: int) -> tuple[float, dict | None]:
    """One notebook in a lane process: (seconds, None) or (seconds, the failure's fields)."""
    os.environ.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), TQDM_DISABLE="1")
    t0 = time.perf_counter()
    try:
        _execute(Path(nb), Path(out), params)
    except NotebookFailure as e:
        return time.perf_counter() - t0, {"notebook": e.notebook, "cell": e.cell, "error": e.error,
                                          "executed": str(e.executed)}
    return time.perf_counter() - t0, None


def _longest_first(nbs: list[Path], profile: str) -> list[Path]:
    """``nbs`` by their seconds in ``results/reproduce_timings_<profile>.csv``, longest first (notebook order
    where there is none): the longest-processing-time rule, which keeps the lanes' ends close together."""
    path = REPO_ROOT / "results" / f"reproduce_timings_{profile}.csv"
    try:
        seconds = dict(pd.read_csv(path)[["notebook", "seconds"]].itertuples(index=False))
    except (OSError, ValueError, KeyError):
        seconds = {}
    return sorted(nbs, key=lambda nb: -float(seconds.get(nb.name, 0.0)))


def _run_lanes(nbs: list[Path], exec_dir: Path, html_dir: Path, params: dict, log, *, jobs: int, done: int,
               total: int, threads: int, order: list[Path]) -> list[dict]:
    """The notebooks ``nbs`` in ``jobs`` spawned processes, started in ``order``; the first failure stops the run
    (the running ones finish, the waiting ones do not start) and is raised. Records in notebook order."""
    number = {nb.name: i for i, nb in enumerate(nbs, done + 1)}
    records, failure = {}, None
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        todo, running = list(order), {}
        while todo or running:
            while todo and len(running) < jobs and failure is None:
                nb = todo.pop(0)
                log(f"[{number[nb.name]}/{total}] {nb.name} ... (lane, {threads} thread{'s' if threads > 1 else ''})")
                running[pool.submit(_lane_job, str(nb), str(exec_dir / nb.name), params, threads)] = nb
            if failure is not None:
                todo = []
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                nb = running.pop(fut)
                dt, err = fut.result()
                if err is not None:
                    failure = failure or NotebookFailure(err["notebook"], err["cell"], err["error"], Path(err["executed"]))
                    log(f"      {nb.name} failed after {dt / 60:.1f} min")
                    continue
                out = exec_dir / nb.name
                html = export_html(out, html_dir / out.with_suffix(".html").name)
                log(f"      {nb.name} done in {dt / 60:.1f} min")
                records[nb.name] = {"notebook": nb.name, "seconds": round(dt, 1), "executed": str(out),
                                    "html": str(html), "lane": 1}
    if failure is not None:
        raise failure
    return [records[nb.name] for nb in nbs]


def _cmd(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    try:
        records = run_notebooks(args.profile, seed=args.seed, device=args.device, data_root=args.data_root,
                                run_root=args.run_root, out_dir=args.out_dir, start=args.start,
                                only=args.only, overrides=args.set, jobs=args.jobs,
                                extra_parameters={"retrain": True} if args.retrain else None)
    except NotebookFailure as e:
        print(f"deepsee reproduce: {e}", file=sys.stderr)
        return 1
    wall = time.perf_counter() - t0
    if not args.out_dir and (args.start is None and not args.only):
        df = pd.DataFrame(records)[["notebook", "seconds"]]
        df.loc[len(df)] = ["sum of notebooks", round(float(df["seconds"].sum()), 1)]
        df.loc[len(df)] = ["total", round(wall, 1)]   # wall clock, HTML exports included (lanes overlap)
        lanes = (args.jobs or load_config(args.profile, args.set).pipeline.notebook_jobs) if any(
            r.get("lane") for r in records) else 1
        write_table(df, REPO_ROOT / "results" / f"reproduce_timings_{args.profile}.csv",
                    profile=args.profile, seed=args.seed, lanes=lanes, cpu=machine_info().get("cpu"))
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
    p.add_argument("--jobs", type=int, default=0, metavar="N",
                   help="run the notebooks after 20 in N lanes side by side (default: the profile's "
                        "pipeline.notebook_jobs; the showcase's 2)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field in every notebook, e.g. --set pipeline.main_steps=400 (repeatable)")
    p.set_defaults(func=_cmd)
