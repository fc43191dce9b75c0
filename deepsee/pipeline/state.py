"""What the ordered notebooks record for the later ones: :class:`PipelineState`, written as JSON
(``<run root>/pipeline-<profile>/state.json``), so notebook 30 finds what notebook 20 trained; and the training
budget a run's record states (:func:`run_budget`)."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import load_config
from ..runs import write_json
from ..showcase import MODELS

EXTREME = "extreme"   # the 32x model's name among notebook 20's trainings (pipeline.extreme_profile)


def shipped_name(key: str) -> str:
    """The showcase model (:data:`deepsee.showcase.MODELS`) that notebook 20's job ``key`` takes when shipped: the
    variant's own name, ``independent-32x`` for the 32x model."""
    return "independent-32x" if key == EXTREME else key


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
    """What the notebooks record for the later ones, written as JSON (``<run root>/pipeline-<profile>/state.json``)."""
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
    lpips_missing: str = _by("30")            # why that is not LPIPS (missing weights, or chosen); "" when it is
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

    def notes(self) -> dict[str, str]:
        """What every figure and table made under this state states, as ``note_*`` entries of its sidecar: the
        shipped models, the perceptual loss and the perceptual metric (with why it is not LPIPS, when not)."""
        notes = {}
        if self.shipped_models:
            notes["note_models"] = (f"shipped showcase models (pretrained/showcase; {', '.join(MODELS)}; "
                                    "SHA-256 verified before use)")
        if self.perceptual_losses:
            notes["note_perceptual_loss"] = "; ".join(self.perceptual_losses)
        if self.perceptual_metric:
            notes["note_perceptual_metric"] = self.perceptual_metric + (
                f" (LPIPS not used: {self.lpips_missing})" if self.lpips_missing else "")
        return notes


