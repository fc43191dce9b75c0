"""Plotting helpers shared by every figure: mask colouring with the fixed palette, image grids."""
from .palette import colorize, legend_handles, to_uint8_image  # noqa: F401
