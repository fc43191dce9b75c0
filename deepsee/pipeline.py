"""Glue between the ordered notebooks: one resolved configuration, output folders, and a small
typed state (:class:`PipelineState`, ``state.json``) that records which run each step produced (the
segmenter run, predicted masks, the SR runs) and what the figures must state (the perceptual loss and
metric used, shipped models), so notebook 30 finds what notebook 20 trained.

Every notebook starts with ``P = deepsee.pipeline.setup(profile, seed=seed, ...)`` from its
``parameters`` cell. ``P.figure(name)`` and ``P.table(name)`` give the output paths, with the
conditions (dataset, profile) in the file names.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import MAIN_VARIANTS, Config, data_root as config_data_root, load_config, resolve_device, restart_stages
from .data import build_dataset
from .labels import label_set
from .losses.perceptual import perceptual_label
from .metrics import LPIPS, LPIPS_NAME, perceptual_metric
from .models import DeepSEE
from .runs import REPO_ROOT, model_folder, save_figure, seed_everything, write_json, write_table
from .seg import load_segmenter, predict_dataset_masks, train_segmenter
from .showcase import MODELS, registered, shipped
from .train.jobs import train_one, train_staged
from .train.loop import run_snapshots
from .weights import MissingWeightsError

EXTREME = "extreme"   # the 32x model's name among notebook 20's trainings (pipeline.extreme_profile)


def _by(notebook: str, default: Any = ""):
    """A state field recorded by ``notebook`` (named in the error when a later notebook needs it unset)."""
    if callable(default):
        return field(default_factory=default, metadata={"by": notebook})
    return field(default=default, metadata={"by": notebook})


def run_budget(run, unit: str = "steps") -> str:
    """A run's training budget from its ``run_info.json``: ``"9,600 segmenter steps at batch 4"``, with
    ``" (interim, of 20,000)"`` for an unfinished one; ``""`` without the record."""
    info = Path(run) / "run_info.json" if run else None
    if info is None or not info.is_file():
        return ""
    d = json.loads(info.read_text())
    if not d.get("steps_done"):
        return ""
    t = f"{int(d['steps_done']):,} {unit}"
    batch = d.get("batch_size")
    if not batch and (Path(run) / "config.yaml").is_file():
        batch = load_config(str(Path(run) / "config.yaml")).train.batch_size
    if batch:
        t += f" at batch {batch}"
    if d.get("status") == "interim" and d.get("planned_steps"):
        t += f" (interim, of {int(d['planned_steps']):,})"
    return t


@dataclass
class PipelineState:
    """What the notebooks record for the later ones, written as JSON (``runs/pipeline-<profile>/state.json``)."""
    segmenter_run: str = _by("10")            # the segmenter whose masks the SR models use
    pred_masks: str = _by("10")               # its predicted masks
    sr_runs: dict[str, str] = _by("20", dict)   # the 8x SR models: variant -> run folder
    extreme_run: str = _by("20")              # the 32x model's run (pipeline.extreme_profile)
    extreme_profile: str = _by("20")          #   its profile
    extreme_lr_size: int = _by("20", 0)       #   its LR size
    perceptual_losses: list[str] = _by("20", list)  # the 8x runs' perceptual losses (run_info's perceptual_used)
    perceptual_loss: str = _by("20")          # the first one's short name (figure titles)
    paper_perceptual_loss: bool = _by("20", False)  # whether that is the paper's (ImageNet VGG-19)
    perceptual_metric: str = _by("30")        # the figures' and tables' perceptual metric (its name)
    lpips_missing: str = _by("30")            # why that is not LPIPS (its missing weights); "" when it is
    shipped_models: bool = _by("10", False)   # notebooks 10/20 took the shipped showcase models

    @classmethod
    def read(cls, path: Path) -> "PipelineState":
        d = json.loads(Path(path).read_text())
        unknown = sorted(set(d) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(f"pipeline state {path} has unknown entries {unknown} (another version of the kit "
                             "wrote it): delete it and run the notebooks from 10 again")
        return cls(**d)

    def write(self, path: Path) -> None:
        write_json(path, dataclasses.asdict(self))


@dataclass
class SRJob:
    """One SR training of notebook 20."""
    key: str                   # its name in the state and the figures: the variant, or EXTREME
    cfg: Config
    segmenter: str | None      # the segmenter run it is given (train_many; train.perceptual=segmenter reads it)
    extreme: bool = False      # the 32x model (pipeline.extreme_profile), not an 8x variant


@dataclass
class Pipeline:
    cfg: Config
    device: Any
    run_root: Path
    figures_dir: Path
    results_dir: Path
    interactive: bool = True
    state: PipelineState = field(default_factory=PipelineState)
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
        if masks == "predicted" and profile is None and self.state.pred_masks:
            cfg.data.mask_dir = self.state.pred_masks
        elif masks == "ground truth":
            cfg.data.mask_dir = ""
        return cfg

    def split(self, split: str = "test", *, guided: bool = False, masks: str = "predicted",
              profile: str | None = None):
        """A split of the pipeline's dataset (``guided``: items carry another image of the person)."""
        return build_dataset(self.config(masks=masks, profile=profile), split, guided=guided)

    def explorer_setup(self):
        """(model, test split, segmenter run, where they come from) for the explorer (notebook 90): the
        independent model of this pipeline's notebook 20, or, when no pipeline run exists, the shipped
        showcase model (checksums verified) on the showcase profile's test faces (ground-truth masks)."""
        if self.has_model("independent"):
            return (self.load_model("independent"), self.split(), self.state.segmenter_run or None,
                    f"this pipeline's run ({self.profile} profile)")
        folder = shipped("independent")
        cfg = load_config("showcase")
        cfg.data.data_root, cfg.seed = self.cfg.data.data_root, self.cfg.seed
        return (self._load(folder), build_dataset(cfg, "test"), str(shipped("segmenter")),
                f"no {self.profile} pipeline run: the shipped showcase model {folder.name} (ground-truth masks)")

    def holdout_split(self):
        """The test faces of ``eval.holdout_seed`` (SynthFaces drawn with another generator seed: people,
        poses and textures the models were neither trained nor tuned on; ``eval.holdout_images`` of them),
        with the pipeline segmenter's predicted masks; ``None`` when ``eval.holdout_seed < 0``."""
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
            predict_dataset_masks(cfg, self.get("segmenter_run"), masks, splits=("test",))
        return build_dataset(dataclasses.replace(cfg, data=dataclasses.replace(data, mask_dir=str(masks))), "test")

    def sr_run(self, variant: str) -> str:
        """The run folder of notebook 20's 8x model of ``variant``."""
        if variant not in self.state.sr_runs:
            raise KeyError(f"pipeline state {self.state_path} has no {variant} model (run notebook 20 first)")
        return self.state.sr_runs[variant]

    def has_model(self, variant: str) -> bool:
        return variant in self.state.sr_runs

    def model_steps(self, variant: str) -> int:
        """The SR steps notebook 20's model of ``variant`` was trained for (its ``run_info.json``; 0 unknown)."""
        info = Path(self.sr_run(variant)) / "run_info.json"
        return int(json.loads(info.read_text()).get("steps_done") or 0) if info.is_file() else 0

    def load_model(self, variant: str):
        """Notebook 20's 8x model of ``variant`` (e.g. ``"independent"``), in eval mode."""
        return self._load(self.sr_run(variant))

    def _load(self, run: str | Path):
        return DeepSEE.load(model_folder(run)).to(self.device).eval()

    def snapshots(self, variant: str = "independent", steps=None) -> list[tuple[int, Path]]:
        """``[(step, model folder)]`` of the run of ``variant``: its ``snapshots/step_<n>``
        (``train.snapshot_steps``) and its final model, by step. ``steps``: only these snapshots and the
        final model (None or empty: all); a step the run has no snapshot of is an error naming those it has."""
        snaps = run_snapshots(Path(self.sr_run(variant)))
        if not steps:
            return snaps
        have = [s for s, _ in snaps]
        missing = sorted(set(int(s) for s in steps) - set(have))
        if missing:
            raise ValueError(f"eval.emergence_steps: no snapshot of the {variant} model at step(s) "
                             f"{', '.join(map(str, missing))}; it has {', '.join(map(str, have))}")
        keep = set(int(s) for s in steps) | {have[-1]}
        return [(s, p) for s, p in snaps if s in keep]

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

    def perceptual_metric(self):
        """LPIPS when its weights are present; otherwise the labelled, weight-free substitute
        "TexStatDist (LPIPS substitute)" (:mod:`deepsee.metrics.texture`), which prefers sharp,
        plausible detail to blur as LPIPS does (its known-answer test: :mod:`deepsee.metrics.known_answer`).
        Records nothing: :meth:`record_perceptual_metric` states the choice in every later sidecar."""
        try:
            return perceptual_metric("lpips")
        except MissingWeightsError:
            return perceptual_metric("texture")

    def record_perceptual_metric(self, metric) -> None:
        """Record ``metric`` (:meth:`perceptual_metric`) as the figures' and tables' perceptual metric, with
        why LPIPS was not used when it is not LPIPS."""
        self.record(perceptual_metric=metric.name, lpips_missing="" if metric.name == LPIPS_NAME else lpips_missing())

    def budget(self, factor: int | None = None) -> str:
        """The training budget of the SR models the figures come from (the 8x main model's, or the 32x
        model's when ``factor`` is given), from its ``run_info.json``: ``"10,000 SR steps at batch 2
        (interim, of 20,000)"``; ``""`` before notebook 20 or without the record."""
        st = self.state
        run = (st.extreme_run if factor is not None and st.extreme_run else
               st.sr_runs.get("independent") or next(iter(st.sr_runs.values()), ""))
        return run_budget(run, "SR steps")

    def stage_marks(self) -> list[tuple[int, str]]:
        """The main models' schedule changes, for plots against the training step: each warm restart of
        ``pipeline.restarts`` (at the end of the stage before) and where a stage switches on the
        locality term (``train.lambda_local``, from ``train.local_from`` or the stage's start)."""
        pc = self.cfg.pipeline
        end, marks, sets_so_far = pc.main_steps or self.cfg.train.schedule_steps, [], []
        local_on = self.cfg.train.lambda_local > 0
        for steps, _, sets in restart_stages(pc.restarts):
            marks.append((end, f"restart to {steps:,}"))
            sets_so_far += sets                  # a stage's configuration: the stage before's plus its own
            t = self.sub_config(overrides=sets_so_far).train
            if t.lambda_local > 0 and not local_on:
                marks.append((max(end, t.local_from), "+ locality term"))
            local_on, end = t.lambda_local > 0, steps
        return marks

    def title(self, factor: int | None = None, extra: str = "", segmenter: str | Path | None = None) -> str:
        """A figure title with the conditions: dataset, factor and LR size, profile and the SR models'
        training budget, perceptual loss. A segmenter figure passes its run (``segmenter=``): the title
        then gives the LR size and the segmenter's budget instead."""
        c, st = self.cfg, self.state
        if segmenter is not None:
            t = f"{self.dataset}, segmenter on {c.model.lr_size}x{c.model.lr_size} inputs, {self.profile} profile"
            budget = run_budget(segmenter, "segmenter steps")
            return t + (f", {budget}" if budget else "") + (f"; {extra}" if extra else "")
        f = factor or c.model.factor
        lr = c.model.lr_size if factor is None else (st.extreme_lr_size or c.model.lr_size)
        t = f"{self.dataset}, {f}x (from {lr}x{lr}), {self.profile} profile"
        budget = self.budget(factor)
        if budget:
            t += f", models: {budget}"
        if st.perceptual_loss:  # short form in the title; the full description (weights, source run) is in the sidecar
            t += f"; perceptual loss: {st.perceptual_loss}" + ("" if st.paper_perceptual_loss else
                                                                " (not the paper's VGG-19)")
        return t + (f"; {extra}" if extra else "")

    def sr_jobs(self) -> list[SRJob]:
        """Every SR training of the pipeline, the longest first (the workers take them in order): the main
        models (``pipeline.main_steps``), the 32x model (``pipeline.extreme_profile``,
        ``pipeline.extreme_steps``), the ablation variants (``pipeline.ablation_steps``). The 8x models
        train on the predicted masks."""
        pc = self.cfg.pipeline
        seg_run = self.state.segmenter_run or None
        main = [v for v in pc.variants if v in MAIN_VARIANTS]
        jobs = [self._variant_job(v, pc.main_steps, seg_run) for v in main]
        if pc.extreme_profile:
            ov = [f"train.schedule_steps={pc.extreme_steps}"] if pc.extreme_steps else []
            cfg = self.config(ov, profile=pc.extreme_profile)
            jobs.append(SRJob(EXTREME, cfg, seg_run if cfg.train.perceptual == "segmenter" else None, extreme=True))
        return jobs + [self._variant_job(v, pc.ablation_steps, seg_run) for v in pc.variants if v not in main]

    def _variant_job(self, variant: str, steps: int, seg_run: str | None) -> SRJob:
        ov = [f"model.variant={variant}"] + ([f"train.schedule_steps={steps}"] if steps else [])
        if variant != "independent":   # snapshots (the emergence notebook) of the independent model only
            ov.append("train.snapshot_steps=[]")
        return SRJob(variant, self.config(ov), seg_run)

    # -------------------------------------------------------------- shipped (showcase) models
    def use_shipped(self, retrain: bool = False) -> bool:
        """Whether notebooks 10 and 20 take the models shipped for this profile (``pipeline.pretrained``:
        the showcase models of ``pretrained/showcase``) instead of training them; ``retrain=True``
        (``deepsee reproduce --retrain``) trains them again."""
        return bool(self.cfg.pipeline.pretrained) and not retrain

    def shipped(self, name: str) -> Path:
        """The checksum-verified folder of shipped model ``name`` (``segmenter``, ``independent``,
        ``guided``), recorded as used (``shipped_models``: stated in every later sidecar)."""
        path = shipped(name)
        self.record(shipped_models=True)
        return path

    def judge(self):
        """The judge segmenter of the mask-control measure (issue 31; reads HR images), or None: the shipped one
        (checksums verified) when this profile takes shipped models and the judge is shipped."""
        if not self.cfg.pipeline.pretrained or not registered().get("judge"):
            return None
        return load_segmenter(self.shipped("judge"), device=self.device)

    @property
    def labels(self):
        """The label set of this pipeline's data (``data.labels``; :mod:`deepsee.labels`)."""
        return label_set(self.cfg.data.labels)

    def face_only(self, what: str, *edits: str) -> str:
        """"" when this pipeline's label set has the classes the face edits ``edits`` need
        (:data:`deepsee.labels.FACE_EDITS`); otherwise why ``what`` is skipped (printed, and returned)."""
        reasons = [r for e in edits if (r := self.labels.skip_reason(e))]
        if not reasons:
            return ""
        msg = f"{what} skipped: " + "; ".join(reasons)
        print(msg)
        return msg

    def scenes_models(self, retrain: bool = False, log=print) -> dict:
        """The outdoor-scenes models of notebook 46 (Fig. 19; ``pipeline.scenes_profile``): ``{model, segmenter, cfg,
        source}``, or ``{skipped: why}``. Profiles that take shipped models use ``pretrained/showcase/scenes-*``
        (checksums verified); the others train a segmenter and an SR model under ``<run_root>/pipeline-<profile>/``
        once (``pipeline.scenes_seg_steps`` / ``scenes_steps`` override their budgets) and reuse them after."""
        pc = self.cfg.pipeline
        if not pc.scenes_profile:
            return {"skipped": "Fig. 19 skipped: this profile trains no scenes model (pipeline.scenes_profile is empty). "
                               "`make showcase` renders it from the shipped scenes models; "
                               "`--set pipeline.scenes_profile=quick-scenes` trains a small one here."}
        ov = ([f"train.schedule_steps={pc.scenes_steps}"] if pc.scenes_steps else []) + (
            [f"seg.max_steps={pc.scenes_seg_steps}"] if pc.scenes_seg_steps else [])
        cfg = self.sub_config(pc.scenes_profile, ov)
        if self.use_shipped(retrain):
            missing = [n for n in ("scenes-segmenter", "scenes-independent") if not registered().get(n)]
            if missing:
                return {"cfg": cfg, "skipped": f"Fig. 19 skipped: the showcase scenes models ({', '.join(missing)}) are "
                                               "not shipped with this version; `deepsee showcase train --part scenes` "
                                               "trains them (issue 32)."}
            seg_dir, sr_dir, source = self.shipped("scenes-segmenter"), self.shipped("scenes-independent"), "shipped"
        else:
            root = self.run_root / f"pipeline-{self.profile}"
            seg_dir, sr_dir, source = root / "scenes-seg", root / "scenes-sr", f"trained here ({cfg.profile})"
            state = seg_dir / "state.json"
            if not (state.is_file() and json.loads(state.read_text()).get("finished")):
                log(f"scenes segmenter: training in {seg_dir}")
                train_segmenter(cfg, run_dir=seg_dir, resume=state.is_file())
            if not (sr_dir / "model").is_dir():
                log(f"scenes model: training in {sr_dir}")
                train_one(cfg, str(seg_dir) if cfg.train.perceptual == "segmenter" else None, str(sr_dir))
        return {"model": DeepSEE.load(model_folder(sr_dir)).to(self.device).eval(), "cfg": cfg, "source": source,
                "segmenter": load_segmenter(seg_dir, device=self.device), "run": sr_dir, "seg_run": seg_dir}

    def masks_dir(self, segmenter_run: Path) -> Path:
        """Where notebook 10 writes the predicted masks: beside a trained segmenter's run, or under the
        run root for a shipped one (``pretrained/`` stays read-only)."""
        if Path(segmenter_run).resolve().is_relative_to((REPO_ROOT / "pretrained").resolve()):
            return self.run_root / f"pipeline-{self.profile}" / "pred_masks"
        return Path(segmenter_run) / "pred_masks"

    def mask_splits(self, retrain: bool = False) -> tuple[str, ...]:
        """The splits notebook 10 predicts masks for: all three, or only val and test when every SR
        model of notebook 20 is shipped (nothing trains on the training split's masks)."""
        if self.use_shipped(retrain) and all(j.key in MODELS for j in self.sr_jobs()):
            return ("val", "test")
        return ("train", "val", "test")

    def train_sr_models(self, retrain: bool = False, log=print, train=train_staged) -> dict[str, str]:
        """Notebook 20's models (:meth:`sr_jobs`): the shipped ones when :meth:`use_shipped` (the main
        models of the showcase profile), every other one trained by ``train``
        (:func:`deepsee.train.jobs.train_staged`, the main models with their warm restarts); recorded as the
        pipeline's SR runs. Returns ``{key: run folder}``."""
        jobs = self.sr_jobs()
        runs: dict[str, str] = {}
        todo = []
        for job in jobs:
            if self.use_shipped(retrain) and job.key in MODELS:
                runs[job.key] = str(self.shipped(job.key))
            else:
                todo.append(job)
        if todo:   # the main models also get their warm restarts (pipeline.restarts)
            pc = self.cfg.pipeline
            trained = train([j.cfg for j in todo], [j.segmenter for j in todo], restarts=pc.restarts,
                                   restart=[j.key in MAIN_VARIANTS for j in todo], workers=pc.train_workers,
                                   threads=pc.train_threads)
            runs.update({j.key: str(r) for j, r in zip(todo, trained)})
        return self.record_sr_runs(jobs, [runs[j.key] for j in jobs])

    def record_sr_runs(self, jobs: list[SRJob], runs: list) -> dict[str, str]:
        """Record notebook 20's runs (one per job of :meth:`sr_jobs`): the 8x models, the perceptual loss they
        used (their ``run_info.json``), the 32x model with its profile and LR size. Returns ``{key: run}``."""
        runs = {j.key: str(r) for j, r in zip(jobs, runs)}
        eight = {j.key: runs[j.key] for j in jobs if not j.extreme}
        record: dict[str, Any] = {"sr_runs": {**self.state.sr_runs, **eight}}
        infos = [Path(r) / "run_info.json" for r in eight.values()]
        used = {str(json.loads(i.read_text()).get("perceptual_used", "")) for i in infos if i.is_file()}
        losses = sorted(used - {""})
        if losses:
            short, paper = perceptual_label(losses[0])
            record.update(perceptual_losses=losses, perceptual_loss=short, paper_perceptual_loss=paper)
        for j in jobs:
            if j.extreme:
                record.update(extreme_run=runs[j.key], extreme_profile=self.cfg.pipeline.extreme_profile,
                              extreme_lr_size=j.cfg.model.lr_size)
        self.record(**record)
        return runs

    def extreme_or_main(self):
        """(model, test split, factor): the 32x model and its data when notebook 20 trained one
        (its own ground-truth masks), else the 8x independent model on the predicted masks."""
        if self.state.extreme_run:
            cfg = self.config(profile=self.state.extreme_profile)
            return self._load(self.state.extreme_run), build_dataset(cfg, "test"), cfg.model.factor
        return self.load_model("independent"), self.split(), self.cfg.model.factor

    def __str__(self) -> str:
        st = self.state
        steps = [k for k, done in (("segmenter_run", st.segmenter_run), ("pred_masks", st.pred_masks),
                                   ("sr_independent", "independent" in st.sr_runs),
                                   ("sr_guided", "guided" in st.sr_runs), ("sr_extreme", st.extreme_run)) if done]
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

    def conditions(self, factor: int | None = None, dataset: str | None = None) -> str:
        """``<dataset>_<factor>x_<profile>``; ``factor=0`` leaves the factor out; ``dataset``: another dataset's
        results (notebook 46's scenes), else this pipeline's."""
        f = self.cfg.model.factor if factor is None else factor
        d = dataset or self.dataset
        return f"{d}_{f}x_{self.profile}" if f else f"{d}_{self.profile}"

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
        png = save_figure(fig, self.figure_path(name, factor, dataset), profile=self.profile, seed=self.cfg.seed,
                          dataset=dataset or self.dataset, **{**self.provenance(), **extra})
        if show:
            show_inline(fig)
        import matplotlib.pyplot as plt
        plt.close(fig)
        return png

    def save_table(self, df, name: str, factor: int | None = None, path: Path | None = None,
                   dataset: str | None = None, **extra) -> Path:
        return write_table(df, path or self.table_path(name, factor, dataset), profile=self.profile,
                           seed=self.cfg.seed, dataset=dataset or self.dataset, **{**self.provenance(), **extra})

    def provenance(self) -> dict:
        """What every figure/table made from this pipeline states: the shipped models, the perceptual loss
        and metric (e.g. a substitute), as ``note_*`` entries of its sidecar."""
        st, notes = self.state, {}
        if st.shipped_models:
            notes["note_models"] = (f"shipped showcase models (pretrained/showcase; {', '.join(MODELS)}; "
                                    "SHA-256 verified before use)")
        if st.perceptual_losses:
            notes["note_perceptual_loss"] = "; ".join(st.perceptual_losses)
        if st.perceptual_metric:
            notes["note_perceptual_metric"] = st.perceptual_metric + (
                f" (LPIPS unavailable: {st.lpips_missing})" if st.lpips_missing else "")
        return notes

    # state shared between notebooks
    def record(self, **fields: Any) -> None:
        """Set fields of :class:`PipelineState` and write it."""
        self.state = dataclasses.replace(self.state, **fields)
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        self.state.write(self.state_path)

    def get(self, name: str) -> Any:
        """A recorded field of :class:`PipelineState`; a ``KeyError`` naming the notebook that records it when
        it is unset."""
        value = getattr(self.state, name)
        if not value:
            by = {f.name: f.metadata.get("by") for f in dataclasses.fields(PipelineState)}[name]
            raise KeyError(f"pipeline state {self.state_path} has no {name!r} (run notebook {by} first)")
        return value


def lpips_missing() -> str:
    """Why LPIPS cannot be built on this machine (the first line of its missing-weights error); "" when it can."""
    try:
        LPIPS()
    except MissingWeightsError as e:
        return str(e).splitlines()[0]
    return ""


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
    cfg.data.data_root = data_root or cfg.data.data_root
    cfg.data.data_root = str(config_data_root(cfg.data))
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
        P.state = PipelineState.read(P.state_path)
    threads = threads or cfg.pipeline.threads      # a fixed count fixes the floating-point sums' order
    if threads:
        import torch
        torch.set_num_threads(threads)
    seed_everything(seed)
    return P
