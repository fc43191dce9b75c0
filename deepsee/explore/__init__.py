"""Exploration (supplement Section 3): mask edits, style walks and sampling, the fast exploration engine.

- ``edits``: pure label-map edits (close eyes, open/close mouth, remove glasses or brows, add hair...).
- ``walks``: pure style-matrix functions (walks, seeded sampling, per-region offsets).
- ``engine``: :class:`ExplorationEngine`, many styles for one (LR image, mask), same images as the model.
- ``widgets``: the ipywidget slider explorer (``explorer_for``), JupyterLab UI over the engine.

The figure rows are in :mod:`deepsee.paper`; ``deepsee explore`` (own images) is :mod:`deepsee.apps.explore`.
"""
from .edits import (add_hair, close_eyes, close_mouth, grow, move, open_mouth, paste, relabel, remove,
                    shrink)
from .engine import ExplorationEngine
from .walks import region_offset, sample_styles, sample_styles_chunk, style_walk, walk_offsets

__all__ = ["ExplorationEngine", "relabel", "grow", "shrink", "move", "paste", "remove", "close_eyes",
           "open_mouth", "close_mouth", "add_hair", "style_walk", "walk_offsets", "sample_styles",
           "sample_styles_chunk", "region_offset"]
