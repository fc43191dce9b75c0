"""The ordered notebooks' configuration and state: :class:`Pipeline` holds one resolved configuration, the
state the notebooks record for each other (:class:`~deepsee.pipeline.state.PipelineState`, ``state.json``: which
run each step produced, what the figures must state) and the models and data they share.

Every notebook starts with ``P = deepsee.pipeline.setup(profile, seed=seed, ...)`` from its ``parameters``
cell. Three jobs live apart:
- the configuration, state, models and data: :class:`Pipeline` (here);
- output naming and provenance: ``P.out`` (:class:`~deepsee.pipeline.outputs.Outputs`: ``save_figure``,
  ``save_table``, ``title``, ``table_path``, with the conditions in the file names);
- training: :func:`deepsee.train.jobs.train_staged`, the one orchestration that ``deepsee showcase train``
  also uses.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml

from ..config import (MAIN_VARIANTS, Config, data_root as config_data_root, load_config, resolve_device,
                      restart_stages)
from ..data import build_dataset, ensure_synthscenes
from ..labels import label_set
from ..losses.perceptual import perceptual_label
from ..metrics.perceptual import choose_perceptual
from ..models import DeepSEE
from ..runs import REPO_ROOT, model_folder, run_root as resolve_run_root, seed_everything
from ..seg import load_segmenter, predict_dataset_masks, train_segmenter
from ..showcase import registered, shipped
from ..train.jobs import train_one, train_staged
from ..train.loop import run_snapshots
from .outputs import Outputs, in_notebook, show_inline
from .state import EXTREME, PipelineState, run_budget, shipped_name

__all__ = ["setup", "Pipeline", "PipelineState", "Outputs", "SRJob", "EXTREME", "knob_overrides", "run_budget",
           "in_notebook", "show_inline"]




@dataclass
class SRJob:
    """One SR training of notebook 20."""
    key: str                   # its name in the state and the figures: the variant, or EXTREME
    cfg: Config
    segmenter: str | None      # the segmenter run it is given (train_many; train.perceptual=segmenter reads it)
    extreme: bool = False      # the 32x model (pipeline.extreme_profile), not an 8x variant


@dataclass
class Pipeline:
    """One notebook run's configuration (``cfg``, from ``source`` + ``overrides``), the state the notebooks share
    (``state``, read from and written to :attr:`state_path`), and ``out``, where its figures and tables go."""
    cfg: Config
    device: Any
    run_root: Path
    interactive: bool = True
    state: PipelineState = field(default_factory=PipelineState)
    source: str = "quick"                                   # the profile name or YAML path given to setup
    overrides: list = field(default_factory=list)           # the overrides given to setup
    out: Outputs | None = None                              # output naming and provenance (setup builds it)

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

    def holdout_seed_faces(self):
        """Faces of another draw, not a split of the pipeline's dataset: ``eval.holdout_images`` SynthFaces drawn
        with generator seed ``eval.holdout_seed`` (people, poses and textures the models were neither trained nor
        tuned on), as a test split whose masks the pipeline's segmenter predicts (once, kept under the run
        root); ``None`` when ``eval.holdout_seed < 0``."""
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
        """The figures' and tables' perceptual metric, as ``eval.perceptual_metric`` chooses it
        (:func:`deepsee.metrics.perceptual.choose_perceptual`): by default LPIPS when its weights are present,
        otherwise the labelled, weight-free substitute "TexStatDist (LPIPS substitute)"
        (:mod:`deepsee.metrics.texture`; its known-answer test: :mod:`deepsee.metrics.known_answer`). The choice
        is explicit: printed, with why LPIPS is not used when it is not, and recorded in the state, so every
        later figure's and table's sidecar states it (``note_perceptual_metric``)."""
        metric, why = choose_perceptual(self.cfg.eval.perceptual_metric)
        print(f"perceptual metric: {metric.name}" + (f" (LPIPS not used: {why})" if why else ""))
        self.record(perceptual_metric=metric.name, lpips_missing=why)
        return metric

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

    def takes_shipped(self, key: str, retrain: bool = False) -> bool:
        """Whether notebook 20's job ``key`` (a variant, or :data:`EXTREME`) takes its shipped showcase model
        (:func:`~deepsee.pipeline.state.shipped_name`) rather than training: this profile takes shipped models
        (:meth:`use_shipped`) and that model is in the registry (a missing or corrupt file then fails loudly)."""
        return self.use_shipped(retrain) and bool(registered().get(shipped_name(key)))

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
            if cfg.data.dataset == "synthscenes":   # evaluation only: the validation and test scenes suffice
                ensure_synthscenes(cfg, splits=("val", "test"))
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
        if all(self.takes_shipped(j.key, retrain) for j in self.sr_jobs()):
            return ("val", "test")
        return ("train", "val", "test")

    def data_splits(self, retrain: bool = False) -> tuple[str, ...] | None:
        """The splits of the dataset this run reads (notebook 00 generates SynthFaces for them): only val and
        test when the segmenter and every SR model are shipped (:meth:`use_shipped`, :meth:`mask_splits`; a
        ``make showcase`` on a fresh clone then draws 800 of its 6,000 faces), else all three (None). A later step
        that reads the training split generates it then (``deepsee.data.ensure_synthfaces``)."""
        return ("val", "test") if self.use_shipped(retrain) and self.mask_splits(retrain) == ("val", "test") else None

    def train_sr_models(self, retrain: bool = False, log=print, train=train_staged) -> dict[str, str]:
        """Notebook 20's models (:meth:`sr_jobs`): the shipped ones when :meth:`use_shipped` (the main
        models of the showcase profile), every other one trained by ``train``
        (:func:`deepsee.train.jobs.train_staged`, the main models with their warm restarts); recorded as the
        pipeline's SR runs. Returns ``{key: run folder}``."""
        jobs = self.sr_jobs()
        runs: dict[str, str] = {}
        todo = []
        for job in jobs:
            if self.takes_shipped(job.key, retrain):
                runs[job.key] = str(self.shipped(shipped_name(job.key)))
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


def knob_overrides(knobs: dict) -> list[str]:
    """``["key=value", ...]`` for the knobs that are set (not None), to pass on as ``setup`` overrides:
    ``knob_overrides({"pipeline.main_steps": main_steps})`` is ``[]`` when ``main_steps`` is None."""
    return _override_list({k: v for k, v in knobs.items() if v is not None})


def _yaml_value(v) -> str:
    """One value as the right-hand side of a ``key=value`` override (YAML flow style, one line;
    PyYAML ends a bare scalar's document with a "..." line, dropped here)."""
    return yaml.safe_dump(v, default_flow_style=True).removesuffix("...\n").strip()


def _override_list(overrides) -> list[str]:
    if not overrides:
        return []
    if isinstance(overrides, dict):
        return [f"{k}={_yaml_value(v)}" for k, v in overrides.items()]
    return [str(o) for o in overrides]


def setup(profile: str = "quick", *, seed: int = 0, device: str = "auto", data_root: str = "",
          run_root: str = "", out_dir: str = "", interactive: bool = True,
          overrides: list[str] | dict | None = None, threads: int = 0) -> Pipeline:
    """Resolve the configuration and the output folders for a notebook run."""
    cfg = load_config(profile, overrides)
    cfg.seed, cfg.device = seed, device
    # the data root travels in the configuration (to every step and training worker), not the environment
    cfg.data.data_root = data_root or cfg.data.data_root
    cfg.data.data_root = str(config_data_root(cfg.data))
    rr = resolve_run_root(run_root)
    cfg.run_root = str(rr)
    base = Path(out_dir) if out_dir else REPO_ROOT
    P = Pipeline(cfg=cfg, device=resolve_device(device), run_root=rr, interactive=interactive,
                 source=str(profile), overrides=_override_list(overrides))
    P.out = Outputs(cfg, lambda: P.state, base / "figures", base / "results")
    P.out.figures_dir.mkdir(parents=True, exist_ok=True)
    P.out.results_dir.mkdir(parents=True, exist_ok=True)
    if P.state_path.is_file():
        P.state = PipelineState.read(P.state_path)
    threads = threads or cfg.pipeline.threads      # a fixed count fixes the floating-point sums' order
    if threads:
        torch.set_num_threads(threads)
    seed_everything(seed)
    return P
