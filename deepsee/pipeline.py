"""Glue between the ordered notebooks: one resolved configuration, output folders, and a small
state file that records which run each step produced (the segmenter run, predicted masks, the SR
runs), so notebook 30 finds what notebook 20 trained.

Every notebook starts with ``P = deepsee.pipeline.setup(profile, seed=seed, ...)`` from its
``parameters`` cell. ``P.figure(name)`` and ``P.table(name)`` give the output paths, with the
conditions (dataset, profile) in the file names.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import Config, load_config, resolve_device
from .runs import REPO_ROOT, save_figure, seed_everything, write_json, write_table


@dataclass
class Pipeline:
    cfg: Config
    device: Any
    run_root: Path
    figures_dir: Path
    results_dir: Path
    interactive: bool = True
    state: dict = field(default_factory=dict)
    source: str = "quick"                                   # the profile name or YAML path given to setup
    overrides: list = field(default_factory=list)           # the overrides given to setup

    def sub_config(self, profile: str | None = None, overrides: list[str] | None = None) -> Config:
        """A step's configuration: this pipeline's profile with its overrides, then ``overrides``
        (a step's own, e.g. the variant); or another ``profile`` (e.g. the 32x model's) with only
        ``overrides``. Seed, device and run root are always this pipeline's."""
        if profile is None or profile in (self.source, self.cfg.profile):
            cfg = load_config(self.source, list(self.overrides) + list(overrides or []))
        else:
            cfg = load_config(profile, list(overrides or []))
        cfg.seed, cfg.device, cfg.run_root = self.cfg.seed, self.cfg.device, self.cfg.run_root
        return cfg

    @property
    def profile(self) -> str:
        return self.cfg.profile

    @property
    def dataset(self) -> str:
        return self.cfg.data.dataset

    @property
    def state_path(self) -> Path:
        return self.run_root / f"pipeline-{self.profile}" / "state.json"

    def conditions(self, factor: int | None = None) -> str:
        """``<dataset>_<factor>x_<profile>``; ``factor=0`` leaves the factor out."""
        f = self.cfg.model.factor if factor is None else factor
        return f"{self.dataset}_{f}x_{self.profile}" if f else f"{self.dataset}_{self.profile}"

    def figure_path(self, name: str, factor: int | None = None) -> Path:
        """``figures/<name>_<dataset>_<factor>x_<profile>`` (stem; save_figure adds .png/.pdf)."""
        return self.figures_dir / f"{name}_{self.conditions(factor)}"

    def table_path(self, name: str, factor: int | None = None) -> Path:
        return self.results_dir / f"{name}_{self.conditions(factor)}.csv"

    def save_figure(self, fig, name: str, factor: int | None = None, **extra) -> Path:
        png = save_figure(fig, self.figure_path(name, factor), profile=self.profile, seed=self.cfg.seed,
                          dataset=self.dataset, **{**self.provenance(), **extra})
        import matplotlib.pyplot as plt
        if not self.interactive:
            plt.close(fig)
        return png

    def save_table(self, df, name: str, factor: int | None = None, path: Path | None = None, **extra) -> Path:
        return write_table(df, path or self.table_path(name, factor), profile=self.profile,
                           seed=self.cfg.seed, dataset=self.dataset, **{**self.provenance(), **extra})

    def provenance(self) -> dict:
        """What every figure/table made from this pipeline states (e.g. the perceptual-loss substitute)."""
        return {k: v for k, v in self.state.items() if k.startswith("note_")}

    # state shared between notebooks
    def record(self, key: str, value: Any) -> None:
        self.state[key] = value
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        write_json(self.state_path, self.state)

    def get(self, key: str, producer: str = "") -> Any:
        if key not in self.state:
            hint = f" (run notebook {producer} first)" if producer else ""
            raise KeyError(f"pipeline state {self.state_path} has no {key!r}{hint}")
        return self.state[key]


def _override_list(overrides) -> list[str]:
    if not overrides:
        return []
    if isinstance(overrides, dict):
        import yaml
        return [f"{k}={yaml.safe_dump(v, default_flow_style=True).strip()}" for k, v in overrides.items()]
    return [str(o) for o in overrides]


def setup(profile: str = "quick", *, seed: int = 0, device: str = "auto", data_root: str = "",
          run_root: str = "runs", out_dir: str = "", interactive: bool = True,
          overrides: list[str] | dict | None = None, threads: int = 0) -> Pipeline:
    """Resolve the configuration and the output folders for a notebook run."""
    if data_root:
        os.environ["DEEPSEE_DATA"] = str(data_root)
    if "DEEPSEE_DATA" not in os.environ:
        os.environ["DEEPSEE_DATA"] = str(REPO_ROOT / "data")
    cfg = load_config(profile, overrides)
    cfg.seed, cfg.device = seed, device
    rr = Path(run_root)
    if not rr.is_absolute():
        rr = REPO_ROOT / rr
    cfg.run_root = str(rr)
    base = Path(out_dir) if out_dir else REPO_ROOT
    P = Pipeline(cfg=cfg, device=resolve_device(device), run_root=rr,
                 figures_dir=base / "figures", results_dir=base / "results", interactive=interactive,
                 source=str(profile), overrides=_override_list(overrides))
    P.figures_dir.mkdir(parents=True, exist_ok=True)
    P.results_dir.mkdir(parents=True, exist_ok=True)
    if P.state_path.is_file():
        P.state = json.loads(P.state_path.read_text())
    threads = threads or cfg.pipeline.threads      # a fixed count fixes the floating-point sums' order
    if threads:
        import torch
        torch.set_num_threads(threads)
    seed_everything(seed)
    import matplotlib
    if not interactive:
        matplotlib.use("Agg")
    return P
