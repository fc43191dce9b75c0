"""Where the notebooks' figures and tables go and what they state: :class:`Outputs` names every file after its
conditions (``<name>_<dataset>_<factor>x_<profile>``), writes it with a metadata sidecar (commit, profile, seed,
package versions) plus the pipeline state's provenance notes (shipped models, perceptual loss and metric), gives
figure titles with the conditions and the models' training budget, and shows figures inline in a notebook."""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import matplotlib.pyplot as plt

from ..config import Config
from ..runs import save_figure, write_table
from .state import PipelineState, run_budget


def in_notebook() -> bool:
    """True inside a Jupyter kernel (JupyterLab or papermill), where figures are shown inline."""
    try:
        from IPython import get_ipython   # optional dependency: present wherever notebooks run
    except ImportError:
        return False
    ip = get_ipython()
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def show_inline(fig, dpi: int = 90) -> None:
    """Show a matplotlib figure inline in a notebook (a no-op elsewhere)."""
    if not in_notebook():
        return
    from IPython.display import Image, display   # optional for the package: only inside a notebook
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    display(Image(data=buf.getvalue()))


@dataclass
class Outputs:
    """The output naming and provenance of one pipeline (``P.out``): ``figure_path`` / ``table_path`` /
    ``save_figure`` / ``save_table`` / ``title``. ``state`` returns the pipeline's current state (its notes go
    into every sidecar)."""
    cfg: Config
    state: Callable[[], PipelineState]
    figures_dir: Path
    results_dir: Path

    def budget(self, factor: int | None = None) -> str:
        """The training budget of the SR models the figures come from (the 8x main model's, or the 32x
        model's when ``factor`` is given), from its ``run_info.json``: ``"10,000 SR steps at batch 2
        (interim, of 20,000)"``; ``""`` before notebook 20 or without the record."""
        st = self.state()
        run = (st.extreme_run if factor is not None and st.extreme_run else
               st.sr_runs.get("independent") or next(iter(st.sr_runs.values()), ""))
        return run_budget(run, "SR steps")

    def title(self, factor: int | None = None, extra: str = "", segmenter: str | Path | None = None) -> str:
        """A figure title with the conditions: dataset, factor and LR size, profile and the SR models'
        training budget, perceptual loss. A segmenter figure passes its run (``segmenter=``): the title
        then gives the LR size and the segmenter's budget instead."""
        c, st = self.cfg, self.state()
        if segmenter is not None:
            t = f"{self.cfg.data.dataset}, segmenter on {c.model.lr_size}x{c.model.lr_size} inputs, {self.cfg.profile} profile"
            budget = run_budget(segmenter, "segmenter steps")
            return t + (f", {budget}" if budget else "") + (f"; {extra}" if extra else "")
        f = factor or c.model.factor
        lr = c.model.lr_size if factor is None else (st.extreme_lr_size or c.model.lr_size)
        t = f"{self.cfg.data.dataset}, {f}x (from {lr}x{lr}), {self.cfg.profile} profile"
        budget = self.budget(factor)
        if budget:
            t += f", models: {budget}"
        if st.perceptual_loss:  # short form in the title; the full description (weights, source run) is in the sidecar
            t += f"; perceptual loss: {st.perceptual_loss}" + ("" if st.paper_perceptual_loss else
                                                                " (not the paper's VGG-19)")
        return t + (f"; {extra}" if extra else "")

    def conditions(self, factor: int | None = None, dataset: str | None = None) -> str:
        """``<dataset>_<factor>x_<profile>``; ``factor=0`` leaves the factor out; ``dataset``: another dataset's
        results (notebook 46's scenes), else this pipeline's."""
        f = self.cfg.model.factor if factor is None else factor
        d = dataset or self.cfg.data.dataset
        return f"{d}_{f}x_{self.cfg.profile}" if f else f"{d}_{self.cfg.profile}"

    def figure_path(self, name: str, factor: int | None = None, dataset: str | None = None) -> Path:
        """``figures/<name>_<dataset>_<factor>x_<profile>`` (stem; save_figure adds .png/.pdf)."""
        return self.figures_dir / f"{name}_{self.conditions(factor, dataset)}"

    def table_path(self, name: str, factor: int | None = None, dataset: str | None = None) -> Path:
        return self.results_dir / f"{name}_{self.conditions(factor, dataset)}.csv"

    def save_figure(self, fig, name: str, factor: int | None = None, show: bool = True, dataset: str | None = None,
                    **extra) -> Path:
        """Save ``fig`` as ``figures/<name>_<conditions>.png`` and ``.pdf`` with a metadata sidecar;
        in a notebook also show it inline (a ``display_dpi`` rendering, so executed notebooks and
        their HTML exports stay small). Returns the PNG path."""
        png = save_figure(fig, self.figure_path(name, factor, dataset), profile=self.cfg.profile, seed=self.cfg.seed,
                          dataset=dataset or self.cfg.data.dataset, **{**self.state().notes(), **extra})
        if show:
            show_inline(fig)
        plt.close(fig)
        return png

    def save_table(self, df, name: str, factor: int | None = None, path: Path | None = None,
                   dataset: str | None = None, **extra) -> Path:
        return write_table(df, path or self.table_path(name, factor, dataset), profile=self.cfg.profile,
                           seed=self.cfg.seed, dataset=dataset or self.cfg.data.dataset, **{**self.state().notes(), **extra})
