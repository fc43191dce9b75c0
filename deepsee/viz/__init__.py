"""Plotting helpers shared by every figure: mask colouring with the fixed palette, image grids, and
the supplementary figures (images in :mod:`.figures`, score plots in :mod:`.plots`)."""
from .palette import colorize, legend_handles, to_uint8_image  # noqa: F401
from .figures import (ablation_figure, best_of_figure, comparison_figure,  # noqa: F401
                      extreme_sr_figure, manipulation_figure, region_walk_figure, sample_grid_figure,
                      scenes_figure, segmentation_figure, style_walk_figure)
from .panels import image_axes  # noqa: F401
from .plots import (best_of_n_curve_figure, emergence_figure, metric_bar_figure, oracle_cloud_figure, read_stats,  # noqa: F401
                    training_curves_figure)
