"""The showcase models: DeepSEE trained long enough to explore, shipped in ``pretrained/showcase/``.

The quick profile proves that everything trains in 45 CPU minutes, but its models see each face about
once. The ``showcase`` profile (``deepsee/profiles/showcase.yaml``) trains the same networks 25x longer
on 4.3x the faces; its models ship with the kit so that every figure can be rendered from them
(``make showcase``) and ``deepsee explore`` works out of the box. Each shipped model is a run folder::

    pretrained/showcase/<name>/
        config.yaml        the resolved configuration it was trained with
        stats.jsonl        its training log
        run_info.json      provenance: steps, images seen, wall time, machine, commit, command
        model/             DeepSEE.save folder (SR models: model.safetensors + config.json)
        model.safetensors  (the segmenter: train-seg's final weights)
        snapshots/step_<n>/   (the independent model) the model at earlier steps: how exploration emerges

so every loader of the kit (``DeepSEE.load``, ``load_segmenter``, ``deepsee explore --model``) reads
it as it reads a run of its own. Every file's SHA-256 is in :mod:`deepsee.shipped_sha256` (written by
:func:`export_run`); :func:`shipped` verifies them before use, and ``deepsee weights status`` lists
them. A missing or corrupt file raises :class:`~deepsee.weights.MissingWeightsError` naming it.
"""
from __future__ import annotations

import ast
import json
import os
import shutil
from pathlib import Path

from .config import ABLATION_VARIANTS, MAIN_VARIANTS, data_root, load_config, restart_stages
from .data import build_dataset
from .models import DeepSEE
from .runs import REPO_ROOT, machine_info, metadata, run_root as resolve_run_root, write_json
from .seg import load_segmenter, predict_dataset_masks, train_segmenter
from .seg.domain import confidence_reference, model_domain, write_confidence_reference
from .train.checkpoint import has_checkpoint, read_checkpoint, split_prefix
from .train.jobs import (first_stage, set_threads, stage_folders, train_one, train_restarts,
                         train_staged)
from .train.loop import run_snapshots
from .train.step import locality_record
from .weights import MissingWeightsError, WeightsChecksumError, sha256_file

SHOWCASE_DIR = REPO_ROOT / "pretrained" / "showcase"
MODELS = {   # name -> what it is (the registry's purpose line)
    "segmenter": "showcase LR-face segmenter (DeepLabV3+ DRN-D, width 8; SynthFaces, 9,600 steps)",
    "independent": "showcase DeepSEE 8x independent (SynthFaces, 16 -> 128)",
    "guided": "showcase DeepSEE 8x guided (SynthFaces, 16 -> 128)",
    "judge": "showcase HR-face judge segmenter, mask control (issue 31; DRN-D width 8, HR input, 4,800 steps)",
    "scenes-segmenter": "showcase LR-scene segmenter (issue 32; DRN-D width 8; SynthScenes, 8 outdoor classes, 32 -> "
                        "128, 4,800 steps)",
    "scenes-independent": "showcase DeepSEE 4x independent on outdoor scenes (issue 32, Fig. 19; SynthScenes, 32 -> 128)",
    "independent-32x": "showcase DeepSEE 32x independent (issue 31, Figs. 8, 9, 14-17; SynthFaces, 8 -> 256)",
    **{v: f"showcase DeepSEE 8x {v.replace('_', '-')} ablation variant (issue 31, Fig. 18; SynthFaces, 16 -> 128)"
       for v in ABLATION_VARIANTS},
}
SEGMENTERS = ("segmenter", "judge", "scenes-segmenter")   # train-seg runs (the rest: train-sr runs)
SIZE_LIMIT_MB = 80.0          # everything under pretrained/showcase together (issue 31)
REGISTRY_MODULE = Path(__file__).parent / "shipped_sha256.py"
# files of a run folder that are shipped (the rest, e.g. resumable checkpoints and sample grids, is not)
_SHIPPED_FILES = ("config.yaml", "stats.jsonl", "run_info.json", "model.safetensors", "segmenter.json", "confidence.json",
                  "class_weights.json", "model/model.safetensors", "model/config.json")


def registry_name(name: str) -> str:
    return f"showcase_{name}"


def _check_name(name: str) -> str:
    if name not in MODELS:
        raise KeyError(f"unknown showcase model {name!r}; shipped: {', '.join(MODELS)}")
    return name


def registered() -> dict[str, dict[str, str]]:
    """``{name: {relative file: sha256}}`` from :mod:`deepsee.shipped_sha256` (empty before any export);
    read as a literal, so a test can point ``REGISTRY_MODULE`` at a copy."""
    text = REGISTRY_MODULE.read_text()
    return ast.literal_eval(text.split("FILES: dict[str, dict[str, str]] =", 1)[1].strip())


def model_files(name: str) -> dict[str, str]:
    """The files of showcase model ``name`` (relative to its folder) and their expected SHA-256."""
    files = registered().get(_check_name(name))
    if not files:
        raise MissingWeightsError(f"no showcase model {name!r} has been shipped with this version of the kit "
                                  f"(deepsee/shipped_sha256.py lists none); train it with `deepsee reproduce "
                                  f"--profile showcase --retrain`, or pass your own (deepsee explore: pass --model RUN and "
                                  f"--segmenter RUN)")
    return files


def verify_model(name: str, root: Path | None = None) -> Path:
    """The verified folder of showcase model ``name``: every file present with the SHA-256 of the registry,
    else :class:`MissingWeightsError` naming the first missing or corrupt file and how to restore it."""
    folder = (root or SHOWCASE_DIR) / name
    for rel, sha in model_files(name).items():
        p = folder / rel
        if not p.is_file():
            raise MissingWeightsError(
                f"showcase model {name!r}: file {p} is missing. It ships with the kit's repository "
                f"(git checkout -- {_repo_rel(p)} restores it); or retrain with "
                f"`deepsee reproduce --profile showcase --retrain`")
        if _lfs_pointer(p):
            raise MissingWeightsError(f"showcase model {name!r}: {p} is a Git LFS pointer, not the file; "
                                      "run `git lfs pull` in the repository")
        actual = sha256_file(p)
        if actual != sha:
            raise WeightsChecksumError(
                f"showcase model {name!r}: {p} is corrupt or was changed: SHA-256 {actual[:16]}... , the "
                f"registry (deepsee/shipped_sha256.py) expects {sha[:16]}...; restore it with "
                f"git checkout -- {_repo_rel(p)}")
    return folder


def shipped(name: str) -> Path:
    """The verified run folder of showcase model ``name`` (``segmenter``, ``independent``, ``guided``)."""
    return verify_model(name)


def _shipped_final(name: str) -> bool:
    """Whether ``name`` is shipped as a finished training (``run_info.json`` status ``final``) of its last stage:
    a model with warm restarts still to train (:func:`model_restarts`: the scenes model shipped at 20,000 steps
    before its restart on predicted masks) is not final yet."""
    info = SHOWCASE_DIR / name / "run_info.json"
    if not (registered().get(name) and info.is_file()):
        return False
    i = json.loads(info.read_text())
    stages = restart_stages(model_restarts(name)) if name in MODELS else []
    return i.get("status") == "final" and (not stages or int(i.get("steps_done") or 0) >= stages[-1][0])


def snapshots(name: str = "independent") -> list[tuple[int, Path]]:
    """``[(step, model folder)]`` of the shipped snapshots of ``name`` and its final model, by step
    (each verified)."""
    return run_snapshots(shipped(name))


def status_rows() -> list[dict]:
    """One ``deepsee weights status`` row per shipped model: present, verified, size."""
    rows = []
    expected = registered()
    for name, purpose in MODELS.items():
        folder = SHOWCASE_DIR / name
        files = expected.get(name, {})
        present = bool(files) and all((folder / rel).is_file() for rel in files)
        try:
            ok = bool(files) and verify_model(name) is not None
            problem = ""
        except MissingWeightsError as e:
            ok, problem = False, str(e)
        size = sum((folder / rel).stat().st_size for rel in files if (folder / rel).is_file()) or None
        weights = next((rel for rel in files if rel.endswith("model.safetensors") and "snapshots" not in rel), "")
        domain = model_domain(folder)["summary"] if present else ""
        rows.append({"name": registry_name(name), "purpose": purpose, "kind": "shipped", "trained_on": domain,
                     "path": str(folder), "present": present, "ok": ok, "size": size,
                     "files": len(files), "sha256_expected": files.get(weights, "")[:16] or None,
                     "sha256_actual": None, "problem": problem})
    return rows


# --------------------------------------------------------------------------------------- export
def _repo_rel(p: Path) -> str:
    try:
        return str(Path(p).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(p)


def _lfs_pointer(p: Path) -> bool:
    with open(p, "rb") as fh:
        return fh.read(40).startswith(b"version https://git-lfs")


def _interim_model(run: Path) -> tuple[Path, dict]:
    """An unfinished SR run's model at its latest checkpoint, saved as ``<run>/interim/model`` (the
    generator and encoders of the checkpoint, eval mode); returns the folder and the checkpoint's meta."""
    tensors, meta = read_checkpoint(run)
    run_cfg = load_config(str(run / "config.yaml"))
    model = DeepSEE(run_cfg.model, labels=run_cfg.data.labels)
    model.load_state_dict(split_prefix(tensors, "G"))
    return model.eval().save(run / "interim" / "model"), meta


def export_run(run_dir: str | os.PathLike, name: str, *, snapshot_steps: list[int] | None = None,
               root: Path | None = None, note: str = "", interim: bool = False) -> Path:
    """Copy a finished run (``train-seg`` or ``train-sr`` folder) to ``pretrained/showcase/<name>``: its
    config, training log, final weights and (``snapshot_steps``; SR runs) the snapshots at those steps;
    write ``run_info.json`` with the provenance (steps, images seen, wall time, machine, commit), then
    record every file's SHA-256 in :mod:`deepsee.shipped_sha256`. Returns the folder.

    ``interim=True`` (SR runs) ships an unfinished run's latest checkpoint as its model, with the snapshots
    reached so far; ``run_info.json`` then says ``status: interim`` and how far the schedule got."""
    run = Path(run_dir)
    _check_name(name)
    dest = (root or SHOWCASE_DIR) / name
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for rel in _SHIPPED_FILES:
        if (run / rel).is_file() and rel != "run_info.json":
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(run / rel, dest / rel)
    if name in SEGMENTERS:
        if not (dest / "model.safetensors").is_file():
            raise FileNotFoundError(f"{run} has no model.safetensors: is the segmenter run finished?")
        state = json.loads((run / "state.json").read_text())
        steps = int(state["step"])
        batch = load_config(str(run / "config.yaml")).seg.batch_size
        wall = float(state.get("elapsed_s", 0.0))
        kind, extra = "segmenter", {}
    else:
        info = json.loads((run / "run_info.json").read_text())
        steps, wall = int(info["steps_done"]), float(info.get("elapsed_s", 0.0))
        if interim:
            folder, meta = _interim_model(run)
            shutil.copytree(folder, dest / "model", dirs_exist_ok=True)
            steps, wall = int(meta["step"]), float(meta.get("elapsed_s", wall))
            snapshot_steps = [s for s in (snapshot_steps or []) if s < steps]
            _trim_log(dest / "stats.jsonl", steps)
        if not (dest / "model" / "model.safetensors").is_file():
            raise FileNotFoundError(f"{run} has no model/model.safetensors: is the SR run finished? "
                                    "(interim=True ships its latest checkpoint)")
        kind = "sr"
        extra = {k: info.get(k) for k in ("variant", "perceptual_used", "lambda_l1", "plan", "resumed_from",
                                          "segments", "world_size", "device", "amp", "train_items")}
        extra.update({k: info[k] for k in ("branched_from",) if k in info})
        train_cfg = load_config(str(run / "config.yaml")).train
        batch = train_cfg.batch_size
        if local := locality_record(train_cfg):   # a recipe term not in the paper: stated with the model
            extra["locality"] = local
        for step in snapshot_steps or []:
            src = run / "snapshots" / f"step_{step:08d}"
            if not (src / "model.safetensors").is_file():
                raise FileNotFoundError(f"{run} has no snapshot at step {step} ({src})")
            shutil.copytree(src, dest / "snapshots" / src.name)
    planned = (extra.get("plan") or {}).get("total_steps") if kind == "sr" else None
    status = "interim" if interim else "final"
    info = metadata("showcase", None, kind=kind, name=name, status=status, planned_steps=planned,
                    steps_done=steps, batch_size=batch,
                    images_seen=steps * batch, wall_time_s=round(wall, 1),
                    wall_time_h=round(wall / 3600, 2), machine=machine_info(), trained_in=_repo_rel(run),
                    note=note, **extra)
    write_json(dest / "run_info.json", info)
    record_hashes(name, dest)
    return dest


def _trim_log(path: Path, step: int) -> None:
    if path.is_file():
        keep = [line for line in path.read_text().splitlines()
                if line.strip() and json.loads(line).get("step", 0) <= step]
        path.write_text("".join(line + "\n" for line in keep))


def record_hashes(name: str, folder: Path) -> dict[str, str]:
    """Write the SHA-256 of every file of ``folder`` into :mod:`deepsee.shipped_sha256` under ``name``."""
    files = {str(p.relative_to(folder)): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()}
    table = registered()
    table[name] = files
    lines = ['"""SHA-256 of every file of the shipped showcase models (pretrained/showcase/<name>/...).',
             "", "Written by ``deepsee.showcase.export_run``; ``deepsee.showcase.verify_model`` checks the files",
             'against it before any use. Do not edit by hand."""', "", "FILES: dict[str, dict[str, str]] = {"]
    for n in sorted(table):
        lines.append(f"    {n!r}: {{")
        lines += [f"        {rel!r}: {sha!r}," for rel, sha in sorted(table[n].items())]
        lines.append("    },")
    lines.append("}")
    REGISTRY_MODULE.write_text("\n".join(lines) + "\n")
    return files


def total_size_mb(root: Path | None = None) -> float:
    root = root or SHOWCASE_DIR
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 2 ** 20 if root.is_dir() else 0.0


LR_SEGMENTERS = {   # the segmenters that read a user's LR image -> the configuration of their own data
    "segmenter": lambda: showcase_config(masks=None),
    "scenes-segmenter": lambda: scenes_config(),
}


def record_confidence(name: str = "segmenter", split: str = "test", log=print) -> Path:
    """Measure the shipped LR segmenter ``name`` (``segmenter`` or ``scenes-segmenter``) on its own data's ``split``
    and ship its mean confidence beside its weights (``confidence.json``, registered): ``deepsee explore`` compares
    every photo with it (the domain warning)."""
    if name not in LR_SEGMENTERS:
        raise ValueError(f"record_confidence: {name!r} is not an LR segmenter ({', '.join(LR_SEGMENTERS)}); "
                         "the judge reads HR images and is never run on a user's photo")
    folder = verify_model(_check_name(name))
    cfg = LR_SEGMENTERS[name]()
    cfg.data.mask_dir = ""
    items = list(build_dataset(cfg, split))
    what = "scenes" if cfg.data.labels == "outdoor" else "faces"
    ref = confidence_reference(load_segmenter(folder), items)
    path = write_confidence_reference(folder, ref, f"showcase {split} ({len(items)} {what})")
    record_hashes(name, folder)
    log(f"{name}: mean confidence {ref['mean']:.3f}, 5th percentile {ref['p05']:.3f} on {len(items)} {what} -> {path}")
    return path


# ------------------------------------------------------------------------------------- training
STATE_DIR = REPO_ROOT / "pretrained" / "training-state"      # a committed, resumable unfinished training


def runs_dir() -> Path:
    """Where ``deepsee showcase train`` trains: ``<run root>/showcase`` (``deepsee.runs.run_root``)."""
    return resolve_run_root() / "showcase"

EXTREME_PROFILE = "showcase-32x"                              # the 32x model (Figs. 8, 9, 14-17)
EXTREME_RUN = "sr-32x-independent"                           # its training folder under runs/showcase
SNAPSHOT_EXPORT = {"independent": "all", "independent-32x": "all"}   # shipped snapshots (the emergence figures)


def run_folders(runs: Path | None = None) -> dict[str, Path]:
    """The first stage's training folders (the segmenter's and the SR runs' first schedule)."""
    runs = runs or runs_dir()
    return {"segmenter": runs / "seg-drn", "judge": runs / "judge-hr", **{v: runs / f"sr-{v}" for v in MAIN_VARIANTS},
            "scenes-segmenter": runs / SCENES_SEG_RUN, "scenes-independent": runs / SCENES_RUN,
            "independent-32x": runs / EXTREME_RUN, **{v: runs / f"sr-{v}" for v in ABLATION_VARIANTS}}


def model_restarts(name: str) -> list:
    """The warm restarts (``pipeline.restarts``) of showcase model ``name``: the 8x main models' (showcase.yaml),
    the scenes model's (showcase-scenes.yaml); none for the others."""
    if name in MAIN_VARIANTS:
        return list(load_config("showcase").pipeline.restarts)
    if name == "scenes-independent":
        return list(load_config(SCENES_PROFILE).pipeline.restarts)
    return []


def final_folders(runs: Path | None = None) -> dict[str, Path]:
    """The folders the shipped models come from: a model's last warm-restart stage (:func:`model_restarts`:
    ``sr-independent-40k``, ``sr-scenes-independent-25k``), else its first."""
    folders = run_folders(runs)
    for name in (*MAIN_VARIANTS, "scenes-independent"):
        folders[name] = stage_folders(folders[name], model_restarts(name))[-1]
    return folders


def export_snapshots(name: str) -> list[int] | None:
    """The snapshot steps shipped with model ``name`` (the emergence figures): the first schedule's, every
    restart stage's, and the end of every stage before the last (the 8x independent model); the 32x model's
    schedule's; none for the others."""
    if not SNAPSHOT_EXPORT.get(name):
        return None
    if name == "independent-32x":   # one schedule, no warm restart
        return sorted(extreme_config().train.snapshot_steps)
    cfg = showcase_config(name)
    stages = restart_stages(cfg.pipeline.restarts)
    ends = {cfg.pipeline.main_steps or cfg.train.schedule_steps} | {n for n, _, _ in stages[:-1]}
    return sorted(set(cfg.train.snapshot_steps) | (ends if stages else set()) | {n for _, s, _ in stages for n in s})


def showcase_config(variant: str | None = None, masks: str | Path | None = None, run_root: Path | None = None):
    """The showcase profile's configuration of one job (as notebooks 10 and 20 build it with ``--retrain``)."""
    cfg = load_config("showcase")
    cfg.run_root = str(run_root or runs_dir())
    cfg.data.data_root = str(data_root(cfg.data))   # fixed in the configuration the training processes receive
    if variant is not None:
        cfg.model.variant = variant
        cfg.train.schedule_steps = cfg.pipeline.main_steps or cfg.train.schedule_steps
        if variant != "independent":
            cfg.train.snapshot_steps = []
        cfg.data.mask_dir = str(masks) if masks else ""
    return cfg


def restore_state(runs: Path | None = None, state: Path | None = None, log=print) -> list[str]:
    """Copy every committed unfinished training (``pretrained/training-state/<run>``: the showcase SR runs
    and any recipe candidate saved beside them) into the runs folder where none is there yet, so that
    ``train`` (or ``deepsee train-sr --resume``) continues it. Returns the runs restored."""
    state, runs, restored = state or STATE_DIR, runs or runs_dir(), []
    for src in sorted(p for p in state.glob("*") if p.is_dir()) if state.is_dir() else []:
        folder = runs / src.name
        if not folder.exists():
            shutil.copytree(src, folder)
            restored.append(src.name)
            log(f"restored {src.name} from {_repo_rel(src)} (continues from its checkpoint)")
    return restored


def state_folders(runs: Path | None = None) -> dict[str, Path]:
    """The unfinished SR trainings whose resumable state :func:`save_state` keeps: the showcase runs and
    the recipe candidates beside them (any other ``sr-*`` folder of ``runs`` with a checkpoint). A warm-restart
    stage that a later stage of the same run supersedes (the later one holds a checkpoint, so training continues
    there: :func:`deepsee.train.jobs.first_stage`) is left out."""
    runs = runs or runs_dir()
    out = {name: f for name, f in run_folders(runs).items() if name not in SEGMENTERS}
    known = {f.name for f in out.values()}
    for f in sorted(runs.glob("sr-*")) if runs.is_dir() else []:
        if f.is_dir() and f.name not in known:
            out[f.name] = f
    superseded = {f for name, f in out.items()
                  if any(has_checkpoint(s) for s in stage_folders(f, model_restarts(name))[1:])}
    shipped_done = {f for name, f in out.items()
                    if name in MODELS and _shipped_final(name) and sr_finished(f)}
    return {name: f for name, f in out.items() if has_checkpoint(f) and f not in superseded | shipped_done}


def sr_finished(folder: Path) -> bool:
    """Whether the SR run in ``folder`` went through its whole schedule (its final ``model/`` written)."""
    info = Path(folder) / "run_info.json"
    if not (Path(folder) / "model" / "model.safetensors").is_file() or not info.is_file():
        return False
    i = json.loads(info.read_text())
    return int(i.get("steps_done") or 0) >= int(i.get("planned_total_steps") or 0) > 0


def already_done(name: str, run: Path, what: str, log=print) -> bool:
    """Whether showcase model ``name`` needs no training: its run ``run`` is finished, or it ships as final and
    ``run`` holds no checkpoint (a fresh clone). Resuming a finished run would only rewrite it. Logs why."""
    if sr_finished(run) or (not has_checkpoint(run) and _shipped_final(name)):
        log(f"{what}: finished ({_repo_rel(run) if sr_finished(run) else 'shipped'}); not trained again")
        return True
    return False


def ship(name: str, folder: Path, *, note: str = "", interim: bool = False, log=print) -> Path:
    """Export run ``folder`` as showcase model ``name`` (:func:`export_run`, with its snapshots), and for an LR
    segmenter measure and ship its confidence reference (:func:`record_confidence`)."""
    dest = export_run(folder, name, snapshot_steps=export_snapshots(name), note=note,
                      interim=interim and name not in SEGMENTERS)
    if name in LR_SEGMENTERS:
        record_confidence(name, log=log)
    log(f"exported {name} to {_repo_rel(dest)}; pretrained/showcase: {total_size_mb():.1f} MB "
        f"(limit {SIZE_LIMIT_MB:g} MB)")
    return dest


def save_state(runs: Path | None = None, state: Path | None = None, log=print) -> Path:
    """Copy the unfinished runs' resumable state (config, log, last checkpoint, snapshots, and a finished stage's
    ``branch.json`` and final ``model/``; no sample grids)
    to ``pretrained/training-state``, to commit and continue on another machine or session: the
    showcase runs and the recipe candidates beside them (:func:`state_folders`)."""
    state = state or STATE_DIR
    prune_state(runs, state, log=log)
    for name, first in run_folders(runs).items():   # a first stage that a later stage supersedes: not resumed again
        later = stage_folders(first, model_restarts(name))[1:]
        if name not in MAIN_VARIANTS and any(has_checkpoint(f) for f in later) and (state / first.name).is_dir():
            shutil.rmtree(state / first.name)
            log(f"removed {_repo_rel(state / first.name)}: training continues in its later stage")
    for name, folder in state_folders(runs).items():
        dest = state / folder.name
        if dest.exists():
            shutil.rmtree(dest)
        keep = {"checkpoint.json", "config.yaml", "stats.jsonl", "run_info.json", "branch.json", keep_ckpt(folder)}
        dest.mkdir(parents=True)
        for p in folder.iterdir():
            if p.is_file() and p.name in keep:
                shutil.copy2(p, dest / p.name)
        for sub in ("snapshots", "model"):   # model/: a finished stage's final model, what the next stage branches from
            if (folder / sub).is_dir():
                shutil.copytree(folder / sub, dest / sub)
        log(f"saved {name}'s resumable state to {_repo_rel(dest)}")
    for folder in _scene_segmenter(runs):   # the scenes segmenter: the scenes SR training reads it
        dest = state / folder.name
        if dest.exists():
            shutil.rmtree(dest)
        skip = ("pred_masks", "samples") + (("ckpt",) if _seg_finished(folder) else ())   # finished: its final weights
        shutil.copytree(folder, dest, ignore=shutil.ignore_patterns(*skip))
        log(f"saved {folder.name} (the scenes segmenter{'' if _seg_finished(folder) else ', resumable'}) to "
            f"{_repo_rel(dest)}")
    return state


def prune_state(runs: Path | None = None, state: Path | None = None, log=print) -> list[str]:
    """Remove from ``pretrained/training-state`` the committed state of every run (and warm-restart stage) whose
    model now ships as final from its last stage (:func:`_shipped_final`: the 32x, ablation and scenes models; the
    main models' committed stages stay, see the README) unless a training of it is under way in ``runs``: nothing
    resumes a finished, shipped run. Returns the runs removed."""
    state, runs, removed = state or STATE_DIR, runs or runs_dir(), []
    for name, first in run_folders(runs).items():
        if name in MAIN_VARIANTS or not _shipped_final(name):
            continue
        for folder in stage_folders(first, model_restarts(name)):
            dest = state / folder.name
            if not dest.is_dir():
                continue
            finished = _seg_finished(folder) if name in SEGMENTERS else sr_finished(folder)
            if finished or not folder.exists():
                shutil.rmtree(dest)
                removed.append(folder.name)
                log(f"removed {_repo_rel(dest)}: {name} ships as a final model")
    return removed


def _seg_finished(folder: Path) -> bool:
    p = folder / "state.json"
    return p.is_file() and bool(json.loads(p.read_text()).get("finished"))


def _scene_segmenter(runs: Path | None) -> list[Path]:
    """The scenes segmenter's training folder while it is not shipped (its state travels with the scenes run)."""
    folder = (runs or runs_dir()) / SCENES_SEG_RUN
    return [folder] if (folder / "state.json").is_file() and "scenes-segmenter" not in registered() else []


def keep_ckpt(folder: Path) -> str:
    """The file name of a run's latest resumable checkpoint."""
    ckpts = sorted(Path(folder).glob("ckpt-*.safetensors"))
    return ckpts[-1].name if ckpts else ""


def train(runs: Path | None = None, *, variants: tuple[str, ...] = MAIN_VARIANTS, workers: int = 2, threads: int = 1,
          export: bool = True, log=print, train_seg=train_segmenter, predict=predict_dataset_masks,
          train_sr=train_staged) -> dict[str, Path]:
    """Train the showcase models from scratch or continue them: the segmenter (``seg.max_steps``), its
    predicted masks, then the SR models side by side (``workers`` processes x ``threads``) and their warm
    restarts (``pipeline.restarts``, :func:`deepsee.train.jobs.train_restarts`), each resumed
    from its checkpoint when one is there (also from ``pretrained/training-state``); finally export them
    to ``pretrained/showcase`` (:func:`export_run`). The same command continues a run that a session's
    end or a reboot stopped. ``train_seg``, ``predict`` and ``train_sr`` do the three jobs (the kit's
    :func:`~deepsee.seg.train_segmenter`, :func:`~deepsee.seg.predict_dataset_masks`,
    :func:`~deepsee.train.jobs.train_staged`)."""
    folders = run_folders(runs)
    restore_state(runs, log=log)
    seg = folders["segmenter"]
    masks = seg / "pred_masks"
    started = (seg / "state.json").is_file()
    seg_done = started and json.loads((seg / "state.json").read_text()).get("finished")
    if not started and _shipped_final("segmenter"):
        # a fresh clone (or one that already predicted its masks with the shipped model into
        # seg-drn/pred_masks): the segmenter's training is over and shipped (verified); predict with it
        seg = verify_model("segmenter")
        seg_done, export_seg = True, False
        log(f"segmenter: the shipped final model {_repo_rel(seg)} (verified)")
    else:
        export_seg = True
    if not seg_done:
        log(f"segmenter: training in {_repo_rel(seg)}")
        train_seg(showcase_config(run_root=runs), run_dir=seg, resume=started)
    if not (masks / "predicted_masks.json").is_file():
        predict(showcase_config(run_root=runs), seg, masks)
    here = [f"data.mask_dir={masks}", f"data.data_root={showcase_config().data.data_root}"]   # this clone's
    finals = train_sr([showcase_config(v, masks, runs) for v in variants], [str(seg)] * len(variants),
                          restarts=showcase_config().pipeline.restarts, run_dirs=[folders[v] for v in variants],
                          workers=workers, threads=threads, overrides=here)
    folders.update(dict(zip(variants, finals)))
    if export:
        if export_seg:
            export_run(seg, "segmenter")
        for v in variants:
            export_run(folders[v], v, snapshot_steps=export_snapshots(v))
        log(f"exported to {_repo_rel(SHOWCASE_DIR)} ({total_size_mb():.1f} MB)")
    return folders


def _seg_and_masks(runs: Path | None, log=print) -> tuple[Path, Path]:
    """The 8x segmenter (the shipped final one unless a training of it is under way) and its predicted masks
    of the showcase data, predicted once (the masks the first-stage SR models trained on)."""
    seg = run_folders(runs)["segmenter"]
    masks = seg / "pred_masks"
    if not (seg / "state.json").is_file():
        seg = verify_model("segmenter")
        log(f"segmenter: the shipped final model {_repo_rel(seg)} (verified)")
    if not (masks / "predicted_masks.json").is_file():
        predict_dataset_masks(showcase_config(run_root=runs), seg, masks)
    return seg, masks


def train_ablation(runs: Path | None = None, *, variants: tuple[str, ...] = ABLATION_VARIANTS, threads: int = 1,
                   export: bool = True, log=print, state: Path | None = None, train=train_one) -> dict[str, Path]:
    """The ablation variants of Fig. 18 at the main models' first-stage budget and recipe (``pipeline.main_steps``
    at batch 2, the predicted masks, no warm restart), one after the other in this process (``threads``), each
    resumed from its checkpoint (also from ``pretrained/training-state``); a finished or shipped variant is not trained
    again, and each one that finishes here is exported (``export``). ``state``: the committed training state
    (default ``pretrained/training-state``); ``train`` trains one run (:func:`~deepsee.train.jobs.train_one`).
    Returns ``{variant: run folder}``."""
    bad = [v for v in variants if v not in ABLATION_VARIANTS]
    if bad:
        raise ValueError(f"train_ablation: {', '.join(map(repr, bad))} is not an ablation variant ({', '.join(ABLATION_VARIANTS)})")
    runs = runs or runs_dir()
    restore_state(runs, state, log=log)
    seg, masks = _seg_and_masks(runs, log)
    set_threads(threads)
    out = {}
    for v in variants:
        out[v] = runs / f"sr-{v}"
        if already_done(v, out[v], f"ablation {v}", log):
            continue
        log(f"ablation {v}: training in {_repo_rel(out[v])}")
        train(showcase_config(v, masks, runs), str(seg), str(out[v]), progress=True)
        if export:
            ship(v, out[v], log=log)
    return out


def extreme_config(run_root: Path | None = None):
    """The 32x model's configuration (``deepsee/profiles/showcase-32x.yaml``) with this clone's data folder."""
    cfg = load_config(EXTREME_PROFILE)
    cfg.run_root = str(run_root or runs_dir())
    cfg.data.data_root = str(data_root(cfg.data))
    return cfg


def train_extreme(runs: Path | None = None, *, threads: int = 1, export: bool = True, log=print) -> Path:
    """The 32x showcase model (ground-truth masks; the 8x segmenter's features for the perceptual loss, as in
    the quick pipeline), resumed from its checkpoint when there is one, and exported when it finishes here (``export``).
    Returns its run folder."""
    runs = runs or runs_dir()
    restore_state(runs, log=log)
    seg, _ = _seg_and_masks(runs, log)
    set_threads(threads)
    run = runs / EXTREME_RUN
    if already_done("independent-32x", run, "32x model", log):
        return run
    log(f"32x model: training in {_repo_rel(run)}")
    train_one(extreme_config(runs), str(seg), str(run), progress=True)
    if export:
        ship("independent-32x", run, log=log)
    return run


SCENES_PROFILE = "showcase-scenes"                            # the 4x scenes model (Fig. 19; issue 32)
SCENES_SEG_RUN = "seg-scenes"                                 # its LR-scene segmenter's training folder
SCENES_RUN = "sr-scenes-independent"                          # its SR training folder


def scenes_config(run_root: Path | None = None):
    """The scenes model's configuration (``deepsee/profiles/showcase-scenes.yaml``) with this clone's data folder."""
    cfg = load_config(SCENES_PROFILE)
    cfg.run_root = str(run_root or runs_dir())
    cfg.data.data_root = str(data_root(cfg.data))
    return cfg


def train_scenes(runs: Path | None = None, *, threads: int = 1, export: bool = True, log=print,
                 state: Path | None = None, train=train_one, train_seg=train_segmenter,
                 predict=predict_dataset_masks, restart=train_restarts) -> tuple[Path, Path]:
    """The 4x scenes models: the LR-scene segmenter (``seg.max_steps``), the independent SR model's first schedule on
    the ground-truth masks (its perceptual loss on that segmenter's features), then its warm restarts
    (``pipeline.restarts`` of showcase-scenes.yaml) on the segmenter's predicted masks of the scenes (``{pred_masks}``
    in a stage's ``set``; predicted once into ``<runs>/seg-scenes/pred_masks``), each resumed from its checkpoint
    (also from ``pretrained/training-state``); both exported when the last stage finishes here (``export``). Returns
    (segmenter folder, the SR model's last stage folder). A fresh clone takes the shipped final segmenter instead of
    training it again. ``state``: the committed training state (default ``pretrained/training-state``); ``train`` /
    ``train_seg`` / ``predict`` / ``restart`` do the four jobs (:func:`~deepsee.train.jobs.train_one`,
    :func:`~deepsee.seg.train_segmenter`, :func:`~deepsee.seg.predict_dataset_masks`,
    :func:`~deepsee.train.jobs.train_restarts`)."""
    runs = runs or runs_dir()
    restore_state(runs, state, log=log)
    set_threads(threads)
    cfg = scenes_config(runs)
    seg = runs / SCENES_SEG_RUN
    started = (seg / "state.json").is_file()
    if not started and _shipped_final("scenes-segmenter"):   # a fresh clone: the segmenter's training is over
        seg = verify_model("scenes-segmenter")
        log(f"scenes segmenter: the shipped final model {_repo_rel(seg)} (verified)")
    elif not _seg_finished(seg):
        log(f"scenes segmenter: training in {_repo_rel(seg)}")
        train_seg(cfg, run_dir=seg, resume=started)
    run, stages = runs / SCENES_RUN, cfg.pipeline.restarts
    last = stage_folders(run, stages)[-1]
    if already_done("scenes-independent", last, "scenes model", log):
        return seg, last
    if not sr_finished(run) and first_stage(run, stages) == 0:
        log(f"scenes model: training in {_repo_rel(run)}")
        train(cfg, str(seg), str(run), progress=True)
    if stages:
        masks = runs / SCENES_SEG_RUN / "pred_masks"
        token = any("{pred_masks}" in o for st in stages for o in st.get("set") or [])
        if token and not (masks / "predicted_masks.json").is_file():
            log(f"scenes model: predicting the scenes' masks with {_repo_rel(seg)} into {_repo_rel(masks)}")
            predict(cfg, seg, masks)
        resolved = [{**st, "set": [o.replace("{pred_masks}", str(masks)) for o in st.get("set") or []]}
                    for st in stages]
        here = [f"data.data_root={cfg.data.data_root}"] + ([f"data.mask_dir={masks}"] if token else [])
        log(f"scenes model: warm restart(s) to {', '.join(f'{n:,}' for n, _, _ in restart_stages(stages))} steps "
            f"in {_repo_rel(last)}")
        last = restart([run], resolved, [str(seg)], workers=1, threads=threads, overrides=here)[-1]
    if export:
        if seg != SHOWCASE_DIR / "scenes-segmenter":
            ship("scenes-segmenter", seg, log=log)
        ship("scenes-independent", last, log=log)
    return seg, last


def _cmd(args) -> int:
    runs = Path(args.runs) if args.runs else None
    if args.showcase_command == "train" and args.part == "scenes":
        train_scenes(runs, threads=args.threads, export=not args.no_export)
    elif args.showcase_command == "train" and args.part == "ablation":
        train_ablation(runs, threads=args.threads, export=not args.no_export)
    elif args.showcase_command == "train" and args.part == "extreme":
        train_extreme(runs, threads=args.threads, export=not args.no_export)
    elif args.showcase_command == "train":
        train(runs, variants=tuple(args.variants), workers=args.workers, threads=args.threads,
              export=not args.no_export)
    elif args.showcase_command == "export":
        folders = final_folders(runs)
        for name in args.names:
            ship(name, folders[name], note=args.note, interim=args.interim)
    elif args.showcase_command == "save-state":
        print(save_state(runs))
    else:
        for row in status_rows():
            print(f"{row['name']:<22} {'verified' if row['ok'] else ('BAD' if row['present'] else 'not shipped'):<12} "
                  f"{row['path']}")
        first = run_folders(runs)
        shown = {**first, **{f"{v} (last stage)": f for v, f in final_folders(runs).items()
                             if v in (*MAIN_VARIANTS, "scenes-independent") and f != first[v]}}
        for name, folder in shown.items():
            info = folder / "run_info.json"
            if info.is_file():
                i = json.loads(info.read_text())
                print(f"training {name:<12} step {i.get('steps_done')} of {i.get('planned_total_steps')} in {folder}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("showcase", help="the shipped showcase models: status, train / continue, export")
    p.add_argument("--runs", default=None, help="training folder (default <run root>/showcase: $DEEPSEE_RUNS/showcase or runs/showcase)")
    sub = p.add_subparsers(dest="showcase_command", metavar="ACTION")
    sub.add_parser("status", help="shipped models (verified?) and any training in progress")
    t = sub.add_parser("train", help="train the showcase models, or continue them from their checkpoints")
    t.add_argument("--variants", nargs="+", default=list(MAIN_VARIANTS), choices=MAIN_VARIANTS)
    t.add_argument("--workers", type=int, default=2, help="SR trainings side by side (default 2)")
    t.add_argument("--threads", type=int, default=1, help="threads per training (default 1)")
    t.add_argument("--no-export", action="store_true", help="do not export to pretrained/showcase at the end")
    t.add_argument("--part", choices=("main", "ablation", "extreme", "scenes"), default="main",
                   help="main: the segmenter and the 8x models (default); ablation: the four ablation variants "
                        "(Fig. 18), one after the other; extreme: the 32x model (showcase-32x profile); scenes: the "
                        "outdoor-scene segmenter and 4x model (Fig. 19, showcase-scenes profile)")
    e = sub.add_parser("export", help="export finished runs to pretrained/showcase (SHA-256 into the registry)")
    e.add_argument("names", nargs="+", choices=list(MODELS))
    e.add_argument("--note", default="", help="a provenance note for run_info.json")
    e.add_argument("--interim", action="store_true",
                   help="ship unfinished SR runs at their latest checkpoint (run_info.json: status interim)")
    sub.add_parser("save-state", help="copy unfinished runs' resumable state to pretrained/training-state")
    p.set_defaults(func=_cmd)
