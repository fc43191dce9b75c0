"""DeepSEE reproducibility kit: networks, losses, metrics, datasets and exploration for
explorative, semantically guided extreme face super-resolution (Bühler, Romero, Timofte, ACCV 2020).
"""
from __future__ import annotations

__version__ = "0.1.0"

from .config import Config, load_config  # noqa: F401,E402
from .constants import CLASSES, NUM_CLASSES, PALETTE  # noqa: F401,E402


def __getattr__(name):
    # The model is imported lazily so `import deepsee` stays light.
    if name == "DeepSEE":
        from .models.deepsee import DeepSEE  # late: torch only when the model is asked for
        return DeepSEE
    raise AttributeError(name)
