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
        ``overrides``. Seed, device, run root and data root are always this pipeline's."""
        if profile is None or profile in (self.source, self.cfg.profile):
            cfg = load_config(self.source, list(self.overrides) + list(overrides or []))
        else:
            cfg = load_config(profile, list(overrides or []))
        cfg.seed, cfg.device, cfg.run_root = self.cfg.seed, self.cfg.device, self.cfg.run_root
        cfg.data.data_root = self.cfg.data.data_root
        return cfg

    def config(self, overrides: list[str] | None = None, *, masks: str = "predicted",
               profile: str | None = None) -> Config:
        """:meth:`sub_config` with the masks the models train and test on: ``"predicted"`` (the
        segmenter's masks of notebook 10, as in the paper, when they exist) or ``"ground truth"``."""
        if masks not in ("predicted", "ground truth"):
            raise ValueError(f"masks={masks!r}; expected 'predicted' or 'ground truth'")
        cfg = self.sub_config(profile, overrides)
        if masks == "predicted" and profile is None and self.state.get("pred_masks"):
            cfg.data.mask_dir = self.state["pred_masks"]
        elif masks == "ground truth":
            cfg.data.mask_dir = ""
        return cfg

    def split(self, split: str = "test", *, guided: bool = False, masks: str = "predicted",
              profile: str | None = None):
        """A split of the pipeline's dataset (``guided``: items carry another image of the person)."""
        from .data import build_dataset
        return build_dataset(self.config(masks=masks, profile=profile), split, guided=guided)

    def explorer_setup(self):
        """(model, test split, segmenter run, where they come from) for the explorer (notebook 90): the
        independent model of this pipeline's notebook 20, or, when no pipeline run exists, the shipped
        showcase model (checksums verified) on the showcase profile's test faces (ground-truth masks)."""
        if self.has("sr_independent"):
            return (self.load_model("sr_independent"), self.split(), self.state.get("segmenter_run"),
                    f"this pipeline's run ({self.profile} profile)")
        from .data import build_dataset
        from .models import DeepSEE
        from .showcase import shipped
        folder = shipped("independent")
        cfg = load_config("showcase")
        cfg.data.data_root, cfg.seed = self.cfg.data.data_root, self.cfg.seed
        model = DeepSEE.load(folder / "model").to(self.device).eval()
        return (model, build_dataset(cfg, "test"), str(shipped("segmenter")),
                f"no {self.profile} pipeline run: the shipped showcase model {folder.name} (ground-truth masks)")

    def holdout_split(self):
        """The test faces of ``eval.holdout_seed`` (SynthFaces drawn with another generator seed: people,
        poses and textures the models were neither trained nor tuned on; ``eval.holdout_images`` of them),
        with the pipeline segmenter's predicted masks; ``None`` when ``eval.holdout_seed < 0``."""
        import dataclasses

        from .data import build_dataset
        ev = self.cfg.eval
        if ev.holdout_seed < 0:
            return None
        if self.dataset != "synthfaces":
            raise ValueError(f"eval.holdout_seed={ev.holdout_seed} draws SynthFaces; the dataset is {self.dataset}")
        n = ev.holdout_images
        data = dataclasses.replace(self.config(masks="ground truth").data, synth_seed=ev.holdout_seed, synth_n=n,
                                   splits=[0, 0, n], identities=max(1, n // 5))
        cfg = dataclasses.replace(self.cfg, data=data)
        masks = self.run_root / f"pipeline-{self.profile}" / f"pred_masks_holdout_seed{ev.holdout_seed}"
        if not (masks / "predicted_masks.json").is_file():
            from .seg import predict_dataset_masks
            predict_dataset_masks(cfg, self.get("segmenter_run", "10"), masks, splits=("test",))
        return build_dataset(dataclasses.replace(cfg, data=dataclasses.replace(data, mask_dir=str(masks))), "test")

    def load_model(self, key: str):
        """The SR model notebook 20 recorded under ``key`` (e.g. ``"sr_independent"``), in eval mode."""
        from .models import DeepSEE
        run = Path(self.get(key, "20"))
        model = DeepSEE.load(run / "model" if (run / "model").is_dir() else run)
        return model.to(self.device).eval()

    def snapshots(self, key: str = "sr_independent") -> list[tuple[int, Path]]:
        """``[(step, model folder)]`` of the run recorded under ``key``: its ``snapshots/step_<n>``
        (``train.snapshot_steps``) and its final model, by step."""
        from .train.loop import run_snapshots
        return run_snapshots(Path(self.get(key, "20")))

    def knob(self, value, key: str):
        """A notebook parameter that defaults to the profile: ``value`` unless it is None, else the
        configuration's ``key`` (dotted, e.g. ``"eval.oracle_samples"``)."""
        if value is not None:
            return value
        obj = self.cfg
        for part in key.split("."):
            if not hasattr(obj, part):
                raise KeyError(f"no configuration field {key!r} (at {part!r})")
            obj = getattr(obj, part)
        return obj

    def has(self, key: str) -> bool:
        return key in self.state

    def perceptual_metric(self):
        """LPIPS when its weights are present; otherwise the labelled, weight-free substitute
        "TexStatDist (LPIPS substitute)" (:mod:`deepsee.metrics.texture`), which prefers sharp,
        plausible detail to blur as LPIPS does (its known-answer test: :mod:`deepsee.metrics.known_answer`).
        Which one was used is recorded and stated in every figure's and table's sidecar."""
        from .metrics import perceptual_metric
        from .weights import MissingWeightsError
        try:
            m = perceptual_metric("lpips")
            self.record("note_perceptual_metric", m.name)
        except MissingWeightsError as e:
            m = perceptual_metric("texture")
            self.record("note_perceptual_metric", f"{m.name} (LPIPS unavailable: {str(e).splitlines()[0]})")
        return m

    def title(self, factor: int | None = None, extra: str = "") -> str:
        """A figure title with the conditions: dataset, factor and LR size, profile, perceptual loss."""
        c = self.cfg
        f = factor or c.model.factor
        lr = c.model.lr_size if factor is None else self.state.get("extreme_lr_size", c.model.lr_size)
        t = f"{self.dataset}, {f}x (from {lr}x{lr}), {self.profile} profile"
        note = self.state.get("note_perceptual_loss")
        if note:  # short form in the title; the full description (weights, source run) is in the sidecar
            t += f"; perceptual loss: {note.split(' (')[0]}" + ("" if note.startswith("vgg19 (ImageNet") else
                                                                  " (not the paper's VGG-19)")
        return t + (f"; {extra}" if extra else "")

    def sr_jobs(self) -> tuple[list[str], list[Config], list[str | None]]:
        """Every SR training of the pipeline as (keys, configurations, segmenter runs), the longest
        first (the workers take them in order): the main models (``pipeline.main_steps``), the 32x
        model (``pipeline.extreme_profile``, ``pipeline.extreme_steps``), the ablation variants
        (``pipeline.ablation_steps``). The 8x models train on the predicted masks."""
        pc = self.cfg.pipeline
        seg_run = self.state.get("segmenter_run")
        main = [v for v in pc.variants if v in ("independent", "guided")]
        keys, cfgs, segs = [], [], []
        for variant in main + (["extreme"] if pc.extreme_profile else []) + [v for v in pc.variants if v not in main]:
            if variant == "extreme":
                ov = [f"train.schedule_steps={pc.extreme_steps}"] if pc.extreme_steps else []
                cfg = self.config(ov, profile=pc.extreme_profile)
                seg = seg_run if cfg.train.perceptual == "segmenter" else None
            else:
                steps = pc.main_steps if variant in main else pc.ablation_steps
                ov = [f"model.variant={variant}"] + ([f"train.schedule_steps={steps}"] if steps else [])
                if variant != "independent":   # snapshots (the emergence notebook) of the independent model only
                    ov.append("train.snapshot_steps=[]")
                cfg, seg = self.config(ov), seg_run
            keys.append(variant)
            cfgs.append(cfg)
            segs.append(seg)
        return keys, cfgs, segs

    # -------------------------------------------------------------- shipped (showcase) models
    def use_shipped(self, retrain: bool = False) -> bool:
        """Whether notebooks 10 and 20 take the models shipped for this profile (``pipeline.pretrained``:
        the showcase models of ``pretrained/showcase``) instead of training them; ``retrain=True``
        (``deepsee reproduce --retrain``) trains them again."""
        return bool(self.cfg.pipeline.pretrained) and not retrain

    def shipped(self, name: str) -> Path:
        """The checksum-verified folder of shipped model ``name`` (``segmenter``, ``independent``,
        ``guided``); recorded in every later sidecar (``note_models``)."""
        from .showcase import MODELS, shipped
        path = shipped(name)
        self.record("note_models", f"shipped showcase models (pretrained/showcase; {', '.join(MODELS)}; "
                                   "SHA-256 verified before use)")
        return path

    def masks_dir(self, segmenter_run: Path) -> Path:
        """Where notebook 10 writes the predicted masks: beside a trained segmenter's run, or under the
        run root for a shipped one (``pretrained/`` stays read-only)."""
        if Path(segmenter_run).resolve().is_relative_to((REPO_ROOT / "pretrained").resolve()):
            return self.run_root / f"pipeline-{self.profile}" / "pred_masks"
        return Path(segmenter_run) / "pred_masks"

    def mask_splits(self, retrain: bool = False) -> tuple[str, ...]:
        """The splits notebook 10 predicts masks for: all three, or only val and test when every SR
        model of notebook 20 is shipped (nothing trains on the training split's masks)."""
        from .showcase import MODELS
        if self.use_shipped(retrain) and all(k in MODELS for k in self.sr_jobs()[0]):
            return ("val", "test")
        return ("train", "val", "test")

    def train_sr_models(self, retrain: bool = False, log=print) -> dict[str, str]:
        """Notebook 20's models (:meth:`sr_jobs`): the shipped ones when :meth:`use_shipped` (the main
        models of the showcase profile), every other one trained by :func:`deepsee.train.jobs.train_many`;
        recorded as the pipeline's SR runs. Returns ``{key: run folder}``."""
        from .showcase import MODELS
        from .train.jobs import train_many
        keys, cfgs, segs = self.sr_jobs()
        runs: dict[str, str] = {}
        todo = []
        for key, cfg, seg in zip(keys, cfgs, segs):
            if self.use_shipped(retrain) and key in MODELS:
                runs[key] = str(self.shipped(key))
            else:
                todo.append((key, cfg, seg))
        if todo:
            pc = self.cfg.pipeline
            trained = train_many([c for _, c, _ in todo], [s for _, _, s in todo], workers=pc.train_workers,
                                 threads=pc.train_threads)
            runs.update({k: str(r) for (k, _, _), r in zip(todo, trained)})
        return self.record_sr_runs(keys, [runs[k] for k in keys], cfgs)

    def record_sr_runs(self, keys: list[str], runs: list, cfgs: list[Config]) -> dict:
        """Record the SR runs (``sr_<key>``), the perceptual loss they used, the 32x model's profile."""
        runs = {k: str(r) for k, r in zip(keys, runs)}
        for key, run in runs.items():
            self.record(f"sr_{key}", run)
        notes = set()
        for key, run in runs.items():
            info = Path(run) / "run_info.json"
            if key != "extreme" and info.is_file():
                notes.add(str(json.loads(info.read_text()).get("perceptual_used", "")))
        if notes - {""}:
            self.record("note_perceptual_loss", "; ".join(sorted(n for n in notes if n)))
        if "extreme" in runs:
            self.record("extreme_profile", self.cfg.pipeline.extreme_profile)
            self.record("extreme_lr_size", cfgs[keys.index("extreme")].model.lr_size)
        return runs

    def extreme_or_main(self):
        """(model, test split, factor): the 32x model and its data when notebook 20 trained one
        (its own ground-truth masks), else the 8x independent model on the predicted masks."""
        if self.has("sr_extreme"):
            from .data import build_dataset
            cfg = self.config(profile=self.get("extreme_profile"))
            return self.load_model("sr_extreme"), build_dataset(cfg, "test"), cfg.model.factor
        return self.load_model("sr_independent"), self.split(), self.cfg.model.factor

    def __str__(self) -> str:
        steps = [k for k in ("segmenter_run", "pred_masks", "sr_independent", "sr_guided", "sr_extreme")
                 if k in self.state]
        return (f"profile {self.profile} ({self.source}), dataset {self.dataset}, device {self.device}, "
                f"seed {self.cfg.seed}; overrides: {', '.join(self.overrides) or 'none'}; "
                f"state: {', '.join(steps) or 'empty (run the notebooks in order)'}")

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

    def save_figure(self, fig, name: str, factor: int | None = None, show: bool = True, **extra) -> Path:
        """Save ``fig`` as ``figures/<name>_<conditions>.png`` and ``.pdf`` with a metadata sidecar;
        in a notebook also show it inline (a ``display_dpi`` rendering, so executed notebooks and
        their HTML exports stay small). Returns the PNG path."""
        png = save_figure(fig, self.figure_path(name, factor), profile=self.profile, seed=self.cfg.seed,
                          dataset=self.dataset, **{**self.provenance(), **extra})
        if show:
            show_inline(fig)
        import matplotlib.pyplot as plt
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


def in_notebook() -> bool:
    """True inside a Jupyter kernel (JupyterLab or papermill), where figures are shown inline."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    ip = get_ipython()
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def show_inline(fig, dpi: int = 90) -> None:
    """Show a matplotlib figure inline in a notebook (a no-op elsewhere)."""
    if not in_notebook():
        return
    import io

    from IPython.display import Image, display
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    display(Image(data=buf.getvalue()))


def knob_overrides(knobs: dict) -> list[str]:
    """``["key=value", ...]`` for the knobs that are set (not None), to pass on as ``setup`` overrides:
    ``knob_overrides({"pipeline.main_steps": main_steps})`` is ``[]`` when ``main_steps`` is None."""
    return _override_list({k: v for k, v in knobs.items() if v is not None})


def _yaml_value(v) -> str:
    """One value as the right-hand side of a ``key=value`` override (YAML flow style, one line;
    PyYAML ends a bare scalar's document with a "..." line, dropped here)."""
    import yaml
    return yaml.safe_dump(v, default_flow_style=True).removesuffix("...\n").strip()


def _override_list(overrides) -> list[str]:
    if not overrides:
        return []
    if isinstance(overrides, dict):
        return [f"{k}={_yaml_value(v)}" for k, v in overrides.items()]
    return [str(o) for o in overrides]


def setup(profile: str = "quick", *, seed: int = 0, device: str = "auto", data_root: str = "",
          run_root: str = "runs", out_dir: str = "", interactive: bool = True,
          overrides: list[str] | dict | None = None, threads: int = 0) -> Pipeline:
    """Resolve the configuration and the output folders for a notebook run."""
    cfg = load_config(profile, overrides)
    cfg.seed, cfg.device = seed, device
    # the data root travels in the configuration (to every step and training worker), not the environment
    root = Path(data_root or cfg.data.data_root or os.environ.get("DEEPSEE_DATA", "") or REPO_ROOT / "data")
    cfg.data.data_root = str(root if root.is_absolute() else REPO_ROOT / root)
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
    return P
